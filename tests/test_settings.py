"""Settings through HTTP: defaults, deep-partial PATCH, every rule, plan gating,
all-or-nothing 422s, isolation between shops and the /help description."""
from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest
import pytest_asyncio

from api_service.admin import shops as admin
from tests.conftest import Api

SETTINGS = "/back_in_stock/settings"
CAPABILITIES = ("channels", "delivery", "compliance", "tagging", "alerts")

# Copied from docs/API.md ("Settings"), not imported: the code must match the contract.
CONTRACT_DEFAULTS: dict[str, Any] = {
    "channels": {"email": {"enabled": True, "sender_name": None, "reply_to": None,
                           "subject": "{{ product_title }} is back in stock"},
                 "sms": {"enabled": False}, "push": {"enabled": False}},
    "delivery": {"auto_send": True, "min_restock_quantity": 1,
                 "batch_size": None, "batch_interval_minutes": 60,
                 "order": "oldest_first", "skip_if_sold_out": True,
                 "only_when_published": False, "location_ids": [],
                 "reminders": {"enabled": False, "after_days": [3]}},
    "compliance": {"optin_required": False, "sms_allowed_countries": [],
                   "data_retention_days": None},
    "tagging": {"order_tag": {"enabled": True, "tag": "back-in-stock"},
                "customer_tags": []},
    "alerts": {"high_demand": {"enabled": False, "threshold": 25},
               "usage_warning": {"enabled": True, "percent": 80},
               "report_emails": {"frequency": "off", "recipients": []}},
}


@pytest_asyncio.fixture
async def paid_api(client, make_shop) -> Api:
    """A shop on lite: batching and SMS allowed, so the other rules can be tested alone."""
    return Api(client, (await make_shop(plan="lite")).headers)


async def read_all(api: Api) -> dict[str, Any]:
    status, body, _ = await api.get(SETTINGS)
    assert status == 200, body
    return body


async def patch_ok(api: Api, path: str, body: Any) -> dict[str, Any]:
    status, out, _ = await api.patch(path, json=body)
    assert status == 200, out
    return out


async def patch_422(api: Api, path: str, body: Any) -> dict[str, list[str]]:
    status, out, _ = await api.patch(path, json=body)
    assert status == 422, out
    assert out["errors"] and all(isinstance(m, str) for m in out["errors"])
    return out["fields"]


def with_change(path: str, value: Any) -> dict[str, Any]:
    """The defaults with one dotted path set, as GET should show them after a PATCH."""
    doc = copy.deepcopy(CONTRACT_DEFAULTS)
    *parents, leaf = path.split(".")
    target = doc
    for key in parents:
        target = target[key]
    target[leaf] = value
    return doc


# -- reading -----------------------------------------------------------------

async def test_defaults_are_exactly_the_contracts(api):
    assert await read_all(api) == CONTRACT_DEFAULTS


@pytest.mark.parametrize("capability", CAPABILITIES)
async def test_read_one_capability(api, capability):
    status, body, _ = await api.get(f"{SETTINGS}/{capability}")
    assert status == 200
    assert body == CONTRACT_DEFAULTS[capability]


async def test_settings_need_a_key(client):
    resp = await client.get("/api/v2/external" + SETTINGS)
    assert resp.status == 401


# -- PATCH semantics ---------------------------------------------------------

async def test_patch_capability_returns_the_whole_capability_and_persists(api):
    out = await patch_ok(api, f"{SETTINGS}/delivery", {"order": "newest_first", "auto_send": False})
    expected = {**CONTRACT_DEFAULTS["delivery"], "order": "newest_first", "auto_send": False}
    assert out == expected
    _, again, _ = await api.get(f"{SETTINGS}/delivery")
    assert again == expected
    assert (await read_all(api))["channels"] == CONTRACT_DEFAULTS["channels"]


async def test_patch_top_level_changes_several_capabilities_and_returns_everything(api):
    out = await patch_ok(api, SETTINGS, {
        "channels": {"push": {"enabled": True}},
        "compliance": {"optin_required": True, "data_retention_days": 90},
        "alerts": {"report_emails": {"frequency": "weekly", "recipients": ["ops@example.com"]}},
    })
    expected = copy.deepcopy(CONTRACT_DEFAULTS)
    expected["channels"]["push"]["enabled"] = True
    expected["compliance"].update(optin_required=True, data_retention_days=90)
    expected["alerts"]["report_emails"] = {"frequency": "weekly", "recipients": ["ops@example.com"]}
    assert out == expected
    assert await read_all(api) == expected


async def test_empty_patch_changes_nothing(api):
    assert await patch_ok(api, SETTINGS, {}) == CONTRACT_DEFAULTS
    assert await patch_ok(api, f"{SETTINGS}/tagging", {}) == CONTRACT_DEFAULTS["tagging"]


async def test_objects_merge_deeply(api):
    await patch_ok(api, f"{SETTINGS}/channels", {"email": {"subject": "Back: {{ product_title }}"}})
    await patch_ok(api, SETTINGS, {"channels": {"email": {"sender_name": "Acme"}}})
    out = await patch_ok(api, f"{SETTINGS}/delivery", {"reminders": {"enabled": True}})
    assert out["reminders"] == {"enabled": True, "after_days": [3]}
    email = (await read_all(api))["channels"]["email"]
    assert email == {"enabled": True, "sender_name": "Acme", "reply_to": None,
                     "subject": "Back: {{ product_title }}"}


async def test_arrays_replace(api):
    await patch_ok(api, f"{SETTINGS}/delivery", {"location_ids": [11, 12, 13]})
    out = await patch_ok(api, f"{SETTINGS}/delivery", {"location_ids": [14]})
    assert out["location_ids"] == [14]
    await patch_ok(api, f"{SETTINGS}/delivery", {"reminders": {"after_days": [2, 9]}})
    await patch_ok(api, SETTINGS, {"delivery": {"reminders": {"after_days": [5]}}})
    await patch_ok(api, f"{SETTINGS}/tagging", {"customer_tags": ["a", "b"]})
    await patch_ok(api, f"{SETTINGS}/tagging", {"customer_tags": []})
    body = await read_all(api)
    assert body["delivery"]["reminders"]["after_days"] == [5]
    assert body["delivery"]["location_ids"] == [14]
    assert body["tagging"]["customer_tags"] == []


async def test_null_sets_a_nullable_field(paid_api):
    await patch_ok(paid_api, SETTINGS, {
        "channels": {"email": {"reply_to": "help@example.com", "sender_name": "Acme"}},
        "delivery": {"batch_size": 100},
        "compliance": {"data_retention_days": 365},
    })
    out = await patch_ok(paid_api, SETTINGS, {
        "channels": {"email": {"reply_to": None, "sender_name": None}},
        "delivery": {"batch_size": None},
        "compliance": {"data_retention_days": None},
    })
    assert out == CONTRACT_DEFAULTS
    assert await read_all(paid_api) == CONTRACT_DEFAULTS


@pytest.mark.parametrize("path, body, field", [
    ("/delivery", {"order": None}, "order"),
    ("/delivery", {"location_ids": None}, "location_ids"),
    ("/delivery", {"reminders": None}, "reminders"),
    ("/channels", {"email": {"enabled": None}}, "email.enabled"),
    ("/channels", {"email": {"subject": None}}, "email.subject"),
    ("/channels", {"sms": None}, "sms"),
    ("", {"tagging": None}, "tagging"),
    ("", {"alerts": {"usage_warning": {"percent": None}}}, "alerts.usage_warning.percent"),
])
async def test_null_on_a_non_nullable_field_is_422(api, path, body, field):
    fields = await patch_422(api, SETTINGS + path, body)
    assert list(fields) == [field]
    assert await read_all(api) == CONTRACT_DEFAULTS


@pytest.mark.parametrize("path, body, field", [
    ("", {"shipping": {"enabled": True}}, "shipping"),
    ("", {"delivery": {"batchsize": 10}}, "delivery.batchsize"),
    ("", {"channels": {"email": {"subjekt": "x"}}}, "channels.email.subjekt"),
    ("/channels", {"email": {"subjekt": "x"}}, "email.subjekt"),
    ("/channels", {"whatsapp": {"enabled": True}}, "whatsapp"),
    ("/delivery", {"reminders": {"every_days": 3}}, "reminders.every_days"),
    ("/alerts", {"channels": {}}, "channels"),  # another capability's key
])
async def test_unknown_keys_are_422_with_their_path(api, path, body, field):
    fields = await patch_422(api, SETTINGS + path, body)
    assert list(fields) == [field]
    assert await read_all(api) == CONTRACT_DEFAULTS


async def test_body_must_be_an_object(api):
    status, out, _ = await api.patch(f"{SETTINGS}/delivery", json=[{"order": "newest_first"}])
    assert status == 422, out


# -- every rule --------------------------------------------------------------

# (capability, body, the field path that must be named relative to the capability)
BAD_VALUES = [
    ("delivery", {"batch_size": 0}, "batch_size"),
    ("delivery", {"batch_size": 10_001}, "batch_size"),
    ("delivery", {"batch_size": "100"}, "batch_size"),
    ("delivery", {"batch_size": 2.5}, "batch_size"),
    ("delivery", {"batch_interval_minutes": -1}, "batch_interval_minutes"),
    ("delivery", {"batch_interval_minutes": 1_441}, "batch_interval_minutes"),
    ("delivery", {"order": "random"}, "order"),
    ("delivery", {"min_restock_quantity": 0}, "min_restock_quantity"),
    ("delivery", {"auto_send": "yes"}, "auto_send"),
    ("delivery", {"skip_if_sold_out": 1}, "skip_if_sold_out"),
    ("delivery", {"location_ids": [0]}, "location_ids.0"),
    ("delivery", {"location_ids": [5, -3]}, "location_ids.1"),
    ("delivery", {"location_ids": "123"}, "location_ids"),
    ("delivery", {"location_ids": list(range(1, 102))}, "location_ids"),
    ("delivery", {"reminders": {"after_days": [1, 2, 3]}}, "reminders.after_days"),
    ("delivery", {"reminders": {"after_days": [0]}}, "reminders.after_days.0"),
    ("delivery", {"reminders": {"after_days": [31]}}, "reminders.after_days.0"),
    ("delivery", {"reminders": {"after_days": [7, 3]}}, "reminders.after_days"),
    ("delivery", {"reminders": {"after_days": [3, 3]}}, "reminders.after_days"),
    ("delivery", {"reminders": {"after_days": []}}, "reminders.after_days"),
    ("channels", {"email": {"enabled": "true"}}, "email.enabled"),
    ("channels", {"email": {"reply_to": "not an email"}}, "email.reply_to"),
    ("channels", {"email": {"sender_name": ""}}, "email.sender_name"),
    ("channels", {"email": {"sender_name": "Acme\r\nBcc: x@example.com"}}, "email.sender_name"),
    ("channels", {"email": {"sender_name": "x" * 256}}, "email.sender_name"),
    ("channels", {"email": {"subject": ""}}, "email.subject"),
    ("channels", {"email": {"subject": "{{ product_title }}" + "x" * 250}}, "email.subject"),
    ("channels", {"push": {"enabled": 0}}, "push.enabled"),
    ("compliance", {"sms_allowed_countries": ["USA"]}, "sms_allowed_countries.0"),
    ("compliance", {"sms_allowed_countries": ["us"]}, "sms_allowed_countries.0"),
    ("compliance", {"sms_allowed_countries": ["US", "ZZ"]}, "sms_allowed_countries.1"),
    ("compliance", {"sms_allowed_countries": ["US", "US"]}, "sms_allowed_countries"),
    ("compliance", {"data_retention_days": 29}, "data_retention_days"),
    ("compliance", {"data_retention_days": 3_651}, "data_retention_days"),
    ("compliance", {"optin_required": "no"}, "optin_required"),
    ("tagging", {"order_tag": {"tag": ""}}, "order_tag.tag"),
    ("tagging", {"order_tag": {"tag": "   "}}, "order_tag.tag"),
    ("tagging", {"order_tag": {"tag": "back,in-stock"}}, "order_tag.tag"),
    ("tagging", {"order_tag": {"tag": "x" * 41}}, "order_tag.tag"),
    ("tagging", {"order_tag": {"tag": 7}}, "order_tag.tag"),
    ("tagging", {"customer_tags": ["ok", "not,ok"]}, "customer_tags.1"),
    ("tagging", {"customer_tags": "vip"}, "customer_tags"),
    ("tagging", {"customer_tags": [f"t{i}" for i in range(101)]}, "customer_tags"),
    ("alerts", {"high_demand": {"threshold": 0}}, "high_demand.threshold"),
    ("alerts", {"usage_warning": {"percent": 0}}, "usage_warning.percent"),
    ("alerts", {"usage_warning": {"percent": 101}}, "usage_warning.percent"),
    ("alerts", {"report_emails": {"frequency": "hourly"}}, "report_emails.frequency"),
    ("alerts", {"report_emails": {"recipients": ["ops@example.com", "nope"]}},
     "report_emails.recipients.1"),
    ("alerts", {"report_emails": {"recipients": "ops@example.com"}}, "report_emails.recipients"),
]


# A valid change per capability, sent along with the bad value: all-or-nothing
# means it is not written either.
VALID_CHANGE = {
    "channels": {"push": {"enabled": True}},
    "delivery": {"auto_send": False},
    "compliance": {"optin_required": True},
    "tagging": {"customer_tags": ["vip"]},
    "alerts": {"high_demand": {"enabled": True}},
}


@pytest.mark.parametrize("capability, body, field", BAD_VALUES)
async def test_bad_value_is_422_and_nothing_changes(paid_api, capability, body, field):
    fields = await patch_422(paid_api, f"{SETTINGS}/{capability}", {**VALID_CHANGE[capability], **body})
    assert list(fields) == [field]
    assert fields[field] and all(isinstance(m, str) and m for m in fields[field])
    # The same through the top-level PATCH: the path gains the capability.
    fields = await patch_422(paid_api, SETTINGS, {**VALID_CHANGE, capability: body})
    assert list(fields) == [f"{capability}.{field}"]
    assert await read_all(paid_api) == CONTRACT_DEFAULTS


GOOD_VALUES = [
    ("delivery.batch_size", 1), ("delivery.batch_size", 10_000),
    ("delivery.batch_interval_minutes", 0), ("delivery.batch_interval_minutes", 1_440),
    ("delivery.order", "newest_first"), ("delivery.min_restock_quantity", 5),
    ("delivery.location_ids", [1, 2**40]), ("delivery.reminders.after_days", [1, 30]),
    ("delivery.reminders.after_days", [7]),
    ("channels.email.reply_to", "help@example.com"), ("channels.email.sender_name", "Acme Store"),
    ("compliance.sms_allowed_countries", ["US", "CA", "GB"]),
    ("compliance.data_retention_days", 30), ("compliance.data_retention_days", 3_650),
    ("tagging.order_tag.tag", "x" * 40), ("tagging.customer_tags", ["vip", "waitlist 2026"]),
    ("alerts.high_demand.threshold", 1), ("alerts.usage_warning.percent", 100),
    ("alerts.usage_warning.percent", 1), ("alerts.report_emails.frequency", "monthly"),
    ("alerts.report_emails.recipients", ["a@example.com", "b@example.org"]),
]


@pytest.mark.parametrize("path, value", GOOD_VALUES)
async def test_boundary_values_are_accepted(paid_api, path, value):
    capability, *rest = path.split(".")
    body: Any = value
    for key in reversed(rest):
        body = {key: body}
    out = await patch_ok(paid_api, f"{SETTINGS}/{capability}", body)
    assert out == with_change(path, value)[capability]
    assert await read_all(paid_api) == with_change(path, value)


# -- all or nothing ----------------------------------------------------------

async def test_every_error_of_every_block_in_one_422(api):
    fields = await patch_422(api, SETTINGS, {
        "delivery": {"order": "newest_first", "batch_interval_minutes": 5_000, "batch_size": 50},
        "channels": {"sms": {"enabled": True}, "email": {"subject": "{{ price }}"}},
        "compliance": {"data_retention_days": 1, "optin_required": True},
        "alerts": {"report_emails": {"frequency": "hourly", "recipients": ["x"]}},
        "tagging": {"bogus": True},
    })
    # Schema errors and plan errors (free shop: batch_size, SMS) together.
    assert set(fields) == {
        "delivery.batch_interval_minutes", "delivery.batch_size",
        "channels.sms.enabled", "channels.email.subject",
        "compliance.data_retention_days",
        "alerts.report_emails.frequency", "alerts.report_emails.recipients.0",
        "tagging.bogus",
    }
    assert await read_all(api) == CONTRACT_DEFAULTS


async def test_capability_errors_are_relative_to_the_body(api):
    fields = await patch_422(api, f"{SETTINGS}/delivery",
                             {"batch_size": 10, "order": "sideways", "auto_send": False})
    assert set(fields) == {"batch_size", "order"}
    fields = await patch_422(api, f"{SETTINGS}/channels", {"sms": {"enabled": True}})
    assert set(fields) == {"sms.enabled"}
    assert await read_all(api) == CONTRACT_DEFAULTS


# -- templates ---------------------------------------------------------------

async def test_subject_template_syntax_error(api):
    status, out, _ = await api.patch(f"{SETTINGS}/channels",
                                     json={"email": {"subject": "{{ product_title is back"}})
    assert status == 422
    assert "syntax" in " ".join(out["fields"]["email.subject"]).lower()
    assert (await read_all(api))["channels"] == CONTRACT_DEFAULTS["channels"]


async def test_subject_template_unknown_variable(api):
    status, out, _ = await api.patch(f"{SETTINGS}/channels",
                                     json={"email": {"subject": "{{ product_title }} for {{ price }}"}})
    assert status == 422
    message = " ".join(out["fields"]["email.subject"])
    assert "price" in message and "{{ product_title }}" in message


@pytest.mark.parametrize("subject", [
    "{{ product_title.__class__ }}",          # sandbox
    "{{ product_title * 100000000 }}",        # would render gigabytes
    "{% for c in product_title %}{{ c }}{% endfor %}",
    "{{ product_title.center(100000000) }}",
    "{{ product_title|center(100000000) }}",
])
async def test_subject_template_unsafe_constructs_are_refused(api, subject):
    status, out, _ = await api.patch(f"{SETTINGS}/channels", json={"email": {"subject": subject}})
    assert status == 422, out
    assert list(out["fields"]) == ["email.subject"]


async def test_subject_template_with_every_variable_is_accepted(api):
    subject = ("{{ product_title|upper }}{% if variant_title %} ({{ variant_title }}){% endif %} "
               "at {{ shop_name }}: {{ product_url }}")
    out = await patch_ok(api, f"{SETTINGS}/channels", {"email": {"subject": subject}})
    assert out["email"]["subject"] == subject


# -- plan gating -------------------------------------------------------------

async def test_free_plan_cannot_turn_on_batching_or_sms(api):
    fields = await patch_422(api, f"{SETTINGS}/delivery", {"batch_size": 100})
    assert "paid plan" in fields["batch_size"][0]
    fields = await patch_422(api, SETTINGS, {"channels": {"sms": {"enabled": True}}})
    assert "paid plan" in fields["channels.sms.enabled"][0]
    # Turning them off is always allowed.
    await patch_ok(api, SETTINGS, {"delivery": {"batch_size": None},
                                   "channels": {"sms": {"enabled": False}}})
    assert await read_all(api) == CONTRACT_DEFAULTS


async def test_lite_plan_can_turn_on_batching_and_sms(paid_api):
    out = await patch_ok(paid_api, SETTINGS, {"delivery": {"batch_size": 100},
                                              "channels": {"sms": {"enabled": True}}})
    assert out["delivery"]["batch_size"] == 100
    assert out["channels"]["sms"] == {"enabled": True}


async def test_after_a_downgrade_stored_values_stay_and_do_not_block(client, make_shop, pool):
    shop = await make_shop(plan="pro")
    api = Api(client, shop.headers)
    await patch_ok(api, SETTINGS, {"delivery": {"batch_size": 100},
                                   "channels": {"sms": {"enabled": True}}})
    await pool.execute("UPDATE shops SET plan='free' WHERE shop_id=$1", shop.shop_id)

    body = await read_all(api)
    assert body["delivery"]["batch_size"] == 100 and body["channels"]["sms"]["enabled"] is True
    # Other changes go through, the stored values untouched.
    out = await patch_ok(api, f"{SETTINGS}/delivery", {"order": "newest_first"})
    assert out["batch_size"] == 100 and out["order"] == "newest_first"
    # Sending the stored values again unchanged is not a change.
    await patch_ok(api, SETTINGS, {"delivery": {"batch_size": 100, "auto_send": False},
                                   "channels": {"sms": {"enabled": True}}})
    # A different batch size is a change, and the free plan refuses it.
    fields = await patch_422(api, f"{SETTINGS}/delivery", {"batch_size": 50, "auto_send": True})
    assert set(fields) == {"batch_size"}
    assert (await read_all(api))["delivery"]["auto_send"] is False
    # Turning them off is allowed; turning them back on is not.
    await patch_ok(api, SETTINGS, {"delivery": {"batch_size": None},
                                   "channels": {"sms": {"enabled": False}}})
    fields = await patch_422(api, SETTINGS, {"delivery": {"batch_size": 100},
                                             "channels": {"sms": {"enabled": True}}})
    assert set(fields) == {"delivery.batch_size", "channels.sms.enabled"}


# -- keys, shops, concurrency ------------------------------------------------

async def test_read_only_key_can_read_but_not_patch(client, shop, pool):
    key = await admin.create_key(pool, shop.shop_id, read_only=True)
    reader = Api(client, {"X-Auth-Token": key})
    status, body, _ = await reader.get(f"{SETTINGS}/delivery")
    assert status == 200 and body == CONTRACT_DEFAULTS["delivery"]
    for path, payload in ((SETTINGS, {"delivery": {"order": "newest_first"}}),
                          (f"{SETTINGS}/delivery", {"order": "newest_first"})):
        status, out, _ = await reader.patch(path, json=payload)
        assert status == 403, out
        assert out["errors"]
    assert await read_all(reader) == CONTRACT_DEFAULTS


async def test_another_shop_does_not_see_the_changes(api, client, make_shop):
    await patch_ok(api, SETTINGS, {"delivery": {"order": "newest_first"},
                                   "tagging": {"customer_tags": ["vip"]}})
    other = Api(client, (await make_shop()).headers)
    assert await read_all(other) == CONTRACT_DEFAULTS
    await patch_ok(other, f"{SETTINGS}/alerts", {"high_demand": {"threshold": 3}})
    mine = await read_all(api)
    assert mine["alerts"] == CONTRACT_DEFAULTS["alerts"]
    assert mine["delivery"]["order"] == "newest_first"


async def test_concurrent_patches_of_different_fields_all_survive(api):
    changes = {
        "delivery.order": "newest_first",
        "delivery.auto_send": False,
        "delivery.min_restock_quantity": 4,
        "delivery.batch_interval_minutes": 15,
        "compliance.optin_required": True,
        "alerts.high_demand.threshold": 9,
        "channels.email.sender_name": "Acme",
        "tagging.order_tag.tag": "restocked",
    }

    def body(path: str, value: Any) -> dict[str, Any]:
        out: Any = value
        for key in reversed(path.split(".")):
            out = {key: out}
        return out

    results = await asyncio.gather(*(api.patch(SETTINGS, json=body(p, v)) for p, v in changes.items()))
    assert [status for status, _, _ in results] == [200] * len(changes)
    final = await read_all(api)
    for path, value in changes.items():
        node: Any = final
        for key in path.split("."):
            node = node[key]
        assert node == value, path


# -- /help -------------------------------------------------------------------

async def test_help_lists_the_twelve_settings_actions_with_their_schemas(api):
    status, body, _ = await api.get("/help", params={"prefix": SETTINGS})
    assert status == 200
    actions = {a["name"]: a for a in body["actions"]}
    expected = {"back_in_stock_settings_read": ("GET", SETTINGS),
                "back_in_stock_settings_update": ("PATCH", SETTINGS)}
    for capability in CAPABILITIES:
        expected[f"back_in_stock_settings_{capability}_read"] = ("GET", f"{SETTINGS}/{capability}")
        expected[f"back_in_stock_settings_{capability}_update"] = ("PATCH", f"{SETTINGS}/{capability}")
    assert {name: (a["method"], a["path"]) for name, a in actions.items()} == expected

    for name, action in actions.items():
        assert action["description"]
        assert action["path_params"] == []
        if action["method"] == "PATCH":
            assert "merge deeply" in action["notes"] and "all-or-nothing" in action["notes"].lower()
            assert action["request_schema"]["additionalProperties"] is False
            assert "required" not in action["request_schema"]  # deep-partial
        else:
            assert action["request_schema"]["properties"] == {}

    top = actions["back_in_stock_settings_update"]["request_schema"]["properties"]
    assert set(top) == set(CAPABILITIES)
    assert top["delivery"]["properties"]["batch_size"]["type"] == ["integer", "null"]

    delivery = actions["back_in_stock_settings_delivery_update"]["request_schema"]["properties"]
    assert set(delivery) == set(CONTRACT_DEFAULTS["delivery"])
    assert delivery["batch_size"]["type"] == ["integer", "null"]
    assert (delivery["batch_size"]["minimum"], delivery["batch_size"]["maximum"]) == (1, 10_000)
    assert delivery["order"]["enum"] == ["oldest_first", "newest_first"]
    assert delivery["reminders"]["properties"]["after_days"]["maxItems"] == 2
    assert delivery["reminders"]["additionalProperties"] is False

    channels = actions["back_in_stock_settings_channels_update"]["request_schema"]["properties"]
    assert channels["email"]["properties"]["reply_to"]["type"] == ["string", "null"]
    assert channels["email"]["properties"]["subject"]["type"] == "string"
    assert channels["sms"]["properties"]["enabled"]["type"] == "boolean"

    compliance = actions["back_in_stock_settings_compliance_update"]["request_schema"]["properties"]
    assert compliance["data_retention_days"]["type"] == ["integer", "null"]
    assert compliance["data_retention_days"]["minimum"] == 30
    alerts = actions["back_in_stock_settings_alerts_update"]["request_schema"]["properties"]
    assert alerts["report_emails"]["properties"]["frequency"]["enum"] == ["off", "daily", "weekly", "monthly"]
    assert alerts["usage_warning"]["properties"]["percent"]["maximum"] == 100
    for capability in CAPABILITIES:
        props = actions[f"back_in_stock_settings_{capability}_update"]["request_schema"]["properties"]
        assert set(props) == set(CONTRACT_DEFAULTS[capability])
