"""The channel list has one owner (shared_models/channels.py): PostgreSQL's
CHECK constraints, every validated channel field, every per-channel table
(settings, contacts, providers) and the messages follow it, and no other copy
of the list is written anywhere."""
from __future__ import annotations

import importlib
import re

from marshmallow import Schema, fields, validate

from api_service.settings.schemas import ChannelsSettings
from api_service.signups.schemas import CONTACT_FIELD
from api_service.v1.schemas import V1_CONTACT_FIELD
from dispatcher.channels.factory import build_providers, close_providers
from dispatcher.messages import render_alert, render_confirmation
from shared_models.channels import CHANNELS
from shared_models.config import Config
from shared_models.settings import DEFAULTS

CHECKS = """
SELECT conrelid::regclass::text AS table_name, pg_get_constraintdef(oid) AS definition
FROM pg_constraint WHERE contype = 'c' AND pg_get_constraintdef(oid) LIKE '%''sms''%'
"""
COPY = re.compile(r"""["']email["'],\s*["']sms["'],\s*["']push["']""")


def _all_schemas(base: type = Schema) -> list[type[Schema]]:
    out = []
    for cls in base.__subclasses__():
        out += [cls, *_all_schemas(cls)]
    return out


def _channel_choices(schema: Schema) -> list[tuple[str, tuple]]:
    """(field, choices) of every OneOf that names a channel, nested schemas included."""
    found = []
    for name, field in schema.fields.items():
        if isinstance(field, fields.Nested) and isinstance(field.schema, Schema):
            found += _channel_choices(field.schema)
        for v in field.validators:
            if isinstance(v, validate.OneOf) and "sms" in v.choices:
                found.append((f"{type(schema).__name__}.{name}", tuple(v.choices)))
    return found


async def test_rule_channel_list_has_one_owner(pool, repo_root):
    # PostgreSQL: the CHECK constraints naming channels list exactly these.
    checks = {r["table_name"]: tuple(re.findall(r"'(\w+)'::text", r["definition"])) for r in await pool.fetch(CHECKS)}
    assert checks == {"signups": CHANNELS, "suppressions": CHANNELS}
    # Every validated channel field (v2, v1, storefront, reports, notifications): the app loads every schema.
    importlib.import_module("api_service.app")
    choices = [c for cls in _all_schemas() if cls.__module__.startswith("api_service")
               for c in _channel_choices(cls())]
    assert {name.split(".")[0] for name, _ in choices} >= {"SignupCreate", "SignupFilters", "ReportQuery",
                                                           "NotificationListQuery", "V1Intent"}
    assert all(c == CHANNELS for _, c in choices), choices
    # Per-channel tables: settings, the contacts each needs, the providers.
    assert tuple(DEFAULTS["channels"]) == tuple(ChannelsSettings().fields) == CHANNELS
    assert tuple(CONTACT_FIELD) == tuple(V1_CONTACT_FIELD) == CHANNELS
    providers = build_providers(Config.from_env({"SECRET_KEY": "s", "ALLOW_CONSOLE_PROVIDERS": "1"}, required=()))
    try:
        assert tuple(providers) == CHANNELS
    finally:
        await close_providers(providers)
    # Each channel has its messages.
    for channel in CHANNELS:
        alert = render_alert(channel=channel, to="x", shop_name="Acme", shop_domain="acme.myshopify.com",
                             product_title="Tee", variant_title=None, product_url=None,
                             email_settings=DEFAULTS["channels"]["email"], click_url="https://x/t",
                             unsubscribe_url="https://x/u", unsubscribe_all_url="https://x/ua")
        confirmation = render_confirmation(channel=channel, to="x", shop_name="Acme", product_title="Tee",
                                           variant_title=None, confirm_url="https://x/c")
        assert alert.channel == confirmation.channel == channel
    # No other copy of the list: migrations' CHECKs are held above, the owner is the owner.
    owner = repo_root / "shared_models" / "channels.py"
    copies = [str(p.relative_to(repo_root)) for package in ("api_service", "dispatcher", "shared_models", "sql")
              for p in (repo_root / package).rglob("*") if p.suffix in (".py", ".js", ".sql") and p != owner
              and not re.fullmatch(r"\d{3}_.*\.sql", p.name) and COPY.search(p.read_text())]
    assert copies == []
