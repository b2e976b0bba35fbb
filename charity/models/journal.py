"""Manual journal entries wait for a second person: drafted by one user, approved and posted by another."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from ledger.models import JournalEntry

from .trust import Trust


class ManualEntryKind(models.TextChoices):
    ENTRY = "entry", _("entry")
    REVERSAL = "reversal", _("reversal")


class ManualEntryStatus(models.TextChoices):
    DRAFT = "draft", _("waiting for approval")
    POSTED = "posted", _("approved and posted")
    REJECTED = "rejected", _("rejected")


class ManualEntry(models.Model):
    """A manual journal entry (or the reversal of a posted entry) as drafted, and what became of it.

    ``legs`` keeps what the drafter asked for, by code: ``[{"account", "fund", "debit" | "credit", "currency"}]``
    with amounts as decimal strings. The approver sees exactly that and posts exactly that."""

    trust = models.ForeignKey(Trust, on_delete=models.PROTECT, related_name="manual_entries")
    kind = models.CharField(_("kind"), max_length=16, choices=ManualEntryKind.choices, default=ManualEntryKind.ENTRY)
    date = models.DateField(_("date"))
    memo = models.CharField(_("memo"), max_length=2000, blank=True)
    fx_rate = models.DecimalField(_("exchange rate"), max_digits=18, decimal_places=8, null=True, blank=True)
    legs = models.JSONField(_("legs"), default=list, blank=True)
    reverses = models.ForeignKey(JournalEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("reverses"))
    status = models.CharField(_("status"), max_length=16, choices=ManualEntryStatus.choices,
                              default=ManualEntryStatus.DRAFT)
    drafted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("drafted by"))
    drafted_at = models.DateTimeField(_("drafted at"), auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("approved or rejected by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=500, blank=True,
                              help_text=_("why the entry is reversed, or why it was rejected"))
    entry = models.OneToOneField(JournalEntry, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="manual", verbose_name=_("posted entry"))

    class Meta:
        verbose_name = _("manual journal entry")
        verbose_name_plural = _("manual journal entries")
        ordering = ["trust", "-pk"]
        constraints = [
            # Four eyes, in the database too: whoever decides did not draft it.
            models.CheckConstraint(condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("drafted_by")),
                                   name="charity_manualentry_four_eyes"),
            models.CheckConstraint(condition=~Q(status="posted") | Q(entry__isnull=False),
                                   name="charity_manualentry_posted_has_entry"),
            models.CheckConstraint(condition=Q(status="draft") | Q(decided_by__isnull=False),
                                   name="charity_manualentry_decided_has_who"),
        ]

    def __str__(self) -> str:
        return f"{self.trust.code} manual #{self.pk} ({self.status})"
