from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ledger.models import Account, Book


class ProgramKind(models.TextChoices):
    IN_KIND = "in_kind", _("goods handed out from stock")
    CASH = "cash", _("cash paid")


class Program(models.Model):
    """What aid the trust gives. A restricted fund serves the program whose code is the fund's purpose."""

    book = models.ForeignKey(Book, on_delete=models.PROTECT, related_name="programs")
    code = models.CharField(_("code"), max_length=32)
    name = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=ProgramKind.choices)
    expense_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    # Cash programs: the asset account the money leaves from (the bank, for the default programs).
    pay_account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("paid from")
    )
    stock_item = models.ForeignKey(
        "beneficiaries.StockItem", null=True, blank=True, on_delete=models.PROTECT, related_name="programs"
    )
    limit_amount_per_year = models.DecimalField(
        _("limit per beneficiary per year (CNY)"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    limit_count_per_year = models.PositiveIntegerField(_("limit of times per beneficiary per year"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("program")
        verbose_name_plural = _("programs")
        ordering = ["book", "code"]
        constraints = [
            models.UniqueConstraint(fields=["book", "code"], name="beneficiaries_program_code_unique"),
            models.CheckConstraint(
                condition=Q(limit_amount_per_year__isnull=True) | Q(limit_amount_per_year__gt=Decimal(0)),
                name="beneficiaries_program_limit_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"
