"""The code PostgreSQL runs is written in files: every function and trigger
function of ours is one file in sql/functions/, written out in full (no
format(), no EXECUTE), re-applied by every migrate."""
from __future__ import annotations

import re

import asyncpg

from shared_models.migrations import SQL_DIR, function_files, migrate

OURS = """
SELECT p.proname, p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'public'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
"""


async def test_every_function_in_the_database_is_a_file_and_back(pool):
    in_db = {r["proname"] for r in await pool.fetch(OURS)}
    assert in_db == {p.stem for p in function_files()}


def test_function_files_are_written_out_in_full():
    for path in function_files():
        text = path.read_text()
        assert not re.search(r"\bformat\s*\(|\bEXECUTE\s+(?!FUNCTION)", text, re.I), path.name
        assert re.search(rf"CREATE OR REPLACE FUNCTION {path.stem}\(", text), path.name


def test_migrations_create_no_function_from_templates_any_more():
    newest = sorted(SQL_DIR.glob("0[3-9][0-9]_*.sql"))
    for path in newest:
        assert "format(" not in path.read_text(), path.name


async def test_migrate_puts_back_what_the_files_say(db_url):
    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute("CREATE OR REPLACE FUNCTION report_csv_cell(value text) RETURNS text "
                           "LANGUAGE sql IMMUTABLE AS $$ SELECT 'tampered' $$")
        assert await conn.fetchval("SELECT report_csv_cell('=1')") == "tampered"
        assert await migrate(db_url) == []  # no migration left, yet the functions are re-applied
        assert await conn.fetchval("SELECT report_csv_cell('=1')") == "'=1"
    finally:
        await conn.close()


def test_calls_name_their_arguments(repo_root):
    """signup_create_many's 29 arguments, and the lock key, by name."""
    queries = (repo_root / "api_service" / "signups" / "queries.py").read_text()
    call = queries[queries.index("FROM signup_create_many("):queries.index(")\n", queries.index("p_optin_required"))]
    assert call.count("=>") == 29
    assert "variant_lock_key(p_shop => $1, p_variant => $2)" in queries
