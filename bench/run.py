"""Benchmarks of the ledger engine (issue 8), against django-hordak and, on PostgreSQL, against pgbench.

Run with the project's virtualenv::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ctl python bench/run.py --mode quick
    python bench/run.py --mode quick                     # SQLite (no DATABASE_URL)

It makes its own scratch database and never touches another one: PostgreSQL ``ctl_bench`` (dropped, created,
migrated) on the server named by DATABASE_URL, or the SQLite file ``var/bench.sqlite3``. The peer runs in its
own virtualenv (bench/.venv-hordak) against ``ctl_bench_hordak`` / ``var/bench_hordak.sqlite3``.

What is measured (all through the public services and selectors of ``ledger``):

B1   N balanced 2-leg entries, one entry per DB transaction, from one client: each spends a restricted fund
     that was funded first, so the FIFO allocation to the fund's income runs; every entry has an idempotency key.
B1c  the same from P processes at once, each into its own book (aggregate entries/s over the wall clock).
B2   N such entries in one DB transaction: N ``entry_post`` in one ``posting_batch()`` (as ``import_csv`` posts),
     told the N idempotency keys up front (``batch.expect_keys``).
B3   ``account_balance(account, as_of=past date)`` on a book of M legs (the account carries M/2 of them):
     median and p95 over repeated calls, compared with an independent SUM over ``ledger_leg``.
B4   ``trial_balance(book, as_of=today)`` over the year of M legs; debits must equal credits and every row
     must equal an independent SUM over ``ledger_leg``.

Each run writes bench/results/<vendor>-<mode>.json and prints a Markdown table. Exit status 1 when any timed
figure failed its exactness check; a missed goal alone does not fail the run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
for path in (str(ROOT), str(BENCH)):
    if path not in sys.path:
        sys.path.insert(0, path)

import common  # noqa: E402

MODES = {
    # tiny: for the test suite (seconds). quick: `make bench` (< 5 min). full: `make bench-full` (< 30 min).
    "tiny": {"n": 40, "m": 2_000, "procs": 2, "b3_calls": 20, "pgbench_seconds": 2, "hordak_b3_budget": 5,
             "b2_budget": 60},
    "quick": {"n": 2_000, "m": 100_000, "procs": 8, "b3_calls": 50, "pgbench_seconds": 10, "hordak_b3_budget": 30,
              "b2_budget": 180},
    "full": {"n": 10_000, "m": 1_000_000, "procs": 8, "b3_calls": 50, "pgbench_seconds": 10, "hordak_b3_budget": 60,
             "b2_budget": 300},
}
HORDAK_PYTHON = BENCH / ".venv-hordak" / "bin" / "python"
RESULTS = BENCH / "results"
FUNDED = Decimal("100000000.00")  # what the restricted fund receives before the spending starts


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def amounts_for(n: int) -> list[Decimal]:
    """The same amounts on both sides (hordak_bench.py uses the same formula): 1.00 .. 500.99 CNY."""
    return [Decimal(100 + (i * 7919) % 50_000) / 100 for i in range(n)]


# --------------------------------------------------------------------------------------------- our side


def _user(name: str):
    from django.contrib.auth import get_user_model

    from django.contrib.auth.models import Group

    from charity.roles import ADMINISTRATOR

    user = get_user_model().objects.get_or_create(username=name)[0]
    user.groups.add(Group.objects.get(name=ADMINISTRATOR))  # a global grant: it posts and closes in every book
    return get_user_model().objects.get(pk=user.pk)


def _small_book(code: str, user, day: dt.date):
    """A book with a restricted fund that has FUNDED of income (one source), ready to be spent from."""
    from ledger import services
    from ledger.services import Cr, Dr

    book = services.book_create(code=code, name=f"bench {code}")
    sb = SimpleNamespace(
        code=code,
        book=book,
        bank=services.account_create(book=book, code="1002", name="银行存款", name_en="Bank", type="asset"),
        income=services.account_create(
            book=book, code="4102", name="限定性捐赠收入", name_en="Restricted donations", type="income",
            restriction="restricted",
        ),
        expense=services.account_create(
            book=book, code="5101", name="项目支出", name_en="Program: smile packs", type="expense", purpose="smile",
        ),
        fund=services.fund_create(user=services.system_user(), book=book, code="SMILE", name="微笑包", restriction="restricted", purpose="smile"),
    )
    services.entry_post(
        book=book, date=day - dt.timedelta(days=1), memo="gift", user=user, idempotency_key=f"{code}-gift",
        legs=[Dr(sb.bank, sb.fund, FUNDED), Cr(sb.income, sb.fund, FUNDED)],
    )
    return sb


def _load_small_book(code: str):
    from ledger.models import Account, Book, Fund

    book = Book.objects.get(code=code)
    accounts = {a.code: a for a in Account.objects.filter(book=book)}
    return SimpleNamespace(
        code=code, book=book, bank=accounts["1002"], income=accounts["4102"], expense=accounts["5101"],
        fund=Fund.objects.get(book=book, code="SMILE"),
    )


def _post_spends(sb, user, amounts: list[Decimal], day: dt.date, prefix: str, deadline: float | None = None,
                 batch=None) -> int:
    """Post one spend per amount (in ``batch`` when given); stop early (after a whole entry) once ``deadline``
    (perf_counter) is passed. Returns how many were posted."""
    from ledger import services
    from ledger.services import Cr, Dr

    for i, amount in enumerate(amounts):
        services.entry_post(
            book=sb.book, date=day, memo=f"spend {i}", user=user, idempotency_key=f"{prefix}-{i}",
            legs=[Dr(sb.expense, sb.fund, amount), Cr(sb.bank, sb.fund, amount)], batch=batch,
        )
        if deadline is not None and time.perf_counter() > deadline:
            return i + 1
    return len(amounts)


def _sql_sum(account_id: int, as_of: dt.date | None = None, fund_id: int | None = None) -> tuple[int, int]:
    """Independent CNY (debit, credit) totals in fen straight from ledger_leg of posted entries."""
    from django.db import connection

    sql = (
        "SELECT COALESCE(SUM(l.debit_cny), 0), COALESCE(SUM(l.credit_cny), 0) FROM ledger_leg l "
        "JOIN ledger_journalentry e ON e.id = l.entry_id WHERE e.status = 'posted' AND l.account_id = %s"
    )
    params: list = [account_id]
    if as_of is not None:
        sql += " AND l.date <= %s"
        params.append(as_of)
    if fund_id is not None:
        sql += " AND l.fund_id = %s"
        params.append(fund_id)
    with connection.cursor() as cur:
        cur.execute(sql, params)
        debit, credit = cur.fetchone()
    return int(debit), int(credit)


def _check_small(sb, amounts: list[Decimal]) -> tuple[bool, str]:
    """Everything B1/B2/B1c wrote is exactly right: count, balances (selector and SQL), allocations, chain."""
    from ledger import selectors
    from ledger.models import Allocation, Fund, JournalEntry, from_minor
    from ledger.verification import verify_book

    spent = sum(amounts, Decimal(0))
    problems = []
    count = JournalEntry.objects.filter(book=sb.book, status="posted").count()
    if count != len(amounts) + 1:
        problems.append(f"{count} entries, expected {len(amounts) + 1}")
    if selectors.account_balance(sb.expense, fund=sb.fund) != spent:
        problems.append("expense balance (selector) is wrong")
    if selectors.account_balance(sb.bank) != FUNDED - spent:
        problems.append("bank balance (selector) is wrong")
    debit, credit = _sql_sum(sb.expense.pk)
    if from_minor(debit - credit) != spent:
        problems.append("expense balance (SQL) is wrong")
    allocated = sum(Allocation.objects.filter(leg__entry__book=sb.book).values_list("amount", flat=True))
    if from_minor(allocated) != spent:
        problems.append(f"allocated {from_minor(allocated)}, spent {spent}")
    if from_minor(Fund.objects.get(pk=sb.fund.pk).net_assets) != FUNDED - spent:
        problems.append("fund net assets are wrong")
    verdict = verify_book(sb.book)
    if not verdict.ok:
        problems.append(f"verify_book: {verdict.line()}")
    return not problems, "; ".join(problems)


def _b1c_worker(code: str, amounts, day, barrier, queue) -> None:
    from django.db import connections

    try:
        connections.close_all()
        sb = _load_small_book(code)
        user = _user(f"bench-{code}")
        barrier.wait(timeout=120)
        start = time.monotonic()
        _post_spends(sb, user, amounts, day, f"{code}-b1c")
        end = time.monotonic()
        queue.put((code, start, end, ""))
    except Exception as exc:  # reported by the parent
        queue.put((code, 0.0, 0.0, f"{type(exc).__name__}: {exc}"))
    finally:
        connections.close_all()


def _run_b1c(prefix: str, procs: int, n: int, day: dt.date) -> dict:
    import multiprocessing as mp

    from django.db import connections

    per_process = max(1, n // procs)
    amounts = amounts_for(per_process)
    codes = [f"{prefix}B1C{i}" for i in range(procs)]
    for code in codes:
        _small_book(code, _user(f"bench-{code}"), day)
    connections.close_all()  # no connection may be shared with the forked children
    ctx = mp.get_context("fork")
    barrier, queue = ctx.Barrier(procs), ctx.Queue()
    workers = [ctx.Process(target=_b1c_worker, args=(c, amounts, day, barrier, queue)) for c in codes]
    for w in workers:
        w.start()
    reports = [queue.get(timeout=1800) for _ in workers]
    for w in workers:
        w.join()
    errors = [f"{c}: {e}" for c, _, _, e in reports if e]
    if errors:
        return {"processes": procs, "error": "; ".join(errors), "exact": False}
    wall = max(r[2] for r in reports) - min(r[1] for r in reports)
    total = per_process * procs
    checks = [_check_small(_load_small_book(c), amounts) for c in codes]
    return {
        "processes": procs,
        "entries": total,
        "seconds": wall,
        "entries_per_s": total / wall,
        "exact": all(ok for ok, _ in checks),
        "problems": "; ".join(p for ok, p in checks if not ok),
    }


def _analyze() -> None:
    """What autovacuum would do on a live server (the shared server here runs with autovacuum = off)."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("ANALYZE")


def load_big_book(code: str, user, m: int, today: dt.date) -> dict:
    """M legs (M/2 two-leg entries over a year), posted through posting batches of 10,000 entries, as an import
    posts them. Only asset, liability and net-asset accounts are used, so no FIFO sources or allocations are made.
    ``verify_book`` is run on the result (and timed) before anything is measured on it.
    """
    from ledger import services
    from ledger.models import Leg, from_minor
    from ledger.services import Cr, Dr
    from ledger.verification import verify_book

    started = time.perf_counter()
    book = services.book_create(code=code, name=f"bench {code} (M={m})")
    accounts = [
        services.account_create(book=book, code=c, name=name, name_en=name, type=kind)
        for c, name, kind in common.BIG_CHART
    ]
    fund = services.fund_create(user=services.system_user(), book=book, code="GEN", name="非限定性",
                                restriction="unrestricted")
    plan = list(common.big_book_plan(m, today))
    # A small first batch, then ANALYZE after every batch: the guards' PL/pgSQL queries are planned once per
    # session and the plan is kept until the tables' statistics change, so a plan made on an empty ledger_leg
    # (a sequential scan) would make every later check scan all legs (see BENCHMARKS.md, "cold statistics").
    bounds = [0, min(500, len(plan))] + list(range(10_500, len(plan), 10_000)) + [len(plan)]
    bounds = sorted(set(bounds))
    for start, stop in zip(bounds, bounds[1:]):
        with services.posting_batch() as batch:
            for date, counter, bank_debit, fen in plan[start:stop]:
                dr, cr = (accounts[0], accounts[counter]) if bank_debit else (accounts[counter], accounts[0])
                amount = from_minor(fen)
                batch.post(book=book, date=date, memo="", user=user, legs=[Dr(dr, fund, amount), Cr(cr, fund, amount)])
        _analyze()
    sequence = len(plan)
    load_s = time.perf_counter() - started
    # Monthly closes, as a real book has them: every month that ended before the B3 date's month.
    as_of = today - dt.timedelta(days=45)
    t0 = time.perf_counter()
    closes = 0
    month = plan[0][0].replace(day=1) if plan else as_of.replace(day=1)
    while month < as_of.replace(day=1):
        services.period_close(book=book, month=month.strftime("%Y-%m"), user=user)
        closes += 1
        month = (month + dt.timedelta(days=32)).replace(day=1)
    close_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    verdict = verify_book(book)
    verify_s = time.perf_counter() - t0
    book.refresh_from_db()
    return {
        "book": book, "accounts": accounts, "as_of": as_of,
        "info": {
            "legs": Leg.objects.filter(entry__book=book).count(), "entries": sequence,
            "load_seconds": load_s, "period_closes": closes, "close_seconds": close_s,
            "verify_seconds": verify_s, "verify_book": verdict.line(), "verified": verdict.ok,
            "method": "posted through posting batches of 10,000 entries (as an import posts)",
        },
    }


def run_ours(cfg: dict, *, prefix: str = "", procs: int | None = None, profile: bool = False) -> dict:
    """Our side of B1..B4 on the database Django is connected to (which must be migrated)."""
    import statistics

    from django.db import connection
    from django.utils import timezone

    from ledger import selectors

    procs = cfg["procs"] if procs is None else procs
    n, m = cfg["n"], cfg["m"]
    today = timezone.localdate()
    day = today - dt.timedelta(days=1)
    amounts = amounts_for(n)
    out: dict = {"n": n, "m": m, "notes": []}
    user = _user("bench")

    # The big book for B3/B4, loaded first: B1/B2 then post into a database that already has M legs
    # (and statistics), as a live ledger would.
    big = load_big_book(f"{prefix}BIG", user, m, today)
    out["load"] = big["info"]
    out["big_book"] = {"code": big["book"].code, "from": today - dt.timedelta(days=366), "to": today,
                       "legs": big["info"]["legs"]}
    log(f"big book: {big['info']}")
    bank, as_of = big["accounts"][0], big["as_of"]

    # How many statements one entry_post costs (on a book of its own, so the checks below stay exact).
    from django.test.utils import CaptureQueriesContext

    sb = _small_book(f"{prefix}Q", user, day)
    if connection.vendor == "postgresql":
        # A single post goes through psycopg pipelines on raw cursors, which Django's query log does not see:
        # count what psycopg itself is asked to run (Django's own cursors are psycopg cursors too).
        import psycopg

        sent, execute = [], psycopg.Cursor.execute

        def counting(self, query, params=None, **kwargs):
            sent.append(query if isinstance(query, str) else str(query))
            return execute(self, query, params, **kwargs)

        psycopg.Cursor.execute = counting
        try:
            _post_spends(sb, user, [Decimal("1.00")], day, f"{prefix}q")
        finally:
            psycopg.Cursor.execute = execute
        out["statements_note"] = (
            "PostgreSQL, counted at psycopg: the book lock, the key lookup, the fund lock, the FIFO page and the new "
            "ids in one pipeline; the entry's rows (one statement), the UPDATE to posted and the running totals (one "
            "statement) in a second; COMMIT (ledger.services.writer.PostgresWriter)"
        )
    else:
        with CaptureQueriesContext(connection) as captured:
            _post_spends(sb, user, [Decimal("1.00")], day, f"{prefix}q")
        sent = [q["sql"] for q in captured.captured_queries]
    out["statements_per_entry"] = len(sent)
    out["statements"] = [sql[:90] for sql in sent]

    # B1: one client, one entry per transaction.
    sb = _small_book(f"{prefix}B1", user, day)
    t0 = time.perf_counter()
    _post_spends(sb, user, amounts, day, f"{prefix}b1")
    elapsed = time.perf_counter() - t0
    if profile:  # a separate, untimed pass on a book of its own: the profiler's overhead stays out of B1
        from pyinstrument import Profiler

        profiled = _small_book(f"{prefix}P", user, day)
        profiler = Profiler(interval=0.001)
        profiler.start()
        _post_spends(profiled, user, amounts[:500], day, f"{prefix}p")
        profiler.stop()
        out["profile_text"] = profiler.output_text(unicode=False, color=False, show_all=False)
    ok, problems = _check_small(sb, amounts)
    out["B1"] = {"entries": n, "seconds": elapsed, "entries_per_s": n / elapsed, "exact": ok, "problems": problems}
    log(f"B1: {n / elapsed:.0f} entries/s exact={ok} {problems}")

    # B1c: P processes at once, each into its own book.
    memory_sqlite = connection.vendor == "sqlite" and "memory" in str(connection.settings_dict["NAME"])
    if procs and procs > 1 and not memory_sqlite:
        out["B1c"] = _run_b1c(prefix, procs, n, day)
        if "entries_per_s" in out["B1c"]:
            out["B1c"]["ratio_to_B1"] = out["B1c"]["entries_per_s"] / out["B1"]["entries_per_s"]
        if connection.vendor == "sqlite":
            out["notes"].append("B1c on SQLite: one writer at a time (BEGIN IMMEDIATE); processes queue for the lock")
        log(f"B1c: {out['B1c']}")
    else:
        out["B1c"] = {"skipped": "in-memory SQLite test database or --procs < 2"}

    # B2: N entries in one transaction.
    # Bounded by a time budget: on PostgreSQL the batch gets slower with every entry (BENCHMARKS.md, finding 2),
    # and a 10,000-entry batch would take far longer than the run's budget. The rate is over what was posted.
    # As a CSV import posts: in a posting batch (ledger.services.posting_batch), told the file's keys.
    from ledger.services import posting_batch

    sb = _small_book(f"{prefix}B2", user, day)
    t0 = time.perf_counter()
    with posting_batch() as batch:
        batch.expect_keys(sb.book, [f"{prefix}b2-{i}" for i in range(len(amounts))])
        posted = _post_spends(sb, user, amounts, day, f"{prefix}b2", deadline=t0 + cfg.get("b2_budget", 600),
                              batch=batch)
    elapsed = time.perf_counter() - t0
    ok, problems = _check_small(sb, amounts[:posted])
    out["B2"] = {"entries": posted, "seconds": elapsed, "entries_per_s": posted / elapsed, "exact": ok,
                 "problems": problems}
    if posted < n:
        out["B2"]["stopped"] = f"time budget of {cfg.get('b2_budget')} s reached after {posted} of {n} entries"
        out["notes"].append(f"B2 {out['B2']['stopped']} (the rate falls as the batch grows)")
    log(f"B2: {posted / elapsed:.0f} entries/s over {posted} entries exact={ok} {problems}")

    # B3: balance of one account at a past date.
    from ledger.models import from_minor

    debit, credit = _sql_sum(bank.pk, as_of)
    truth = from_minor(debit - credit)
    selectors.account_balance(bank, as_of=as_of)  # one warm-up call (connection, query plans)
    samples, exact = [], True
    for _ in range(cfg["b3_calls"]):
        t = time.perf_counter()
        value = selectors.account_balance(bank, as_of=as_of)
        samples.append(time.perf_counter() - t)
        exact = exact and value == truth
    out["B3"] = {**common.summary_ms(samples), "as_of": as_of.isoformat(), "value": str(value), "sql_sum": str(truth),
                 "legs_on_account": m // 2, "exact": exact and big["info"]["verified"]}
    log(f"B3: median {out['B3']['median_ms']:.2f} ms exact={exact}")

    # B4: trial balance for the year.
    truth_rows = {a.pk: _sql_sum(a.pk, today) for a in big["accounts"]}
    samples, exact, problems = [], big["info"]["verified"], []
    for _ in range(3):
        t = time.perf_counter()
        rows = selectors.trial_balance(big["book"], as_of=today)
        samples.append(time.perf_counter() - t)
        total_debit = sum((r.debit for r in rows), Decimal(0))
        total_credit = sum((r.credit for r in rows), Decimal(0))
        if total_debit != total_credit:
            exact = False
            problems.append(f"debits {total_debit} != credits {total_credit}")
        for r in rows:
            d, c = truth_rows[r.account.pk]
            if r.debit - r.credit != Decimal(d - c) / 100:
                exact = False
                problems.append(f"account {r.account.code}: {r.debit - r.credit} vs SQL {Decimal(d - c) / 100}")
        if len(rows) != sum(1 for d, c in truth_rows.values() if d or c):
            exact = False
            problems.append("row count differs from SQL")
    out["B4"] = {"seconds": statistics.median(samples), "samples_s": samples, "accounts": len(rows),
                 "debits": str(total_debit), "credits": str(total_credit), "exact": exact,
                 "problems": "; ".join(sorted(set(problems)))}
    log(f"B4: {out['B4']['seconds'] * 1000:.1f} ms exact={exact}")
    return out


# --------------------------------------------------------------------------------------------- peer and ceiling


def run_hordak(url: str, cfg: dict) -> dict:
    if not HORDAK_PYTHON.exists():
        return {"error": f"{HORDAK_PYTHON} missing: run `make bench-venv` (pip install -r bench/requirements-hordak.txt)"}
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["DATABASE_URL"] = url
    cmd = [str(HORDAK_PYTHON), str(BENCH / "hordak_bench.py"), "--n", str(cfg["n"]), "--m", str(cfg["m"]),
           "--b3-calls", str(cfg["b3_calls"]), "--b3-budget", str(cfg["hordak_b3_budget"])]
    log("running django-hordak: " + " ".join(cmd[1:]))
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=3600)
    sys.stderr.write(proc.stderr[-4000:])
    if proc.returncode != 0:
        return {"error": f"hordak_bench.py exited {proc.returncode}: {proc.stderr.strip().splitlines()[-1:]}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


PGBENCH_ONE = "INSERT INTO ceiling_one (v) VALUES (1);\n"
PGBENCH_THREE = """\\set amount random(100, 500000)
BEGIN;
INSERT INTO ceiling_entry (book_id, memo) VALUES (1, 'x');
INSERT INTO ceiling_leg (entry_id, debit, credit) VALUES (currval('ceiling_entry_id_seq'), :amount, 0);
INSERT INTO ceiling_leg (entry_id, debit, credit) VALUES (currval('ceiling_entry_id_seq'), 0, :amount);
END;
"""


def run_pgbench(url: str, seconds: int) -> dict:
    """The PostgreSQL ceiling on this machine: committed single-client transactions per second."""
    from urllib.parse import urlsplit

    import psycopg

    exe = shutil.which("pgbench") or "/usr/lib/postgresql/15/bin/pgbench"
    if not Path(exe).exists():
        return {"error": "pgbench not found"}
    with psycopg.connect(common.pg_conninfo(url), autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS ceiling_leg, ceiling_entry, ceiling_one")
        conn.execute("CREATE TABLE ceiling_one (id bigserial PRIMARY KEY, v int NOT NULL)")
        conn.execute("CREATE TABLE ceiling_entry (id bigserial PRIMARY KEY, book_id int NOT NULL, memo text NOT NULL)")
        conn.execute(
            "CREATE TABLE ceiling_leg (id bigserial PRIMARY KEY, entry_id bigint NOT NULL REFERENCES ceiling_entry, "
            "debit bigint NOT NULL, credit bigint NOT NULL)"
        )
    parts = urlsplit(url)
    env = dict(os.environ)
    if parts.password:
        env["PGPASSWORD"] = parts.password
    base = [exe, "-n", "-c", "1", "-j", "1", "-T", str(seconds), "-h", parts.hostname or "127.0.0.1",
            "-p", str(parts.port or 5432), "-U", parts.username or "postgres"]
    out = {"pgbench": exe, "seconds": seconds, "clients": 1}
    with tempfile.TemporaryDirectory() as tmp:
        for name, script in (("one_insert", PGBENCH_ONE), ("three_insert_txn", PGBENCH_THREE)):
            path = Path(tmp) / f"{name}.sql"
            path.write_text(script)
            proc = subprocess.run([*base, "-f", str(path), parts.path.lstrip("/")], env=env, capture_output=True,
                                  text=True, timeout=seconds + 120)
            found = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", proc.stdout)
            if proc.returncode != 0 or not found:
                out[name] = {"error": (proc.stderr or proc.stdout)[-500:]}
            else:
                out[name] = {"tps": float(found.group(1))}
            log(f"pgbench {name}: {out[name]}")
    with psycopg.connect(common.pg_conninfo(url)) as conn:
        one = conn.execute("SELECT count(*) FROM ceiling_one").fetchone()[0]
        entries = conn.execute("SELECT count(*) FROM ceiling_entry").fetchone()[0]
        legs, unbalanced = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE s <> 0) FROM (SELECT entry_id, SUM(debit - credit) s "
            "FROM ceiling_leg GROUP BY entry_id) t"
        ).fetchone()
    out["rows"] = {"one": one, "entries": entries, "entries_with_legs": legs, "unbalanced": unbalanced}
    out["exact"] = one > 0 and entries == legs and unbalanced == 0
    return out


# --------------------------------------------------------------------------------------------- verdicts


def _get(d: dict, *keys):
    for key in keys:
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return d


def verdicts(result: dict) -> list[dict]:
    """One row per goal of the issue: our figure, the peer's, the ratio, the goal and PASS/MISS."""
    ours, peer, ceiling = result["ours"], result.get("hordak") or {}, result.get("ceiling") or {}
    pg = result["vendor"] == "postgresql"
    rows = []
    if "B1" not in ours:  # --apps-only
        return app_verdicts(result.get("apps"), pg)

    def row(name, unit, our, their, ratio, goal, passed, exact=True, note=""):
        if our is None:
            status = "n/a"
        elif not exact:
            status = "MISS (inexact)"
        elif passed is None:
            status = "n/a"
        else:
            status = "PASS" if passed else "MISS"
        rows.append({"benchmark": name, "unit": unit, "ours": our, "peer": their, "ratio": ratio, "goal": goal,
                     "status": status, "note": note})

    def ratio(a, b):
        return a / b if a is not None and b else None

    b1, hb1 = _get(ours, "B1", "entries_per_s"), _get(peer, "B1", "entries_per_s")
    b1_ok = bool(_get(ours, "B1", "exact")) and _get(peer, "checks", "B1") is not False
    r = ratio(b1, hb1)
    row("B1 post, 1 client, 1 entry/txn", "entries/s", b1, hb1, r, ">= 2x hordak transfer_to",
        None if r is None else r >= 2, b1_ok)
    one = _get(ceiling, "one_insert", "tps")
    if pg:
        r = ratio(b1, one)
        row("B1 vs PostgreSQL 1-INSERT ceiling", "entries/s vs tps", b1, one, r, ">= 30% of ceiling",
            None if r is None else r >= 0.30, b1_ok and ceiling.get("exact", True), "peer column: pgbench tps")
    b1c = _get(ours, "B1c", "entries_per_s")
    r = ratio(b1c, b1)
    row(f"B1c post, {_get(ours, 'B1c', 'processes') or '-'} processes, own books", "entries/s", b1c, None, r,
        ">= 1.5x B1", None if r is None else r >= 1.5, bool(_get(ours, "B1c", "exact")) if b1c else True,
        "" if pg else "SQLite: single writer, goal is for PostgreSQL")
    b2, hb2 = _get(ours, "B2", "entries_per_s"), _get(peer, "B2", "entries_per_s")
    b2_ok = bool(_get(ours, "B2", "exact")) and _get(peer, "checks", "B2") is not False
    r = ratio(b2, hb2)
    row("B2 batch of N in 1 txn", "entries/s", b2, hb2, r, ">= 2x hordak bulk_create",
        None if r is None else r >= 2, b2_ok, "peer: Transaction+Leg bulk_create")
    row("B2 absolute", "entries/s", b2, None, None, ">= 5,000/s on PostgreSQL",
        (b2 >= 5000) if (pg and b2) else None, b2_ok, "" if pg else "goal is for PostgreSQL")
    b3, hb3 = _get(ours, "B3", "median_ms"), _get(peer, "B3", "median_ms")
    b3_ok = bool(_get(ours, "B3", "exact")) and _get(peer, "checks", "B3") is not False
    row("B3 balance as of a past date (median)", "ms", b3, hb3, None, "<= 5 ms", None if b3 is None else b3 <= 5,
        b3_ok, f"p95 {_get(ours, 'B3', 'p95_ms') or 0:.2f} ms (hordak p95 {_get(peer, 'B3', 'p95_ms') or 0:.2f} ms)")
    r = ratio(hb3, b3)
    row("B3 speed-up over hordak get_balance", "x", r, None, r, ">= 50x", None if r is None else r >= 50, b3_ok)
    b4, hb4 = _get(ours, "B4", "seconds"), _get(peer, "B4", "seconds")
    b4_ok = bool(_get(ours, "B4", "exact")) and _get(peer, "checks", "B4") is not False
    row("B4 trial balance for a year", "s", b4, hb4, None, "<= 1 s", None if b4 is None else b4 <= 1, b4_ok,
        f"peer: {_get(peer, 'B4', 'api') or '-'}")
    r = ratio(hb4, b4)
    row("B4 speed-up over hordak with_balances", "x", r, None, r, ">= 10x", None if r is None else r >= 10, b4_ok)
    rows += app_verdicts(result.get("apps"), pg)
    if pg:
        three = _get(ceiling, "three_insert_txn", "tps")
        row("ceiling: pgbench 1 INSERT/txn, 1 client", "tps", one, None, None, "(reference)", None)
        row("ceiling: pgbench entry + 2 legs/txn, 1 client", "tps", three, None, None, "(reference)", None)
    return rows


def app_verdicts(apps: dict | None, pg: bool) -> list[dict]:
    """The table rows of B5-B7 (bench/apps.py)."""
    if not apps:
        return []
    rows = []

    def row(name, unit, our, goal, passed, exact=True, note="", ratio=None, error=None):
        if error:
            status, note = "ERROR", error[:160]
        elif our is None:
            status = "n/a"
        elif not exact:
            status = "MISS (inexact)"
        else:
            status = "n/a" if passed is None else ("PASS" if passed else "MISS")
        rows.append({"benchmark": name, "unit": unit, "ours": our, "peer": None, "ratio": ratio, "goal": goal,
                     "status": status, "note": note})

    b5 = apps.get("B5") or {}
    ok5 = b5.get("exact", True)
    annual, donor, receipt = _get(b5, "annual", "seconds"), _get(b5, "donor_statement", "median_ms"), \
        _get(b5, "receipt", "median_ms")
    row("B5 annual-report PDF, demo year", "s", annual, "<= 5 s", None if annual is None else annual <= 5, ok5,
        f"median of {len(_get(b5, 'annual', 'samples_s') or [])} after a cold render of "
        f"{_get(b5, 'annual', 'cold_seconds') or 0:.2f} s", error=b5.get("error"))
    row(f"B5 donor-statement PDF (median of {_get(b5, 'donor_statement', 'calls') or '-'} donors)", "ms", donor,
        "<= 200 ms", None if donor is None else donor <= 200, ok5,
        f"p95 {_get(b5, 'donor_statement', 'p95_ms') or 0:.0f} ms", error=b5.get("error"))
    row(f"B5 receipt PDF, receipt_pdf (median of {_get(b5, 'receipt', 'calls') or '-'})", "ms", receipt,
        "<= 50 ms", None if receipt is None else receipt <= 50, ok5,
        f"p95 {_get(b5, 'receipt', 'p95_ms') or 0:.1f} ms", error=b5.get("error"))

    b6 = apps.get("B6") or {}
    reads = b6.get("reads") or {}
    if b6.get("skipped"):
        row("B6 API reads / writes under load", "-", None, "PostgreSQL only", None, note="skipped on SQLite")
    else:
        ok6, err6 = b6.get("exact", False), b6.get("error")
        p99 = reads.get("p99_ms")
        solo = b6.get("reads_1_client") or {}
        row(f"B6 reads: open loop {reads.get('rate_per_s', '-')}/s for {reads.get('seconds', '-')} s, donor-statement "
            f"JSON, p99 from the scheduled send", "ms", p99, "p99 <= 150 ms, 0 errors",
            None if p99 is None else (p99 <= 150 and reads.get("errors") == 0), ok6,
            f"p50 {reads.get('p50_ms') or 0:.0f} / p95 {reads.get('p95_ms') or 0:.0f} ms, {reads.get('errors', '-')} "
            f"errors of {reads.get('scheduled', '-')}; client send lag p99 {reads.get('send_lag_p99_ms') or 0:.0f} ms; "
            f"1 client alone: p50 {solo.get('p50_ms') or 0:.0f} ms", error=err6)
        sat = b6.get("saturation") or {}
        sr, sp = sat.get("reads") or {}, sat.get("ping") or {}
        row(f"B6 read ceiling: closed loop, {sr.get('clients', '-')} clients, donor-statement JSON", "req/s",
            sr.get("per_s"), "(reference)", None, ok6,
            f"p50 {sr.get('p50_ms') or 0:.0f} / p99 {sr.get('p99_ms') or 0:.0f} ms, {sr.get('errors', '-')} errors",
            error=err6)
        ratio = sat.get("ratio_reads_to_ping")
        row(f"B6 framework ceiling: closed loop, {sp.get('clients', '-')} clients, trivial DRF GET /bench/ping/",
            "req/s", sp.get("per_s"), "(reference)", None, ok6,
            f"p50 {sp.get('p50_ms') or 0:.1f} ms, {sp.get('errors', '-')} errors; ratio = read ceiling / this",
            ratio=ratio, error=err6)
        one, spread = b6.get("writes_one_book") or {}, b6.get("writes_spread") or {}
        for label, w in (("1 book", one), (f"{spread.get('books', '-')} books", spread)):
            rate = w.get("per_s")
            row(f"B6 writes to {label}: {w.get('clients', '-')} clients, {w.get('requests', '-')} POST "
                f"{w.get('kind', 'donations')} + Idempotency-Key", "entries/s", rate, ">= 200/s, 0 errors",
                None if rate is None else (rate >= 200 and w.get("errors") == 0), ok6,
                f"p50 {w.get('p50_ms') or 0:.0f} / p99 {w.get('p99_ms') or 0:.0f} ms, {w.get('errors', '-')} errors, "
                f"{_get(w, 'replays', 'ok') or 0}/{_get(w, 'replays', 'sent') or 0} replays ok", error=err6)
        wr = b6.get("writes_ratio_one_to_spread")
        row("B6 writes: 1 book / 20 books (same requests, clients, count)", "x", wr, ">= 0.8 (lock only for the chain "
            "step)", None if wr is None else wr >= 0.8, ok6, "", ratio=wr, error=err6)
        if not err6:
            check = b6.get("check") or {}
            row(f"B6 ledger after the load ({check.get('books', '-')} books: verify_ledger, trial balance)", "-",
                "clean" if ok6 else "NOT CLEAN", "verified, debits = credits", ok6, True,
                (check.get("verify_ledger") or "")[:24] + "..." if ok6 else b6.get("problems", "")[:300])

    b7 = apps.get("B7") or {}
    seed = b7.get("seed") or {}
    secs = seed.get("seconds")
    seed_args = " ".join((apps.get("config") or {}).get("seed_args") or []) or "defaults"
    row(f"B7 seed_demo ({seed_args}), wall clock", "s", secs, "<= 60 s", None if secs is None else secs <= 60,
        seed.get("exact", True), f"CPU {seed.get('cpu_seconds') or 0:.1f} s, peak RSS {seed.get('peak_rss_mb') or 0:.0f} MB",
        error=seed.get("error") or b7.get("error"))
    demo, big = b7.get("gl_demo") or {}, b7.get("gl_big") or {}
    base = _get(b7, "baseline", "peak_rss_mb")
    if demo:
        rss = demo.get("peak_rss_mb")
        row(f"B7 general-ledger CSV, demo year ({demo.get('legs') or demo.get('expected_legs') or 0:,} legs), peak RSS",
            "MB", rss, "<= 200 MB", None if rss is None else rss <= 200, demo.get("exact", False),
            f"{demo.get('seconds') or 0:.1f} s; a bare manage.py: {base or 0:.0f} MB", error=demo.get("error"))
    if big:
        rss = big.get("peak_rss_mb")
        grow = rss / demo["peak_rss_mb"] if rss and demo.get("peak_rss_mb") else None
        row(f"B7 general-ledger CSV, M = {big.get('legs') or big.get('expected_legs') or 0:,} legs, peak RSS", "MB", rss,
            "<= 200 MB", None if rss is None else rss <= 200, big.get("exact", False),
            f"{big.get('seconds') or 0:.1f} s (start-up included); ratio = RSS / the demo year's",
            ratio=grow, error=big.get("error"))
    return rows


def _fmt(value, unit=""):
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if unit == "ms":
        return f"{value:.2f}"
    if unit == "s":
        return f"{value:.3f}"
    if unit == "x" or (isinstance(value, float) and value < 10):
        return f"{value:.2f}"
    return f"{value:,.0f}"


def table(rows: list[dict]) -> str:
    lines = ["| benchmark | unit | ours | hordak / ceiling | ratio | goal | result | note |",
             "|---|---|---:|---:|---:|---|---|---|"]
    for r in rows:
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}"
        lines.append(f"| {r['benchmark']} | {r['unit']} | {_fmt(r['ours'], r['unit'])} | {_fmt(r['peer'], r['unit'])} "
                     f"| {ratio} | {r['goal']} | {r['status']} | {r['note']} |")
    return "\n".join(lines)


def machine(url: str, vendor: str) -> dict:
    info = {"nproc": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    try:
        with open("/proc/meminfo") as f:
            info["memory_gib"] = round(int(f.readline().split()[1]) / 1024 / 1024, 1)
        with open("/proc/cpuinfo") as f:
            model = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
            info["cpu"] = model[0] if model else ""
    except OSError:
        pass
    import django

    info["django"] = django.get_version()
    try:
        info["load_average_at_start"] = os.getloadavg()  # the machine is shared: say how busy it was
    except OSError:
        pass
    if vendor == "postgresql":
        info["postgresql"] = common.pg_server_version(url)
    else:
        import sqlite3

        info["sqlite"] = sqlite3.sqlite_version
    return info


def write_results(result: dict, out_dir: Path, name: str) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2, default=str))
    tmp.replace(path)
    return path


def all_exact(result: dict) -> bool:
    ours = result["ours"]
    flags = [ours[k]["exact"] for k in ("B1", "B2", "B3", "B4") if k in ours]
    if "exact" in ours.get("B1c", {}):
        flags.append(ours["B1c"]["exact"])
    flags += list((result.get("hordak") or {}).get("checks", {}).values())
    if result.get("ceiling") and "exact" in result["ceiling"]:
        flags.append(result["ceiling"]["exact"])
    apps = result.get("apps") or {}
    for part in (apps.get("B5"), apps.get("B6"), *(apps.get("B7") or {}).values()):
        if isinstance(part, dict) and "exact" in part:
            flags.append(part["exact"])
    return all(flags)


class LoadSampler:
    """The 1-minute load average every 10 s during the run (the machine is shared: say how busy it was)."""

    def __init__(self, every: float = 10.0):
        import threading

        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every,), daemon=True)

    def _run(self, every: float) -> None:
        while True:
            self.samples.append(round(os.getloadavg()[0], 2))
            if self._stop.wait(every):
                return

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def summary(self) -> dict:
        s = self.samples or [0.0]
        return {"min": min(s), "max": max(s), "mean": round(sum(s) / len(s), 2), "samples": len(s)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=sorted(MODES), default="quick")
    parser.add_argument("--n", type=int, help="entries for B1/B2 (overrides the mode)")
    parser.add_argument("--m", type=int, help="legs in the book for B3/B4 (overrides the mode)")
    parser.add_argument("--procs", type=int, help="processes for B1c (overrides the mode)")
    parser.add_argument("--ours-only", action="store_true", help="skip django-hordak and pgbench")
    parser.add_argument("--apps-only", action="store_true",
                        help="B5-B7 only (the big book is still loaded for B7's general ledger)")
    parser.add_argument("--no-apps", action="store_true", help="B1-B4 only (no B5-B7)")
    parser.add_argument("--only-apps", default="B5,B6,B7", help="which of B5,B6,B7 to run (default: all)")
    parser.add_argument("--b6-writes", choices=["donations", "entries"], default="donations",
                        help="what B6 writes: gifts through the donations endpoint (the default, issue 8's workload) "
                             "or manual journal entries (the earlier runs in BENCHMARKS.md)")
    parser.add_argument("--force-b6", action="store_true",
                        help="run B6 on SQLite too (the test suite does, to exercise the load client)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--profile", action="store_true",
                        help="profile B1 with pyinstrument (pip install pyinstrument in the project venv; not a "
                             "project requirement); writes <name>-B1-profile.txt beside the JSON")
    args = parser.parse_args(argv)
    cfg = dict(MODES[args.mode])
    for key in ("n", "m", "procs"):
        if getattr(args, key) is not None:
            cfg[key] = getattr(args, key)

    with LoadSampler() as sampler:
        code = _main(args, cfg, sampler)
    return code


def _main(args, cfg, sampler) -> int:
    url = common.env_url()
    vendor = common.vendor_of(url)
    t0 = time.perf_counter()
    scratch = common.scratch_database(url, pg_name=common.scratch_base(url), sqlite_file="bench.sqlite3")
    os.environ["DATABASE_URL"] = scratch
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "charity.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    call_command("migrate", verbosity=0, interactive=False)
    log(f"scratch database {common.with_database(scratch, '') if vendor == 'postgresql' else scratch} migrated "
        f"in {time.perf_counter() - t0:.1f}s; mode {args.mode} {cfg}")
    result = {
        "name": f"{vendor}-{args.mode}", "vendor": vendor, "mode": args.mode, "config": cfg,
        "started": dt.datetime.now().isoformat(timespec="seconds"), "machine": machine(scratch, vendor),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
    }
    if args.apps_only:
        from django.utils import timezone

        today = timezone.localdate()
        big = load_big_book("BIG", _user("bench"), cfg["m"], today)
        result["ours"] = {"load": big["info"], "notes": [], "big_book": {
            "code": "BIG", "from": today - dt.timedelta(days=366), "to": today, "legs": big["info"]["legs"]}}
    else:
        result["ours"] = run_ours(cfg, profile=args.profile)
    profile_text = result["ours"].pop("profile_text", None)
    if profile_text:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / f"{vendor}-{args.mode}-B1-profile.txt").write_text(profile_text)
    connections.close_all()
    if not args.ours_only and not args.apps_only:
        result["hordak"] = run_hordak(url, cfg)
        if vendor == "postgresql":
            result["ceiling"] = run_pgbench(scratch, cfg["pgbench_seconds"])
    if not args.no_apps:
        import apps

        big_book = dict(result["ours"]["big_book"], url=scratch)
        result["apps"] = apps.run_apps(url, args.mode, big_book=big_book, force_b6=args.force_b6,
                                       only=set(args.only_apps.split(",")), b6_writes=args.b6_writes)
        result["machine"]["load_average_after_apps"] = os.getloadavg()
    result["verdicts"] = verdicts(result)
    result["table"] = table(result["verdicts"])
    result["exact"] = all_exact(result)
    result["seconds"] = time.perf_counter() - t0
    result["machine"]["load_average_at_end"] = os.getloadavg()
    result["machine"]["load_average_1m_during_run"] = sampler.summary()
    if args.apps_only:
        result["name"] += "-apps"
    path = write_results(result, args.out, result["name"])
    for part in ("B5", "B6", "B7"):  # each of B5-B7 also in a file of its own
        if part in (result.get("apps") or {}):
            write_results({"name": f"{vendor}-{args.mode}-{part}", "vendor": vendor, "mode": args.mode,
                           "started": result["started"], "machine": result["machine"],
                           "demo_database": result["apps"].get("demo_database"), "config": result["apps"]["config"],
                           part: result["apps"][part],
                           "verdicts": [r for r in result["verdicts"] if r["benchmark"].startswith(part)]},
                          args.out, f"{vendor}-{args.mode}-{part}")
    print(f"\n{vendor} / {args.mode}: N={cfg['n']:,} M={cfg['m']:,} ({result['seconds']:.0f} s) -> "
          f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}\n")
    print(result["table"])
    notes = result["ours"].get("notes", []) + (result.get("hordak") or {}).get("notes", [])
    if (result.get("hordak") or {}).get("error"):
        notes.append("hordak: " + result["hordak"]["error"])
    b6 = (result.get("apps") or {}).get("B6") or {}
    if b6.get("donations_endpoint") and (b6.get("writes") or {}).get("kind") == "entries":
        notes.append("B6: the writes POST manual journal entries (--b6-writes entries); the default is donations")
    m = result["machine"]
    notes.append(f"machine: {m.get('nproc')} CPUs, {m.get('memory_gib')} GiB; 1-minute load average during the run "
                 f"{m['load_average_1m_during_run']['min']}-{m['load_average_1m_during_run']['max']} "
                 f"(mean {m['load_average_1m_during_run']['mean']})")
    for note in notes:
        print(f"- {note}")
    if not result["exact"]:
        print("\nAN EXACTNESS CHECK FAILED: see the JSON for the problem", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
