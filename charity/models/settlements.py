"""A payment platform's payout to the bank (结算): one entry moving the gross of the gifts it settles out of the
platform's clearing account (100901 WeChat Pay, 100902 Alipay) into the bank (100201), less the platform's fee
(540101 银行手续费, borne by the general fund). ``SettledDonation`` links each gift to the payout that settled
it; its one-to-one key holds a gift to one settlement at most."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ledger.models import JournalEntry

from .base import AppendOnly
from .donations import Donation
from .trust import Trust


class SettlementChannel(models.TextChoices):
    WECHAT = "wechat", _("WeChat Pay")
    ALIPAY = "alipay", _("Alipay")


class Settlement(AppendOnly):
    trust = models.ForeignKey(Trust, on_delete=models.PROTECT, related_name="settlements", verbose_name=_("trust"))
    channel = models.CharField(_("channel"), max_length=16, choices=SettlementChannel.choices)
    date = models.DateField(_("date"))
    reference = models.CharField(_("reference"), max_length=64)
    gross = models.DecimalField(_("gross"), max_digits=14, decimal_places=2)
    fee = models.DecimalField(_("fee"), max_digits=14, decimal_places=2)
    net = models.DecimalField(_("net"), max_digits=14, decimal_places=2)
    entry = models.OneToOneField(JournalEntry, on_delete=models.PROTECT, related_name="settlement",
                                 verbose_name=_("journal entry"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("recorded by"))
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("settlement")
        verbose_name_plural = _("settlements")
        ordering = ["trust", "-date", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["trust", "channel", "reference"], name="charity_settlement_reference"),
            models.CheckConstraint(condition=Q(fee__gte=0) & Q(net__gt=0), name="charity_settlement_fee_net"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.reference} {self.net}"


class SettledDonation(AppendOnly):
    settlement = models.ForeignKey(Settlement, on_delete=models.PROTECT, related_name="donations")
    donation = models.OneToOneField(Donation, on_delete=models.PROTECT, related_name="settled")

    class Meta:
        verbose_name = _("settled donation")
        verbose_name_plural = _("settled donations")
