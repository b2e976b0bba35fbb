"""Two officers record at once on PostgreSQL: receipt numbers stay gap-free and unique (the counter row is
locked SELECT ... FOR UPDATE). A control case shows the race that the lock prevents. Threads, each with its own
connection, against the same (committed, ``transaction=True``) test database."""

import threading
import time
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction

from charity.models import Receipt
from charity.selectors import receipt_gaps
from charity.services import donation_record
from charity.services.receipts import _next_number
from ledger.models import Fund

from .conftest import D

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (row locks); run with DATABASE_URL=postgres://...")


def run_together(workers):
    """Start every worker at the same moment; re-raise the first failure."""
    start = threading.Barrier(len(workers))
    failures = []

    def wrap(work):
        try:
            start.wait(timeout=30)
            work()
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=wrap, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    if failures:
        raise failures[0]


def test_two_officers_recording_at_once_get_gap_free_numbers(trust, officer, both):
    approver = both  # a second person who records gifts
    fund = Fund.objects.get(book=trust.book, code="GEN")
    per_officer = 12

    def record(user, prefix):
        def work():
            for n in range(per_officer):
                donation_record(trust=trust, external_id=f"{prefix}-{n}", date=D, amount=Decimal("10.00"), fund=fund,
                                channel="wechat", user=user)
        return work

    run_together([record(officer, "A"), record(approver, "B")])
    numbers = sorted(Receipt.objects.filter(trust=trust, year=D.year).values_list("number", flat=True))
    assert numbers == list(range(1, 2 * per_officer + 1))
    assert receipt_gaps(trust=trust, year=D.year) == []
    assert Receipt.objects.filter(issued_by=officer).count() == Receipt.objects.filter(issued_by=approver).count()


def test_with_the_lock_the_second_waits_and_takes_the_next_number(trust):
    """Forced, not hoped for: the first officer holds the counter's row lock (paused after taking a number, before
    committing) until the database shows the second officer's statement waiting for that very lock; then the
    first commits and the second takes the next number."""
    taken = []
    first_holds_the_lock = threading.Event()

    def until_the_second_waits_for_me():
        first_holds_the_lock.set()
        _wait_until_blocking_another(timeout=20)

    def first():
        with transaction.atomic():
            taken.append(("first", _next_number(trust=trust, year=D.year, pause=until_the_second_waits_for_me)))

    def second():
        assert first_holds_the_lock.wait(timeout=20), "the first officer never took the lock"
        with transaction.atomic():
            taken.append(("second", _next_number(trust=trust, year=D.year)))  # the production path, no pause

    with transaction.atomic():
        _next_number(trust=trust, year=D.year)
    run_together([first, second])
    assert taken == [("first", 2), ("second", 3)]


def _wait_until_blocking_another(*, timeout: float) -> None:
    """Poll, on the connection that holds the lock, until another backend waits for a lock this one holds."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while True:
            # pg_locks, not pg_stat_activity: the latter is a snapshot kept for the whole transaction.
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE NOT granted AND pg_backend_pid() = ANY(pg_blocking_pids(pid))"
            )
            if cursor.fetchone()[0]:
                return
            if time.monotonic() > deadline:
                raise AssertionError("no other officer ever waited for the counter's lock")
            time.sleep(0.01)


def test_the_same_gift_recorded_twice_at_once_is_recorded_once(trust, officer, both):
    approver = both  # a second person who records gifts
    fund = Fund.objects.get(book=trust.book, code="GEN")
    results = []

    def record(user):
        def work():
            donation, created = donation_record(trust=trust, external_id="DN-SAME", date=D, amount=Decimal("99.00"),
                                                fund=fund, channel="bank", user=user)
            results.append((donation.pk, created))
        return work

    run_together([record(officer), record(approver)])
    assert len({pk for pk, _created in results}) == 1
    assert sorted(created for _pk, created in results) == [False, True]  # one recorded it, the other was told so
    assert Receipt.objects.filter(trust=trust).count() == 1
