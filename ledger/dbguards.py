"""The ledger's raw SQL guards (triggers and their functions), one set of files per migration that installs them.

``migrations/sql/NNNN_guards.<engine>.sql`` holds the whole set of guards as migration NNNN left them, frozen: a
migration runs its own files and nothing else, so what it does never changes after it is written. A change to the
guards is a new migration with new files (copy the latest pair, edit the copy, and step to it with ``step``); the
files of earlier migrations are history and are never edited. The highest-numbered pair is the guards of today:
``statements`` reads it for the code that needs them at run time (``flush`` on SQLite, tests that tamper).

Statements in a file are separated by lines holding only ``-- ;``.
"""

import re
from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent / "migrations" / "sql"
VENDORS = ("postgresql", "sqlite")
_FILE = re.compile(r"^(\d{4})_guards\.(\w+)\.sql$")


def _check_vendor(vendor: str) -> None:
    if vendor not in VENDORS:
        raise RuntimeError(f"the ledger has no database guards for {vendor}; use SQLite or PostgreSQL")


def migrations_with_guards() -> list[str]:
    """The numbers of the migrations that have guard files, oldest first."""
    found = {_FILE.match(path.name).group(1) for path in SQL_DIR.iterdir() if _FILE.match(path.name)}
    return sorted(found)


def guard_file(migration: str, vendor: str) -> Path:
    _check_vendor(vendor)
    return SQL_DIR / f"{migration}_guards.{vendor}.sql"


def statements(vendor: str, migration: str | None = None) -> list[str]:
    """The statements of the guards that ``migration`` installs (by default the latest: today's guards)."""
    _check_vendor(vendor)
    migration = migration or migrations_with_guards()[-1]
    text = guard_file(migration, vendor).read_text(encoding="utf-8")
    return [chunk.strip() for chunk in text.split("\n-- ;\n") if chunk.strip() and not _only_comments(chunk)]


def _only_comments(chunk: str) -> bool:
    return all(line.strip().startswith("--") or not line.strip() for line in chunk.splitlines())


def _code(statement: str) -> str:
    return "\n".join(line for line in statement.splitlines() if not line.strip().startswith("--"))


def trigger_names(vendor: str, migration: str | None = None) -> list[tuple[str, str]]:
    """(trigger, table) for every trigger the guards create."""
    names = []
    for statement in statements(vendor, migration):
        match = re.search(r"^CREATE (?:CONSTRAINT )?TRIGGER (\w+).*? ON (\w+)", _code(statement), re.S | re.M)
        if match:
            names.append((match.group(1), match.group(2)))
    return names


def function_signatures(vendor: str, migration: str | None = None) -> list[str]:
    """``name(type, ...)`` for every function the guards create (PostgreSQL; SQLite's guards have none)."""
    signatures = []
    for statement in statements(vendor, migration):
        match = re.search(r"^CREATE (?:OR REPLACE )?FUNCTION (\w+)\s*\(([^)]*)\)", _code(statement), re.M)
        if match:
            # Each argument is "name type" (or only "type"): keep the type, which is what identifies the function.
            types = [arg.split()[-1] for arg in match.group(2).split(",") if arg.strip()]
            signatures.append(f"{match.group(1)}({', '.join(types)})")
    return signatures


def drop_statements(vendor: str, migration: str) -> list[str]:
    """The statements that remove everything ``migration``'s guards create: the triggers first (they depend on
    the functions), then the functions."""
    drops = []
    for name, table in trigger_names(vendor, migration):
        drops.append(f"DROP TRIGGER IF EXISTS {name} ON {table}" if vendor == "postgresql"
                     else f"DROP TRIGGER IF EXISTS {name}")
    drops += [f"DROP FUNCTION IF EXISTS {signature}" for signature in function_signatures(vendor, migration)]
    return drops


def _replace(schema_editor, old: str | None, new: str | None) -> None:
    """Remove the guards of migration ``old`` (if any) and install those of migration ``new`` (if any)."""
    vendor = schema_editor.connection.vendor
    _check_vendor(vendor)
    if old is not None:
        for statement in drop_statements(vendor, old):
            schema_editor.execute(statement, params=None)
    if new is not None:
        for statement in statements(vendor, new):
            schema_editor.execute(statement, params=None)


def step(previous: str | None, current: str | None) -> migrations.RunPython:
    """The operation of guard migration ``current``: forwards it replaces the guards of migration ``previous``
    (``None``: there are none yet) by its own files (``None``: none, when a schema change must run without
    guards); backwards it removes its own and puts ``previous``'s back."""

    def forwards(apps, schema_editor):
        _replace(schema_editor, previous, current)

    def backwards(apps, schema_editor):
        _replace(schema_editor, current, previous)

    return migrations.RunPython(forwards, backwards)


def install_on(connection) -> None:
    """Create today's guards (after ``drop``)."""
    with connection.cursor() as cursor:
        for statement in statements(connection.vendor):
            cursor.execute(statement)


def drop(connection) -> None:
    """Remove today's triggers (not the functions). Only for flush and for tests that tamper on purpose."""
    with connection.cursor() as cursor:
        for name, table in trigger_names(connection.vendor):
            if connection.vendor == "postgresql":
                cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            else:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
