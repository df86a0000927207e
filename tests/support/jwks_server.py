"""A real JWKS endpoint on loopback whose keys and health the tests control.

Besides healthy, it can misbehave the ways a network or a broken sender can: an error status, a hang, a
connection reset mid-body, a body or headers trickled a byte at a time, a document too large (framed by
Content-Length, by closing the connection, or chunked), JSON nested beyond reason, a page that is not
JSON, a redirect. Served over TLS (`JwksServer(tls=True)`, with a certificate made for the run that
clients trust through `ca_file`), it can also answer in plain HTTP, present a certificate nobody trusts,
or trickle its handshake.

A misbehaving connection never outlives the test that asked for it: a trickle stops when the client
goes away, after `trickle_seconds`, or when the server stops.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import socket
import ssl
import struct
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

Health = Literal[
    "ok",
    "error",  # 500
    "hang",  # nothing at all for `hang_seconds`
    "garbage",  # an HTML page, not JSON
    "no-keys",  # a JWKS with no keys
    "reset-mid-body",  # headers with a Content-Length, part of the body, then a TCP RST
    "trickle-body",  # the JWKS one byte every `trickle_interval`, on a connection kept alive (HTTP/1.1)
    "trickle-body-closing",  # the same, announcing `Connection: close`
    "trickle-headers",  # the status line, then the headers one byte every `trickle_interval`
    "large",  # the JWKS padded to `large_bytes`, with an honest Content-Length
    "large-unsized",  # the same without a Content-Length: the body ends when the connection closes
    "large-chunked",  # the same in chunks (Transfer-Encoding: chunked)
    "nested",  # JSON nested 100,000 deep (well under any size cap)
    "redirect",  # 302 to another URL that serves the JWKS
    # TLS servers only:
    "plaintext",  # answers a TLS handshake in plain HTTP
    "untrusted-cert",  # presents a self-signed certificate that is not in `ca_file`
    "trickle-handshake",  # starts a TLS record, then trickles it one byte every `trickle_interval`
]
JWKS_PATH = "/.well-known/jwks.json"
REDIRECT_PATH = "/moved" + JWKS_PATH
NESTING = 100_000
HANG_SECONDS = 5.0
TRICKLE_INTERVAL = 0.05
TRICKLE_SECONDS = 10.0
LARGE_BYTES = 1024 * 1024


class JwksServer:
    def __init__(self, *, tls: bool = False) -> None:
        self.keys: list[dict[str, Any]] = []
        self.health: Health = "ok"
        self.hang_seconds = HANG_SECONDS
        self.trickle_interval = TRICKLE_INTERVAL
        self.trickle_seconds = TRICKLE_SECONDS
        """A trickle lasts this long at most, though a client that went away or the server stopping ends it first."""
        self.large_bytes = LARGE_BYTES
        self.requests = 0
        """GET requests for the JWKS answered (whatever the health)."""
        self.connections = 0
        """Connections accepted: every attempt to reach the endpoint, even one that never got to a request."""
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._files = tempfile.TemporaryDirectory(prefix="jwks-server-") if tls else None
        self._tls = _tls_context(Path(self._files.name), "trusted") if self._files else None
        self._untrusted_tls = _tls_context(Path(self._files.name), "untrusted") if self._files else None
        self._server = _Server(self, self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def issuer(self) -> str:
        """Serving the JWKS under the issuer, as the PPS guide does."""
        return f"{'https' if self._tls else 'http'}://127.0.0.1:{self._server.server_address[1]}"

    @property
    def jwks_uri(self) -> str:
        return self.issuer + JWKS_PATH

    @property
    def ca_file(self) -> str:
        """The PEM certificate a client must trust to talk to this (TLS) server, e.g. as SSL_CERT_FILE."""
        assert self._files is not None, "only a TLS server has a certificate"
        return str(Path(self._files.name) / "trusted.pem")

    def start(self) -> JwksServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # ends any trickle or hang still going
        self._server.shutdown()
        self._server.server_close()
        if self._files:
            self._files.cleanup()

    def reset(self, keys: list[dict[str, Any]]) -> None:
        with self._lock:
            self.keys = list(keys)
            self.health = "ok"
            self.requests = 0
            self.connections = 0
            self.hang_seconds, self.trickle_interval = HANG_SECONDS, TRICKLE_INTERVAL
            self.trickle_seconds, self.large_bytes = TRICKLE_SECONDS, LARGE_BYTES

    def _state(self) -> tuple[Health, list[dict[str, Any]]]:
        with self._lock:
            return self.health, list(self.keys)

    def _accept(self, connection: socket.socket) -> socket.socket | None:
        """The socket to speak HTTP on, after any TLS (mis)behaviour; None when there is nothing more to say."""
        with self._lock:
            self.connections += 1
            health, keys = self.health, list(self.keys)
        if self._tls is None or self._untrusted_tls is None:
            return connection
        connection.settimeout(5)
        if health == "plaintext":
            connection.recv(4096)  # the client's hello, answered as if it were an HTTP request
            connection.sendall(_http_head(200, {"Content-Length": str(len(_document(keys)))}) + _document(keys))
            return None
        if health == "trickle-handshake":
            connection.recv(4096)
            connection.sendall(struct.pack("!BHH", 22, 0x0303, 16_384))  # a handshake record, 16 KiB to come
            self._trickle(connection, bytes(16_384))
            return None
        context = self._untrusted_tls if health == "untrusted-cert" else self._tls
        return context.wrap_socket(connection, server_side=True)  # the client may refuse: an SSLError

    def _trickle(self, connection: socket.socket, data: bytes) -> None:
        """Send `data` a byte at a time until it is all sent, the client is gone, time is up or the server stops."""
        stop_at = time.monotonic() + self.trickle_seconds
        for index in range(len(data)):
            if time.monotonic() > stop_at or self._stopping.wait(self.trickle_interval):
                return
            connection.sendall(data[index : index + 1])  # a client that went away makes this raise

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self.close_connection = True
                if self.path == REDIRECT_PATH:  # where a redirect points: a good JWKS, if anyone followed it
                    self._answer(_document(server._state()[1]))
                    return
                with server._lock:
                    server.requests += 1
                health, keys = server._state()
                if self.path != JWKS_PATH:
                    self.send_error(404)
                    return
                document = _document(keys)
                if health == "hang":
                    server._stopping.wait(server.hang_seconds)
                elif health == "error":
                    self.send_error(500)
                elif health == "garbage":
                    self._answer(b"<html>not json</html>", content_type="text/html")
                elif health == "no-keys":
                    self._answer(b'{"keys": []}')
                elif health == "reset-mid-body":
                    self._reset_mid_body(document)
                elif health in ("trickle-body", "trickle-body-closing"):
                    closing = {"Connection": "close"} if health == "trickle-body-closing" else {}
                    self.wfile.write(_http_head(200, {"Content-Length": str(len(document)), **closing}, "HTTP/1.1"))
                    server._trickle(self.connection, document)
                elif health == "trickle-headers":
                    head = _http_head(200, {"Content-Length": str(len(document))}, "HTTP/1.1")
                    status_line, headers = head.split(b"\r\n", 1)
                    self.wfile.write(status_line + b"\r\n")
                    server._trickle(self.connection, headers + document)
                elif health in ("large", "large-unsized", "large-chunked"):
                    self._answer_large(_padded(document, server.large_bytes), health)
                elif health == "nested":
                    self._answer(b"[" * NESTING + b"]" * NESTING)
                elif health == "redirect":
                    self.send_response(302)
                    self.send_header("Location", server.issuer + REDIRECT_PATH)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    self._answer(document)

            def _answer(self, body: bytes, content_type: str = "application/json") -> None:
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _reset_mid_body(self, document: bytes) -> None:
                self.wfile.write(
                    _http_head(200, {"Content-Length": str(len(document))}) + document[: len(document) // 2]
                )
                server._stopping.wait(0.2)  # the client has the headers and is reading the body
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()  # with lingering on and a zero timeout: an RST, not a FIN

            def _answer_large(self, body: bytes, framing: Health) -> None:
                if framing == "large":
                    self._answer(body)
                    return
                if framing == "large-chunked":
                    self.protocol_version = "HTTP/1.1"  # chunked needs 1.1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                if framing == "large-chunked":
                    self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()  # no Content-Length: over HTTP/1.0, the body ends when the connection closes
                for start in range(0, len(body), 16_384):
                    piece = body[start : start + 16_384]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if framing == "large-chunked" else piece)
                if framing == "large-chunked":
                    self.wfile.write(b"0\r\n\r\n")

        return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, endpoint: JwksServer, handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.endpoint = endpoint

    def finish_request(self, request: Any, client_address: Any) -> None:
        assert isinstance(request, socket.socket)
        connection = self.endpoint._accept(request)
        if connection is None:
            return
        try:
            super().finish_request(connection, client_address)
        finally:
            if connection is not request:  # the TLS socket took over the connection
                connection.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up on a misbehaviour, or refusing a certificate, is what the tests want; anything
        else is a bug in this server and is reported."""
        if not isinstance(sys.exception(), OSError):
            super().handle_error(request, client_address)


def _document(keys: list[dict[str, Any]]) -> bytes:
    return json.dumps({"keys": keys}).encode()


def _padded(document: bytes, size: int) -> bytes:
    """`document` (a JSON object) grown to exactly `size` bytes by a member the client must ignore."""
    empty = document[:-1] + b', "padding": ""}'
    return empty[:-2] + b"x" * max(size - len(empty), 0) + b'"}'


def _http_head(status: int, headers: dict[str, str], version: str = "HTTP/1.0") -> bytes:
    lines = [f"{version} {status} OK", "Content-Type: application/json", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _tls_context(directory: Path, name: str) -> ssl.SSLContext:
    """A server context with a fresh self-signed certificate for 127.0.0.1, written to `directory`/`name`.pem."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"JWKS test server ({name})")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    certificate_file = directory / f"{name}.pem"
    key_file = directory / f"{name}.key"
    certificate_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate_file, key_file)
    return context
