"""A real JWKS endpoint on loopback whose keys and health the tests control."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Health = Literal["ok", "error", "hang", "garbage", "no-keys"]
JWKS_PATH = "/.well-known/jwks.json"


class JwksServer:
    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.health: Health = "ok"
        self.hang_seconds = 5.0
        self.requests = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def issuer(self) -> str:
        """Serving the JWKS under the issuer, as the PPS guide does."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def jwks_uri(self) -> str:
        return self.issuer + JWKS_PATH

    def start(self) -> JwksServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset(self, keys: list[dict[str, Any]]) -> None:
        with self._lock:
            self.keys = list(keys)
            self.health = "ok"
            self.requests = 0

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                with server._lock:
                    server.requests += 1
                    health, keys = server.health, list(server.keys)
                if self.path != JWKS_PATH:
                    self.send_error(404)
                    return
                if health == "hang":
                    time.sleep(server.hang_seconds)
                    return
                if health == "error":
                    self.send_error(500)
                    return
                payload = {
                    "garbage": b"<html>not json</html>",
                    "no-keys": b'{"keys": []}',
                }.get(health) or json.dumps({"keys": keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler
