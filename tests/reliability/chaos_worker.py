"""One process of the chaos run: for a fixed time, do random things to three small funds through the services.

Started with 'spawn' (a fresh interpreter), so nothing Django is imported at module level. Each call either
succeeds, is refused with a domain error (``CharityError``, ``AidError``, ``LedgerError``: an expected outcome
under contention, e.g. a fund that no longer covers a grant, or a disbursement another process paid first), or
fails with anything else, which is recorded with its traceback and makes the test fail.

The worker returns, per operation, the keys of the calls that reported success and posted an entry. Donation
ids are drawn from a space that all workers share, and a gift's content is a function of its id, so two
processes sometimes record the same gift at once: the ledger must post it once and the second call must get
the first gift back (a replay) or a clear refusal, never a second entry.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import time
import traceback
from decimal import Decimal

FUNDS = ("STUDY-A", "STUDY-B", "SMILE")
START = dt.date(2026, 1, 5)


def gift_content(number: int) -> dict:
    """The content of shared gift ``number``: the same in every process."""
    rng = random.Random(number)
    return {
        "fund": FUNDS[number % 3],
        "amount": Decimal(rng.randint(5, 60) * 10),
        "date": START + dt.timedelta(days=rng.randint(0, 120)),
        "channel": rng.choice(["bank", "wechat", "alipay", "cash"]),
    }


def _setup(db_name: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "charity.settings")
    from django.conf import settings

    settings.DATABASES["default"]["NAME"] = db_name
    import django

    django.setup()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")  # durability only; locking and visibility unchanged
        if os.environ.get("CHAOS_LOG_SQL"):
            cursor.execute("SET log_statement = 'all'")


def run(db_name: str, worker: int, seconds: float, trust_pk: int, officer_pk: int, approver_pk: int,
        seed: int, barrier) -> dict:
    _setup(db_name)
    from django.contrib.auth import get_user_model
    from django.db import connections

    from beneficiaries.errors import AidError
    from beneficiaries.models import Beneficiary, Disbursement, Program
    from beneficiaries.services import disbursement_approve, disbursement_draft, disbursement_pay, disbursement_reverse
    from charity.errors import CharityError
    from charity.retry import retrying
    from charity.models import Donation, Trust
    from charity.services import donation_record, donation_refund, expense_record
    from ledger.errors import LedgerError
    from ledger.models import Fund

    refusals = (CharityError, AidError, LedgerError)
    users = get_user_model().objects
    officer, approver = users.get(pk=officer_pk), users.get(pk=approver_pk)
    trust = Trust.objects.select_related("book").get(pk=trust_pk)
    book = trust.book
    funds = {f.code: f for f in Fund.objects.filter(book=book, code__in=FUNDS)}
    programs = {p.code: p for p in Program.objects.filter(book=book)}
    people = list(Beneficiary.objects.filter(book=book).order_by("pk"))
    rng = random.Random(seed * 1000 + worker)
    posted: dict[str, list[str]] = {"donation": [], "purchase": [], "pay": [], "refund": [], "reverse": []}
    counts: dict[str, int] = {}
    unexpected: list[str] = []
    serial = 0

    def later(date: dt.date) -> dt.date:
        return min(date + dt.timedelta(days=rng.randint(0, 60)), dt.date(2026, 11, 1))

    def donate():
        number = rng.randint(0, 400)
        gift = gift_content(number)
        ext = f"G-{number:04d}"
        donation, created = donation_record(
            trust=trust, external_id=ext, date=gift["date"], amount=gift["amount"], fund=funds[gift["fund"]],
            channel=gift["channel"], user=officer,
        )
        assert donation.external_id == ext
        if created:
            posted["donation"].append(ext)  # may be a replay of a concurrent twin: the parent takes the union

    def buy():
        nonlocal serial
        serial += 1
        quantity = rng.randint(1, 6)
        expense_record(
            trust=trust, external_id=f"X-{worker}-{serial}", date=START + dt.timedelta(days=rng.randint(30, 150)),
            kind="inventory_purchase", fund=funds["SMILE"], amount=Decimal(quantity * 25), item="smile_pack",
            quantity=quantity, unit_cost=Decimal(25), user=officer,
        )
        posted["purchase"].append(f"X-{worker}-{serial}")

    def draft():
        nonlocal serial
        serial += 1
        if rng.random() < 0.5:
            program, fund, amount, quantity = programs["smile_pack"], funds["SMILE"], None, rng.randint(1, 3)
        else:
            program, fund = programs["study_grant"], funds[rng.choice(["STUDY-A", "STUDY-B"])]
            amount, quantity = Decimal(rng.randint(5, 40) * 10), 1
        d = disbursement_draft(
            book=book, external_id=f"DS-{worker}-{serial}", beneficiary=rng.choice(people), program=program,
            fund=fund, date=START + dt.timedelta(days=rng.randint(60, 200)), amount=amount, quantity=quantity,
            user=officer,
        )
        if rng.random() < 0.9:
            disbursement_approve(disbursement=d, user=approver)

    def pay():
        pks = list(Disbursement.objects.filter(book=book, status="approved").values_list("pk", flat=True)[:50])
        if not pks:
            return draft()
        d = Disbursement.objects.get(pk=rng.choice(pks))
        disbursement_pay(disbursement=d, user=approver)
        posted["pay"].append(d.external_id)

    def refund():
        nonlocal serial
        serial += 1
        pks = list(Donation.objects.filter(trust=trust).values_list("pk", flat=True))
        if not pks:
            return donate()
        donation = Donation.objects.get(pk=rng.choice(pks))
        amount = None if rng.random() < 0.5 else Decimal(rng.randint(1, 10) * 10)
        ext = f"R-{worker}-{serial}"
        donation_refund(donation=donation, external_id=ext, date=later(donation.date), user=officer,
                        reason="chaos", amount=amount)
        posted["refund"].append(ext)

    def reverse():
        pks = list(Disbursement.objects.filter(book=book, status__in=("paid", "delivered")).values_list("pk", flat=True)[:50])
        if not pks:
            return pay()
        d = Disbursement.objects.get(pk=rng.choice(pks))
        disbursement_reverse(disbursement=d, user=approver, date=later(d.date), reason="chaos")
        posted["reverse"].append(d.external_id)

    operations = [(donate, 30), (buy, 10), (draft, 20), (pay, 25), (refund, 8), (reverse, 7)]
    choices = [op for op, weight in operations for _ in range(weight)]
    barrier.wait()
    deadline = time.monotonic() + seconds
    calls = 0
    retries: dict[str, int] = {}

    def retried(exc) -> None:  # counted: a lost race that the boundary ran again (charity.retry)
        state = getattr(exc.__cause__, "sqlstate", None) or "?"
        retries[state] = retries.get(state, 0) + 1

    while time.monotonic() < deadline:
        op = rng.choice(choices)
        calls += 1
        try:
            retrying(op, on_retry=retried)  # the boundary's retry, as a request, an import or a command has it
            outcome = f"{op.__name__}:ok"
        except refusals as exc:
            outcome = f"{op.__name__}:{getattr(exc, 'code', type(exc).__name__)}"
        except Exception:  # noqa: BLE001 - anything else is a bug the test reports
            outcome = f"{op.__name__}:UNEXPECTED"
            unexpected.append(traceback.format_exc())
        counts[outcome] = counts.get(outcome, 0) + 1
    connections.close_all()
    return {"worker": worker, "calls": calls, "posted": posted, "counts": counts, "unexpected": unexpected[:5],
            "unexpected_count": len(unexpected), "retries": retries}
