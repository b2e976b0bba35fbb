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
