"""An HTTP proxy between the code under test and the moto server.

It names every AWS call it forwards ("dynamodb.PutItem", "sns.Publish", "s3.PutObject"), so tests
count calls at the HTTP level, and it injects real failures on demand: a 500 in the service's own
error format, a dropped connection, a hang that never answers, or a delay before a real answer.
The SDK sees exactly what it would see from AWS.
"""

from __future__ import annotations

import http.client
import re
import threading
import time
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal
from urllib.parse import parse_qs, urlsplit

Mode = Literal["error", "drop", "hang", "delay"]

_SERVICE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request")
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "expect", "proxy-connection", "upgrade"}
_ERROR_BODIES = {
    "dynamodb": (
        "application/x-amz-json-1.0",
        b'{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"injected failure"}',
    ),
    "s3": ("application/xml", b"<Error><Code>InternalError</Code><Message>injected failure</Message></Error>"),
}
_QUERY_ERROR = (
    "text/xml",
    b"<ErrorResponse><Error><Type>Receiver</Type><Code>InternalError</Code>"
    b"<Message>injected failure</Message></Error><RequestId>injected</RequestId></ErrorResponse>",
)


@dataclass
class Fault:
    mode: Mode
    remaining: int | None
    seconds: float


def operation_name(method: str, path: str, headers: Message, body: bytes) -> str:
    match = _SERVICE.search(headers.get("Authorization", ""))
    service = match.group(1) if match else "unknown"
    target = headers.get("X-Amz-Target")
    if target:
        return f"{service}.{target.rsplit('.', 1)[-1]}"
    if "x-www-form-urlencoded" in headers.get("Content-Type", ""):
        action = parse_qs(body.decode()).get("Action", ["?"])[0]
        return f"{service}.{action}"
    if service == "s3":
        segments = [part for part in urlsplit(path).path.split("/") if part]
        kind = "Object" if len(segments) > 1 else "Bucket"
        verb = {"PUT": "Put", "GET": "Get", "DELETE": "Delete", "HEAD": "Head", "POST": "Post"}.get(method, method)
        return f"s3.{verb}{kind}"
    return f"{service}.{method}"


class AwsProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.calls: list[str] = []
        self._faults: dict[str, Fault] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @classmethod
    def in_front_of(cls, endpoint: str) -> AwsProxy:
        """A started proxy forwarding to the emulator at `endpoint` (http://host:port)."""
        host, port = endpoint.removeprefix("http://").split(":")
        return cls(host, int(port)).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> AwsProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail(self, operation: str, *, mode: Mode = "error", times: int | None = None, seconds: float = 0.0) -> None:
        """Make `operation` fail (`times` times, or until `heal`)."""
        with self._lock:
            self._faults[operation] = Fault(mode, times, seconds)

    def heal(self) -> None:
        with self._lock:
            self._faults.clear()

    def reset(self) -> None:
        with self._lock:
            self._faults.clear()
            self.calls.clear()

    def count(self, operation: str) -> int:
        with self._lock:
            return self.calls.count(operation)

    def _record(self, operation: str) -> Fault | None:
        with self._lock:
            self.calls.append(operation)
            fault = self._faults.get(operation)
            if fault is None:
                return None
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    del self._faults[operation]
            return fault

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                operation = operation_name(self.command, self.path, self.headers, body)
                fault = proxy._record(operation)
                if fault is not None and fault.mode == "delay":
                    time.sleep(fault.seconds)
                elif fault is not None:
                    self._inject(fault, operation.split(".", 1)[0])
                    return
                upstream = http.client.HTTPConnection(*proxy.upstream, timeout=60)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    response = upstream.getresponse()
                    payload = response.read()
                    self.send_response(response.status)
                    for name, value in response.getheaders():
                        if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                            self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(payload)
                finally:
                    upstream.close()

            def _inject(self, fault: Fault, service: str) -> None:
                if fault.mode == "hang":
                    time.sleep(fault.seconds)
                if fault.mode in ("hang", "drop"):
                    self.close_connection = True
                    return
                content_type, payload = _ERROR_BODIES.get(service, _QUERY_ERROR)
                self.send_response(500)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        return Handler
