"""Deprecation and Link: <v2 path>; rel="successor-version" on every v1
response (errors, replays and unmatched v1 paths included)."""
from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote

from aiohttp import web

from api_service.context import Call
from api_service.registry import BASE_PATH, V1_BASE_PATH, Action

SUCCESSOR = web.RequestKey("v1_successor", str)
# Where a v1 path no route matches points: the v1 resource's v2 home.
DEFAULT_SUCCESSOR = BASE_PATH + "/back_in_stock/signups"
_PARAM = re.compile(r"{(\w+)}")


def successor_path(v2: Action, params: Mapping[str, str]) -> str:
    """The v2 path with its parameters filled in; the collection when one is unknown."""
    if any(name not in params for name in _PARAM.findall(v2.path)):
        return DEFAULT_SUCCESSOR
    return BASE_PATH + _PARAM.sub(lambda m: quote(params[m.group(1)], safe=""), v2.path)


def set_successor(call: Call, v2: Action, **params: str) -> None:
    if call.request is not None:
        call.request[SUCCESSOR] = successor_path(v2, params)


def is_v1(path: str) -> bool:
    return path == V1_BASE_PATH or path.startswith(V1_BASE_PATH + "/")


async def deprecation_headers(request: web.Request, response: web.StreamResponse) -> None:
    if is_v1(request.path):
        response.headers["Deprecation"] = "true"
        response.headers["Link"] = f'<{request.get(SUCCESSOR, DEFAULT_SUCCESSOR)}>; rel="successor-version"'
