"""Two officers record at once on PostgreSQL: receipt numbers stay gap-free and unique (the counter row is
locked SELECT ... FOR UPDATE). A control case shows the race that the lock prevents. Threads, each with its own
connection, against the same (committed, ``transaction=True``) test database."""

import threading
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


def test_two_officers_recording_at_once_get_gap_free_numbers(trust, officer, approver):
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


def test_control_without_the_lock_two_officers_take_the_same_number(trust):
    taken = []
    both_read = threading.Barrier(2)

    def take():
        with transaction.atomic():
            taken.append(_next_number(trust=trust, year=D.year, lock=False, pause=lambda: both_read.wait(timeout=10)))

    with transaction.atomic():
        _next_number(trust=trust, year=D.year)  # the counter row exists
    run_together([take, take])
    assert taken == [2, 2]  # the race: both read 1 before either wrote


def test_with_the_lock_the_second_waits_and_takes_the_next_number(trust):
    taken = []
    with transaction.atomic():
        _next_number(trust=trust, year=D.year)
    run_together([lambda: taken.append(_take(trust)), lambda: taken.append(_take(trust))])
    assert sorted(taken) == [2, 3]


def _take(trust):
    import time

    with transaction.atomic():
        return _next_number(trust=trust, year=D.year, pause=lambda: time.sleep(0.3))


def test_the_same_gift_recorded_twice_at_once_is_recorded_once(trust, officer, approver):
    fund = Fund.objects.get(book=trust.book, code="GEN")
    results = []

    def record(user):
        def work():
            results.append(donation_record(trust=trust, external_id="DN-SAME", date=D, amount=Decimal("99.00"),
                                           fund=fund, channel="bank", user=user).pk)
        return work

    run_together([record(officer), record(approver)])
    assert len(set(results)) == 1
    assert Receipt.objects.filter(trust=trust).count() == 1
