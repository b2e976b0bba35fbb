"""Expenses above a trust's threshold need four eyes: drafted by one user, recorded when another approves."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from rest_framework.test import APIClient

from charity.errors import ApprovalRequired, ExpenseError, FourEyesRefused
from charity.models import Expense, ExpenseRequest
from charity.services import (donation_record, expense_record, expense_request_approve, expense_request_draft,
                              expense_request_reject, trust_set_expense_threshold)
from ledger.models import JournalEntry
from ledger.services import system_user

D = dt.date(2026, 3, 2)


@pytest.fixture
def guarded(trust, funds, officer):
    donation_record(trust=trust, external_id="DN-1", date=D, amount=Decimal("50000.00"), fund=funds["GEN"],
                    channel="bank", user=officer)
    return trust_set_expense_threshold(trust=trust, threshold=Decimal("10000.00"), user=system_user())


def test_below_the_threshold_an_expense_is_recorded_at_once(guarded, funds, officer):
    expense, _created = expense_record(trust=guarded, external_id="EX-1", date=D, kind="admin", fund=funds["GEN"],
                                       amount=Decimal("10000.00"), user=officer)
    assert expense.entry.approved_by is None


def test_above_it_the_officer_alone_is_refused(guarded, funds, officer):
    before = JournalEntry.objects.count()
    with pytest.raises(ApprovalRequired, match="above the trust's approval threshold of 10000.00 CNY"):
        expense_record(trust=guarded, external_id="EX-2", date=D, kind="admin", fund=funds["GEN"],
                       amount=Decimal("10000.01"), user=officer)
    assert JournalEntry.objects.count() == before and not Expense.objects.filter(external_id="EX-2").exists()


def test_drafted_then_approved_by_another_user(guarded, funds, officer, approver):
    draft = expense_request_draft(trust=guarded, external_id="EX-3", date=D, kind="admin", fund=funds["GEN"],
                                  amount=Decimal("12000.00"), user=officer, payee="审计事务所")
    assert not Expense.objects.filter(external_id="EX-3").exists()
    with pytest.raises(PermissionDenied, match="officer may not approve expenses"):
        expense_request_approve(request=draft, user=officer)
    done = expense_request_approve(request=draft, user=approver)
    expense = done.expense
    assert (done.status, expense.created_by, expense.entry.created_by, expense.entry.approved_by) == (
        "posted", officer, officer, approver)
    assert expense.amount.amount == Decimal("12000.00") and expense.payee == "审计事务所"


def test_the_drafter_cannot_approve_even_holding_both_roles(guarded, funds, both):
    draft = expense_request_draft(trust=guarded, external_id="EX-4", date=D, kind="admin", fund=funds["GEN"],
                                  amount=Decimal("12000.00"), user=both)
    with pytest.raises(FourEyesRefused, match="another user must approve"):
        expense_request_approve(request=draft, user=both)
    assert ExpenseRequest.objects.get(pk=draft.pk).status == "draft"


def test_rejected_with_a_reason_and_never_recorded(guarded, funds, officer, approver):
    draft = expense_request_draft(trust=guarded, external_id="EX-5", date=D, kind="admin", fund=funds["GEN"],
                                  amount=Decimal("12000.00"), user=officer)
    done = expense_request_reject(request=draft, user=approver, reason="no invoice")
    assert (done.status, done.reason, done.expense) == ("rejected", "no invoice", None)
    with pytest.raises(ExpenseError, match="already rejected"):
        expense_request_approve(request=draft, user=approver)


def test_only_an_administrator_sets_the_threshold(trust, officer, approver):
    for user in (officer, approver):
        with pytest.raises(PermissionDenied):
            trust_set_expense_threshold(trust=trust, threshold=Decimal("1.00"), user=user)


def test_the_api_refuses_then_the_inbox_approves(guarded, officer, approver):
    drafter, checker = APIClient(), APIClient()
    drafter.force_authenticate(officer)
    checker.force_authenticate(approver)
    base = f"/api/v1/trusts/{guarded.code}"
    body = {"external_id": "EX-9", "date": "2026-03-02", "kind": "admin", "fund": "GEN", "amount": "15000.00"}
    refused = drafter.post(base + "/expenses/", body, format="json")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "approval_required"
    assert refused.json()["error"]["field"] == "amount"
    draft = drafter.post(base + "/expense-requests/", body, format="json")
    assert draft.status_code == 202, draft.content
    number = draft.json()["id"]
    assert drafter.post(f"{base}/expense-requests/{number}/approve/").status_code == 403
    done = checker.post(f"{base}/expense-requests/{number}/approve/")
    assert done.status_code == 200 and done.json()["expense"] == "EX-9"
    assert drafter.get(base + "/expenses/EX-9/").status_code == 200
