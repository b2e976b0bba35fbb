"""The finance officer's own screens: "Today" and "Donations" (record a gift, find it, void and reissue its receipt,
refund it), all through the services; an auditor reads but is refused every write; bad input is a form error."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from charity import roles
from charity.models import Donation, Donor, Receipt, Refund
from charity.services import donation_record, donor_create, expense_record, trust_create
from ledger.models import Fund
from ledger.services import system_user
from tests.conftest import grant

NEW = "/office/donations/new/"
LIST = "/office/donations/"


def gift_url(external_id: str) -> str:
    return f"/office/donations/gift/{external_id}/"


@pytest.fixture
def office(db, django_user_model):
    trust = trust_create(user=system_user(), code="CT", name="关爱妇女儿童慈善信托", name_en="Caring Trust")
    other = trust_create(user=system_user(), code="XT", name="另一个慈善信托", name_en="Other Trust")
    officer = grant(django_user_model.objects.create_user("officer", password="pw-officer-1"), roles.OFFICER, trust)
    auditor = grant(django_user_model.objects.create_user("auditor", password="pw-auditor-1"), roles.AUDITOR, trust)
    mine = donor_create(by=system_user(), trust=trust, kind="individual", name="王芳", external_id="D-1")
    theirs = donor_create(by=system_user(), trust=other, kind="individual", name="王小明", external_id="D-X")
    return {"trust": trust, "other": other, "officer": officer, "auditor": auditor, "mine": mine, "theirs": theirs,
            "gen": Fund.objects.get(book=trust.book, code="GEN")}


def gift_form(**overrides) -> dict:
    data = {"trust": "CT", "external_id": "G-1", "date": timezone.localdate().isoformat(), "donor": "",
            "donor_name": "", "donor_kind": "individual", "channel": "bank", "fund": "GEN", "amount": "1000.00",
            "currency": "CNY", "fx_rate": "", "item": "", "quantity": "", "description": ""}
    data.update(overrides)
    return data


def field_errors(response) -> dict[str, list[str]]:
    """Every field error the page shows, by the field it names (``data-field``)."""
    found: dict[str, list[str]] = {}
    for name, text in re.findall(r'class="error field-error" data-field="([a-z_]+)">([^<]*)<', response.content.decode()):
        found.setdefault(name, []).append(text)
    return found


def test_record_a_gift_opens_its_receipt_and_is_found_by_number(client, office):
    client.force_login(office["officer"])
    assert client.get(NEW + "?trust=CT").status_code == 200
    response = client.post(NEW + "?trust=CT", gift_form(donor=str(office["mine"].pk)))
    assert response.status_code == 302
    assert response["Location"] == "/office/donations/gift/G-1/receipt.pdf?trust=CT"
    pdf = client.get(response["Location"])
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    gift = Donation.objects.get(external_id="G-1")
    assert gift.donor == office["mine"] and gift.amount_cny == Decimal("1000.00")
    label = gift.receipts.get().label

    # The same form posted twice records the gift once.
    again = client.post(NEW + "?trust=CT", gift_form(donor=str(office["mine"].pk)))
    assert again.status_code == 302 and Donation.objects.count() == 1

    donation_record(trust=office["trust"], external_id="G-OTHER", date=timezone.localdate(),
                    amount=Decimal("5.00"), fund=office["gen"], channel="cash", user=office["officer"])
    found = client.get(LIST, {"trust": "CT", "receipt": label})
    text = found.content.decode()
    assert found.status_code == 200 and "G-1" in text and "G-OTHER" not in text
    assert client.get(LIST, {"trust": "CT", "receipt": "9999-000123"}).content.decode().count("gift-link") == 0
    by_donor = client.get(LIST, {"trust": "CT", "donor": "王芳"}).content.decode()
    assert "G-1" in by_donor and "G-OTHER" not in by_donor
    everything = client.get(LIST, {"trust": "CT", "sort": "amount"}).content.decode()
    assert everything.index("G-OTHER") < everything.index("G-1")  # 5.00 before 1000.00
    csv = client.get(LIST, {"trust": "CT", "receipt": label, "format": "csv"})
    assert csv["Content-Type"].startswith("text/csv")
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("external_id,date,receipt,donor") and len(lines) == 2 and label in lines[1]

    fragment = client.get(LIST, {"trust": "CT", "receipt": label}, HTTP_HX_REQUEST="true").content.decode()
    assert "G-1" in fragment and "<html" not in fragment  # htmx gets the results only


def test_a_new_donor_is_created_with_the_gift_and_only_with_it(client, office):
    client.force_login(office["officer"])
    bad = client.post(NEW, gift_form(donor_name="新捐赠人", fund="NOPE"))
    assert bad.status_code == 400 and "fund" in field_errors(bad)
    assert not Donor.objects.filter(name="新捐赠人").exists()
    # the service's refusal (a CNY gift with a rate other than 1) rolls the new donor back too
    refused = client.post(NEW, gift_form(donor_name="新捐赠人", fx_rate="7.1"))
    assert refused.status_code == 400 and "fx_rate" in field_errors(refused)
    assert not Donor.objects.filter(name="新捐赠人").exists()
    ok = client.post(NEW, gift_form(donor_name="新捐赠人", external_id="G-NEW"))
    assert ok.status_code == 302
    assert Donation.objects.get(external_id="G-NEW").donor.name == "新捐赠人"


def test_gift_in_another_currency_and_in_kind(client, office):
    client.force_login(office["officer"])
    usd = client.post(NEW, gift_form(external_id="G-USD", currency="usd", amount="100.00", fx_rate="7.10"))
    assert usd.status_code == 302
    assert Donation.objects.get(external_id="G-USD").amount_cny == Decimal("710.00")
    no_rate = client.post(NEW, gift_form(external_id="G-USD2", currency="USD", amount="100.00"))
    assert no_rate.status_code == 400 and "fx_rate" in field_errors(no_rate)
    goods = client.post(NEW, gift_form(external_id="G-KIND", channel="in_kind", item="书包", quantity="20",
                                       amount="2000.00"))
    assert goods.status_code == 302
    assert Donation.objects.get(external_id="G-KIND").quantity == 20
    no_item = client.post(NEW, gift_form(external_id="G-KIND2", channel="in_kind", quantity="2"))
    assert no_item.status_code == 400 and "item" in field_errors(no_item)


def test_the_typeahead_shows_this_trusts_donors_only(client, office):
    client.force_login(office["officer"])
    search = "/office/donors/search/"
    text = client.get(search, {"trust": "CT", "q": "王"}).content.decode()
    assert "王芳" in text and "王小明" not in text
    assert "pick-donor" not in client.get(search, {"trust": "CT", "donor_name": "王小明"}).content.decode()
    picked = client.get(search, {"trust": "CT", "pick": str(office["mine"].pk)}).content.decode()
    assert f'name="donor" value="{office["mine"].pk}"' in picked
    assert "王小明" not in client.get(search, {"trust": "CT", "pick": str(office["theirs"].pk)}).content.decode()
    assert client.get(search, {"trust": "CT", "pick": "²"}).status_code == 200
    assert client.get(search, {"trust": "XT", "q": "王"}).status_code == 403  # not an officer of XT
    # another trust's donor posted by hand is not a choice
    response = client.post(NEW, gift_form(donor=str(office["theirs"].pk)))
    assert response.status_code == 400 and "donor" in field_errors(response)
    assert not Donation.objects.exists()


def test_void_and_reissue_needs_a_reason(client, office):
    donation_record(trust=office["trust"], external_id="G-1", date=timezone.localdate(), amount=Decimal("300.00"),
                    fund=office["gen"], channel="bank", user=office["officer"], donor=office["mine"])
    client.force_login(office["officer"])
    page = client.get(gift_url("G-1") + "?trust=CT")
    assert page.status_code == 200 and 'id="reissue-form"' in page.content.decode()
    no_reason = client.post(gift_url("G-1"), {"trust": "CT", "action": "reissue", "reason": ""})
    assert no_reason.status_code == 400 and "reason" in field_errors(no_reason)
    assert Receipt.objects.filter(voided_at__isnull=False).count() == 0
    done = client.post(gift_url("G-1"), {"trust": "CT", "action": "reissue", "reason": "姓名写错"}, follow=True)
    assert done.status_code == 200
    receipts = list(Receipt.objects.order_by("pk"))
    assert len(receipts) == 2 and receipts[0].void_reason == "姓名写错" and receipts[1].voided_at is None
    assert receipts[1].label in done.content.decode()
    old = client.get(f"{gift_url('G-1')}receipt.pdf", {"trust": "CT", "label": receipts[0].label})
    assert old.status_code == 200 and old.content.startswith(b"%PDF")


def test_refund_above_the_unspent_part_is_a_form_error(client, office):
    trust, gen, officer = office["trust"], office["gen"], office["officer"]
    day = timezone.localdate()
    donation_record(trust=trust, external_id="G-1", date=day, amount=Decimal("1000.00"), fund=gen, channel="bank",
                    user=officer, donor=office["mine"])
    expense_record(trust=trust, external_id="E-1", date=day, kind="admin", fund=gen, amount=Decimal("800.00"),
                   user=officer)
    client.force_login(officer)
    page = client.get(gift_url("G-1") + "?trust=CT").content.decode()
    assert re.search(r'id="unspent">200\.00<', page)
    assert re.search(r'id="refund-limit">[^<]*200\.00', page)  # the refund form says what is left
    form = {"trust": "CT", "action": "refund", "external_id": "RF-1", "date": day.isoformat(), "reason": "捐赠人要求"}
    refused = client.post(gift_url("G-1"), {**form, "amount": "500.00"})
    assert refused.status_code == 400 and "amount" in field_errors(refused)
    assert not Refund.objects.exists()
    no_reason = client.post(gift_url("G-1"), {**form, "amount": "100.00", "reason": ""})
    assert no_reason.status_code == 400 and "reason" in field_errors(no_reason)
    done = client.post(gift_url("G-1"), {**form, "amount": "100.00"})
    assert done.status_code == 302
    assert Refund.objects.get().amount.amount == Decimal("100.00")


def test_an_auditor_reads_and_is_refused_every_write(client, office):
    donation_record(trust=office["trust"], external_id="G-1", date=timezone.localdate(), amount=Decimal("300.00"),
                    fund=office["gen"], channel="bank", user=office["officer"])
    client.force_login(office["auditor"])
    listing = client.get(LIST).content.decode()
    assert "G-1" in listing and 'id="record-gift"' not in listing
    page = client.get(gift_url("G-1"))
    assert page.status_code == 200
    assert "<form method=\"post\" class=\"card\"" not in page.content.decode()  # no writing button
    assert client.get(f"{gift_url('G-1')}receipt.pdf").content.startswith(b"%PDF")
    day = timezone.localdate().isoformat()
    for url, data in (
        (NEW, gift_form(external_id="G-2")),
        (NEW, {}),
        (gift_url("G-1"), {"action": "reissue", "reason": "x"}),
        (gift_url("G-1"), {"action": "refund", "external_id": "RF-1", "date": day, "reason": "x"}),
        (gift_url("G-1"), {}),
    ):
        assert client.post(url, data).status_code == 403, (url, data)
    for url in ("/office/", NEW, "/office/donors/search/?q=王"):
        assert client.get(url).status_code == 403, url
    assert Donation.objects.count() == 1 and Receipt.objects.count() == 1 and not Refund.objects.exists()


@pytest.mark.parametrize("bad", [
    {"amount": "abc"}, {"amount": "1e400"}, {"amount": "-5"}, {"amount": "1.234"}, {"amount": "\x00"},
    {"donor_name": "王\x00芳"}, {"description": "\x00"}, {"fund": "NOPE"}, {"fund": ""}, {"channel": "gold"},
    {"date": "2026-02-30"}, {"date": "abc"}, {"currency": "¥¥¥"}, {"currency": "XXXX"}, {"quantity": "abc"},
    {"fx_rate": "abc"}, {"external_id": ""}, {"external_id": "x" * 65}, {"donor": "abc"}, {"donor": "99999999"},
    {"date": "0001-01-01"},
])
def test_bad_input_is_a_form_error_not_a_500(client, office, bad):
    client.force_login(office["officer"])
    response = client.post(NEW, gift_form(**bad))
    assert response.status_code == 400, bad
    assert field_errors(response) or 'id="form-errors"' in response.content.decode(), bad
    assert not Donation.objects.exists()


def test_bad_filters_and_pages_are_not_a_500(client, office):
    client.force_login(office["officer"])
    for query in ({"date_from": "abc"}, {"fund": "NOPE"}, {"sort": "password"}, {"receipt": "\x00"},
                  {"donor": "王\x00"}):
        response = client.get(LIST, query)
        assert response.status_code == 400 and 'id="filter-errors"' in response.content.decode(), query
    for query in ({"receipt": "²"}, {"page": "999"}, {"page": "x"}, {"donor": "%_"}):
        assert client.get(LIST, query).status_code == 200, query
    assert client.get(gift_url("NOPE")).status_code == 404
    assert client.get(f"{gift_url('NOPE')}receipt.pdf").status_code == 404


def test_today(client, office):
    trust, officer = office["trust"], office["officer"]
    day = timezone.localdate()
    donation_record(trust=trust, external_id="G-1", date=day, amount=Decimal("1000.00"), fund=office["gen"],
                    channel="bank", user=officer)
    donation_record(trust=trust, external_id="G-OLD", date=day.replace(day=1) - dt.timedelta(days=40),
                    amount=Decimal("50.00"), fund=office["gen"], channel="cash", user=officer)
    client.force_login(officer)
    assert client.get("/").url == "/office/"  # the officer's start page
    response = client.get("/office/")
    assert response.status_code == 200
    text = response.content.decode()
    assert re.search(r'id="month-total">1000\.00<', text)
    assert 'href="/office/approvals/?trust=CT' in text
    assert 'class="open-month"' in text  # the month of G-OLD and those after it are open
    assert "100201" in text and "1050.00" in text  # the bank account and the cash total


def test_pages_are_chinese_by_default_and_hold_no_inline_script(client, office):
    donation_record(trust=office["trust"], external_id="G-1", date=timezone.localdate(), amount=Decimal("1.00"),
                    fund=office["gen"], channel="bank", user=office["officer"])
    client.force_login(office["officer"])
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=", re.I)
    for url, chinese in (("/office/", "今日"), (LIST, "捐赠记录"), (NEW, "登记捐赠"), (gift_url("G-1"), "作废并重开")):
        text = client.get(url).content.decode()
        assert chinese in text, url
        assert not inline.findall(text), url
    client.post("/i18n/setlang/", {"language": "en", "next": "/office/"})
    assert "Record a gift" in client.get(NEW).content.decode()
