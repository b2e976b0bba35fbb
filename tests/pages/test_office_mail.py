"""The office's side of donors' e-mail: a gift's page shows its link with the QR code, the e-mails about it and
their status, and lets the officer revoke the link, invite the donor, send a failed message again or mark one
bounced; the "Donors' e-mail" page invites everyone who gave in a period and sends the year's statements. An
auditor reads all of it and is refused every button; an officer of another trust sees nothing."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pypdf
import pytest
from django.core import mail as django_mail

from charity import roles
from charity.links import token_for
from charity.models import GiftLink, MailMessage
from charity.services import donation_record, donor_create, trust_create
from ledger.models import Fund
from ledger.services import system_user
from tests.conftest import grant

D = dt.date(2026, 3, 2)


@pytest.fixture
def office(db, settings, django_user_model):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = "http://testserver"
    trust = trust_create(user=system_user(), code="CT", name="关爱妇女儿童慈善信托", name_en="Caring Trust")
    other = trust_create(user=system_user(), code="XT", name="另一个慈善信托")
    officer = grant(django_user_model.objects.create_user("officer"), roles.OFFICER, trust)
    auditor = grant(django_user_model.objects.create_user("auditor"), roles.AUDITOR, trust)
    stranger = grant(django_user_model.objects.create_user("stranger"), roles.OFFICER, other)
    mei = donor_create(by=officer, trust=trust, kind="individual", name="李美华", external_id="D-1",
                       email="meihua@example.org")
    gift, _ = donation_record(trust=trust, external_id="DN-1", date=D, amount=Decimal("500.00"), channel="bank",
                              fund=Fund.objects.get(book=trust.book, code="GEN"), user=officer, donor=mei,
                              notify="queue")
    return {"trust": trust, "officer": officer, "auditor": auditor, "stranger": stranger, "gift": gift}


PAGE = "/office/donations/gift/DN-1/?trust=CT"


def test_the_gift_page_shows_the_link_its_qr_code_and_the_mail(client, office):
    client.force_login(office["auditor"])
    html = client.get(PAGE).content.decode()
    link = GiftLink.objects.get(donation=office["gift"])
    assert f"http://testserver/g/{token_for(link.nonce)}/" in html
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="qr"' in html and "style=" not in html.split('class="qr"')[1][:5000]
    assert 'data-status="queued"' in html and "meihua@example.org" in html
    assert 'id="link-revoke"' not in html and 'id="invite-donor"' not in html  # an auditor has no buttons
    assert client.post(PAGE, {"action": "link_revoke"}).status_code == 403
    assert GiftLink.objects.get(donation=office["gift"], revoked_at__isnull=True) == link


def test_the_receipt_pdf_carries_the_gifts_link(client, office):
    client.force_login(office["officer"])
    pdf = client.get("/office/donations/gift/DN-1/receipt.pdf?trust=CT").content
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages).replace("\n", "")
    link = GiftLink.objects.get(donation=office["gift"])
    assert f"http://testserver/g/{token_for(link.nonce)}/" in text and "扫码查看" in text


def test_the_officer_revokes_the_link_and_invites_the_donor(client, office, django_capture_on_commit_callbacks):
    client.force_login(office["officer"])
    old = GiftLink.objects.get(donation=office["gift"])
    assert client.post(PAGE, {"action": "link_revoke"}).status_code == 302
    assert client.get(f"/g/{token_for(old.nonce)}/").status_code == 404
    new = GiftLink.objects.get(donation=office["gift"], revoked_at__isnull=True)
    assert f"/g/{token_for(new.nonce)}/" in client.get(PAGE).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(PAGE, {"action": "invite"}).status_code == 302
    assert [m.to for m in django_mail.outbox] == [["meihua@example.org"]]
    assert 'data-status="sent"' in client.get(PAGE).content.decode()


def test_retry_and_bounce_from_the_gift_page(client, office, django_capture_on_commit_callbacks):
    client.force_login(office["officer"])
    message = MailMessage.objects.get(kind="receipt")
    refused = client.post(PAGE, {"action": "mail_retry", "message": message.pk})  # queued: nothing to retry
    assert refused.status_code == 400 and "is not sent again" in refused.content.decode()
    MailMessage.objects.filter(pk=message.pk).update(status="sent")
    assert client.post(PAGE, {"action": "mail_bounced", "message": message.pk, "reason": "550 unknown user"}
                       ).status_code == 302
    message.refresh_from_db()
    assert (message.status, message.last_error) == ("bounced", "550 unknown user")
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(PAGE, {"action": "mail_retry", "message": message.pk}).status_code == 302
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 1)  # queued again and sent on commit (locmem)
    assert client.post(PAGE, {"action": "mail_retry", "message": "99999"}).status_code == 400


def test_the_mail_page_invites_and_sends_statements(client, office):
    client.force_login(office["officer"])
    assert client.get("/office/mail/?trust=CT").status_code == 200
    invited = client.post("/office/mail/?trust=CT", {"action": "invite", "date_from": "2026-01-01",
                                                     "date_to": "2026-12-31"})
    assert invited.status_code == 302
    assert MailMessage.objects.filter(kind="invitation").count() == 1
    sent = client.post("/office/mail/?trust=CT", {"action": "statements", "year": "2026"})
    assert sent.status_code == 302 and MailMessage.objects.filter(kind="statement", year=2026).count() == 1
    bad = client.post("/office/mail/?trust=CT", {"action": "statements", "year": "abc"})
    assert bad.status_code == 400 and MailMessage.objects.filter(kind="statement").count() == 1
    page = client.get("/office/mail/?trust=CT").content.decode()
    assert page.count('data-status="queued"') == 3  # the receipt, the invitation, the statement


def test_no_door_for_an_auditor_or_another_trusts_officer(client, office):
    client.force_login(office["auditor"])
    assert client.post("/office/mail/?trust=CT", {"action": "statements", "year": "2026"}).status_code == 403
    client.force_login(office["stranger"])
    assert client.get("/office/mail/?trust=CT").status_code == 403
    assert client.get(PAGE).status_code == 403
    assert client.post("/office/mail/?trust=CT", {"action": "invite", "date_from": "2026-01-01",
                                                  "date_to": "2026-12-31"}).status_code == 403
    other = client.get("/office/mail/?trust=XT").content.decode()
    assert "meihua@example.org" not in other
    assert MailMessage.objects.filter(kind__in=["statement", "invitation"]).count() == 0
