"""GET /t/{token}, GET|POST /u/{token}, GET|POST /optin/{token}.

A forged token, or one for a row that no longer exists, is 404; except an
unsubscribe link whose signup was deleted or merged away since: it still
works for 60 days after the signup's last activity (unsubscribe_links,
sql/025_suppression.sql), by suppressing the contact it went to. A browser
(Accept: text/html) is shown that, and every other refusal, as a page in the
shop's name when the token names a shop (`people` below); other clients get
the JSON error envelope like everywhere else. GETs change nothing except the
click: mail scanners follow links, so unsubscribing and confirming take a POST.
"""
from __future__ import annotations

import functools
import uuid
from typing import Any, Awaitable, Callable

import asyncpg
from aiohttp import web

from api_service.context import CONNECTIONS
from shared_models.errors import ApiError, NotFound
from api_service.public import queries
from api_service.public.pages import error_page, html_response, wants_html
from api_service.public.redirects import click_target
from api_service.routing import limit
from api_service.signups import hooks
from shared_models import suppression, tokens
from shared_models.naming import product_name

NOT_FOUND_MESSAGE = "Not found: this link is invalid or no longer exists"
_TRUE = ("1", "true", "yes")
TOKEN_SHOP = web.RequestKey("token_shop", uuid.UUID)  # the shop a verified token names

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def shop_name(request: web.Request) -> str | None:
    shop_id = request.get(TOKEN_SHOP)
    if shop_id is None:
        return None
    return await _pool(request).fetchval(queries.SHOP_NAME, shop_id)


def people(handler: Handler) -> Handler:
    """Refusals as pages for browsers. Only what the handler raised on purpose
    (ApiError): anything else stays the middleware's (logged, 500/503)."""
    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except ApiError as exc:
            if not wants_html(request):
                raise
            return error_page(exc.status, await shop_name(request), exc.headers)
    return wrapped


async def _limit(request: web.Request) -> None:
    """Per client address, like every endpoint outside the base path."""
    await limit(request, f"public:{request.remote or 'unknown'}")


async def _ids(request: web.Request, kind: str) -> tuple[uuid.UUID, uuid.UUID]:
    secret = request.app[CONNECTIONS].config.secret_key
    ids = tokens.verify(kind, request.match_info["token"], secret)
    if ids is not None:  # known before the limit, so that its page names the shop
        request[TOKEN_SHOP] = ids[0]
    await _limit(request)
    if ids is None:
        raise NotFound(NOT_FOUND_MESSAGE)
    return ids


def _pool(request: web.Request) -> asyncpg.Pool:
    return request.app[CONNECTIONS].pool


async def _signup(request: web.Request, kind: str) -> tuple[uuid.UUID, Any]:
    shop_id, signup_id = await _ids(request, kind)
    row: Any = await _pool(request).fetchrow(queries.SIGNUP, shop_id, signup_id)
    if row is None and kind == "unsubscribe":
        link = await _pool(request).fetchrow(suppression.LINK, shop_id, signup_id, suppression.LINK_DAYS)
        if link is not None:  # the signup is gone: only its contact is left to unsubscribe
            row = {**dict(link), "unsubscribed_at": None, "gone": True}
    if row is None:
        raise NotFound(NOT_FOUND_MESSAGE)
    return shop_id, row


async def _one_click(request: web.Request) -> bool:
    """RFC 8058: the mail client POSTs List-Unsubscribe=One-Click (form-encoded)."""
    if request.content_type != "application/x-www-form-urlencoded":
        return False
    form = await request.post()
    return form.get("List-Unsubscribe") == "One-Click"


def _everything(request: web.Request) -> bool:
    return request.query.get("all", "").lower() in _TRUE


def _page_context(request: web.Request, row: asyncpg.Record) -> dict[str, Any]:
    path = request.path  # /u/{token} or /optin/{token}: forms post back to it
    return {"shop_name": row["shop_name"], "product": product_name(row["product_title"], row["variant_title"]),
            "action": path, "action_all": path + "?all=1", "everything": _everything(request)}


@people
async def click(request: web.Request) -> web.Response:
    shop_id, notification_id = await _ids(request, "click")
    record = request.method == "GET"  # HEAD (link previews, scanners) looks without counting
    row = await _pool(request).fetchrow(queries.CLICK, shop_id, notification_id, record)
    if row is None:
        raise NotFound(NOT_FOUND_MESSAGE)
    location = click_target(url=row["url"], domain=row["domain"], storefront_domains=row["storefront_domains"] or (),
                            variant_id=row["variant_id"], handle=row["handle"], channel=row["channel"],
                            notification_id=row["notification_id"])
    return web.Response(status=302, headers={"Location": location, "Cache-Control": "no-store",
                                             "Referrer-Policy": "no-referrer"})


@people
async def unsubscribe_page(request: web.Request) -> web.Response:
    _, row = await _signup(request, "unsubscribe")
    return html_response("unsubscribe_confirm.html", already=row["unsubscribed_at"] is not None,
                         **_page_context(request, row))


@people
async def unsubscribe(request: web.Request) -> web.Response:
    """The page's buttons and RFC 8058 one-click (body List-Unsubscribe=One-Click)
    alike: the signed token is the authorisation, so the body is not required."""
    shop_id, row = await _signup(request, "unsubscribe")
    pool = _pool(request)
    everything, one_click = _everything(request), await _one_click(request)
    if everything and row["customer_id"] is not None:
        await pool.execute(suppression.UNSUBSCRIBE_CUSTOMER, shop_id, row["customer_id"], row["channel"],
                           row["contact"], "unsubscribe_all")
    elif everything or one_click or row.get("gone"):
        # One-click is the mail client's "stop this sender": the contact, not
        # just this alert. A deleted signup has nothing left but its contact.
        source = "unsubscribe_all" if everything else "one_click" if one_click else "unsubscribe_link"
        async with pool.acquire() as conn, conn.transaction():
            if not row.get("gone"):
                await conn.execute(queries.UNSUBSCRIBE_SIGNUP, shop_id, row["signup_id"])
            await conn.execute(suppression.ADD, shop_id, row["channel"], row["contact"], source)
    else:
        await pool.execute(queries.UNSUBSCRIBE_SIGNUP, shop_id, row["signup_id"])
    return html_response("unsubscribed.html", **_page_context(request, row))


@people
async def optin_page(request: web.Request) -> web.Response:
    _, row = await _signup(request, "optin")
    return html_response("optin_confirm.html", confirmed=row["optin_confirmed_at"] is not None,
                         unsubscribed=row["unsubscribed_at"] is not None, **_page_context(request, row))


@people
async def optin_confirm(request: web.Request) -> web.Response:
    shop_id, row = await _signup(request, "optin")
    unsubscribed = row["unsubscribed_at"] is not None
    if not unsubscribed:
        async with _pool(request).acquire() as conn, conn.transaction():
            variant_id = await conn.fetchval(queries.CONFIRM_OPTIN, shop_id, row["signup_id"])
            if variant_id is not None:  # the contact's own confirmation: the only thing that lifts a suppression
                await conn.execute(suppression.LIFT, shop_id, row["channel"], row["contact"])
        if variant_id is not None:  # now waiting: it counts towards high demand
            await hooks.check_variant_demand(request.app[CONNECTIONS], shop_id, variant_id)
    return html_response("optin_confirm.html", confirmed=not unsubscribed, unsubscribed=unsubscribed,
                         **_page_context(request, row))
