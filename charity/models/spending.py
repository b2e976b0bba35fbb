"""A trust's spending rule (charity.spending): which preset applies, its base, floor and cap, and what the base
leaves out. Changed only through ``charity.services.spending_policy_set`` (an administrator's act)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .. import spending
from .trust import Trust


class SpendingPolicy(models.Model):
    PRESET_CHOICES = [(code, f"{p.name} {p.name_en}") for code, p in spending.PRESETS.items()]
    BASE_CHOICES = [(code, f"{zh} {en}") for code, (zh, en) in spending.BASES.items()]

    trust = models.OneToOneField(Trust, on_delete=models.CASCADE, related_name="spending_policy")
    preset = models.CharField(_("preset"), max_length=32, choices=PRESET_CHOICES)
    base = models.CharField(_("base of the floor"), max_length=32, choices=BASE_CHOICES)
    floor = models.DecimalField(_("charitable-spending floor (ratio)"), max_digits=5, decimal_places=4, null=True,
                                blank=True, help_text=_("0.70 for 70%; empty for the tiered preset"))
    cap = models.DecimalField(_("management-cost cap (ratio)"), max_digits=5, decimal_places=4, null=True,
                              blank=True, help_text=_("0.10 for 10%; empty for the tiered preset"))
    count_endowment_principal = models.BooleanField(_("endowment principal counts in the base"), default=False)
    count_in_kind = models.BooleanField(_("in-kind gifts count in the base"), default=False)
    management_exempt_below = models.DecimalField(
        _("management expenses below this (CNY) are not held to the cap"), max_digits=14, decimal_places=2,
        null=True, blank=True)
    deed_reference = models.CharField(_("deed reference"), max_length=500, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")

    class Meta:
        verbose_name = _("spending policy")
        verbose_name_plural = _("spending policies")
        constraints = [
            models.CheckConstraint(condition=models.Q(floor__isnull=True) | models.Q(floor__gte=0, floor__lte=1),
                                   name="charity_spendingpolicy_floor_ratio"),
            models.CheckConstraint(condition=models.Q(cap__isnull=True) | models.Q(cap__gte=0, cap__lte=1),
                                   name="charity_spendingpolicy_cap_ratio"),
        ]

    def __str__(self) -> str:
        return f"{self.trust.code} · {self.preset}"

    @property
    def definition(self) -> spending.Preset:
        return spending.PRESETS[self.preset]

    def state(self) -> str:
        """Everything a report prints from the policy, as one string (the report cache's key)."""
        return "|".join(str(v) for v in (self.preset, self.base, self.floor, self.cap, self.count_endowment_principal,
                                         self.count_in_kind, self.management_exempt_below, self.deed_reference))
