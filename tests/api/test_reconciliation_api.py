"""``/api/v1/trusts/{code}/reconciliation/``: statement lines and matches per money account, and the officer's
actions through the reconciliation services (the book and statement of tests/charity/test_reconciliation.py)."""

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from charity import chart, roles
from charity.models import ReconciledMonth, StatementLine, StatementMatch
from charity.services import trust_create
from ledger.models import Leg
from ledger.services import system_user
from tests.charity.test_reconciliation import GENERIC, bank_book
from tests.conftest import grant

BASE = f"/api/v1/trusts/CT/reconciliation/{chart.BANK}/"


@pytest.fixture
def bank(trust):
    return bank_book(trust)


def _upload(client, text=GENERIC, **extra):
    return client.post(f"{BASE}import/", {"file": SimpleUploadedFile("s.csv", text.encode()), "format": "generic",
                                          **extra}, format="multipart")


def test_the_officer_imports_matches_books_and_reconciles(bank, client_for):
    officer = client_for("officer")
    dry = _upload(officer, dry_run="true")
    assert dry.status_code == 200 and dry.json()["created"] == 4 and dry.json()["dry_run"] is True
    assert not StatementLine.objects.exists()
    assert _upload(officer).json()["created"] == 4
    assert _upload(officer).json()["skipped"] == 4  # re-importing writes nothing
    listing = officer.get("/api/v1/trusts/CT/reconciliation/").json()
    row = next(r for r in listing if r["code"] == chart.BANK)
    assert (row["unmatched_lines"], row["unmatched_legs"], row["last_statement_date"]) == (4, 3, "2026-02-02")
    assert officer.post(f"{BASE}match-auto/").json() == {"matched": 3}
    lines = officer.get(f"{BASE}lines/?unmatched=true").json()["results"]
    assert [(ln["amount"], ln["reference"]) for ln in lines] == [("-15.00", "B003")]
    booked = officer.post(f"{BASE}book/", {"line": lines[0]["id"], "kind": "bank_fee"}, format="json")
    assert booked.status_code == 200 and booked.json()["entry"] and booked.json()["expense_request"] is None
    matches = officer.get(f"{BASE}matches/").json()["results"]
    assert len(matches) == 4 and matches[-1]["legs"][0]["amount"] == "-15.00"
    done = officer.post(f"{BASE}reconcile/", {"month": "2026-01"}, format="json")
    assert done.status_code == 200 and done.json()["book_balance"] == "11685.00"
    assert ReconciledMonth.objects.count() == 1
    for month in ("9999-12", "2026-13", "0000-01"):
        refused = officer.post(f"{BASE}reconcile/", {"month": month}, format="json")
        assert refused.status_code == 400 and refused.json()["error"]["field"] == "month"
    first = StatementLine.objects.get(reference="B001").match_id
    refused = officer.post(f"{BASE}unmatch/", {"match": first}, format="json")
    assert refused.status_code == 400 and "2026-01 is reconciled" in refused.json()["error"]["message"]


def test_a_bad_file_lists_its_rows_and_writes_nothing(bank, client_for):
    response = _upload(client_for("officer"), GENERIC.replace("-300.00,9700.00", "-310.00,9700.00"))
    assert response.status_code == 400
    body = response.json()["error"]
    assert body["field"] == "file" and body["rows"][0]["column"] == "balance"
    assert not StatementLine.objects.exists()


def test_matching_by_hand_and_undoing(bank, client_for):
    officer = client_for("officer")
    text = ("date,amount,balance,counterparty,reference\n2026-01-31,12000.00,12000.00,x,B2\n")
    _upload(officer, text)
    line = StatementLine.objects.get(reference="B2")
    gifts = list(Leg.objects.filter(account=bank, debit__gt=0).order_by("date"))
    unequal = officer.post(f"{BASE}match/", {"lines": [line.pk], "legs": [gifts[0].pk]}, format="json")
    assert unequal.status_code == 400 and unequal.json()["error"]["field"] == "legs"
    made = officer.post(f"{BASE}match/", {"lines": [line.pk], "legs": [g.pk for g in gifts]}, format="json")
    assert made.status_code == 201 and len(made.json()["legs"]) == 2
    assert officer.post(f"{BASE}unmatch/", {"match": made.json()["id"]}, format="json").status_code == 204
    assert not StatementMatch.objects.exists()


@pytest.mark.parametrize("who", ["approver", "auditor", "donor_a", "outsider", "anonymous"])
def test_only_the_officer_acts(bank, client_for, who):
    client = client_for(who)
    reads = client.get(f"{BASE}lines/").status_code
    assert reads == {"approver": 200, "auditor": 200, "anonymous": 401}.get(who, 403)
    expected = 401 if who == "anonymous" else 403
    assert _upload(client).status_code == expected
    assert client.post(f"{BASE}match-auto/").status_code == expected
    assert client.post(f"{BASE}reconcile/", {"month": "2026-01"}, format="json").status_code == expected
    assert not StatementLine.objects.exists()


def test_another_trusts_officer_and_lines_are_refused(trust, bank, client_for):
    other = trust_create(code="B", name="乙信托", user=system_user())
    outsider = grant(get_user_model().objects.create_user("officer-b"), roles.OFFICER, other)
    client = APIClient()
    client.force_authenticate(outsider)
    assert client.get(f"{BASE}lines/").status_code == 403
    assert _upload(client).status_code == 403
    # their own trust's book: a line of trust CT is no line of their account
    _upload(client_for("officer"))
    line = StatementLine.objects.get(reference="B003")
    theirs = client.post(f"/api/v1/trusts/B/reconciliation/{chart.BANK}/book/", {"line": line.pk, "kind": "bank_fee"},
                         format="json")
    assert theirs.status_code == 400 and theirs.json()["error"]["field"] == "line"
    assert client.get("/api/v1/trusts/B/reconciliation/410101/").status_code == 404
    assert StatementLine.objects.get(pk=line.pk).match is None
