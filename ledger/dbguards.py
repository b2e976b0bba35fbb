"""Loads the raw SQL guards that sit beside the migrations, one file per database engine."""

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
