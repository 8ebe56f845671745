"""A Shopify-like sample shop for the widget's browser tests: a product page
with an add-to-cart form and a variant selector, Shopify's AJAX product JSON
at /products/{handle}.js, a page with explicit placement, and a theme with
hostile CSS under a strict Content-Security-Policy.

The browser reaches the shop at https://<shop domain> and the service at
https://widget.backinstock.test through Playwright's routing, which hands each
request to these real local servers (http on loopback) unchanged, Origin
header included: the pages get the https origins that the storefront's CORS
rule expects, and every answer comes from a real server."""
from __future__ import annotations

import html
import json
from typing import Any

from aiohttp import web

SERVICE = "https://widget.backinstock.test"
PRODUCT = {
    "id": 9001, "handle": "linen-shirt", "title": "Linen shirt",
    "variants": [
        {"id": 4001, "title": "M / Blue", "available": False},
        {"id": 4002, "title": "L / Blue", "available": True},
        {"id": 4003, "title": "S / Blue", "available": False},
    ],
}
HOSTILE_CSS = """
* { font-size: 31px !important; letter-spacing: 4px !important; color: #ff00ff !important; }
button { display: none !important; background: lime !important; }
input, select, dialog, label, p, h2 { display: none !important; }
div { border: 9px dotted red !important; padding: 40px !important; }
"""
CSP = (f"default-src 'none'; script-src 'self' {SERVICE}; connect-src 'self' {SERVICE}; "
       "style-src 'self'; img-src 'self'; form-action 'self'")


def page(shop: str, body: str, *, script_attrs: str = "", lang: str = "en", css: bool = False,
         variant: int | None = None) -> str:
    options = "".join(
        f'<option value="{v["id"]}"{" selected" if v["id"] == variant else ""}>{html.escape(v["title"])}'
        f'{"" if v["available"] else " - sold out"}</option>' for v in PRODUCT["variants"])
    return f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Linen shirt</title>
{'<link rel="stylesheet" href="/theme.css">' if css else ''}
<script src="{SERVICE}/storefront/widget.js" data-shop="{shop}" {script_attrs} defer></script>
</head><body style="font-family: Georgia, serif; max-width: 560px; margin: 24px auto; padding: 0 16px">
<h1>Linen shirt</h1>
{body.replace("{options}", options)}
</body></html>"""


PRODUCT_FORM = """
<form method="post" action="/cart/add" id="product-form">
  <label for="variant">Size</label>
  <select name="id" id="variant">{options}</select>
  <button type="submit" id="add">Add to cart</button>
</form>
"""


class SampleShop:
    def __init__(self, shop: str):
        self.shop = shop
        self.app = web.Application()
        r = self.app.router
        r.add_get("/products/linen-shirt.js", self.product_js)
        r.add_get("/products/linen-shirt", self.product_page)
        r.add_get("/strict/products/linen-shirt", self.strict_page)
        r.add_get("/strict/products/linen-shirt.js", self.product_js)
        r.add_get("/pages/custom", self.custom_page)
        r.add_get("/theme.css", self.theme_css)
        r.add_get("/headless", self.headless_page)

    async def product_js(self, request: web.Request) -> web.Response:
        return web.json_response(PRODUCT)

    async def product_page(self, request: web.Request) -> web.Response:
        variant = request.query.get("variant")
        attrs = " ".join(f'data-text-{k[5:]}="{html.escape(v)}"' for k, v in request.query.items()
                         if k.startswith("text-"))
        return web.Response(text=page(self.shop, PRODUCT_FORM, lang=request.query.get("lang", "en"),
                                      script_attrs=attrs, variant=int(variant) if variant else None),
                            content_type="text/html")

    async def strict_page(self, request: web.Request) -> web.Response:
        return web.Response(text=page(self.shop, PRODUCT_FORM, css=True, variant=4001),
                            content_type="text/html", headers={"Content-Security-Policy": CSP})

    async def custom_page(self, request: web.Request) -> web.Response:
        body = '<p>Our bespoke layout.</p><div id="slot" data-backinstock data-product-id="9001" ' \
               'data-variant-id="4003"></div>'
        return web.Response(text=page(self.shop, body), content_type="text/html")

    async def headless_page(self, request: web.Request) -> web.Response:
        return web.Response(text=page(self.shop, "<p>A theme with its own form.</p>"), content_type="text/html")

    async def theme_css(self, request: web.Request) -> web.Response:
        return web.Response(text=HOSTILE_CSS, content_type="text/css")


async def route_to(route: Any, base: str) -> None:
    """Hands the browser's request to a local server, as is."""
    request = route.request
    url = request.url.split("/", 3)
    target = base + "/" + (url[3] if len(url) > 3 else "")
    response = await route.fetch(url=target)
    await route.fulfill(response=response)


def body_of(request: Any) -> dict:
    return json.loads(request.post_data or "{}")
