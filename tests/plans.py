"""What an EXPLAIN (FORMAT JSON) plan reads, for tests asserting index use.

Matching the plan tree's node fields instead of EXPLAIN's text keeps plan
tests stable across PostgreSQL versions and cost changes that only reword or
reorder the text output.
"""
from __future__ import annotations

import json
from typing import Iterator


def _nodes(node: dict) -> Iterator[dict]:
    yield node
    for child in node.get("Plans", ()):
        yield from _nodes(child)


async def explain(conn, sql: str, *args) -> dict:
    """The plan tree's root node of `sql` (conn: asyncpg connection or pool)."""
    raw = await conn.fetchval("EXPLAIN (FORMAT JSON) " + sql, *args)
    return (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]


def indexes_used(plan: dict) -> set[str]:
    return {n["Index Name"] for n in _nodes(plan) if "Index Name" in n}


def seq_scanned(plan: dict) -> set[str]:
    return {n.get("Relation Name", "") for n in _nodes(plan) if n.get("Node Type") == "Seq Scan"}


def node_types(plan: dict) -> set[str]:
    return {n["Node Type"] for n in _nodes(plan)}


def render(plan: dict) -> str:
    return json.dumps(plan, indent=1)
