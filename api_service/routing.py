"""Turns registry actions into aiohttp handlers: auth, limits, parsing,
idempotency, then the action's core function."""
from __future__ import annotations

from functools import cache
from typing import Any

from aiohttp import web
from marshmallow import Schema, ValidationError

from api_service import idempotency, negotiation
from api_service.auth import KEY_CACHE, KeyCache, Principal, authenticate, key_from_request
from api_service.context import CONNECTIONS, Call, Reply
from api_service.observability.request_ids import REQUEST_ID
from shared_models.errors import (
    BadRequest,
    Forbidden,
    NotFound,
    TooManyRequests,
    Unauthorized,
    Unprocessable,
    flatten_errors,
)
from api_service.intake_limits import INTAKE_LIMITERS
from api_service.meta.operations import document_action
from api_service.ratelimit import RateLimiter
from api_service.registry import Action
from shared_models import jsonutil

RATE_LIMITER = web.AppKey("rate_limiter", RateLimiter)
RATE_HEADERS = web.RequestKey("rate_headers", dict)  # headers set on every response
ACTION_NAME = web.RequestKey("action_name", str)  # for logs and metrics


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=jsonutil.dumps(body), status=status,
                        content_type="application/json", headers=headers)


@cache
def instance(schema: type[Schema]) -> Schema:
    """One instance per schema class: building one (and its nested fields) per
    request cost more than the load. Our schemas keep no state on self."""
    return schema()


def load(schema: type[Schema] | None, data: Any, *, partial: bool = False) -> dict[str, Any]:
    if schema is None:
        return {}
    try:
        return instance(schema).load(data, partial=partial)
    except ValidationError as exc:
        raise Unprocessable.from_fields(flatten_errors(exc.messages)) from None


NUL_MESSAGE = "Must not contain NUL characters."


def refuse_nul(value: Any) -> None:
    """Every query string and JSON body passes here: a NUL anywhere is a 422."""
    path = jsonutil.nul_path(value)
    if path is not None:
        raise Unprocessable.from_fields({path: [NUL_MESSAGE]})


def query_dict(request: web.Request) -> dict[str, str]:
    out: dict[str, str] = {}
    for key in request.query:
        values = request.query.getall(key)
        if len(values) > 1:
            raise Unprocessable.from_fields({key: ["Given more than once."]})
        out[key] = values[0]
    refuse_nul(out)
    return out


async def read_raw(request: web.Request) -> bytes:
    return await request.read()  # over client_max_size: 413 from aiohttp


def parse_json(raw: bytes) -> Any:
    if not raw.strip():
        return {}
    try:
        value = jsonutil.loads(raw)
    except ValueError as exc:
        raise BadRequest(f"Malformed JSON: {exc}") from None
    refuse_nul(value)
    return value


async def read_json(request: web.Request) -> tuple[Any, bytes]:
    raw = await read_raw(request)
    return parse_json(raw), raw


async def limit(request: web.Request, bucket: str) -> None:
    """One hit on `bucket`, its X-RateLimit-* headers on whatever the response
    turns out to be (error_middleware's included), 429 when it is empty. The one
    place a limiter's decision becomes headers, for key and address buckets alike."""
    limiter = request.app.get(RATE_LIMITER)
    if limiter is None:
        return
    decision = await limiter.hit(bucket)
    request[RATE_HEADERS] = {
        "X-RateLimit-Limit": str(decision.limit),
        "X-RateLimit-Remaining": str(decision.remaining),
    }
    if not decision.allowed:
        raise TooManyRequests("Rate limit exceeded, retry later",
                              headers={"Retry-After": str(decision.retry_after)})


async def authorize(request: web.Request, *, write: bool, cached: bool = False) -> Principal:
    """Key → shop (after the client address's failed-lookup limit), then the
    per-key rate limit, then read-only keys' writes. `cached`: the key may come
    from the process's KeyCache (only for an action whose write checks it again)."""
    key = key_from_request(request)
    limiters = request.app.get(INTAKE_LIMITERS)
    if key is not None and limiters is not None:
        await limiters.before_key_lookup(request.remote)
    principal = await _lookup(request, key, request.app.get(KEY_CACHE) if cached else None)
    await limit(request, f"key:{principal.key_id}")
    if write and principal.read_only:
        raise Forbidden("This API key is read-only")
    return principal


async def reauthorize(request: web.Request) -> Principal:
    """A write found the cached principal stale: the key looked up afresh
    (401 once revoked, 403 if now read-only), its rate limit already charged."""
    key = key_from_request(request)
    cache = request.app.get(KEY_CACHE)
    if cache is not None and key is not None:
        cache.drop(key)
    principal = await _lookup(request, key, cache)
    if principal.read_only:
        raise Forbidden("This API key is read-only")
    return principal


async def _lookup(request: web.Request, key: str | None, cache: KeyCache | None) -> Principal:
    limiters = request.app.get(INTAKE_LIMITERS)
    try:
        return await authenticate(request.app[CONNECTIONS].pool, key, cache)
    except Unauthorized:
        if key is not None and limiters is not None:
            # A key not recognised has no bucket of its own: its 401 carries the
            # address's failed-lookup bucket, the limit this caller runs into.
            failed = await limiters.key_failed(request.remote)
            request[RATE_HEADERS] = {"X-RateLimit-Limit": str(failed.limit),
                                     "X-RateLimit-Remaining": str(failed.remaining)}
        raise


def to_response(action: Action, result: Any) -> web.StreamResponse:
    if isinstance(result, web.StreamResponse):
        return result
    if isinstance(result, Reply):
        if result.status == 204:
            return web.Response(status=204, headers=result.headers)
        return json_response(result.body, result.status, result.headers)
    if result is None and action.status == 204:
        return web.Response(status=204)
    return json_response(result, action.status)


async def run_action(action: Action, request: web.Request) -> web.StreamResponse:
    request[ACTION_NAME] = action.name
    conns = request.app[CONNECTIONS]
    principal = await authorize(request, write=not action.read_only, cached=action.coalesced)
    try:
        path = load(action.path_schema, dict(request.match_info))
    except Unprocessable:
        raise NotFound(f"{action.resource} not found") from None
    raw = (await read_raw(request)) if action.body_schema is not None else b""
    key = request.headers.get("Idempotency-Key") if request.method == "POST" else None
    if key is None:
        return to_response(action, await action.handler(parse_call(action, request, principal, path, raw)))
    # The key is claimed before the request is validated: its answer, a 422
    # included, is the key's for 24 hours, and a different request under the
    # same key is refused rather than handled.
    shop_id = principal.shop.shop_id
    digest = idempotency.request_hash(request.method, request.path_qs, raw)
    if action.coalesced:
        return await run_coalesced(action, request, principal, path, raw, idempotency.Pending(key, digest))
    stored = await idempotency.claim(conns.pool, shop_id, key, digest)
    if stored is not None:
        return idempotency.replay_response(stored)
    try:
        response = to_response(action, await action.handler(parse_call(action, request, principal, path, raw)))
    except Exception as exc:
        status = getattr(exc, "status", 500)
        if status < 500 and hasattr(exc, "body"):
            await idempotency.store(conns.pool, shop_id, key, status, jsonutil.dumps(exc.body()))
        else:
            await idempotency.release(conns.pool, shop_id, key)
        raise
    body_bytes = response.body if isinstance(response, web.Response) else b""
    await idempotency.store(conns.pool, shop_id, key, response.status, bytes(body_bytes or b""))
    return response


async def run_coalesced(action: Action, request: web.Request, principal: Principal, path: dict[str, Any],
                        raw: bytes, pending: idempotency.Pending) -> web.StreamResponse:
    """A coalesced action with an Idempotency-Key: its group claims the key in
    its own transaction (pending.claimed once committed), and the answer is
    stored after, as for any action. A request refused before its group ran
    (its input, its product link) claims and stores here, as any action's does."""
    pool = request.app[CONNECTIONS].pool
    shop_id = principal.shop.shop_id
    idempotency.check_key(pending.key)
    try:
        call = parse_call(action, request, principal, path, raw)
        call.idempotency = pending
        response = to_response(action, await action.handler(call))
    except idempotency.Replay as replay:
        return idempotency.replay_response(replay.stored)
    except Exception as exc:
        status = getattr(exc, "status", 500)
        if pending.claimed:
            if status < 500 and hasattr(exc, "body"):
                await idempotency.store(pool, shop_id, pending.key, status, jsonutil.dumps(exc.body()))
            else:
                await idempotency.release(pool, shop_id, pending.key)
        elif not pending.answered and status < 500 and hasattr(exc, "body") \
                and not isinstance(exc, (Unauthorized, Forbidden)):
            stored = await idempotency.claim(pool, shop_id, pending.key, pending.digest)
            if stored is not None:
                return idempotency.replay_response(stored)
            await idempotency.store(pool, shop_id, pending.key, status, jsonutil.dumps(exc.body()))
        raise
    if pending.claimed:
        body_bytes = response.body if isinstance(response, web.Response) else b""
        await idempotency.store(pool, shop_id, pending.key, response.status, bytes(body_bytes or b""))
    return response


def parse_call(action: Action, request: web.Request, principal: Principal, path: dict[str, Any],
               raw: bytes) -> Call:
    """The query and body, validated: a Call for the action's handler."""
    query = load(action.query_schema, query_dict(request))
    body, body_errors = None, {}
    if action.body_schema is not None:
        data = parse_json(raw)
        if not isinstance(data, dict):
            raise Unprocessable.from_fields({"": ["The body must be a JSON object."]})
        try:
            body = instance(action.body_schema).load(data, partial=action.body_partial)
        except ValidationError as exc:
            if not action.body_errors_to_handler:
                raise Unprocessable.from_fields(flatten_errors(exc.messages)) from None
            body = exc.valid_data if isinstance(exc.valid_data, dict) else {}
            body_errors = flatten_errors(exc.messages)
    fmt = negotiation.output_format(action.formats, query.get(negotiation.ASKED),
                                    request.headers.get("Accept", ""))
    return Call(request.app[CONNECTIONS], principal.shop, path, query, body, request, body_errors,
                request_id=request.get(REQUEST_ID), output_format=fmt, principal=principal,
                reauthorize=(lambda: reauthorize(request)) if action.coalesced else None)


@cache  # documenting a handler builds its schemas: once per action per process, not per app
def make_handler(action: Action):
    async def handler(request: web.Request) -> web.StreamResponse:
        return await run_action(action, request)

    handler.__name__ = action.name
    return document_action(handler, action, tags=[action.scope])
