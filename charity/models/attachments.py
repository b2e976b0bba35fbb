"""Files attached to what the books hold: a journal entry, a gift, an expense (or its request), a disbursement.

Each file is stored through the storage named ``attachments`` (settings.STORAGES) with its SHA-256, size, type
(found from its content), original name, who uploaded it and when. It is read only through the download view,
which checks the reader's role in the trust. Once the entry it belongs to is posted, it is never removed
(``charity.services.attachments``; a database trigger too, migration 0009).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ledger.models import JournalEntry

from .donations import Donation
from .expenses import Expense, ExpenseRequest
from .trust import Trust

TARGETS = ("entry", "donation", "expense", "expense_request", "disbursement")


def attachment_storage():
    from django.core.files.storage import storages

    return storages["attachments"]


def attachment_path(instance, filename: str) -> str:
    """Content-addressed under the trust: ``attachments/CT/ab/abcdef....pdf`` (the original name is a column)."""
    ext = filename.rsplit(".", 1)[-1] if "." in filename else "bin"
    return f"attachments/{instance.trust.code}/{instance.sha256[:2]}/{instance.sha256}.{ext}"


def _exactly_one() -> Q:
    condition = Q()
    for target in TARGETS:
        term = Q(**{f"{target}__isnull": False}) & Q(**{f"{t}__isnull": True for t in TARGETS if t != target})
        condition |= term
    return condition


class Attachment(models.Model):
    trust = models.ForeignKey(Trust, on_delete=models.PROTECT, related_name="attachments", verbose_name=_("trust"))
    entry = models.ForeignKey(JournalEntry, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="attachments", verbose_name=_("journal entry"))
    donation = models.ForeignKey(Donation, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="attachments", verbose_name=_("donation"))
    expense = models.ForeignKey(Expense, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="attachments", verbose_name=_("expense"))
    expense_request = models.ForeignKey(ExpenseRequest, null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="attachments", verbose_name=_("expense request"))
    disbursement = models.ForeignKey("beneficiaries.Disbursement", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="attachments", verbose_name=_("disbursement"))
    file = models.FileField(_("file"), storage=attachment_storage, upload_to=attachment_path, max_length=300)
    name = models.CharField(_("original name"), max_length=255)
    content_type = models.CharField(_("type"), max_length=64)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("uploaded by"))
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["trust", "pk"]
        constraints = [
            models.CheckConstraint(condition=_exactly_one(), name="charity_attachment_exactly_one_target"),
            models.CheckConstraint(condition=Q(content_type__in=["application/pdf", "image/jpeg", "image/png"]),
                                   name="charity_attachment_type_allowed"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.sha256[:12]})"

    @property
    def target(self):
        for name in TARGETS:
            if getattr(self, f"{name}_id") is not None:
                return getattr(self, name)
        return None
