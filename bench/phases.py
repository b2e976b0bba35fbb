"""Scratch timings of B1 and B2 in their parts, for BENCHMARKS.md's explanations; not part of the run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<a scratch database> python bench/phases.py b1 [N]
    DATABASE_URL=... python bench/phases.py b2 [N]

The database is migrated first; each call adds a small book of its own (bench/run.py's ``_small_book``) and
posts into it. ``b1`` posts N single entries (after 50 to warm up) and prints entries/s, wall and client CPU
(``time.process_time``) per entry, and on a local PostgreSQL the server's CPU per entry (its backend's
``/proc/<pid>/stat``). ``b2`` posts N entries in one ``posting_batch()`` and prints the three parts:
posting (Python, with the reads it needs), the batch's final write, and COMMIT. ``PROFILE=1`` prints a cProfile
of the timed part (``SORT=cumulative``, ``ROWS=40`` to see more; ``PROFILE_OUT=file`` also saves it for pstats),
``TRACK=1`` (PostgreSQL) the guards' function times from ``pg_stat_user_functions``.
Machine noise here is 20-40% between runs: compare versions by alternating them, several runs each.
"""

from __future__ import annotations

import cProfile
import datetime as dt
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "charity.settings")


def backend_cpu(connection) -> float | None:
    """CPU seconds (user + system) of this connection's PostgreSQL backend so far, when the server is local."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(kind: str, n: int) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    import run
    from ledger import services
    from ledger.services import Cr, Dr, posting_batch

    call_command("migrate", verbosity=0)
    track = os.environ.get("TRACK") and connection.vendor == "postgresql"
    if track:
        with connection.cursor() as cursor:
            cursor.execute("SET track_functions = 'pl'")
            cursor.execute("SELECT pg_stat_reset()")
    user = run._user("phases")
    day = dt.date.today() - dt.timedelta(days=3)
    code = f"PH{kind.upper()}{int(time.time() * 1000) % 10_000_000}"
    sb = run._small_book(code, user, day)
    amounts = run.amounts_for(n)
    profile = cProfile.Profile() if os.environ.get("PROFILE") else None

    def spend_all(batch=None):
        if profile:
            profile.enable()
        for i, amount in enumerate(amounts):
            spend(i, amount, batch)
        if profile:
            profile.disable()

    def spend(i, amount, batch):
        services.entry_post(book=sb.book, date=day, memo=f"spend {i}", user=user, idempotency_key=f"{code}-{i}",
                            legs=[Dr(sb.expense, sb.fund, amount), Cr(sb.bank, sb.fund, amount)], batch=batch)

    if kind == "b1":
        run._post_spends(sb, user, amounts[:50], day, code + "w")
        server = backend_cpu(connection)
        t0, c0 = time.perf_counter(), time.process_time()
        spend_all()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        server = None if server is None else backend_cpu(connection) - server
        print(f"{connection.vendor} B1 n={n}: {n / wall:.0f} entries/s, {1000 * wall / n:.2f} ms/entry, "
              f"client CPU {1000 * cpu / n:.2f} ms/entry"
              + ("" if server is None else f", server CPU {1000 * server / n:.2f} ms/entry"))
    else:
        t0, c0 = time.perf_counter(), time.process_time()
        with transaction.atomic():
            with posting_batch() as batch:
                batch.expect_keys(sb.book, [f"{code}-{i}" for i in range(n)])
                spend_all(batch)
                t1, c1 = time.perf_counter(), time.process_time()
            t2 = time.perf_counter()
        t3 = time.perf_counter()
        print(f"{connection.vendor} B2 n={n}: posting {t1 - t0:.2f} s (CPU {c1 - c0:.2f} s), final write "
              f"{t2 - t1:.2f} s, COMMIT {t3 - t2:.2f} s; {n / (t3 - t0):.0f} entries/s")
    if track:
        time.sleep(0.6)  # the backend's function statistics reach the shared ones at most once a second
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_force_next_flush()")
        connection.close()
        time.sleep(0.6)
        with connection.cursor() as cursor:
            cursor.execute("SELECT funcname, calls, round(total_time::numeric, 1), round(self_time::numeric, 1) "
                           "FROM pg_stat_user_functions ORDER BY total_time DESC")
            for name, calls, total, own in cursor.fetchall():
                print(f"  {name:32} calls {calls:7}  total {total:8} ms  self {own:8} ms")
    if profile and os.environ.get("PROFILE_OUT"):
        profile.dump_stats(os.environ["PROFILE_OUT"])
    if profile:
        pstats.Stats(profile).sort_stats(os.environ.get("SORT", "tottime")).print_stats(int(os.environ.get("ROWS", "25")))


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in ("b1", "b2"):
        sys.exit(__doc__)
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else (1000 if sys.argv[1] == "b1" else 10_000))
