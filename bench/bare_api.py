"""What HTTP alone costs a create on this machine: an aiohttp server with
nothing behind its route (`python -m bench.bare_api --port N`).

It answers POST /api/v2/external/back_in_stock/signups as the API's process
would at its thinnest: the same event loop (shared_models.aio: uvloop), no
access log, the body read and parsed (orjson), 201 with a body of a signup's
size. The bench's clients call it exactly as they call the API, so its CPU per
request is the share of a create that no work of ours can remove while we
serve HTTP with aiohttp (bench/budget.py)."""
from __future__ import annotations

import argparse
import asyncio

import orjson
from aiohttp import web

from shared_models import aio

# A signup as the API answers it (api_service/signups/output.py), same keys and size.
SIGNUP = orjson.dumps({
    "id": "3f1b6d0e-6a3c-4d54-9b8e-2d4f5a6b7c8d", "status": "pending", "channel": "email",
    "contact": "bench-123456@example.com", "quantity": 1, "source": "api",
    "variant": {"shopify_variant_id": 900123, "shopify_product_id": 90123, "title": "Bench product"},
    "customer": {"id": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "email": "bench-123456@example.com",
                 "name": "Bench"},
    "optin": {"required": False, "confirmed": None}, "notifications_sent": 0,
    "last_notified_at": None, "unsubscribed_at": None,
    "created_at": "2026-12-05T03:00:00.000000+00:00", "updated_at": "2026-12-05T03:00:00.000000+00:00",
})


async def create(request: web.Request) -> web.Response:
    body = orjson.loads(await request.read())
    if not isinstance(body, dict):
        raise web.HTTPUnprocessableEntity()
    return web.Response(body=SIGNUP, status=201, content_type="application/json")


async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def serve(port: int) -> None:
    app = web.Application()
    app.router.add_post("/api/v2/external/back_in_stock/signups", create)
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app, access_log=None, handle_signals=True)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        await asyncio.Event().wait()  # until SIGTERM (handle_signals)
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    try:
        aio.run(serve(parser.parse_args().port))
    except (KeyboardInterrupt, web.GracefulExit):
        pass


if __name__ == "__main__":
    main()
