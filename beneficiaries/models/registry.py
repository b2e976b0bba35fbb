"""The beneficiary registry: people, their households, the history of every change and every view of their PII.

A beneficiary belongs to a trust through the trust's ledger ``Book``. Identity numbers are unique per book (a
database constraint as well as the service's check). Rules (identity number, guardian of a minor, consent) live
in ``beneficiaries.services.registry``; the tables only hold what a service can also check without Python.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ledger.models import Book


class Gender(models.TextChoices):
    FEMALE = "F", _("female")
    MALE = "M", _("male")


class BeneficiaryStatus(models.TextChoices):
    ACTIVE = "active", _("active")
    EXITED = "exited", _("exited")


class Household(models.Model):
    """A mother and her children. ``mother`` is set when her record joins the household (or later, by a service)."""

    book = models.ForeignKey(Book, on_delete=models.PROTECT, related_name="households")
    external_id = models.CharField(_("household id"), max_length=64)
    mother = models.ForeignKey(
        "beneficiaries.Beneficiary", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("mother"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")
        ordering = ["book", "external_id"]
        constraints = [
            models.UniqueConstraint(fields=["book", "external_id"], name="beneficiaries_household_unique"),
        ]

    def __str__(self) -> str:
        return self.external_id


class Beneficiary(models.Model):
    book = models.ForeignKey(Book, on_delete=models.PROTECT, related_name="beneficiaries")
    external_id = models.CharField(_("external id"), max_length=64)
    name = models.CharField(_("name"), max_length=100)
    id_number = models.CharField(_("resident identity number"), max_length=18)
    birth_date = models.DateField(_("birth date"))
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices)
    household = models.ForeignKey(
        Household, null=True, blank=True, on_delete=models.PROTECT, related_name="members",
        verbose_name=_("household"),
    )
    guardian = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="wards", verbose_name=_("guardian")
    )
    district = models.CharField(_("district"), max_length=100, blank=True, default="")
    community = models.CharField(_("community"), max_length=200, blank=True, default="")
    phone = models.CharField(_("phone"), max_length=20, blank=True, default="")
    consent_date = models.DateField(_("consent recorded on"), null=True, blank=True)
    consent_given_by = models.CharField(
        _("consent given by"), max_length=100, blank=True, default="",
        help_text=_("the beneficiary, or for a child the guardian"),
    )
    status = models.CharField(
        _("status"), max_length=8, choices=BeneficiaryStatus.choices, default=BeneficiaryStatus.ACTIVE
    )
    exited_on = models.DateField(_("exited on"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("beneficiary")
        verbose_name_plural = _("beneficiaries")
        ordering = ["book", "external_id"]
        permissions = [
            ("view_pii", _("Can see identity numbers and phone numbers of beneficiaries")),
            ("register_beneficiaries", _("Can register, change and exit beneficiaries and households")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["book", "external_id"], name="beneficiaries_beneficiary_ext_unique"),
            models.UniqueConstraint(fields=["book", "id_number"], name="beneficiaries_beneficiary_id_unique"),
            models.CheckConstraint(condition=Q(gender__in=["F", "M"]), name="beneficiaries_beneficiary_gender"),
            models.CheckConstraint(
                condition=Q(status__in=["active", "exited"]), name="beneficiaries_beneficiary_status"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.external_id} {self.name}"

    def age_on(self, day) -> int:
        years = day.year - self.birth_date.year
        if (day.month, day.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years


class HistoryAction(models.TextChoices):
    CREATED = "created", _("created")
    UPDATED = "updated", _("updated")
    EXITED = "exited", _("exited")


class BeneficiaryHistory(models.Model):
    """Append-only: one row per change. ``changes`` maps a field to [old, new]; PII is stored masked."""

    beneficiary = models.ForeignKey(Beneficiary, on_delete=models.PROTECT, related_name="history")
    action = models.CharField(_("action"), max_length=8, choices=HistoryAction.choices)
    changes = models.JSONField(_("changes"), default=dict)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField(_("changed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("beneficiary history")
        verbose_name_plural = _("beneficiary history")
        ordering = ["beneficiary", "pk"]


class PiiAccessLog(models.Model):
    """Append-only: an unmasked view of a beneficiary's identity number or phone."""

    beneficiary = models.ForeignKey(Beneficiary, on_delete=models.PROTECT, related_name="pii_views")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    viewed_at = models.DateTimeField(_("viewed at"), auto_now_add=True)
    fields = models.CharField(_("fields"), max_length=100)
    purpose = models.CharField(_("purpose"), max_length=200, blank=True, default="")

    class Meta:
        verbose_name = _("PII access log")
        verbose_name_plural = _("PII access log")
        ordering = ["-viewed_at", "-pk"]
        indexes = [models.Index(fields=["beneficiary", "viewed_at"], name="beneficiaries_pii_log_idx")]
