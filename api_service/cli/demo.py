"""The demo shop of `backinstock dev`. API keys are stored only hashed, so the
demo key is kept in .data/dev.json (mode 0600) to be shown again next run."""
from __future__ import annotations

import json
import logging
import os
import secrets
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from api_service.admin import shops as admin
from api_service.registry import BASE_PATH
from shared_models.keys import key_matches, key_prefix

DEMO_DOMAIN = "demo-shop.myshopify.com"
DEMO_PLAN = "pro"
STATE_FILE = "dev.json"

ACTIVE_KEY = "SELECT key_hash FROM api_keys WHERE shop_id = $1 AND prefix = $2 AND revoked_at IS NULL"

# Three customers waiting on two variants of one product.
DEMO_SIGNUPS: list[dict[str, Any]] = [
    {"variant": (40001, "M / Blue"), "item": 70001, "email": "ann@example.com", "name": "Ann"},
    {"variant": (40001, "M / Blue"), "item": 70001, "email": "bob@example.com", "name": "Bob"},
    {"variant": (40002, "L / Green"), "item": 70002, "email": "cleo@example.com", "name": "Cleo"},
]
DEMO_PRODUCT_ID = 9001

log = logging.getLogger("backinstock.dev")


def load_state(data_dir: Path) -> dict[str, Any]:
    try:
        state = json.loads((data_dir / STATE_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def save_state(data_dir: Path, state: dict[str, Any]) -> None:
    """Written to a 0600 temporary file, then renamed: never readable by others."""
    path = data_dir / STATE_FILE
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(state, out, indent=2)
    os.chmod(tmp, 0o600)  # in case an old tmp file had looser bits
    os.replace(tmp, path)


def dev_secret(state: dict[str, Any]) -> str:
    """SECRET_KEY for dev when unset: kept, so signed links survive restarts."""
    if not state.get("secret_key"):
        state["secret_key"] = secrets.token_urlsafe(32)
    return state["secret_key"]


async def key_is_active(pool: asyncpg.Pool, shop_id: Any, key: str) -> bool:
    prefix = key_prefix(key)
    if prefix is None:
        return False
    stored = await pool.fetchval(ACTIVE_KEY, shop_id, prefix)
    return stored is not None and key_matches(key, stored)


async def ensure_demo_shop(pool: asyncpg.Pool, state: dict[str, Any]) -> bool:
    """Creates the demo shop or reuses it; sets state["api_key"]. True when created."""
    row = await pool.fetchrow(admin.SHOP_BY_DOMAIN, DEMO_DOMAIN)
    if row is None:
        created = await admin.create_shop(pool, DEMO_DOMAIN, plan=DEMO_PLAN, name="Demo Shop")
        state.update(domain=DEMO_DOMAIN, api_key=created["api_key"], webhook_secret=created["webhook_secret"],
                     seeded=False)
        log.info("created demo shop %s (plan %s)", DEMO_DOMAIN, DEMO_PLAN)
        return True
    # Kept for trying restocks by hand: README, "See an alert go out".
    state["webhook_secret"] = row["webhook_secret"]
    key = state.get("api_key")
    if isinstance(key, str) and await key_is_active(pool, row["shop_id"], key):
        log.info("reusing demo shop %s and its key", DEMO_DOMAIN)
        return False
    # The shop survived but its key did not (dev.json lost, or another database).
    state.update(domain=DEMO_DOMAIN, api_key=await admin.create_key(pool, row["shop_id"]))
    log.info("demo shop %s exists; created a new key for it", DEMO_DOMAIN)
    return False


def signup_body(entry: dict[str, Any]) -> dict[str, Any]:
    variant_id, variant_title = entry["variant"]
    return {
        "variant_id": variant_id,
        "product_id": DEMO_PRODUCT_ID,
        "inventory_item_id": entry["item"],
        "channel": "email",
        "quantity": 1,
        "source": "api",
        "customer": {"email": entry["email"], "name": entry["name"], "accepts_marketing": True},
        "product": {"title": "Linen shirt", "variant_title": variant_title, "vendor": "Demo",
                    "url": f"https://{DEMO_DOMAIN}/products/linen-shirt?variant={variant_id}"},
    }


async def seed_signups(api_url: str, api_key: str) -> bool:
    """Through the running API itself, as a client would. False (and a warning)
    when the endpoint is not there yet or refuses; dev goes on either way."""
    url = api_url + BASE_PATH + "/back_in_stock/signups"
    timeout = aiohttp.ClientTimeout(total=10)
    try:
        async with aiohttp.ClientSession(headers={"X-Auth-Token": api_key}, timeout=timeout) as http:
            for entry in DEMO_SIGNUPS:
                async with http.post(url, json=signup_body(entry)) as resp:
                    if resp.status not in (200, 201):
                        text = (await resp.text())[:200]
                        log.warning("demo signups not seeded: POST %s answered %s %s",
                                    url, resp.status, " ".join(text.split()))
                        return False
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.warning("demo signups not seeded: %s: %s", type(exc).__name__, exc)
        return False
    log.info("seeded %d demo signups", len(DEMO_SIGNUPS))
    return True
