"""Typed rows in the dispatcher: no row, shop, job or settings object is typed
Any, and every typed row says truly which columns its query returns.

- The dispatcher's annotations name no Any (nor a bare dict, list, tuple or
  Mapping, which are Any inside) but arq's ctx (dispatcher.runtime.ArqContext,
  listed here); external JSON is shared_models.payload.JsonObject, whose
  values are read field by field. Every parameter is annotated.
- Every `record_class=` in the dispatcher is found in the source, its query
  prepared on the test database and the columns PostgreSQL describes compared
  with the class's `columns` (names and order). The queries that build a Shop
  or a WebhookEvent with from_row are listed here and checked the same way.
- Rows read from a real restock have values of their declared types.
- The Settings TypedDicts mirror DEFAULTS."""
from __future__ import annotations

import ast
import dataclasses
import importlib
import types
import typing
import uuid
from pathlib import Path

from dispatcher import attempts, reminders, report_emails, targets
from dispatcher.runner import run_job
from dispatcher.runtime import Tuning
from dispatcher.webhooks import catalog, process, reinstall
from dispatcher.webhooks.process import process_webhook
from dispatcher.worker import build_runtime, close_runtime
from shared_models import rows as rows_package
from shared_models.context import SHOP_COLUMNS, SHOP_WITH_OVERRIDES, Shop, read_shop
from shared_models.rows import Row
from shared_models.rows.sending import JobRow, LatestAttemptRow, SignupRow
from shared_models.rows.webhooks import VariantRow, WebhookEvent
from shared_models.settings import DEFAULTS, Settings
from tests.dispatch_support import create_signup
from tests.shopify import inventory_update, send_webhook

# (module, type alias): arq's ctx is arq's dict, its keys arq's and ours.
ANY_ALLOWED = {("dispatcher/runtime.py", "ArqContext")}
BARE = {"Any", "dict", "list", "tuple", "Mapping", "Sequence", "Iterable"}
# The queries whose rows go through Shop.from_row or WebhookEvent.from_row.
FROM_ROW = [
    (SHOP_WITH_OVERRIDES, (*SHOP_COLUMNS, "settings_overrides")),
    (reinstall.REINSTALL, (*SHOP_COLUMNS, "settings_overrides")),
    (reminders.SHOPS, (*SHOP_COLUMNS, "settings_overrides")),
    (report_emails.SHOPS, (*SHOP_COLUMNS, "settings_overrides")),
    (process.OLDEST_EVENT, tuple(f.name for f in dataclasses.fields(WebhookEvent))),
    (process.CLAIM_EVENT, tuple(f.name for f in dataclasses.fields(WebhookEvent))),
]


def _dispatcher_modules(repo_root: Path) -> list[tuple[str, ast.Module]]:
    return [(str(path.relative_to(repo_root)), ast.parse(path.read_text(), str(path)))
            for path in sorted((repo_root / "dispatcher").rglob("*.py"))]


def _untyped(annotation: ast.expr) -> list[str]:
    """The names in `annotation` that stand for Any: Any itself, or a bare container."""
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):  # "Quoted"
        annotation = ast.parse(annotation.value, mode="eval").body
    found = []
    for node in ast.walk(annotation):
        name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None
        if name == "Any":
            found.append(name)
        elif name in BARE and not any(isinstance(p, ast.Subscript) and p.value is node for p in ast.walk(annotation)):
            found.append(name)
    return found


def test_no_dispatcher_annotation_is_any(repo_root):
    found = []
    for rel, tree in _dispatcher_modules(repo_root):
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                a = node.args
                for arg in [*a.posonlyargs, *a.args, *a.kwonlyargs, *filter(None, (a.vararg, a.kwarg))]:
                    if arg.arg in ("self", "cls"):
                        continue
                    if arg.annotation is None:
                        found.append(f"{rel}:{node.lineno} {node.name}({arg.arg}) is not annotated")
                    elif _untyped(arg.annotation):
                        found.append(f"{rel}:{node.lineno} {node.name}({arg.arg}: {ast.unparse(arg.annotation)})")
                if node.returns is not None and _untyped(node.returns):
                    found.append(f"{rel}:{node.lineno} {node.name} -> {ast.unparse(node.returns)}")
            elif isinstance(node, ast.AnnAssign) and _untyped(node.annotation):
                found.append(f"{rel}:{node.lineno} {ast.unparse(node.target)}: {ast.unparse(node.annotation)}")
            elif (isinstance(node, ast.Assign) and isinstance(node.value, ast.Subscript)
                  and isinstance(node.value.value, ast.Name) and node.value.value.id in BARE | {"Callable"}
                  and _untyped(node.value) and (rel, ast.unparse(node.targets[0])) not in ANY_ALLOWED):  # an alias
                found.append(f"{rel}:{node.lineno} {ast.unparse(node.targets[0])} = {ast.unparse(node.value)}")
    assert found == []


def _typed_fetches(repo_root: Path) -> list[tuple[str, str, str]]:
    """(module, query expression, class expression) of every record_class= call."""
    out = []
    for rel, tree in _dispatcher_modules(repo_root):
        module = rel[:-3].replace("/", ".")
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                for kw in node.keywords:
                    if kw.arg == "record_class":
                        out.append((module, ast.unparse(node.args[0]), ast.unparse(kw.value)))
    return out


async def _described(pool, sql: str) -> tuple[str, ...]:
    """The columns PostgreSQL says the query returns (prepared, not run)."""
    async with pool.acquire() as conn:
        return tuple(a.name for a in (await conn.prepare(sql)).get_attributes())


async def test_every_typed_row_has_its_querys_columns(repo_root, pool):
    fetches = _typed_fetches(repo_root)
    assert len(fetches) >= 15  # the finder works
    checked = set()
    for module, query, cls in fetches:
        namespace = vars(importlib.import_module(module))
        sql, row_type = eval(query, namespace), eval(cls, namespace)  # names of the module, as written there
        assert issubclass(row_type, Row) and "__slots__" in vars(row_type)
        assert await _described(pool, sql) == row_type.columns, f"{module}: {query} read as {cls}"
        checked.add(row_type)
    for sql, columns in FROM_ROW:
        assert await _described(pool, sql) == columns
    # One owner per row shape: every row class is some query's, and no two have the same columns.
    declared = {cls for module in ("sending", "webhooks", "shopify")
                for cls in vars(importlib.import_module(f"{rows_package.__name__}.{module}")).values()
                if isinstance(cls, type) and issubclass(cls, Row) and cls is not Row}
    assert declared == checked
    shapes = [cls.columns for cls in declared]
    assert len(shapes) == len(set(shapes))


def _conforms(value: object, hint: object) -> bool:
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        return any(_conforms(value, h) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if origin is list:
        (item,) = typing.get_args(hint)
        return isinstance(value, list) and all(_conforms(v, item) for v in value)
    if origin is dict:
        return isinstance(value, dict)
    if hint is object:
        return True
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, typing.cast(type, hint))


def _check(row: Row) -> None:
    hints = typing.get_type_hints(type(row))
    for name in row.columns:
        assert getattr(row, name) is row[name] or getattr(row, name) == row[name]
        assert _conforms(row[name], hints[name]), f"{type(row).__name__}.{name} = {row[name]!r}: not {hints[name]}"


async def test_rows_of_a_real_restock_have_their_declared_types(client, api, pool, shop, providers):
    await create_signup(api, shop, email="a@example.com")
    await create_signup(api, shop, channel="sms", email=None, phone="+14155550123")
    webhook_id = str(uuid.uuid4())
    assert (await send_webhook(client, shop, "inventory_levels/update", inventory_update(7001, 5),
                               webhook_id=webhook_id))[0] == 200
    event = WebhookEvent.from_row(await pool.fetchrow(process.CLAIM_EVENT, shop.shop_id, webhook_id))
    assert event.topic == "inventory_levels/update" and event.payload["available"] == 5
    rt = await build_runtime(providers.config, Tuning(chunk_size=50))
    try:
        assert await process_webhook(rt, shop.shop_id, webhook_id) == "restock"
        job_id = await pool.fetchval("SELECT job_id FROM jobs WHERE shop_id = $1", shop.shop_id)
        job = await pool.fetchrow(targets.JOB, shop.shop_id, job_id, record_class=JobRow)
        assert await run_job(rt, shop.shop_id, job_id) == "chunk"
    finally:
        await close_runtime(rt)
    _check(job)
    ids = [r["signup_id"] for r in await pool.fetch("SELECT signup_id FROM signups WHERE shop_id = $1", shop.shop_id)]
    signups = await pool.fetch(attempts.LOAD_SIGNUPS, shop.shop_id, ids, record_class=SignupRow)
    assert len(signups) == 2
    for row in signups:
        _check(row)
    keys = [attempts.send_key(job_id, i) for i in ids]
    latest = await pool.fetch(attempts.LATEST_ATTEMPTS, shop.shop_id, keys, record_class=LatestAttemptRow)
    assert sorted(r.status for r in latest) == ["blocked", "sent"]  # SMS is off by default
    for row in latest:
        _check(row)
    async with pool.acquire() as conn, conn.transaction():
        _check(await conn.fetchrow(catalog.VARIANT, shop.shop_id, 4001, record_class=VariantRow))
    read = await read_shop(pool, shop.shop_id)
    assert read is not None and read.shop_id == shop.shop_id and read.uninstalled_at is None
    assert read.sending_settings["channels"]["sms"]["enabled"] is False


def _keys(hint: object, value: object, path: str) -> list[str]:
    """Where a TypedDict and a document differ (keys, or a leaf's type)."""
    if typing.is_typeddict(hint):
        if not isinstance(value, dict):
            return [path]
        fields = typing.get_type_hints(hint)
        if set(fields) != set(value):
            return [f"{path}: {sorted(set(fields) ^ set(value))}"]
        return [p for k in fields for p in _keys(fields[k], value[k], f"{path}.{k}")]
    return [] if _conforms(value, hint) else [f"{path}: {value!r} is not {hint}"]


def test_settings_typeddicts_mirror_defaults():
    assert _keys(Settings, DEFAULTS, "settings") == []
