"""Backup and restore: the books come back exactly, and the restored database is a working one.

PostgreSQL: ``pg_dump`` of a seeded demo restored with ``pg_restore`` into a fresh database. SQLite: a backup
taken with ``VACUUM INTO`` (a consistent copy made by SQLite itself, safe while the application runs) and
restored into a new file with sqlite3's online backup API (the ``.restore`` of the sqlite3 shell); the file
that comes back is rebuilt page by page, not the original's bytes. On both engines the restored database gives
the same ``verify_ledger`` line (entry count and head hash) and byte-identical reports, every report in every
format (CSV, JSON and PDF), each written by the real ``report`` command in a child process pointed at the
original or at the restored database; its guards are back (a posted leg refuses to change); and a leg amount
changed behind the guards' back (the guard lifted as tests/ledger/test_tamper.py lifts it) is found by
``verify_ledger`` run on the restored database.
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from ledger.dbguards import statements

from .conftest import ROOT, child_env, database_url, manage

REPORT_ALL = str(Path(__file__).with_name("report_all.py"))
# The first posted debit leg: the one the tamper checks change (debit and its CNY figure, as test_tamper does).
FIRST_DEBIT_LEG = "(SELECT MIN(id) FROM ledger_leg WHERE debit > 0)"
TAMPER = f"UPDATE ledger_leg SET debit = debit + 1, debit_cny = debit_cny + 1 WHERE id = {FIRST_DEBIT_LEG}"
WHICH = ("SELECT b.code, e.sequence FROM ledger_leg l JOIN ledger_journalentry e ON e.id = l.entry_id "
         f"JOIN ledger_book b ON b.id = e.book_id WHERE l.id = {FIRST_DEBIT_LEG}")
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
        # With the guard lifted for one statement, a changed amount is found by verify_ledger on the restored books.
        psql = [_pg_tool("psql"), *conn, "-d", target, "-v", "ON_ERROR_STOP=1", "-qAt"]
        which = subprocess.run([*psql, "-F", " ", "-c", WHICH], capture_output=True, text=True, check=True, timeout=60)
        book, sequence = which.stdout.split()
        subprocess.run([*psql, "-c", "ALTER TABLE ledger_leg DISABLE TRIGGER ledger_leg_guard", "-c", TAMPER,
                        "-c", "ALTER TABLE ledger_leg ENABLE TRIGGER ledger_leg_guard"], check=True, timeout=60)
        _assert_tamper_found(database_url(target), book, int(sequence))
    finally:
        subprocess.run([_pg_tool("dropdb"), *conn, "--if-exists", target], timeout=60)


def _assert_tamper_found(url: str, book: str, sequence: int) -> None:
    check = manage(url, "verify_ledger")
    out = check.stdout.decode()
    assert check.returncode == 1, (out, check.stderr.decode())
    assert f"FAIL {book} entry #{sequence}: legs do not balance" in out, out


def test_sqlite_backup_and_restore_give_the_same_books(tmp_path):
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite variant runs in the SQLite pass of the suite")
    path = tmp_path / "books.sqlite3"
    url = f"sqlite:///{path}"
    for args in (["migrate", "-v0"], ["seed_demo", *SEED]):
        done = manage(url, *args)
        assert done.returncode == 0, done.stderr.decode()
    backup, restored = tmp_path / "backup.sqlite3", tmp_path / "restored.sqlite3"
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("VACUUM INTO ?", [str(backup)])
    with contextlib.closing(sqlite3.connect(backup)) as source, contextlib.closing(sqlite3.connect(restored)) as db:
        source.backup(db)
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert restored.read_bytes() != path.read_bytes()  # rebuilt by SQLite, not a copy of the file
    original = _reports(url, tmp_path / "original")
    restored_url = f"sqlite:///{restored}"
    _same(original, _reports(restored_url, tmp_path / "restored"))
    check = manage(restored_url, "verify_ledger")
    assert check.returncode == 0 and check.stdout == original["verify_ledger.txt"]

    # The guards came back with the schema: a posted leg refuses to change.
    with contextlib.closing(sqlite3.connect(restored)) as db:
        with pytest.raises(sqlite3.DatabaseError, match="ledger"):
            db.execute(TAMPER)
        book, sequence = db.execute(WHICH).fetchone()
        # Lifted for one statement (dropped and put back from today's guards, ledger.dbguards.statements, as
        # test_tamper does), a changed amount gets in; verify_ledger on the restored books names the entry.
        [guard] = [sql for sql in statements("sqlite")
                   if re.search(r"CREATE TRIGGER ledger_leg_no_update_posted\b", sql)]
        with db:
            db.execute("DROP TRIGGER ledger_leg_no_update_posted")
            db.execute(TAMPER)
            db.execute(guard)
        with pytest.raises(sqlite3.DatabaseError, match="ledger"):
            db.execute(TAMPER)
    _assert_tamper_found(restored_url, book, sequence)
    assert manage(url, "verify_ledger").stdout == original["verify_ledger.txt"]  # the original is untouched
