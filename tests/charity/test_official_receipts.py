"""Issue 18's receipts: the trust's acknowledgement (捐赠确认书) names the trustee, the co-trustee and the donor's
identity or credit code, with 小写 and 大写 in the same currency (CNY); the co-trustee's official donation receipt
(公益事业捐赠票据) is recorded per gift by page, API and CSV import, refused where it must be; the register's
'lacking' filter; who sees a donor's code unmasked."""

import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from pypdf import PdfReader

from beneficiaries.idnumber import make_id_number
from charity import errors, roles
from charity.documents import receipt_pdf
from charity.idcodes import clean_id_code, credit_check_char, mask_id_code, parse_credit_code
from charity.importers import importer_class
from charity.models import AuditEvent, Donor, OfficialReceipt
from charity.services import (donation_record, donation_refund, donor_create, donor_update,
                              official_receipt_record)
from ledger.csvio import run_import
from ledger.services import system_user
from tests.conftest import grant

from .conftest import D

pytestmark = pytest.mark.django_db

TRUSTEE = "苏州信托有限公司（示例）"
CO_TRUSTEE = "中国妇女发展基金会"
PERSON_ID = make_id_number("320505", dt.date(1986, 4, 9), 12, "F")  # Suzhou High-tech District, a woman
CREDIT_CODE = "91350100M000100Y43"  # the worked example of GB 32100-2015
ISSUED = dt.date(2026, 3, 10)


def text_of(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).replace("\n", "")


@pytest.fixture
def setup(trust, funds, officer):
    trust.trustee, trust.co_trustee = TRUSTEE, CO_TRUSTEE
    trust.save(update_fields=["trustee", "co_trustee"])
    op = system_user()
    person = donor_create(trust=trust, kind="individual", name="熊慧", external_id="D-1", id_code=PERSON_ID, by=op)
    company = donor_create(trust=trust, kind="organisation", name="福建某公司", external_id="D-2",
                           id_code=CREDIT_CODE.lower(), by=op)
    cny, _ = donation_record(trust=trust, external_id="DN-1", date=D, amount=Decimal("1200.00"),
                             fund=funds["SMILE"], channel="bank", user=officer, donor=person)
    usd, _ = donation_record(trust=trust, external_id="DN-2", date=D, amount=Decimal("100.00"), currency="USD",
                             fx_rate=Decimal("7.1234"), fund=funds["GEN"], channel="bank", user=officer,
                             donor=company)
    return {"person": person, "company": company, "cny": cny, "usd": usd}


def record(donation, user, number="0000000001", **kw):
    kw.setdefault("receipt_code", "32010126")
    kw.setdefault("check_code", "a1b2c3")
    kw.setdefault("issued_on", ISSUED)
    return official_receipt_record(donation=donation, receipt_number=number, user=user, **kw)


# -- the acknowledgement PDF ------------------------------------------------------------------------------------


def test_pdf_of_a_cny_gift_names_the_trustee_and_the_donors_identity_number(setup):
    """CNY 1,200.00: 小写 ¥1,200.00 and 大写 人民币壹仟贰佰元整, both CNY; no original-currency line."""
    text = text_of(receipt_pdf(setup["cny"].receipts.get()))
    for expected in ("捐赠确认书", "受托人 Trustee", TRUSTEE, CO_TRUSTEE, "关爱妇女儿童慈善信托", "熊慧",
                     "身份证号码", PERSON_ID, "¥1,200.00", "人民币壹仟贰佰元整", "不是公益事业捐赠票据",
                     "尚未开具 not yet issued"):
        assert expected in text, expected
    assert "原币" not in text


def test_pdf_of_a_usd_gift_states_figures_and_words_in_cny_with_the_usd_beside(setup):
    """USD 100.00 at 7.1234 = 712.34 CNY exactly: 小写 ¥712.34, 大写 人民币柒佰壹拾贰元叁角肆分; USD 100.00 beside
    the figures (after them), never as the figures."""
    text = text_of(receipt_pdf(setup["usd"].receipts.get()))
    assert "¥712.34" in text and "人民币柒佰壹拾贰元叁角肆分" in text
    assert text.index("¥712.34") < text.index("原币 original USD 100.00") < text.index("人民币柒佰壹拾贰元叁角肆分")
    assert "汇率 rate 7.1234" in text
    assert "统一社会信用代码" in text and CREDIT_CODE in text  # stored upper-cased
    figures_line = text[text.index("金额（小写）"):text.index("金额（大写）")]
    assert "¥712.34" in figures_line and "¥100.00" not in figures_line


def test_pdf_masks_the_code_for_a_reader_without_the_permission_and_prints_the_official_receipt(setup, officer):
    receipt = setup["cny"].receipts.get()
    masked = text_of(receipt_pdf(receipt, reveal_id_code=False))
    assert PERSON_ID not in masked and mask_id_code(PERSON_ID) in masked
    record(setup["cny"], officer)
    text = text_of(receipt_pdf(receipt))
    assert "票据代码 code 32010126 票据号码 No. 0000000001" in text and "尚未开具" not in text


def test_the_acknowledgement_keeps_the_code_it_was_issued_with(setup):
    donor_update(donor=setup["person"], by=system_user(), id_code="")
    assert PERSON_ID in text_of(receipt_pdf(setup["cny"].receipts.get()))


# -- the validators ---------------------------------------------------------------------------------------------


def test_credit_code_check_character():
    """GB 32100-2015's example 91350100M000100Y4?: Σ value×weight over the first 17 = 1640; 1640 mod 31 = 28;
    31 - 28 = 3, so the check character is 3."""
    assert credit_check_char(CREDIT_CODE[:17]) == "3"
    assert parse_credit_code(" 91350100m000100y43 ") == CREDIT_CODE
    for bad, message in ((CREDIT_CODE[:17] + "4", "check character is 4, but GB 32100-2015 gives 3"),
                         (CREDIT_CODE[:17], "has 18 characters (got 17)"),
                         ("91350100M000100I43", "without I, O, S, V, Z")):
        with pytest.raises(errors.DonorError, match=re.escape(message)) as caught:
            parse_credit_code(bad)
        assert caught.value.field == "id_code" and bad not in caught.value.message


def test_identity_number_by_kind():
    assert clean_id_code(PERSON_ID.lower(), kind="individual") == PERSON_ID
    assert clean_id_code("", kind="individual") == ""
    wrong = PERSON_ID[:17] + ("0" if PERSON_ID[17] != "0" else "1")
    with pytest.raises(errors.DonorError, match="check digit") as caught:
        clean_id_code(wrong, kind="individual")
    assert caught.value.field == "id_code" and wrong not in caught.value.message
    with pytest.raises(errors.DonorError, match="credit code"):
        clean_id_code(PERSON_ID, kind="organisation")  # a person's number is no organisation's code
    with pytest.raises(errors.DonorError):
        clean_id_code(CREDIT_CODE, kind="individual")


def test_a_donor_with_a_bad_code_is_refused_and_nothing_written(trust):
    with pytest.raises(errors.DonorError) as caught:
        donor_create(trust=trust, kind="organisation", name="x", external_id="D-9", id_code=CREDIT_CODE[:-1] + "4",
                     by=system_user())
    assert caught.value.field == "id_code"
    assert not Donor.objects.filter(external_id="D-9").exists()


# -- recording the official receipt: the service ------------------------------------------------------------------


def test_recorded_once_with_an_audit_event(setup, officer):
    official = record(setup["usd"], officer)
    assert (official.label, official.check_code, official.issuer) == ("32010126-0000000001", "A1B2C3", CO_TRUSTEE)
    event = AuditEvent.objects.get(action__startswith="official_receipt_record")
    assert event.trust_id == setup["usd"].trust_id and event.user == officer
    assert event.detail["donation"] == "DN-2" and event.detail["receipt_number"] == "0000000001"
    with pytest.raises(errors.ReceiptError, match="already has an official receipt"):
        record(setup["usd"], officer, number="0000000002")
    with pytest.raises(errors.ReceiptError, match="already recorded for another gift") as caught:
        record(setup["cny"], officer)  # the same code and number for another gift
    assert caught.value.field == "receipt_number"
    assert OfficialReceipt.objects.count() == 1


def test_refused_for_a_gift_refunded_in_full_and_for_bad_input(setup, officer):
    donation_refund(donation=setup["cny"], external_id="RF-1", date=D, user=officer, reason="asked back")
    with pytest.raises(errors.ReceiptError, match="refunded in full"):
        record(setup["cny"], officer)
    for kw, field in (({"receipt_code": "3201012"}, "receipt_code"), ({"number": "12345"}, "receipt_number"),
                      ({"check_code": "ab-12!"}, "check_code"), ({"issued_on": D - dt.timedelta(days=1)}, "issued_on"),
                      ({"issued_on": dt.date.today() + dt.timedelta(days=2)}, "issued_on")):
        with pytest.raises(errors.ReceiptError) as caught:
            record(setup["usd"], officer, **kw)
        assert caught.value.field == field, kw
    assert not OfficialReceipt.objects.exists() and not AuditEvent.objects.filter(
        action__startswith="official_receipt_record").exists()


def test_refused_for_a_wrong_role_and_another_trusts_officer(setup, approver, django_user_model):
    from charity.services import trust_create

    auditor = grant(django_user_model.objects.create_user("aud"), roles.AUDITOR, setup["cny"].trust)
    other = trust_create(code="OTHER", name="另一信托", user=system_user())
    outsider = grant(django_user_model.objects.create_user("outsider"), roles.OFFICER, other)
    for user in (approver, auditor, outsider):
        with pytest.raises(PermissionDenied):
            record(setup["cny"], user)
    assert not OfficialReceipt.objects.exists()


# -- the doors: page, API, import --------------------------------------------------------------------------------


def form(number="0000000007", **kw):
    data = {"action": "official", "receipt_code": "32010126", "receipt_number": number, "check_code": "ZX9Y8W",
            "issued_on": ISSUED.isoformat(), "issuer": ""}
    data.update(kw)
    return data


def test_recorded_on_the_gifts_page(setup, officer, approver, client):
    url = "/office/donations/gift/DN-1/?trust=CWCT"
    client.force_login(approver)
    assert client.post(url, form()).status_code == 403
    client.force_login(officer)
    page = client.get(url).content.decode()
    assert 'id="official-form"' in page
    bad = client.post(url, form(number="12"))
    assert bad.status_code == 400 and 'data-field="receipt_number"' in bad.content.decode()
    assert not OfficialReceipt.objects.exists()
    done = client.post(url, form())
    assert done.status_code == 302
    official = OfficialReceipt.objects.get()
    assert (official.donation.external_id, official.receipt_number, official.issuer) == ("DN-1", "0000000007",
                                                                                          CO_TRUSTEE)
    page = client.get(url).content.decode()
    assert "32010126 / 0000000007" in page and 'id="official-form"' not in page


def api(trust_code="CWCT"):
    return f"/api/v1/trusts/{trust_code}/donations/DN-2/official-receipt/"


def test_recorded_through_the_api(setup, officer, approver, client, django_user_model):
    body = {"receipt_code": "32010126", "receipt_number": "0000000009", "check_code": "Q1W2E3",
            "issued_on": ISSUED.isoformat()}
    client.force_login(approver)
    assert client.post(api(), body, content_type="application/json").status_code == 403
    client.force_login(officer)
    bad = client.post(api(), {**body, "check_code": "!!"}, content_type="application/json")
    assert bad.status_code == 400
    created = client.post(api(), body, content_type="application/json")
    assert created.status_code == 201, created.content
    assert created.json() == {"donation": "DN-2", "receipt_code": "32010126", "receipt_number": "0000000009",
                              "check_code": "Q1W2E3", "issued_on": "2026-03-10", "issuer": CO_TRUSTEE}
    again = client.post(api(), body, content_type="application/json")
    assert again.status_code == 400 and "already has an official receipt" in again.content.decode()
    shown = client.get("/api/v1/trusts/CWCT/donations/DN-2/").json()
    assert shown["official_receipt"]["receipt_number"] == "0000000009"
    assert client.get("/api/v1/trusts/CWCT/donations/DN-1/").json()["official_receipt"] is None


def test_the_donor_sees_her_official_receipt_number(setup, officer, client, django_user_model):
    her = django_user_model.objects.create_user("xionghui")
    donor_update(donor=setup["person"], by=system_user(), user=her)
    record(setup["cny"], officer, number="0000000123")
    client.force_login(her)
    home = client.get("/my/").content.decode()
    assert "0000000123" in home and "32010126" in home
    gifts = client.get("/api/v1/me/donations/").json()
    gifts = gifts["results"] if isinstance(gifts, dict) else gifts
    assert gifts[0]["official_receipt"]["receipt_number"] == "0000000123"
    assert client.get("/api/v1/me/").json()["id_code"] == PERSON_ID  # her own code, in full
    assert PERSON_ID in text_of(client.get("/my/gifts/DN-1/receipt.pdf").content)


HEADER = "donation_external_id,receipt_code,receipt_number,check_code,issued_on,issuer\n"


def load(trust, user, text, dry_run=False):
    return run_import(importer_class("official-receipts")(book=trust.book, user=user), text.encode(),
                      dry_run=dry_run)


def test_imported_from_csv_idempotently(setup, officer, trust):
    text = HEADER + "DN-1,32010126,0000000001,AAAAAA,2026-03-10,\nDN-2,32010126,0000000002,bbbbbb,2026-03-11,某基金会\n"
    first = load(trust, officer, text)
    assert first.ok and first.created == 2, [str(e) for e in first.errors]
    assert OfficialReceipt.objects.get(donation=setup["usd"]).issuer == "某基金会"
    assert OfficialReceipt.objects.get(donation=setup["cny"]).issuer == CO_TRUSTEE  # blank: the co-trustee
    again = load(trust, officer, text)
    assert again.ok and again.created == 0 and again.skipped == 2
    assert AuditEvent.objects.filter(action__startswith="official_receipt_record").count() == 2


def test_import_errors_name_row_and_column_and_write_nothing(setup, officer, trust):
    record(setup["usd"], officer, number="0000000050")
    text = HEADER + (
        "DN-1,3201012X,0000000001,AAAAAA,2026-03-10,\n"      # row 2: code not 8 digits
        "DN-404,32010126,0000000002,AAAAAA,2026-03-10,\n"   # row 3: no such gift
        "DN-2,32010126,0000000051,AAAAAA,2026-03-10,\n"     # row 4: DN-2 holds another receipt already
        "DN-1,32010126,0000000050,AAAAAA,2026-03-10,\n"     # row 5: number held by DN-2
        "DN-1,32010126,0000000001,AAAAAA,2099-03-10,\n"     # row 6: after today
    )
    result = load(trust, officer, text)
    assert not result.ok
    assert [str(e) for e in result.errors] == [
        "row 2, column receipt_code: a receipt code (票据代码) is 8 digits",
        "row 3, column donation_external_id: 'DN-404' is not a donation of this trust",
        "row 4, column donation_external_id: DN-2 already has an official receipt with different content",
        "row 5, column receipt_number: official receipt 32010126-0000000050 is already recorded for gift DN-2",
        "row 6, column issued_on: 2099-03-10 is after today",
    ]
    assert OfficialReceipt.objects.count() == 1


def test_import_refuses_a_fully_refunded_gift_all_or_nothing(setup, officer, trust):
    donation_refund(donation=setup["usd"], external_id="RF-1", date=D, user=officer, reason="asked back")
    text = HEADER + "DN-1,32010126,0000000001,AAAAAA,2026-03-10,\nDN-2,32010126,0000000002,AAAAAA,2026-03-10,\n"
    result = load(trust, officer, text)
    assert [str(e) for e in result.errors] == [
        "row 3, column donation_external_id: donation DN-2 has been refunded in full"]
    assert not OfficialReceipt.objects.exists()  # DN-1's row is rolled back with it
    twice = HEADER + "DN-1,32010126,0000000001,AAAAAA,2026-03-10,\n"
    twice += "DN-2,32010126,0000000001,AAAAAA,2026-03-10,\n"
    assert "appears twice (also row 2)" in str(load(trust, officer, twice).errors[-1])


def test_import_by_another_role_is_refused(setup, approver, trust):
    with pytest.raises(PermissionDenied):
        load(trust, approver, HEADER + "DN-1,32010126,0000000001,AAAAAA,2026-03-10,\n")
    assert not OfficialReceipt.objects.exists()


# -- the register's filter, masking ---------------------------------------------------------------------------


def test_register_lacking_filter(setup, officer, funds, trust, client):
    """Gifts DN-1 (recorded), DN-2 (lacking), DN-3 (refunded in full: lacks nothing), DN-4 (partly refunded:
    lacking). Lacking = DN-2, DN-4."""
    record(setup["cny"], officer)
    for n in (3, 4):
        donation_record(trust=trust, external_id=f"DN-{n}", date=D, amount=Decimal("500.00"), fund=funds["GEN"],
                        channel="bank", user=officer)
    donation_refund(donation=trust.donations.get(external_id="DN-3"), external_id="RF-3", date=D, user=officer,
                    reason="back")
    donation_refund(donation=trust.donations.get(external_id="DN-4"), external_id="RF-4", date=D, user=officer,
                    reason="back", amount=Decimal("100.00"))
    client.force_login(officer)

    def listed(query):
        body = client.get(f"/api/v1/trusts/CWCT/receipts/?{query}").json()
        return sorted(r["donation"] for r in (body["results"] if isinstance(body, dict) else body))

    assert listed("official=lacking") == ["DN-2", "DN-4"]
    assert listed("official=recorded") == ["DN-1"]
    assert client.get("/api/v1/trusts/CWCT/receipts/?official=maybe").status_code == 400
    page = client.get("/office/donations/?trust=CWCT&official=lacking&format=csv").content.decode("utf-8-sig")
    gifts = sorted(line.split(",")[0] for line in page.strip().splitlines()[1:])
    assert gifts == ["DN-2", "DN-4"]


def test_who_sees_a_donors_code(setup, officer, approver, client, django_user_model, trust):
    """The officer and the auditor hold view_donor_identity; the approver sees it masked; no public page shows it."""
    auditor = grant(django_user_model.objects.create_user("aud"), roles.AUDITOR, trust)
    shown = {}
    for user in (officer, approver, auditor):
        client.force_login(user)
        donors = client.get("/api/v1/trusts/CWCT/donors/D-1/").json()
        csv_text = client.get("/office/donations/?trust=CWCT&format=csv").content.decode("utf-8-sig")
        gift = client.get("/office/donations/gift/DN-1/?trust=CWCT").content.decode()
        pdf = text_of(client.get("/office/donations/gift/DN-1/receipt.pdf?trust=CWCT").content)
        shown[user.username] = {donors["id_code"] == PERSON_ID, PERSON_ID in csv_text, PERSON_ID in gift,
                                PERSON_ID in pdf}
        if user is approver:
            assert donors["id_code"] == mask_id_code(PERSON_ID) == PERSON_ID[:2] + "*" * 14 + PERSON_ID[-2:]
            assert mask_id_code(PERSON_ID) in csv_text and mask_id_code(PERSON_ID) in pdf
    assert shown == {"officer": {True}, "approver": {False}, "aud": {True}}
    client.logout()
    public = client.get("/disclosure/?trust=CWCT").content.decode()
    assert PERSON_ID not in public and mask_id_code(PERSON_ID) not in public and CREDIT_CODE not in public


def test_donors_csv_takes_id_code_as_its_last_optional_column(trust, officer):
    def load_donors(text):
        return run_import(importer_class("donors")(book=trust.book, user=officer), text.encode())

    old = load_donors("external_id,kind,name,anonymous,email,phone\nD-1,individual,熊慧,false,,\n")
    assert old.ok  # a file without the new column imports as before
    result = load_donors("external_id,kind,name,id_code\nD-2,individual,王琳,%s\nD-3,organisation,某公司,%s\n" % (
        PERSON_ID, CREDIT_CODE[:-1] + "4"))
    assert [str(e) for e in result.errors] == [
        "row 3, column id_code: unified social credit code check character is 4, but GB 32100-2015 gives 3"]
    good = load_donors("external_id,kind,name,id_code\nD-2,individual,王琳,%s\nD-3,organisation,某公司,%s\n" % (
        PERSON_ID.lower(), CREDIT_CODE))
    assert good.ok and good.created == 2
    assert Donor.objects.get(external_id="D-2").id_code == PERSON_ID
    again = load_donors("external_id,kind,name,id_code\nD-2,individual,王琳,%s\n" % PERSON_ID)
    assert again.ok and again.skipped == 1


def test_donor_api_takes_and_validates_the_code(trust, officer, client):
    client.force_login(officer)
    bad = client.post("/api/v1/trusts/CWCT/donors/", {"kind": "organisation", "name": "某公司", "external_id": "D-7",
                                                      "id_code": CREDIT_CODE[:-1] + "4"},
                      content_type="application/json")
    assert bad.status_code == 400 and "id_code" in bad.content.decode()
    made = client.post("/api/v1/trusts/CWCT/donors/", {"kind": "organisation", "name": "某公司", "external_id": "D-7",
                                                       "id_code": CREDIT_CODE}, content_type="application/json")
    assert made.status_code == 201 and made.json()["id_code"] == CREDIT_CODE
    changed = client.patch("/api/v1/trusts/CWCT/donors/D-7/", {"id_code": ""}, content_type="application/json")
    assert changed.status_code == 200 and changed.json()["id_code"] == ""


def test_a_new_donor_on_the_gift_form_takes_a_checked_code(setup, officer, client):
    """The gift form's new donor: a bad check character is an error on its field and writes neither donor nor
    gift; a good code is kept and printed on the acknowledgement."""
    from django.utils import timezone

    data = {"trust": "CWCT", "external_id": "G-9", "date": timezone.localdate().isoformat(), "donor": "",
            "donor_name": "新单位", "donor_kind": "organisation", "donor_id_code": CREDIT_CODE[:-1] + "4",
            "channel": "bank", "fund": "GEN", "amount": "10.00", "currency": "CNY", "fx_rate": "", "item": "",
            "quantity": "", "description": ""}
    client.force_login(officer)
    bad = client.post("/office/donations/new/?trust=CWCT", data)
    assert bad.status_code == 400 and 'data-field="donor_id_code"' in bad.content.decode()
    assert not Donor.objects.filter(name="新单位").exists() and not setup["cny"].trust.donations.filter(
        external_id="G-9").exists()
    good = client.post("/office/donations/new/?trust=CWCT", {**data, "donor_id_code": CREDIT_CODE})
    assert good.status_code == 302
    assert Donor.objects.get(name="新单位").id_code == CREDIT_CODE
    assert CREDIT_CODE in text_of(client.get("/office/donations/gift/G-9/receipt.pdf?trust=CWCT").content)
