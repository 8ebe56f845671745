"""The schema stays distributable by shop: every tenant table's primary key and
unique constraints start with shop_id, every foreign key carries it, and
sql/citus/distribute.sql names every table."""
from __future__ import annotations

import re

import pytest

REFERENCE = {"shops", "api_keys"}
NOT_TENANT = {"schema_migrations"}

TABLES = "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
# Every unique index (primary keys and unique constraints included), with its columns in order.
UNIQUE_INDEXES = """
SELECT t.relname AS table_name, i.relname AS index_name,
       array_agg(a.attname ORDER BY k.n) AS columns
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_namespace ns ON ns.oid = t.relnamespace AND ns.nspname = 'public'
CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, n)
LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
WHERE x.indisunique
GROUP BY 1, 2
"""
FOREIGN_KEYS = """
SELECT c.conname, t.relname AS table_name, r.relname AS referenced,
       array_agg(a.attname ORDER BY k.n) AS columns
FROM pg_constraint c
JOIN pg_class t ON t.oid = c.conrelid
JOIN pg_class r ON r.oid = c.confrelid
JOIN pg_namespace ns ON ns.oid = t.relnamespace AND ns.nspname = 'public'
CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, n)
JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
WHERE c.contype = 'f'
GROUP BY 1, 2, 3
"""


@pytest.fixture
async def tables(pool):
    return {r["tablename"] for r in await pool.fetch(TABLES)} - NOT_TENANT


async def test_every_unique_index_of_a_tenant_table_starts_with_shop_id(pool, tables):
    bad = [(r["table_name"], r["index_name"], r["columns"]) for r in await pool.fetch(UNIQUE_INDEXES)
           if r["table_name"] in tables - REFERENCE and (r["columns"] or [None])[0] != "shop_id"]
    assert bad == []


async def test_every_foreign_key_carries_shop_id(pool, tables):
    bad = [(r["table_name"], r["conname"], r["columns"]) for r in await pool.fetch(FOREIGN_KEYS)
           if r["table_name"] in tables - REFERENCE and "shop_id" not in r["columns"]]
    assert bad == []


async def test_every_tenant_table_has_shop_id_first_in_its_primary_key(pool, tables):
    rows = await pool.fetch(UNIQUE_INDEXES)
    pkeys = {r["table_name"]: r["columns"] for r in rows if r["index_name"].endswith("_pkey")}
    for table in tables - REFERENCE:
        assert pkeys.get(table, [None])[0] == "shop_id", table


async def test_distribute_sql_names_every_table(pool, tables, repo_root):
    text = (repo_root / "sql" / "citus" / "distribute.sql").read_text()
    distributed = set(re.findall(r"create_distributed_table\('(\w+)', 'shop_id'", text))
    reference = set(re.findall(r"create_reference_table\('(\w+)'\)", text))
    assert reference == REFERENCE
    assert distributed == tables - REFERENCE


async def test_distributed_functions_name_existing_signatures(pool, repo_root):
    """Each create_distributed_function names a function of the schema, by
    its exact argument types, distributed by its shop argument."""
    text = (repo_root / "sql" / "citus" / "distribute.sql").read_text()
    calls = re.findall(r"create_distributed_function\(\s*((?:'[^']*'\s*)+),\s*distribution_arg_name => '(\w+)'",
                       text)
    assert calls, "no distributed function"
    for literal, arg in calls:
        signature = "".join(re.findall(r"'([^']*)'", literal))
        oid = await pool.fetchval("SELECT to_regprocedure($1)::oid", signature)
        assert oid is not None, signature
        args = await pool.fetchval("SELECT proargnames FROM pg_proc WHERE oid = $1", oid)
        assert args[0] == arg == "p_shop", signature
