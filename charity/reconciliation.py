"""Reading the reconciliation of one money account with its statement (银行存款余额调节表), at a date.

All figures are in minor units of the account's currency (fen for a CNY account), signed from the trust's side.
Only posted legs in the account's own currency count (a foreign-currency account's revaluation legs, in CNY,
are no statement item).

At a date D, a match is *complete* when every line and leg in it is dated on or before D. Then:
- the book balance is the sum of the account's legs to D; the statement balance is the balance printed on its
  last line to D (the sum of the lines when the statement prints none, as WeChat bills do);
- items the bank has and the books not: lines to D in no complete match; items the books have and the bank
  not: legs to D in no complete match;
- adjusted book balance = book balance + the bank's items; adjusted statement balance = statement balance +
  the books' items; they agree when every difference is explained by an item in transit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Sum

from ledger.models import Account, Leg

from .models import DEFAULT_MATCH_DAYS, ReconciledMonth, ReconciliationSetting, StatementLine
from .models.reconciliation import MatchedLeg


def account_currency(account: Account) -> str:
    return account.currency or "CNY"


def leg_amount(leg: Leg) -> int:
    return leg.debit - leg.credit


def account_legs(account: Account):
    """The account's posted legs in its own currency."""
    return Leg.objects.filter(account=account, entry__status="posted", currency=account_currency(account))


def booking_id(line: StatementLine) -> str:
    """The external id of the expense (and the source id of the entry) booked from a statement line
    (``statement_line_book``): how the entry finds its line again, after an approval too."""
    return f"STMT-{line.pk}"


def is_booking_id(value: str) -> bool:
    return value.startswith("STMT-") and value[5:].isdigit()


def match_days(account: Account) -> int:
    setting = ReconciliationSetting.objects.filter(account=account).first()
    return setting.match_days if setting is not None else DEFAULT_MATCH_DAYS


def month_end(first: dt.date) -> dt.date:
    nxt = dt.date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def reconciled_months(account: Account) -> set[dt.date]:
    return set(ReconciledMonth.objects.filter(account=account).values_list("month", flat=True))


@dataclass
class Item:
    date: dt.date
    amount: int
    side: str  # "bank" (the bank has it, the books not) or "books"
    description: str
    reference: str


@dataclass
class Reconciliation:
    account: Account
    as_of: dt.date
    book_balance: int
    statement_balance: int | None  # None: no statement line to the date
    bank_items: list[Item]
    book_items: list[Item]

    @property
    def bank_total(self) -> int:
        return sum(i.amount for i in self.bank_items)

    @property
    def book_total(self) -> int:
        return sum(i.amount for i in self.book_items)

    @property
    def adjusted_book(self) -> int:
        return self.book_balance + self.bank_total

    @property
    def adjusted_statement(self) -> int:
        return (self.statement_balance or 0) + self.book_total

    @property
    def agrees(self) -> bool:
        return self.statement_balance is not None and self.adjusted_book == self.adjusted_statement


def _complete_matches(account: Account, as_of: dt.date) -> set[int]:
    """Matches of the account with every line and leg dated on or before ``as_of``."""
    late_by_line = set(StatementLine.objects.filter(account=account, match__isnull=False, date__gt=as_of)
                       .values_list("match_id", flat=True))
    late_by_leg = set(MatchedLeg.objects.filter(match__account=account, leg__date__gt=as_of)
                      .values_list("match_id", flat=True))
    every = set(StatementLine.objects.filter(account=account, match__isnull=False, date__lte=as_of)
                .values_list("match_id", flat=True))
    return every - late_by_line - late_by_leg


def reconcile(account: Account, as_of: dt.date) -> Reconciliation:
    legs = account_legs(account).filter(date__lte=as_of)
    sums = legs.aggregate(debit=Sum("debit"), credit=Sum("credit"))
    book_balance = (sums["debit"] or 0) - (sums["credit"] or 0)
    lines = StatementLine.objects.filter(account=account, date__lte=as_of).order_by("date", "pk")
    last = lines.last()
    if last is None:
        statement_balance = None
    elif last.balance is not None:
        statement_balance = last.balance
    else:
        statement_balance = lines.aggregate(total=Sum("amount"))["total"] or 0
    complete = _complete_matches(account, as_of)
    bank_items = [
        Item(line.date, line.amount, "bank", line.counterparty or line.memo, line.reference or line.order_id)
        for line in lines.exclude(match_id__in=complete)
    ]
    matched_legs = set(MatchedLeg.objects.filter(match_id__in=complete).values_list("leg_id", flat=True))
    book_items = [
        Item(leg.date, leg_amount(leg), "books", leg.entry.memo, leg.entry.source_id)
        for leg in legs.exclude(pk__in=matched_legs).select_related("entry").order_by("date", "entry__sequence",
                                                                                       "position")
    ]
    return Reconciliation(account, as_of, book_balance, statement_balance, bank_items, book_items)
