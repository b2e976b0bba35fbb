"""Invitations to the donor portal and claiming a gift from its page (Django's locmem e-mail backend).

An invitation's link works once, for the trust's ``invitation_days``, and opens an account linked to that donor
only; a claim from the gift page reaches only the address given with the gift; password reset works through
Django's own views.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.core import mail as django_mail
from django.utils import timezone

from charity import roles
from charity.links import token_for
from charity.models import AuditEvent, Donor, GiftLink, Invitation, MailMessage
from charity.services import (
    donation_record, donor_create, invitation_send, invitations_send_period, trust_create,
)
from charity.errors import MailError
from ledger.models import Fund
from ledger.services import system_user
from tests.conftest import grant

D = dt.date(2026, 3, 2)
INVITE = re.compile(r"http://testserver(/invite/[^/\s]+/)")


@pytest.fixture
def world(db, settings, django_user_model):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = "http://testserver"
    trust = trust_create(user=system_user(), code="CT", name="关爱妇女儿童慈善信托", name_en="Caring Trust")
    officer = grant(django_user_model.objects.create_user("officer"), roles.OFFICER, trust)
    gen = Fund.objects.get(book=trust.book, code="GEN")
    mei = donor_create(by=officer, trust=trust, kind="individual", name="李美华", external_id="D-1",
                       email="Meihua@Example.org", language="en")
    other = donor_create(by=officer, trust=trust, kind="individual", name="王丽", external_id="D-2",
                         email="wangli@example.org")
    gifts = {}
    for external_id, donor, day in (("DN-1", mei, D), ("DN-2", other, D), ("DN-3", mei, dt.date(2026, 5, 1))):
        gifts[external_id], _ = donation_record(trust=trust, external_id=external_id, date=day, fund=gen,
                                                amount=Decimal("100.00"), channel="bank", user=officer, donor=donor,
                                                notify="off")
    return {"trust": trust, "officer": officer, "mei": mei, "other": other, "gifts": gifts}


def _link(message) -> str:
    return INVITE.search(message.body)[1]


def test_an_invited_donor_sets_a_password_and_sees_only_her_gifts(client, world,
                                                                  django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invitation_send(donor=world["mei"], user=world["officer"])
    (message,) = django_mail.outbox
    assert message.to == ["Meihua@Example.org"] and "within 14 days" in message.body
    path = _link(message)
    page = client.get(path)
    assert page.status_code == 200 and "meihua@example.org" in page.content.decode()  # her user name
    weak = client.post(path, {"password1": "123", "password2": "123"})
    assert weak.status_code == 400 and not Donor.objects.get(pk=world["mei"].pk).user_id
    done = client.post(path, {"password1": "a-long-pass-phrase-9", "password2": "a-long-pass-phrase-9"})
    assert done.status_code == 302 and done["Location"] == "/my/"
    mei = Donor.objects.get(pk=world["mei"].pk)
    assert mei.user.username == "meihua@example.org" and not mei.user.memberships.exists()
    home = client.get("/my/").content.decode()
    assert "DN-1" in home and "DN-3" in home and "DN-2" not in home
    assert client.get("/my/gifts/DN-2/").status_code == 404
    assert client.get(path).status_code == 404  # once
    client.logout()
    signed_in = client.post("/accounts/login/", {"username": "meihua@example.org",
                                                 "password": "a-long-pass-phrase-9"})
    assert signed_in.status_code == 302
    assert AuditEvent.objects.filter(action="invitation accepted", detail__donor="D-1").exists()
    assert AuditEvent.objects.filter(action="e-mail sent: invitation", detail__donor="D-1").exists()
    assert MailMessage.objects.get(kind="invitation").secret == ""  # the token left the table with the e-mail
    with pytest.raises(MailError, match="already has an account"):
        invitation_send(donor=mei, user=world["officer"])


def test_an_invitation_expires_after_the_trusts_days(client, world, django_capture_on_commit_callbacks):
    world["trust"].invitation_days = 3
    world["trust"].save()
    with django_capture_on_commit_callbacks(execute=True):
        invitation_send(donor=Donor.objects.get(pk=world["mei"].pk), user=world["officer"])
    path = _link(django_mail.outbox[0])
    invitation = Invitation.objects.get()
    assert dt.timedelta(days=3, seconds=-1) < invitation.expires_at - invitation.created_at <= dt.timedelta(days=3)
    with time_machine.travel(invitation.expires_at + dt.timedelta(seconds=1)):
        assert client.get(path).status_code == 404
    assert client.get(path.replace("/invite/", "/invite/x")).status_code == 404


def test_invite_everyone_who_gave_in_a_period(world):
    """Gave 2026-03-01 .. 2026-03-31: both donors (DN-1, DN-2); again: nobody (their invitations are open);
    gave in May only: 李美华 (DN-3), who already has an open invitation: nobody."""
    n = invitations_send_period(trust=world["trust"], date_from=dt.date(2026, 3, 1), date_to=dt.date(2026, 3, 31),
                                user=world["officer"])
    assert n == 2 and MailMessage.objects.filter(kind="invitation", status="queued").count() == 2
    assert invitations_send_period(trust=world["trust"], date_from=dt.date(2026, 3, 1),
                                   date_to=dt.date(2026, 5, 31), user=world["officer"]) == 0
    with pytest.raises(MailError):
        invitations_send_period(trust=world["trust"], date_from=dt.date(2026, 4, 1), date_to=dt.date(2026, 3, 1),
                                user=world["officer"])


def test_a_donor_claims_her_gifts_from_the_gift_page(client, world, django_capture_on_commit_callbacks):
    link = GiftLink.objects.get(donation=world["gifts"]["DN-1"])
    page = f"/g/{token_for(link.nonce)}/"
    with django_capture_on_commit_callbacks(execute=True):
        wrong = client.post(page, {"email": "wangli@example.org"})  # another donor's address: nothing sent
    assert wrong.status_code == 200 and django_mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        right = client.post(page, {"email": "meihua@example.ORG"})
    assert right.content.decode().count('id="claim-sent"') == 1
    (message,) = django_mail.outbox
    assert message.to == ["Meihua@Example.org"]
    with django_capture_on_commit_callbacks(execute=True):
        client.post(page, {"email": "meihua@example.org"})  # within the hour: no second e-mail
    assert len(django_mail.outbox) == 1
    done = client.post(_link(message), {"password1": "a-long-pass-phrase-9", "password2": "a-long-pass-phrase-9"})
    assert done.status_code == 302
    assert Donor.objects.get(pk=world["mei"].pk).user is not None
    assert "DN-2" not in client.get("/my/").content.decode()
    assert client.post(page, {"email": "not an address"}).status_code == 400


def test_password_reset_by_email_through_djangos_views(client, world, django_user_model):
    user = django_user_model.objects.create_user("meihua", email="meihua@example.org", password="old-pass-phrase-1")
    Donor.objects.filter(pk=world["mei"].pk).update(user=user)
    assert client.post("/accounts/password_reset/", {"email": "meihua@example.org"}).status_code == 302
    (message,) = django_mail.outbox
    path = re.search(r"http://testserver(/accounts/reset/\S+/)", message.body)[1]
    form = client.get(path, follow=True)
    assert form.status_code == 200
    done = client.post(form.redirect_chain[-1][0], {"new_password1": "new-pass-phrase-2",
                                                    "new_password2": "new-pass-phrase-2"})
    assert done.status_code == 302
    client.logout()
    signed_in = client.post("/accounts/login/", {"username": "meihua", "password": "new-pass-phrase-2"})
    assert signed_in.status_code == 302


def test_an_expired_invitation_cannot_be_accepted_by_the_service_either(world):
    from charity.errors import InvalidToken
    from charity.services import invitation_accept

    invitation_send(donor=world["mei"], user=world["officer"])
    token = MailMessage.objects.get(kind="invitation").secret
    Invitation.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    with pytest.raises(InvalidToken):
        invitation_accept(token=token, password="a-long-pass-phrase-9")
    with pytest.raises(InvalidToken):
        invitation_accept(token="guess", password="a-long-pass-phrase-9")
    assert Donor.objects.get(pk=world["mei"].pk).user_id is None


def test_an_administrator_sets_the_trusts_email_switches_in_the_admin(client, world, django_user_model):
    """Receipts by e-mail off and invitations valid 7 days, through the admin's trust form (the service
    ``trust_set_mail``); 0 days is refused on the field and nothing changes."""
    from charity.models import Trust

    admin = grant(django_user_model.objects.create_user("admin", is_staff=True), roles.ADMINISTRATOR)
    client.force_login(admin)
    url = f"/admin/charity/trust/{world['trust'].pk}/change/"
    assert client.get(url).status_code == 200
    refused = client.post(url, {"expense_approval_threshold": "", "invitation_days": "0"})
    assert refused.status_code == 200 and Trust.objects.get(pk=world["trust"].pk).invitation_days == 14
    done = client.post(url, {"expense_approval_threshold": "", "invitation_days": "7"})
    assert done.status_code == 302
    trust = Trust.objects.get(pk=world["trust"].pk)
    assert (trust.email_receipts, trust.invitation_days) == (False, 7)
    assert AuditEvent.objects.filter(action="trust e-mail settings").exists()
