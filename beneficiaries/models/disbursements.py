"""Aid given to a beneficiary under a program, paid from a fund, and the batches that group a day's aid.

Workflow: draft -> approved (by another user than the drafter) -> paid (cash) or delivered (goods), which posts
one ledger entry -> optionally verified (a sampled follow-up). Before posting a disbursement can be cancelled;
after posting only reversed (a reversing entry). The posted entry is the link to the ledger: its allocations
say which donations paid for it (``beneficiaries.selectors.disbursement_allocations``).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ledger.models import Book, Fund, JournalEntry

from .programs import Program
from .registry import Beneficiary


class BatchStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    APPROVED = "approved", _("approved")
    POSTED = "posted", _("posted")
    CANCELLED = "cancelled", _("cancelled")


class DisbursementStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    APPROVED = "approved", _("approved")
    PAID = "paid", _("paid")
    DELIVERED = "delivered", _("delivered")
    VERIFIED = "verified", _("verified")
    CANCELLED = "cancelled", _("cancelled")
    REVERSED = "reversed", _("reversed")


POSTED_STATUSES = (DisbursementStatus.PAID, DisbursementStatus.DELIVERED, DisbursementStatus.VERIFIED)
LIVE_STATUSES = (DisbursementStatus.DRAFT, DisbursementStatus.APPROVED, *POSTED_STATUSES)


class DisbursementBatch(models.Model):
    """A study-assistance day or a Smile Pack distribution: approved as a whole, posted in one transaction."""

    book = models.ForeignKey(Book, on_delete=models.PROTECT, related_name="disbursement_batches")
    code = models.CharField(_("code"), max_length=64)
    description = models.CharField(_("description"), max_length=200, blank=True, default="")
    status = models.CharField(_("status"), max_length=10, choices=BatchStatus.choices, default=BatchStatus.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("drafted by")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("approved by"),
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    approved_outside = models.BooleanField(
        _("approved outside the system"), default=False,
        help_text=_("a record of aid already given, imported by the user recorded as drafter and approver"),
    )
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("posted by"),
    )
    posted_at = models.DateTimeField(_("posted at"), null=True, blank=True)

    class Meta:
        verbose_name = _("disbursement batch")
        verbose_name_plural = _("disbursement batches")
        ordering = ["book", "code"]
        constraints = [
            models.UniqueConstraint(fields=["book", "code"], name="beneficiaries_batch_code_unique"),
            models.CheckConstraint(
                condition=Q(status__in=[c.value for c in BatchStatus]), name="beneficiaries_batch_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(status="cancelled") | Q(approved_by__isnull=False),
                name="beneficiaries_batch_approved_has_approver",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class Disbursement(models.Model):
    book = models.ForeignKey(Book, on_delete=models.PROTECT, related_name="disbursements")
    external_id = models.CharField(_("external id"), max_length=64)
    batch = models.ForeignKey(
        DisbursementBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="disbursements",
        verbose_name=_("batch"),
    )
    beneficiary = models.ForeignKey(
        Beneficiary, on_delete=models.PROTECT, related_name="disbursements", verbose_name=_("beneficiary")
    )
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="disbursements", verbose_name=_("program"))
    fund = models.ForeignKey(Fund, on_delete=models.PROTECT, related_name="+", verbose_name=_("fund"))
    date = models.DateField(_("date"))
    # Cash: the amount paid. Goods: blank until delivered (then quantity x weighted-average cost), or the value
    # the drafter expects, which delivery must match.
    amount = models.DecimalField(_("amount (CNY)"), max_digits=14, decimal_places=2, null=True, blank=True)
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    description = models.CharField(_("description"), max_length=500, blank=True, default="")
    status = models.CharField(
        _("status"), max_length=10, choices=DisbursementStatus.choices, default=DisbursementStatus.DRAFT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("drafted by")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("approved by"),
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    approved_outside = models.BooleanField(_("approved outside the system"), default=False)
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("paid or delivered by"),
    )
    posted_at = models.DateTimeField(_("paid or delivered at"), null=True, blank=True)
    entry = models.OneToOneField(
        JournalEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="disbursement",
        verbose_name=_("ledger entry"),
    )
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    reversal_entry = models.OneToOneField(
        JournalEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_disbursement",
        verbose_name=_("reversing entry"),
    )
    reason = models.CharField(_("reason for cancelling or reversing"), max_length=500, blank=True, default="")

    class Meta:
        verbose_name = _("disbursement")
        verbose_name_plural = _("disbursements")
        permissions = [
            ("draft_disbursements", _("Can draft disbursements and batches")),
            ("approve_disbursements", _("Can approve and pay disbursements and batches (not one's own drafts)")),
            ("manage_programs", _("Can create programs and set their limits")),
            ("manage_stock", _("Can receive, buy and return stock")),
        ]
        ordering = ["book", "date", "external_id"]
        constraints = [
            models.UniqueConstraint(fields=["book", "external_id"], name="beneficiaries_disbursement_ext_unique"),
            models.CheckConstraint(
                condition=Q(status__in=[c.value for c in DisbursementStatus]),
                name="beneficiaries_disbursement_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gt=0), name="beneficiaries_disbursement_amount_positive"
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="beneficiaries_disbursement_quantity_positive"),
            models.CheckConstraint(
                condition=~Q(status__in=["paid", "delivered", "verified", "reversed"])
                | (Q(entry__isnull=False) & Q(amount__isnull=False) & Q(approved_by__isnull=False)),
                name="beneficiaries_disbursement_posted_has_entry",
            ),
            models.CheckConstraint(
                condition=Q(approved_outside=True) | Q(approved_by__isnull=True) | ~Q(approved_by=models.F("created_by")),
                name="beneficiaries_disbursement_four_eyes",
            ),
        ]
        indexes = [
            models.Index(fields=["beneficiary", "program", "date"], name="beneficiaries_disb_limit_idx"),
        ]

    def __str__(self) -> str:
        return self.external_id

    @property
    def is_posted(self) -> bool:
        return self.status in POSTED_STATUSES


class VerificationMethod(models.TextChoices):
    HOME_VISIT = "home_visit", _("home visit")
    PHONE = "phone", _("phone call")
    SCHOOL = "school", _("school record")
    PHOTO = "photo", _("photo or receipt")
    OTHER = "other", _("other")


class VerificationResult(models.TextChoices):
    RECEIVED = "received", _("received as recorded")
    PARTIAL = "partial", _("partly received")
    NOT_RECEIVED = "not_received", _("not received")


class Verification(models.Model):
    """A sampled follow-up that the aid arrived. Append-only; one per disbursement."""

    disbursement = models.OneToOneField(
        Disbursement, on_delete=models.PROTECT, related_name="verification", verbose_name=_("disbursement")
    )
    date = models.DateField(_("date"))
    method = models.CharField(_("method"), max_length=16, choices=VerificationMethod.choices)
    result = models.CharField(_("result"), max_length=16, choices=VerificationResult.choices)
    note = models.TextField(_("note"), blank=True, default="")
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("verified by")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("verification")
        verbose_name_plural = _("verifications")
