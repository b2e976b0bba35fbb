"""Attachments: type by content, size limit, SHA-256, never removed once posted, read only with READ in the
trust (through the download view, never a public URL)."""

import datetime as dt
import hashlib
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, transaction

from charity import roles
from charity.errors import AttachmentError
from charity.models import Attachment
from charity.services import (attachment_add, attachment_open, attachment_remove, donation_record, expense_record,
                              expense_request_draft, trust_create)
from ledger.models import Fund
from ledger.services import system_user
from tests.conftest import grant

D = dt.date(2026, 3, 2)
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64


def upload(content=PDF, name="invoice.pdf"):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


@pytest.fixture
def world(db, officer, approver, django_user_model):
    trust = trust_create(user=system_user(), code="AT", name="附件信托")
    gen = Fund.objects.get(book=trust.book, code="GEN")
    donation_record(trust=trust, external_id="G-1", date=D, amount=Decimal("500.00"), fund=gen, channel="bank",
                    user=officer)
    expense, _ = expense_record(trust=trust, external_id="E-1", date=D, kind="admin", fund=gen,
                                amount=Decimal("20.00"), user=officer)
    other = trust_create(user=system_user(), code="OT", name="另一个信托")
    auditor = grant(django_user_model.objects.create_user("auditor"), roles.AUDITOR, trust)
    stranger = grant(django_user_model.objects.create_user("stranger"), roles.AUDITOR, other)
    outsider = django_user_model.objects.create_user("outsider")
    return {"trust": trust, "gen": gen, "expense": expense, "officer": officer, "auditor": auditor,
            "stranger": stranger, "outsider": outsider}


def test_the_type_is_judged_by_content_not_by_name(world):
    with pytest.raises(AttachmentError) as refused:
        attachment_add(target=world["expense"], upload=upload(b"just some text, not a PDF at all", "scan.pdf"),
                       user=world["officer"])
    assert refused.value.field == "file"
    png = attachment_add(target=world["expense"], upload=upload(PNG, "scan.pdf"), user=world["officer"])
    assert png.content_type == "image/png"
    assert not Attachment.objects.filter(content_type="application/pdf").exists()


def test_the_size_is_limited_by_a_setting(world, settings):
    settings.ATTACHMENT_MAX_BYTES = 100
    with pytest.raises(AttachmentError, match="at most"):
        attachment_add(target=world["expense"], upload=upload(PDF + b" " * 100), user=world["officer"])
    assert attachment_add(target=world["expense"], upload=upload(PDF + b" " * 23), user=world["officer"]).size == 100


def test_sha256_size_name_and_uploader_are_stored(world):
    a = attachment_add(target=world["expense"], upload=upload(name="发票 March.pdf"), user=world["officer"])
    a.refresh_from_db()
    assert (a.sha256, a.size, a.name, a.uploaded_by, a.trust) == (
        hashlib.sha256(PDF).hexdigest(), len(PDF), "发票 March.pdf", world["officer"], world["trust"])
    assert a.file.name.endswith(f"{a.sha256}.pdf") and "发票" not in a.file.name
    with attachment_open(attachment=a, user=world["auditor"]) as handle:
        assert handle.read() == PDF


def test_no_removal_once_posted_by_the_service_nor_the_database(world):
    a = attachment_add(target=world["expense"], upload=upload(), user=world["officer"])
    with pytest.raises(AttachmentError, match="posted"):
        attachment_remove(attachment=a, user=world["officer"])
    with pytest.raises(DatabaseError), transaction.atomic():
        Attachment.objects.filter(pk=a.pk).delete()
    assert Attachment.objects.filter(pk=a.pk).exists()


def test_an_attachment_of_a_draft_may_be_removed(world):
    draft = expense_request_draft(trust=world["trust"], external_id="E-9", date=D, kind="admin", fund=world["gen"],
                                  amount=Decimal("5.00"), user=world["officer"])
    a = attachment_add(target=draft, upload=upload(), user=world["officer"])
    with pytest.raises(PermissionDenied):
        attachment_remove(attachment=a, user=world["auditor"])
    attachment_remove(attachment=a, user=world["officer"])
    assert not Attachment.objects.filter(pk=a.pk).exists()


def test_attaching_needs_record_in_the_trust(world):
    with pytest.raises(PermissionDenied):
        attachment_add(target=world["expense"], upload=upload(), user=world["auditor"])
    with pytest.raises(PermissionDenied):
        attachment_add(target=world["expense"], upload=upload(), user=world["stranger"])


def test_download_needs_read_in_that_trust(world, client):
    a = attachment_add(target=world["expense"], upload=upload(), user=world["officer"])
    url = f"/office/attachments/{a.pk}/"
    client.force_login(world["auditor"])
    response = client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf" and "attachment" in response["Content-Disposition"]
    for who in ("outsider", "stranger"):  # no role at all; a role in another trust only
        client.force_login(world[who])
        assert client.get(url).status_code == 403, who
    client.logout()
    assert client.get(url).status_code == 302


def test_the_auditor_sees_an_entrys_attachments_with_their_sha256(world, client):
    a = attachment_add(target=world["expense"], upload=upload(), user=world["officer"])
    sequence = world["expense"].entry.sequence
    client.force_login(world["auditor"])
    html = client.get(f"/auditor/entries/{sequence}/?trust=AT").content.decode()
    assert a.sha256 in html and f"/office/attachments/{a.pk}/" in html
    body = client.get(f"/api/v1/trusts/AT/entries/{sequence}/").json()
    assert body["attachments"] == [{"name": "invoice.pdf", "size": len(PDF), "sha256": a.sha256,
                                    "url": f"http://testserver/office/attachments/{a.pk}/"}]
    assert "attachments" not in client.get("/api/v1/trusts/AT/entries/").json()["results"][0]
