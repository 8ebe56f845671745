"""Booleans as the published schemas say ({"type": "boolean"}): marshmallow's
Boolean also takes "yes", "on", 1, "TRUE"... which /help and the MCP tools
never promised, and which settings already refused. One rule for every body
and query: the one owner of it."""
from __future__ import annotations

from typing import Any

from marshmallow import fields


class StrictBoolean(fields.Boolean):
    """JSON true or false only (1 is not true: `1 in {True}` is, hence the isinstance)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class QueryBoolean(fields.Boolean):
    """In a query string, where everything is text: exactly `true` or `false`,
    as the MCP sidecar and the documentation spell them."""

    _SPELLINGS = {"true": True, "false": False}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value in self._SPELLINGS:
            return self._SPELLINGS[value]
        raise self.make_error("invalid")
