"""The finance officer's start page ("Today"): what the trust holds, what came in this month, what waits for a
second pair of eyes, what was refused lately and which months are still open. It only reads: every figure comes
from the ledger's selectors or a count of the trust's own rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Sum
from django.shortcuts import render
from django.utils import timezone

from beneficiaries.models import BatchStatus, Disbursement, DisbursementBatch, DisbursementStatus
from charity import chart
from charity.models import CashCount, CashCountStatus, Donation, ExpenseRequest, ManualEntry
from charity.models.expenses import ExpenseRequestStatus
from charity.models.journal import ManualEntryStatus
from charity.roles import RECORD, trusts_where
from charity.services.payables import payables_open
from ledger.models import Account, Fund, JournalEntry
from ledger.selectors import account_balance, fund_balance

from .common import trust_for

RECENT_DAYS = 30
DUE_SOON_DAYS = 7  # payables due within a week show beside the overdue ones
MAX_PAYABLES = 20
MAX_OPEN_MONTHS = 24


def _month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _next_month(first: dt.date) -> dt.date:
    return (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def open_months(book, today: dt.date) -> list[dt.date]:
    """The months before this one that are not closed yet (from ``Book.closed_through``; without a close, from the
    month of the book's first entry), oldest first, at most ``MAX_OPEN_MONTHS``."""
    if book.closed_through is not None:
        first = _next_month(_month_start(book.closed_through))
    else:
        earliest = JournalEntry.objects.filter(book=book).order_by("date").values_list("date", flat=True).first()
        if earliest is None:
            return []
        first = _month_start(earliest)
    months, month, this_month = [], first, _month_start(today)
    while month < this_month and len(months) < MAX_OPEN_MONTHS:
        months.append(month)
        month = _next_month(month)
    return months


def _refused(trust, since) -> list[dict]:
    """Rejected manual entries and expense requests and cancelled disbursements since ``since``, newest first."""
    rows = [
        {"kind": "manual", "label": m.pk, "at": m.decided_at, "by": m.decided_by, "reason": m.reason}
        for m in ManualEntry.objects.filter(trust=trust, status=ManualEntryStatus.REJECTED, decided_at__gte=since)
        .select_related("decided_by")[:20]
    ] + [
        {"kind": "expense", "label": r.external_id, "at": r.decided_at, "by": r.decided_by, "reason": r.reason}
        for r in ExpenseRequest.objects.filter(trust=trust, status=ExpenseRequestStatus.REJECTED,
                                               decided_at__gte=since).select_related("decided_by")[:20]
    ] + [
        {"kind": "disbursement", "label": d.external_id, "at": d.cancelled_at, "by": d.cancelled_by,
         "reason": d.reason}
        for d in Disbursement.objects.filter(book=trust.book, status=DisbursementStatus.CANCELLED,
                                             cancelled_at__gte=since).select_related("cancelled_by")[:20]
    ]
    rows.sort(key=lambda row: row["at"], reverse=True)
    return rows[:20]


@login_required
def today(request):
    trust = trust_for(request, RECORD)
    book = trust.book
    now = timezone.now()
    day = timezone.localdate()
    cash = [
        {"account": account, "balance": account_balance(account)}
        for account in Account.objects.filter(book=book, children__isnull=True).order_by("code")
        if chart.is_monetary(account.code)
    ]
    funds = [{"fund": fund, "balance": fund_balance(fund)} for fund in Fund.objects.filter(book=book).order_by("code")]
    month = Donation.objects.filter(trust=trust, date__gte=_month_start(day), date__lte=day).aggregate(
        count=Count("pk"), total=Sum("amount_cny"))
    waiting = {
        "manual": ManualEntry.objects.filter(trust=trust, status=ManualEntryStatus.DRAFT).count(),
        "expense": ExpenseRequest.objects.filter(trust=trust, status=ExpenseRequestStatus.DRAFT).count(),
        "disbursement": Disbursement.objects.filter(
            book=book, batch__isnull=True,
            status__in=(DisbursementStatus.DRAFT, DisbursementStatus.APPROVED)).count(),
        "batch": DisbursementBatch.objects.filter(
            book=book, status__in=(BatchStatus.DRAFT, BatchStatus.APPROVED)).count(),
        "cashcount": CashCount.objects.filter(trust=trust, status=CashCountStatus.DRAFT).count(),
    }
    owed = payables_open(trust, as_of=day)
    due = [row for row in owed if row["days_overdue"] > -DUE_SOON_DAYS]
    context = {
        "trust": trust,
        "trusts": trusts_where(request.user, RECORD).order_by("code"),
        "today": day,
        "cash": cash,
        "cash_total": sum((row["balance"] for row in cash), Decimal("0.00")),
        "funds": funds,
        "month": {"start": _month_start(day), "count": month["count"], "total": month["total"] or Decimal("0.00")},
        "waiting": waiting,
        "waiting_total": sum(waiting.values()),
        "refused": _refused(trust, now - dt.timedelta(days=RECENT_DAYS)),
        "recent_days": RECENT_DAYS,
        "open_months": open_months(book, day),
        "payables_due": due[:MAX_PAYABLES],
        "payables_due_more": max(len(due) - MAX_PAYABLES, 0),
        "payables_due_total": sum((row["outstanding"] for row in due), Decimal("0.00")),
        "payables_total": sum((row["outstanding"] for row in owed), Decimal("0.00")),
        "due_soon_days": DUE_SOON_DAYS,
    }
    return render(request, "charity/office_today.html", context)
