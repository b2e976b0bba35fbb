"""The officer's expense pages and manual entry form: every action through the services, refusals on the form."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from charity import roles
from charity.models import Attachment, Expense, ExpenseRequest, ManualEntry
from charity.services import trust_set_expense_threshold
from ledger.services import system_user
from tests.beneficiaries.conftest import give, make_aid
from tests.conftest import grant

D = dt.date(2026, 3, 2)
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
NEW = "/office/expenses/new/?trust=CT"


@pytest.fixture
def world(db, officer, approver, django_user_model):
    aid = make_aid("CT")
    give(aid, aid.gen, "5000.00", officer)
    give(aid, aid.smile, "3000.00", officer)
    auditor = grant(django_user_model.objects.create_user("auditor"), roles.AUDITOR, aid.book.trust)
    return {"aid": aid, "trust": aid.book.trust, "officer": officer, "approver": approver, "auditor": auditor}


def _expense(**extra):
    return {"trust": "CT", "external_id": "E-100", "date": D.isoformat(), "kind": "admin", "fund": "GEN",
            "amount": "120.50", "payee": "文具店", "invoice_number": "INV-0042", "description": "paper", **extra}


def test_record_an_expense_with_its_voucher(client, world):
    client.force_login(world["officer"])
    assert client.get(NEW).status_code == 200
    voucher = SimpleUploadedFile("凭证.pdf", PDF, content_type="application/pdf")
    response = client.post(NEW, _expense(voucher=voucher))
    assert response.status_code == 302 and response["Location"] == "/office/expenses/?trust=CT"
    expense = Expense.objects.get(trust=world["trust"], external_id="E-100")
    assert (expense.amount.amount, expense.invoice_number, expense.payee) == (Decimal("120.50"), "INV-0042", "文具店")
    (attachment,) = Attachment.objects.filter(expense=expense)
    assert attachment.name == "凭证.pdf" and attachment.size == len(PDF)
    page = client.get("/office/expenses/?trust=CT&invoice_number=0042").content.decode()
    assert "E-100" in page and "INV-0042" in page
    assert "E-100" not in client.get("/office/expenses/?trust=CT&kind=fundraising").content.decode()
    csv = client.get("/office/expenses/?trust=CT&payee=文具&format=csv")
    assert csv["Content-Type"].startswith("text/csv")
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("external_id,") and len(lines) == 2 and "INV-0042" in lines[1]


def test_a_smile_pack_purchase_goes_into_stock(client, world):
    client.force_login(world["officer"])
    response = client.post(NEW, _expense(external_id="P-1", kind="inventory_purchase", fund="SMILE",
                                         item="smile_pack", quantity="10", amount="500.00"))
    assert response.status_code == 302
    expense = Expense.objects.get(external_id="P-1")
    assert expense.item.code == "smile_pack" and expense.quantity == 10


def test_above_the_threshold_it_becomes_a_request_for_approval(client, world):
    trust_set_expense_threshold(trust=world["trust"], threshold=Decimal("100.00"), user=system_user())
    client.force_login(world["officer"])
    voucher = SimpleUploadedFile("scan.pdf", PDF, content_type="application/pdf")
    response = client.post(NEW, _expense(voucher=voucher), follow=True)
    assert "approval" in response.content.decode().lower() or "审批" in response.content.decode()
    assert not Expense.objects.filter(external_id="E-100").exists()
    request = ExpenseRequest.objects.get(external_id="E-100", status="draft")
    assert request.data["invoice_number"] == "INV-0042"
    assert Attachment.objects.filter(expense_request=request).count() == 1
    client.force_login(world["approver"])
    assert f'id="expense-{request.pk}"' in client.get("/office/approvals/?trust=CT").content.decode()


@pytest.mark.parametrize("bad, field", [
    ({"amount": "abc"}, "amount"),
    ({"amount": "-5"}, "amount"),
    ({"fund": "SMILE"}, "fund"),  # a restricted fund pays no management expense: the service's rule
    ({"kind": "admin", "item": "smile_pack", "quantity": "2"}, "item"),
    ({"voucher": SimpleUploadedFile("x.pdf", b"plain text, not a PDF", content_type="application/pdf")}, "voucher"),
])
def test_bad_input_is_a_form_error_naming_the_field(client, world, bad, field):
    client.force_login(world["officer"])
    response = client.post(NEW, _expense(**bad))
    assert response.status_code == 400
    assert f'id="error-{field}"' in response.content.decode()
    assert not Expense.objects.filter(external_id="E-100").exists()


def test_the_auditor_reads_the_list_but_may_not_record(client, world):
    client.force_login(world["auditor"])
    assert client.get("/office/expenses/?trust=CT").status_code == 200
    assert client.post(NEW, _expense()).status_code == 403
    assert not Expense.objects.filter(external_id="E-100").exists()


def _legs(*rows):
    data = {"trust": "CT", "date": D.isoformat(), "memo": "reclassify", "account": [], "fund": [], "debit": [],
            "credit": []}
    for account, fund, debit, credit in rows:
        data["account"].append(account)
        data["fund"].append(fund)
        data["debit"].append(debit)
        data["credit"].append(credit)
    return data


def test_a_manual_entry_drafted_on_the_page_waits_in_the_approvals_inbox(client, world):
    client.force_login(world["officer"])
    page = client.get("/office/entries/new/?trust=CT").content.decode()
    assert "entry_form.js" in page and 'id="add-leg"' in page
    response = client.post("/office/entries/new/?trust=CT", _legs(
        ("100201", "GEN", "7.00", ""), ("410101", "GEN", "", "7.00"), ("", "", "", "")))
    assert response.status_code == 302 and response["Location"] == "/office/approvals/?trust=CT"
    manual = ManualEntry.objects.get(trust=world["trust"], status="draft")
    assert manual.drafted_by == world["officer"] and len(manual.legs) == 2
    client.force_login(world["approver"])
    html = client.get("/office/approvals/?trust=CT").content.decode()
    assert f'id="manual-{manual.pk}"' in html


def test_a_manual_entry_that_is_refused_shows_why_on_the_form(client, world):
    client.force_login(world["officer"])
    unbalanced = client.post("/office/entries/new/?trust=CT", _legs(("100201", "GEN", "7.00", ""),
                                                                      ("410101", "GEN", "", "6.00")))
    assert unbalanced.status_code == 400 and 'id="form-errors"' in unbalanced.content.decode()
    no_account = client.post("/office/entries/new/?trust=CT", _legs(("9999", "GEN", "7.00", ""),
                                                                      ("410101", "GEN", "", "7.00")))
    assert no_account.status_code == 400 and "no account 9999" in no_account.content.decode()
    not_a_number = client.post("/office/entries/new/?trust=CT", _legs(("100201", "GEN", "x", ""),
                                                                       ("410101", "GEN", "", "7.00")))
    assert not_a_number.status_code == 400
    assert not ManualEntry.objects.exists()
    client.force_login(world["auditor"])
    assert client.post("/office/entries/new/?trust=CT", _legs(("100201", "GEN", "7.00", ""),
                                                             ("410101", "GEN", "", "7.00"))).status_code == 403
