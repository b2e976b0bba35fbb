import threading
from decimal import Decimal

import pytest
from django.db import connection

from charity.models import ManualEntry
from ledger.models import JournalEntry

from .conftest import CAST

READERS = {"officer", "approver", "auditor"}


def _base(trust):
    return f"/api/v1/trusts/{trust.code}"


@pytest.mark.parametrize("who", CAST)
@pytest.mark.parametrize("path", ["/", "/accounts/", "/funds/", "/entries/", "/periods/", "/ledger/verify/"])
def test_read_endpoints_by_role(trust, client_for, who, path):
    response = client_for(who).get(_base(trust) + path)
    expected = 200 if who in READERS else (401 if who == "anonymous" else 403)
    assert response.status_code == expected, response.content
    if expected != 200:
        assert set(response.json()["error"]) >= {"code", "message", "field"}


def _gift(amount="1200.00", fund="GEN"):
    return {
        "date": "2026-03-02",
        "memo": "gift",
        "legs": [
            {"account": "100201", "fund": fund, "debit": amount},
            {"account": "410101", "fund": fund, "credit": amount},
        ],
    }


def _posted(trust, client_for, payload):
    """A manual entry as the API makes one: drafted by the officer (202), approved and posted by the approver."""
    draft = client_for("officer").post(_base(trust) + "/entries/", payload, format="json")
    assert draft.status_code == 202, draft.content
    approved = client_for("approver").post(f"{_base(trust)}/manual-entries/{draft.json()['id']}/approve/")
    assert approved.status_code == 200, approved.content
    return approved.json()


@pytest.mark.parametrize("who", CAST)
def test_post_entry_by_role(trust, client_for, who):
    response = client_for(who).post(_base(trust) + "/entries/", _gift(), format="json")
    expected = {"officer": 202, "anonymous": 401}.get(who, 403)
    assert response.status_code == expected, response.content
    assert ManualEntry.objects.count() == (1 if expected == 202 else 0)
    assert JournalEntry.objects.count() == 0  # a draft: nothing posted until another user approves


def test_post_entry_and_balances(trust, client_for):
    officer = client_for("officer")
    manual = _posted(trust, client_for, _gift())
    assert (manual["status"], manual["entry"], manual["drafted_by"], manual["decided_by"]) == (
        "posted", 1, "officer", "approver")
    body = officer.get(_base(trust) + "/entries/1/").json()
    assert body["sequence"] == 1 and len(body["legs"]) == 2 and len(body["hash"]) == 64
    assert (body["created_by"], body["approved_by"]) == ("officer", "approver")
    accounts = {a["code"]: a for a in officer.get(_base(trust) + "/accounts/").json()}
    assert accounts["100201"]["balance"] == "1200.00"
    assert accounts["410101"]["balance"] == "1200.00"
    funds = {f["code"]: f for f in officer.get(_base(trust) + "/funds/").json()}
    assert funds["GEN"]["net_assets"] == "1200.00"
    verify = officer.get(_base(trust) + "/ledger/verify/").json()
    assert verify["ok"] and verify["entries"] == 1 and verify["line"].startswith("OK 1 ")


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"date": "2026-03-02", "legs": []}, None),
        ({"date": "not-a-date", "legs": []}, "date"),
        ({"date": "2026-03-02", "legs": [{"account": "100201", "fund": "GEN", "debit": "1.005"},
                                        {"account": "410101", "fund": "GEN", "credit": "1.005"}]}, "legs"),
        ({"date": "2026-03-02", "legs": [{"account": "100201", "fund": "GEN", "debit": 1.5},
                                        {"account": "410101", "fund": "GEN", "credit": 1.5}]}, "legs"),
        ({"date": "2026-03-02", "legs": [{"account": "9999", "fund": "GEN", "debit": "1"},
                                        {"account": "410101", "fund": "GEN", "credit": "1"}]}, "legs"),
        ({"date": "2026-03-02", "legs": [{"account": "100201", "fund": "GEN", "debit": "2"},
                                        {"account": "410101", "fund": "GEN", "credit": "1"}]}, "legs"),
        ({"date": "2099-03-02", "legs": [{"account": "100201", "fund": "GEN", "debit": "1"},
                                        {"account": "410101", "fund": "GEN", "credit": "1"}]}, "date"),
        ({"date": "2026-03-02", "legs": [{"account": "100201", "fund": "GEN", "debit": "1", "currency": "XYZ"},
                                        {"account": "410101", "fund": "GEN", "credit": "1", "currency": "XYZ"}]},
         "currency"),
        ([1, 2, 3], None),
        ("garbage", None),
    ],
)
def test_bad_entries_get_400_with_json_and_write_nothing(trust, client_for, payload, field):
    response = client_for("officer").post(_base(trust) + "/entries/", payload, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["message"]
    if field:
        assert error["field"] is not None and error["field"].startswith(field), error
    assert JournalEntry.objects.count() == 0


def test_unknown_objects_are_404_json(trust, client_for):
    officer = client_for("officer")
    for path in ["/api/v1/trusts/NOPE/accounts/", _base(trust) + "/entries/999/", _base(trust) + "/funds/XX/"]:
        response = officer.get(path)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def test_reverse_entry(trust, client_for):
    officer = client_for("officer")
    _posted(trust, client_for, _gift())
    response = officer.post(_base(trust) + "/entries/1/reverse/", {"reason": "typo", "date": "2026-03-03"}, format="json")
    assert response.status_code == 202, response.content
    assert (response.json()["kind"], response.json()["reverses"]) == ("reversal", 1)
    waiting = officer.post(_base(trust) + "/entries/1/reverse/", {"reason": "typo"}, format="json")
    assert waiting.status_code == 400 and "already waits" in waiting.json()["error"]["message"]
    done = client_for("approver").post(f"{_base(trust)}/manual-entries/{response.json()['id']}/approve/")
    assert done.status_code == 200 and done.json()["entry"] == 2
    assert officer.get(_base(trust) + "/entries/2/").json()["reverses"] == 1
    again = officer.post(_base(trust) + "/entries/1/reverse/", {"reason": "typo"}, format="json")
    assert again.status_code == 400 and "already been reversed" in again.json()["error"]["message"]
    assert client_for("auditor").post(_base(trust) + "/entries/1/reverse/", {"reason": "x"}, format="json").status_code == 403


def test_idempotency_replay_writes_nothing(trust, client_for):
    officer = client_for("officer")
    first = officer.post(_base(trust) + "/entries/", _gift(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    second = officer.post(_base(trust) + "/entries/", _gift(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == second.status_code == 202
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert ManualEntry.objects.count() == 1
    other = officer.post(_base(trust) + "/entries/", _gift("5.00"), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert other.status_code == 400 and other.json()["error"]["code"] == "idempotency_key_reused"
    assert ManualEntry.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_gets_409(trust, users):
    """Hold the first request inside the posting service while its duplicate arrives."""
    from rest_framework.test import APIClient

    from charity.api import entries as entries_api

    entered, release = threading.Event(), threading.Event()
    real = entries_api.services.manual_entry_draft

    def slow_post(**kwargs):
        entered.set()
        release.wait(10)
        return real(**kwargs)

    results = {}

    def first():
        client = APIClient()
        client.force_authenticate(users["officer"])
        results["first"] = client.post(_base(trust) + "/entries/", _gift(), format="json", HTTP_IDEMPOTENCY_KEY="dup")
        connection.close()

    entries_api.services.manual_entry_draft = slow_post
    try:
        thread = threading.Thread(target=first)
        thread.start()
        assert entered.wait(10)
        client = APIClient()
        client.force_authenticate(users["officer"])
        results["second"] = client.post(_base(trust) + "/entries/", _gift(), format="json", HTTP_IDEMPOTENCY_KEY="dup")
        release.set()
        thread.join(20)
    finally:
        entries_api.services.manual_entry_draft = real
    assert results["second"].status_code == 409
    assert results["second"].json()["error"]["code"] == "conflict"
    assert results["first"].status_code == 202
    assert ManualEntry.objects.count() == 1


def test_entry_list_queries_do_not_grow(trust, client_for, django_assert_max_num_queries):
    officer = client_for("officer")
    for i in range(30):
        _posted(trust, client_for, _gift(f"{i + 1}.00"))
    with django_assert_max_num_queries(12):
        response = officer.get(_base(trust) + "/entries/?page_size=50")
    assert response.status_code == 200 and response.json()["count"] == 30


def test_close_period_by_role(trust, client_for):
    assert client_for("officer").post(_base(trust) + "/periods/", {"month": "2026-01"}, format="json").status_code == 403
    response = client_for("approver").post(_base(trust) + "/periods/", {"month": "2026-01"}, format="json")
    assert response.status_code == 201, response.content
    bad = client_for("approver").post(_base(trust) + "/periods/", {"month": "2026-13"}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "month"


def test_schema_and_docs(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/v1/trusts/{trust_code}/entries/" in response.content
    assert client.get("/api/docs/").status_code == 200


def test_amount_helper_is_decimal(trust, client_for):
    officer = client_for("officer")
    _posted(trust, client_for, _gift("0.10"))
    _posted(trust, client_for, _gift("0.20"))
    accounts = {a["code"]: a for a in officer.get(_base(trust) + "/accounts/").json()}
    assert Decimal(accounts["100201"]["balance"]) == Decimal("0.30")


def test_entry_list_filters(trust, client_for):
    _posted(trust, client_for, _gift())
    auditor = client_for("auditor")

    def count(query):
        response = auditor.get(_base(trust) + "/entries/?" + query)
        assert response.status_code == 200, response.content
        return response.json()["count"]

    assert count("date_from=2026-03-02&date_to=2026-03-02") == 1
    assert count("date_from=2026-03-03") == 0 and count("source_type=nothing") == 0
    assert count("page_size=1") == 1
    for query, field in [("date_from=yesterday", "date_from"), ("date_to=1900-01-01", "date_to")]:
        bad = auditor.get(_base(trust) + "/entries/?" + query)
        assert bad.status_code == 400 and bad.json()["error"]["field"] == field, bad.content
    assert "outside the books' range" in auditor.get(_base(trust) + "/entries/?date_to=1900-01-01").json()["error"][
        "message"]
