"""Payables: an expense recorded when invoiced (2202 应付账款 / 2209 其他应付款) and paid later, in one or several
payments from the fund it was charged to; and what is owed, as the ageing report and the Today page read it."""

import csv
import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from charity.errors import ApprovalRequired, DuplicateExternalId, ExpenseError, InsufficientFunds, ManualEntryError
from charity.models import Expense, ExpensePayment
from charity.roles import AUDITOR, OFFICER
from charity.services import (donation_record, expense_payment_record, expense_record, expense_request_approve,
                              expense_request_draft, manual_entry_approve, manual_entry_draft, manual_reversal_draft, trust_create,
                              trust_set_expense_threshold)
from charity.services.payables import payables_open
from ledger.models import JournalEntry
from ledger.services import system_user
from tests.conftest import grant

D = dt.date(2026, 3, 2)


@pytest.fixture
def funded(trust, funds, officer):
    donation_record(trust=trust, external_id="DN-1", date=D, amount=Decimal("5000.00"), fund=funds["GEN"],
                    channel="bank", user=officer)
    donation_record(trust=trust, external_id="DN-2", date=D, amount=Decimal("1000.00"), fund=funds["STUDY"],
                    channel="bank", user=officer)
    return trust


def invoice(trust, fund, user, external_id="INV-1", amount="1200.00", payable="2202", **kw):
    kw.setdefault("kind", "admin")
    kw.setdefault("payee", "印刷厂")
    expense, _created = expense_record(trust=trust, external_id=external_id, date=D, fund=fund,
                                       amount=Decimal(amount), user=user, payable=payable, **kw)
    return expense


def pay(trust, expense, user, external_id, amount, date=D, **kw):
    return expense_payment_record(trust=trust, external_id=external_id, expense=expense, date=date,
                                  amount=Decimal(amount), user=user, **kw)


def test_recorded_when_invoiced_the_expense_is_owed_not_paid(funded, funds, officer, books):
    expense = invoice(funded, funds["GEN"], officer, due_date=dt.date(2026, 4, 1))
    assert (expense.payable, expense.due_date, expense.due) == ("2202", dt.date(2026, 4, 1), dt.date(2026, 4, 1))
    assert books.balance("2202") == Decimal("1200.00")
    assert books.balance("520101") == Decimal("1200.00")
    assert books.balance("100201") == Decimal("6000.00")  # nothing left the bank yet


def test_paid_in_two_parts_from_the_bank_and_the_cash(funded, funds, officer, books):
    expense = invoice(funded, funds["GEN"], officer, payable="2209")
    first, created = pay(funded, expense, officer, "PAY-1", "500.00")
    assert created and (first.paid_before, first.owed) == (Decimal("0.00"), Decimal("1200.00"))
    second, _created = pay(funded, expense, officer, "PAY-2", "700.00", date=dt.date(2026, 3, 9), account_code="1001")
    assert second.paid_before == Decimal("500.00")
    assert books.balance("2209") == Decimal("0.00")
    assert books.balance("100201") == Decimal("5500.00") and books.balance("1001") == Decimal("-700.00")
    assert [leg.fund.code for leg in second.entry.legs.all()] == ["GEN", "GEN"]
    assert payables_open(funded, as_of=dt.date(2026, 3, 8))[0]["outstanding"] == Decimal("700.00")
    assert payables_open(funded, as_of=dt.date(2026, 3, 9)) == []


def test_paying_again_the_same_payment_writes_nothing(funded, funds, officer):
    expense = invoice(funded, funds["GEN"], officer)
    pay(funded, expense, officer, "PAY-1", "500.00")
    entries = JournalEntry.objects.count()
    again, created = pay(funded, expense, officer, "PAY-1", "500.00")
    assert not created and JournalEntry.objects.count() == entries
    with pytest.raises(DuplicateExternalId, match="already recorded with different content"):
        pay(funded, expense, officer, "PAY-1", "501.00")


def test_overpayment_is_refused(funded, funds, officer):
    expense = invoice(funded, funds["GEN"], officer)
    pay(funded, expense, officer, "PAY-1", "1000.00")
    entries = JournalEntry.objects.count()
    with pytest.raises(ExpenseError, match=r"more than what is still owed on expense INV-1: 200.00 CNY") as refused:
        pay(funded, expense, officer, "PAY-2", "200.01")
    assert refused.value.field == "amount" and JournalEntry.objects.count() == entries
    pay(funded, expense, officer, "PAY-3", "200.00")


def test_the_database_refuses_a_payment_beyond_what_is_owed(funded, funds, officer):
    expense = invoice(funded, funds["GEN"], officer)
    payment, _created = pay(funded, expense, officer, "PAY-1", "1000.00")
    row = dict(trust=funded, expense=expense, date=D, entry=payment.entry, created_by=officer, owed=Decimal("1200.00"))
    with pytest.raises(IntegrityError), transaction.atomic():  # beyond what is owed
        ExpensePayment.objects.create(external_id="X-1", amount=Decimal("300.00"), paid_before=Decimal("1000.00"),
                                      **row)
    with pytest.raises(IntegrityError), transaction.atomic():  # computed from the same state as PAY-1
        ExpensePayment.objects.create(external_id="X-2", amount=Decimal("1.00"), paid_before=Decimal("0.00"), **row)


def test_an_expense_paid_at_once_has_nothing_to_pay(funded, funds, officer):
    expense, _created = expense_record(trust=funded, external_id="EX-1", date=D, kind="admin", fund=funds["GEN"],
                                       amount=Decimal("10.00"), user=officer)
    with pytest.raises(ExpenseError, match="paid when it was recorded"):
        pay(funded, expense, officer, "PAY-1", "10.00")


def test_a_payment_before_the_invoice_is_refused(funded, funds, officer):
    expense = invoice(funded, funds["GEN"], officer)
    with pytest.raises(ExpenseError, match="before expense INV-1") as refused:
        pay(funded, expense, officer, "PAY-1", "10.00", date=D - dt.timedelta(days=1))
    assert refused.value.field == "date"


@pytest.mark.parametrize("kw, field, message", [
    ({"payable": "2201"}, "payable", "not one of 2202"),
    ({"payee": ""}, "payee", "names its payee"),
    ({"due_date": D - dt.timedelta(days=1)}, "due_date", "before the expense's date"),
    ({"payable": "", "due_date": D}, "due_date", "a due date is for an expense recorded as payable"),
])
def test_a_payable_is_checked(funded, funds, officer, kw, field, message):
    with pytest.raises(ExpenseError, match=message) as refused:
        invoice(funded, funds["GEN"], officer, **kw)
    assert refused.value.field == field and not Expense.objects.exists()


def test_the_same_expense_as_payable_or_not_is_different_content(funded, funds, officer):
    invoice(funded, funds["GEN"], officer)
    with pytest.raises(DuplicateExternalId, match="different content"):
        invoice(funded, funds["GEN"], officer, payable="2209")


def test_restricted_money_still_never_goes_below_zero(funded, funds, officer, books):
    """The commitment is the spending: a restricted fund cannot owe more than it has, and pays from itself."""
    with pytest.raises(InsufficientFunds):
        invoice(funded, funds["STUDY"], officer, kind="program_cost", program="study_grant", amount="1000.01")
    expense = invoice(funded, funds["STUDY"], officer, kind="program_cost", program="study_grant", amount="800.00")
    assert books.fund("STUDY") == Decimal("200.00")
    pay(funded, expense, officer, "PAY-1", "800.00")
    assert books.fund("STUDY") == Decimal("200.00")
    assert books.balance("100201", fund="STUDY") == Decimal("200.00")


def test_above_the_threshold_the_invoice_waits_and_cannot_be_paid_before_approval(funded, funds, officer, approver):
    trust_set_expense_threshold(trust=funded, threshold=Decimal("1000.00"), user=system_user())
    with pytest.raises(ApprovalRequired):
        invoice(funded, funds["GEN"], officer)
    draft = expense_request_draft(trust=funded, external_id="INV-1", date=D, kind="admin", fund=funds["GEN"],
                                  amount=Decimal("1200.00"), user=officer, payee="印刷厂", payable="2202",
                                  due_date=dt.date(2026, 4, 30))
    with pytest.raises(ExpenseError, match="waits for approval: it cannot be paid before it is approved"):
        pay(funded, "INV-1", officer, "PAY-1", "100.00")
    expense = expense_request_approve(request=draft, user=approver).expense
    assert (expense.payable, expense.due_date, expense.entry.approved_by) == ("2202", dt.date(2026, 4, 30), approver)
    # the payment of an approved payable needs no second approval, whatever its size
    payment, _created = pay(funded, "INV-1", officer, "PAY-1", "1200.00")
    assert payment.entry.approved_by is None


def test_a_reversed_expense_cannot_be_paid_and_a_paid_one_cannot_be_reversed(funded, funds, officer, approver):
    paid = invoice(funded, funds["GEN"], officer, external_id="INV-1")
    pay(funded, paid, officer, "PAY-1", "100.00")
    with pytest.raises(ManualEntryError, match="has been paid in part or in full"):
        manual_reversal_draft(entry=paid.entry, date=D, reason="wrong supplier", user=officer)
    payment = ExpensePayment.objects.get(external_id="PAY-1")
    with pytest.raises(ManualEntryError, match="a payment is not reversed"):
        manual_reversal_draft(entry=payment.entry, date=D, reason="bounced", user=officer)
    unpaid = invoice(funded, funds["GEN"], officer, external_id="INV-2")
    manual_entry_approve(manual=manual_reversal_draft(entry=unpaid.entry, date=D, reason="duplicate invoice",
                                                      user=officer), user=approver)
    with pytest.raises(ExpenseError, match="INV-2 has been reversed"):
        pay(funded, unpaid, officer, "PAY-2", "1.00")
    assert [r["expense"].external_id for r in payables_open(funded, as_of=D)] == ["INV-1"]


def test_a_management_fee_is_never_payable(funded, funds, officer):
    with pytest.raises(ExpenseError, match="cannot be recorded as payable"):
        invoice(funded, funds["STUDY"], officer, kind="management_fee")


def test_another_trusts_expense_and_people_are_refused(funded, funds, officer, django_user_model):
    expense = invoice(funded, funds["GEN"], officer)
    other = trust_create(user=system_user(), code="OTHER", name="别的信托")
    outsider = grant(django_user_model.objects.create_user("outsider-officer"), OFFICER, other)
    with pytest.raises(PermissionDenied):
        pay(funded, expense, outsider, "PAY-1", "1.00")
    with pytest.raises(ExpenseError, match="not an expense of this trust"):
        pay(other, expense, outsider, "PAY-1", "1.00")
    with pytest.raises(ExpenseError, match="not an expense of this trust"):
        pay(other, "INV-1", outsider, "PAY-1", "1.00")
    auditor = grant(django_user_model.objects.create_user("auditor"), AUDITOR, funded)
    with pytest.raises(PermissionDenied):
        pay(funded, expense, auditor, "PAY-1", "1.00")
    donor = get_user_model().objects.create_user("donor")
    with pytest.raises(PermissionDenied):
        pay(funded, expense, donor, "PAY-1", "1.00")
    assert not ExpensePayment.objects.exists()


def test_a_purchase_of_stock_on_credit(funded, funds, officer, books):
    expense = invoice(funded, funds["GEN"], officer, kind="inventory_purchase", item="smile_pack", quantity=10,
                      amount="300.00")
    assert books.balance("120101") == Decimal("300.00") and books.balance("2202") == Decimal("300.00")
    pay(funded, expense, officer, "PAY-1", "300.00")
    assert books.balance("2202") == Decimal("0.00")


# -- what is owed: the ageing report ----------------------------------------------------------------------------

def _ageing(*args) -> list[list[str]]:
    out = io.StringIO()
    call_command("report", "ageing", *args, stdout=out)
    return [row for row in csv.reader(out.getvalue().lstrip("\ufeff").splitlines())]


def test_ageing_buckets_per_supplier_and_ties_to_the_books(funded, funds, officer, approver):
    """As of 30 June: INV-A (印刷厂) due 1 April, 90 days overdue, half paid; INV-B (印刷厂) due 30 June, not yet
    due; INV-C (律师) recorded 2 March without a due date, 120 days; INV-D paid in full (left out); and 50.00 put
    on 2209 by a manual entry, which shows as ``other`` so that the total is the books' 2202 + 2209."""
    a = invoice(funded, funds["GEN"], officer, external_id="INV-A", amount="400.00", due_date=dt.date(2026, 4, 1))
    pay(funded, a, officer, "PAY-A", "200.00", date=dt.date(2026, 5, 1))
    pay(funded, a, officer, "PAY-A2", "100.00", date=dt.date(2026, 7, 1))  # after the date: still owed then
    invoice(funded, funds["GEN"], officer, external_id="INV-B", amount="50.00", due_date=dt.date(2026, 6, 30))
    invoice(funded, funds["GEN"], officer, external_id="INV-C", amount="70.00", payee="律师", payable="2209")
    d = invoice(funded, funds["GEN"], officer, external_id="INV-D", amount="10.00")
    pay(funded, d, officer, "PAY-D", "10.00")
    manual_entry_approve(manual=manual_entry_draft(
        trust=funded, date=D, memo="预提", user=officer,
        legs=[{"account": "520101", "fund": "GEN", "debit": "50.00"},
              {"account": "2209", "fund": "GEN", "credit": "50.00"}]), user=approver)
    rows = _ageing("--as-of", "2026-06-30")
    header = rows[0]
    assert header == ["line_type", "supplier", "payable", "expense", "date", "due_date", "days_overdue", "not_due",
                      "days_1_30", "days_31_60", "days_61_90", "over_90", "total"]
    body = [dict(zip(header, row)) for row in rows[1:]]
    by_expense = {r["expense"]: r for r in body if r["line_type"] == "expense"}
    assert set(by_expense) == {"INV-A", "INV-B", "INV-C"}
    assert (by_expense["INV-A"]["days_overdue"], by_expense["INV-A"]["days_61_90"]) == ("90", "200.00")
    assert (by_expense["INV-B"]["not_due"], by_expense["INV-B"]["total"]) == ("50.00", "50.00")
    assert (by_expense["INV-C"]["days_overdue"], by_expense["INV-C"]["over_90"]) == ("120", "70.00")
    suppliers = {r["supplier"]: r["total"] for r in body if r["line_type"] == "supplier"}
    assert suppliers == {"印刷厂": "250.00", "律师": "70.00"}
    assert [r["total"] for r in body if r["line_type"] == "other"] == ["50.00"]
    total = body[-1]
    assert total["line_type"] == "TOTAL" and total["total"] == "370.00"
    assert (total["not_due"], total["days_61_90"], total["over_90"]) == ("50.00", "200.00", "70.00")
    out = io.StringIO()
    call_command("report", "ageing", "--as-of", "2026-06-30", "--format", "json", stdout=out)
    summary = {s["key"]: s["value"] for s in json.loads(out.getvalue())["summary"]}
    assert (summary["payable_2202"], summary["payable_2209"], summary["in_books"]) == ("250.00", "120.00", "370.00")
    assert Decimal(summary["payable_2202"]) + Decimal(summary["payable_2209"]) == Decimal(total["total"])


def test_ageing_in_pdf_and_its_options(funded, funds, officer, tmp_path):
    invoice(funded, funds["GEN"], officer, payee="北京印刷厂")
    pdf = tmp_path / "ageing.pdf"
    call_command("report", "ageing", "--as-of", "2026-03-31", "--format", "pdf", "--out", str(pdf))
    from pypdf import PdfReader

    text = "".join(page.extract_text() for page in PdfReader(str(pdf)).pages)
    assert "应付款项账龄分析表" in text and "北京印刷厂" in text
    with pytest.raises(CommandError):
        call_command("report", "ageing", "--from", "2026-01-01", stdout=io.StringIO())
    assert _ageing("--as-of", "2026-03-01")[-1][-1] == "0.00"  # before the invoice: nothing owed


# -- import_csv: expenses with the optional payable and due_date columns, and payments -------------------------

INVOICES = """external_id,date,kind,fund_code,amount,payee,description,payable,due_date
INV-1,2026-03-02,admin,GEN,1200.00,印刷厂,宣传册,2202,2026-04-01
INV-2,2026-03-02,bank_fee,GEN,20.00,银行,,,
"""
PAYMENTS = """external_id,date,expense_external_id,amount,paid_from,description
PAY-1,2026-03-10,INV-1,500.00,bank,首付
PAY-2,2026-03-20,INV-1,700.00,cash,
"""


def _load(kind, text, user, trust):
    from charity.importers import importer_class
    from ledger.csvio import run_import

    return run_import(importer_class(kind)(book=trust.book, user=user), text.encode("utf-8"))


def test_invoices_and_their_payments_by_import(funded, officer, books):
    result = _load("expenses", INVOICES, officer, funded)
    assert result.ok, [str(e) for e in result.errors]
    inv = Expense.objects.get(external_id="INV-1")
    assert (inv.payable, inv.due_date) == ("2202", dt.date(2026, 4, 1))
    assert Expense.objects.get(external_id="INV-2").payable == ""
    assert books.balance("2202") == Decimal("1200.00")
    result = _load("payments", PAYMENTS, officer, funded)
    assert result.ok, [str(e) for e in result.errors]
    assert books.balance("2202") == Decimal("0.00") and books.balance("1001") == Decimal("-700.00")
    again = _load("payments", PAYMENTS, officer, funded)
    assert (again.ok, again.created, again.skipped) == (True, 0, 2)
    assert _load("expenses", INVOICES, officer, funded).skipped == 2


@pytest.mark.parametrize("line, expected", [
    ("PAY-3,2026-03-10,INV-1,1200.01,bank,", "row 2, column amount: a payment of 1200.01 CNY is more than"),
    ("PAY-3,2026-03-10,INV-9,1.00,bank,", "row 2, column expense_external_id: 'INV-9' is not an expense"),
    ("PAY-3,2026-03-10,INV-2,1.00,bank,", "row 2, column expense_external_id: expense INV-2 was paid when"),
    ("PAY-3,2026-03-10,INV-1,1.00,safe,", "row 2, column paid_from: 'safe' is not one of bank, cash"),
])
def test_bad_payment_rows(funded, officer, line, expected):
    assert _load("expenses", INVOICES, officer, funded).ok
    result = _load("payments", PAYMENTS.splitlines()[0] + "\n" + line + "\n", officer, funded)
    assert len(result.errors) == 1 and str(result.errors[0]).startswith(expected), [str(e) for e in result.errors]
    assert not ExpensePayment.objects.exists()


def test_a_bad_payable_column_names_row_and_column(funded, officer):
    result = _load("expenses", INVOICES.replace(",2202,", ",2201,"), officer, funded)
    assert [str(e) for e in result.errors][0].startswith("row 2, column payable: '2201' is not one of 2202, 2209")


def test_past_a_service_that_misread_what_was_paid_the_database_still_refuses(funded, funds, officer, monkeypatch):
    """The control for the lock: a service that saw a stale state (here: told nothing was paid yet) computes a
    payment from the same ``paid_before`` as the first, and the database's unique chain refuses it."""
    import charity.services.payables as payables

    expense = invoice(funded, funds["GEN"], officer)
    pay(funded, expense, officer, "PAY-1", "1000.00")
    monkeypatch.setattr(payables, "paid_on", lambda expense, as_of=None: Decimal("0.00"))
    entries = JournalEntry.objects.count()
    with pytest.raises(DuplicateExternalId, match="being recorded twice"):
        pay(funded, expense, officer, "PAY-2", "1000.00")
    assert JournalEntry.objects.count() == entries and ExpensePayment.objects.count() == 1
