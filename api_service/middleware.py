"""The one error middleware, and the headers every response carries."""
from __future__ import annotations

import logging
import re

import asyncpg
from aiohttp import web
from redis.exceptions import ConnectionError as RedisConnectionError

from api_service.auth import key_from_request
from shared_models.errors import ApiError, BadRequest, Unauthorized
from api_service.observability.metrics import route_template
from api_service.observability.request_ids import HEADER as REQUEST_ID_HEADER, REQUEST_ID
from api_service.public.pages import error_page, wants_html
from api_service.registry import BASE_PATH
from api_service.routing import RATE_HEADERS, authorize, json_response
from shared_models.db import PoolBusy

log = logging.getLogger("backinstock.api")

# PostgreSQL lost or refusing work: a connection terminated (pg_terminate_backend,
# failover, restart: AdminShutdownError and the rest of class 57, or the broken
# connection it leaves behind, which asyncpg reports as ConnectionDoesNotExistError,
# InterfaceError or, used before it noticed, InternalClientError), or no connection
# to be had. The pool replaces dead connections by itself; the client retries.
_DB_DOWN = (asyncpg.exceptions.PostgresConnectionError,  # class 08, ConnectionDoesNotExistError
            asyncpg.exceptions.OperatorInterventionError,  # class 57: admin/crash shutdown, cannot connect now
            asyncpg.exceptions.InterfaceError,
            asyncpg.exceptions.InternalClientError,
            asyncpg.exceptions.TooManyConnectionsError,
            ConnectionError, TimeoutError)


# aiohttp decodes header bytes that are not UTF-8 as lone surrogates
# (surrogateescape); such a string fails wherever it is encoded again (a query
# parameter, a log line). Checked once here for every header, with NUL, which
# PostgreSQL's text can't hold either.
_UNUSABLE = re.compile("[\x00\ud800-\udfff]")


def _check_headers(request: web.Request) -> None:
    for name, value in request.headers.items():
        if _UNUSABLE.search(value):
            raise BadRequest(f"Header {name} must be UTF-8 text without NUL characters")


def _route(request: web.Request) -> str:
    # For logs: the route's template, never the raw path (links carry tokens).
    return route_template(request) or "(no route)"


PUBLIC_PREFIXES = ("/t/", "/u/", "/optin/")  # links in messages: a person may follow a mangled one


async def _unmatched(request: web.Request) -> web.Response:
    if request.path.startswith(BASE_PATH + "/") or request.path == BASE_PATH:
        rel = request.path[len(BASE_PATH):] or "/"
        msg = f"No v2 action registered for {request.method} {rel}"
    else:
        msg = f"Not found: {request.method} {request.path}"
    if key_from_request(request) is not None:
        # A recognised key is charged and told its budget, like on any action; a
        # bad key still gets the 404 (no route is not a question about keys).
        try:
            await authorize(request, write=False)
        except Unauthorized:
            pass
        except (*_DB_DOWN, RedisConnectionError):  # the 404 stands; only its headers are lost
            log.warning("key lookup for an unmatched route failed", exc_info=True)
    return json_response({"errors": [msg]}, 404)


@web.middleware
async def error_middleware(request: web.Request, handler) -> web.StreamResponse:
    response = await _answer(request, handler)
    if (response.status >= 400 and request.path.startswith(PUBLIC_PREFIXES) and wants_html(request)
            and response.content_type == "application/json"):
        # A person following a link never sees JSON, even when the database is down.
        retry = response.headers.get("Retry-After")
        return error_page(response.status, headers={"Retry-After": retry} if retry else None)
    return response


async def _answer(request: web.Request, handler) -> web.StreamResponse:
    try:
        _check_headers(request)
        return await handler(request)
    except ApiError as exc:
        return json_response(exc.body(), exc.status, exc.headers)
    except web.HTTPRequestEntityTooLarge:
        return json_response({"errors": ["Request body is larger than 1 MiB"]}, 413)
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
        try:
            return await _unmatched(request)
        except ApiError as exc:  # over its key's rate limit: 429, as anywhere
            return json_response(exc.body(), exc.status, exc.headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return json_response({"errors": [exc.reason]}, exc.status)
    except RedisConnectionError:
        log.exception("redis unavailable on %s %s", request.method, _route(request))
        return json_response({"errors": ["The queue (Redis) is unavailable, try again shortly"]}, 503)
    except ConnectionResetError:
        if request.transport is not None and not request.transport.is_closing():
            return _database_unavailable(request)
        # The client's connection closed under a body read: gone, or cut by
        # BODY_TIMEOUT_SECONDS (api_service/http_errors.py). Nobody to answer.
        log.info("client connection lost on %s %s", request.method, _route(request))
        return json_response({"errors": ["Request not received in time"]}, 408)
    except PoolBusy as exc:
        # Not a fault of PostgreSQL: every connection is held; no traceback per request.
        log.warning("database pool busy on %s %s: %s", request.method, _route(request), exc)
        return json_response({"errors": ["Every database connection is busy, try again shortly"]}, 503,
                             {"Retry-After": "1"})
    except _DB_DOWN:
        return _database_unavailable(request)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, _route(request))
        return json_response({"errors": ["Internal server error"]}, 500)


def _database_unavailable(request: web.Request) -> web.Response:
    log.exception("database unavailable on %s %s", request.method, _route(request))
    return json_response({"errors": ["The database is unavailable, try again shortly"]}, 503)


async def add_common_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in request.get(RATE_HEADERS, {}).items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if REQUEST_ID in request:
        response.headers[REQUEST_ID_HEADER] = request[REQUEST_ID]
