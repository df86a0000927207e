"""The sender's signing keys, from its JWKS URL, cached for the life of the sandbox.

PyJWT's PyJWKClient (>= 2.14) does the fetching, caching and the unknown-kid refresh with a
cooldown. This adapter adds what a webhook receiver must decide on top of it:
- an unknown kid is refused (403) only when a fresh JWKS was fetched for it and lacks it; while
  the cooldown forbids a refresh, the answer is "retry later" (503), so a key rotated a moment
  ago never causes a permanent refusal;
- when the JWKS cannot be fetched, keys already seen keep working (past the cache lifespan too),
  and a request no cached key can decide gets a 503, never a 403;
- after a failed fetch, the endpoint is not asked again before the cooldown, so an outage does
  not make every request wait for the fetch timeout.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from jwt import PyJWK, PyJWKClient, PyJWKClientConnectionError, PyJWKClientError, PyJWKSet, PyJWTError

from pps_webhooks.errors import Forbidden, RetryLater


class _FetchFailed(PyJWKClientConnectionError):
    """The JWKS could not be fetched or was unusable: our outage, never the sender's fault."""


class _RecordingJWKClient(PyJWKClient):
    """A PyJWKClient that remembers its last good key set and holds off after a failed fetch."""

    def __init__(self, uri: str, *, retry_after_failure: float, **options: Any) -> None:
        super().__init__(uri, **options)
        self.fetches = 0
        self.last_good: PyJWKSet | None = None
        self._retry_after_failure = retry_after_failure
        self._failed_at: float | None = None

    def fetch_data(self) -> Any:
        if self._failed_at is not None and time.monotonic() - self._failed_at < self._retry_after_failure:
            raise _FetchFailed("the last JWKS fetch failed moments ago")
        try:
            data = super().fetch_data()  # parses into the JWK set cache, or raises
            key_set = (self.jwk_set_cache and self.jwk_set_cache.get()) or PyJWKSet.from_dict(data)
        except (PyJWTError, ValueError) as error:  # unreachable, not JSON, or no usable keys
            self._failed_at = time.monotonic()
            raise _FetchFailed(type(error).__name__) from error
        self._failed_at = None
        self.fetches += 1
        self.last_good = key_set
        return data


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
