from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from djmoney.models.fields import MoneyField

from ledger.models import Fund, JournalEntry

from .base import AppendOnly
from .donors import Donor
from .trust import Trust


class Channel(models.TextChoices):
    BANK = "bank", _("bank transfer")
    WECHAT = "wechat", _("WeChat Pay")
    ALIPAY = "alipay", _("Alipay")
    CASH = "cash", _("cash")
    IN_KIND = "in_kind", _("in kind (goods)")


class Donation(AppendOnly):
    """One gift, posted to the ledger when recorded. Append-only: a correction is a refund."""

    trust = models.ForeignKey(Trust, on_delete=models.PROTECT, related_name="donations", verbose_name=_("trust"))
    external_id = models.CharField(_("external id"), max_length=64)
    donor = models.ForeignKey(
        Donor, null=True, blank=True, on_delete=models.PROTECT, related_name="donations", verbose_name=_("donor"),
        help_text=_("blank: an anonymous walk-in gift"),
    )
    date = models.DateField(_("date"))
    amount = MoneyField(_("amount"), max_digits=14, decimal_places=2, default_currency="CNY")
    fx_rate = models.DecimalField(
        _("exchange rate (CNY per unit)"), max_digits=18, decimal_places=8, null=True, blank=True
    )
    amount_cny = models.DecimalField(_("amount in CNY"), max_digits=14, decimal_places=2)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    fund = models.ForeignKey(Fund, on_delete=models.PROTECT, related_name="+", verbose_name=_("fund"))
    item = models.CharField(_("item (goods)"), max_length=64, blank=True, default="")
    quantity = models.PositiveIntegerField(_("quantity"), null=True, blank=True)
    description = models.TextField(_("description"), blank=True)
    # the payment platform's order id (商户订单号), so that a platform statement's line matches its gift
    order_id = models.CharField(_("order id"), max_length=100, blank=True, default="")
    entry = models.OneToOneField(
        JournalEntry, on_delete=models.PROTECT, related_name="donation", verbose_name=_("journal entry")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("donation")
        verbose_name_plural = _("donations")
        ordering = ["trust", "-date", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["trust", "external_id"], name="charity_donation_external_id_unique"),
            models.UniqueConstraint(fields=["trust", "channel", "order_id"], condition=~Q(order_id=""),
                                    name="charity_donation_order_id_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="charity_donation_amount_positive"),
            models.CheckConstraint(condition=Q(amount_cny__gt=0), name="charity_donation_amount_cny_positive"),
            models.CheckConstraint(
                condition=(
                    Q(channel="in_kind", quantity__gt=0) & ~Q(item="")
                    | (~Q(channel="in_kind") & Q(quantity__isnull=True, item=""))
                ),
                name="charity_donation_goods_only_in_kind",
            ),
        ]
        indexes = [models.Index(fields=["trust", "date"], name="charity_donation_trust_date")]

    def __str__(self) -> str:
        return f"{self.external_id} {self.amount}"

    @property
    def in_kind(self) -> bool:
        return self.channel == Channel.IN_KIND


class Refund(AppendOnly):
    """Money (or goods) given back from a donation: only the part not yet allocated to spending."""

    trust = models.ForeignKey(Trust, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("trust"))
    external_id = models.CharField(_("external id"), max_length=64)
    donation = models.ForeignKey(
        Donation, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("donation")
    )
    date = models.DateField(_("date"))
    amount = MoneyField(_("amount"), max_digits=14, decimal_places=2, default_currency="CNY")
    amount_cny = models.DecimalField(_("amount in CNY"), max_digits=14, decimal_places=2)
    reason = models.TextField(_("reason"))
    entry = models.OneToOneField(
        JournalEntry, on_delete=models.PROTECT, related_name="refund", verbose_name=_("journal entry")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["trust", "-date", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["trust", "external_id"], name="charity_refund_external_id_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="charity_refund_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.external_id} {self.amount}"
