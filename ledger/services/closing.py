"""Closing a year (年度结转): the engine's part, which knows nothing about charities.

``year_end`` is the one way to post into a year whose twelve months are closed: with the book locked it checks
that every month of the year is closed and that the year is not closed yet, opens the year's last day for the
caller's posting batch only (``Book.closed_through`` is moved back a day inside the transaction, under the
book's row lock, and put back before it commits, so no other transaction ever sees the day open), adds what
the batch posted to the balance checkpoints of the periods closed through that day and after it, and records the
year as closed (``YearClose``). Everything happens in one transaction: a refusal anywhere leaves nothing.

Afterwards nothing can be posted dated in the year, not even a reversal: its months are closed and closing is
monotonic; ``year_end`` for a closed year answers ``done`` and posts nothing.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from .. import errors
from ..authority import CLOSE_PERIODS, require
from ..locking import lock_one
from ..models import BalanceCheckpoint, Book, Leg, Period, YearClose
from .batch import PostingBatch, posting_batch

REVALUATION = "revaluation"  # source type of a revaluation entry; its source id is "YYYY:<currency>"
YEAR_CLOSE = "year_close"  # source type of a closing entry; its source id is the year


@dataclass
class YearEnd:
    """What ``year_end`` hands its caller: the locked book, the year's last day, whether the year was already
    closed (then nothing is to be posted) and, when it was not, the batch to post in."""

    book: Book
    year: int
    last_day: dt.date
    done: bool
    batch: PostingBatch | None = None
    entries: list = field(default_factory=list)  # what the caller posted (appended by ``post``)

    def balances(self, account_ids) -> dict[tuple[int, int], list[int]]:
        """CNY [debit, credit] in fen per (account, fund) through the year's last day, with what was posted in the
        batch so far (the checkpoints catch up only when ``year_end`` ends)."""
        from ..selectors import movements

        account_ids = list(account_ids)
        totals = movements(self.book.pk, as_of=self.last_day, account_ids=account_ids, group=("account_id", "fund_id"))
        wanted = set(account_ids)
        for entry in self.entries:
            for leg in entry.posted_legs:
                if leg.account_id in wanted:
                    total = totals[(leg.account_id, leg.fund_id)]
                    total[0] += leg.debit_cny
                    total[1] += leg.credit_cny
        return totals

    def post(self, **kwargs):
        """Post an entry dated on the year's last day in the batch (``entry_post``'s arguments)."""
        entry = self.batch.post(book=self.book, date=self.last_day, **kwargs)
        self.entries.append(entry)
        return entry


def first_open_month(book: Book, year: int) -> dt.date | None:
    """The first month of ``year`` that is not closed, or ``None`` when all twelve are."""
    last_day = dt.date(year, 12, 31)
    if book.closed_through is not None and book.closed_through >= last_day:
        return None
    if book.closed_through is None or book.closed_through < dt.date(year, 1, 1):
        return dt.date(year, 1, 1)
    return (book.closed_through + dt.timedelta(days=1)).replace(day=1)


@contextmanager
def year_end(*, book: Book, year: int, user):
    """Lock ``book`` and yield a ``YearEnd`` for ``year``; see the module docstring. Refuses (``PeriodError``,
    nothing written) a year with an open month, naming the first; ``PermissionDenied`` without the right to
    close periods of the book."""
    require(user, CLOSE_PERIODS, book)
    if not 1900 < year < 10000:
        raise errors.PeriodError(f"year {year} is not a year of four digits", field="year")
    last_day = dt.date(year, 12, 31)
    with transaction.atomic():
        locked = lock_one(book)
        if YearClose.objects.filter(book=locked, year=year).exists():
            yield YearEnd(book=book, year=year, last_day=last_day, done=True)
            return
        month = first_open_month(locked, year)
        if month is not None:
            raise errors.PeriodError(
                f"month {month:%Y-%m} is open: close every month of {year} (close_period {year}-12) first",
                field="year",
            )
        closed_through = locked.closed_through
        # The year's last day opens for this transaction only (the row stays locked until it commits).
        Book.objects.filter(pk=locked.pk).update(closed_through=last_day - dt.timedelta(days=1))
        try:
            with posting_batch() as batch:
                book.closed_through = last_day - dt.timedelta(days=1)
                end = YearEnd(book=book, year=year, last_day=last_day, done=False, batch=batch)
                yield end
        finally:
            book.closed_through = closed_through  # the caller's instance too, whether it commits or not
        Book.objects.filter(pk=locked.pk).update(closed_through=closed_through)
        _add_to_checkpoints(locked, last_day, [entry.pk for entry in end.entries])
        YearClose.objects.create(book=locked, year=year, closed_at=timezone.now(), closed_by=user)


def _add_to_checkpoints(book: Book, day: dt.date, entry_ids: list[int]) -> None:
    """A checkpoint holds cumulative totals through its period's end: entries posted on ``day`` after its
    period was closed are added to the checkpoint of every period that ends on or after ``day``."""
    if not entry_ids:
        return
    moved: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    for row in (Leg.objects.filter(entry_id__in=entry_ids).values("account_id", "fund_id")
                .annotate(d=Sum("debit_cny"), c=Sum("credit_cny")).order_by()):
        moved[(row["account_id"], row["fund_id"])] = [int(row["d"]), int(row["c"])]
    for period in Period.objects.filter(book=book, month__gte=day.replace(day=1)):
        held = {(c.account_id, c.fund_id): c for c in BalanceCheckpoint.objects.filter(period=period)}
        for (account_id, fund_id), (debit, credit) in moved.items():
            checkpoint = held.get((account_id, fund_id))
            if checkpoint is None:
                BalanceCheckpoint.objects.create(period=period, account_id=account_id, fund_id=fund_id,
                                                 through=checkpoint_through(period), debit=debit, credit=credit)
            else:
                BalanceCheckpoint.objects.filter(pk=checkpoint.pk).update(
                    debit=checkpoint.debit + debit, credit=checkpoint.credit + credit)


def checkpoint_through(period: Period) -> dt.date:
    nxt = (period.month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return nxt - dt.timedelta(days=1)
