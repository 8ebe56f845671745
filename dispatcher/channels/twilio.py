"""SMS through Twilio's Messages API (form-encoded POST, Basic auth)."""
from __future__ import annotations

import logging
from collections.abc import Mapping
from urllib.parse import quote

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

log = logging.getLogger("backinstock.providers.twilio")

OPTED_OUT = 21610  # "Attempt to send to unsubscribed recipient"
class TwilioProvider(PooledSession):
    name = "twilio"

    def __init__(self, account_sid: str, auth_token: str, sender: str,
                 api_base: str = "https://api.twilio.com", *, timeout: aiohttp.ClientTimeout = TIMEOUT):
        self._url = f"{api_base.rstrip('/')}/2010-04-01/Accounts/{quote(account_sid, safe='')}/Messages.json"
        self._auth = aiohttp.BasicAuth(account_sid, auth_token)
        # A Messaging Service SID (MG…) sends from its pool instead of one number.
        self._sender_field = "MessagingServiceSid" if sender.startswith("MG") else "From"
        self._sender = sender
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:  # never show the auth token
        return f"TwilioProvider(url={self._url!r}, sender={self._sender!r})"

    async def send(self, message: Message) -> Delivered:
        form = {"To": message.to, self._sender_field: self._sender, "Body": message.text}
        body: bytes | None = None
        try:
            async with self._client().post(self._url, data=form, auth=self._auth) as resp:
                status, headers = resp.status, resp.headers
                try:
                    body = await resp.read()
                except (TimeoutError, aiohttp.ClientError) as exc:
                    # The status line arrived, so the outcome is known; only the body broke.
                    log.warning("twilio response body unreadable (status %s): %s", status, exc)
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            raise TransientError(f"Twilio unreachable: {exc}") from None
        except (TimeoutError, aiohttp.ClientError) as exc:
            # The request was (at least partly) written and no status came back.
            raise UnknownOutcome(f"Twilio connection broke before a response: {type(exc).__name__}: {exc}") from None
        return self._outcome(status, headers, body)

    def _outcome(self, status: int, headers: Mapping[str, str], body: bytes | None) -> Delivered:
        data = parse_json(body)
        detail = data.get("message") or (body or b"").decode(errors="replace")[:200] or f"HTTP {status}"
        code = data.get("code")
        if 200 <= status < 300:
            if not data.get("sid"):
                log.warning("twilio accepted the message but its sid is unreadable")
            return Delivered(self.name, data.get("sid"))
        if status == 429:
            raise RateLimited(f"Twilio rate limit: {detail}", retry_after_seconds(headers.get("Retry-After")))
        if status == 400 and code == OPTED_OUT:
            raise PermanentError(f"Twilio {code}: {detail}", unsubscribe=True)
        if status == 401:
            # Our credentials, not the recipient: retrying after the operator fixes them can succeed.
            raise TransientError(f"Twilio refused our credentials (HTTP 401): {detail}")
        if 400 <= status < 500:
            prefix = f"Twilio {code}" if code else f"Twilio HTTP {status}"
            raise PermanentError(f"{prefix}: {detail}")
        raise TransientError(f"Twilio HTTP {status}: {detail}")

