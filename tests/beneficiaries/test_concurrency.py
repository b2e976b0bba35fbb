"""Several officers paying from one restricted fund at once (PostgreSQL): exactly as many succeed as it covers."""

import datetime as dt
import multiprocessing
import random
from collections import Counter
from decimal import Decimal

import pytest

from charity import roles
from charity.models import Trust
from tests.conftest import grant
from django.conf import settings
from django.db import connection

from beneficiaries.models import Disbursement
from beneficiaries.services import disbursement_approve, disbursement_draft
from ledger.selectors import fund_balance, trial_balance
from ledger.verification import verify_book

from .concurrency_worker import pay_all
from .conftest import give, make_aid, register

PROCESSES = 4
GRANTS = 40


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_four_processes_pay_forty_grants_from_a_fund_that_covers_twenty_five(django_user_model):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers itself")
    officer = django_user_model.objects.create_user("officer")
    approver = django_user_model.objects.create_user("approver")
    aid = make_aid()
    trust = Trust.objects.get(book=aid.book)
    grant(officer, roles.OFFICER, trust)
    grant(approver, roles.APPROVER, trust)
    give(aid, aid.study, "25000", officer, date=dt.date(2026, 1, 5))
    mothers = [register(aid, officer, f"BEN-{i}", seq=i, household=f"HH-{i}") for i in range(8)]
    pks = []
    for n in range(GRANTS):
        d = disbursement_draft(
            book=aid.book, external_id=f"DS-{n:03d}", beneficiary=mothers[n % len(mothers)], program=aid.study_grant,
            fund=aid.study, date=dt.date(2026, 8, 26), amount=Decimal("1000"), user=officer,
        )
        disbursement_approve(disbursement=d, user=approver)
        pks.append(d.pk)
    connection.close()  # the children must not share this connection

    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(PROCESSES), ctx.Queue()
    children = []
    for i in range(PROCESSES):
        order = list(pks)
        random.Random(i).shuffle(order)  # every process tries every grant, in its own order
        child = ctx.Process(
            target=pay_all, args=(settings.DATABASES["default"]["NAME"], order, approver.pk, barrier, results)
        )
        child.start()
        children.append(child)
    outcomes = [results.get(timeout=120) for _ in children]
    for child in children:
        child.join(timeout=30)
        assert child.exitcode == 0

    paid = [pk for _, ok, _ in outcomes for pk in ok]
    refused = Counter(code for _, _, codes in outcomes for code in codes)
    assert len(paid) == len(set(paid)) == 25
    assert set(refused) <= {"insufficient_funds", "invalid_transition"}
    assert refused["insufficient_funds"] >= 15
    assert Disbursement.objects.filter(status="paid").count() == 25
    assert Disbursement.objects.filter(status="approved").count() == 15
    assert fund_balance(aid.study) == Decimal("0.00")
    rows = trial_balance(aid.book)
    assert sum(r.debit for r in rows) == sum(r.credit for r in rows)
    assert verify_book(aid.book).ok
    assert len({pid for pid, _, _ in outcomes}) == PROCESSES
