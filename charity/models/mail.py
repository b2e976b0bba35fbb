"""What the trust sends to donors: the gift links behind the QR code on a receipt, the e-mail outbox, and the
invitations to the donor portal.

A ``GiftLink`` is a random nonce; the URL carries the nonce signed with the site's secret key
(``charity.links``), so neither a guessed URL nor a copy of the database alone opens a gift's page. Revoking
a link sets ``revoked_at``; the gift may then get a new one.

``MailMessage`` is the outbox: one row per e-mail, written in the transaction of what caused it (a gift, an
invitation, a statement run) and sent after that transaction commits (``charity.mail``). Its status says where
it is: queued (waiting, or waiting for a retry), sending (claimed by one sender), sent, failed (given up after
the last retry) or bounced (the recipient's server said later that it could not deliver it). A gift's receipt
e-mail is unique per gift and a statement per donor and year, so neither is ever queued twice.

An ``Invitation`` keeps only the SHA-256 of its token: the token itself is in the e-mail and nowhere else.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .donations import Donation
from .donors import Donor
from .trust import Trust


class GiftLink(models.Model):
    donation = models.ForeignKey(Donation, on_delete=models.PROTECT, related_name="links", verbose_name=_("donation"))
    nonce = models.CharField(max_length=32, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("revoked by"))

    class Meta:
        verbose_name = _("gift link")
        verbose_name_plural = _("gift links")
        constraints = [models.UniqueConstraint(fields=["donation"], condition=Q(revoked_at__isnull=True),
                                               name="charity_giftlink_one_live_per_donation")]


class MailKind(models.TextChoices):
    RECEIPT = "receipt", _("receipt")
    INVITATION = "invitation", _("invitation")
    CLAIM = "claim", _("claim of a gift")
    STATEMENT = "statement", _("annual statement")


class MailStatus(models.TextChoices):
    QUEUED = "queued", _("queued")
    SENDING = "sending", _("sending")
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed")
    BOUNCED = "bounced", _("bounced")


class MailMessage(models.Model):
    trust = models.ForeignKey(Trust, on_delete=models.PROTECT, related_name="+", verbose_name=_("trust"))
    donor = models.ForeignKey(Donor, on_delete=models.PROTECT, related_name="mail", verbose_name=_("donor"))
    kind = models.CharField(_("kind"), max_length=16, choices=MailKind.choices)
    donation = models.ForeignKey(Donation, null=True, blank=True, on_delete=models.PROTECT, related_name="mail",
                                 verbose_name=_("donation"))
    invitation = models.ForeignKey("Invitation", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="mail", verbose_name=_("invitation"))
    year = models.PositiveSmallIntegerField(_("year"), null=True, blank=True)
    to = models.EmailField(_("recipient"))
    language = models.CharField(_("language"), max_length=8)
    status = models.CharField(_("status"), max_length=8, choices=MailStatus.choices, default=MailStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    created_at = models.DateTimeField(_("queued at"), auto_now_add=True)
    # An invitation's token exists only until its message is sent (the e-mail carries it; the table keeps its
    # hash): the sender reads it here, then blanks it.
    secret = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        verbose_name = _("e-mail")
        verbose_name_plural = _("e-mails")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["donation"], condition=Q(kind="receipt"),
                                    name="charity_mail_one_receipt_per_gift"),
            models.UniqueConstraint(fields=["donor", "year"], condition=Q(kind="statement"),
                                    name="charity_mail_one_statement_per_donor_year"),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="charity_mail_due")]

    def __str__(self) -> str:
        return f"{self.kind} → {self.to} ({self.status})"


class Invitation(models.Model):
    trust = models.ForeignKey(Trust, on_delete=models.PROTECT, related_name="+", verbose_name=_("trust"))
    donor = models.ForeignKey(Donor, on_delete=models.PROTECT, related_name="invitations", verbose_name=_("donor"))
    token_hash = models.CharField(max_length=64, unique=True)
    email = models.EmailField(_("e-mail"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("invited by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-created_at", "-pk"]
