"""E-mail to donors: what is queued, and by whom.

Every message is a ``MailMessage`` row written in the transaction of what caused it; ``charity.mail`` sends it
after the commit (``transaction.on_commit``) or, for a bulk run, a worker sends the queue at a bounded rate
(``manage.py send_mail_queue``). Nothing here talks to a mail server.

The officer's services check ``record_transactions`` in the trust themselves. Two services act for someone who
is not signed in and hold the token of a link instead: ``gift_claim_request`` (the gift page's link) and
``invitation_accept`` (the invitation's link); a wrong token is ``InvalidToken`` and the page answers 404.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from ledger.authority import require
from ledger.locking import lock, lock_one

from ..audit import audit
from ..errors import InvalidToken, MailError
from ..links import nonce_of
from ..models import Donation, Donor, GiftLink, Invitation, MailKind, MailMessage, MailStatus, Trust
from ..roles import RECORD

CLAIMS_PER_HOUR = 1  # a gift page cannot be used to flood a donor's inbox


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _send_after_commit(message: MailMessage) -> None:
    from .. import mail

    pk = message.pk
    transaction.on_commit(lambda: mail.send_message(pk), robust=True)


def _queue(*, donor: Donor, kind: str, now=None, **fields) -> MailMessage:
    return MailMessage.objects.create(trust_id=donor.trust_id, donor=donor, kind=kind, to=donor.email,
                                      language=donor.language, next_attempt_at=now or timezone.now(), **fields)


def receipt_mail_queue(*, donation: Donation, send_now: bool) -> MailMessage | None:
    """Called by ``donation_record`` inside its transaction: the gift's receipt e-mail, once per gift, when the
    donor has an address and the trust sends receipts by e-mail. ``send_now``: sent when the transaction commits
    (a gift recorded by hand); else left for the queue's worker (a bulk import)."""
    donor = donation.donor
    if donor is None or not donor.email or not donation.trust.email_receipts:
        return None
    message = _queue(donor=donor, kind=MailKind.RECEIPT, donation=donation)
    if send_now:
        _send_after_commit(message)
    return message


def _invite(*, donor: Donor, user, kind: str = MailKind.INVITATION, now=None) -> MailMessage:
    now = now or timezone.now()
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        trust_id=donor.trust_id, donor=donor, token_hash=_hash(token), email=donor.email,
        created_by=user if getattr(user, "pk", None) else None,
        expires_at=now + dt.timedelta(days=donor.trust.invitation_days))
    return _queue(donor=donor, kind=kind, invitation=invitation, secret=token, now=now)


@transaction.atomic
def trust_set_mail(*, trust: Trust, email_receipts: bool, invitation_days: int, user) -> Trust:
    """The trust's switches for donors' e-mail: whether recorded gifts e-mail their receipts, and for how many
    days an invitation's link works. Administrators only (like the trust's other settings)."""
    require(user, "charity.change_trust", None)
    if not isinstance(invitation_days, int) or isinstance(invitation_days, bool) or not 1 <= invitation_days <= 365:
        raise MailError(f"an invitation is valid for 1 to 365 days, not {invitation_days!r}", field="invitation_days")
    Trust.objects.filter(pk=trust.pk).update(email_receipts=bool(email_receipts), invitation_days=invitation_days)
    trust.email_receipts, trust.invitation_days = bool(email_receipts), invitation_days
    audit(user=user, action="trust e-mail settings", trust=trust,
          detail={"email_receipts": trust.email_receipts, "invitation_days": invitation_days})
    return trust


@transaction.atomic
def invitation_send(*, donor: Donor, user) -> MailMessage:
    """Invite one donor to the portal: an e-mail with a one-time link to set a password, valid for the trust's
    ``invitation_days``. Sent when the transaction commits."""
    require(user, RECORD, donor.trust.book)
    donor = lock_one(donor)
    if not donor.email:
        raise MailError(f"donor {donor} has no e-mail address", field="email")
    if donor.user_id is not None:
        raise MailError(f"donor {donor} already has an account", field="donor")
    message = _invite(donor=donor, user=user)
    audit(user=user, action="donor invited", trust=donor.trust,
          detail={"donor": donor.external_id or donor.pk, "message": message.pk})
    _send_after_commit(message)
    return message


@transaction.atomic
def invitations_send_period(*, trust: Trust, date_from: dt.date, date_to: dt.date, user) -> int:
    """Invite every donor of ``trust`` with an e-mail address and no account who gave between the two dates
    (inclusive) and has no invitation still open. Queued for the worker; returns how many."""
    require(user, RECORD, trust.book)
    if date_from > date_to:
        raise MailError("the period ends before it begins", field="date_to")
    now = timezone.now()
    gave = Donation.objects.filter(trust=trust, date__range=(date_from, date_to)).values("donor_id")
    open_invitations = Invitation.objects.filter(used_at__isnull=True, expires_at__gt=now).values("donor_id")
    donors = (Donor.objects.filter(trust=trust, pk__in=gave, user__isnull=True).exclude(email="")
              .exclude(pk__in=open_invitations).select_related("trust").order_by("pk"))
    count = 0
    for donor in donors:
        _invite(donor=donor, user=user, now=now)
        count += 1
    audit(user=user, action="donors invited", trust=trust,
          detail={"from": date_from.isoformat(), "to": date_to.isoformat(), "queued": count})
    return count


@transaction.atomic
def statements_send(*, trust: Trust, year: int, user) -> int:
    """Queue the year's donor statement (PDF attached) for every donor of ``trust`` with an e-mail address who
    gave in ``year``: once per donor and year, whoever asks again. Returns how many were queued now."""
    require(user, RECORD, trust.book)
    if not isinstance(year, int) or not 1900 < year < 2200:
        raise MailError(f"{year!r} is not a year", field="year")
    gave = Donation.objects.filter(trust=trust, date__year=year).values("donor_id")
    done = MailMessage.objects.filter(kind=MailKind.STATEMENT, year=year).values("donor_id")
    # The statement is made per donor external id (the report's parameter): a donor without one has none.
    donors = (Donor.objects.filter(trust=trust, pk__in=gave).exclude(email="").exclude(external_id="")
              .exclude(pk__in=done).order_by("pk"))
    now = timezone.now()
    count = 0
    for donor in donors:
        _queue(donor=donor, kind=MailKind.STATEMENT, year=year, now=now)
        count += 1
    audit(user=user, action="donor statements queued", trust=trust, detail={"year": year, "queued": count})
    return count


@transaction.atomic
def mail_retry(*, message: MailMessage, user) -> MailMessage:
    """Queue a failed or bounced message again (e.g. after the donor's address was corrected: it goes to the
    donor's address as it is now)."""
    require(user, RECORD, message.trust.book)
    message = lock_one(message)
    if message.status not in (MailStatus.FAILED, MailStatus.BOUNCED):
        raise MailError(f"a {message.get_status_display()} message is not sent again", field="message")
    if not message.donor.email:
        raise MailError("the donor has no e-mail address", field="email")
    if message.kind in (MailKind.INVITATION, MailKind.CLAIM) and not message.secret:
        raise MailError("an invitation's link is sent once; invite the donor again", field="message")
    MailMessage.objects.filter(pk=message.pk).update(
        status=MailStatus.QUEUED, attempts=0, to=message.donor.email, next_attempt_at=timezone.now())
    audit(user=user, action="e-mail queued again", trust=message.trust,
          detail={"message": message.pk, "kind": message.kind, "donor": message.donor.external_id or message.donor_id})
    message.refresh_from_db()
    _send_after_commit(message)
    return message


@transaction.atomic
def mail_mark_bounced(*, message: MailMessage, user, reason: str) -> MailMessage:
    """Record that a sent message came back (a bounce the donor's server sent later, or reported by a provider's
    webhook through django-anymail's tracking signal)."""
    require(user, RECORD, message.trust.book)
    reason = (reason or "").strip()[:500]
    if not reason:
        raise MailError("say why the message bounced", field="reason")
    updated = MailMessage.objects.filter(pk=message.pk, status=MailStatus.SENT).update(
        status=MailStatus.BOUNCED, last_error=reason)
    if not updated:
        raise MailError("only a sent message can bounce", field="message")
    audit(user=user, action="e-mail bounced", trust=message.trust,
          detail={"message": message.pk, "kind": message.kind, "reason": reason})
    message.refresh_from_db()
    return message


# -- acting on a link's token (no sign-in) -----------------------------------------------------------------------


def link_of(token: str) -> GiftLink:
    """The live link a gift page's token names; ``InvalidToken`` for a wrong signature or a revoked link."""
    nonce = nonce_of(token)
    link = (GiftLink.objects.filter(nonce=nonce, revoked_at__isnull=True)
            .select_related("donation__fund", "donation__trust", "donation__donor", "donation__entry").first()
            if nonce else None)
    if link is None:
        raise InvalidToken("no such link", field="token")
    return link


@transaction.atomic
def gift_claim_request(*, token: str, email: str) -> MailMessage | None:
    """The gift page's "this gift is mine": when ``email`` is the address on the gift's donor, an e-mail goes to
    that address with a one-time link to set a password (or, for a donor who has an account, a reminder of it).
    Whether it matched is never said to the one asking (the page answers the same), and a donor gets at most
    one such e-mail an hour."""
    link = link_of(token)
    donor = link.donation.donor
    email = (email or "").strip()
    if donor is None or not donor.email or not email or donor.email.casefold() != email.casefold():
        return None
    donor = lock_one(donor)
    recent = MailMessage.objects.filter(donor=donor, kind=MailKind.CLAIM,
                                        created_at__gt=timezone.now() - dt.timedelta(hours=1)).count()
    if recent >= CLAIMS_PER_HOUR:
        return None
    if donor.user_id is None:
        message = _invite(donor=donor, user=None, kind=MailKind.CLAIM)
    else:
        message = _queue(donor=donor, kind=MailKind.CLAIM)
    audit(action="gift claimed from its link", channel="web", trust=donor.trust,
          detail={"donation": link.donation.external_id, "donor": donor.external_id or donor.pk,
                  "message": message.pk})
    _send_after_commit(message)
    return message


def invitation_of(token: str) -> Invitation:
    """The open invitation a token names: unused, unexpired, its donor without an account."""
    invitation = (Invitation.objects.filter(token_hash=_hash(token or ""), used_at__isnull=True,
                                            expires_at__gt=timezone.now(), donor__user__isnull=True)
                  .select_related("donor__trust").first() if isinstance(token, str) and len(token) < 200 else None)
    if invitation is None:
        raise InvalidToken("no such invitation", field="token")
    return invitation


def username_for(email: str) -> str:
    """The donor's sign-in name: the e-mail address, or the address with a number when it is taken."""
    users = get_user_model().objects
    base = email.strip().lower()[:140]
    name, n = base, 1
    while users.filter(Q(username__iexact=name)).exists():
        n += 1
        name = f"{base}#{n}"
    return name


@transaction.atomic
def invitation_accept(*, token: str, password: str):
    """Open the donor's account from an invitation: a user with ``password`` (Django's validators judge it),
    linked to that donor only (no role in any trust). The link then never works again."""
    found = invitation_of(token)
    invitation, donor = lock(found, Donor(pk=found.donor_id))  # one call: ledger.locking orders them
    if invitation.used_at is not None or donor.user_id is not None:
        raise InvalidToken("no such invitation", field="token")
    User = get_user_model()
    user = User(username=username_for(invitation.email), email=invitation.email,
                first_name=donor.name[:150] if donor.kind == "individual" else "")
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise MailError(" ".join(exc.messages), field="password") from None
    user.set_password(password)
    user.save()
    Donor.objects.filter(pk=donor.pk).update(user=user)
    now = timezone.now()
    Invitation.objects.filter(donor=donor, used_at__isnull=True).update(used_at=now)
    audit(user=user, action="invitation accepted", channel="web", trust=found.donor.trust,
          detail={"donor": donor.external_id or donor.pk, "invitation": invitation.pk})
    return user
