"""Legs partitioned by year (docs/scale.md): B3/B4 on the big benchmark book, before and after, in one run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ctl_bench_part .venv/bin/python bench/partition.py [--m M]

PostgreSQL only. It makes the scratch database ``<base>`` (named as bench/run.py names its own), migrates it and
loads the B3/B4 book of M legs exactly as bench/run.py does (``load_big_book``: posting batches, every guard, the
monthly closes, ``verify_book``). Then ``CREATE DATABASE <base>_part TEMPLATE <base>`` copies it, and on the copy
``ledger_leg`` and ``ledger_dailybalance`` become tables ``PARTITION BY RANGE (date)`` with one partition a year
(rows copied, every index re-created on the partitioned table, a unique one with ``date`` added since a
partitioned table's unique keys must hold its partition key; foreign keys that point at a leg are dropped, since
they cannot point at ``(id)`` alone any more). Each database is measured by a child process of this script
(``measure``), alternately before / after / before / after, so the ratios come from the same minutes of the
machine:

B3   ``account_balance(bank, as_of=today-45d)``, median of 50 after one warm-up (must equal a SUM over the legs)
B4   ``trial_balance(book, as_of=today)``, median of 3
G1   the legs of the bank account in one month (what a general ledger over a month reads): SELECT count, sum
     over ``ledger_leg`` by account and date range, median of 20
GY   the same over the last year's first half (pruning leaves one or two partitions)

Writes bench/results/postgresql-partition-<M>.json and prints a table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]

import common  # noqa: E402

PARTITIONED = ("ledger_leg", "ledger_dailybalance")


def log(msg: str) -> None:
    print(f"[{dt.datetime.now():%H:%M:%S}] {msg}", flush=True)


def _setup(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "charity.settings")
    import django

    django.setup()


def build(url: str, m: int) -> dict:
    """Migrate the scratch database and load the big book into it (bench/run.py's loader)."""
    _setup(url)
    from django.core.management import call_command
    from django.db import connections
    from django.utils import timezone

    import run

    call_command("migrate", verbosity=0, interactive=False)
    big = run.load_big_book("BIG", run._user("bench"), m, timezone.localdate())
    info = {k: v for k, v in big["info"].items()}
    connections.close_all()
    return info


def partition_copy(url: str, source: str, target: str) -> dict:
    """Copy ``source`` to ``target`` and partition the copy's legs and daily balances by year."""
    import psycopg

    t0 = time.perf_counter()
    with psycopg.connect(common.pg_conninfo(common.with_database(url, "postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{target}" TEMPLATE "{source}"')
    copy_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    partitions = {}
    with psycopg.connect(common.pg_conninfo(common.with_database(url, target))) as conn:
        for table in PARTITIONED:
            partitions[table] = _partition_table(conn, table)
        conn.commit()
        conn.autocommit = True
        conn.execute("ANALYZE")
    return {"copy_seconds": copy_s, "partition_seconds": time.perf_counter() - t0, "partitions": partitions}


def _partition_table(conn, table: str) -> list[str]:
    old = f"{table}_unpartitioned"
    lo, hi = conn.execute(f"SELECT min(date), max(date) FROM {table}").fetchone()
    lo, hi = lo or dt.date.today(), hi or dt.date.today()
    indexes = [row[0] for row in conn.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s", [table])]
    # Foreign keys that point at this table (e.g. allocations at their legs) cannot point at (id) once the
    # table's unique keys must hold the partition key: dropped here, and docs/scale.md says what replaces them.
    referencing = conn.execute(
        "SELECT conrelid::regclass::text, conname FROM pg_constraint WHERE confrelid = %s::regclass AND contype = 'f'",
        [table],
    ).fetchall()
    for rel, name in referencing:
        conn.execute(f'ALTER TABLE {rel} DROP CONSTRAINT "{name}"')
    conn.execute(f"ALTER TABLE {table} RENAME TO {old}")
    conn.execute(f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS) PARTITION BY RANGE (date)")
    names = []
    for year in range(lo.year, hi.year + 2):  # one partition a year, and next year's ready before 1 January
        name = f"{table}_y{year}"
        conn.execute(f"CREATE TABLE {name} PARTITION OF {table} FOR VALUES FROM ('{year}-01-01') TO ('{year + 1}-01-01')")
        names.append(name)
    conn.execute(f"INSERT INTO {table} SELECT * FROM {old}")
    for definition in indexes:
        head, _, rest = definition.partition(" ON ")
        columns = re.search(r"\((.*?)\)", rest).group(1)
        rest = rest.replace(f"public.{table} ", f"public.{table}_p ", 1)
        rest = rest.replace(f"{table}_p ", f"{table} ", 1)
        if "UNIQUE" in head and "date" not in [c.strip() for c in columns.split(",")]:
            rest = rest.replace(f"({columns})", f"({columns}, date)", 1)
        index_name = head.split()[-1]
        conn.execute(f"{head.replace(index_name, index_name + '_p')} ON {rest}")
    conn.execute(f"DROP TABLE {old} CASCADE")
    return names


# ------------------------------------------------------------------------------------------------------ measuring


def measure(url: str) -> dict:
    _setup(url)
    from django.db import connection
    from django.utils import timezone

    from ledger import selectors
    from ledger.models import Account, Book, from_minor

    today = timezone.localdate()
    as_of = today - dt.timedelta(days=45)
    book = Book.objects.get(code="BIG")
    bank = Account.objects.filter(book=book).order_by("code").first()
    with connection.cursor() as cur:
        cur.execute("SELECT coalesce(sum(debit_cny), 0), coalesce(sum(credit_cny), 0) FROM ledger_leg "
                    "WHERE account_id = %s AND date <= %s", [bank.pk, as_of])
        d, c = cur.fetchone()
    truth = from_minor(d - c)
    selectors.account_balance(bank, as_of=as_of)
    b3, exact = [], True
    for _ in range(50):
        t = time.perf_counter()
        value = selectors.account_balance(bank, as_of=as_of)
        b3.append(time.perf_counter() - t)
        exact = exact and value == truth
    b4 = []
    for _ in range(3):
        t = time.perf_counter()
        rows = selectors.trial_balance(book, as_of=today)
        b4.append(time.perf_counter() - t)
    even = sum(r.debit for r in rows) == sum(r.credit for r in rows)

    def legs_between(start: dt.date, stop: dt.date, repeat: int) -> list[float]:
        samples = []
        with connection.cursor() as cur:
            for _ in range(repeat + 1):
                t = time.perf_counter()
                cur.execute("SELECT count(*), coalesce(sum(debit_cny - credit_cny), 0) FROM ledger_leg "
                            "WHERE account_id = %s AND date BETWEEN %s AND %s", [bank.pk, start, stop])
                cur.fetchone()
                samples.append(time.perf_counter() - t)
        return samples[1:]  # the first is the warm-up

    month_start = as_of.replace(day=1)
    g1 = legs_between(month_start, (month_start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1), 20)
    year_ago = today - dt.timedelta(days=365)
    gy = legs_between(year_ago, year_ago + dt.timedelta(days=182), 5)
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM ledger_leg")
        legs = cur.fetchone()[0]
        cur.execute("SELECT pg_total_relation_size(c.oid) FROM pg_class c WHERE relname = 'ledger_leg'")
        size = cur.fetchone()[0]
        cur.execute("SELECT relkind FROM pg_class WHERE relname = 'ledger_leg'")
        kind = cur.fetchone()[0]
    return {
        "legs": legs, "relkind": kind, "ledger_leg_bytes_parent": size,
        "B3": {**common.summary_ms(b3), "exact": exact, "value": str(value)},
        "B4": {"median_ms": statistics.median(b4) * 1000, "even": even, "accounts": len(rows)},
        "G1_month_legs": common.summary_ms(g1),
        "GY_half_year_legs": common.summary_ms(gy),
    }


def _measure_child(url: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "measure", url], capture_output=True, text=True, check=True,
                         env={**os.environ, "DATABASE_URL": url})
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", nargs="?", default="run", choices=["run", "measure"])
    parser.add_argument("url", nargs="?")
    parser.add_argument("--m", type=int, default=100_000, help="legs in the big book (default 100,000)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating before/after measurements")
    args = parser.parse_args(argv)
    if args.what == "measure":
        print(json.dumps(measure(args.url), default=str))
        return 0
    url = common.env_url()
    if common.vendor_of(url) != "postgresql":
        print("partition.py needs PostgreSQL (DATABASE_URL=postgres://...)", file=sys.stderr)
        return 2
    base = common.scratch_base(url)
    t0 = time.perf_counter()
    source = common.scratch_database(url, pg_name=base, sqlite_file="")
    log(f"loading the big book, M={args.m:,} legs, into {base}")
    load = build(source, args.m)
    log(f"loaded: {load}")
    part = partition_copy(url, base, f"{base}_part")
    log(f"partitioned copy {base}_part: {part}")
    target = common.with_database(url, f"{base}_part")
    rounds = []
    for i in range(args.rounds):
        before = _measure_child(source)
        after = _measure_child(target)
        rounds.append({"before": before, "after": after})
        log(f"round {i + 1}: B3 {before['B3']['median_ms']:.2f} -> {after['B3']['median_ms']:.2f} ms, "
            f"B4 {before['B4']['median_ms']:.1f} -> {after['B4']['median_ms']:.1f} ms, "
            f"G1 {before['G1_month_legs']['median_ms']:.2f} -> {after['G1_month_legs']['median_ms']:.2f} ms, "
            f"GY {before['GY_half_year_legs']['median_ms']:.1f} -> {after['GY_half_year_legs']['median_ms']:.1f} ms")

    def med(side, *keys):
        values = []
        for r in rounds:
            v = r[side]
            for k in keys:
                v = v[k]
            values.append(v)
        return statistics.median(values)

    table = []
    for label, keys in (("B3 balance at a past date, median", ("B3", "median_ms")),
                        ("B4 trial balance for the year", ("B4", "median_ms")),
                        ("G1 one account's legs in one month", ("G1_month_legs", "median_ms")),
                        ("GY one account's legs over half a year", ("GY_half_year_legs", "median_ms"))):
        b, a = med("before", *keys), med("after", *keys)
        table.append({"figure": label, "before_ms": b, "after_ms": a, "after_over_before": a / b if b else None})
    exact = all(r[s]["B3"]["exact"] and r[s]["B4"]["even"] for r in rounds for s in ("before", "after"))
    result = {
        "name": f"postgresql-partition-{args.m}", "m": args.m, "load": load, "partitioning": part,
        "rounds": rounds, "table": table, "exact": exact, "seconds": time.perf_counter() - t0,
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "load_average_at_end": os.getloadavg(), "started": dt.datetime.now().isoformat(timespec="seconds"),
    }
    out = HERE / "results" / f"postgresql-partition-{args.m}.json"
    out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"\nM={args.m:,} legs ({load['entries']:,} entries), {len(rounds)} alternating rounds -> {out.relative_to(ROOT)}")
    print("| figure | unpartitioned | by year | after / before |\n|---|---:|---:|---:|")
    for row in table:
        print(f"| {row['figure']} | {row['before_ms']:.2f} ms | {row['after_ms']:.2f} ms | {row['after_over_before']:.2f} |")
    print(f"exact: {exact}")
    return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(main())
