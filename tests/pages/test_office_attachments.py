"""Files on the office's pages: a gift, a disbursement and a journal entry each list their attachments (name, size,
SHA-256, download) and, for a user who records in the trust, take one more through ``attachment_add``; the
service's refusals are form errors, an auditor reads and is refused every write, another trust's user downloads
nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from beneficiaries.services import disbursement_approve, disbursement_draft, disbursement_pay
from charity import roles
from charity.models import Attachment
from charity.services import attachment_add, donation_record, trust_create
from ledger.services import system_user
from tests.beneficiaries.conftest import D2, give, make_aid, register
from tests.conftest import grant

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\x00" * 64
GIFT = "/office/donations/gift/DN-1/?trust=CT"
DISBURSEMENT = "/office/aid/disbursements/DS-1/?trust=CT"


@pytest.fixture
def world(db, django_user_model):
    aid = make_aid("CT")
    trust = aid.book.trust
    other = trust_create(user=system_user(), code="XT", name="另一个慈善信托")
    officer = grant(django_user_model.objects.create_user("officer"), roles.OFFICER, trust)
    approver = grant(django_user_model.objects.create_user("approver"), roles.APPROVER, trust)
    auditor = grant(django_user_model.objects.create_user("auditor"), roles.AUDITOR, trust)
    stranger = grant(django_user_model.objects.create_user("stranger"), roles.OFFICER, other)
    give(aid, aid.study, "5000.00", officer)
    gift, _ = donation_record(trust=trust, external_id="DN-1", date=D2, amount=Decimal("800.00"), fund=aid.gen,
                              channel="bank", user=officer)
    mother = register(aid, officer, "BEN-1")
    child = register(aid, officer, "BEN-2", birth=dt.date(2014, 9, 1), gender="M", seq=2, guardian=mother)
    disbursement = disbursement_draft(book=aid.book, external_id="DS-1", beneficiary=child, program=aid.study_grant,
                                      fund=aid.study, date=D2, amount=Decimal("1000"), user=officer)
    return {"aid": aid, "trust": trust, "gift": gift, "disbursement": disbursement, "officer": officer,
            "approver": approver, "auditor": auditor, "stranger": stranger}


def upload(name="收据.pdf", content=PDF, content_type="application/pdf"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def attach(client, url, file):
    return client.post(url, {"trust": "CT", "action": "attach", "file": file})


def field_errors(response, field="file") -> list[str]:
    return re.findall(rf'data-field="{field}">([^<]*)<', response.content.decode())


def test_attach_a_pdf_to_a_gift_and_download_it(client, world):
    client.force_login(world["officer"])
    page = client.get(GIFT).content.decode()
    assert 'id="attach-form"' in page and 'enctype="multipart/form-data"' in page
    response = attach(client, GIFT, upload())
    assert response.status_code == 302 and response["Location"] == GIFT
    (attachment,) = Attachment.objects.filter(donation=world["gift"])
    digest = hashlib.sha256(PDF).hexdigest()
    assert (attachment.name, attachment.size, attachment.sha256) == ("收据.pdf", len(PDF), digest)
    page = client.get(GIFT).content.decode()
    assert digest in page and "收据.pdf" in page and f"/office/attachments/{attachment.pk}/" in page
    assert 'value="remove-attachment"' not in page  # a gift is posted when recorded: its files stay for good
    download = client.get(f"/office/attachments/{attachment.pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF
    # the entry that records the gift lists it too
    entry_page = client.get(f"/auditor/entries/{world['gift'].entry.sequence}/?trust=CT").content.decode()
    assert digest in entry_page


def test_a_text_file_named_pdf_is_a_form_error(client, world):
    client.force_login(world["officer"])
    response = attach(client, GIFT, upload("invoice.pdf", b"just some text, not a PDF at all\n", "application/pdf"))
    assert response.status_code == 400
    (error,) = field_errors(response)
    assert "PDF" in error
    assert not Attachment.objects.exists()
    response = client.post(GIFT, {"trust": "CT", "action": "attach"})  # no file at all
    assert response.status_code == 400 and field_errors(response)


def test_removal_is_refused_once_posted(client, world):
    attachment = attachment_add(target=world["gift"], upload=upload(), user=world["officer"])
    client.force_login(world["officer"])
    response = client.post(GIFT, {"trust": "CT", "action": "remove-attachment", "attachment": attachment.pk})
    assert response.status_code == 400 and Attachment.objects.filter(pk=attachment.pk).exists()


def test_the_auditor_reads_and_is_refused_every_write(client, world):
    attachment = attachment_add(target=world["gift"], upload=upload(), user=world["officer"])
    client.force_login(world["auditor"])
    sequence = world["gift"].entry.sequence
    for url in (GIFT, DISBURSEMENT, f"/auditor/entries/{sequence}/?trust=CT"):
        page = client.get(url)
        assert page.status_code == 200
        main = page.content.decode().split("<main", 1)[1].split("</main>", 1)[0]
        assert 'id="attach-form"' not in main and 'method="post"' not in main
        assert attach(client, url, upload()).status_code == 403
    assert Attachment.objects.count() == 1
    assert client.get(f"/office/attachments/{attachment.pk}/").status_code == 200  # the auditor reads


def test_another_trusts_user_downloads_nothing(client, world):
    attachment = attachment_add(target=world["gift"], upload=upload(), user=world["officer"])
    client.force_login(world["stranger"])
    assert client.get(f"/office/attachments/{attachment.pk}/").status_code in (403, 404)
    assert client.get(GIFT).status_code in (403, 404)
    assert attach(client, GIFT, upload()).status_code in (403, 404)
    assert Attachment.objects.count() == 1


def test_attach_to_a_disbursement_and_remove_it_until_it_is_posted(client, world):
    client.force_login(world["officer"])
    assert 'id="attach-form"' in client.get(DISBURSEMENT).content.decode()
    response = attach(client, DISBURSEMENT, upload("签收单.png", PNG, "image/png"))
    assert response.status_code == 302 and response["Location"] == DISBURSEMENT
    first = Attachment.objects.get(disbursement=world["disbursement"])
    page = client.get(DISBURSEMENT).content.decode()
    assert first.sha256 in page and 'value="remove-attachment"' in page  # a draft: the file may still go
    response = client.post(DISBURSEMENT, {"trust": "CT", "action": "remove-attachment", "attachment": first.pk})
    assert response.status_code == 302 and not Attachment.objects.filter(pk=first.pk).exists()
    assert attach(client, DISBURSEMENT, upload()).status_code == 302
    second = Attachment.objects.get(disbursement=world["disbursement"])
    # the approver approves and pays: posted, the file stays
    disbursement_approve(disbursement=world["disbursement"], user=world["approver"])
    disbursement_pay(disbursement=world["disbursement"], user=world["approver"])
    page = client.get(DISBURSEMENT).content.decode()
    assert second.sha256 in page and 'value="remove-attachment"' not in page
    response = client.post(DISBURSEMENT, {"trust": "CT", "action": "remove-attachment", "attachment": second.pk})
    assert response.status_code == 400 and Attachment.objects.filter(pk=second.pk).exists()
    # the approver may not attach (no record_transactions)
    client.force_login(world["approver"])
    assert 'id="attach-form"' not in client.get(DISBURSEMENT).content.decode()
    assert attach(client, DISBURSEMENT, upload()).status_code == 403


def test_attach_to_an_entry_from_its_page(client, world):
    entry = world["gift"].entry
    url = f"/auditor/entries/{entry.sequence}/?trust=CT"
    client.force_login(world["officer"])
    assert 'id="attach-form"' in client.get(url).content.decode()
    response = attach(client, url, upload("银行回单.pdf"))
    assert response.status_code == 302 and response["Location"] == url
    (attachment,) = Attachment.objects.filter(entry=entry)
    assert attachment.name == "银行回单.pdf"
    assert attachment.sha256 in client.get(url).content.decode()
    bad = attach(client, url, upload("x.pdf", b"plain text"))
    assert bad.status_code == 400 and field_errors(bad)
    assert client.post(url, {"trust": "CT"}).status_code == 400  # no action
