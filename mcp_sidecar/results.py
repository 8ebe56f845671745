"""API answers (and the failures to get one) as tool results. Every failure is
a result with `is_error` and an `{"errors": [...]}` body, never a protocol
error, so the model can read it and try again."""
from __future__ import annotations

import json
from typing import Any

import mcp.types as types

from shared_models.errors import Unprocessable  # the 422 wording's one owner, in the core

from mcp_sidecar.client import ApiReply, error_messages

# The API's status, for clients that want it; namespaced as the spec asks.
STATUS_META_KEY = "backinstock/status"


def _result(text: str, *, structured: Any = None, is_error: bool = False,
            status: int | None = None) -> types.CallToolResult:
    meta = {STATUS_META_KEY: status} if status is not None else None
    return types.CallToolResult(content=[types.TextContent(text=text)], structured_content=structured,
                                is_error=is_error, _meta=meta)


def field_messages(fields: dict[str, list[str]]) -> list[str]:
    """`errors` of a 422 exactly as the API words them ("path: message")."""
    return Unprocessable.from_fields(fields).messages


def error_result(messages: list[str], fields: dict[str, list[str]] | None = None,
                 status: int | None = None) -> types.CallToolResult:
    body: dict[str, Any] = {"errors": messages}
    if fields:
        body["fields"] = fields
    return _result(json.dumps(body), structured=body, is_error=True, status=status)


def reply_result(reply: ApiReply) -> types.CallToolResult:
    """The body as the API sent it: JSON as text and structured content, other
    types (a CSV report) as text only."""
    if reply.status >= 400:
        body = reply.json_body()
        if isinstance(body, dict) and body.get("errors"):
            return _result(reply.text, structured=body, is_error=True, status=reply.status)
        return error_result(error_messages(reply), status=reply.status)
    if not reply.text:
        return _result(f"HTTP {reply.status}, no content", status=reply.status)
    body = reply.json_body()
    # structuredContent is a JSON object on every protocol version before 2026-07-28.
    return _result(reply.text, structured=body if isinstance(body, dict) else None, status=reply.status)
