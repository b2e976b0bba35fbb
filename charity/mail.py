"""Sending the outbox (``MailMessage``): render each message in the donor's language, attach its PDF, hand it to
Django's e-mail backend (``EMAIL_BACKEND``: the console in the demo, SMTP in production, any provider through
django-anymail), and record what happened.

One sender owns a message at a time: it is claimed by a conditional ``UPDATE ... WHERE status = 'queued'``, so
two workers (or a worker and the on-commit send of the page that recorded the gift) never send it twice. A
failure (the server refuses, or cannot be reached) puts it back in the queue for a later attempt
(``MAIL_RETRY_MINUTES``); after ``MAIL_MAX_ATTEMPTS`` it is marked failed. A message claimed by a sender that
died is taken again after ``MAIL_STALE_MINUTES``.

``send_queue`` sends at most ``rate`` messages a minute: one batch, then (with ``loop``) a pause until the
minute is over, and again until the queue holds nothing due. What each message carries: the gift's amount,
fund and link, the receipt or statement PDF, an invitation's one-time link; never a beneficiary.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import time

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from .audit import audit
from .links import absolute, gift_url
from .models import MailKind, MailMessage, MailStatus, Receipt

log = logging.getLogger(__name__)


def _template(kind: str, language: str) -> str:
    return f"charity/email/{kind}.{'en' if language == 'en' else 'zh-hans'}.txt"


def render(message: MailMessage) -> EmailMessage:
    """The e-mail of ``message``: subject (the template's first line), text and attachment."""
    from .services.links import live_link

    donor, trust = message.donor, message.trust
    context = {"trust": trust, "donor": donor, "message": message, "site": absolute("/")}
    attachments = []
    if message.kind == MailKind.RECEIPT:
        from .documents import receipt_pdf

        donation = message.donation
        link = live_link(donation)
        receipt = Receipt.objects.filter(donation=donation, voided_at__isnull=True).order_by("-pk").first()
        context.update(donation=donation, link=gift_url(link) if link else "", receipt=receipt)
        if receipt is not None:
            attachments.append((f"receipt-{receipt.label}.pdf", receipt_pdf(receipt), "application/pdf"))
    elif message.kind in (MailKind.INVITATION, MailKind.CLAIM):
        context.update(
            invitation_url=absolute(reverse("invitation-accept", kwargs={"token": message.secret}))
            if message.secret else "",
            days=trust.invitation_days, username=donor.user.get_username() if donor.user_id else "",
            reset_url=absolute(reverse("password_reset")), login_url=absolute(reverse("login")))
    elif message.kind == MailKind.STATEMENT:
        from .reports.base import resolve_params
        from .reports.cache import render_cached
        from .reports.donors import DonorStatement

        params = resolve_params(DonorStatement, trust.book, year=message.year, donor=donor.external_id)
        pdf, _cached = render_cached(book=trust.book, report=DonorStatement, params=params, fmt="pdf")
        context.update(year=message.year, portal_url=absolute(reverse("donor-home")))
        attachments.append((f"statement-{trust.code}-{message.year}.pdf", pdf, "application/pdf"))
    with translation.override(message.language):
        text = render_to_string(_template(message.kind, message.language), context)
    subject, _sep, body = text.lstrip().partition("\n")
    email = EmailMessage(subject=subject.removeprefix("Subject:").strip(), body=body.lstrip("\n"),
                         from_email=settings.DEFAULT_FROM_EMAIL, to=[message.to])
    for attachment in attachments:
        email.attach(*attachment)
    return email


def _claim(pk: int, now: dt.datetime) -> MailMessage | None:
    stale = now - dt.timedelta(minutes=settings.MAIL_STALE_MINUTES)
    due = Q(status=MailStatus.QUEUED, next_attempt_at__lte=now) | Q(status=MailStatus.SENDING, claimed_at__lt=stale)
    if not MailMessage.objects.filter(due, pk=pk).update(status=MailStatus.SENDING, claimed_at=now,
                                                         attempts=F("attempts") + 1):
        return None
    return MailMessage.objects.select_related("trust__book", "donor__user", "donation__fund", "donation__trust",
                                              "donation__entry").get(pk=pk)


def _event(message: MailMessage, what: str, **extra) -> None:
    detail = {"message": message.pk, "kind": message.kind, "donor": message.donor.external_id or message.donor_id,
              "to": message.to, "attempt": message.attempts, **extra}
    if message.donation_id:
        detail["donation"] = message.donation.external_id
    if message.year:
        detail["year"] = message.year
    audit(action=f"e-mail {what}: {message.kind}", channel="mail", trust=message.trust, detail=detail)


def send_message(pk: int, *, now: dt.datetime | None = None, connection=None) -> str | None:
    """Send one message if it is due and nobody else is sending it; its status afterwards (None: not taken)."""
    now = now or timezone.now()
    message = _claim(pk, now)
    if message is None:
        return None
    try:
        email = render(message)
        email.connection = connection or get_connection(fail_silently=False)
        email.send(fail_silently=False)
    except (smtplib.SMTPException, OSError) as exc:
        _reset(connection)
        return _failed(message, exc, now)
    except Exception as exc:  # noqa: BLE001 - a message that cannot be made is recorded, never lost silently
        log.exception("e-mail %s could not be made", message.pk)
        return _failed(message, exc, now)
    MailMessage.objects.filter(pk=message.pk).update(status=MailStatus.SENT, sent_at=timezone.now(),
                                                     last_error="", secret="")
    _event(message, "sent")
    return MailStatus.SENT


def _reset(connection) -> None:
    """After a refusal the session may be broken: close it (the backend opens a new one for the next message)."""
    if connection is None:
        return
    try:
        connection.close()
    except (smtplib.SMTPException, OSError):
        pass


def _failed(message: MailMessage, exc: Exception, now: dt.datetime) -> str:
    error = f"{type(exc).__name__}: {exc}"[:500]
    if message.attempts >= settings.MAIL_MAX_ATTEMPTS:
        MailMessage.objects.filter(pk=message.pk).update(status=MailStatus.FAILED, last_error=error, secret="")
        _event(message, "failed", error=error)
        return MailStatus.FAILED
    waits = settings.MAIL_RETRY_MINUTES
    wait = waits[min(message.attempts, len(waits)) - 1]
    MailMessage.objects.filter(pk=message.pk).update(
        status=MailStatus.QUEUED, last_error=error, next_attempt_at=now + dt.timedelta(minutes=wait))
    return MailStatus.QUEUED


def due(*, now: dt.datetime, limit: int) -> list[int]:
    stale = now - dt.timedelta(minutes=settings.MAIL_STALE_MINUTES)
    return list(MailMessage.objects.filter(
        Q(status=MailStatus.QUEUED, next_attempt_at__lte=now) | Q(status=MailStatus.SENDING, claimed_at__lt=stale))
        .order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit])


def send_due(*, limit: int, now: dt.datetime | None = None) -> int:
    """Send up to ``limit`` due messages over one connection; how many were tried."""
    now = now or timezone.now()
    pks = due(now=now, limit=limit)
    if not pks:
        return 0
    tried = 0
    connection = get_connection(fail_silently=False)
    try:
        for pk in pks:
            if send_message(pk, now=now, connection=connection) is not None:
                tried += 1
    finally:
        _reset(connection)
    return tried


def send_queue(*, rate: int, loop: bool = False, sleep=time.sleep, clock=time.monotonic, now=timezone.now) -> list[int]:
    """Send the queue at most ``rate`` messages a minute: a batch of up to ``rate``, then, with ``loop``, wait out
    the rest of the minute and send the next, until a batch finds less than ``rate`` due. Returns the batches'
    sizes (``sleep``, ``clock`` and ``now`` are there for the tests)."""
    if rate < 1:
        raise ValueError("rate must be at least 1 message a minute")
    batches = []
    while True:
        started = clock()
        batches.append(send_due(limit=rate, now=now()))
        if not loop or batches[-1] < rate:
            return batches
        sleep(max(0.0, 60.0 - (clock() - started)))
