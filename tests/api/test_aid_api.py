"""The aid side's endpoints: each by every member of the cast, the disbursement workflow moving a fund's money,
four eyes, masking and logging of PII, garbage input, pinned query counts, idempotent postings, the schema."""

from ledger.services import system_user
import datetime as dt
import io
import json
import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from beneficiaries.idnumber import make_id_number
from beneficiaries.models import (
    Beneficiary,
    BeneficiaryHistory,
    Disbursement,
    DisbursementBatch,
    Household,
    PiiAccessLog,
    Program,
    StockItem,
)
from beneficiaries.privacy import mask_id_number
from beneficiaries.services import (
    batch_approve,
    batch_create,
    beneficiary_register,
    disbursement_approve,
    disbursement_draft,
    disbursement_pay,
    household_get_or_create,
    stock_purchase,
)
from charity import roles
from charity.models import IdempotencyRecord
from ledger import services as ledger
from ledger.models import Account, Fund, JournalEntry
from ledger.services import Cr, Dr

from .conftest import CAST
from tests.conftest import grant

READERS = {"officer", "approver", "auditor"}
D = dt.date(2026, 3, 2)
PAY_DAY = dt.date(2026, 8, 26)
MOTHER_BIRTH = dt.date(1990, 5, 17)
MOTHER_ID = make_id_number("320582", MOTHER_BIRTH, 1, "F")  # ends in X
CHILD_ID = make_id_number("320582", dt.date(2014, 9, 1), 2, "M")


def _base(trust):
    return f"/api/v1/trusts/{trust.code}"


def _account(trust, code):
    return Account.objects.get(book=trust.book, code=code)


def _give(trust, fund, amount, user):
    """A donation into a restricted fund: Dr bank '100201' / Cr restricted donation income '410102'."""
    return ledger.entry_post(
        book=trust.book, date=D, memo="gift", user=user,
        legs=[Dr(_account(trust, "100201"), fund, Decimal(amount)), Cr(_account(trust, "410102"), fund, Decimal(amount))],
    )


def _register(trust, user, ext, *, birth=MOTHER_BIRTH, seq=1, gender="F", guardian=None, household="HH-1", **kw):
    return beneficiary_register(
        book=trust.book, external_id=ext, name=f"姓名{ext}", id_number=make_id_number("320582", birth, seq, gender),
        birth_date=birth, gender=gender, guardian=guardian, user=user,
        household=household_get_or_create(user=system_user(), book=trust.book, external_id=household) if household else None, **kw,
    )


@pytest.fixture
def world(trust, users):
    """STUDY (restricted to study grants) holds 5000.00; SMILE holds 10 Smile Packs bought for 500.00; a mother
    and her son in household HH-1; DS-1 a draft grant; B-1 an empty draft batch."""
    officer = users["officer"]
    study = ledger.fund_create(user=system_user(), book=trust.book, code="STUDY", name="助学金专项资金", restriction="restricted",
                               purpose="study_grant")
    smile = ledger.fund_create(user=system_user(), book=trust.book, code="SMILE", name="微笑礼包专项资金", restriction="restricted",
                               purpose="smile_pack")
    _give(trust, study, "5000.00", officer)
    _give(trust, smile, "1000.00", officer)
    stock_purchase(item=StockItem.objects.get(book=trust.book, code="smile_pack"), fund=smile, quantity=10,
                   amount=Decimal("500.00"), pay_account=_account(trust, "100201"), date=D, user=officer)
    mother = _register(trust, officer, "BEN-1", phone="13812345678", district="姑苏区", community="虎丘")
    _register(trust, officer, "BEN-2", birth=dt.date(2014, 9, 1), seq=2, gender="M", guardian=mother,
              district="姑苏区", community="虎丘")
    _grant(trust, users, "DS-1")
    batch_create(book=trust.book, code="B-1", user=officer)
    return {"study": study, "smile": smile, "mother": mother}


def _grant(trust, users, ext, amount="1000.00", person="BEN-1", fund="STUDY", batch=None, user=None, date=PAY_DAY):
    return disbursement_draft(
        book=trust.book, external_id=ext, beneficiary=Beneficiary.objects.get(book=trust.book, external_id=person),
        program=Program.objects.get(book=trust.book, code="study_grant"),
        fund=Fund.objects.get(book=trust.book, code=fund), date=date, amount=Decimal(amount),
        user=user or users["officer"], batch=batch,
    )


def _approved(trust, users, ext, **kw):
    return disbursement_approve(disbursement=_grant(trust, users, ext, **kw), user=users["approver"])


def _paid(trust, users, ext, **kw):
    return disbursement_pay(disbursement=_approved(trust, users, ext, **kw), user=users["approver"])


def _batch(trust, users, code, *grants, approve=False):
    batch = batch_create(book=trust.book, code=code, user=users["officer"])
    for ext, amount in grants:
        _grant(trust, users, ext, amount=amount, batch=batch)
    if approve:
        batch_approve(batch=batch, user=users["approver"])
    return batch


def _net_assets(client, trust, fund_code) -> Decimal:
    funds = {f["code"]: f for f in client.get(_base(trust) + "/funds/").json()}
    return Decimal(funds[fund_code]["net_assets"])


def _expected(who, allowed):
    return None if who == allowed else (401 if who == "anonymous" else 403)


# -- reads by the cast ------------------------------------------------------------------------------------------

READ_PATHS = [
    "/programs/", "/programs/study_grant/", "/inventory/items/", "/inventory/items/smile_pack/", "/inventory/moves/",
    "/households/", "/households/HH-1/", "/beneficiaries/", "/beneficiaries/BEN-1/", "/disbursements/",
    "/disbursements/DS-1/", "/batches/", "/batches/B-1/",
]


@pytest.mark.parametrize("who", CAST)
def test_every_read_endpoint_by_role(trust, world, client_for, who):
    client = client_for(who)
    expected = 200 if who in READERS else (401 if who == "anonymous" else 403)
    for path in READ_PATHS:
        response = client.get(_base(trust) + path)
        assert response.status_code == expected, (path, response.content)
        if expected != 200:
            assert set(response.json()["error"]) >= {"code", "message", "field"}
    assert not PiiAccessLog.objects.exists()


# -- writes by the cast -----------------------------------------------------------------------------------------


def _state():
    """What a refused request must leave unchanged."""
    return (
        sorted(Beneficiary.objects.values_list("external_id", "status", "district")),
        sorted(Disbursement.objects.values_list("external_id", "status")),
        sorted(DisbursementBatch.objects.values_list("code", "status")),
        JournalEntry.objects.count(), BeneficiaryHistory.objects.count(), Household.objects.count(),
    )


NEW_MOTHER = {
    "external_id": "BEN-3", "name": "王芳", "id_number": make_id_number("320506", dt.date(1988, 2, 29), 3, "F"),
    "birth_date": "1988-02-29", "household": "HH-2", "phone": "13900001111", "district": "吴中区",
}
VERIFY = {"date": "2026-09-01", "method": "home_visit", "result": "received", "note": "seen at home"}

# name, the one role allowed, setup(trust, users), method, path, body, success status
WRITES = [
    ("register", "officer", None, "post", "/beneficiaries/", NEW_MOTHER, 201),
    ("update", "officer", None, "patch", "/beneficiaries/BEN-1/", {"district": "吴中区"}, 200),
    ("exit", "officer", None, "post", "/beneficiaries/BEN-2/exit/", {"date": "2026-11-01", "reason": "moved"}, 200),
    ("draft", "officer", None, "post", "/disbursements/",
     {"external_id": "DS-9", "beneficiary": "BEN-2", "program": "study_grant", "fund": "STUDY",
      "date": "2026-08-26", "amount": "800.00"}, 201),
    ("approve", "approver", lambda t, u: _grant(t, u, "DS-9"), "post", "/disbursements/DS-9/approve/", None, 200),
    ("pay", "approver", lambda t, u: _approved(t, u, "DS-9"), "post", "/disbursements/DS-9/pay/", None, 200),
    ("verify", "officer", lambda t, u: _paid(t, u, "DS-9"), "post", "/disbursements/DS-9/verify/", VERIFY, 200),
    ("cancel", "approver", lambda t, u: _approved(t, u, "DS-9"), "post", "/disbursements/DS-9/cancel/",
     {"reason": "duplicate"}, 200),
    ("reverse", "approver", lambda t, u: _paid(t, u, "DS-9"), "post", "/disbursements/DS-9/reverse/",
     {"reason": "paid twice", "date": "2026-09-01"}, 200),
    ("batch-create", "officer", None, "post", "/batches/", {"code": "B-9", "description": "开学日"}, 201),
    ("batch-approve", "approver", lambda t, u: _batch(t, u, "B-9", ("DS-9", "600.00")), "post",
     "/batches/B-9/approve/", None, 200),
    ("batch-post", "approver", lambda t, u: _batch(t, u, "B-9", ("DS-9", "600.00"), approve=True), "post",
     "/batches/B-9/post/", None, 200),
    ("batch-cancel", "approver", lambda t, u: _batch(t, u, "B-9", ("DS-9", "600.00"), approve=True), "post",
     "/batches/B-9/cancel/", {"reason": "school closed"}, 200),
]


@pytest.mark.parametrize("name, allowed, setup, method, path, body, success", WRITES, ids=[w[0] for w in WRITES])
def test_every_write_endpoint_by_role(trust, world, users, client_for, name, allowed, setup, method, path, body,
                                      success):
    if setup:
        setup(trust, users)
    before = _state()
    for who in [w for w in CAST if w != allowed]:
        response = getattr(client_for(who), method)(_base(trust) + path, body, format="json")
        assert response.status_code == _expected(who, allowed), (who, response.content)
        assert response.json()["error"]["code"] in ("not_authenticated", "permission_denied")
        assert _state() == before, who
    response = getattr(client_for(allowed), method)(_base(trust) + path, body, format="json")
    assert response.status_code == success, response.content
    assert _state() != before


# -- the workflow -------------------------------------------------------------------------------------------------


def test_draft_approve_pay_moves_the_funds_balance(trust, world, client_for):
    officer, approver = client_for("officer"), client_for("approver")
    base = _base(trust)
    assert _net_assets(officer, trust, "STUDY") == Decimal("5000.00")
    draft = officer.post(base + "/disbursements/", {
        "external_id": "DS-2", "beneficiary": "BEN-2", "program": "study_grant", "fund": "STUDY",
        "date": "2026-08-26", "amount": "1200.50", "description": "秋季学费",
    }, format="json")
    assert draft.status_code == 201, draft.content
    assert draft.json()["status"] == "draft" and draft.json()["created_by"] == "officer"
    assert approver.post(base + "/disbursements/DS-2/pay/").json()["error"]["code"] == "invalid_transition"

    approved = approver.post(base + "/disbursements/DS-2/approve/")
    assert approved.status_code == 200 and approved.json()["approved_by"] == "approver"
    assert _net_assets(officer, trust, "STUDY") == Decimal("5000.00")

    paid = approver.post(base + "/disbursements/DS-2/pay/")
    assert paid.status_code == 200, paid.content
    body = paid.json()
    assert body["status"] == "paid" and body["amount"] == "1200.50" and body["posted_by"] == "approver"
    assert body["funded_by"] == [{"source_entry": 1, "source_date": "2026-03-02", "fund": "STUDY", "amount": "1200.50"}]
    entry = officer.get(base + f"/entries/{body['entry']}/").json()
    assert {(leg["account"], leg["fund"], leg["debit"], leg["credit"]) for leg in entry["legs"]} == {
        ("510102", "STUDY", "1200.50", "0.00"), ("100201", "STUDY", "0.00", "1200.50")}
    assert _net_assets(officer, trust, "STUDY") == Decimal("3799.50")

    again = approver.post(base + "/disbursements/DS-2/pay/")
    assert again.status_code == 400 and again.json()["error"]["code"] == "invalid_transition"

    verified = officer.post(base + "/disbursements/DS-2/verify/", VERIFY, format="json")
    assert verified.status_code == 200 and verified.json()["status"] == "verified"
    assert verified.json()["verification"]["verified_by"] == "officer"

    reversed_ = approver.post(base + "/disbursements/DS-2/reverse/", {"reason": "wrong child"}, format="json")
    assert reversed_.status_code == 200, reversed_.content
    assert reversed_.json()["status"] == "reversed" and reversed_.json()["reversal_entry"] is not None
    assert _net_assets(officer, trust, "STUDY") == Decimal("5000.00")


def test_overspending_a_restricted_fund_is_refused(trust, world, client_for, users):
    _approved(trust, users, "DS-2", amount="4000.00")
    _approved(trust, users, "DS-3", amount="1500.00", person="BEN-2")
    approver = client_for("approver")
    assert approver.post(_base(trust) + "/disbursements/DS-2/pay/").status_code == 200
    refused = approver.post(_base(trust) + "/disbursements/DS-3/pay/")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "insufficient_funds"
    assert Disbursement.objects.get(external_id="DS-3").status == "approved"
    assert _net_assets(approver, trust, "STUDY") == Decimal("1000.00")


def test_smile_packs_delivered_from_stock(trust, world, client_for):
    officer, approver = client_for("officer"), client_for("approver")
    base = _base(trust)
    response = officer.post(base + "/disbursements/", {
        "external_id": "SP-1", "beneficiary": "BEN-1", "program": "smile_pack", "fund": "SMILE",
        "date": "2026-08-26", "quantity": 2,
    }, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["amount"] is None
    approver.post(base + "/disbursements/SP-1/approve/")
    delivered = approver.post(base + "/disbursements/SP-1/pay/").json()
    assert delivered["status"] == "delivered" and delivered["amount"] == "100.00"

    item = officer.get(base + "/inventory/items/smile_pack/").json()
    assert item["quantity"] == 8 and item["value"] == "400.00"
    assert item["on_hand"] == [{"fund": "SMILE", "quantity": 8, "value": "400.00"}]
    moves = officer.get(base + "/inventory/moves/").json()["results"]
    assert [(m["kind"], m["quantity"], m["value"], m["fund"]) for m in moves] == [
        ("bought", 10, "500.00", "SMILE"), ("issued", -2, "-100.00", "SMILE")]
    issued = officer.get(base + "/inventory/moves/?kind=issued&item=smile_pack&fund=SMILE&date_from=2026-08-01"
                                "&date_to=2026-08-31").json()
    assert issued["count"] == 1 and issued["results"][0]["entry"] == delivered["entry"]
    assert officer.get(base + "/inventory/moves/?fund=GEN").json()["count"] == 0
    assert officer.get(base + "/inventory/moves/?date_to=2026-03-01").json()["count"] == 0


def test_same_user_cannot_approve_what_they_drafted(trust, world, client_for, users):
    both = users["outsider"]
    grant(both, roles.OFFICER, trust)
    grant(both, roles.APPROVER, trust)
    client = client_for("outsider")
    base = _base(trust)
    response = client.post(base + "/disbursements/", {
        "external_id": "DS-2", "beneficiary": "BEN-1", "program": "study_grant", "fund": "STUDY",
        "date": "2026-08-26", "amount": "100.00",
    }, format="json")
    assert response.status_code == 201, response.content
    refused = client.post(base + "/disbursements/DS-2/approve/")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "four_eyes" and refused.json()["error"]["field"] == "approved_by"
    assert Disbursement.objects.get(external_id="DS-2").status == "draft"
    assert client_for("approver").post(base + "/disbursements/DS-2/approve/").status_code == 200

    assert client.post(base + "/batches/", {"code": "B-2"}, format="json").status_code == 201
    _grant(trust, users, "DS-3", batch=DisbursementBatch.objects.get(code="B-2"))
    refused = client.post(base + "/batches/B-2/approve/")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "four_eyes"
    assert DisbursementBatch.objects.get(code="B-2").status == "draft"


def test_batch_is_posted_whole_or_not_at_all(trust, world, client_for, users):
    officer, approver = client_for("officer"), client_for("approver")
    base = _base(trust)
    for ext, person, amount in [("DS-2", "BEN-1", "3000.00"), ("DS-3", "BEN-2", "2500.00")]:
        response = officer.post(base + "/disbursements/", {
            "external_id": ext, "beneficiary": person, "program": "study_grant", "fund": "STUDY",
            "date": "2026-08-26", "amount": amount, "batch": "B-1",
        }, format="json")
        assert response.status_code == 201, response.content
    single = approver.post(base + "/disbursements/DS-2/approve/")
    assert single.status_code == 400 and single.json()["error"]["field"] == "batch"

    batch = officer.get(base + "/batches/B-1/").json()
    assert batch["counts"]["draft"] == 2 and batch["counts"]["total"] == 2
    assert batch["total_amount"] == "5500.00" and batch["posted_amount"] == "0.00"
    assert approver.post(base + "/batches/B-1/approve/").json()["status"] == "approved"
    entries = JournalEntry.objects.count()
    refused = approver.post(base + "/batches/B-1/post/")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "insufficient_funds"
    assert "nothing was posted" in refused.json()["error"]["message"]
    assert JournalEntry.objects.count() == entries
    assert set(Disbursement.objects.filter(batch__code="B-1").values_list("status", flat=True)) == {"approved"}

    cancelled = approver.post(base + "/batches/B-1/cancel/", {"reason": "over budget"}, format="json").json()
    assert cancelled["status"] == "cancelled" and cancelled["counts"]["cancelled"] == 2

    _batch(trust, users, "B-2", ("DS-4", "1500.00"), ("DS-5", "2000.00"), approve=True)
    posted = approver.post(base + "/batches/B-2/post/")
    assert posted.status_code == 200, posted.content
    body = posted.json()
    assert body["status"] == "posted" and body["posted_by"] == "approver"
    assert body["counts"]["paid"] == 2 and body["posted_amount"] == "3500.00"
    assert _net_assets(officer, trust, "STUDY") == Decimal("1500.00")
    listed = officer.get(base + "/batches/?status=posted").json()
    assert [b["code"] for b in listed["results"]] == ["B-2"]
    assert officer.get(base + "/disbursements/?batch=B-2&status=paid").json()["count"] == 2


def test_a_duplicate_over_the_api_names_nobody_and_is_logged(trust, world, client_for, users, django_user_model):
    """The refused request's transaction is rolled back (on PostgreSQL the whole request's), the log row of the
    lookup is not; the existing person is named only to a user who may see PII."""
    base = _base(trust)
    again = {**NEW_MOTHER, "external_id": "BEN-9", "id_number": MOTHER_ID, "birth_date": MOTHER_BIRTH.isoformat()}
    response = client_for("officer").post(base + "/beneficiaries/", again, format="json")
    assert response.status_code == 400
    assert response.json()["error"] == {"code": "duplicate_beneficiary", "field": "id_number",
                                         "message": "this identity number is already registered in this trust"}
    assert PiiAccessLog.objects.get().user == users["officer"]
    users["officer"].user_permissions.add(_view_pii())
    holder = client_for("officer")
    holder.force_authenticate(django_user_model.objects.get(pk=users["officer"].pk))
    response = holder.post(base + "/beneficiaries/", again, format="json")
    assert response.json()["error"]["message"] == "this identity number is already registered as beneficiary BEN-1"
    assert PiiAccessLog.objects.filter(beneficiary=world["mother"], fields="id_number match").count() == 2
    assert not Beneficiary.objects.filter(external_id="BEN-9").exists()


def test_register_and_update_through_the_registry_service(trust, world, client_for):
    officer = client_for("officer")
    base = _base(trust)
    response = officer.post(base + "/beneficiaries/", NEW_MOTHER, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["household"] == "HH-2" and body["gender"] == "F" and body["pii_masked"] is True
    assert body["id_number"] == mask_id_number(NEW_MOTHER["id_number"]) and body["phone"] == "139****1111"
    assert officer.get(base + "/households/HH-2/").json()["mother"] == "BEN-3"

    child = {"external_id": "BEN-4", "name": "小明", "birth_date": "2016-06-01", "household": "HH-2",
             "id_number": make_id_number("320506", dt.date(2016, 6, 1), 4, "M")}
    refused = officer.post(base + "/beneficiaries/", child, format="json")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "guardian_required"
    assert refused.json()["error"]["field"] == "guardian"
    assert officer.post(base + "/beneficiaries/", {**child, "guardian": "BEN-3"}, format="json").status_code == 201

    changed = officer.patch(base + "/beneficiaries/BEN-1/", {"community": "石路", "phone": "13700002222"},
                            format="json")
    assert changed.status_code == 200, changed.content
    assert changed.json()["community"] == "石路" and changed.json()["phone"] == "137****2222"
    history = BeneficiaryHistory.objects.filter(beneficiary__external_id="BEN-1").last()
    assert history.changes["phone"] == ["138****5678", "137****2222"]

    exited = officer.post(base + "/beneficiaries/BEN-2/exit/", {"date": "2026-11-01"}, format="json").json()
    assert exited["status"] == "exited" and exited["exited_on"] == "2026-11-01"
    again = officer.post(base + "/beneficiaries/BEN-2/exit/", {"date": "2026-11-01"}, format="json")
    assert again.status_code == 400 and again.json()["error"]["field"] == "status"
    draft = officer.post(base + "/disbursements/", {
        "external_id": "DS-2", "beneficiary": "BEN-2", "program": "study_grant", "fund": "STUDY",
        "date": "2026-08-26", "amount": "100.00"}, format="json")
    assert draft.status_code == 400 and draft.json()["error"]["field"] == "beneficiary"


def test_filters(trust, world, client_for, users):
    officer = client_for("officer")
    base = _base(trust)
    _register(trust, users["officer"], "BEN-3", birth=dt.date(1985, 1, 1), seq=3, household="HH-2",
              district="吴中区", community="木渎")

    def ids(path):
        response = officer.get(base + path)
        assert response.status_code == 200, response.content
        return [r["external_id"] for r in response.json()["results"]]

    assert ids("/beneficiaries/?district=姑苏区") == ["BEN-1", "BEN-2"]
    assert ids("/beneficiaries/?community=木渎") == ["BEN-3"]
    assert ids("/beneficiaries/?household=HH-1") == ["BEN-1", "BEN-2"]
    assert ids("/beneficiaries/?search=n-2") == ["BEN-2"]
    assert ids("/beneficiaries/?status=exited") == []
    assert ids("/households/") == ["HH-1", "HH-2"]

    _paid(trust, users, "DS-2", amount="300.00", person="BEN-2")
    _grant(trust, users, "DS-3", fund="GEN", date=D)
    assert ids("/disbursements/") == ["DS-3", "DS-1", "DS-2"]
    assert ids("/disbursements/?status=paid") == ["DS-2"]
    assert ids("/disbursements/?fund=GEN") == ["DS-3"]
    assert ids("/disbursements/?program=smile_pack") == []
    assert ids("/disbursements/?beneficiary=BEN-2") == ["DS-2"]
    assert ids("/disbursements/?date_from=2026-08-01&date_to=2026-08-31") == ["DS-1", "DS-2"]
    assert ids("/disbursements/?date_to=2026-03-31") == ["DS-3"]
    assert ids("/disbursements/?batch=B-1") == []
    assert ids("/disbursements/?page_size=1&page=2") == ["DS-1"]


@pytest.mark.parametrize("path, field", [
    ("/beneficiaries/?status=gone", "status"),
    ("/disbursements/?status=lost", "status"),
    ("/disbursements/?date_from=2026-02-30", "date_from"),
    ("/disbursements/?date_to=yesterday", "date_to"),
    ("/inventory/moves/?date_from=0", "date_from"),
    ("/inventory/moves/?kind=stolen", "kind"),
    ("/batches/?status=%00", "status"),
    ("/beneficiaries/?search=%00", "search"),
    ("/disbursements/?fund=%00", "fund"),
])
def test_bad_filters_are_400_naming_the_parameter(trust, world, client_for, path, field):
    response = client_for("auditor").get(_base(trust) + path)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["field"] == field


# -- PII ------------------------------------------------------------------------------------------------------


def _view_pii():
    return Permission.objects.get(codename="view_pii", content_type__app_label="beneficiaries")


MASKED_ID = re.compile(r"^\d{2}\*{16}$")  # the province only (beneficiaries.privacy)


@pytest.mark.parametrize("who", sorted(READERS))
def test_pii_is_masked_without_the_permission(trust, world, client_for, who):
    client = client_for(who)
    base = _base(trust)
    one = client.get(base + "/beneficiaries/BEN-1/").json()
    assert one["id_number"] == MOTHER_ID[:2] + "*" * 16 and one["birth_date"] == str(MOTHER_BIRTH.year)
    assert MASKED_ID.match(one["id_number"]) and one["phone"] == "138****5678" and one["pii_masked"] is True
    rows = client.get(base + "/beneficiaries/").json()["results"]
    members = client.get(base + "/households/HH-1/").json()["members"]
    members += client.get(base + "/households/").json()["results"][0]["members"]
    for row in rows + members:
        assert MASKED_ID.match(row["id_number"]) and row["pii_masked"] is True
        assert row["id_number"] not in (MOTHER_ID, CHILD_ID) and len(row["birth_date"]) in (4, 9)
    assert MOTHER_ID not in str(rows + members) and "13812345678" not in str(rows + members)
    assert not PiiAccessLog.objects.exists()


def test_pii_is_shown_to_a_user_with_the_permission_and_logged(trust, world, client_for, users, django_user_model):
    caseworker = users["auditor"]
    caseworker.user_permissions.add(_view_pii())
    client = client_for("auditor")
    client.force_authenticate(django_user_model.objects.get(pk=caseworker.pk))
    base = _base(trust)

    one = client.get(base + "/beneficiaries/BEN-1/").json()
    assert one["id_number"] == MOTHER_ID and one["phone"] == "13812345678" and one["pii_masked"] is False
    log = PiiAccessLog.objects.get()
    assert (log.user_id, log.beneficiary.external_id, log.fields) == (caseworker.pk, "BEN-1", "id_number,phone")

    rows = client.get(base + "/beneficiaries/").json()["results"]
    assert [r["id_number"] for r in rows] == [MOTHER_ID, CHILD_ID]
    members = client.get(base + "/households/HH-1/").json()["members"]
    assert {m["id_number"] for m in members} == {MOTHER_ID, CHILD_ID}
    assert PiiAccessLog.objects.filter(user=caseworker).count() == 5
    assert PiiAccessLog.objects.filter(beneficiary__external_id="BEN-2").count() == 2
    # An officer of the same trust still sees them masked, and nothing is logged for her.
    assert client_for("officer").get(base + "/beneficiaries/BEN-1/").json()["pii_masked"] is True
    assert PiiAccessLog.objects.count() == 5


# -- errors ------------------------------------------------------------------------------------------------------

GRANT = {"external_id": "DS-2", "beneficiary": "BEN-1", "program": "study_grant", "fund": "STUDY",
         "date": "2026-08-26", "amount": "100.00"}

BAD_DRAFTS = [
    ([1, 2, 3], None),
    ("garbage", None),
    ({}, "external_id"),
    ({**GRANT, "amount": 100.5}, "amount"),
    ({**GRANT, "amount": "1e400"}, "amount"),
    ({**GRANT, "amount": 10 ** 30}, "amount"),
    ({**GRANT, "amount": "99999999999999.99"}, "amount"),
    ({**GRANT, "amount": "-5"}, "amount"),
    ({**GRANT, "amount": "0.001"}, "amount"),
    ({**GRANT, "amount": "NaN"}, "amount"),
    ({**GRANT, "amount": None}, "amount"),
    ({**GRANT, "amount": [1]}, "amount"),
    ({**GRANT, "quantity": 10 ** 30}, "quantity"),
    ({**GRANT, "quantity": 1.5}, "quantity"),
    ({**GRANT, "quantity": 2}, "quantity"),
    ({**GRANT, "date": "2026-02-30"}, "date"),
    ({**GRANT, "date": "99999-01-01"}, "date"),
    ({**GRANT, "date": 20260826}, "date"),
    ({**GRANT, "program": "nope"}, "program"),
    ({**GRANT, "fund": "NOPE"}, "fund"),
    ({**GRANT, "fund": "SMILE"}, "fund"),
    ({**GRANT, "beneficiary": "BEN-404"}, "beneficiary"),
    ({**GRANT, "beneficiary": {"external_id": "BEN-1"}}, "beneficiary"),
    ({**GRANT, "batch": "B-404"}, "batch"),
    ({**GRANT, "external_id": "DS-1"}, "external_id"),
    ({**GRANT, "external_id": "x" * 65}, "external_id"),
    ({**GRANT, "external_id": "bad\x00id"}, "external_id"),
    ({**GRANT, "approved_by": "approver"}, "approved_by"),
]


@pytest.mark.parametrize("payload, field", BAD_DRAFTS)
def test_bad_drafts_get_400_and_write_nothing(trust, world, client_for, payload, field):
    before = _state()
    response = client_for("officer").post(_base(trust) + "/disbursements/", payload, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["message"] and error["code"]
    if field:
        assert error["field"] == field, error
    assert _state() == before


def test_non_finite_json_numbers_are_400(trust, world, client_for):
    officer = client_for("officer")
    for raw in ('{"external_id": "DS-2", "amount": 1e999}', '{"amount": NaN}', "{not json"):
        response = officer.post(_base(trust) + "/disbursements/", raw, content_type="application/json")
        assert response.status_code == 400, (raw, response.content)


BAD_REGISTRATIONS = [
    ([NEW_MOTHER], None),
    ({**NEW_MOTHER, "id_number": NEW_MOTHER["id_number"][:-1] + ("1" if NEW_MOTHER["id_number"][-1] != "1" else "2")},
     "id_number"),
    ({**NEW_MOTHER, "id_number": "32050619880229"}, "id_number"),
    ({**NEW_MOTHER, "id_number": MOTHER_ID, "birth_date": MOTHER_BIRTH.isoformat()}, "id_number"),
    ({**NEW_MOTHER, "id_number": MOTHER_ID}, "birth_date"),
    ({**NEW_MOTHER, "birth_date": "1988-02-30"}, "birth_date"),
    ({**NEW_MOTHER, "birth_date": "1989-02-28"}, "birth_date"),
    ({**NEW_MOTHER, "gender": "X"}, "gender"),
    ({**NEW_MOTHER, "gender": "M"}, "gender"),
    ({**NEW_MOTHER, "guardian": "BEN-404"}, "guardian"),
    ({**NEW_MOTHER, "guardian": "BEN-2"}, "guardian"),
    ({**NEW_MOTHER, "phone": "call me"}, "phone"),
    ({**NEW_MOTHER, "consent_date": "2099-01-01"}, "consent_date"),
    ({**NEW_MOTHER, "name": 10 ** 120}, "name"),
    ({**NEW_MOTHER, "external_id": "BEN-1"}, "external_id"),
    ({**NEW_MOTHER, "status": "exited"}, "status"),
    ({k: v for k, v in NEW_MOTHER.items() if k != "birth_date"}, "birth_date"),
]


@pytest.mark.parametrize("payload, field", BAD_REGISTRATIONS)
def test_bad_registrations_get_400_and_write_nothing(trust, world, client_for, payload, field):
    before = _state()
    response = client_for("officer").post(_base(trust) + "/beneficiaries/", payload, format="json")
    assert response.status_code == 400, response.content
    if field:
        assert response.json()["error"]["field"] == field, response.json()
    assert _state() == before  # not even the new household HH-2


@pytest.mark.parametrize("payload, field", [
    ({"status": "exited"}, "status"),
    ({"external_id": "BEN-9"}, "external_id"),
    ({"guardian": "BEN-1"}, "guardian"),
    ({"birth_date": "1991-01-01"}, "birth_date"),
    ({"id_number": CHILD_ID}, "birth_date"),
    ({"id_number": CHILD_ID, "birth_date": "2014-09-01", "gender": "M"}, "id_number"),
    ({"consent_date": "not a date"}, "consent_date"),
    ("garbage", None),
])
def test_bad_updates_get_400_and_change_nothing(trust, world, client_for, payload, field):
    before = _state()
    response = client_for("officer").patch(_base(trust) + "/beneficiaries/BEN-1/", payload, format="json")
    assert response.status_code == 400, response.content
    if field:
        assert response.json()["error"]["field"] == field, response.json()
    assert _state() == before


@pytest.mark.parametrize("who, path, payload, field", [
    ("officer", "/disbursements/DS-1/verify/", VERIFY, "status"),
    ("approver", "/disbursements/DS-1/cancel/", {}, "reason"),
    ("approver", "/disbursements/DS-1/cancel/", {"reason": "   "}, "reason"),
    ("approver", "/disbursements/DS-1/cancel/", ["duplicate"], None),
    ("approver", "/disbursements/DS-1/reverse/", {"reason": "x"}, "status"),
    ("approver", "/disbursements/DS-1/pay/", None, "status"),
    ("officer", "/beneficiaries/BEN-1/exit/", {"date": "2099-01-01"}, "date"),
    ("officer", "/beneficiaries/BEN-1/exit/", {"date": "soon"}, "date"),
    ("officer", "/batches/", {"code": ""}, "code"),
    ("officer", "/batches/", {"code": "B-1"}, "batch"),
    ("officer", "/batches/", "B-2", None),
    ("approver", "/batches/B-1/approve/", None, "batch"),
    ("approver", "/batches/B-1/post/", None, "status"),
])
def test_refused_steps_are_400_naming_the_field(trust, world, client_for, who, path, payload, field):
    response = client_for(who).post(_base(trust) + path, payload, format="json")
    assert response.status_code == 400, response.content
    if field:
        assert response.json()["error"]["field"] == field, response.json()


def test_verify_and_reverse_refusals(trust, world, client_for, users):
    _paid(trust, users, "DS-2")
    officer, approver = client_for("officer"), client_for("approver")
    base = _base(trust)
    for payload, field in [({**VERIFY, "method": "telepathy"}, "method"), ({**VERIFY, "result": "?"}, "result"),
                           ({**VERIFY, "date": "2026-08-01"}, "date"), ({**VERIFY, "date": "2026-13-01"}, "date")]:
        response = officer.post(base + "/disbursements/DS-2/verify/", payload, format="json")
        assert response.status_code == 400 and response.json()["error"]["field"] == field, response.content
    future = approver.post(base + "/disbursements/DS-2/reverse/", {"reason": "x", "date": "2099-01-01"}, format="json")
    assert future.status_code == 400 and future.json()["error"]["code"] == "future_date"
    assert Disbursement.objects.get(external_id="DS-2").status == "paid"


@pytest.mark.parametrize("who, method, path", [
    ("auditor", "get", "/api/v1/trusts/NOPE/beneficiaries/"),
    ("auditor", "get", "/api/v1/trusts/CT%00/beneficiaries/"),
    ("auditor", "get", "/api/v1/trusts/CT/funds/%00/"),
    ("auditor", "get", "/programs/nope/"),
    ("auditor", "get", "/inventory/items/rice/"),
    ("auditor", "get", "/households/HH-404/"),
    ("auditor", "get", "/beneficiaries/BEN-404/"),
    ("auditor", "get", "/beneficiaries/%00/"),
    ("auditor", "get", "/disbursements/DS-404/"),
    ("auditor", "get", "/batches/B-404/"),
    ("auditor", "get", "/beneficiaries/?page=99"),
    ("officer", "patch", "/beneficiaries/BEN-404/"),
    ("officer", "post", "/beneficiaries/BEN-404/exit/"),
    ("approver", "post", "/disbursements/DS-404/approve/"),
    ("approver", "post", "/disbursements/DS-404/pay/"),
    ("officer", "post", "/disbursements/DS-404/verify/"),
    ("approver", "post", "/disbursements/DS-404/reverse/"),
    ("approver", "post", "/batches/B-404/post/"),
])
def test_unknown_objects_are_404_json(trust, world, client_for, who, method, path):
    url = path if path.startswith("/api/") else _base(trust) + path
    response = getattr(client_for(who), method)(url, {}, format="json") if method != "get" else client_for(who).get(url)
    assert response.status_code == 404, response.content
    assert response.json()["error"]["code"] == "not_found"


def test_other_trusts_objects_are_not_reachable(trust, world, client_for, users):
    from charity.services import trust_create

    other = trust_create(user=system_user(), code="OT", name="另一个信托")
    grant(users["officer"], roles.OFFICER, other)
    _register(other, users["officer"], "BEN-77", seq=7)
    officer = client_for("officer")
    assert officer.get(_base(other) + "/beneficiaries/BEN-77/").status_code == 200
    assert officer.get(_base(trust) + "/beneficiaries/BEN-77/").status_code == 404
    draft = officer.post(_base(trust) + "/disbursements/", {**GRANT, "beneficiary": "BEN-77"}, format="json")
    assert draft.status_code == 400 and draft.json()["error"]["field"] == "beneficiary"
    assert [b["external_id"] for b in officer.get(_base(other) + "/beneficiaries/").json()["results"]] == ["BEN-77"]


# -- idempotency --------------------------------------------------------------------------------------------------


def test_pay_replays_with_the_same_idempotency_key(trust, world, client_for, users):
    _approved(trust, users, "DS-2")
    approver = client_for("approver")
    url = _base(trust) + "/disbursements/DS-2/pay/"
    first = approver.post(url, HTTP_IDEMPOTENCY_KEY="pay-DS-2")
    entries = JournalEntry.objects.count()
    second = approver.post(url, HTTP_IDEMPOTENCY_KEY="pay-DS-2")
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json() and first.json()["status"] == "paid"
    assert second["Idempotent-Replayed"] == "true"
    assert JournalEntry.objects.count() == entries
    assert _net_assets(approver, trust, "STUDY") == Decimal("4000.00")
    without_key = approver.post(url)
    assert without_key.status_code == 400 and without_key.json()["error"]["code"] == "invalid_transition"


def test_batch_post_and_reverse_replay(trust, world, client_for, users):
    _batch(trust, users, "B-2", ("DS-2", "700.00"), approve=True)
    approver = client_for("approver")
    base = _base(trust)
    posts = [approver.post(base + "/batches/B-2/post/", HTTP_IDEMPOTENCY_KEY="post-B-2") for _ in range(2)]
    assert [p.status_code for p in posts] == [200, 200] and posts[0].json() == posts[1].json()
    reverse = {"reason": "wrong school", "date": "2026-09-01"}
    reversals = [approver.post(base + "/disbursements/DS-2/reverse/", reverse, format="json",
                               HTTP_IDEMPOTENCY_KEY="rev-DS-2") for _ in range(2)]
    assert [r.status_code for r in reversals] == [200, 200] and reversals[1]["Idempotent-Replayed"] == "true"
    assert JournalEntry.objects.filter(reverses__isnull=False).count() == 1
    reused = approver.post(base + "/disbursements/DS-2/reverse/", {**reverse, "reason": "other"}, format="json",
                           HTTP_IDEMPOTENCY_KEY="rev-DS-2")
    assert reused.status_code == 400 and reused.json()["error"]["code"] == "idempotency_key_reused"
    assert IdempotencyRecord.objects.filter(in_progress=True).count() == 0


# -- query counts ---------------------------------------------------------------------------------------------------


@pytest.fixture
def crowd(trust, world, users):
    """30 more beneficiaries in 10 households, each with a paid grant; 6 batches; 2 more stock moves."""
    officer = users["officer"]
    for n in range(30):
        _register(trust, officer, f"P-{n:03d}", birth=dt.date(1980 + n % 20, 1 + n % 12, 1 + n % 28), seq=n + 10,
                  household=f"HH-{100 + n // 3}", district="吴中区", community=f"村{n % 4}")
        _paid(trust, users, f"G-{n:03d}", amount="10.00", person=f"P-{n:03d}")
    for n in range(6):
        _batch(trust, users, f"BB-{n}", (f"BD-{n}", "5.00"), approve=n % 2 == 0)
    smile = Fund.objects.get(book=trust.book, code="SMILE")
    item = StockItem.objects.get(book=trust.book, code="smile_pack")
    for _ in range(2):
        stock_purchase(item=item, fund=smile, quantity=1, amount=Decimal("50.00"),
                       pay_account=_account(trust, "100201"), date=D, user=officer)


LIST_PATHS = ["/programs/", "/inventory/items/", "/inventory/moves/", "/households/", "/beneficiaries/",
              "/disbursements/", "/batches/"]


@pytest.mark.parametrize("path", LIST_PATHS)
def test_list_queries_do_not_grow_with_the_page(trust, crowd, client_for, path, django_assert_max_num_queries):
    auditor = client_for("auditor")
    url = _base(trust) + path
    assert auditor.get(url).status_code == 200  # warms the user's permission cache
    with CaptureQueriesContext(connection) as small:
        assert auditor.get(url + "?page_size=2").status_code == 200
    with django_assert_max_num_queries(9):
        response = auditor.get(url + "?page_size=200")
    assert response.status_code == 200
    with CaptureQueriesContext(connection) as large:
        auditor.get(url + "?page_size=200")
    assert len(large) == len(small), [q["sql"] for q in large.captured_queries]


def test_unmasked_lists_log_in_one_insert(trust, crowd, client_for, users, django_user_model,
                                           django_assert_max_num_queries):
    caseworker = users["auditor"]
    caseworker.user_permissions.add(_view_pii())
    client = client_for("auditor")
    client.force_authenticate(django_user_model.objects.get(pk=caseworker.pk))
    for path, shown in [("/beneficiaries/?page_size=200", 32), ("/households/?page_size=200", 32)]:
        before = PiiAccessLog.objects.count()
        with django_assert_max_num_queries(12):
            response = client.get(_base(trust) + path)
        assert response.status_code == 200
        assert PiiAccessLog.objects.count() - before == shown


# -- schema ------------------------------------------------------------------------------------------------------


def test_schema_validates_without_warnings(client):
    out = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    schema = out.getvalue()
    for path in ["/beneficiaries/{external_id}/", "/disbursements/{external_id}/pay/", "/batches/{code}/post/",
                 "/inventory/moves/", "/households/{external_id}/", "/programs/{code}/"]:
        assert f"/api/v1/trusts/{{trust_code}}{path}" in schema
    assert "Idempotency-Key" in schema


GARBAGE = [None, "", "\x00", "x" * 5000, -1, 10 ** 40, 1.5, 1e308, True, [1], {"a": 1}, "2026-02-30",
           "0001-01-01", "NaN", "１２３"]
FUZZED = [
    ("officer", "post", "/disbursements/", GRANT),
    ("officer", "post", "/beneficiaries/", NEW_MOTHER),
    ("officer", "patch", "/beneficiaries/BEN-1/", {"district": "x", "guardian": None, "household": "HH-1"}),
    ("officer", "post", "/beneficiaries/BEN-2/exit/", {"date": "2026-11-01", "reason": "x"}),
    ("officer", "post", "/disbursements/DS-P/verify/", VERIFY),
    ("approver", "post", "/disbursements/DS-P/reverse/", {"reason": "x", "date": "2026-09-01"}),
    ("approver", "post", "/disbursements/DS-A/cancel/", {"reason": "x"}),
    ("officer", "post", "/batches/", {"code": "B-7", "description": "d"}),
    ("approver", "post", "/batches/B-1/cancel/", {"reason": "x"}),
]


def test_no_garbage_produces_a_500(trust, world, client_for, users):
    """Each field of each write replaced by each kind of garbage; each filter given garbage. Never a 500, and
    every refusal is the JSON error body."""
    _paid(trust, users, "DS-P", amount="10.00")
    _approved(trust, users, "DS-A", amount="10.00")
    bad = []
    for who, method, path, body in FUZZED:
        send = getattr(client_for(who), method)
        for field in [*body, "extra"]:
            for value in GARBAGE:
                response = send(_base(trust) + path, json.dumps({**body, field: value}),
                                content_type="application/json")
                if response.status_code >= 500 or (response.status_code >= 400 and "error" not in response.json()):
                    bad.append((path, field, repr(value)[:30], response.status_code))
        for raw in ["[]", "null", "1", '"s"', "{", "\x00"]:
            if send(_base(trust) + path, raw, content_type="application/json").status_code >= 500:
                bad.append((path, "body", raw))
    auditor = client_for("auditor")
    for path in LIST_PATHS:
        for param in ["status", "page", "page_size", "search", "district", "date_from", "fund", "item", "kind"]:
            for value in ["\x00", "x" * 3000, "-1", "99999999999999999999", "2026-13-01"]:
                if auditor.get(_base(trust) + path, {param: value}).status_code >= 500:
                    bad.append((path, param, value[:20]))
    assert not bad, bad
