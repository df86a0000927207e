"""The sender's signing keys, from its JWKS URL, cached for the life of the sandbox.

PyJWT's PyJWKClient (>= 2.14) does the fetching, caching and the unknown-kid refresh with a
cooldown. This adapter adds what a webhook receiver must decide on top of it:
- an unknown kid is refused (403) only when a fresh JWKS was fetched for it and lacks it; while
  the cooldown forbids a refresh, the answer is "retry later" (503), so a key rotated a moment
  ago never causes a permanent refusal;
- when the JWKS cannot be fetched, keys already seen keep working (past the cache lifespan too),
  and a request no cached key can decide gets a 503, never a 403;
- after a failed fetch, the endpoint is not asked again before the cooldown, so an outage does
  not make every request wait for the fetch timeout;
- the fetch itself is bounded whatever the network does: one deadline for the whole exchange (a
  JWKS trickling one byte at a time is cut off), a size cap, and any way it can fail (reset, TLS,
  a redirect, not JSON, nested beyond reason) counts as a failed fetch, never as an unhandled error.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from http.client import HTTPConnection, HTTPSConnection
from typing import Any
from urllib.parse import urlsplit

from jwt import PyJWK, PyJWKClient, PyJWKClientConnectionError, PyJWKClientError, PyJWKSet

from pps_webhooks.errors import Forbidden, RetryLater

# A JWKS holds a few keys (a few KiB, with certificate chains); anything far larger is not one.
MAX_JWKS_BYTES = 256 * 1024


class _FetchFailed(PyJWKClientConnectionError):
    """The JWKS could not be fetched or was unusable: our outage, never the sender's fault."""

    def __init__(self, reason: str, *, attempted: bool = True) -> None:
        super().__init__(reason)
        self.attempted = attempted
        """False while the pause after a failure holds: nothing was asked of the endpoint."""


class _RecordingJWKClient(PyJWKClient):
    """A PyJWKClient that remembers its last good key set and holds off after a failed fetch."""

    def __init__(self, uri: str, *, retry_after_failure: float, **options: Any) -> None:
        super().__init__(uri, **options)
        self.fetches = 0
        self.last_good: PyJWKSet | None = None
        self._retry_after_failure = retry_after_failure
        self._failed_at: float | None = None

    def fetch_data(self) -> Any:
        """The parsed key set (PyJWKClient.get_jwk_set takes one as it is and caches it)."""
        if self._failed_at is not None and time.monotonic() - self._failed_at < self._retry_after_failure:
            raise _FetchFailed("the last JWKS fetch failed moments ago", attempted=False)
        try:
            document = json.loads(fetch_document(self.uri, deadline_seconds=self.timeout, max_bytes=MAX_JWKS_BYTES))
            key_set = PyJWKSet.from_dict(self._as_jwk_set_payload(document))
            self._get_signing_keys_from_jwk_set(key_set)  # keys without a kid, or not for signing: unusable
        except Exception as error:  # any failure here is our outage: a 503 or a stale key, never a 4xx
            self._failed_at = time.monotonic()
            raise _FetchFailed(type(error).__name__) from error
        self._failed_at = None
        self._last_successful_fetch = time.monotonic()
        self.fetches += 1
        self.last_good = key_set
        return key_set


class JwksKeys:
    """Implements `auth.SigningKeys` over the sender's JWKS URL."""

    def __init__(
        self,
        uri: str,
        *,
        cache_seconds: float = 300,
        refresh_cooldown_seconds: float = 30,
        timeout_seconds: float = 3,
        on_fetch_failure: Callable[[str], None] = lambda reason: None,
    ) -> None:
        self._client = _RecordingJWKClient(
            uri,
            cache_jwk_set=True,
            lifespan=cache_seconds,
            cooldown_duration=refresh_cooldown_seconds,
            timeout=timeout_seconds,
            retry_after_failure=refresh_cooldown_seconds,
        )
        self._lock = threading.Lock()
        self._on_fetch_failure = on_fetch_failure

    def signing_key(self, kid: str) -> PyJWK:
        with self._lock:  # `fetches` must be read and compared around one lookup at a time
            fetches_before = self._client.fetches
            try:
                return self._client.get_signing_key(kid)
            except _FetchFailed as error:
                if error.attempted:
                    self._on_fetch_failure(str(error))
                stale = self._stale_key(kid)
                if stale is None:
                    raise RetryLater("jwks-unavailable") from error
                return stale
            except PyJWKClientError as error:  # the key set has no signing key with this kid
                if self._client.fetches > fetches_before:
                    raise Forbidden("unknown-kid") from error
                raise RetryLater("kid-not-yet-known") from error

    def _stale_key(self, kid: str) -> PyJWK | None:
        key_set = self._client.last_good
        if key_set is None:
            return None
        return next((key for key in key_set.keys if key.key_id == kid and key.public_key_use in ("sig", None)), None)


class StaticKeys:
    """Implements `auth.SigningKeys` over a JWKS document given inline (PPS_JWKS): nothing is fetched."""

    def __init__(self, document: str) -> None:
        self._keys = {key.key_id: key for key in PyJWKSet.from_json(document).keys if key.key_id}

    def signing_key(self, kid: str) -> PyJWK:
        key = self._keys.get(kid)
        if key is None:
            raise Forbidden("unknown-kid")
        return key


class FetchError(Exception):
    """The JWKS endpoint's answer is not a JWKS document we can take."""


def fetch_document(uri: str, *, deadline_seconds: float, max_bytes: int) -> bytes:
    """GET `uri` within one deadline for the whole exchange, at most `max_bytes`, no redirects, no proxy.

    Written over http.client rather than PyJWKClient's urllib fetch: urllib's timeout bounds each socket
    operation, not the fetch, so an endpoint trickling bytes (or a name with several dead addresses) could
    hold a request for minutes. Here the name lookup, each connection attempt and the TLS handshake get
    what is left of the deadline, and a timer then shuts the socket at the deadline, ending any read.
    """
    parts = urlsplit(uri)
    host, https = parts.hostname or "", parts.scheme == "https"
    deadline = time.monotonic() + deadline_seconds
    connected = _connect(host, parts.port or (443 if https else 80), deadline)
    try:
        if https:
            connected.settimeout(_left(deadline))
            connected = ssl.create_default_context().wrap_socket(connected, server_hostname=host)
        connection = (HTTPSConnection if https else HTTPConnection)(host, parts.port, timeout=_left(deadline))
        connection.sock = connected  # http.client sends over this socket instead of connecting itself
        connected.settimeout(_left(deadline))
        expired = threading.Event()

        def cut() -> None:
            # The socket itself, not connection.sock: a "Connection: close" answer hands it to the response.
            expired.set()
            with suppress(OSError):
                connected.shutdown(socket.SHUT_RDWR)

        watchdog = threading.Timer(_left(deadline), cut)
        watchdog.daemon = True
        watchdog.start()
        try:
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            connection.request("GET", path, headers={"Accept": "application/json", "User-Agent": "pps-webhooks"})
            with connection.getresponse() as response:
                if response.status != 200:
                    raise FetchError(f"HTTP {response.status}")
                if int(response.getheader("Content-Length") or 0) > max_bytes:
                    raise FetchError(f"larger than {max_bytes} bytes")
                body = response.read(max_bytes + 1)
        finally:
            watchdog.cancel()
    finally:
        connected.close()
    if expired.is_set():
        raise TimeoutError(f"the JWKS fetch took over {deadline_seconds} s")
    if len(body) > max_bytes:
        raise FetchError(f"larger than {max_bytes} bytes")
    return body


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the JWKS fetch ran out of time")
    return left


def _connect(host: str, port: int, deadline: float) -> socket.socket:
    """A TCP connection to the first address of `host` that answers, all within the deadline."""
    found: list[Any] = []

    def look_up() -> None:
        try:
            found.extend(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except OSError as error:
            found.append(error)

    lookup = threading.Thread(target=look_up, daemon=True)  # a resolver that hangs is left behind, not waited for
    lookup.start()
    lookup.join(_left(deadline))
    if lookup.is_alive():
        raise TimeoutError(f"looking up {host} took too long")
    if not found or isinstance(found[0], OSError):
        raise found[0] if found else OSError(f"no address for {host}")
    failure = OSError(f"no address of {host} answered")
    for family, kind, protocol, _, address in found:
        left = _left(deadline)
        attempt = socket.socket(family, kind, protocol)
        try:
            attempt.settimeout(left)
            attempt.connect(address)
        except OSError as error:
            attempt.close()
            failure = error
            continue
        return attempt
    raise failure
