from django.db import models
from django.utils.translation import gettext_lazy as _

from ledger.models import Book


class Trust(models.Model):
    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    trustee = models.CharField(_("trustee"), max_length=200, blank=True)
    supervisor = models.CharField(_("supervisor"), max_length=200, blank=True)
    filing_number = models.CharField(_("filing number"), max_length=100, blank=True)
    base_currency = models.CharField(_("base currency"), max_length=3, default="CNY", editable=False)
    book = models.OneToOneField(Book, on_delete=models.PROTECT, related_name="trust")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("trust")
        verbose_name_plural = _("trusts")
        ordering = ["code"]
        # The roles of charity/roles.py are made of these (and of the apps' model permissions).
        permissions = [
            ("read_books", "Can read the books and download reports"),
            ("record_transactions", "Can record donations, expenses and refunds, and import CSV files"),
            ("draft_disbursements", "Can register beneficiaries and draft disbursements and batches"),
            ("approve_disbursements", "Can approve and pay disbursements and batches"),
            ("close_periods", "Can close periods"),
            ("post_journal_entries", "Can post and reverse manual journal entries"),
            ("view_audit_log", "Can read the audit log"),
        ]

    def __str__(self) -> str:
        return self.name
