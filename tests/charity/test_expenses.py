"""Expenses and the purpose rules (docs/ledger.md: purpose follows the money)."""

import datetime as dt
from decimal import Decimal

import pytest

from beneficiaries.models import StockBalance
from charity import errors
from charity.models import Expense
from charity.services import donation_record, expense_record
from ledger.models import JournalEntry

from .conftest import D

pytestmark = pytest.mark.django_db


def fund_with(trust, funds, officer, fund, amount):
    donation_record(trust=trust, external_id=f"DN-{fund}", date=D, amount=Decimal(amount), fund=funds[fund],
                    channel="bank", user=officer)


def pay(trust, funds, officer, n="EX-1", **kw):
    args = dict(trust=trust, external_id=n, date=D, kind="admin", fund=funds["GEN"], amount=Decimal("100.00"),
                user=officer)
    args.update(kw)
    if isinstance(args["fund"], str):
        args["fund"] = funds[args["fund"]]
    expense, _created = expense_record(**args)
    return expense


@pytest.mark.parametrize("kind, account", [("admin", "520101"), ("bank_fee", "540101"), ("fundraising", "530101")])
def test_unrestricted_expenses_post_to_their_accounts(trust, funds, officer, books, kind, account):
    fund_with(trust, funds, officer, "GEN", "500.00")
    expense = pay(trust, funds, officer, kind=kind, amount=Decimal("120.50"), payee="托管银行")
    assert books.balance(account, "GEN") == Decimal("120.50")
    assert books.balance("100201", "GEN") == Decimal("379.50")
    assert books.fund("GEN") == Decimal("379.50")
    assert expense.entry.source_type == "expense"


@pytest.mark.parametrize("kind", ["admin", "bank_fee", "fundraising"])
@pytest.mark.parametrize("fund", ["SMILE", "STUDY"])
def test_general_expenses_never_charged_to_a_restricted_fund(trust, funds, officer, kind, fund):
    fund_with(trust, funds, officer, fund, "500.00")
    with pytest.raises(errors.PurposeRefused) as caught:
        pay(trust, funds, officer, kind=kind, fund=fund)
    assert f"fund {fund} is restricted" in caught.value.message and caught.value.field == "fund"
    assert not Expense.objects.exists() and JournalEntry.objects.count() == 1


@pytest.mark.parametrize("kind", ["admin", "inventory_purchase"])
def test_endowment_principal_is_never_spent(trust, funds, officer, kind):
    fund_with(trust, funds, officer, "ENDOW", "50000.00")
    extra = dict(item="smile_pack", quantity=1) if kind == "inventory_purchase" else {}
    with pytest.raises(errors.PurposeRefused, match="ENDOW is an endowment"):
        pay(trust, funds, officer, kind=kind, fund="ENDOW", **extra)


def test_purchase_moves_cash_into_the_funds_inventory(trust, funds, officer, books):
    fund_with(trust, funds, officer, "SMILE", "50000.00")
    expense = pay(trust, funds, officer, kind="inventory_purchase", fund="SMILE", amount=Decimal("42000.00"),
                  item="smile_pack", quantity=210, unit_cost=Decimal("200.00"), payee="供应商")
    assert books.balance("120101", "SMILE") == Decimal("42000.00")
    assert books.balance("100201", "SMILE") == Decimal("8000.00")
    assert books.fund("SMILE") == Decimal("50000.00")  # buying is not spending
    balance = StockBalance.objects.get(item=expense.item, fund=funds["SMILE"])
    assert (balance.quantity, balance.value) == (210, 4200000)


def test_restricted_fund_buys_only_its_programs_stock(trust, funds, officer):
    fund_with(trust, funds, officer, "STUDY", "5000.00")
    with pytest.raises(errors.PurposeRefused, match="STUDY is restricted to study_grant"):
        pay(trust, funds, officer, kind="inventory_purchase", fund="STUDY", item="smile_pack", quantity=1,
            amount=Decimal("200.00"))


def test_restricted_fund_cannot_buy_beyond_its_money(trust, funds, officer):
    fund_with(trust, funds, officer, "SMILE", "1000.00")
    pay(trust, funds, officer, "EX-1", kind="inventory_purchase", fund="SMILE", item="smile_pack", quantity=4,
        amount=Decimal("800.00"))
    with pytest.raises(errors.InsufficientFunds, match="holds 200.00 CNY not already in stock"):
        pay(trust, funds, officer, "EX-2", kind="inventory_purchase", fund="SMILE", item="smile_pack", quantity=2,
            amount=Decimal("400.00"))
    assert Expense.objects.count() == 1


@pytest.mark.parametrize(
    "kw, field",
    [
        (dict(kind="travel"), "kind"),
        (dict(amount=Decimal("0")), "amount"),
        (dict(amount=Decimal("1.001")), "amount"),
        (dict(kind="inventory_purchase", item="smile_pack", quantity=2, unit_cost=Decimal("49.00")), "amount"),
        (dict(kind="inventory_purchase", item="caviar", quantity=1), "item"),
        (dict(kind="inventory_purchase", item="smile_pack"), "quantity"),
        (dict(item="smile_pack", quantity=1), "item"),
        (dict(date=dt.date(2099, 1, 1)), "date"),
    ],
)
def test_bad_expenses_refused(trust, funds, officer, kw, field):
    with pytest.raises(errors.CharityError) as caught:
        pay(trust, funds, officer, **kw)
    assert caught.value.field == field
    assert not Expense.objects.exists() and not JournalEntry.objects.exists()


def test_idempotent_on_external_id(trust, funds, officer, books):
    first, created = expense_record(trust=trust, external_id="EX-1", date=D, kind="admin", fund=funds["GEN"],
                                    amount=Decimal("100.00"), user=officer)
    again, created_again = expense_record(trust=trust, external_id="EX-1", date=D, kind="admin", fund=funds["GEN"],
                                          amount=Decimal("100.00"), user=officer)
    assert again.pk == first.pk and (created, created_again) == (True, False)
    assert books.balance("520101") == Decimal("100.00")
    with pytest.raises(errors.DuplicateExternalId):
        pay(trust, funds, officer, amount=Decimal("99.00"))
