"""What the HTTP providers (Twilio, the push gateway) share: timeouts, a pooled
session, and reading their answers."""
from __future__ import annotations

import email.utils
import time

import aiohttp

from shared_models import jsonutil
from shared_models.payload import JsonObject

# Connect fast; a slow read after the request went out is an unknown outcome.
TIMEOUT = aiohttp.ClientTimeout(total=None, connect=10, sock_connect=10, sock_read=30)
# Below the idle timeout of Twilio's load balancers, so that a pooled connection
# is rarely closed under us (a POST on a closed connection reads as UnknownOutcome).
KEEPALIVE_SECONDS = 10.0


def retry_after_seconds(value: str | None, default: float = 1.0) -> float:
    """Retry-After as seconds (delta-seconds or an HTTP date)."""
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    return max(0.0, when.timestamp() - time.time())


def parse_json(body: bytes | None) -> JsonObject:
    """A provider's JSON reply (an object, else {}), read field by field by the caller."""
    if not body:
        return {}
    try:
        value = jsonutil.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


class PooledSession:
    """One aiohttp session per provider, reopened if it was closed."""

    _timeout: aiohttp.ClientTimeout
    _session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout,
                connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_SECONDS),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
