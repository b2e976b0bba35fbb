"""Crash: a batch import, or the posting of an approved batch, killed with SIGKILL halfway through.

A child process (``crash_runner.py``, a test-only wrapper around the real command and service) posts entries
inside one transaction; after its 20th entry of 60 it writes a marker file and waits. The test then kills it
with SIGKILL, so nothing in the process gets to clean up. Afterwards the batch is wholly absent (the database
rolled the open transaction back), the ledger verifies, and running the same import (the same external ids)
or the same batch again posts it exactly once; a third run posts nothing.

On PostgreSQL the child writes into this test's database; on SQLite into a database file of its own (the test
database is in memory, which no other process can see).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from .conftest import ROOT, child_env, database_url

RUNNER = str(Path(__file__).with_name("crash_runner.py"))
ROWS = 60
KILL_AFTER = 20


def _run(url: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, RUNNER, *args], env=child_env(url, **env), cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    return done


def _state(url: str) -> dict:
    done = _run(url, "state")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _kill_halfway(url: str, tmp_path: Path, *args: str) -> None:
    marker = tmp_path / f"marker-{args[0]}"
    child = subprocess.Popen(
        [sys.executable, RUNNER, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=child_env(url, CRASH_AFTER=str(KILL_AFTER), CRASH_MARKER=str(marker)),
    )
    deadline = time.monotonic() + 300
    while not marker.exists():
        assert child.poll() is None, f"the child ended before the hook: {child.communicate()}"
        assert time.monotonic() < deadline, "the child never reached the hook"
        time.sleep(0.05)
    assert marker.read_text() == str(KILL_AFTER)
    os.kill(child.pid, signal.SIGKILL)
    child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL
    if url.startswith("postgres"):
        _wait_for_backend_gone(child.pid)


def _wait_for_backend_gone(pid: int) -> None:
    """The killed client's server process notices the closed socket and rolls back; wait until it has gone."""
    from django.db import connection as conn

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with conn.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND state LIKE 'idle in transaction%%'"
            )
            if cursor.fetchone()[0] == 0:
                return
        time.sleep(0.1)


def _crash_and_rerun(url: str, tmp_path: Path) -> None:
    done = _run(url, "setup", str(tmp_path))
    assert done.returncode == 0, done.stderr
    start = _state(url)
    assert start["disbursements"] == {f"BATCH-B:approved": ROWS}
    assert start["verify"].startswith("OK ")

    # 1. import_csv disbursements big.csv: 60 rows in one batch, killed after 20 of them were posted.
    big = str(tmp_path / "big.csv")
    _kill_halfway(url, tmp_path, "import", "disbursements", big)
    after = _state(url)
    assert after == start, "a killed import left part of its batch behind"
    first = _run(url, "import", "disbursements", big)
    assert first.returncode == 0, first.stderr
    assert f"imported {ROWS} disbursements row(s)" in first.stdout
    again = _run(url, "import", "disbursements", big)
    assert again.returncode == 0, again.stderr
    assert f"imported 0 disbursements row(s), skipped {ROWS} already imported" in again.stdout
    imported = _state(url)
    assert imported["entries"] == start["entries"] + ROWS
    assert imported["disbursements"]["BATCH-A:paid"] == ROWS
    assert imported["batches"]["BATCH-A"] == "posted"
    assert imported["study"] == start["study"] - ROWS * 100 * 100
    assert imported["verify"].startswith(f"OK {imported['entries']} ")

    # 2. batch_post of an approved batch of 60, killed after 20 postings.
    _kill_halfway(url, tmp_path, "batch-post", "BATCH-B")
    assert _state(url) == imported, "a killed batch posting left part of the batch behind"
    posted = _run(url, "batch-post", "BATCH-B")
    assert posted.returncode == 0, posted.stderr
    twice = _run(url, "batch-post", "BATCH-B")
    assert twice.returncode == 1 and "invalid_transition" in twice.stderr
    final = _state(url)
    assert final["entries"] == imported["entries"] + ROWS
    assert final["disbursements"]["BATCH-B:paid"] == ROWS
    assert final["batches"]["BATCH-B"] == "posted"
    assert final["verify"].startswith(f"OK {final['entries']} ")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_killed_batch_is_all_or_nothing_postgres(postgres_only, tmp_path):
    _crash_and_rerun(database_url(), tmp_path)


def test_killed_batch_is_all_or_nothing_sqlite(tmp_path):
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite variant runs in the SQLite pass of the suite")
    _crash_and_rerun(f"sqlite:///{tmp_path / 'crash.sqlite3'}", tmp_path)
