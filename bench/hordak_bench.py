"""The peer: django-hordak driven through its public API on the same database server as our ledger.

Run with bench/.venv-hordak/bin/python (bench/run.py does it); prints one JSON object on the last line of
stdout. Makes its own scratch database: PostgreSQL ``<base>_hordak`` (``ctl_bench_hordak`` by default; see ``common.scratch_base``) or SQLite ``var/bench_hordak.sqlite3``.

  B1  N x ``Account.transfer_to`` (one DB transaction each, hordak's own @atomic)
  B2  N transactions in one DB transaction through hordak's bulk path, the one its own
      ``create_benchmark_transactions`` command uses: ``Transaction.objects.bulk_create`` + ``Leg.objects.bulk_create``
      (and, for information, N x ``transfer_to`` inside one ``atomic()``)
  B3  ``Account.get_balance(as_of=...)`` on the bank account of a book of M legs
  B4  ``Account.objects.with_balances()`` (PostgreSQL: hordak's GET_BALANCE function; on SQLite hordak ships no
      such function, so ``with_balances_orm()``, hordak's ORM fallback, is used and noted)
Every timed result is checked against an independent SUM in SQL.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402


def log(msg: str) -> None:
    print(f"[hordak] {msg}", file=sys.stderr, flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--m", type=int, required=True)
    parser.add_argument("--b3-calls", type=int, default=50)
    parser.add_argument("--b3-budget", type=float, default=30.0, help="stop B3 after this many seconds (>= 5 calls)")
    args = parser.parse_args(argv)

    url = common.env_url()
    vendor = common.vendor_of(url)
    os.environ["HORDAK_DATABASE_URL"] = common.scratch_database(
        url, pg_name=common.scratch_base(url) + "_hordak", sqlite_file="bench_hordak.sqlite3"
    )
    os.environ["DJANGO_SETTINGS_MODULE"] = "hordak_settings"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from djmoney.money import Money
    from hordak.models import Account, Leg, Transaction
    import hordak

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0, run_syncdb=True)
    log(f"migrated in {time.perf_counter() - t0:.1f}s")
    result: dict = {"peer": "django-hordak", "version": getattr(hordak, "__version__", "2.0.0"), "vendor": vendor,
                    "notes": [], "checks": {}}
    from importlib.metadata import version

    result["version"] = version("django-hordak")
    if vendor == "sqlite":
        result["notes"].append("hordak does not support SQLite (its migrations refuse it); its tables were made from "
                               "its models without its triggers, so it does less checking here than on PostgreSQL")
    type_map = {"asset": "AS", "liability": "LI", "net_assets": "EQ", "income": "IN", "expense": "EX"}

    def make_accounts(prefix: str, chart):
        # hordak account codes are at most 6 characters: one letter per book plus our 4-digit code
        made = {}
        for code, name, kind in chart:
            made[code] = Account.objects.create(
                name=f"{prefix} {name}", code=f"{prefix}{code}", type=type_map[kind], currencies=["CNY"]
            )
        return made

    def sql_balance(account_id: int, as_of=None) -> Decimal:
        q = "SELECT COALESCE(SUM(debit), 0) - COALESCE(SUM(credit), 0) FROM hordak_leg L"
        params = [account_id]
        if as_of is not None:
            q += " JOIN hordak_transaction T ON T.id = L.transaction_id WHERE L.account_id = %s AND T.date <= %s"
            params.append(as_of)
        else:
            q += " WHERE L.account_id = %s"
        with connection.cursor() as cur:
            cur.execute(q, params)
            return Decimal(str(cur.fetchone()[0])).quantize(Decimal("0.01"))

    today = dt.date.today()
    day = today - dt.timedelta(days=1)
    amounts = [Decimal(100 + (i * 7919) % 50_000) / 100 for i in range(args.n)]
    expected = sum(amounts, Decimal(0))

    # The big book for B3/B4: M legs over a year, loaded the way hordak's own benchmark command does.
    acc = make_accounts("D", common.BIG_CHART)
    by_index = [acc[code] for code, _, _ in common.BIG_CHART]
    t0 = time.perf_counter()
    txs, legs, loaded = [], [], 0

    def flush():
        with transaction.atomic():
            made = Transaction.objects.bulk_create(txs)
            pending = []
            for tx, (dr, cr, money) in zip(made, legs):
                pending.append(Leg(transaction=tx, account=dr, debit=money))
                pending.append(Leg(transaction=tx, account=cr, credit=money))
            Leg.objects.bulk_create(pending, batch_size=5000)

    for date, counter, bank_debit, fen in common.big_book_plan(args.m, today):
        money = Money(Decimal(fen) / 100, "CNY")
        other = by_index[counter]
        txs.append(Transaction(date=date, description=""))
        legs.append((by_index[0], other, money) if bank_debit else (other, by_index[0], money))
        if len(txs) >= 20000:
            flush()
            loaded += len(txs)
            txs, legs = [], []
    if txs:
        flush()
    load_s = time.perf_counter() - t0
    result["load"] = {"legs": Leg.objects.filter(account__in=by_index).count(), "seconds": load_s}
    log(f"loaded {result['load']['legs']} legs in {load_s:.1f}s")
    if vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("ANALYZE")

    # B1: transfer_to, one DB transaction per entry.
    acc = make_accounts("A", [("1002", "Bank", "asset"), ("5101", "Program", "expense")])
    bank, expense = acc["1002"], acc["5101"]
    t0 = time.perf_counter()
    for i, amount in enumerate(amounts):
        bank.transfer_to(expense, Money(amount, "CNY"), date=day, description=f"b1-{i}")
    elapsed = time.perf_counter() - t0
    result["B1"] = {"entries": args.n, "seconds": elapsed, "entries_per_s": args.n / elapsed}
    ok = (Transaction.objects.filter(legs__account=bank).distinct().count() == args.n
          and sql_balance(expense.pk) == expected and sql_balance(bank.pk) == -expected)
    result["checks"]["B1"] = ok
    log(f"B1 transfer_to: {args.n / elapsed:.0f} entries/s, exact={ok}")

    # B2: hordak's bulk path (as in its create_benchmark_transactions command), one DB transaction.
    acc = make_accounts("B", [("1002", "Bank", "asset"), ("5101", "Program", "expense")])
    bank, expense = acc["1002"], acc["5101"]
    t0 = time.perf_counter()
    with transaction.atomic():
        txs = Transaction.objects.bulk_create(
            [Transaction(date=day, description=f"b2-{i}") for i in range(args.n)], batch_size=5000
        )
        legs = []
        for tx, amount in zip(txs, amounts):
            legs.append(Leg(transaction=tx, account=bank, credit=Money(amount, "CNY")))
            legs.append(Leg(transaction=tx, account=expense, debit=Money(amount, "CNY")))
        Leg.objects.bulk_create(legs, batch_size=5000)
    elapsed = time.perf_counter() - t0
    result["B2"] = {"entries": args.n, "seconds": elapsed, "entries_per_s": args.n / elapsed,
                    "path": "Transaction.objects.bulk_create + Leg.objects.bulk_create in one atomic()"}
    ok = sql_balance(expense.pk) == expected and sql_balance(bank.pk) == -expected
    result["checks"]["B2"] = ok
    log(f"B2 bulk_create: {args.n / elapsed:.0f} entries/s, exact={ok}")

    # B2 (information): N x transfer_to inside one atomic().
    acc = make_accounts("C", [("1002", "Bank", "asset"), ("5101", "Program", "expense")])
    bank, expense = acc["1002"], acc["5101"]
    t0 = time.perf_counter()
    with transaction.atomic():
        for i, amount in enumerate(amounts):
            bank.transfer_to(expense, Money(amount, "CNY"), date=day, description=f"b2l-{i}")
    elapsed = time.perf_counter() - t0
    ok = sql_balance(expense.pk) == expected
    result["B2_loop"] = {"entries": args.n, "seconds": elapsed, "entries_per_s": args.n / elapsed,
                         "path": "transfer_to x N inside one atomic()"}
    result["checks"]["B2_loop"] = ok
    log(f"B2 transfer_to in one atomic: {args.n / elapsed:.0f} entries/s, exact={ok}")

    # B3: balance of the bank account as of a past date.
    big_bank = by_index[0]
    as_of = today - dt.timedelta(days=45)
    truth = sql_balance(big_bank.pk, as_of)  # debit - credit; asset: positive normal
    samples, exact = [], True
    started = time.perf_counter()
    for i in range(args.b3_calls):
        t = time.perf_counter()
        balance = big_bank.get_balance(as_of=as_of)
        samples.append(time.perf_counter() - t)
        value = balance.monies()[0].amount if balance.monies() else Decimal(0)
        if Decimal(str(value)).quantize(Decimal("0.01")) != truth:
            exact = False
            if "B3 inexact" not in " ".join(result["notes"]):
                result["notes"].append(f"B3 inexact: get_balance gave {value!r}, SQL sum {truth}")
        if i >= 4 and time.perf_counter() - started > args.b3_budget:
            result["notes"].append(f"B3 stopped after {i + 1} calls (time budget {args.b3_budget}s)")
            break
    result["B3"] = {**common.summary_ms(samples), "as_of": as_of.isoformat(), "api": "Account.get_balance(as_of=...)",
                    "legs_on_account": big_bank.legs.count()}
    result["checks"]["B3"] = exact
    log(f"B3 get_balance: median {result['B3']['median_ms']:.2f} ms, exact={exact}")

    # B4: trial balance through with_balances().
    ids = [a.pk for a in by_index]
    if vendor == "postgresql":
        qs_fn, api = (lambda: Account.objects.filter(pk__in=ids).with_balances()), "Account.objects.with_balances()"
    else:
        qs_fn, api = (lambda: Account.objects.filter(pk__in=ids).with_balances_orm()), "with_balances_orm()"
        result["notes"].append("B4 on SQLite: hordak ships GET_BALANCE only for PostgreSQL/MySQL; used "
                               "with_balances_orm(), its ORM fallback")
    samples, exact = [], True
    truth = {pk: sql_balance(pk) for pk in ids}
    for _ in range(3):
        t = time.perf_counter()
        rows = list(qs_fn())
        samples.append(time.perf_counter() - t)
        debit_side = credit_side = Decimal(0)
        for row in rows:
            raw = row.balance
            value = raw.monies()[0].amount if hasattr(raw, "monies") and raw.monies() else raw
            value = Decimal(str(value or 0)).quantize(Decimal("0.01"))
            signed_truth = truth[row.pk] if row.type in ("AS", "EX") else -truth[row.pk]
            if value != signed_truth:
                exact = False
                result["notes"].append(f"B4 inexact: account {row.code} {value!r} vs SQL {signed_truth}")
            if row.type in ("AS", "EX"):
                debit_side += value
            else:
                credit_side += value
        if debit_side != credit_side:
            exact = False
            result["notes"].append(f"B4: debits {debit_side} != credits {credit_side}")
    result["B4"] = {"seconds": min(samples), "samples_s": samples, "api": api}
    result["checks"]["B4"] = exact
    log(f"B4 with_balances: {min(samples) * 1000:.0f} ms, exact={exact}")
    print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
