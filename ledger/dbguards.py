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


def trigger_names(vendor: str) -> list[tuple[str, str]]:
    """(trigger, table) for every trigger the guards create."""
    names = []
    for statement in statements(vendor):
        match = re.search(r"CREATE (?:CONSTRAINT )?TRIGGER (\w+).*? ON (\w+)", statement, re.S)
        if match:
            names.append((match.group(1), match.group(2)))
    return names


def install(apps, schema_editor):
    for statement in statements(schema_editor.connection.vendor):
        schema_editor.execute(statement, params=None)


def install_on(connection) -> None:
    with connection.cursor() as cursor:
        for statement in statements(connection.vendor):
            cursor.execute(statement)


def drop(connection) -> None:
    """Remove the triggers (not the functions). Only for flush and for tests that tamper on purpose."""
    with connection.cursor() as cursor:
        for name, table in trigger_names(connection.vendor):
            if connection.vendor == "postgresql":
                cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            else:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")


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


# Functions of earlier versions of the SQL files that nothing calls any more.
_RETIRED_FUNCTIONS = {
    "postgresql": ["ledger_check_legs(bigint, bigint)", "ledger_check_entry(bigint)", "ledger_check_entries(bigint[])"],
    "sqlite": [],
}


def reinstall(apps, schema_editor):
    """Drop every trigger of the current files (triggers keep their names when their events change) and the
    retired functions, then install the current files."""
    connection = schema_editor.connection
    drop(connection)
    with connection.cursor() as cursor:
        for signature in _RETIRED_FUNCTIONS.get(connection.vendor, []):
            cursor.execute(f"DROP FUNCTION IF EXISTS {signature}")
    install(apps, schema_editor)
