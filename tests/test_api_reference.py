"""docs/API.md, the project's own API reference, kept true against /help:
every action the running service lists is named with its method and path,
and nothing named like an action or a v2 path is stale."""
from __future__ import annotations

import json
import re

import pytest

NAMED = re.compile(r"`((?:back_in_stock|jobs)_[a-z0-9_]+)`")
ROW = re.compile(r"^\| `([a-z0-9_]+)` \| (GET|POST|PATCH|PUT|DELETE) (/\S+) \|$", re.M)
V2_PATH = re.compile(r"\b(GET|POST|PATCH|PUT|DELETE) (/(?:back_in_stock|jobs)[^\s`|)\"]*)")
UNMATCHED_EXAMPLE = "POST /back_in_stock/foo"  # the reference's example of a route that is no action


@pytest.fixture
def reference(repo_root) -> str:
    return (repo_root / "docs" / "API.md").read_text()


async def test_every_action_is_named_with_its_method_and_path(api, reference):
    status, body, _ = await api.get("/help")
    assert status == 200
    table = {name: f"{method} {path}" for name, method, path in ROW.findall(reference)}
    for action in body["actions"]:
        assert table.get(action["name"]) == f"{action['method']} {action['path']}", action["name"]
    assert len(table) == len(body["actions"])


async def test_nothing_stale(api, reference):
    _, body, _ = await api.get("/help")
    names = {a["name"] for a in body["actions"]}
    routes = {f"{a['method']} {a['path']}" for a in body["actions"]}
    scopes = {f"GET /{a['path'].strip('/').split('/')[0]}/help" for a in body["actions"]}
    assert set(NAMED.findall(reference)) - names == set()
    stale = {f"{m} {p}" for m, p in V2_PATH.findall(reference)} - routes - scopes - {UNMATCHED_EXAMPLE}
    assert stale == set()


async def test_the_v1_table_matches_the_aliases(api, reference):
    _, body, _ = await api.get("/help")
    aliases = {alias: a["name"] for a in body["actions"] for alias in a["aliases"]}
    rows = dict(re.findall(r"^\| ((?:GET|POST|DELETE) /api/v1/\S+) \| `([a-z0-9_]+)` \|$", reference, re.M))
    assert rows == aliases


async def test_the_settings_defaults_are_a_new_shops(api, reference):
    section = reference[reference.index("### Settings"):reference.index("### Reports")]
    start = section.index("```json\n") + len("```json\n")
    block = section[start:section.index("\n```", start)]
    status, body, _ = await api.get("/back_in_stock/settings")
    assert status == 200 and json.loads(block) == body


async def test_readme_and_openapi_point_at_it(repo_root, client):
    assert "(docs/API.md)" in (repo_root / "README.md").read_text()
    spec = await (await client.get("/api/v2/external/openapi.json")).json()
    assert "docs/API.md" in spec["info"]["description"]
