"""Applies sql/NNN_*.sql in order, each once, each in its own transaction;
then re-applies every function and trigger function in sql/functions/ (one
per file, written out in full, CREATE OR REPLACE) in one transaction, so the
code PostgreSQL runs is always the code in those files."""
from __future__ import annotations

import logging
from pathlib import Path

import asyncpg

# The repository's sql/ (the project is installed editable, as make and the
# Dockerfile do); `backinstock migrate` reads BACKINSTOCK_SQL_DIR instead when set (config.sql_dir).
SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
LOCK_ID = 0x62_69_73_6D  # advisory lock: concurrent `migrate` runs take turns

log = logging.getLogger("backinstock.migrate")

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""


def migration_files(sql_dir: Path = SQL_DIR) -> list[Path]:
    return sorted(p for p in sql_dir.glob("[0-9][0-9][0-9]_*.sql"))


def function_files(sql_dir: Path = SQL_DIR) -> list[Path]:
    return sorted((sql_dir / "functions").glob("*.sql"))


async def migrate(dsn: str, sql_dir: Path | None = None) -> list[str]:
    """Returns the versions applied by this call (empty when up to date)."""
    sql_dir = sql_dir or SQL_DIR
    files = migration_files(sql_dir)
    if not files:
        raise FileNotFoundError(f"no migrations found in {sql_dir}")
    conn = await asyncpg.connect(dsn)
    applied: list[str] = []
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", LOCK_ID)
        await conn.execute(CREATE_TABLE)
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        for path in files:
            version = path.stem
            if version in done:
                continue
            async with conn.transaction():
                await conn.execute(path.read_text())
                await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", version)
            log.info("applied migration %s", version)
            applied.append(version)
        functions = function_files(sql_dir)
        async with conn.transaction():
            for path in functions:
                await conn.execute(path.read_text())
        log.info("re-applied %d functions from %s", len(functions), sql_dir / "functions")
        await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_ID)
    finally:
        await conn.close()
    return applied
