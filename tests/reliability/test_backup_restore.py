"""Backup and restore: the books come back exactly. ``pg_dump`` of a seeded demo restored into a fresh
PostgreSQL database (on SQLite: the database file copied) gives the same ``verify_ledger`` line (entry count
and head hash) and byte-identical reports, every report in every format (CSV, JSON and PDF), each written by
the real ``report`` command in a child process pointed at the original or at the copy.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from .conftest import ROOT, child_env, database_url, manage

REPORT_ALL = str(Path(__file__).with_name("report_all.py"))
SEED = ["--beneficiaries", "40", "--donations", "150", "--year", "2025", "--no-progress", "--passwords", "username"]


def _pg_tool(name: str) -> str:
    for candidate in (f"/usr/lib/postgresql/15/bin/{name}", shutil.which(name)):
        if candidate and Path(candidate).exists():
            return candidate
    pytest.skip(f"{name} is not installed")


def _reports(url: str, directory: Path) -> dict[str, bytes]:
    done = subprocess.run([sys.executable, REPORT_ALL, str(directory), "2025"], env=child_env(url), cwd=ROOT,
                          capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr.decode()
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def _same(original: dict[str, bytes], restored: dict[str, bytes]) -> None:
    assert sorted(original) == sorted(restored)
    assert len(original) > 30 and any(n.endswith(".pdf") for n in original)
    line = original["verify_ledger.txt"].decode()
    assert line.startswith("OK ") and int(line.split()[1]) > 150
    differing = [name for name in original if original[name] != restored[name]]
    assert not differing, f"differ after restore: {differing}"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_pg_dump_and_restore_give_the_same_books(postgres_only, tmp_path):
    call_command("seed_demo", *SEED, stdout=io.StringIO())
    db = settings.DATABASES["default"]
    conn = ["-h", db.get("HOST") or "127.0.0.1", "-p", str(db.get("PORT") or 5432), "-U", db.get("USER") or "postgres"]
    source, target = db["NAME"], f"{db['NAME']}_restore"
    assert target.startswith(("test_ctl_reliab", "test_ctl")), target
    dump = tmp_path / "books.dump"
    subprocess.run([_pg_tool("pg_dump"), *conn, "-Fc", "-f", str(dump), source], check=True, timeout=300)
    subprocess.run([_pg_tool("dropdb"), *conn, "--if-exists", target], check=True, timeout=60)
    subprocess.run([_pg_tool("createdb"), *conn, target], check=True, timeout=60)
    try:
        subprocess.run([_pg_tool("pg_restore"), *conn, "--no-owner", "-d", target, str(dump)], check=True,
                       timeout=300)
        original = _reports(database_url(), tmp_path / "original")
        restored = _reports(database_url(target), tmp_path / "restored")
        _same(original, restored)
        # The restored database is a working one: its guards are back (a posted entry refuses to change).
        check = manage(database_url(target), "verify_ledger")
        assert check.returncode == 0 and check.stdout == original["verify_ledger.txt"]
        tamper = subprocess.run(
            [_pg_tool("psql"), *conn, "-d", target, "-c",
             "UPDATE ledger_leg SET debit = debit + 1 WHERE id = (SELECT min(id) FROM ledger_leg)"],
            capture_output=True, text=True, timeout=60,
        )
        assert tamper.returncode != 0 and "ledger" in tamper.stderr
    finally:
        subprocess.run([_pg_tool("dropdb"), *conn, "--if-exists", target], timeout=60)


def test_sqlite_file_copy_gives_the_same_books(tmp_path):
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite variant runs in the SQLite pass of the suite")
    path = tmp_path / "books.sqlite3"
    url = f"sqlite:///{path}"
    for args in (["migrate", "-v0"], ["seed_demo", *SEED]):
        done = manage(url, *args)
        assert done.returncode == 0, done.stderr.decode()
    copy = tmp_path / "copy.sqlite3"
    shutil.copyfile(path, copy)
    original = _reports(url, tmp_path / "original")
    restored = _reports(f"sqlite:///{copy}", tmp_path / "restored")
    _same(original, restored)
