"""Reads of the books that need care: balances, the trial balance, allocations.

Balances never sum legs over the whole history. They start from the newest ``BalanceCheckpoint`` at or before
the date asked for (written at each period close) and add the ``DailyBalance`` rows after it: at most one row
per account, fund and day. Signs follow the account type: assets and expenses are debit-normal, the others
credit-normal, so a normal balance is positive.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Sum

from .models import (
    DEBIT_NORMAL,
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

NET_ASSET_TYPES = (AccountType.INCOME, AccountType.EXPENSE, AccountType.NET_ASSETS)


def _checkpoint_period(book_id: int, as_of: dt.date | None) -> Period | None:
    """The newest closed period whose last day is on or before ``as_of``."""
    periods = Period.objects.filter(book_id=book_id)
    if as_of is not None:
        cutoff = as_of.replace(day=1)
        if _month_end(cutoff) != as_of:
            cutoff = (cutoff - dt.timedelta(days=1)).replace(day=1)
        periods = periods.filter(month__lte=cutoff)
    return periods.order_by("-month").first()


def _month_end(first: dt.date) -> dt.date:
    nxt = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return nxt - dt.timedelta(days=1)


def movements(
    book_id: int,
    *,
    as_of: dt.date | None = None,
    since: dt.date | None = None,
    account_ids=None,
    fund_ids=None,
    group=("account_id",),
) -> dict[tuple, list[int]]:
    """CNY [debit, credit] in fen per group key, cumulative through ``as_of`` (or for ``since``..``as_of``)."""
    totals: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    start = None
    if since is None:
        period = _checkpoint_period(book_id, as_of)
        if period is not None:
            start = _month_end(period.month)
            checkpoints = BalanceCheckpoint.objects.filter(period=period)
            if account_ids is not None:
                checkpoints = checkpoints.filter(account_id__in=account_ids)
            if fund_ids is not None:
                checkpoints = checkpoints.filter(fund_id__in=fund_ids)
            for row in checkpoints.values(*group).annotate(d=Sum("debit"), c=Sum("credit")):
                key = tuple(row[g] for g in group)
                totals[key][0] += row["d"]
                totals[key][1] += row["c"]
    daily = DailyBalance.objects.filter(book_id=book_id)
    if start is not None:
        daily = daily.filter(date__gt=start)
    if since is not None:
        daily = daily.filter(date__gte=since)
    if as_of is not None:
        daily = daily.filter(date__lte=as_of)
    if account_ids is not None:
        daily = daily.filter(account_id__in=account_ids)
    if fund_ids is not None:
        daily = daily.filter(fund_id__in=fund_ids)
    for row in daily.values(*group).annotate(d=Sum("debit"), c=Sum("credit")).order_by():
        key = tuple(row[g] for g in group)
        totals[key][0] += row["d"]
        totals[key][1] += row["c"]
    return totals


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
        from .services import current_batch

        batch = current_batch()
        if batch is not None and fund.pk in batch.funds:  # a posting batch keeps the running figure in memory
            return from_minor(batch.funds[fund.pk][0])
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
        if net == 0 and not (debit or credit):
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
    "allocations_of",
    "unallocated",
    "head",
    "legs_between",
    "movements",
]
