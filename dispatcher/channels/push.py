"""Push through an HTTP gateway: POST JSON {"token", "title", "body", "url"}."""
from __future__ import annotations

import logging
from collections.abc import Mapping

import aiohttp

from dispatcher.channels.base import (
    Delivered,
    Message,
    PermanentError,
    RateLimited,
    TransientError,
    UnknownOutcome,
)
from dispatcher.channels.http import (
    TIMEOUT,
    PooledSession,
    parse_json,
    retry_after_seconds,
)

log = logging.getLogger("backinstock.providers.push")

GONE = 410  # the device token no longer exists: unsubscribe it
# 404 says the same when the gateway answers it in JSON; a bare 404 (an HTML page)
# is more likely a wrong PUSH_GATEWAY_URL, which must not unsubscribe everyone.
NOT_FOUND = 404


class PushGatewayProvider(PooledSession):
    name = "push_gateway"

    def __init__(self, url: str, *, timeout: aiohttp.ClientTimeout = TIMEOUT):
        self._url = url
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"PushGatewayProvider(url={self._url!r})"

    async def send(self, message: Message) -> Delivered:
        payload = {"token": message.to, "title": message.title or "", "body": message.text,
                   "url": message.url}
        headers = {"Idempotency-Key": message.reference} if message.reference else None
        body: bytes | None = None
        try:
            async with self._client().post(self._url, json=payload, headers=headers) as resp:
                status, resp_headers = resp.status, resp.headers
                try:
                    body = await resp.read()
                except (TimeoutError, aiohttp.ClientError) as exc:
                    log.warning("push gateway response body unreadable (status %s): %s", status, exc)
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            raise TransientError(f"push gateway unreachable: {exc}") from None
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise UnknownOutcome(
                f"push gateway connection broke before a response: {type(exc).__name__}: {exc}") from None
        return self._outcome(status, resp_headers, body)

    def _outcome(self, status: int, headers: Mapping[str, str], body: bytes | None) -> Delivered:
        data = parse_json(body)
        detail = str(data.get("error") or data.get("message") or "") or f"HTTP {status}"
        if 200 <= status < 300:
            message_id = data.get("id")
            return Delivered(self.name, str(message_id) if message_id is not None else None)
        if status == 429:
            raise RateLimited(f"push gateway rate limit: {detail}", retry_after_seconds(headers.get("Retry-After")))
        if status == GONE or (status == NOT_FOUND and "json" in headers.get("Content-Type", "")):
            raise PermanentError(f"push token no longer valid (HTTP {status}): {detail}", unsubscribe=True)
        if 400 <= status < 500:
            raise PermanentError(f"push gateway HTTP {status}: {detail}")
        raise TransientError(f"push gateway HTTP {status}: {detail}")

