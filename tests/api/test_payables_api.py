"""Payables over HTTP: an expense recorded as payable, its payments (partial, too much, twice), and the refusals
as HTTP 400 ``{"error": {...}}`` or 401/403 for those who may not."""

import pytest

from charity.models import ExpensePayment
from tests.api.conftest import CAST

BASE = "/api/v1/trusts/CT"


@pytest.fixture
def invoice(trust, client_for):
    officer = client_for("officer")
    response = officer.post(f"{BASE}/expenses/", {
        "external_id": "INV-1", "date": "2026-04-01", "kind": "admin", "fund": "GEN", "amount": "300.00",
        "payee": "印刷厂", "payable": "2209", "due_date": "2026-05-01"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["payable"], body["due_date"]) == ("2209", "2026-05-01")
    return body


def test_paid_in_parts_and_never_beyond(trust, invoice, client_for):
    officer = client_for("officer")
    url = f"{BASE}/expense-payments/"
    first = officer.post(url, {"external_id": "PAY-1", "expense": "INV-1", "date": "2026-04-10", "amount": "100.00"},
                         format="json")
    assert first.status_code == 201 and first.json()["account"] == "100201"
    again = officer.post(url, {"external_id": "PAY-1", "expense": "INV-1", "date": "2026-04-10", "amount": "100.00"},
                         format="json")
    assert again.status_code == 200
    too_much = officer.post(url, {"external_id": "PAY-2", "expense": "INV-1", "date": "2026-04-11",
                                  "amount": "200.01", "account": "1001"}, format="json")
    assert too_much.status_code == 400
    assert too_much.json()["error"]["field"] == "amount" and "200.00 CNY" in too_much.json()["error"]["message"]
    rest = officer.post(url, {"external_id": "PAY-2", "expense": "INV-1", "date": "2026-04-11", "amount": "200.00",
                              "account": "1001"}, format="json")
    assert rest.status_code == 201
    listed = officer.get(url).json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [r["external_id"] for r in rows] == ["PAY-2", "PAY-1"]


@pytest.mark.parametrize("body, field", [
    ({"expense": "NOPE"}, "expense"),
    ({"amount": "1e3"}, "amount"),
    ({"account": "1009"}, "account"),
    ({"date": "2026-03-01"}, "date"),  # before the invoice
])
def test_bad_payments_are_400(trust, invoice, client_for, body, field):
    payment = {"external_id": "PAY-1", "expense": "INV-1", "date": "2026-04-10", "amount": "10.00", **body}
    response = client_for("officer").post(f"{BASE}/expense-payments/", payment, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["field"] == field
    assert not ExpensePayment.objects.exists()


def test_a_bad_payable_is_400(trust, client_for):
    response = client_for("officer").post(f"{BASE}/expenses/", {
        "external_id": "INV-2", "date": "2026-04-01", "kind": "admin", "fund": "GEN", "amount": "300.00",
        "payable": "2202"}, format="json")
    assert response.status_code == 400 and response.json()["error"]["field"] == "payee"


@pytest.mark.parametrize("who", [w for w in CAST if w != "officer"])
def test_only_the_officer_pays(trust, invoice, client_for, who):
    response = client_for(who).post(f"{BASE}/expense-payments/", {
        "external_id": "PAY-1", "expense": "INV-1", "date": "2026-04-10", "amount": "10.00"}, format="json")
    assert response.status_code in (401, 403)
    assert not ExpensePayment.objects.exists()
