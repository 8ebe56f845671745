"""The HTTP calls to the API: `/help` and the actions themselves."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping

import aiohttp

HELP_PATH = "/api/v2/external/help"
USER_AGENT = "backinstock-mcp"
# A tool result lands in a model's context: a body past this is refused rather
# than truncated into something that looks whole.
MAX_BODY_BYTES = 4 * 1024 * 1024


class ApiCallFailed(Exception):
    """No usable HTTP answer: connection refused, DNS, timeout, a body too large."""


class ApiRefused(Exception):
    """The API answered `/help` with an error status."""

    def __init__(self, status: int, messages: list[str]):
        super().__init__(f"HTTP {status}: {'; '.join(messages)}")
        self.status = status
        self.messages = messages


@dataclass(frozen=True)
class ApiReply:
    status: int
    content_type: str
    text: str

    @property
    def is_json(self) -> bool:
        return self.content_type == "application/json"

    def json_body(self) -> Any:
        """The parsed body, or None when it is not JSON."""
        if not self.is_json or not self.text:
            return None
        try:
            return json.loads(self.text)
        except ValueError:
            return None


def error_messages(reply: ApiReply) -> list[str]:
    """The API's `errors`, or one line describing a body that has none."""
    body = reply.json_body()
    if isinstance(body, dict) and isinstance(body.get("errors"), list) and body["errors"]:
        return [str(message) for message in body["errors"]]
    snippet = " ".join(reply.text.split())[:200]
    return [f"HTTP {reply.status}" + (f": {snippet}" if snippet else "")]


async def read_capped(resp: aiohttp.ClientResponse) -> bytes:
    raw = bytearray()
    async for chunk in resp.content.iter_chunked(64 * 1024):
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            raise ApiCallFailed(f"the API's answer is over {MAX_BODY_BYTES // (1024 * 1024)} MiB; "
                                 "narrow the request (filters, per_page)")
    return bytes(raw)


class ApiClient:
    """One aiohttp session for the sidecar's lifetime; the key is per call."""

    def __init__(self, base_url: str, timeout_seconds: float):
        self.base_url = base_url
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=self._timeout, headers={"User-Agent": USER_AGENT})

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(self, method: str, path: str, key: str, *,
                      query: Mapping[str, str] | None = None, body: Any = None) -> ApiReply:
        """One call; any status is an answer, only a missing answer raises."""
        if self._session is None:
            raise RuntimeError("ApiClient.start() was not awaited")
        headers = {"X-Auth-Token": key}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            async with self._session.request(method, self.base_url + path, params=query or None,
                                             data=data, headers=headers) as resp:
                raw = await read_capped(resp)
                return ApiReply(resp.status, resp.content_type, raw.decode(resp.charset or "utf-8", "replace"))
        except (aiohttp.ClientError, TimeoutError) as exc:
            reason = str(exc) or type(exc).__name__
            raise ApiCallFailed(f"could not reach the API at {self.base_url}: {reason}") from None

    async def help(self, key: str) -> dict[str, Any]:
        reply = await self.request("GET", HELP_PATH, key)
        if reply.status != 200:
            raise ApiRefused(reply.status, error_messages(reply))
        body = reply.json_body()
        if not isinstance(body, dict) or not isinstance(body.get("actions"), list):
            raise ApiRefused(reply.status, ["GET /help did not return {\"actions\": [...]}"])
        return body
