from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ledger.models import Book


class Trust(models.Model):
    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    settlor = models.CharField(_("settlor"), max_length=200, blank=True,
                               help_text=_("who set the trust up (委托人), e.g. a women's federation"))
    trustee = models.CharField(_("trustee"), max_length=200, blank=True)
    co_trustee = models.CharField(
        _("co-trustee issuing official receipts"), max_length=200, blank=True,
        help_text=_("the charitable organisation, co-trustee of the trust, that issues the official donation "
                    "receipts (公益事业捐赠票据) through the fiscal e-receipt system"))
    supervisor = models.CharField(_("supervisor"), max_length=200, blank=True)
    filing_number = models.CharField(_("filing number"), max_length=100, blank=True)
    base_currency = models.CharField(_("base currency"), max_length=3, default="CNY", editable=False)
    # The version of the chart template (charity.chart.CHART_VERSION) the trust's accounts follow.
    chart_version = models.CharField(_("chart of accounts"), max_length=16, default="2026", editable=False)
    expense_approval_threshold = models.DecimalField(
        _("expense approval threshold (CNY)"), max_digits=14, decimal_places=2, null=True, blank=True,
        help_text=_("an expense above this amount is drafted and needs a second person's approval; empty: none"))
    email_receipts = models.BooleanField(
        _("e-mail receipts to donors"), default=True,
        help_text=_("a recorded gift from a donor with an e-mail address sends the receipt by e-mail"))
    invitation_days = models.PositiveSmallIntegerField(
        _("invitation valid for (days)"), default=14,
        help_text=_("how long the link in an invitation to the donor portal can be used"))
    book = models.OneToOneField(Book, on_delete=models.PROTECT, related_name="trust")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("trust")
        verbose_name_plural = _("trusts")
        ordering = ["code"]
        # The roles of charity/roles.py are made of these and of the lower apps' permissions; each is asked with a
        # trust (or its book) as the object, and a membership grants it in that trust only (charity.backends).
        permissions = [
            ("read_books", "Can read the books and download reports"),
            ("record_transactions", "Can record donations, expenses and refunds, and import CSV files"),
            ("post_journal_entries", "Can draft manual journal entries and reversals"),
            ("approve_journal_entries", "Can approve and post manual journal entries drafted by someone else"),
            ("approve_expenses", "Can approve expenses above the trust's threshold drafted by someone else"),
            ("view_audit_log", "Can read the audit log"),
            ("view_donor_identity", "Can see donors' identity numbers and credit codes unmasked"),
        ]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OFFICER = "finance_officer", _("finance officer")
    APPROVER = "approver", _("approver")
    AUDITOR = "auditor", _("auditor")


class Membership(models.Model):
    """A user's role in one trust. It grants that role's permissions there and nothing anywhere else."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    trust = models.ForeignKey(Trust, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["trust", "user", "role"]
        constraints = [models.UniqueConstraint(fields=["user", "trust", "role"], name="charity_membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.trust.code}"
