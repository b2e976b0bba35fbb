"""Donation receipts. Numbers run without gaps per trust and year (the year of the gift's date): a counter row
per (trust, year) is locked (its UPDATE; ledger.locking) to take the next number, and a unique constraint on
(trust, year, number) holds even if the lock were missing. A receipt copies everything it shows at issue time
(donor name and address, amounts, fund, officer), so later edits never change an issued receipt. A void keeps
the number, with the reason, who and when."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from djmoney.models.fields import MoneyField

from .base import AppendOnly
from .donations import Donation
from .trust import Trust


class ReceiptCounter(models.Model):
    trust = models.ForeignKey(Trust, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["trust", "year"], name="charity_receipt_counter_unique")]


class Receipt(AppendOnly):
    trust = models.ForeignKey(Trust, on_delete=models.PROTECT, related_name="receipts", verbose_name=_("trust"))
    year = models.PositiveSmallIntegerField(_("year"))
    number = models.PositiveIntegerField(_("number"))
    donation = models.ForeignKey(
        Donation, on_delete=models.PROTECT, related_name="receipts", verbose_name=_("donation")
    )
    date = models.DateField(_("date of the gift"))
    issued_at = models.DateTimeField(_("issued at"))
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("issued by")
    )
    officer_name = models.CharField(_("officer"), max_length=200)
    donor_name = models.CharField(_("donor (as named at issue)"), max_length=200, blank=True)
    donor_address = models.TextField(_("donor address (at issue)"), blank=True)
    donor_anonymous = models.BooleanField(_("anonymous donor"), default=False)
    amount = MoneyField(_("amount"), max_digits=14, decimal_places=2, default_currency="CNY")
    fx_rate = models.DecimalField(_("exchange rate"), max_digits=18, decimal_places=8, null=True, blank=True)
    amount_cny = models.DecimalField(_("amount in CNY"), max_digits=14, decimal_places=2)
    channel = models.CharField(_("channel"), max_length=16)
    item = models.CharField(_("item (goods)"), max_length=64, blank=True, default="")
    quantity = models.PositiveIntegerField(_("quantity"), null=True, blank=True)
    fund_code = models.CharField(_("fund code"), max_length=32)
    fund_name = models.CharField(_("fund"), max_length=200)
    trust_name = models.CharField(_("trust name"), max_length=200)
    trust_name_en = models.CharField(_("trust name (English)"), max_length=200, blank=True)
    trustee_name = models.CharField(_("trustee (at issue)"), max_length=200, blank=True, default="")
    co_trustee_name = models.CharField(_("co-trustee issuing official receipts (at issue)"), max_length=200,
                                       blank=True, default="")
    donor_kind = models.CharField(_("donor kind (at issue)"), max_length=16, blank=True, default="")
    donor_id_code = models.CharField(_("donor identity or credit code (at issue)"), max_length=18, blank=True,
                                     default="")
    note = models.CharField(_("note"), max_length=300, blank=True)
    voided_at = models.DateTimeField(_("voided at"), null=True, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("voided by"),
    )
    void_reason = models.TextField(_("reason for the void"), blank=True)

    class Meta:
        verbose_name = _("receipt")
        verbose_name_plural = _("receipts")
        ordering = ["trust", "year", "number"]
        constraints = [
            models.UniqueConstraint(fields=["trust", "year", "number"], name="charity_receipt_number_unique"),
            models.UniqueConstraint(
                fields=["donation"], condition=Q(voided_at__isnull=True), name="charity_receipt_one_valid_per_donation"
            ),
            models.CheckConstraint(condition=Q(number__gt=0), name="charity_receipt_number_positive"),
            models.CheckConstraint(
                condition=Q(voided_at__isnull=True, void_reason="") | (Q(voided_at__isnull=False) & ~Q(void_reason="")),
                name="charity_receipt_void_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return f"{self.year}-{self.number:06d}"

    @property
    def voided(self) -> bool:
        return self.voided_at is not None


class OfficialReceipt(AppendOnly):
    """The official donation receipt (公益事业捐赠票据) of a gift, issued by the charitable co-trustee through the
    fiscal e-receipt system and recorded here by an officer: 票据代码 (8 digits), 票据号码 (10 digits), 校验码
    (6 characters), 开票日期 and the issuer. One per gift; a (code, number) pair is used once in a trust."""

    trust = models.ForeignKey(Trust, on_delete=models.PROTECT, related_name="official_receipts",
                              verbose_name=_("trust"))
    donation = models.OneToOneField(Donation, on_delete=models.PROTECT, related_name="official_receipt",
                                    verbose_name=_("donation"))
    receipt_code = models.CharField(_("receipt code (票据代码)"), max_length=8)
    receipt_number = models.CharField(_("receipt number (票据号码)"), max_length=10)
    check_code = models.CharField(_("check code (校验码)"), max_length=6)
    issued_on = models.DateField(_("date of issue (开票日期)"))
    issuer = models.CharField(_("issuer"), max_length=200)
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("recorded by"))

    class Meta:
        verbose_name = _("official donation receipt")
        verbose_name_plural = _("official donation receipts")
        ordering = ["trust", "receipt_code", "receipt_number"]
        constraints = [
            models.UniqueConstraint(fields=["trust", "receipt_code", "receipt_number"],
                                    name="charity_official_receipt_number_unique"),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return f"{self.receipt_code}-{self.receipt_number}"
