"""Donors' e-mail against a real SMTP server (aiosmtpd on 127.0.0.1, a free port), and the gift page through its
link.

- A gift recorded by hand sends, after its transaction commits, one message: the receipt PDF attached and the
  gift's link in the text; the link opens the gift's page.
- A refused delivery (the server answers 550) or a server that is down: the message goes back to the queue, is
  tried again when due, and after ``MAIL_MAX_ATTEMPTS`` is marked failed; the audit log says so.
- A bulk import of 500 gifts queues 500 messages and sends none itself; the worker sends them ``rate`` at a
  time (the batches are asserted, never the clock), and neither a second run nor a re-import sends any twice.
- The gift page: its figures for a gift split over two programs, 404 for a wrong or revoked token, nobody
  named, a count of people below 5 hidden.
"""

from __future__ import annotations

import datetime as dt
import email
import io
import re
import socket
from decimal import Decimal
from email import policy

import pypdf
import pytest
from aiosmtpd.controller import Controller
from django.core import mail as django_mail
from django.core.management import call_command

from beneficiaries.idnumber import make_id_number
from beneficiaries.models import Program
from beneficiaries.services import (
    beneficiary_register, disbursement_approve, disbursement_draft, disbursement_pay, household_get_or_create,
)
from charity import mail, roles
from charity.links import token_for
from charity.models import AuditEvent, Donation, GiftLink, MailMessage, Trust
from charity.services import (
    donation_record, donor_create, gift_link_revoke, statements_send, trust_create,
)
from ledger import services as ledger
from ledger.models import Fund
from ledger.services import system_user
from tests.conftest import grant

D = dt.date(2026, 3, 2)
SITE = "http://testserver"
LINK = re.compile(r"http://testserver(/g/[^/\s]+/)")


class Inbox:
    """An SMTP server's handler: keeps what it accepts; ``refuse`` answers every message with that reply."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.tries = 0
        self.refuse: str | None = None

    async def handle_DATA(self, server, session, envelope):
        self.tries += 1
        if self.refuse:
            return self.refuse
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(settings):
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 10
    settings.SITE_URL = SITE
    inbox.controller = controller
    try:
        yield inbox
    finally:
        if controller.loop.is_running():
            controller.stop()


@pytest.fixture
def world(db, django_user_model):
    trust = trust_create(user=system_user(), code="CT", name="关爱妇女儿童慈善信托", name_en="Caring Trust")
    officer = grant(django_user_model.objects.create_user("officer"), roles.OFFICER, trust)
    approver = grant(django_user_model.objects.create_user("approver"), roles.APPROVER, trust)
    gen = Fund.objects.get(book=trust.book, code="GEN")
    mei = donor_create(by=officer, trust=trust, kind="individual", name="李美华", external_id="D-1",
                       email="meihua@example.org", language="en")
    return {"trust": trust, "officer": officer, "approver": approver, "gen": gen, "mei": mei}


def record(world, external_id="DN-1", amount="3000.00", donor="mei", **kw):
    donor = world[donor] if isinstance(donor, str) else donor
    donation, _created = donation_record(trust=world["trust"], external_id=external_id, date=D,
                                         amount=Decimal(amount), fund=world["gen"], channel="bank",
                                         user=world["officer"], donor=donor, **kw)
    return donation


def pdf_text(data: bytes) -> str:
    return "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages)


# -- one gift, one message -----------------------------------------------------------------------------------


def test_a_recorded_gift_sends_one_message_with_the_pdf_and_a_working_link(
        world, smtp, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        donation = record(world)
    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    assert message["To"] == "meihua@example.org"
    assert message["Subject"] == "Receipt 2026-000001 from Caring Trust"  # the donor's language: English
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "CNY 3000.00" in body and "Dear 李美华" in body
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "receipt-2026-000001.pdf"
    pdf = attachment.get_content()
    text = pdf_text(pdf)
    path = LINK.search(body)[1]
    assert f"{SITE}{path}" in text.replace("\n", "")  # the same link under the QR code on the receipt
    # 128 random bits and their signature, no sequential id (/g/<pk>/ is a 404: test_a_wrong_or_revoked_token_is_404)
    assert re.fullmatch(r"/g/[A-Za-z0-9_-]{22}:[A-Za-z0-9_-]{43}/", path) and donation.pk
    page = client.get(path)
    assert page.status_code == 200 and "3000.00" in page.content.decode()

    sent = MailMessage.objects.get()
    assert (sent.status, sent.attempts, sent.kind, sent.donation_id) == ("sent", 1, "receipt", donation.pk)
    event = AuditEvent.objects.get(action="e-mail sent: receipt")
    assert event.detail["donor"] == "D-1" and event.detail["donation"] == "DN-1"
    assert event.detail["to"] == "meihua@example.org" and event.trust_id == world["trust"].pk
    # Once per gift: the worker finds nothing more to send, and recording the same gift again writes nothing.
    assert mail.send_queue(rate=10) == [0]
    with django_capture_on_commit_callbacks(execute=True):
        record(world)
    assert len(smtp.messages) == 1 and MailMessage.objects.count() == 1


def test_chinese_for_a_chinese_speaking_donor(world, smtp, django_capture_on_commit_callbacks):
    zhang = donor_create(by=world["officer"], trust=world["trust"], kind="individual", name="张三", external_id="D-2",
                         email="zhang@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        record(world, donor=zhang)
    (message,) = smtp.messages
    assert message["Subject"].strip() == "关爱妇女儿童慈善信托捐赠收据 2026-000001"
    assert "张三，您好" in message.get_body(preferencelist=("plain",)).get_content()


def test_no_message_without_an_address_or_when_the_trust_sends_none(world, smtp, django_capture_on_commit_callbacks):
    nobody = donor_create(by=world["officer"], trust=world["trust"], kind="individual", name="王五", external_id="D-3")
    with django_capture_on_commit_callbacks(execute=True):
        record(world, "DN-1", donor=nobody)
        record(world, "DN-2", donor=None)  # an anonymous walk-in gift
    Trust.objects.filter(pk=world["trust"].pk).update(email_receipts=False)
    world["trust"].refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        record(world, "DN-3")
        record(world, "DN-4", notify="off")
    assert MailMessage.objects.count() == 0 and smtp.messages == []
    assert GiftLink.objects.filter(revoked_at__isnull=True).count() == 4  # every gift has its link all the same


def test_a_refused_delivery_is_retried_then_marked_failed(world, smtp, settings, django_capture_on_commit_callbacks):
    """MAIL_MAX_ATTEMPTS = 3, retries after 1 then 5 minutes: the first try (on commit) is refused with 550; the
    message waits, is not due a second earlier, is tried at +1 min and again at +6 min, then is failed."""
    settings.MAIL_MAX_ATTEMPTS = 3
    settings.MAIL_RETRY_MINUTES = [1, 5]
    smtp.refuse = "550 5.1.1 mailbox unavailable"
    with django_capture_on_commit_callbacks(execute=True):
        record(world)
    message = MailMessage.objects.get()
    assert (message.status, message.attempts, smtp.tries) == ("queued", 1, 1)
    assert "550" in message.last_error
    first = message.claimed_at
    assert message.next_attempt_at == first + dt.timedelta(minutes=1)
    assert mail.send_due(limit=10, now=first + dt.timedelta(seconds=59)) == 0  # not due yet
    assert mail.send_due(limit=10, now=first + dt.timedelta(minutes=1)) == 1
    message.refresh_from_db()
    assert (message.status, message.attempts, smtp.tries) == ("queued", 2, 2)
    assert message.next_attempt_at == first + dt.timedelta(minutes=6)
    assert mail.send_due(limit=10, now=first + dt.timedelta(minutes=6)) == 1
    message.refresh_from_db()
    assert (message.status, message.attempts, smtp.tries) == ("failed", 3, 3)
    assert mail.send_due(limit=10, now=first + dt.timedelta(days=1)) == 0  # failed is final
    assert smtp.messages == []
    event = AuditEvent.objects.get(action="e-mail failed: receipt")
    assert "550" in event.detail["error"] and event.detail["donor"] == "D-1"


def test_a_server_that_is_down_is_retried_then_marked_failed(world, smtp, settings,
                                                               django_capture_on_commit_callbacks):
    settings.MAIL_MAX_ATTEMPTS = 2
    smtp.controller.stop()
    with django_capture_on_commit_callbacks(execute=True):
        record(world)  # the gift is recorded whatever the mail server does
    message = MailMessage.objects.get()
    assert (message.status, message.attempts) == ("queued", 1)
    assert "Connection" in message.last_error or "refused" in message.last_error.lower()
    assert Donation.objects.filter(external_id="DN-1").exists()
    mail.send_due(limit=10, now=message.next_attempt_at)
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", 2)


# -- a bulk import -------------------------------------------------------------------------------------------


def _files(tmp_path, n_donors=50, n_gifts=500):
    donors = ["external_id,kind,name,email"] + [f"D-{i:03d},individual,捐赠人{i},d{i}@example.org"
                                                for i in range(n_donors)]
    gifts = ["external_id,date,donor_external_id,amount,channel,fund_code"] + [
        f"BULK-{i:04d},2026-03-02,D-{i % n_donors:03d},{100 + i}.00,bank,GEN" for i in range(n_gifts)]
    (tmp_path / "donors.csv").write_text("\n".join(donors) + "\n", encoding="utf-8")
    (tmp_path / "gifts.csv").write_text("\n".join(gifts) + "\n", encoding="utf-8")
    return tmp_path / "donors.csv", tmp_path / "gifts.csv"


def test_a_bulk_import_of_500_gifts_sends_500_messages_at_the_rate_and_none_twice(world, smtp, tmp_path):
    """500 gifts from 50 donors: the import queues 500 receipts and sends none; the worker at 100 a minute sends
    five batches of 100, waiting out the minute after each full batch (a sixth finds nothing and stops). A second
    run sends nothing, and importing the same file again queues nothing."""
    donors, gifts = _files(tmp_path)
    call_command("import_csv", "donors", str(donors), "--trust", "CT", stdout=io.StringIO())
    call_command("import_csv", "donations", str(gifts), "--trust", "CT", stdout=io.StringIO())
    assert MailMessage.objects.filter(status="queued", kind="receipt").count() == 500
    assert smtp.messages == []  # an import never sends itself

    waits, ticks = [], iter(range(0, 10_000, 7))  # a clock that moves 7 s per reading
    batches = mail.send_queue(rate=100, loop=True, sleep=waits.append, clock=lambda: next(ticks))
    assert batches == [100, 100, 100, 100, 100, 0]
    assert waits == [53.0] * 5  # each batch took 7 s of the minute on the fake clock
    assert len(smtp.messages) == 500
    assert len({m["Subject"] for m in smtp.messages}) == 500  # each receipt once
    assert MailMessage.objects.filter(status="sent").count() == 500

    assert mail.send_queue(rate=100, loop=True, sleep=waits.append) == [0]
    out = io.StringIO()
    call_command("import_csv", "donations", str(gifts), "--trust", "CT", stdout=out)
    assert "skipped 500" in out.getvalue()
    assert mail.send_queue(rate=100) == [0]
    assert len(smtp.messages) == 500 and MailMessage.objects.count() == 500


def test_import_with_no_email_queues_nothing(world, smtp, tmp_path):
    donors, gifts = _files(tmp_path, n_donors=3, n_gifts=6)
    call_command("import_csv", "donors", str(donors), "--trust", "CT", stdout=io.StringIO())
    call_command("import_csv", "donations", str(gifts), "--trust", "CT", "--no-email", stdout=io.StringIO())
    assert Donation.objects.count() == 6 and MailMessage.objects.count() == 0
    assert call_command("send_mail_queue", "--rate", "5", stdout=io.StringIO()) is None
    assert smtp.messages == []


def test_the_queue_command_sends_one_batch_at_the_rate(world, smtp, tmp_path):
    donors, gifts = _files(tmp_path, n_donors=3, n_gifts=7)
    call_command("import_csv", "donors", str(donors), "--trust", "CT", stdout=io.StringIO())
    call_command("import_csv", "donations", str(gifts), "--trust", "CT", stdout=io.StringIO())
    out = io.StringIO()
    call_command("send_mail_queue", "--rate", "5", stdout=out)
    assert "5 message(s)" in out.getvalue() and len(smtp.messages) == 5
    call_command("send_mail_queue", "--rate", "5", stdout=out)
    assert len(smtp.messages) == 7


# -- the gift page through its link ----------------------------------------------------------------------------


@pytest.fixture
def spent(world):
    """DN-1, 3000.00 to the general fund, is the fund's only gift, so FIFO charges it with everything the fund
    pays: study grants of 300.00 to three children on 5 March (900.00) and to one of them again on 10 April
    (300.00), and general-program aid of 200.00 to six mothers on 15 April (1200.00). By hand:
        study assistance 2026-03  900.00;  study assistance 2026-04  300.00;  general programs 2026-04  1200.00
        spent 2400.00, unspent 3000.00 - 2400.00 = 600.00
        people: study assistance 3 children -> shown as 少于5人; general programs 6 mothers -> 6"""
    trust, officer, approver = world["trust"], world["officer"], world["approver"]
    donation = record(world)
    study = Program.objects.get(book=trust.book, code="study_grant")
    general = Program.objects.get(book=trust.book, code="general")
    mothers, kids = [], []
    for i in range(6):
        household = household_get_or_create(user=system_user(), book=trust.book, external_id=f"HH-{i}")
        mothers.append(beneficiary_register(
            book=trust.book, external_id=f"M-{i}", name=f"受益母亲{i}号", user=officer, gender="F", household=household,
            id_number=make_id_number("440105", dt.date(1988, 1, 1 + i), 100 + i, "F"),
            birth_date=dt.date(1988, 1, 1 + i)))
    for i in range(3):
        kids.append(beneficiary_register(
            book=trust.book, external_id=f"K-{i}", name=f"受益孩子{i}号", user=officer, gender="M",
            household=mothers[i].household, guardian=mothers[i],
            id_number=make_id_number("440105", dt.date(2014, 2, 1 + i), 201 + 2 * i, "M"),
            birth_date=dt.date(2014, 2, 1 + i)))
    paid = [(f"S-{i}", kid, study, dt.date(2026, 3, 5), "300.00") for i, kid in enumerate(kids)]
    paid.append(("S-9", kids[0], study, dt.date(2026, 4, 10), "300.00"))
    paid += [(f"G-{i}", mother, general, dt.date(2026, 4, 15), "200.00") for i, mother in enumerate(mothers)]
    for external_id, who, program, day, amount in paid:
        draft = disbursement_draft(book=trust.book, external_id=external_id, beneficiary=who, program=program,
                                   fund=world["gen"], date=day, user=officer, amount=Decimal(amount))
        disbursement_approve(disbursement=draft, user=approver)
        disbursement_pay(disbursement=draft, user=approver)
    return {"donation": donation, "people": mothers + kids}


def _path(donation) -> str:
    return f"/g/{token_for(GiftLink.objects.get(donation=donation, revoked_at__isnull=True).nonce)}/"


def _rows(html: str, table: str) -> list[list[str]]:
    body = re.search(rf'<table id="{table}">.*?<tbody>(.*?)</tbody>', html, re.S)[1]
    return [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


def test_the_gift_page_of_a_gift_split_over_two_programs(client, spent):
    page = client.get(_path(spent["donation"]), HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    html = page.content.decode()
    assert _rows(html, "months") == [
        ["助学 · Study assistance", "2026-03", "900.00"],
        ["助学 · Study assistance", "2026-04", "300.00"],
        ["综合项目 · General programs", "2026-04", "1200.00"],
        ["Not yet spent", "", "600.00"],
    ]
    assert _rows(html, "reach") == [
        ["综合项目 · General programs", "1200.00", "6"],
        ["助学 · Study assistance", "1200.00", "少于5人 fewer than 5"],  # 3 children: never the number
    ]
    assert '<strong id="amount">3000.00</strong>' in html
    assert "2026-000001" in html  # the acknowledgement receipt's number
    assert 'id="official-receipt">not issued yet' in html
    for person in spent["people"]:
        assert person.name not in html and person.external_id not in html and person.id_number not in html
    assert "李美华" not in html and "D-1" not in html  # the page names nobody, not even an open donor


def test_a_wrong_or_revoked_token_is_404(client, world):
    donation = record(world)
    good = _path(donation)
    assert client.get(good).status_code == 200
    nonce = GiftLink.objects.get(donation=donation).nonce
    for bad in (f"/g/{nonce}/", f"/g/{nonce}:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/", "/g/x/",
                f"/g/{token_for('not-a-nonce-of-any-gift')}/", f"/g/{donation.pk}/"):
        assert client.get(bad).status_code == 404, bad
    new = gift_link_revoke(donation=donation, user=world["officer"])
    assert client.get(good).status_code == 404
    assert client.post(good, {"email": "meihua@example.org"}).status_code == 404
    assert client.get(f"/g/{token_for(new.nonce)}/").status_code == 200
    assert AuditEvent.objects.filter(action="gift link revoked", detail__donation="DN-1").exists()


def test_an_anonymous_gift_page_names_nobody(client, world):
    hidden = donor_create(by=world["officer"], trust=world["trust"], kind="individual", name="隐名捐赠人",
                          external_id="D-ANON", anonymous=True, email="hidden@example.org", address="北京市某路1号")
    walk_in = record(world, "DN-W", donor=None)
    gift = record(world, "DN-H", donor=hidden)
    for donation in (walk_in, gift):
        html = client.get(_path(donation)).content.decode()
        for text in ("隐名捐赠人", "D-ANON", "hidden@example.org", "北京市某路1号", "李美华", "DN-1"):
            assert text not in html
    assert 'id="claim-form"' not in client.get(_path(walk_in)).content.decode()  # no donor: nothing to claim


def test_a_count_below_5_is_hidden_everywhere_on_the_page(client, spent):
    html = client.get(_path(spent["donation"])).content.decode()
    people = re.findall(r'<td class="num people">(.*?)</td>', html)
    assert people == ["6", "少于5人 fewer than 5"]
    assert not any(n in people for n in ("1", "2", "3", "4"))


# -- statements, and what no e-mail ever carries ---------------------------------------------------------------


def test_annual_statements_by_email_once_per_donor_and_year_naming_no_beneficiary(world, spent, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = SITE
    no_email = donor_create(by=world["officer"], trust=world["trust"], kind="individual", name="无邮箱",
                            external_id="D-9")
    record(world, "DN-9", amount="10.00", donor=no_email, notify="off")
    assert statements_send(trust=world["trust"], year=2026, user=world["officer"]) == 1
    assert statements_send(trust=world["trust"], year=2026, user=world["officer"]) == 0
    assert statements_send(trust=world["trust"], year=2025, user=world["officer"]) == 0  # gave nothing then
    mail.send_queue(rate=10)
    statement = [m for m in django_mail.outbox if "statement" in m.subject]
    assert len(statement) == 1 and statement[0].to == ["meihua@example.org"]
    name, pdf, kind = statement[0].attachments[0]
    assert kind == "application/pdf" and name == "statement-CT-2026.pdf"
    text = pdf_text(pdf)
    assert "DN-1" in text
    for message in django_mail.outbox:  # the receipt (queued on commit, sent here) and the statement
        everything = message.subject + message.body + "".join(pdf_text(a[1]) for a in message.attachments)
        for person in spent["people"]:
            assert person.name not in everything and person.id_number not in everything
    assert AuditEvent.objects.filter(action="e-mail sent: statement", detail__year=2026, detail__donor="D-1").exists()


def test_a_donor_with_the_same_email_in_another_trust_is_another_donor(world, client, django_user_model):
    """A gift page's claim only ever reaches the address of that gift's donor."""
    other = trust_create(user=system_user(), code="OT", name="另一信托")
    officer_b = grant(django_user_model.objects.create_user("ob"), roles.OFFICER, other)
    donor_create(by=officer_b, trust=other, kind="individual", name="别人", external_id="D-1",
                 email="someone@example.org")
    donation = record(world)
    response = client.post(_path(donation), {"email": "someone@example.org"})
    assert response.status_code == 200 and 'id="claim-sent"' in response.content.decode()  # same answer
    assert MailMessage.objects.filter(kind="claim").count() == 0
