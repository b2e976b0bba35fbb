"""The office's payables and cash count pages, the Today page's list of what is due, and the cash count's
difference in the approvals inbox: every action through the services, refusals on the form."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from charity import roles
from charity.models import CashCount, Expense, ExpensePayment
from charity.services import trust_create
from ledger.services import system_user
from tests.conftest import grant

from .test_office_expenses import NEW, _expense, world  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db
PAYABLES = "/office/payables/?trust=CT"
COUNT = "/office/cash-count/?trust=CT"
APPROVALS = "/office/approvals/?trust=CT"


def _invoice(client, **extra):
    return client.post(NEW, _expense(external_id="INV-1", amount="300.00", payable="2202", due_date="2026-03-20",
                                     **extra))


def _payment(**extra):
    return {"trust": "CT", "expense": "INV-1", "external_id": "PAY-1", "date": "2026-03-25", "amount": "100.00",
            "account": "100201", "description": "", **extra}


def test_an_invoice_recorded_on_the_form_is_listed_paid_in_part_and_refused_beyond(client, world):
    client.force_login(world["officer"])
    assert _invoice(client).status_code == 302
    assert Expense.objects.get(external_id="INV-1").payable == "2202"
    assert 'class="payable"' in client.get("/office/expenses/?trust=CT").content.decode()
    page = client.get(PAYABLES).content.decode()
    assert 'id="payable-INV-1"' in page and "300.00" in page
    assert client.post(PAYABLES, _payment()).status_code == 302
    refused = client.post(PAYABLES, _payment(external_id="PAY-2", amount="200.01"))
    assert refused.status_code == 400 and "more than what is still owed" in refused.content.decode()
    assert ExpensePayment.objects.count() == 1
    assert client.post(PAYABLES, _payment(external_id="PAY-2", amount="200.00", account="1001")).status_code == 302
    assert 'id="payable-INV-1"' not in client.get(PAYABLES).content.decode()


def test_a_payable_without_a_payee_is_refused_on_its_field(client, world):
    client.force_login(world["officer"])
    response = _invoice(client, payee="")
    assert response.status_code == 400 and 'id="error-payee"' in response.content.decode()


def test_today_lists_what_is_due_and_overdue(client, world):
    client.force_login(world["officer"])
    _invoice(client)
    client.post(NEW, _expense(external_id="INV-2", amount="50.00", payable="2209", due_date="2026-12-31"))
    with time_machine.travel(dt.datetime(2026, 3, 25, 9, 0, tzinfo=dt.timezone.utc), tick=False):
        page = client.get("/office/?trust=CT").content.decode()
    assert 'id="due-INV-1"' in page and 'id="due-INV-2"' not in page  # INV-2 is not due for months
    assert "5 days overdue" in page or "逾期" in page


def test_the_auditor_reads_but_neither_pays_nor_counts(client, world):
    client.force_login(world["officer"])
    _invoice(client)
    client.force_login(world["auditor"])
    assert client.get(PAYABLES).status_code == 200 and 'id="payment-form"' not in client.get(PAYABLES).content.decode()
    assert client.post(PAYABLES, _payment()).status_code == 403
    assert client.get(COUNT).status_code == 200
    assert client.post(COUNT, {"trust": "CT", "date": "2026-03-02", "counted": "1", "counted_by": "x"}).status_code == 403
    assert not ExpensePayment.objects.exists() and not CashCount.objects.exists()


def test_another_trusts_officer_is_refused(client, world, django_user_model):
    client.force_login(world["officer"])
    _invoice(client)
    other = trust_create(user=system_user(), code="OT", name="别的信托")
    stranger = grant(django_user_model.objects.create_user("stranger"), roles.OFFICER, other)
    client.force_login(stranger)
    assert client.post(PAYABLES, _payment()).status_code == 403
    assert client.get(PAYABLES).status_code == 403
    # in their own trust the expense is not theirs
    response = client.post("/office/payables/?trust=OT", _payment(trust="OT"))
    assert response.status_code == 400 and "not an expense of this trust" in response.content.decode()
    assert not ExpensePayment.objects.exists()


def test_a_cash_count_difference_is_approved_in_the_inbox_by_someone_else(client, world):
    client.force_login(world["officer"])
    response = client.post(COUNT, {"trust": "CT", "date": "2026-03-02", "counted": "10.00", "counted_by": "出纳",
                                   "witness": "会计", "n_10": "1"})
    assert response.status_code == 302
    count = CashCount.objects.get()
    assert (count.status, count.difference, count.denominations) == ("draft", Decimal("10.00"), {"10": 1})
    assert f'id="cash-count-{count.pk}"' in client.get(COUNT).content.decode()
    # the officer who counted cannot approve (no permission), and the page says nothing changed
    assert client.post(APPROVALS, {"kind": "cashcount", "pk": count.pk, "action": "approve"}).status_code == 403
    client.force_login(world["approver"])
    inbox = client.get(APPROVALS).content.decode()
    assert f'id="cashcount-{count.pk}"' in inbox
    assert client.post(APPROVALS, {"kind": "cashcount", "pk": count.pk, "action": "approve"}).status_code == 302
    count.refresh_from_db()
    assert count.status == "posted" and count.entry.approved_by == world["approver"]


def test_a_count_whose_denominations_do_not_add_up_is_refused(client, world):
    client.force_login(world["officer"])
    response = client.post(COUNT, {"trust": "CT", "date": "2026-03-02", "counted": "10.00", "counted_by": "出纳",
                                   "n_5": "1"})
    assert response.status_code == 400 and "denominations add up to 5.00" in response.content.decode()
    assert not CashCount.objects.exists()


def test_self_approval_of_a_count_is_refused_in_the_inbox(client, both, world):
    client.force_login(both)
    client.post(COUNT, {"trust": "CT", "date": "2026-03-02", "counted": "10.00", "counted_by": "出纳"})
    count = CashCount.objects.get()
    assert client.post(APPROVALS, {"kind": "cashcount", "pk": count.pk, "action": "approve"}).status_code == 400
    count.refresh_from_db()
    assert count.status == "draft"
