"""Real races on PostgreSQL: several processes post into one book at once (committed data, separate connections).

Skipped on SQLite, whose single writer makes the race impossible (and whose in-memory test database other
processes cannot see).
"""

import datetime as dt
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection

from ledger import selectors, services
from ledger.models import JournalEntry
from ledger.services import Cr, Dr
from ledger.verification import verify_book

from . import workers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

PROCESSES = 4


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: several processes writing to one committed database")


def run_in_processes(function, *args_per_process):
    """Run ``function`` in PROCESSES spawned processes that start posting together; returns their results."""
    context = multiprocessing.get_context("spawn")
    db_name = settings.DATABASES["default"]["NAME"]
    with context.Manager() as manager:
        barrier = manager.Barrier(len(args_per_process))
        with ProcessPoolExecutor(max_workers=len(args_per_process), mp_context=context) as pool:
            futures = [pool.submit(function, db_name, *args, barrier) for args in args_per_process]
            return [future.result(timeout=300) for future in futures]


def test_four_processes_post_a_thousand_entries_without_gaps(postgres_only, csb, user):
    results = run_in_processes(
        workers.post_many, *[(csb.book.pk, user.pk, worker, 250) for worker in range(PROCESSES)]
    )
    assert sorted(s for sequences in results for s in sequences) == list(range(1, 1001))
    assert all(sequences == sorted(sequences) for sequences in results)
    assert list(JournalEntry.objects.filter(book=csb.book).order_by("sequence").values_list("sequence", flat=True)) == list(
        range(1, 1001)
    )
    csb.book.refresh_from_db()
    assert csb.book.last_sequence == 1000
    verdict = verify_book(csb.book)
    assert verdict.ok, verdict.problem
    assert verdict.count == 1000
    assert selectors.account_balance(csb.bank) == Decimal("1000.00")
    assert selectors.fund_balance(csb.gen) == Decimal("1000.00")


def test_concurrent_spending_never_takes_a_restricted_fund_below_zero(postgres_only, csb, user):
    services.entry_post(
        book=csb.book, date=dt.date(2026, 6, 30), memo="gift", user=user,
        legs=[Dr(csb.bank, csb.fa, Decimal("25000")), Cr(csb.income_r, csb.fa, Decimal("25000"))],
    )
    results = run_in_processes(
        workers.spend_many, *[(csb.book.pk, user.pk, "FA", 10, "1000") for _ in range(PROCESSES)]
    )
    assert sum(r["posted"] for r in results) == 25
    assert sum(r["refused"] for r in results) == 15
    csb.fa.refresh_from_db()
    assert csb.fa.net_assets == 0
    assert selectors.fund_balance(csb.fa) == Decimal("0.00")
    assert JournalEntry.objects.filter(book=csb.book).count() == 26
    assert verify_book(csb.book).ok
