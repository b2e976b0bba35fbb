"""Loads the raw SQL guards that sit beside the migrations, one file per database engine."""

import re
from pathlib import Path

SQL_DIR = Path(__file__).resolve().parent / "migrations" / "sql"


def statements(vendor: str) -> list[str]:
    path = SQL_DIR / f"{vendor}.sql"
    if not path.exists():
        raise RuntimeError(f"the ledger has no database guards for {vendor}; use SQLite or PostgreSQL")
    text = path.read_text(encoding="utf-8")
    return [chunk.strip() for chunk in text.split("\n-- ;\n") if chunk.strip() and not _only_comments(chunk)]


def _only_comments(chunk: str) -> bool:
    return all(line.strip().startswith("--") or not line.strip() for line in chunk.splitlines())


def install(apps, schema_editor):
    for statement in statements(schema_editor.connection.vendor):
        schema_editor.execute(statement, params=None)


def _created_name(statement: str) -> tuple[str, str] | None:
    """('function', name) or ('trigger', name) for a CREATE statement, else None."""
    match = re.search(r"^CREATE (?:OR REPLACE )?(FUNCTION|TRIGGER|CONSTRAINT TRIGGER) (\w+)", statement, re.M)
    if match is None:
        return None
    return ("function" if match.group(1) == "FUNCTION" else "trigger"), match.group(2)


def refresh(apps, schema_editor):
    """Bring guards installed by an earlier version of the SQL files up to date, idempotently: functions are
    replaced (``CREATE OR REPLACE``) and triggers that do not exist yet are created. A fresh database, which got
    the current files from ``install``, is left as it is."""
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        else:
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        triggers = {row[0] for row in cursor.fetchall()}
    for statement in statements(connection.vendor):
        created = _created_name(statement)
        if created is None:
            continue
        kind, name = created
        if kind == "function" or name not in triggers:
            schema_editor.execute(statement, params=None)
