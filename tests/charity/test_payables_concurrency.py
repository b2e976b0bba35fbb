"""Two officers pay the same invoice at once on PostgreSQL: what is paid never exceeds what is owed (the expense
row is locked while what is owed is worked out; the database's check and unique chain hold it again)."""

from decimal import Decimal

import pytest
from django.db import connection

from charity.errors import CharityError
from charity.models import ExpensePayment
from charity.services import expense_payment_record, expense_record
from ledger.models import Fund

from .conftest import D
from .test_receipt_concurrency import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (row locks); run with DATABASE_URL=postgres://...")


@pytest.mark.parametrize("round_", range(3))
def test_two_payments_at_once_never_pay_more_than_is_owed(trust, officer, both, round_):
    fund = Fund.objects.get(book=trust.book, code="GEN")
    expense, _created = expense_record(trust=trust, external_id=f"INV-{round_}", date=D, kind="admin", fund=fund,
                                       amount=Decimal("1000.00"), user=officer, payable="2202", payee="印刷厂")
    outcomes = []

    def pay(user, external_id):
        def work():
            try:
                expense_payment_record(trust=trust, external_id=external_id, expense=expense, date=D,
                                       amount=Decimal("700.00"), user=user)
                outcomes.append("paid")
            except CharityError as exc:
                outcomes.append(exc.message)
        return work

    run_together([pay(officer, "PAY-A"), pay(both, "PAY-B")])
    assert sorted(outcomes)[1] == "paid" and "more than what is still owed" in sorted(outcomes)[0], outcomes
    assert ExpensePayment.objects.filter(expense=expense).count() == 1
