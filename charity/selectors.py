"""Reads of the trust's side that need care: the receipt register, what became of a gift, fund income."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Sum

from beneficiaries.models import Program
from beneficiaries.selectors import reach_of_source
from ledger import selectors as ledger_selectors
from ledger.models import Account, AccountType, Allocation, AllocationKind, Fund, from_minor

from .models import ANONYMOUS_NAME, Donation, Receipt, Trust


@dataclass(frozen=True)
class RegisterRow:
    number: str
    status: str  # "issued" or "void"
    date: dt.date
    donation: str
    donor: str
    amount: Decimal
    currency: str
    amount_cny: Decimal
    fund: str
    issued_at: dt.datetime
    officer: str
    voided_at: dt.datetime | None
    voided_by: str
    void_reason: str


def receipt_register(*, trust: Trust, year: int | None = None, reveal_anonymous: bool = False) -> list[RegisterRow]:
    """Every receipt number issued, in order, valid or void. Anonymous donors are named only when asked."""
    receipts = Receipt.objects.filter(trust=trust).select_related("donation", "voided_by").order_by("year", "number")
    if year is not None:
        receipts = receipts.filter(year=year)
    rows = []
    for r in receipts:
        donor = r.donor_name if (reveal_anonymous or not r.donor_anonymous) else ANONYMOUS_NAME
        rows.append(RegisterRow(
            number=r.label, status="void" if r.voided else "issued", date=r.date, donation=r.donation.external_id,
            donor=donor or ANONYMOUS_NAME, amount=r.amount.amount, currency=r.amount.currency.code,
            amount_cny=r.amount_cny, fund=r.fund_code, issued_at=r.issued_at, officer=r.officer_name,
            voided_at=r.voided_at, voided_by=r.voided_by.get_username() if r.voided_by else "",
            void_reason=r.void_reason,
        ))
    return rows


def receipt_gaps(*, trust: Trust, year: int) -> list[int]:
    """Numbers missing from 1..highest of the year (always empty unless something is badly wrong)."""
    numbers = set(Receipt.objects.filter(trust=trust, year=year).values_list("number", flat=True))
    return [n for n in range(1, max(numbers, default=0) + 1) if n not in numbers]


@dataclass(frozen=True)
class Use:
    date: dt.date
    fund: str
    account: str
    purpose: str
    amount: Decimal
    source_type: str
    source_id: str


@dataclass
class DonationTrace:
    donation: Donation
    amount_cny: Decimal
    refunded: Decimal
    spent: Decimal
    unspent: Decimal
    uses: list[Use] = field(default_factory=list)


def donation_trace(donation: Donation) -> DonationTrace:
    """What became of a gift: the spending it was allocated to (FIFO, by the ledger), refunds, what is left."""
    allocations = (
        Allocation.objects.filter(source__leg__entry_id=donation.entry_id)
        .select_related("leg__entry", "leg__account", "leg__fund")
        .order_by("leg__date", "leg__entry__sequence", "pk")
    )
    uses, spent, refunded = [], 0, 0
    for a in allocations:
        if a.kind == AllocationKind.USE:
            spent += a.amount
            uses.append(Use(
                date=a.leg.date, fund=a.leg.fund.code, account=a.leg.account.code, purpose=a.leg.account.purpose,
                amount=from_minor(a.amount), source_type=a.leg.entry.source_type, source_id=a.leg.entry.source_id,
            ))
        else:
            refunded += a.amount
    source_entry = donation.entry
    unspent = ledger_selectors.unallocated(source_entry)
    return DonationTrace(
        donation=donation, amount_cny=donation.amount_cny, refunded=from_minor(refunded), spent=from_minor(spent),
        unspent=unspent, uses=uses,
    )


@dataclass
class GiftUse:
    """What a gift paid for, per program (or "administration"): how much, first and last day, its share of the
    gift, and how many distinct beneficiaries it reached (a count: the caller shows it as a donor may see it)."""

    key: str
    program: Program | None
    amount: Decimal
    first: dt.date
    last: dt.date
    percent: int
    beneficiaries: int


def gift_uses(trace: DonationTrace) -> list[GiftUse]:
    """``trace``'s spending grouped per program, in the order first spent (the API's trace, the donor portal)."""
    donation = trace.donation
    reach = {r.program_code: r.beneficiaries for r in reach_of_source(entry=donation.entry)}
    programs = {p.code: p for p in Program.objects.filter(book_id=donation.trust.book_id)}
    grouped: dict[str, dict] = {}
    for use in trace.uses:
        row = grouped.setdefault(use.purpose or "administration",
                                 {"amount": Decimal("0.00"), "first": use.date, "last": use.date})
        row["amount"] += use.amount
        row["first"], row["last"] = min(row["first"], use.date), max(row["last"], use.date)
    total = trace.amount_cny or Decimal(1)
    return [
        GiftUse(key=key, program=programs.get(key), amount=row["amount"], first=row["first"], last=row["last"],
                percent=int((row["amount"] / total * 100).quantize(Decimal(1))), beneficiaries=reach.get(key, 0))
        for key, row in grouped.items()
    ]


def fund_donations(*, trust: Trust, date_from: dt.date, date_to: dt.date) -> dict[str, Decimal]:
    """Per fund code: donations received in the period net of refunds (credit - debit on income accounts of the
    donation and in-kind kinds), in CNY, read from the ledger's running balances."""
    from .chart import (DONATION_ENDOWMENT, DONATION_RESTRICTED, DONATION_UNRESTRICTED, IN_KIND_RESTRICTED,
                        IN_KIND_UNRESTRICTED)

    codes = [DONATION_UNRESTRICTED, DONATION_RESTRICTED, DONATION_ENDOWMENT, IN_KIND_UNRESTRICTED, IN_KIND_RESTRICTED]
    accounts = list(Account.objects.filter(book_id=trust.book_id, code__in=codes, type=AccountType.INCOME)
                    .values_list("pk", flat=True))
    totals = ledger_selectors.movements(
        trust.book_id, since=date_from, as_of=date_to, account_ids=accounts, group=("fund_id",), closing=False
    )
    result = {}
    for fund in Fund.objects.filter(book_id=trust.book_id).order_by("code"):
        debit, credit = totals.get((fund.pk,), [0, 0])
        result[fund.code] = from_minor(credit - debit)
    return result


def refunds_total(*, trust: Trust, date_from: dt.date, date_to: dt.date) -> Decimal:
    from .models import Refund

    total = Refund.objects.filter(trust=trust, date__gte=date_from, date__lte=date_to).aggregate(s=Sum("amount_cny"))
    return (total["s"] or Decimal(0)).quantize(Decimal("0.01"))
