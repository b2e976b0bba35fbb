"""Reads of the books that need care: balances, the trial balance, allocations.

Balances never sum legs over the whole history. They start from the newest ``BalanceCheckpoint`` at or before
the date asked for (written at each period close) and add the ``DailyBalance`` rows after it: at most one row
per account, fund and day. ``movements`` reads both in one SQL statement through a raw cursor (finding the
checkpoint period with a subquery, summing its checkpoint rows and the daily rows after it with UNION ALL): a
balance costs one round trip and no ORM query compilation, whatever the size of the book. Signs follow the
account type: assets and expenses are debit-normal, the others credit-normal, so a normal balance is positive.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db import DEFAULT_DB_ALIAS as DEFAULT
from django.db import connections, router
from django.db.models import Sum

from .models import (
    DEBIT_NORMAL,
    NET_ASSET_TYPES,
    Account,
    AccountType,
    Allocation,
    AllocationKind,
    BalanceCheckpoint,
    Book,
    DailyBalance,
    Fund,
    FundSource,
    JournalEntry,
    Leg,
    Period,
    from_minor,
)


def read_connection():
    """The connection the books are read through: the one Django's database router names for reading the ledger
    (the primary unless the project routes reads elsewhere, e.g. to a standby for a report)."""
    return connections[router.db_for_read(Leg)]


def _checkpoint_cutoff(as_of: dt.date | None) -> dt.date | None:
    """The latest ``Period.month`` whose checkpoint may serve ``as_of``: a closed month counts only once its last
    day is on or before ``as_of``, so ``as_of``'s own month counts only when ``as_of`` is its last day."""
    if as_of is None:
        return None
    cutoff = as_of.replace(day=1)
    if _month_end(cutoff) != as_of:
        cutoff = (cutoff - dt.timedelta(days=1)).replace(day=1)
    return cutoff


def _month_end(first: dt.date) -> dt.date:
    nxt = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return nxt - dt.timedelta(days=1)


# The first day after a checkpoint period's month, from ``Period.month`` (always the first of a month), in SQL:
# the one expression that differs between the engines.
_MONTH_AFTER = {
    "sqlite": "date({month}, '+1 month')",
    "postgresql": "CAST({month} + INTERVAL '1 month' AS date)",
}
_GROUP_COLUMNS = frozenset({"account_id", "fund_id", "date"})
_BEFORE_ANY_DAY = dt.date(1, 1, 1)


def _movements_sql(vendor: str, *, book_id, as_of, since, account_ids, fund_ids, group) -> tuple[str, list]:
    """One statement: [the checkpoint rows of the newest usable closed period, UNION ALL] the daily rows after it.

    Indexes: ``ledger_period_unique`` (book, month) finds the period, ``ledger_checkpoint_unique`` (period,
    account, fund) its rows; the daily rows come from ``ledger_daily_balance_unique`` (account, fund, date),
    ``ledger_daily_account_date`` (account, date) or ``ledger_daily_book_date``, whichever the filters fit."""
    if vendor not in _MONTH_AFTER:
        raise NotImplementedError(f"balances are read with SQL written for {' and '.join(_MONTH_AFTER)}, not {vendor}")
    q = connections[DEFAULT].ops.quote_name
    cols = ", ".join(q(g) for g in group)
    date, month, debit, credit, book = q("date"), q("month"), q("debit"), q("credit"), q("book_id")
    period_t, checkpoint_t, daily_t = (q(m._meta.db_table) for m in (Period, BalanceCheckpoint, DailyBalance))

    def only(params: list) -> str:
        sql = ""
        for column, ids in (("account_id", account_ids), ("fund_id", fund_ids)):
            if ids is not None:
                sql += f" AND {q(column)} IN ({', '.join(['%s'] * len(ids))})"
                params.extend(ids)
        return sql

    if since is not None:  # what moved over since..as_of: daily rows only
        params = [book_id, since]
        sql = f"SELECT {cols}, SUM({debit}), SUM({credit}) FROM {daily_t} WHERE {book} = %s AND {date} >= %s"
        if as_of is not None:
            sql += f" AND {date} <= %s"
            params.append(as_of)
        sql += only(params) + f" GROUP BY {cols}"
        return sql, params

    cutoff = _checkpoint_cutoff(as_of)
    params = [book_id]
    sql = f"WITH cp AS (SELECT {q('id')}, {month} FROM {period_t} WHERE {book} = %s"
    if cutoff is not None:
        sql += f" AND {month} <= %s"
        params.append(cutoff)
    sql += (
        f" ORDER BY {month} DESC LIMIT 1)"
        f" SELECT {cols}, SUM({debit}), SUM({credit}) FROM ("
        f"SELECT {cols}, {debit}, {credit} FROM {checkpoint_t} WHERE {q('period_id')} = (SELECT {q('id')} FROM cp)"
    )
    sql += only(params)
    sql += (
        f" UNION ALL SELECT {cols}, {debit}, {credit} FROM {daily_t} WHERE {book} = %s"
        f" AND {date} >= COALESCE((SELECT {_MONTH_AFTER[vendor].format(month=month)} FROM cp), %s)"
    )
    params += [book_id, _BEFORE_ANY_DAY]
    if as_of is not None:
        sql += f" AND {date} <= %s"
        params.append(as_of)
    sql += only(params) + f") moved GROUP BY {cols}"
    return sql, params


def movements(
    book_id: int,
    *,
    as_of: dt.date | None = None,
    since: dt.date | None = None,
    account_ids=None,
    fund_ids=None,
    group=("account_id",),
    closing: bool = True,
) -> dict[tuple, list[int]]:
    """CNY [debit, credit] in fen per group key, cumulative through ``as_of`` (or for ``since``..``as_of``).

    ``group`` names columns of ``DailyBalance``: ``account_id``, ``fund_id``, and (with ``since`` only: a
    checkpoint has no day) ``date``. One SQL statement, through a raw cursor: this is the hot path of every
    balance and report. ``closing=False`` leaves closing entries (``JournalEntry.closing``) out: what a report
    of income and expenses reads, so that closing a year changes none of its figures; their legs (a few per
    account and fund a year) are read by one more grouped query and taken off."""
    group = tuple(group)
    if not group or not set(group) <= _GROUP_COLUMNS:
        raise ValueError(f"movements can group by {', '.join(sorted(_GROUP_COLUMNS))}, not {group!r}")
    if "date" in group and since is None:
        raise ValueError("a cumulative balance has no day to group by: pass since= to group by date")
    totals: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    account_ids = None if account_ids is None else list(account_ids)
    fund_ids = None if fund_ids is None else list(fund_ids)
    if account_ids == [] or fund_ids == []:
        return totals
    connection = read_connection()
    sql, params = _movements_sql(
        connection.vendor, book_id=book_id, as_of=as_of, since=since, account_ids=account_ids, fund_ids=fund_ids,
        group=group,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    days = group.index("date") if "date" in group else None
    for *key, debit, credit in rows:
        if days is not None and isinstance(key[days], str):  # SQLite gives the day back as text
            key[days] = dt.date.fromisoformat(key[days])
        total = totals[tuple(key)]
        total[0] += int(debit)  # PostgreSQL sums bigint into numeric: back to integer fen
        total[1] += int(credit)
    if not closing:
        for key, (debit, credit) in closing_movements(
            book_id, as_of=as_of, since=since, account_ids=account_ids, fund_ids=fund_ids, group=group
        ).items():
            total = totals[key]
            total[0] -= debit
            total[1] -= credit
            if total == [0, 0]:
                del totals[key]
    return totals


def closing_movements(book_id: int, *, as_of=None, since=None, account_ids=None, fund_ids=None,
                      group=("account_id",)) -> dict[tuple, list[int]]:
    """CNY [debit, credit] in fen per group key of the closing entries' legs dated in ``since``..``as_of``."""
    legs = Leg.objects.filter(entry__book_id=book_id, entry__closing=True)
    if since is not None:
        legs = legs.filter(entry__date__gte=since)
    if as_of is not None:
        legs = legs.filter(entry__date__lte=as_of)
    if account_ids is not None:
        legs = legs.filter(account_id__in=list(account_ids))
    if fund_ids is not None:
        legs = legs.filter(fund_id__in=list(fund_ids))
    totals: dict[tuple, list[int]] = {}
    for row in legs.values(*group).annotate(d=Sum("debit_cny"), c=Sum("credit_cny")).order_by():
        totals[tuple(row[g] for g in group)] = [int(row["d"] or 0), int(row["c"] or 0)]
    return totals


@dataclass(frozen=True)
class CurrencyBalance:
    """One account's balance in one fund and one foreign currency: the amount in that currency (debit - credit of
    the legs in it, minor units) and what it is carried at in CNY (fen): the CNY of those legs plus the CNY-only
    legs that revalued it (entries with source type ``revaluation_source`` and source id ``YYYY:<currency>``)."""

    account: Account
    fund: Fund
    currency: str
    amount: int
    carried_cny: int


def currency_balances(book: Book, *, as_of: dt.date, types=(AccountType.ASSET, AccountType.LIABILITY),
                      revaluation_source: str = "revaluation") -> list[CurrencyBalance]:
    """Per account, fund and foreign currency: the balance in the currency and its CNY carrying amount, through
    ``as_of``. Grouped sums over legs (only legs in a foreign currency, and the revaluations' CNY legs)."""
    accounts = {a.pk: a for a in Account.objects.filter(book=book, type__in=list(types))}
    funds = {f.pk: f for f in Fund.objects.filter(book=book)}
    held: dict[tuple, list[int]] = {}
    foreign = (
        Leg.objects.filter(entry__book=book, account_id__in=list(accounts), date__lte=as_of)
        .exclude(currency="CNY")
        .values("account_id", "fund_id", "currency")
        .annotate(d=Sum("debit"), c=Sum("credit"), dc=Sum("debit_cny"), cc=Sum("credit_cny"))
        .order_by()
    )
    for row in foreign:
        held[(row["account_id"], row["fund_id"], row["currency"])] = [row["d"] - row["c"], row["dc"] - row["cc"]]
    revalued = (
        Leg.objects.filter(entry__book=book, entry__source_type=revaluation_source, account_id__in=list(accounts),
                           currency="CNY", date__lte=as_of)
        .values("account_id", "fund_id", "entry__source_id")
        .annotate(dc=Sum("debit_cny"), cc=Sum("credit_cny"))
        .order_by()
    )
    for row in revalued:
        currency = row["entry__source_id"].rpartition(":")[2]
        key = (row["account_id"], row["fund_id"], currency)
        held.setdefault(key, [0, 0])[1] += row["dc"] - row["cc"]
    return [
        CurrencyBalance(accounts[a], funds[f], currency, int(amount), int(cny))
        for (a, f, currency), (amount, cny) in sorted(held.items(), key=lambda kv: (
            accounts[kv[0][0]].code, funds[kv[0][1]].code, kv[0][2]))
    ]


def latest_rate(book: Book, currency: str, *, as_of: dt.date) -> tuple[Decimal, JournalEntry] | None:
    """The rate (CNY per unit) of the latest entry dated on or before ``as_of`` with a leg in ``currency``, and
    that entry; ``None`` when the books hold none."""
    entry = (
        JournalEntry.objects.filter(book=book, date__lte=as_of, fx_rate__isnull=False, legs__currency=currency)
        .order_by("-date", "-sequence")
        .first()
    )
    return None if entry is None else (entry.fx_rate, entry)


def _signed(account_type: str, debit: int, credit: int) -> int:
    return debit - credit if account_type in DEBIT_NORMAL else credit - debit


def account_balance(account: Account, *, fund: Fund | None = None, as_of: dt.date | None = None) -> Decimal:
    """The account's balance in CNY on its normal side, optionally in one fund, at the end of ``as_of``."""
    totals = movements(
        account.book_id,
        as_of=as_of,
        account_ids=[account.pk],
        fund_ids=[fund.pk] if fund is not None else None,
        group=("account_id",),
    )
    debit, credit = totals.get((account.pk,), [0, 0])
    return from_minor(_signed(account.type, debit, credit))


def fund_balance(fund: Fund, *, as_of: dt.date | None = None) -> Decimal:
    """The fund's net assets in CNY (income - expenses + net asset movements) at the end of ``as_of``."""
    if as_of is None:
        return from_minor(Fund.objects.values_list("net_assets", flat=True).get(pk=fund.pk))
    account_ids = list(
        Account.objects.filter(book_id=fund.book_id, type__in=NET_ASSET_TYPES).values_list("pk", flat=True)
    )
    totals = movements(fund.book_id, as_of=as_of, account_ids=account_ids, fund_ids=[fund.pk], group=("fund_id",))
    debit, credit = totals.get((fund.pk,), [0, 0])
    return from_minor(credit - debit)


@dataclass(frozen=True)
class TrialBalanceRow:
    account: Account
    debit: Decimal
    credit: Decimal


def trial_balance(book: Book, *, as_of: dt.date | None = None, fund: Fund | None = None) -> list[TrialBalanceRow]:
    """One row per account with a balance (debit-side or credit-side), in account code order."""
    totals = movements(book.pk, as_of=as_of, fund_ids=[fund.pk] if fund else None, group=("account_id",))
    rows = []
    for account in Account.objects.filter(book=book).order_by("code"):
        debit, credit = totals.get((account.pk,), [0, 0])
        net = debit - credit
        # A nominal account (income, expense) with nothing left on it is not listed: after a year's closing
        # entries the next year's trial balance opens with assets, liabilities and net assets only.
        if net == 0 and (not (debit or credit) or account.type in (AccountType.INCOME, AccountType.EXPENSE)):
            continue
        rows.append(
            TrialBalanceRow(
                account=account,
                debit=from_minor(net) if net > 0 else from_minor(0),
                credit=from_minor(-net) if net < 0 else from_minor(0),
            )
        )
    return rows


def balances_by_account_and_fund(book: Book, *, as_of=None, since=None) -> dict[tuple[int, int], Decimal]:
    """Signed (debit - credit) CNY per (account id, fund id)."""
    totals = movements(book.pk, as_of=as_of, since=since, group=("account_id", "fund_id"))
    return {key: from_minor(d - c) for key, (d, c) in totals.items()}


def allocations_of(entry: JournalEntry) -> list[Allocation]:
    """The allocations made (or released) by the legs of ``entry``, with their sources' entries."""
    return list(
        Allocation.objects.filter(leg__entry=entry)
        .select_related("source__leg__entry", "source__fund", "leg")
        .order_by("leg__position", "pk")
    )


def unallocated(entry: JournalEntry) -> Decimal:
    """For a source entry: what is left of its income. For a use: what no source covered."""
    legs = list(entry.legs.select_related("account"))
    sources = FundSource.objects.filter(leg__entry=entry)
    if sources.exists():
        return from_minor(sources.aggregate(r=Sum("remaining"))["r"] or 0)
    total = 0
    for leg in legs:
        if leg.account.type == AccountType.EXPENSE and leg.debit:
            allocated = Allocation.objects.filter(leg=leg, kind=AllocationKind.USE).aggregate(s=Sum("amount"))["s"]
            total += leg.debit_cny - (allocated or 0)
    return from_minor(total)


def head(book: Book) -> tuple[int, str]:
    """(entry count, head hash) of the book, as ``verify_ledger`` prints them."""
    last = JournalEntry.objects.filter(book=book, status="posted").order_by("-sequence").values_list(
        "sequence", "hash"
    ).first()
    if last is None:
        return 0, "-"
    return last[0], last[1]


def legs_between(book: Book, *, date_from=None, date_to=None, account=None):
    """Posted legs in date and sequence order, for streaming reports (an iterator, constant memory)."""
    legs = Leg.objects.filter(entry__book=book, entry__status="posted")
    if date_from is not None:
        legs = legs.filter(date__gte=date_from)
    if date_to is not None:
        legs = legs.filter(date__lte=date_to)
    if account is not None:
        legs = legs.filter(account=account)
    return (
        legs.select_related("entry", "account", "fund")
        .order_by("date", "entry__sequence", "position")
        .iterator(chunk_size=2000)
    )


__all__ = [
    "account_balance",
    "fund_balance",
    "trial_balance",
    "balances_by_account_and_fund",
    "closing_movements",
    "currency_balances",
    "latest_rate",
    "allocations_of",
    "unallocated",
    "head",
    "legs_between",
    "movements",
]
