"""Chaos run (PostgreSQL): several processes record, draft, approve, pay, refund and reverse at random against
three small funds, then the books are checked whole.

Short mode (in ``make test``): CHAOS_PROCS=4 processes for CHAOS_SECONDS=10. Long mode, one command:
``make chaos`` (8 processes for 60 s; ``-m slow``). The funds are kept small so that refusals (a fund that no
longer covers a grant, a disbursement another process paid first, a refund of money already spent) are common.
"""

from __future__ import annotations
from ledger.services import system_user

import datetime as dt
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Count, F, Sum

from beneficiaries.idnumber import make_id_number
from beneficiaries.models import Disbursement, StockBalance
from beneficiaries.services import beneficiary_register, household_get_or_create
from charity.models import Donation, Refund, Trust
from charity import roles
from charity.models import Membership
from charity.services import trust_create
from ledger import services as ledger
from ledger.models import Allocation, Fund, FundSource, JournalEntry
from ledger.selectors import trial_balance
from ledger.verification import verify_book

from . import chaos_worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def _world(django_user_model) -> tuple[Trust, object, object]:
    officer = django_user_model.objects.create_user("chaos-officer")
    approver = django_user_model.objects.create_user("chaos-approver")
    trust = trust_create(user=system_user(), code="CHAOS", name="混沌测试信托")
    Membership.objects.create(user=officer, trust=trust, role=roles.OFFICER)
    Membership.objects.create(user=approver, trust=trust, role=roles.APPROVER)
    for code, purpose in (("STUDY-A", "study_grant"), ("STUDY-B", "study_grant"), ("SMILE", "smile_pack")):
        ledger.fund_create(user=system_user(), book=trust.book, code=code, name=code, restriction="restricted", purpose=purpose)
    for i in range(24):
        birth = dt.date(1980 + i % 15, 1 + i % 12, 1 + i % 27)
        beneficiary_register(
            book=trust.book, external_id=f"B-{i:02d}", name=f"母亲{i}", birth_date=birth, gender="F",
            id_number=make_id_number("320582", birth, 10 + i, "F"), user=officer,
            household=household_get_or_create(user=system_user(), book=trust.book, external_id=f"HH-{i}"),
        )
    return trust, officer, approver


def _chaos(django_user_model, *, processes: int, seconds: float, seed: int = 1):
    trust, officer, approver = _world(django_user_model)
    before = JournalEntry.objects.filter(book=trust.book).count()
    db_name = settings.DATABASES["default"]["NAME"]
    connection.close()  # the children must not share this connection
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        barrier = manager.Barrier(processes)
        with ProcessPoolExecutor(max_workers=processes, mp_context=context) as pool:
            futures = [
                pool.submit(chaos_worker.run, db_name, w, seconds, trust.pk, officer.pk, approver.pk, seed, barrier)
                for w in range(processes)
            ]
            results = [f.result(timeout=seconds + 180) for f in futures]

    problems = [tb for r in results for tb in r["unexpected"]]
    assert sum(r["unexpected_count"] for r in results) == 0, "\n".join(problems)

    book = trust.book
    # The trial balance is zero.
    rows = trial_balance(book)
    assert sum(r.debit for r in rows) == sum(r.credit for r in rows)
    # No fund and no stock below zero, and the running totals are those of the legs (verify_book checks that).
    for fund in Fund.objects.filter(book=book):
        assert fund.net_assets >= 0, fund.code
    for balance in StockBalance.objects.filter(fund__book=book):
        assert balance.quantity >= 0 and balance.value >= 0
        assert balance.quantity > 0 or balance.value == 0
    # No gift has more allocated than it gave (nor more refunded than it gave).
    over = FundSource.objects.filter(fund__book=book).annotate(used=Sum("allocations__amount")).filter(used__gt=F("amount"))
    assert not over.exists()
    for donation in Donation.objects.filter(trust=trust).annotate(back=Sum("refunds__amount_cny")):
        assert (donation.back or 0) <= donation.amount_cny, donation.external_id
    assert not Allocation.objects.filter(source__fund__book=book).values("source").annotate(n=Sum("amount")).filter(n__lt=0)
    # Gap-free sequences, and the chain verifies.
    sequences = list(JournalEntry.objects.filter(book=book).order_by("sequence").values_list("sequence", flat=True))
    assert sequences == list(range(1, len(sequences) + 1))
    verdict = verify_book(book)
    assert verdict.ok, verdict.problem
    # Nothing lost, nothing doubled: one entry per call that reported success.
    donations = set().union(*(r["posted"]["donation"] for r in results))
    reported = len(donations) + sum(len(r["posted"][k]) for r in results for k in ("purchase", "pay", "refund", "reverse"))
    assert len(sequences) - before == reported
    assert Donation.objects.filter(trust=trust).count() == len(donations)
    assert Refund.objects.filter(trust=trust).count() == sum(len(r["posted"]["refund"]) for r in results)
    paid = [e for r in results for e in r["posted"]["pay"]]
    assert len(paid) == len(set(paid))
    assert Disbursement.objects.filter(book=book, entry__isnull=False).count() == len(paid)
    reversed_ = [e for r in results for e in r["posted"]["reverse"]]
    assert len(reversed_) == len(set(reversed_))
    assert Disbursement.objects.filter(book=book, status="reversed").count() == len(reversed_)
    assert not JournalEntry.objects.filter(book=book).values("idempotency_key").exclude(idempotency_key=None).annotate(
        n=Count("pk")).filter(n__gt=1)

    calls = sum(r["calls"] for r in results)
    outcomes: dict[str, int] = {}
    for r in results:
        for key, n in r["counts"].items():
            outcomes[key] = outcomes.get(key, 0) + n
    retries: dict[str, int] = {}
    for r in results:
        for state, n in r["retries"].items():
            retries[state] = retries.get(state, 0) + n
    print(f"\nchaos: {processes} processes x {seconds:g} s: {calls} calls, {len(sequences) - before} entries posted; "
          + ", ".join(f"{k}={v}" for k, v in sorted(outcomes.items()))
          + "; retried at the boundary: " + (", ".join(f"{k}={v}" for k, v in sorted(retries.items())) or "none"))
    # The run did something under contention: money moved both ways and some calls were refused.
    assert reported > 0 and paid and donations
    return results


def test_chaos_short(postgres_only, django_user_model):
    _chaos(django_user_model, processes=int(os.environ.get("CHAOS_PROCS", 4)),
           seconds=float(os.environ.get("CHAOS_SECONDS_SHORT", 10)))


@pytest.mark.slow
def test_chaos_long(postgres_only, django_user_model):
    _chaos(django_user_model, processes=int(os.environ.get("CHAOS_PROCS", 8)),
           seconds=float(os.environ.get("CHAOS_SECONDS", 60)), seed=int(os.environ.get("CHAOS_SEED", 2)))
