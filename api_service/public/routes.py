"""Routes of the public pages (outside the base path, no API key)."""
from __future__ import annotations

from aiohttp import web

from api_service.public import handlers


def add_routes(app: web.Application) -> None:
    app.router.add_get("/t/{token}", handlers.click)  # HEAD too: redirects without counting
    app.router.add_get("/u/{token}", handlers.unsubscribe_page)
    app.router.add_post("/u/{token}", handlers.unsubscribe)
    app.router.add_get("/optin/{token}", handlers.optin_page)
    app.router.add_post("/optin/{token}", handlers.optin_confirm)
