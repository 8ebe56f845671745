"""The outermost middleware: gives each request its id and log context,
times it, counts it and writes one access-log line (the route's template,
never the raw path: public links carry tokens)."""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Iterator, Mapping

from aiohttp import web

from shared_models.log_context import bound
from api_service.observability.metrics import API_METRICS, META_PATHS, action_label, route_template
from api_service.observability.request_ids import REQUEST_ID, request_id_for
from api_service.routing import ACTION_NAME

access_log = logging.getLogger("backinstock.access")


class RequestFields(Mapping[str, Any]):
    """The request's log fields, read as each line is logged: the action is
    only known once routing has run."""

    def __init__(self, request: web.Request):
        self.request = request

    def _fields(self) -> dict[str, Any]:
        return {"request_id": self.request.get(REQUEST_ID), "action": self.request.get(ACTION_NAME)}

    def __getitem__(self, key: str) -> Any:
        return self._fields()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields())

    def __len__(self) -> int:
        return len(self._fields())


@web.middleware
async def observe_middleware(request: web.Request, handler) -> web.StreamResponse:
    request[REQUEST_ID] = request_id_for(request)
    started = time.perf_counter()
    status = 500
    with bound(RequestFields(request)):
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:  # redirects the error middleware lets through
            status = exc.status
            raise
        except asyncio.CancelledError:  # the client went away: nothing was answered
            status = 0
            raise
        finally:
            if status:
                record(request, status, time.perf_counter() - started)


def record(request: web.Request, status: int, seconds: float) -> None:
    action = action_label(request)
    request.app[API_METRICS].observe(action, status, seconds)
    template = route_template(request) or "-"
    # Health checks and scrapes come every few seconds: debug, not info.
    level = logging.DEBUG if template in META_PATHS else logging.INFO
    access_log.log(level, "%s %s %d %.1fms", request.method, template, status, seconds * 1000,
                   extra={"method": request.method, "route": template, "status": status,
                          "duration_ms": round(seconds * 1000, 1)})
