"""Closing months: a closed month takes no more entries, and its balances are kept as a checkpoint."""

from __future__ import annotations

import calendar
import datetime as dt

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from .. import bounds, errors
from ..authority import CLOSE_PERIODS, require
from ..locking import lock_one
from ..models import BalanceCheckpoint, Book, DailyBalance, Period


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    try:
        first = dt.datetime.strptime(month, "%Y-%m").date()
    except ValueError:
        raise errors.PeriodError(f"month {month!r} is not of the form YYYY-MM", field="month") from None
    bounds.check_date(first, field="month")
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    return first, last


def period_close(*, book: Book, month: str, user) -> Period:
    """Close ``month`` (YYYY-MM) and every month before it; snapshot balances as a checkpoint."""
    require(user, CLOSE_PERIODS, book)
    first, last = month_bounds(month)
    if first > timezone.localdate():
        raise errors.PeriodError(f"month {month} has not begun yet", field="month")
    with transaction.atomic():
        locked = lock_one(book)
        if locked.closed_through is not None and last <= locked.closed_through:
            raise errors.PeriodError(
                f"month {month} is already closed (closed through {locked.closed_through.isoformat()})",
                field="month",
            )
        period = Period.objects.create(book=locked, month=first, closed_at=timezone.now(), closed_by=user)
        Book.objects.filter(pk=locked.pk).update(closed_through=last)
        book.closed_through = last
        totals = (
            DailyBalance.objects.filter(book=locked, date__lte=last)
            .values("account_id", "fund_id")
            .annotate(debit=Sum("debit"), credit=Sum("credit"))
        )
        BalanceCheckpoint.objects.bulk_create(
            [
                BalanceCheckpoint(
                    period=period,
                    account_id=row["account_id"],
                    fund_id=row["fund_id"],
                    through=last,
                    debit=row["debit"],
                    credit=row["credit"],
                )
                for row in totals
            ]
        )
    return period
