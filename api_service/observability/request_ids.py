"""Request ids: a client's X-Request-Id when it is a sane token, else a new
one. Echoed on the response, logged with every line of the request and
stored on the jobs it creates, so one id follows a notify into the dispatcher."""
from __future__ import annotations

import re
import uuid

from aiohttp import web

HEADER = "X-Request-Id"
REQUEST_ID = web.RequestKey("request_id", str)

# Short and inert: it is echoed in a header and written to logs and the database.
_SANE = re.compile(r"[A-Za-z0-9._-]{1,64}")


def is_sane(value: str | None) -> bool:
    return value is not None and _SANE.fullmatch(value) is not None


def new_request_id() -> str:
    return uuid.uuid4().hex


def request_id_for(request: web.Request) -> str:
    offered = request.headers.get(HEADER)
    return offered if is_sane(offered) else new_request_id()
