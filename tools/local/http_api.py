"""API Gateway (HTTP API) on 127.0.0.1: each HttpApi route of the template invokes its function with the
payload 2.0 event AWS would send, and answers with what the function returns. The development JWKS is
served beside them, so the receiver can trust the development key by default."""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from tools.devkit import dev_key
from tools.devkit.events import request_event
from tools.devkit.invoker import Function, Invocation
from tools.local.console import IN, OUT, shown

JWKS_PATH = "/.well-known/jwks.json"
MAX_BODY_BYTES = 6 * 1024 * 1024  # Lambda's limit for a synchronous invocation's payload
GATEWAY_TIMEOUT_SECONDS = 30
INTERNAL_ERROR = (500, {"Content-Type": "application/json"}, b'{"message":"Internal Server Error"}')

Answer = tuple[int, Mapping[str, str], bytes]


def routes(functions: Iterable[Function]) -> dict[str, Function]:
    """Route key ("POST /webhooks", or "$default" for a catch-all) -> the function it invokes."""
    found: dict[str, Function] = {}
    for function in functions:
        for event in function.spec.events.values():
            if event.get("Type") == "HttpApi":
                properties = event.get("Properties") or {}
                path, method = properties.get("Path"), str(properties.get("Method", "ANY")).upper()
                found[f"{method} {path}" if path else "$default"] = function
    return found


class HttpApi:
    def __init__(self, port: int, say: logging.Logger) -> None:
        self.routes: dict[str, Function] = {}
        self._say = say
        # Binding here, before anything else starts, turns a busy port into a clear error at once.
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(target=self._server.serve_forever, name="http-api", daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def serve(self, routes: dict[str, Function]) -> None:
        self.routes = routes
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    def route(self, method: str, path: str) -> tuple[str, Function] | None:
        for key in (f"{method} {path}", f"ANY {path}", "$default"):
            if key in self.routes:
                return key, self.routes[key]
        return None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api, say = self, self._say

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "pps-webhooks-local-run"

            def log_message(self, format: str, *args: object) -> None:
                """Silenced: the run logs each step itself, never the headers."""

            def do_GET(self) -> None:
                if urlsplit(self.path).path == JWKS_PATH:
                    say.info(f"{IN} GET {JWKS_PATH}  {OUT} 200 the development key's JWKS")
                    self._answer((200, {"Content-Type": "application/json"}, json.dumps(dev_key.jwks()).encode()))
                    return
                self._invoke()

            def _invoke(self) -> None:
                url = urlsplit(self.path)
                found = api.route(self.command, url.path)
                if found is None:
                    served = ", ".join(api.routes) or "nothing"
                    say.info(f"{IN} {self.command} {shown(url.path)}  {OUT} 404 (served: {served})")
                    self._refuse(404, "Not Found")
                    return
                route_key, function = found
                if "Content-Length" not in self.headers and self.headers.get("Transfer-Encoding"):
                    say.info(f"{IN} {self.command} {url.path}  {OUT} 411 (send a Content-Length)")
                    self._refuse(411, "Length Required")
                    return
                length = _content_length(self.headers.get("Content-Length"))
                if length is None:
                    say.info(f"{IN} {self.command} {url.path}  {OUT} 400 (invalid Content-Length)")
                    self._refuse(400, "Bad Request")
                    return
                if length > MAX_BODY_BYTES:
                    say.info(f"{IN} {self.command} {url.path}  {OUT} 413 ({length} bytes, over Lambda's 6 MB)")
                    self._refuse(413, "Request Entity Too Large")
                    return
                body = self.rfile.read(length) if length else b""
                event = request_event(
                    method=self.command,
                    path=url.path,
                    query=url.query,
                    headers=self.headers.items(),
                    body=body,
                    source_ip=self.client_address[0],
                    port=api.port,
                    route_key=route_key,
                )
                say.info(f"{IN} {self.command} {url.path}  {_webhook(event['headers'])}  {len(body)} bytes")
                invocation = function.invoke(event)
                answer = _answer(invocation)
                status, _, payload = answer
                webhook_id = shown(event["headers"].get("x-pps-webhook-id"))
                outcome = _outcome(status, payload, invocation)
                say.info(f"{OUT} {outcome}  webhook {webhook_id}  {invocation.seconds * 1000:.0f} ms")
                if invocation.error is not None:
                    error = invocation.error
                    say.error(f"  {function.name} raised:", exc_info=(type(error), error, error.__traceback__))
                if invocation.seconds > function.timeout_seconds:
                    say.warning(f"  took {invocation.seconds:.1f} s: Lambda stops it at {function.timeout_seconds} s")
                self._answer(answer, request_id=event["requestContext"]["requestId"])

            do_POST = do_PUT = do_PATCH = do_DELETE = _invoke

            def _refuse(self, status: int, message: str) -> None:
                self.close_connection = True  # the body was not read
                self._answer((status, {"Content-Type": "application/json"}, json.dumps({"message": message}).encode()))

            def _answer(self, answer: Answer, request_id: str = "") -> None:
                status, headers, payload = answer
                self.send_response(status)
                for name, value in headers.items():
                    if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                        self.send_header(name, value)
                if request_id:
                    self.send_header("apigw-requestid", request_id)
                self.send_header("Content-Length", str(len(payload)))
                if self.close_connection:
                    self.send_header("Connection", "close")
                try:
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):  # the client stopped waiting: its loss, not ours
                    self.close_connection = True
                    say.info(f"{OUT} {status} not delivered: the client closed the connection first")

        return Handler


def _content_length(value: str | None) -> int | None:
    if not value:
        return 0
    return int(value) if value.isdigit() else None


def _webhook(headers: Mapping[str, str]) -> str:
    return (
        f"{shown(headers.get('x-pps-topic'))}  webhook {shown(headers.get('x-pps-webhook-id'))}"
        f"  tenant {shown(headers.get('x-pps-tenant-id'))}"
    )


def _answer(invocation: Invocation) -> Answer:
    """API Gateway's answer from the function's result (payload 2.0 response rules)."""
    result = invocation.result
    if invocation.error is not None:
        return INTERNAL_ERROR
    if invocation.seconds > GATEWAY_TIMEOUT_SECONDS:
        return 503, {"Content-Type": "application/json"}, b'{"message":"Service Unavailable"}'
    if not isinstance(result, dict) or "statusCode" not in result:
        return 200, {"Content-Type": "application/json"}, json.dumps(result).encode()
    try:
        headers = {str(name): str(value) for name, value in (result.get("headers") or {}).items()}
        body = result.get("body") or ""
        payload = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
        return int(result["statusCode"]), headers, payload
    except (ValueError, TypeError, AttributeError):
        return INTERNAL_ERROR


def _outcome(status: int, payload: bytes, invocation: Invocation) -> str:
    """`200 accepted`, `403 Forbidden: bad-signature`, `400 Bad request: missing header ...`."""
    try:
        body: Any = json.loads(payload)
    except ValueError:
        body = None
    what = ""
    details = list(dict.fromkeys(invocation.problems))
    if isinstance(body, dict):
        what = str(body.get("status") or body.get("message") or "")
        if isinstance(body.get("problems"), list) and body["problems"]:
            details = [str(problem) for problem in body["problems"]]
    line = f"{status} {what}".rstrip()
    return f"{line}: {'; '.join(details)}" if details else line
