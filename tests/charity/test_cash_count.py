"""The cash count (现金盘点表): the officer counts the cash box against 1001 库存现金; a difference is posted only
when another user approves it, a shortage to 管理费用 and an overage to 4901 其他收入, in the general fund."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction

from charity.errors import ExpenseError, FourEyesRefused
from charity.models import CashCount
from charity.roles import APPROVER, AUDITOR
from charity.services import (cash_count_approve, cash_count_record, cash_count_reject, donation_record,
                              trust_create)
from ledger.models import JournalEntry
from ledger.services import system_user
from tests.conftest import grant

D = dt.date(2026, 3, 2)


@pytest.fixture
def cash(trust, funds, officer):
    """300.00 in the cash box: a walk-in gift."""
    donation_record(trust=trust, external_id="DN-1", date=D, amount=Decimal("300.00"), fund=funds["GEN"],
                    channel="cash", user=officer)
    return trust


def count(trust, user, counted, **kw):
    kw.setdefault("counted_by", "出纳 张")
    return cash_count_record(trust=trust, date=kw.pop("date", D), counted=Decimal(counted), user=user, **kw)


def test_a_count_that_agrees_posts_nothing(cash, officer, books):
    entries = JournalEntry.objects.count()
    done = count(cash, officer, "300.00", witness="会计 李", denominations={"100": 2, "50": 1, "20": 2, "10": 1})
    assert (done.status, done.book_balance, done.difference) == ("agreed", Decimal("300.00"), Decimal("0.00"))
    assert done.denominations == {"100": 2, "50": 1, "20": 2, "10": 1}
    assert JournalEntry.objects.count() == entries


def test_a_shortage_is_posted_to_management_expenses_on_approval(cash, officer, approver, books):
    shortage = count(cash, officer, "280.50")
    assert (shortage.status, shortage.difference) == ("draft", Decimal("-19.50"))
    assert books.balance("1001") == Decimal("300.00")  # nothing posted before approval
    done = cash_count_approve(count=shortage, user=approver)
    assert done.status == "posted" and done.entry.approved_by == approver and done.entry.created_by == officer
    assert books.balance("1001") == Decimal("280.50")
    assert books.balance("520101", fund="GEN") == Decimal("19.50")
    assert done.entry.memo.startswith("现金短缺")


def test_an_overage_is_posted_to_other_income_on_approval(cash, officer, approver, books):
    done = cash_count_approve(count=count(cash, officer, "310.00"), user=approver)
    assert books.balance("1001") == Decimal("310.00") and books.balance("4901", fund="GEN") == Decimal("10.00")
    assert done.entry.memo.startswith("现金溢余")


def test_the_recorder_cannot_approve_their_own_difference(cash, both):
    shortage = count(cash, both, "290.00")
    with pytest.raises(FourEyesRefused, match="another user must approve"):
        cash_count_approve(count=shortage, user=both)
    with pytest.raises(FourEyesRefused):
        cash_count_reject(count=shortage, user=both, reason="x")
    assert CashCount.objects.get(pk=shortage.pk).status == "draft"
    with pytest.raises(IntegrityError), transaction.atomic():  # the database holds four eyes too
        CashCount.objects.filter(pk=shortage.pk).update(decided_by=both)


def test_only_an_approver_of_the_trust_decides(cash, officer, django_user_model):
    shortage = count(cash, officer, "290.00")
    other = trust_create(user=system_user(), code="OTHER", name="别的信托")
    foreign = grant(django_user_model.objects.create_user("approver-b"), APPROVER, other)
    auditor = grant(django_user_model.objects.create_user("auditor"), AUDITOR, cash)
    donor = get_user_model().objects.create_user("donor")
    for user in (officer, foreign, auditor, donor):
        with pytest.raises(PermissionDenied):
            cash_count_approve(count=shortage, user=user)
    for user in (foreign, auditor, donor):
        with pytest.raises(PermissionDenied):
            count(cash, user, "1.00")
    assert CashCount.objects.get(pk=shortage.pk).status == "draft" and CashCount.objects.count() == 1


def test_a_rejected_difference_posts_nothing_and_is_decided_once(cash, officer, approver, books):
    shortage = count(cash, officer, "290.00")
    with pytest.raises(ExpenseError, match="needs a reason"):
        cash_count_reject(count=shortage, user=approver, reason=" ")
    done = cash_count_reject(count=shortage, user=approver, reason="count again with a witness")
    assert done.status == "rejected" and done.entry is None
    with pytest.raises(ExpenseError, match="is already rejected"):
        cash_count_approve(count=shortage, user=approver)
    assert books.balance("1001") == Decimal("300.00")


def test_the_approval_binds_to_the_book_balance_counted_against(cash, funds, officer, approver, books):
    shortage = count(cash, officer, "290.00")
    donation_record(trust=cash, external_id="DN-2", date=D, amount=Decimal("5.00"), fund=funds["GEN"],
                    channel="cash", user=officer)
    with pytest.raises(ExpenseError, match="record the count again") as refused:
        cash_count_approve(count=shortage, user=approver)
    assert refused.value.field == "book_balance" and books.balance("1001") == Decimal("305.00")


@pytest.mark.parametrize("kw, field", [
    ({"denominations": {"100": 2}}, "denominations"),  # 200.00, not 300.00
    ({"denominations": {"3": 100}}, "denominations"),  # no such note
    ({"denominations": {"100": -1}}, "denominations"),
    ({"counted_by": " "}, "counted_by"),
    ({"witness": "出纳 张"}, "witness"),
    ({"date": dt.date(2099, 1, 1)}, "date"),
])
def test_a_count_is_checked(cash, officer, kw, field):
    with pytest.raises(ExpenseError) as refused:
        count(cash, officer, "300.00", **kw)
    assert refused.value.field == field and not CashCount.objects.exists()


def test_an_empty_box_can_be_counted(trust, officer):
    assert count(trust, officer, "0").status == "agreed"
    with pytest.raises(ExpenseError, match="must be above zero") as refused:
        count(trust, officer, "-1")
    assert refused.value.field == "counted"
