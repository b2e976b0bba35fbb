"""The trust side's endpoints (donors, donations, receipts, expenses, the audit log) and the donor's own /me/:
each by every member of the cast, money recorded over HTTP, idempotency, garbage input, what a donor may see,
what the audit log keeps, and pinned query counts."""

from ledger.services import system_user
import datetime as dt
import io
import json
import threading
from decimal import Decimal

import pypdf
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from beneficiaries.idnumber import make_id_number
from beneficiaries.models import Program
from beneficiaries.services import (
    beneficiary_register,
    disbursement_approve,
    disbursement_draft,
    disbursement_pay,
    household_get_or_create,
)
from charity.models import AuditEvent, Donation, Donor, Expense, IdempotencyRecord, Receipt, Refund
from charity.services import donation_record, donor_create, expense_record
from ledger import services as ledger
from ledger.models import Fund, JournalEntry

from .conftest import CAST

READERS = {"officer", "approver", "auditor"}
D = dt.date(2026, 3, 2)


def _base(trust):
    return f"/api/v1/trusts/{trust.code}"


@pytest.fixture
def world(trust, users):
    """STUDY (restricted to study grants) and GEN; donors D-A and D-B linked to donor_a and donor_b; gifts DN-A
    (1200.00, A), DN-B (800.00, B) to STUDY and DN-G (5000.00, no donor) to GEN; three children each granted
    300.00 from STUDY (all paid by DN-A, the oldest gift); expense E-1 (admin, 100.00 from GEN)."""
    officer, approver = users["officer"], users["approver"]
    study = ledger.fund_create(user=system_user(), book=trust.book, code="STUDY", name="助学金专项资金", restriction="restricted",
                               purpose="study_grant")
    general = Fund.objects.get(book=trust.book, code="GEN")
    donor_a = donor_create(by=system_user(), trust=trust, kind="individual", name="甲捐赠人", external_id="D-A", user=users["donor_a"],
                           address="苏州市姑苏区一号")
    donor_b = donor_create(by=system_user(), trust=trust, kind="individual", name="乙捐赠人", external_id="D-B", anonymous=True,
                           user=users["donor_b"])
    gifts = {
        "DN-A": donation_record(trust=trust, external_id="DN-A", date=D, amount=Decimal("1200.00"), fund=study,
                                channel="bank", user=officer, donor=donor_a)[0],
        "DN-B": donation_record(trust=trust, external_id="DN-B", date=D, amount=Decimal("800.00"), fund=study,
                                channel="wechat", user=officer, donor=donor_b)[0],
        "DN-G": donation_record(trust=trust, external_id="DN-G", date=D, amount=Decimal("5000.00"), fund=general,
                                channel="bank", user=officer)[0],
    }
    program = Program.objects.get(book=trust.book, code="study_grant")
    kids = []
    for i in range(3):
        household = household_get_or_create(user=system_user(), book=trust.book, external_id=f"HH-{i}")
        mother = beneficiary_register(
            book=trust.book, external_id=f"M-{i}", name=f"母亲{i}号", user=officer, gender="F",
            id_number=make_id_number("440105", dt.date(1988, 1, 1 + i), 100 + i, "F"),
            birth_date=dt.date(1988, 1, 1 + i), household=household, phone=f"1381234567{i}",
        )
        kid = beneficiary_register(
            book=trust.book, external_id=f"K-{i}", name=f"孩子{i}号", user=officer, gender="M",
            id_number=make_id_number("440105", dt.date(2014, 2, 1 + i), 201 + 2 * i, "M"),
            birth_date=dt.date(2014, 2, 1 + i), household=household, guardian=mother, phone=f"1390000000{i}",
        )
        kids.append(kid)
        draft = disbursement_draft(book=trust.book, external_id=f"DS-{i}", beneficiary=kid, program=program,
                                   fund=study, date=dt.date(2026, 3, 5), user=officer, amount=Decimal("300.00"))
        disbursement_approve(disbursement=draft, user=approver)
        disbursement_pay(disbursement=draft, user=approver)
    expense_record(trust=trust, external_id="E-1", date=D, kind="admin", fund=general, amount=Decimal("100.00"),
                   user=officer, payee="印刷店")
    return {"study": study, "general": general, "gifts": gifts, "kids": kids, "donor_a": donor_a}


def _label(external_id):
    return Receipt.objects.get(donation__external_id=external_id, voided_at__isnull=True).label


def _net_assets(client, trust, code) -> Decimal:
    return Decimal({f["code"]: f for f in client.get(_base(trust) + "/funds/").json()}[code]["net_assets"])


def _refused(who):
    return 401 if who == "anonymous" else 403


# -- reads by the cast ------------------------------------------------------------------------------------------

READ_PATHS = [
    "/donors/", "/donors/D-A/", "/donations/", "/donations/DN-A/", "/donations/DN-A/trace/",
    "/donations/DN-A/receipt/", "/receipts/", "/receipts/{receipt}/", "/receipts/{receipt}/pdf/", "/expenses/",
    "/expenses/E-1/",
]


@pytest.mark.parametrize("who", CAST)
def test_every_read_endpoint_by_role(trust, world, client_for, who):
    client = client_for(who)
    for path in READ_PATHS:
        response = client.get(_base(trust) + path.format(receipt=_label("DN-A")))
        expected = 200 if who in READERS else _refused(who)
        assert response.status_code == expected, (path, response.content[:300])
        if expected != 200:
            assert response.json()["error"]["code"] in ("not_authenticated", "permission_denied")
        elif path.endswith(("receipt/", "pdf/")):
            assert response["Content-Type"] == "application/pdf" and response.content.startswith(b"%PDF")


def test_unknown_objects_are_404(trust, world, client_for):
    officer = client_for("officer")
    for path in ["/donors/NOPE/", "/donations/NOPE/", "/donations/NOPE/trace/", "/receipts/2026-999999/",
                 "/receipts/2026-999999/pdf/", "/expenses/NOPE/", "/donations/DN-A%00/"]:
        response = officer.get(_base(trust) + path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"
    assert officer.get("/api/v1/trusts/NOPE/donations/").status_code == 404


def _state():
    return (
        JournalEntry.objects.count(), Donation.objects.count(), Refund.objects.count(), Expense.objects.count(),
        sorted(Receipt.objects.values_list("year", "number", "voided_at")),
        sorted(Donor.objects.values_list("external_id", "name", "email")),
    )


GIFT = {"external_id": "DN-9", "date": "2026-04-01", "amount": "300.00", "fund": "STUDY", "channel": "alipay",
        "donor": "D-A"}
# name, method, path, body, success status (the officer; everyone else is refused)
WRITES = [
    ("donor-create", "post", "/donors/", {"external_id": "D-9", "name": "丙捐赠人", "email": "c@example.org"}, 201),
    ("donor-update", "patch", "/donors/D-A/", {"name": "甲捐赠人（更正）"}, 200),
    ("donation-record", "post", "/donations/", GIFT, 201),
    ("donation-refund", "post", "/donations/DN-B/refund/", {"external_id": "RF-1", "date": "2026-04-01",
                                                            "reason": "donor asked"}, 201),
    ("receipt-void", "post", "/receipts/{receipt}/void/", {"reason": "misspelt name", "reissue": True}, 200),
    ("expense-record", "post", "/expenses/", {"external_id": "E-9", "date": "2026-04-01", "kind": "bank_fee",
                                              "fund": "GEN", "amount": "12.50"}, 201),
]


@pytest.mark.parametrize("name, method, path, body, success", WRITES, ids=[w[0] for w in WRITES])
def test_every_write_endpoint_by_role(trust, world, client_for, name, method, path, body, success):
    url = _base(trust) + path.format(receipt=_label("DN-A"))
    before = _state()
    for who in [w for w in CAST if w != "officer"]:
        response = getattr(client_for(who), method)(url, body, format="json")
        assert response.status_code == _refused(who), (who, response.content)
        assert response.json()["error"]["code"] in ("not_authenticated", "permission_denied")
        assert _state() == before, who
    response = getattr(client_for("officer"), method)(url, body, format="json")
    assert response.status_code == success, response.content
    assert _state() != before


# -- money over HTTP --------------------------------------------------------------------------------------------


def test_record_a_donation_moves_the_fund_and_issues_a_receipt(trust, world, client_for):
    officer = client_for("officer")
    assert _net_assets(officer, trust, "STUDY") == Decimal("1100.00")  # 2000 given, 900 granted
    response = officer.post(_base(trust) + "/donations/", GIFT, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["amount"] == "300.00" and body["currency"] == "CNY" and body["amount_cny"] == "300.00"
    assert body["donor"] == "D-A" and body["fund"] == "STUDY" and body["created_by"] == "officer"
    assert body["receipt"] == "2026-000004" and body["refunded_cny"] == "0.00"
    assert _net_assets(officer, trust, "STUDY") == Decimal("1400.00")
    receipt = officer.get(_base(trust) + "/receipts/2026-000004/").json()
    assert receipt["donation"] == "DN-9" and receipt["status"] == "issued" and receipt["donor"] == "甲捐赠人"
    pdf = officer.get(_base(trust) + "/donations/DN-9/receipt/")
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.content)).pages)
    assert "2026-000004" in text and "甲捐赠人" in text
    # the same gift under the same external id again: 200, nothing written
    again = officer.post(_base(trust) + "/donations/", GIFT, format="json")
    assert again.status_code == 200 and again.json() == body
    assert Donation.objects.count() == 4
    different = officer.post(_base(trust) + "/donations/", {**GIFT, "amount": "301.00"}, format="json")
    assert different.status_code == 400 and different.json()["error"]["code"] == "duplicate_external_id"


def test_foreign_currency_gift(trust, world, client_for):
    response = client_for("officer").post(_base(trust) + "/donations/", {
        **GIFT, "amount": "100.00", "currency": "USD", "fx_rate": "7.12345678"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["currency"] == "USD" and body["amount_cny"] == "712.35" and body["fx_rate"] == "7.12345678"


def test_donation_list_filters(trust, world, client_for):
    auditor = client_for("auditor")

    def ids(query):
        response = auditor.get(_base(trust) + "/donations/?" + query)
        assert response.status_code == 200, response.content
        return sorted(d["external_id"] for d in response.json()["results"])

    assert ids("") == ["DN-A", "DN-B", "DN-G"]
    assert ids("fund=STUDY") == ["DN-A", "DN-B"]
    assert ids("channel=wechat") == ["DN-B"]
    assert ids("donor=D-A") == ["DN-A"]
    assert ids("date_from=2026-03-03") == []
    assert ids("date_to=2026-03-02&date_from=2026-03-02") == ["DN-A", "DN-B", "DN-G"]
    bad = auditor.get(_base(trust) + "/donations/?date_from=yesterday")
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "date_from"
    assert auditor.get(_base(trust) + "/donations/?channel=cheque").status_code == 400


def test_donor_list_search_and_update(trust, world, client_for):
    officer = client_for("officer")
    found = officer.get(_base(trust) + "/donors/?search=甲").json()["results"]
    assert [d["external_id"] for d in found] == ["D-A"] and found[0]["user"] == "donor_a"
    anonymous = officer.get(_base(trust) + "/donors/?anonymous=true").json()["results"]
    assert [d["external_id"] for d in anonymous] == ["D-B"]
    label = _label("DN-A")
    changed = officer.patch(_base(trust) + "/donors/D-A/", {"name": "甲捐赠人新名", "email": "a@example.org"},
                            format="json")
    assert changed.status_code == 200 and changed.json()["name"] == "甲捐赠人新名"
    assert officer.get(_base(trust) + f"/receipts/{label}/").json()["donor"] == "甲捐赠人"  # issued: unchanged
    for body, field in [({"email": "not-an-email"}, "email"), ({"external_id": "X"}, "external_id"),
                        ({"user": "nobody"}, "user"), ({"user": "donor_b"}, "user"), ({"kind": "robot"}, "kind")]:
        response = officer.patch(_base(trust) + "/donors/D-A/", body, format="json")
        assert response.status_code == 400 and response.json()["error"]["field"] == field, (body, response.content)
    dup = officer.post(_base(trust) + "/donors/", {"external_id": "D-A", "name": "x"}, format="json")
    assert dup.status_code == 400 and dup.json()["error"]["field"] == "external_id"


def test_refund_and_void_over_http(trust, world, client_for):
    officer = client_for("officer")
    refused = officer.post(_base(trust) + "/donations/DN-A/refund/", {"external_id": "RF-1", "reason": "x",
                                                                      "date": "2026-04-01"}, format="json")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "refund_refused"
    old = _label("DN-B")
    partial = officer.post(_base(trust) + "/donations/DN-B/refund/", {
        "external_id": "RF-2", "reason": "donor asked", "date": "2026-04-01", "amount": "200.00"}, format="json")
    assert partial.status_code == 201, partial.content
    assert partial.json()["amount"] == "200.00" and partial.json()["donation"] == "DN-B"
    gift = officer.get(_base(trust) + "/donations/DN-B/").json()
    assert gift["refunded_cny"] == "200.00" and gift["receipt"] not in (None, old)
    assert officer.get(_base(trust) + f"/receipts/{old}/").json()["status"] == "void"

    label = _label("DN-G")
    voided = officer.post(_base(trust) + f"/receipts/{label}/void/", {"reason": "typo", "reissue": True},
                          format="json")
    assert voided.status_code == 200, voided.content
    assert voided.json()["voided"]["status"] == "void" and voided.json()["reissued"]["status"] == "issued"
    again = officer.post(_base(trust) + f"/receipts/{label}/void/", {"reason": "typo"}, format="json")
    assert again.status_code == 400 and again.json()["error"]["code"] == "receipt_error"
    no_reason = officer.post(_base(trust) + f"/receipts/{label}/void/", {}, format="json")
    assert no_reason.json()["error"]["field"] == "reason"
    years = officer.get(_base(trust) + "/receipts/?year=2026").json()
    assert years["count"] == Receipt.objects.count() and officer.get(
        _base(trust) + "/receipts/?year=2025").json()["count"] == 0


def test_expense_over_http(trust, world, client_for):
    officer = client_for("officer")
    response = officer.post(_base(trust) + "/expenses/", {
        "external_id": "E-2", "date": "2026-04-01", "kind": "admin", "fund": "GEN", "amount": "50.00",
        "payee": "文具店"}, format="json")
    assert response.status_code == 201 and response.json()["amount"] == "50.00"
    assert _net_assets(officer, trust, "GEN") == Decimal("4850.00")
    refused = officer.post(_base(trust) + "/expenses/", {
        "external_id": "E-3", "date": "2026-04-01", "kind": "admin", "fund": "STUDY", "amount": "50.00"}, format="json")
    assert refused.status_code == 400 and refused.json()["error"] == {
        "code": "purpose_refused", "field": "fund", "message": refused.json()["error"]["message"]}
    assert "STUDY" in refused.json()["error"]["message"]
    listed = officer.get(_base(trust) + "/expenses/?kind=admin&fund=GEN").json()
    assert sorted(e["external_id"] for e in listed["results"]) == ["E-1", "E-2"]


# -- idempotency ------------------------------------------------------------------------------------------------


def test_idempotency_key_replays_and_writes_nothing(trust, world, client_for):
    officer = client_for("officer")
    url = _base(trust) + "/donations/"
    first = officer.post(url, GIFT, format="json", HTTP_IDEMPOTENCY_KEY="gift-1")
    before = _state()
    second = officer.post(url, GIFT, format="json", HTTP_IDEMPOTENCY_KEY="gift-1")
    assert first.status_code == second.status_code == 201
    assert second["Idempotent-Replayed"] == "true" and first.json() == second.json()
    assert _state() == before
    record = IdempotencyRecord.objects.get(key="gift-1")
    assert record.body["amount"] == "300.00" and not record.in_progress
    other = officer.post(url, {**GIFT, "external_id": "DN-10"}, format="json", HTTP_IDEMPOTENCY_KEY="gift-1")
    assert other.status_code == 400 and other.json()["error"]["code"] == "idempotency_key_reused"
    assert _state() == before
    refund = {"external_id": "RF-1", "reason": "asked", "date": "2026-04-01"}
    r1 = officer.post(_base(trust) + "/donations/DN-9/refund/", refund, format="json", HTTP_IDEMPOTENCY_KEY="rf")
    r2 = officer.post(_base(trust) + "/donations/DN-9/refund/", refund, format="json", HTTP_IDEMPOTENCY_KEY="rf")
    assert r1.status_code == r2.status_code == 201 and r1.json() == r2.json()
    assert Refund.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_donation_gets_409(trust, world, users):
    """Hold the first request inside the recording service while its duplicate arrives."""
    from charity.api import donations as donations_api

    entered, release = threading.Event(), threading.Event()
    real = donations_api.services.donation_record

    def slow_record(**kwargs):
        entered.set()
        release.wait(10)
        return real(**kwargs)

    results = {}

    def first():
        client = APIClient()
        client.force_authenticate(users["officer"])
        results["first"] = client.post(_base(trust) + "/donations/", GIFT, format="json", HTTP_IDEMPOTENCY_KEY="dup")
        connection.close()

    donations_api.services.donation_record = slow_record
    try:
        thread = threading.Thread(target=first)
        thread.start()
        assert entered.wait(10)
        client = APIClient()
        client.force_authenticate(users["officer"])
        results["second"] = client.post(_base(trust) + "/donations/", GIFT, format="json", HTTP_IDEMPOTENCY_KEY="dup")
        release.set()
        thread.join(20)
    finally:
        donations_api.services.donation_record = real
    assert results["second"].status_code == 409
    assert results["second"].json()["error"]["code"] == "conflict"
    assert results["first"].status_code == 201, results["first"].content
    assert Donation.objects.filter(external_id="DN-9").count() == 1


# -- garbage in -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload, field",
    [
        ({**GIFT, "amount": 300.5}, "amount"),
        ({**GIFT, "amount": "300.005"}, "amount"),
        ({**GIFT, "amount": "0.00"}, "amount"),
        ({**GIFT, "amount": "-5.00"}, "amount"),
        ({**GIFT, "amount": "1e30"}, "amount"),
        ({**GIFT, "amount": "99999999999999999999999.00"}, "amount"),
        ({**GIFT, "amount": "NaN"}, "amount"),
        ({**GIFT, "amount": ["1"]}, "amount"),
        ({**GIFT, "fund": "NOPE"}, "fund"),
        ({**GIFT, "donor": "NOPE"}, "donor"),
        ({**GIFT, "currency": "XYZ"}, "currency"),
        ({**GIFT, "currency": "USD"}, "fx_rate"),
        ({**GIFT, "currency": "USD", "fx_rate": 7.1}, "fx_rate"),
        ({**GIFT, "currency": "USD", "fx_rate": "7.123456789"}, "fx_rate"),
        ({**GIFT, "fx_rate": "7.1"}, "fx_rate"),
        ({**GIFT, "channel": "cheque"}, "channel"),
        ({**GIFT, "date": "2026-02-30"}, "date"),
        ({**GIFT, "date": "2099-01-01"}, "date"),
        ({**GIFT, "external_id": ""}, "external_id"),
        ({**GIFT, "external_id": "x" * 65}, "external_id"),
        ({**GIFT, "item": "书包"}, "item"),
        ({**GIFT, "channel": "in_kind"}, "item"),
        ({**GIFT, "surprise": 1}, "surprise"),
        ({k: v for k, v in GIFT.items() if k != "amount"}, "amount"),
        ([1, 2, 3], None),
        ("garbage", None),
        ({}, None),
    ],
)
def test_bad_donations_are_400_naming_the_field_and_write_nothing(trust, world, client_for, payload, field):
    before = _state()
    response = client_for("officer").post(_base(trust) + "/donations/", payload, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["message"] and error["code"]
    if field:
        assert error["field"] == field, error
    assert _state() == before


@pytest.mark.parametrize("payload, field", [
    ({"external_id": "E-9", "date": "2026-04-01", "kind": "admin", "fund": "GEN", "amount": 1.5}, "amount"),
    ({"external_id": "E-9", "date": "2026-04-01", "kind": "admin", "fund": "GEN", "amount": "1.555"}, "amount"),
    ({"external_id": "E-9", "date": "2026-04-01", "kind": "admin", "fund": "NOPE", "amount": "1"}, "fund"),
    ({"external_id": "E-9", "date": "2026-04-01", "kind": "party", "fund": "GEN", "amount": "1"}, "kind"),
    ({"external_id": "E-9", "date": "2026-04-01", "kind": "inventory_purchase", "fund": "GEN", "amount": "10",
      "item": "nope", "quantity": 1}, "item"),
    ({"external_id": "E-9", "date": "2026-04-01", "kind": "admin", "fund": "GEN", "amount": "1", "quantity": 2},
     "item"),
    ({"external_id": "E-9", "date": "2026-04-01", "kind": "admin", "fund": "STUDY", "amount": "1.00"}, "fund"),
    ("garbage", None),
])
def test_bad_expenses_are_400(trust, world, client_for, payload, field):
    before = _state()
    response = client_for("officer").post(_base(trust) + "/expenses/", payload, format="json")
    assert response.status_code == 400, response.content
    if field:
        assert response.json()["error"]["field"] == field, response.json()
    assert _state() == before


@pytest.mark.parametrize("path, payload, field", [
    ("/donations/DN-B/refund/", {"external_id": "RF-1", "reason": "x", "amount": "900.00"}, "amount"),
    ("/donations/DN-B/refund/", {"external_id": "RF-1", "reason": "x", "amount": 1.5}, "amount"),
    ("/donations/DN-B/refund/", {"external_id": "RF-1", "reason": ""}, "reason"),
    ("/donations/DN-B/refund/", {"external_id": "RF-1", "reason": "x", "date": "2026-03-01"}, "date"),
    ("/donations/DN-B/refund/", [1], None),
    ("/donors/", {"name": "x"}, "external_id"),
    ("/donors/", {"external_id": "D-9", "name": "x", "kind": "robot"}, "kind"),
    ("/donors/", "garbage", None),
])
def test_bad_refunds_and_donors_are_400(trust, world, client_for, path, payload, field):
    before = _state()
    response = client_for("officer").post(_base(trust) + path, payload, format="json")
    assert response.status_code == 400, response.content
    if field:
        assert response.json()["error"]["field"] == field, response.json()
    assert _state() == before


# -- where the money went, and the donor's own corner -----------------------------------------------------------


def _no_identities(text, world):
    for kid in world["kids"]:
        mother = kid.guardian
        for person in (kid, mother):
            for value in (person.name, person.id_number, person.external_id, person.phone):
                assert not value or value not in text, value
    for value in ("HH-0", "DS-0", "DS-1", "DS-2"):
        assert value not in text


def test_trace_counts_never_names(trust, world, client_for):
    for client, url in [(client_for("auditor"), _base(trust) + "/donations/DN-A/trace/"),
                        (client_for("donor_a"), "/api/v1/me/donations/DN-A/trace/")]:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["amount_cny"] == "1200.00" and body["spent"] == "900.00" and body["unspent"] == "300.00"
        assert body["uses"] == [{
            "use": "study_grant", "name": body["uses"][0]["name"], "name_en": body["uses"][0]["name_en"],
            "amount": "900.00", "percent": 75, "first_date": "2026-03-05", "last_date": "2026-03-05",
            "beneficiaries_reached": "fewer than 5",
        }]
        _no_identities(response.content.decode(), world)
    unspent = client_for("auditor").get(_base(trust) + "/donations/DN-B/trace/").json()
    assert unspent["spent"] == "0.00" and unspent["uses"] == []


def test_me_shows_only_my_own(trust, world, client_for):
    a = client_for("donor_a")
    me = a.get("/api/v1/me/")
    assert me.status_code == 200 and me.json()["external_id"] == "D-A" and me.json()["trust"] == "CT"
    gifts = a.get("/api/v1/me/donations/").json()
    assert [g["external_id"] for g in gifts["results"]] == ["DN-A"] and gifts["count"] == 1
    assert gifts["results"][0]["receipt"] == _label("DN-A")
    assert a.get("/api/v1/me/donations/DN-A/").json()["amount"] == "1200.00"
    pdf = a.get("/api/v1/me/donations/DN-A/receipt.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert "甲捐赠人" in "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.content)).pages)
    for path in ["/api/v1/me/donations/DN-B/", "/api/v1/me/donations/DN-B/trace/",
                 "/api/v1/me/donations/DN-B/receipt.pdf", "/api/v1/me/donations/DN-G/", "/api/v1/me/donations/NOPE/"]:
        response = a.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"
    b = client_for("donor_b")
    assert [g["external_id"] for g in b.get("/api/v1/me/donations/").json()["results"]] == ["DN-B"]
    assert b.get("/api/v1/me/donations/DN-A/").status_code == 404


def test_me_statement_pdf(trust, world, client_for):
    response = client_for("donor_a").get("/api/v1/me/statement/?year=2026")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(response.content)).pages)
    assert "DN-A" in text and "DN-B" not in text
    _no_identities(text, world)
    bad = client_for("donor_a").get("/api/v1/me/statement/?year=abc")
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "year"


@pytest.mark.parametrize("who", ["officer", "approver", "auditor", "outsider"])
def test_me_without_a_donor_record_is_404(trust, world, client_for, who):
    for path in ["/api/v1/me/", "/api/v1/me/donations/", "/api/v1/me/donations/DN-A/",
                 "/api/v1/me/donations/DN-A/trace/", "/api/v1/me/donations/DN-A/receipt.pdf",
                 "/api/v1/me/statement/"]:
        assert client_for(who).get(path).status_code == 404, (who, path)


def test_me_needs_sign_in(trust, world, client_for):
    for path in ["/api/v1/me/", "/api/v1/me/donations/", "/api/v1/me/donations/DN-A/receipt.pdf"]:
        response = client_for("anonymous").get(path)
        assert response.status_code == 401 and response.json()["error"]["code"] == "not_authenticated"


def test_donors_are_refused_every_trust_endpoint(trust, world, client_for):
    response = client_for("donor_a").get(_base(trust) + "/donations/DN-A/")
    assert response.status_code == 403


# -- the audit log ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", CAST)
def test_audit_log_by_role(trust, world, client_for, who):
    response = client_for(who).get("/api/v1/audit/")
    expected = 200 if who == "auditor" else _refused(who)
    assert response.status_code == expected, response.content


def test_audit_log_shows_the_posts_with_user_and_address(trust, world, client_for, users):
    officer = client_for("officer")
    officer.post(_base(trust) + "/donations/", GIFT, format="json", REMOTE_ADDR="10.1.2.3")
    officer.post(_base(trust) + "/donations/", {**GIFT, "amount": 1.5}, format="json", REMOTE_ADDR="10.1.2.3")
    client_for("donor_a").post(_base(trust) + "/donations/", GIFT, format="json", REMOTE_ADDR="10.9.9.9")
    auditor = client_for("auditor")
    events = auditor.get("/api/v1/audit/?channel=api").json()["results"]
    assert [(e["username"], e["address"], e["method"], e["status"]) for e in events] == [
        ("donor_a", "10.9.9.9", "POST", 403), ("officer", "10.1.2.3", "POST", 400),
        ("officer", "10.1.2.3", "POST", 201)]
    assert events[-1]["path"] == _base(trust) + "/donations/"
    assert "amount" not in json.dumps(events)  # bodies are never stored
    mine = auditor.get("/api/v1/audit/?user=donor_a").json()
    assert mine["count"] == 1
    today = events[0]["at"][:10]
    assert auditor.get(f"/api/v1/audit/?date_from={today}&date_to={today}").json()["count"] == 3
    assert auditor.get("/api/v1/audit/?date_to=2000-01-01").json()["count"] == 0
    assert AuditEvent.objects.filter(path="/api/v1/audit/").count() == 0  # reading is not recorded


# -- query counts -----------------------------------------------------------------------------------------------


@pytest.fixture
def crowd(world, trust, users):
    """Thirty more gifts (half with a donor, some refunded) and expenses; a few voided receipts."""
    from charity.services import donation_refund, receipt_void

    officer = users["officer"]
    for i in range(30):
        donor = donor_create(by=system_user(), trust=trust, kind="individual", name=f"捐赠人{i}", external_id=f"D-{i:02d}") \
            if i % 2 else None
        gift, _created = donation_record(trust=trust, external_id=f"DN-{i:02d}", date=D,
                                         amount=Decimal("10.00") + i, fund=world["general"], channel="cash",
                                         user=officer, donor=donor)
        if i % 5 == 0:
            donation_refund(donation=gift, external_id=f"RF-{i:02d}", date=D, user=officer, reason="asked",
                            amount=Decimal("1.00"))
        if i % 7 == 0:
            receipt_void(receipt=gift.receipts.get(voided_at__isnull=True), user=officer, reason="typo", reissue=True)
        expense_record(trust=trust, external_id=f"E-{i + 10}", date=D, kind="bank_fee", fund=world["general"],
                       amount=Decimal("1.00"), user=officer)
    client = APIClient()
    client.force_authenticate(officer)
    for i in range(5):  # five POSTs for the audit log to list
        client.post(_base(trust) + "/donors/", {"external_id": f"D-X{i}", "name": "x"}, format="json")


@pytest.mark.parametrize("who, path", [
    ("auditor", "/api/v1/trusts/CT/donors/"), ("auditor", "/api/v1/trusts/CT/donations/"),
    ("auditor", "/api/v1/trusts/CT/receipts/"), ("auditor", "/api/v1/trusts/CT/expenses/"),
    ("auditor", "/api/v1/audit/"), ("donor_a", "/api/v1/me/donations/"),
])
def test_list_queries_do_not_grow_with_the_page(trust, crowd, client_for, users, who, path,
                                                django_assert_max_num_queries):
    if who == "donor_a":  # give donor A many gifts
        for i in range(5):
            donation_record(trust=trust, external_id=f"DN-A{i}", date=D, amount=Decimal("5.00"),
                            fund=Fund.objects.get(book=trust.book, code="GEN"), channel="cash",
                            user=users["officer"], donor=Donor.objects.get(external_id="D-A"))
    client = client_for(who)
    assert client.get(path).status_code == 200  # warms the user's permission cache
    with CaptureQueriesContext(connection) as small:
        response = client.get(path + "?page_size=2")
    assert response.status_code == 200 and len(response.json()["results"]) == 2
    with django_assert_max_num_queries(8):
        response = client.get(path + "?page_size=200")
    assert response.status_code == 200 and response.json()["count"] >= 5
    with CaptureQueriesContext(connection) as large:
        client.get(path + "?page_size=200")
    assert len(large) == len(small), [q["sql"] for q in large.captured_queries]


def test_idempotency_stores_decimal_and_date_bodies(trust, users):
    """finish() used to hand response.data to a JSONField as is: a Decimal or a date in it could not be stored.
    Now it stores exactly what the client was sent (DRF's renderer writes a bare Decimal as a number)."""
    from rest_framework.renderers import JSONRenderer
    from rest_framework.response import Response

    from charity.api.idempotency import finish

    record = IdempotencyRecord.objects.create(user=users["officer"], key="k", method="POST", path="/x/",
                                              request_hash="0" * 64)
    data = {"amount": Decimal("1.10"), "date": D, "rows": [Decimal("2")]}
    finish(record, Response(data, status=201))
    record.refresh_from_db()
    assert record.body == json.loads(JSONRenderer().render(data))
    assert record.body == {"amount": 1.1, "date": "2026-03-02", "rows": [2.0]}
    assert not record.in_progress and record.status == 201
