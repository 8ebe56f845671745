"""GET /storefront/widget.js and GET /storefront/config: what a shop's theme
loads to show "Notify me when available" (the widget then signs shoppers up
through the storefront signup, POST /api/v1/intents.json).

The script is read once per process; its hash is its ETag and its version:
`/storefront/widget.js?v=<hash>` may be cached for a year, the plain URL a
theme pastes for five minutes (then revalidated, usually a 304). The config
says only what the widget needs, never the rest of the shop's settings, and
only to the shop's own origins, like the storefront signup."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from aiohttp import web

from api_service.context import CONNECTIONS
from shared_models.channels import CHANNELS
from shared_models.errors import Forbidden, NotFound
from api_service.routing import json_response
from api_service.v1 import cors
from api_service.v1.limits import STOREFRONT_LIMITERS
from shared_models.settings import applicable, load_effective

SOURCE = Path(__file__).with_name("widget.js")
SHOP = "SELECT * FROM shops WHERE domain = $1 AND uninstalled_at IS NULL"
CONFIG_MAX_AGE = 60
PLAIN_MAX_AGE = 300
# Express consent for text messages names the sender (TCPA, carriers' rules).
SMS_CONSENT = {
    "en": "I agree to receive a one-time text message from {shop} when this item is back in stock. "
          "Message and data rates may apply. Reply STOP to opt out.",
    "fr": "J'accepte de recevoir un SMS unique de {shop} lorsque cet article sera de retour. "
          "Des frais peuvent s'appliquer. Répondez STOP pour vous désabonner.",
    "de": "Ich bin einverstanden, eine einmalige SMS von {shop} zu erhalten, wenn der Artikel wieder da ist. "
          "Es können Gebühren anfallen. Antworten Sie STOP zum Abmelden.",
    "es": "Acepto recibir un único SMS de {shop} cuando este artículo vuelva a estar disponible. "
          "Pueden aplicarse tarifas. Responde STOP para darte de baja.",
}


class Script:
    def __init__(self, path: Path = SOURCE):
        self.body = path.read_bytes()
        self.version = hashlib.sha256(self.body).hexdigest()[:16]
        self.etag = f'"{self.version}"'


WIDGET = web.AppKey("storefront_widget", Script)


def versioned_url(request: web.Request) -> str:
    return f"/storefront/widget.js?v={request.app[WIDGET].version}"


async def widget_js(request: web.Request) -> web.StreamResponse:
    script = request.app[WIDGET]
    pinned = request.query.get("v") == script.version
    headers = {"ETag": script.etag, "Cache-Control": "public, max-age=31536000, immutable" if pinned
               else f"public, max-age={PLAIN_MAX_AGE}",
               # Served to other sites' pages: a script tag from any origin may load it.
               "Cross-Origin-Resource-Policy": "cross-origin"}
    if script.etag in {t.strip() for t in request.headers.get("If-None-Match", "").split(",")}:
        return web.Response(status=304, headers=headers)
    return web.Response(body=script.body, content_type="application/javascript", charset="utf-8",
                        headers=headers)


def widget_config(shop: Any, settings: dict[str, Any], locale: str, widget_url: str) -> dict[str, Any]:
    channels = settings["channels"]
    name = shop["name"] or shop["domain"]
    lang = locale if locale in SMS_CONSENT else "en"
    return {
        "shop": {"name": name, "domain": shop["domain"]},
        "channels": [c for c in CHANNELS if channels[c]["enabled"]],
        "optin_required": bool(settings["compliance"]["optin_required"]),
        "sms_allowed_countries": list(settings["compliance"]["sms_allowed_countries"]),
        "texts": {"sms_consent": SMS_CONSENT[lang].format(shop=name)},
        "locale": lang,
        "widget_url": widget_url,
    }


async def config(request: web.Request) -> web.Response:
    conns = request.app[CONNECTIONS]
    await request.app[STOREFRONT_LIMITERS].address(request.remote)
    domain = request.query.get("shop", "").strip().lower()
    shop = await conns.pool.fetchrow(SHOP, domain) if 0 < len(domain) <= 255 else None
    if shop is None:
        raise NotFound("Shop not found")
    domains = [shop["domain"], *shop["storefront_domains"]]
    origin = request.headers.get("Origin")
    headers = {"Cache-Control": f"public, max-age={CONFIG_MAX_AGE}", "Vary": "Origin"}
    if origin is not None:
        if not cors.allowed(origin, domains):
            raise Forbidden("This origin may not load this shop's widget")
        headers.update(cors.response_headers(origin))
    settings = applicable(await load_effective(conns.pool, shop["shop_id"]), shop["plan"])
    locale = request.query.get("locale", "en")[:5].lower()
    body = widget_config(shop, settings, locale, versioned_url(request))
    return json_response(body, headers=headers)


def add_routes(app: web.Application) -> None:
    app[WIDGET] = Script()
    app.router.add_get("/storefront/widget.js", widget_js)
    app.router.add_get("/storefront/config", config)
