"""Byte-level fuzzing of a real `backinstock api` process over raw sockets.

schemathesis (test_schemathesis.py) only generates valid strings and headers;
these requests carry what it never sends: raw non-UTF-8 bytes in headers,
NUL characters in every kind of string, dates at the calendar's ends, subject
templates that break Jinja, integers beyond 32 bits. Each must get a 4xx in the
error envelope, or for a webhook be recorded (and ignored), never a 500."""
from __future__ import annotations

import json
import socket
import uuid
from dataclasses import dataclass

import asyncpg
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api_service.webhooks.verify import signature
from tests.api_process import ApiProcess, cli_json
from tests.conftest import RUN_ID, with_database
from tests.factories import signup_body

V2 = "/api/v2/external/back_in_stock"
V1 = "/api/v1/external/intents"
BAD = b"\xff\xfe\x80abc\xc3("  # not UTF-8


@dataclass
class Served:
    port: int
    key: str
    domain: str
    secret: str
    dsn: str


@dataclass
class Answer:
    status: int
    body: bytes

    def json(self):
        return json.loads(self.body)


def raw_http(port: int, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes = b"") -> Answer:
    """One request written byte for byte (no client library re-encodes anything)."""
    head = [f"{method} {path} HTTP/1.1".encode(), b"Host: 127.0.0.1", b"Connection: close",
            b"Content-Length: " + str(len(body)).encode()]
    head += [name + b": " + value for name, value in headers]
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"\r\n".join(head) + b"\r\n\r\n" + body)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    status_line, _, rest = data.partition(b"\r\n")
    _, _, payload = rest.partition(b"\r\n\r\n")
    return Answer(int(status_line.split()[1]), payload)


def assert_envelope(answer: Answer, *statuses: int) -> dict:
    assert answer.status in (statuses or range(400, 500)), (answer.status, answer.body[:500])
    body = answer.json()
    assert isinstance(body["errors"], list) and body["errors"], body
    return body


@pytest_asyncio.fixture(scope="module")
async def served(pg_base_url, template_db, redis_url, tmp_path_factory):
    name = f"bis_fuzz_{RUN_ID}"
    admin = await asyncpg.connect(pg_base_url)
    await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
    unlimited = {"RATE_PER_SECOND": "100000", "RATE_BURST": "100000"}
    env = {"DATABASE_URL": with_database(pg_base_url, name), "REDIS_URL": redis_url,
           "SECRET_KEY": "test-secret-fuzz-bytes-0123456789abcdef",
           **{f"RATE_LIMIT_{k[5:]}": v for k, v in unlimited.items()},
           **{f"STOREFRONT_{scope}_{k}": v for scope in ("SHOP", "ADDRESS", "CONTACT") for k, v in unlimited.items()}}
    api = ApiProcess(env, tmp_path_factory.mktemp("fuzz") / "api.log")
    try:
        api.start()
        shop = cli_json(env, "shops", "create", "--domain", f"fz-{uuid.uuid4().hex[:8]}.myshopify.com",
                        "--plan", "pro")
        yield Served(api.port, shop["api_key"], shop["domain"], shop["webhook_secret"], env["DATABASE_URL"])
        assert api.stop() == 0, api.log()
        assert "Traceback" not in api.log(), api.log()
        assert shop["api_key"] not in api.log() and shop["api_key"][4:20] not in api.log(), api.log()
    finally:
        api.stop()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def keyed(served: Served, *extra: tuple[bytes, bytes]) -> list[tuple[bytes, bytes]]:
    return [(b"X-Auth-Token", served.key.encode()), (b"Content-Type", b"application/json"), *extra]


def post_json(served: Served, path: str, body, *extra: tuple[bytes, bytes], method: str = "POST") -> Answer:
    return raw_http(served.port, method, path, keyed(served, *extra), json.dumps(body).encode())


# -- raw bytes in headers ---------------------------------------------------

def test_non_utf8_api_key_is_400(served):
    assert_envelope(raw_http(served.port, "GET", V2 + "/signups", [(b"X-Auth-Token", BAD)]), 400)
    assert_envelope(raw_http(served.port, "GET", V2 + "/signups", [(b"Authorization", b"Bearer " + BAD)]), 400)


def test_non_utf8_shop_domain_is_4xx(served):
    body = json.dumps({"intent": {"shopify_variant_id": 1, "shopify_product_id": 2, "channel": "email"},
                       "customer": {"email": "a@example.com"}}).encode()
    answer = raw_http(served.port, "POST", "/api/v1/intents.json",
                      [(b"X-Shopify-Shop-Domain", BAD + b".myshopify.com"), (b"Content-Type", b"application/json")],
                      body)
    assert_envelope(answer, 400, 404)
    answer = raw_http(served.port, "POST", "/webhooks/shopify",
                      [(b"X-Shopify-Shop-Domain", BAD), (b"X-Shopify-Topic", b"products/update"),
                       (b"X-Shopify-Webhook-Id", b"w1"), (b"X-Shopify-Hmac-Sha256", b"x")], b"{}")
    assert_envelope(answer, 400, 401)


def test_non_utf8_idempotency_key_is_4xx(served):
    body = signup_body(variant_id=7001, email="idem-bytes@example.com")
    answer = post_json(served, V2 + "/signups", body, (b"Idempotency-Key", BAD))
    assert_envelope(answer, 400, 422)


def test_non_utf8_in_other_headers_is_not_a_500(served):
    for name in (b"Origin", b"X-Shopify-Topic", b"X-Shopify-Webhook-Id", b"X-Shopify-Hmac-Sha256",
                 b"X-Request-Id", b"Accept", b"User-Agent"):
        answer = raw_http(served.port, "GET", V2 + "/signups", keyed(served, (name, BAD)))
        assert answer.status < 500, (name, answer.status, answer.body[:300])


def test_raw_nul_and_control_bytes_in_headers_are_400_and_not_echoed(served):
    """Refused by aiohttp's parser, before any middleware: still the envelope,
    and the bytes (here an API key) are neither echoed nor logged."""
    for value in (served.key.encode() + b"\x00", b"a\x01b" + served.key.encode(), served.key.encode() + b"\x7f"):
        answer = raw_http(served.port, "GET", V2 + "/signups", [(b"X-Auth-Token", value)])
        body = assert_envelope(answer, 400)
        assert body == {"errors": ["Malformed HTTP request: Bad Request"]}, body
    answer = raw_http(served.port, "GET", V2 + "/signups", [(b"X-Shopify-Topic\x00", b"x")])
    assert_envelope(answer, 400)


# -- NUL characters ---------------------------------------------------------


@pytest.mark.parametrize("path", ["/u/abc%00", "/t/%00", "/optin/x%00y", V2 + "/signups/%00",
                                  "/api/v2/external/jobs/%00", V2 + "/notifications/a%00"])
def test_nul_in_a_path_is_4xx(served, path):
    for method in ("GET", "POST"):
        answer = raw_http(served.port, method, path, keyed(served))
        assert 400 <= answer.status < 500, (method, path, answer.status, answer.body[:300])

NUL_BODIES = {
    "name": lambda: signup_body(variant_id=7002, email="nul1@example.com", name="A\u0000n"),
    "push_token": lambda: signup_body(variant_id=7003, channel="push", email=None, push_token="tok\u0000en"),
    "product.title": lambda: signup_body(variant_id=7004, email="nul3@example.com",
                                         product={"title": "Linen\u0000shirt"}),
    "product.sku": lambda: signup_body(variant_id=7005, email="nul4@example.com", product={"sku": "\u0000"}),
    "source": lambda: signup_body(variant_id=7006, email="nul5@example.com", source="api\u0000"),
    "customer.email": lambda: signup_body(variant_id=7007, email="nu\u0000l@example.com"),
    "key\u0000": lambda: {**signup_body(variant_id=7008, email="nul7@example.com"), "key\u0000": 1},
}


@pytest.mark.parametrize("field", sorted(NUL_BODIES))
def test_nul_in_a_signup_body_is_422(served, field):
    body = assert_envelope(post_json(served, V2 + "/signups", NUL_BODIES[field]()), 422)
    assert any("NUL" in m for m in body["errors"]), body


def test_nul_in_settings_is_422(served):
    for path, body in ((V2 + "/settings/tagging", {"customer_tags": ["vip\u0000"]}),
                       (V2 + "/settings/tagging", {"order_tag": {"tag": "x\u0000y"}}),
                       (V2 + "/settings/channels", {"email": {"subject": "Back: {{ product_title }}\u0000"}}),
                       (V2 + "/settings/channels", {"email": {"sender_name": "Acme\u0000"}}),
                       (V2 + "/settings", {"tagging": {"customer_tags": ["\u0000"]}})):
        assert_envelope(post_json(served, path, body, method="PATCH"), 422)


def test_nul_in_storefront_body_is_422(served):
    body = {"intent": {"shopify_variant_id": 7010, "shopify_product_id": 9010, "channel": "email"},
            "customer": {"email": "sf@example.com", "first_name": "\u0000"},
            "product": {"title": "T\u0000"}}
    answer = raw_http(served.port, "POST", "/api/v1/intents.json",
                      [(b"X-Shopify-Shop-Domain", served.domain.encode()), (b"Content-Type", b"application/json")],
                      json.dumps(body).encode())
    assert_envelope(answer, 422)


@pytest.mark.parametrize("query", ["email=a%00b", "phone=%2B1%00", "status=waiting%00", "from=2026-01-01%00",
                                   "channel=%00"])
def test_nul_in_list_filters_is_422(served, query):
    body = assert_envelope(raw_http(served.port, "GET", f"{V2}/signups?{query}", keyed(served)), 422)
    assert any("NUL" in m for m in body["errors"]), body
    v1 = query.replace("from=", "start_date=")
    body = assert_envelope(raw_http(served.port, "GET", f"{V1}?{v1}", keyed(served)), 422)
    assert any("NUL" in m for m in body["errors"]), body


def test_nul_in_a_bulk_filter_is_422(served):
    answer = post_json(served, V2 + "/signups/bulk_notify", {"filter": {"email": "a\u0000"}})
    assert_envelope(answer, 422)


def _webhook(served: Served, topic: str, raw: bytes, webhook_id: str) -> Answer:
    return raw_http(served.port, "POST", "/webhooks/shopify", [
        (b"X-Shopify-Shop-Domain", served.domain.encode()), (b"X-Shopify-Topic", topic.encode()),
        (b"X-Shopify-Webhook-Id", webhook_id.encode()), (b"Content-Type", b"application/json"),
        (b"X-Shopify-Hmac-Sha256", signature(served.secret, raw).encode())], raw)


async def test_nul_in_a_signed_webhook_is_recorded_and_ignored(served):
    cases = {"nul-title": ("products/update", {"id": 1, "title": "Linen\u0000", "variants": []}),
             "nul-key": ("inventory_levels/update", {"inventory_item_id": 1, "location_id": 1, "\u0000": 1}),
             "nul-nested": ("orders/create", {"id": 5, "line_items": [{"title": ["\u0000"]}]})}
    for webhook_id, (topic, payload) in cases.items():
        answer = _webhook(served, topic, json.dumps(payload).encode(), webhook_id)
        assert answer.status == 200, answer.body
    conn = await asyncpg.connect(served.dsn)
    try:
        rows = await conn.fetch("SELECT webhook_id, processed_at, outcome FROM webhook_events "
                                "WHERE webhook_id LIKE 'nul-%' ORDER BY webhook_id")
    finally:
        await conn.close()
    assert [r["webhook_id"] for r in rows] == sorted(cases)
    assert all(r["processed_at"] is not None and r["outcome"].startswith("ignored") for r in rows), rows


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00",
                                  "9999-12-31T23:59:59.999999Z"])
def test_webhook_times_at_the_calendars_ends_are_not_a_500(served, when):
    raw = json.dumps({"inventory_item_id": 1, "location_id": 1, "available": 1, "updated_at": when}).encode()
    answer = raw_http(served.port, "POST", "/webhooks/shopify", [
        (b"X-Shopify-Shop-Domain", served.domain.encode()), (b"X-Shopify-Topic", b"inventory_levels/update"),
        (b"X-Shopify-Webhook-Id", f"t-{when}".encode()), (b"X-Shopify-Triggered-At", when.encode()),
        (b"X-Shopify-Hmac-Sha256", signature(served.secret, raw).encode())], raw)
    assert answer.status in (200, 401), answer.body


def test_lone_surrogate_escape_in_json_is_4xx(served):
    raw = json.dumps(signup_body(variant_id=7011, email="sur@example.com")).replace('"Ann"', '"\\ud800"')
    assert_envelope(raw_http(served.port, "POST", V2 + "/signups", keyed(served), raw.encode()), 400, 422)


# -- dates at the calendar's ends -------------------------------------------

DATES = ["to=9999-12-31", "to=9999-12-31T23:59:59.999999Z", "from=0001-01-01T00:00:00%2B14:00",
         "from=0001-01-01", "to=0001-01-01T00:00:00-14:00", "from=9999-12-31T23:59:59-14:00"]


@pytest.mark.parametrize("query", DATES)
def test_dates_out_of_range_are_422(served, query):
    for path in (V2 + "/signups", V2 + "/notifications", V2 + "/reports/summary", V2 + "/reports/signups"):
        assert_envelope(raw_http(served.port, "GET", f"{path}?{query}", keyed(served)), 422)
    v1 = query.replace("from=", "start_date=").replace("to=", "end_date=")
    for path in (V1, V1 + "/products_in_demand"):
        assert_envelope(raw_http(served.port, "GET", f"{path}?{v1}", keyed(served)), 422)


# -- templates --------------------------------------------------------------

SUBJECTS = ["{% if product_title %}" * 120 + "x" + "{% endif %}" * 120,
            "{{ " + "(" * 120 + "product_title" + ")" * 120 + " }}",
            "{{ product_title|truncate(5, true, '..........') }}",
            "{{ product_title|truncate(-1) }}",
            "{{ product_title|truncate(10**30) }}",
            "{{ product_title|truncate(5, true, 5) }}",
            "{{ product_title[99] }}",
            "{{ variant_title[0] }}",
            "{{ shop_name[1] }}"]


@pytest.mark.parametrize("subject", SUBJECTS, ids=range(len(SUBJECTS)))
def test_subject_templates_that_break_jinja_are_422(served, subject):
    answer = post_json(served, V2 + "/settings/channels", {"email": {"subject": subject}}, method="PATCH")
    body = assert_envelope(answer, 422)
    assert "channels.email.subject" in json.dumps(body["fields"]) or "email.subject" in json.dumps(body), body


# -- numbers ----------------------------------------------------------------

async def test_inventory_available_beyond_32_bits_is_accepted_for_the_record(served):
    raw = json.dumps({"inventory_item_id": 1, "location_id": 1, "available": 2**40,
                      "updated_at": "2026-11-26T10:00:00Z"}).encode()
    assert _webhook(served, "inventory_levels/update", raw, "big-available").status == 200
    raw = b'{"inventory_item_id": 1, "location_id": 1, "available": 1' + b"0" * 400 + b"}"
    assert _webhook(served, "inventory_levels/update", raw, "huge-available").status in (200, 400)


def test_integers_beyond_64_bits_are_422(served):
    for body in (signup_body(variant_id=2**64, email="big@example.com"),
                 signup_body(variant_id=7012, email="q@example.com", quantity=2**40)):
        assert_envelope(post_json(served, V2 + "/signups", body), 422)


# -- idempotency ------------------------------------------------------------

def test_an_idempotency_key_first_used_with_an_invalid_body_stays_bound_to_it(served):
    key = (b"Idempotency-Key", f"k-{uuid.uuid4()}".encode())
    invalid = signup_body(variant_id=7020, email="not-an-email")
    first = assert_envelope(post_json(served, V2 + "/signups", invalid, key), 422)
    replay = post_json(served, V2 + "/signups", invalid, key)
    assert replay.status == 422 and replay.json() == first
    other = post_json(served, V2 + "/signups", signup_body(variant_id=7020, email="valid@example.com"), key)
    body = assert_envelope(other, 422)
    assert any("Idempotency-Key" in m for m in body["errors"]), body
    malformed_key = (b"Idempotency-Key", f"k-{uuid.uuid4()}".encode())
    assert raw_http(served.port, "POST", V2 + "/signups", keyed(served, malformed_key), b"{nope").status == 400
    valid = post_json(served, V2 + "/signups", signup_body(variant_id=7021, email="v2@example.com"), malformed_key)
    assert_envelope(valid, 422)


# -- random bytes -----------------------------------------------------------

# Header values as llhttp passes them on (no CR/LF, which would end the header):
# any other byte, NUL and 0x80-0xFF included.
HEADER_BYTES = st.binary(min_size=1, max_size=80).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"") or b"x")
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40) | st.sampled_from(
    ["\u0000", "a\u0000b", "\u202e", "\ufeff", "9999-12-31", "0001-01-01T00:00:00+14:00"])
JSON = st.recursive(st.none() | st.booleans() | st.integers() | TEXT,
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
                    max_leaves=12)


def _answered(answer: Answer) -> None:
    assert answer.status < 500, (answer.status, answer.body[:300])
    if answer.status >= 400:
        assert_envelope(answer)


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(name=st.sampled_from([b"X-Auth-Token", b"X-Shopify-Shop-Domain", b"Idempotency-Key", b"Origin",
                             b"X-Shopify-Webhook-Id", b"X-Shopify-Topic", b"X-Shopify-Triggered-At"]),
       value=HEADER_BYTES,
       path=st.sampled_from([V2 + "/signups", "/api/v1/intents.json", "/webhooks/shopify", V1]))
def test_random_header_bytes_never_500(served, name, value, path):
    body = json.dumps(signup_body(variant_id=7100, email="fuzz@example.com")).encode()
    headers = [(b"X-Shopify-Shop-Domain", served.domain.encode())] if name != b"X-Shopify-Shop-Domain" else []
    _answered(raw_http(served.port, "POST", path, keyed(served, *headers, (name, value)), body))


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(field=st.sampled_from(["customer", "product", "source", "channel", "quantity", "variant_id", "extra"]),
       value=JSON)
def test_random_json_in_a_signup_never_500(served, field, value):
    body = signup_body(variant_id=7101, email="rnd@example.com")
    body[field] = value
    _answered(post_json(served, V2 + "/signups", body))
    _answered(post_json(served, V2 + "/settings/tagging", {"customer_tags": [value]}, method="PATCH"))
