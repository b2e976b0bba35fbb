"""The office's beneficiaries and aid pages: register, list (masked), draft a batch from a filtered list, print its
sign-off sheet; the approver approves and posts it from the approvals inbox, and the drafter cannot."""

import csv
import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from beneficiaries.idnumber import make_id_number
from beneficiaries.models import (
    Beneficiary,
    Disbursement,
    DisbursementBatch,
    PiiAccessLog,
    Verification,
)
from beneficiaries.services import beneficiary_exit, beneficiary_register, household_get_or_create
from charity import roles
from ledger.services import system_user
from tests.beneficiaries.conftest import give, make_aid
from tests.conftest import grant

D = dt.date(2026, 3, 2)
MOTHER_ID = make_id_number("440105", dt.date(1985, 6, 1), 10, "F")
NEW_ID = make_id_number("440105", dt.date(1990, 4, 3), 30, "F")
KIDS = {  # external id: (birth date, district): five in 天河 aged 6 to 15 on D, two that the filter leaves out
    "K-1": (dt.date(2012, 1, 5), "天河"), "K-2": (dt.date(2013, 2, 6), "天河"), "K-3": (dt.date(2014, 3, 7), "天河"),
    "K-4": (dt.date(2015, 4, 8), "天河"), "K-5": (dt.date(2016, 5, 9), "天河"),
    "K-6": (dt.date(2009, 1, 1), "天河"),  # 17 on D: too old
    "K-7": (dt.date(2015, 7, 7), "越秀"),  # another district
}
FIVE = ["K-1", "K-2", "K-3", "K-4", "K-5"]
FILTER = {"trust": "CT", "district": "天河", "min_age": "6", "max_age": "15", "on": D.isoformat(),
          "program": "study_grant"}


def kid_id(ext: str) -> str:
    return make_id_number("440105", KIDS[ext][0], int(ext[2:]), "M")


@pytest.fixture
def world(db, officer, approver, django_user_model):
    aid = make_aid("CT")
    give(aid, aid.study, "5000.00", officer)
    home = household_get_or_create(book=aid.book, external_id="HH-1", user=system_user())
    mother = beneficiary_register(book=aid.book, external_id="M-1", name="母亲甲", id_number=MOTHER_ID,
                                  birth_date=dt.date(1985, 6, 1), gender="F", user=officer, household=home,
                                  district="天河", phone="13812345678")
    for ext, (birth, district) in KIDS.items():
        beneficiary_register(book=aid.book, external_id=ext, name=f"孩子{ext}", id_number=kid_id(ext), birth_date=birth,
                             gender="M", user=officer, guardian=mother, household=home, district=district)
    auditor = grant(django_user_model.objects.create_user("auditor"), roles.AUDITOR, aid.book.trust)
    return {"aid": aid, "mother": mother, "officer": officer, "approver": approver, "auditor": auditor}


@pytest.fixture
def pii_holder(django_user_model, world):
    user = django_user_model.objects.create_user("caseworker")
    user.user_permissions.add(Permission.objects.get(codename="view_pii", content_type__app_label="beneficiaries"))
    grant(user, roles.OFFICER, world["aid"].book.trust)
    return django_user_model.objects.get(pk=user.pk)


def field_errors(html: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in re.finditer(r'data-field="([^"]+)">([^<]*)<', html)}


def register_form(**overrides):
    data = {"trust": "CT", "external_id": "B-NEW", "name": "新人", "id_number": NEW_ID, "birth_date": "1990-04-03",
            "gender": "F", "household": "HH-9", "district": "海珠", "phone": "13900001111",
            "consent_date": "2026-01-10", "consent_given_by": ""}
    data.update(overrides)
    return data


def batch_form(people, **overrides):
    data = {"trust": "CT", "code": "DAY-1", "description": "开学日", "program": "study_grant", "fund": "STUDY",
            "date": D.isoformat(), "amount": "100.00", "quantity": "1", "people": people}
    data.update(overrides)
    return data


def draft_batch(client, people=FIVE, **overrides):
    query = "&".join(f"{k}={v}" for k, v in FILTER.items())
    return client.post(f"/office/aid/?{query}", batch_form(people, **overrides))


# -- beneficiaries -----------------------------------------------------------------------------------------------


def test_officer_registers_a_beneficiary_her_household_and_consent(client, world):
    client.force_login(world["officer"])
    assert client.get("/office/beneficiaries/new/").status_code == 200
    response = client.post("/office/beneficiaries/new/?trust=CT", register_form())
    assert response.status_code == 302 and response["Location"] == "/office/beneficiaries/B-NEW/?trust=CT"
    person = Beneficiary.objects.get(book=world["aid"].book, external_id="B-NEW")
    assert person.household.external_id == "HH-9" and person.household.mother_id == person.pk
    assert person.consent_date == dt.date(2026, 1, 10) and person.consent_given_by == "新人"
    page = client.get(response["Location"]).content.decode()
    assert "2026-01-10" in page and "44****************" in page and NEW_ID not in page


def test_a_duplicate_identity_number_is_refused_on_its_field(client, world):
    client.force_login(world["officer"])
    response = client.post("/office/beneficiaries/new/", register_form(id_number=MOTHER_ID, birth_date="1985-06-01"))
    assert response.status_code == 400
    errors = field_errors(response.content.decode())
    assert "already registered" in errors["id_number"] and "M-1" not in errors["id_number"]  # not a PII holder
    assert not Beneficiary.objects.filter(external_id="B-NEW").exists()
    assert PiiAccessLog.objects.filter(beneficiary=world["mother"], fields="id_number match").count() == 1
    assert not Beneficiary.objects.filter(book=world["aid"].book, household__external_id="HH-9").exists()


def test_bad_input_is_a_form_error_naming_the_field(client, world):
    client.force_login(world["officer"])
    for data, field in ((register_form(birth_date="not a date"), "birth_date"),
                        (register_form(id_number="12345"), "id_number"),
                        (register_form(id_number=kid_id("K-1").replace("440105", "440106", 1)[:17] + "X"), "id_number"),
                        (register_form(guardian="NOBODY"), "guardian"),
                        (register_form(consent_date="2999-01-01"), "consent_date"),
                        (register_form(external_id="M-1"), "external_id")):
        response = client.post("/office/beneficiaries/new/", data)
        assert response.status_code == 400, data
        assert field in field_errors(response.content.decode()), (field, field_errors(response.content.decode()))
    child = register_form(external_id="C-NEW", id_number=make_id_number("440105", dt.date(2018, 1, 1), 40, "F"),
                          birth_date="2018-01-01")
    response = client.post("/office/beneficiaries/new/", child)
    assert response.status_code == 400 and "guardian" in field_errors(response.content.decode())
    response = client.post("/office/beneficiaries/new/", {**child, "guardian": "M-1"})
    assert response.status_code == 302
    assert Beneficiary.objects.get(external_id="C-NEW").consent_given_by == "母亲甲"  # the guardian's consent


def test_numbers_are_masked_on_the_page_and_in_the_csv_without_view_pii(client, world):
    client.force_login(world["officer"])
    page = client.get("/office/beneficiaries/?household=HH-1").content.decode()
    assert MOTHER_ID not in page and "13812345678" not in page
    assert "44****************" in page and "138****5678" in page
    assert "1985-06-01" not in page
    response = client.get("/office/beneficiaries/export.csv?household=HH-1&sort=name")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 8
    mother = next(r for r in rows if r["external_id"] == "M-1")
    assert mother["id_number"] == "44****************" and mother["phone"] == "138****5678"
    assert mother["birth"] == "1985"
    assert MOTHER_ID not in response.content.decode("utf-8-sig")
    assert not PiiAccessLog.objects.filter(fields="id_number,phone").exists()


def test_a_holder_of_view_pii_sees_the_numbers_and_each_view_is_logged(client, world, pii_holder):
    client.force_login(pii_holder)
    page = client.get("/office/beneficiaries/?search=M-1").content.decode()
    assert MOTHER_ID in page and "13812345678" in page
    rows = list(csv.DictReader(io.StringIO(
        client.get("/office/beneficiaries/export.csv?search=M-1").content.decode("utf-8-sig"))))
    assert rows[0]["id_number"] == MOTHER_ID
    assert PiiAccessLog.objects.filter(beneficiary=world["mother"], user=pii_holder).count() == 2


def test_the_list_pages_sorts_and_filters(client, world):
    client.force_login(world["officer"])
    page = client.get("/office/beneficiaries/?district=越秀").content.decode()
    assert 'id="person-K-7"' in page and 'id="person-K-1"' not in page
    page = client.get("/office/beneficiaries/?sort=-birth_date").content.decode()
    assert page.index('id="person-K-5"') < page.index('id="person-K-1"') < page.index('id="person-M-1"')
    page = client.get(f"/office/beneficiaries/?min_age=6&max_age=15&on={D}&district=天河").content.decode()
    assert sorted(re.findall(r'id="person-(K-\d)"', page)) == FIVE
    bad = client.get("/office/beneficiaries/?min_age=old&status=nope")
    assert bad.status_code == 400 and {"min_age", "status"} <= set(field_errors(bad.content.decode()))
    assert client.get("/office/beneficiaries/?page=999").status_code == 200  # the last page


def test_change_keeps_masked_numbers_and_exit_is_recorded(client, world):
    client.force_login(world["officer"])
    page = client.get("/office/beneficiaries/M-1/").content.decode()
    assert 'id="edit-form"' in page and MOTHER_ID not in page
    data = {"trust": "CT", "action": "update", "name": "母亲甲", "id_number": "", "birth_date": "", "phone": "",
            "gender": "F", "household": "HH-1", "district": "海珠", "community": "", "consent_date": "2026-02-01",
            "consent_given_by": "", "guardian": ""}
    assert client.post("/office/beneficiaries/M-1/?trust=CT", data).status_code == 302
    mother = Beneficiary.objects.get(pk=world["mother"].pk)
    assert mother.district == "海珠" and mother.id_number == MOTHER_ID and mother.phone == "13812345678"
    assert mother.consent_date == dt.date(2026, 2, 1)
    refused = client.post("/office/beneficiaries/K-7/", {"trust": "CT", "action": "exit", "date": "2999-01-01"})
    assert refused.status_code == 400 and "date" in field_errors(refused.content.decode())
    done = client.post("/office/beneficiaries/K-7/", {"trust": "CT", "action": "exit", "date": D.isoformat(),
                                                       "reason": "moved"})
    assert done.status_code == 302
    page = client.get("/office/beneficiaries/K-7/").content.decode()
    assert 'id="exit-form"' not in page and 'id="edit-form"' not in page and "moved" in page


# -- aid ---------------------------------------------------------------------------------------------------------


def test_officer_drafts_a_batch_of_five_from_a_filtered_list(client, world):
    client.force_login(world["officer"])
    query = "&".join(f"{k}={v}" for k, v in FILTER.items())
    page = client.get(f"/office/aid/?{query}").content.decode()
    assert sorted(re.findall(r'name="people" value="([^"]+)"', page)) == FIVE
    assert kid_id("K-1") not in page
    response = draft_batch(client)
    assert response.status_code == 302 and response["Location"] == "/office/aid/batches/DAY-1/?trust=CT"
    batch = DisbursementBatch.objects.get(code="DAY-1")
    members = Disbursement.objects.filter(batch=batch).order_by("external_id")
    assert [d.beneficiary.external_id for d in members] == FIVE
    assert {d.status for d in members} == {"draft"} and {d.amount for d in members} == {Decimal("100.00")}
    assert batch.created_by == world["officer"]
    page = client.get(response["Location"]).content.decode()
    assert "DAY-1-005" in page and "500.00" in page and "44****************" in page


def test_a_batch_is_drafted_whole_or_not_at_all(client, world):
    beneficiary_exit(beneficiary=Beneficiary.objects.get(external_id="K-5"), user=world["officer"], date=D)
    client.force_login(world["officer"])
    response = draft_batch(client)  # K-5 has exited: the service refuses her, and the batch with her
    assert response.status_code == 400
    assert "K-5" in field_errors(response.content.decode())["people"]
    assert not DisbursementBatch.objects.exists() and not Disbursement.objects.exists()
    assert "people" in field_errors(draft_batch(client, people=[]).content.decode())
    response = draft_batch(client, people=FIVE[:4], fund="GEN", amount="1.001")
    assert response.status_code == 400 and "amount" in field_errors(response.content.decode())
    response = draft_batch(client, people=FIVE[:4], fund="NOPE")
    assert response.status_code == 400 and "fund" in field_errors(response.content.decode())


def test_the_sign_off_sheet_is_a_pdf(client, world):
    client.force_login(world["officer"])
    draft_batch(client)
    response = client.get("/office/aid/batches/DAY-1/sheet.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert "DAY-1" in response["Content-Disposition"]
    assert client.get("/office/aid/batches/NOPE/sheet.pdf").status_code == 404


def test_the_approver_approves_and_posts_the_batch_from_the_inbox(client, world):
    client.force_login(world["officer"])
    draft_batch(client)
    batch = DisbursementBatch.objects.get(code="DAY-1")
    client.force_login(world["approver"])
    inbox = client.get("/office/approvals/").content.decode()
    row = re.search(rf'<tr id="batch-{batch.pk}">.*?</tr>', inbox, re.S).group(0)
    assert "DAY-1" in row and "500.00" in row and 'value="approve"' in row
    form = {"trust": "CT", "kind": "batch", "pk": batch.pk}
    assert client.post("/office/approvals/?trust=CT", {**form, "action": "approve"}).status_code == 302
    assert client.post("/office/approvals/?trust=CT", {**form, "action": "post"}).status_code == 302
    batch.refresh_from_db()
    assert batch.status == "posted" and batch.approved_by == world["approver"]
    assert set(Disbursement.objects.filter(batch=batch).values_list("status", flat=True)) == {"paid"}
    page = client.get("/office/aid/batches/DAY-1/").content.decode()
    assert "approver" in page


def test_the_drafter_sees_her_batch_but_cannot_approve_it(client, world, both):
    client.force_login(world["officer"])
    draft_batch(client)
    batch = DisbursementBatch.objects.get(code="DAY-1")
    inbox = client.get("/office/approvals/").content.decode()
    row = re.search(rf'<tr id="batch-{batch.pk}">.*?</tr>', inbox, re.S).group(0)
    assert 'class="mine"' in row and 'value="approve"' not in row
    refused = client.post("/office/approvals/?trust=CT", {"trust": "CT", "kind": "batch", "pk": batch.pk,
                                                          "action": "approve"})
    assert refused.status_code == 403
    # Someone who is officer and approver: drafts on the aid page, sees her button disabled, is refused.
    client.force_login(both)
    assert draft_batch(client, code="DAY-2", people=FIVE[:2]).status_code == 302
    mine = DisbursementBatch.objects.get(code="DAY-2")
    row = re.search(rf'<tr id="batch-{mine.pk}">.*?</tr>', client.get("/office/approvals/").content.decode(),
                    re.S).group(0)
    assert "disabled" in row and 'value="approve"' not in row
    refused = client.post("/office/approvals/?trust=CT", {"trust": "CT", "kind": "batch", "pk": mine.pk,
                                                          "action": "approve"})
    assert refused.status_code == 400 and "another user" in refused.content.decode()
    assert DisbursementBatch.objects.get(pk=mine.pk).status == "draft"


def test_a_single_disbursement_is_drafted_delivered_and_verified(client, world):
    client.force_login(world["officer"])
    assert client.get("/office/aid/draft/?beneficiary=K-1").status_code == 200
    form = {"trust": "CT", "external_id": "S-1", "beneficiary": "K-1", "program": "study_grant", "fund": "STUDY",
            "date": D.isoformat(), "amount": "", "quantity": "1"}
    refused = client.post("/office/aid/draft/", form)  # cash needs an amount: the service says so
    assert refused.status_code == 400 and "amount" in field_errors(refused.content.decode())
    unknown = client.post("/office/aid/draft/", {**form, "beneficiary": "NOBODY", "amount": "50.00"})
    assert unknown.status_code == 400 and "beneficiary" in field_errors(unknown.content.decode())
    assert client.post("/office/aid/draft/", {**form, "amount": "50.00"}).status_code == 302
    single = Disbursement.objects.get(external_id="S-1")
    assert client.post("/office/aid/disbursements/S-1/", {"trust": "CT", "action": "deliver"}).status_code == 403
    client.force_login(world["approver"])
    client.post("/office/approvals/", {"trust": "CT", "kind": "disbursement", "pk": single.pk, "action": "approve"})
    page = client.get("/office/aid/disbursements/S-1/").content.decode()
    assert 'id="deliver-form"' in page
    assert client.post("/office/aid/disbursements/S-1/", {"trust": "CT", "action": "deliver"}).status_code == 302
    assert Disbursement.objects.get(pk=single.pk).status == "paid"
    client.force_login(world["officer"])
    verify = {"trust": "CT", "action": "verify", "date": "2000-01-01", "method": "phone", "result": "received"}
    refused = client.post("/office/aid/disbursements/S-1/", verify)
    assert refused.status_code == 400 and "date" in field_errors(refused.content.decode())
    assert client.post("/office/aid/disbursements/S-1/", {**verify, "date": D.isoformat()}).status_code == 302
    assert Verification.objects.get(disbursement=single).result == "received"
    assert Disbursement.objects.get(pk=single.pk).status == "verified"


def test_the_auditor_reads_with_no_form_that_writes(client, world):
    client.force_login(world["officer"])
    draft_batch(client)
    client.force_login(world["auditor"])
    for url in ("/office/beneficiaries/", "/office/beneficiaries/M-1/", "/office/aid/", "/office/aid/batches/DAY-1/",
                "/office/aid/disbursements/DAY-1-001/"):
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode().split("</header>", 1)[1]
        assert 'method="post"' not in body and 'name="people"' not in body, url
    for url in ("/office/beneficiaries/M-1/", "/office/aid/", "/office/aid/disbursements/DAY-1-001/"):
        assert client.post(url, {"trust": "CT", "action": "exit", "date": D.isoformat()}).status_code == 403, url
    assert client.get("/office/beneficiaries/new/").status_code == 403
    assert client.get("/office/aid/batches/DAY-1/sheet.pdf").status_code == 200


def test_the_pages_in_chinese(client, world):
    client.force_login(world["officer"])
    page = client.get("/office/aid/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "救助发放" in page and "创建批次" in page
    page = client.get("/office/beneficiaries/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "受益人" in page and "登记受益人" in page


def test_the_officer_names_the_households_mother_on_her_page(client, world):
    """The household of a person is edited on her page: an adult woman of it becomes its mother (the service's
    rule); a child cannot, and the page says why instead of failing."""
    aid = world["aid"]
    home = household_get_or_create(book=aid.book, external_id="HH-1", user=system_user())
    aunt = beneficiary_register(book=aid.book, external_id="M-2", name="母亲乙", id_number=NEW_ID,
                                birth_date=dt.date(1990, 4, 3), gender="F", user=world["officer"], household=home)
    client.force_login(world["officer"])
    page = client.get("/office/beneficiaries/M-2/?trust=CT").content.decode()
    assert 'id="set-mother"' in page
    response = client.post("/office/beneficiaries/M-2/?trust=CT", {"trust": "CT", "action": "set-mother"})
    assert response.status_code == 302
    home.refresh_from_db()
    assert home.mother_id == aunt.pk
    # A boy of the household is no mother: refused by the service, said on the page.
    response = client.post("/office/beneficiaries/K-1/?trust=CT", {"trust": "CT", "action": "set-mother"})
    assert response.status_code == 400
    home.refresh_from_db()
    assert home.mother_id == aunt.pk
    # The auditor reads the page without the button, and her POST is refused.
    client.force_login(world["auditor"])
    assert 'id="set-mother"' not in client.get("/office/beneficiaries/M-1/?trust=CT").content.decode()
    assert client.post("/office/beneficiaries/M-1/?trust=CT", {"trust": "CT", "action": "set-mother"}).status_code == 403
