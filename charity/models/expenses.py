from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from djmoney.models.fields import MoneyField

from beneficiaries.models import Program, StockItem
from ledger.models import Fund, JournalEntry

from .base import AppendOnly
from .trust import Trust


class ExpenseKind(models.TextChoices):
    ADMIN = "admin", _("management (administration)")
    BANK_FEE = "bank_fee", _("bank fees")
    FUNDRAISING = "fundraising", _("fundraising")
    INVENTORY_PURCHASE = "inventory_purchase", _("inventory purchase")
    PROGRAM_COST = "program_cost", _("program delivery costs")
    TRUSTEE_FEE = "trustee_fee", _("trustee's fee")
    CUSTODIAN_FEE = "custodian_fee", _("custodian's fee")
    SUPERVISOR_FEE = "supervisor_fee", _("supervisor's fee")
    MANAGEMENT_FEE = "management_fee", _("management fee charged to a restricted fund")


class PayableAccount(models.TextChoices):
    """Where an expense recorded when invoiced is owed until paid (``ExpensePayment``)."""

    ACCOUNTS_PAYABLE = "2202", _("2202 accounts payable (a supplier's invoice)")
    OTHER_PAYABLES = "2209", _("2209 other payables")


class Expense(AppendOnly):
    """Money paid out by a fund, posted when recorded. Buying stock is not spending: cash becomes inventory.

    Paid at once from the bank unless ``payable`` names the liability (2202/2209) it is owed on: then it is paid
    later by one or several ``ExpensePayment`` rows, due on ``due_date`` (its own date when blank)."""

    trust = models.ForeignKey(Trust, on_delete=models.PROTECT, related_name="expenses", verbose_name=_("trust"))
    external_id = models.CharField(_("external id"), max_length=64)
    date = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=24, choices=ExpenseKind.choices)
    fund = models.ForeignKey(Fund, on_delete=models.PROTECT, related_name="+", verbose_name=_("fund"))
    amount = MoneyField(_("amount"), max_digits=14, decimal_places=2, default_currency="CNY")
    item = models.ForeignKey(
        StockItem, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("item")
    )
    quantity = models.PositiveIntegerField(_("quantity"), null=True, blank=True)
    # Program delivery costs only: the program whose expense account (业务活动成本) bears the cost.
    program = models.ForeignKey(
        Program, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("program")
    )
    unit_cost = models.DecimalField(_("unit cost"), max_digits=14, decimal_places=2, null=True, blank=True)
    payee = models.CharField(_("payee"), max_length=200, blank=True)
    invoice_number = models.CharField(_("invoice number"), max_length=64, blank=True, default="")
    description = models.TextField(_("description"), blank=True)
    payable = models.CharField(_("payable on"), max_length=4, choices=PayableAccount.choices, blank=True,
                               default="")
    due_date = models.DateField(_("due date"), null=True, blank=True)
    entry = models.OneToOneField(
        JournalEntry, on_delete=models.PROTECT, related_name="expense", verbose_name=_("journal entry")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("expense")
        verbose_name_plural = _("expenses")
        ordering = ["trust", "-date", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["trust", "external_id"], name="charity_expense_external_id_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="charity_expense_amount_positive"),
            models.CheckConstraint(
                condition=(
                    Q(kind="inventory_purchase", item__isnull=False, quantity__gt=0)
                    | (~Q(kind="inventory_purchase") & Q(item__isnull=True, quantity__isnull=True))
                ),
                name="charity_expense_goods_only_for_purchases",
            ),
            models.CheckConstraint(
                condition=(Q(kind="program_cost", program__isnull=False)
                           | (~Q(kind="program_cost") & Q(program__isnull=True))),
                name="charity_expense_program_only_for_program_costs",
            ),
            models.CheckConstraint(condition=Q(payable__in=["", "2202", "2209"]), name="charity_expense_payable_code"),
            models.CheckConstraint(
                condition=Q(due_date__isnull=True) | (~Q(payable="") & Q(due_date__gte=models.F("date"))),
                name="charity_expense_due_date_only_for_payables",
            ),
        ]
        indexes = [models.Index(fields=["trust", "date"], name="charity_expense_trust_date")]

    @property
    def due(self):
        """When a payable falls due: its ``due_date``, else the day it was recorded."""
        return self.due_date or self.date

    def __str__(self) -> str:
        return f"{self.external_id} {self.amount}"


class FundTerms(models.Model):
    """What a restricted fund's donor agreement allows beyond its purpose: a management fee (管理费) of at most
    ``management_fee_rate`` percent of what the fund received in the year to date, and at most
    ``management_fee_cap`` CNY in the year (no cap when blank). Without terms no management fee is charged to
    it. Set through ``fund_terms_set`` only."""

    fund = models.OneToOneField(Fund, on_delete=models.PROTECT, related_name="terms", verbose_name=_("fund"))
    management_fee_rate = models.DecimalField(_("management fee rate (%)"), max_digits=5, decimal_places=2)
    management_fee_cap = models.DecimalField(_("management fee cap per year (CNY)"), max_digits=14,
                                             decimal_places=2, null=True, blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("set by"))
    updated_at = models.DateTimeField(_("set at"), auto_now=True)

    class Meta:
        verbose_name = _("fund terms")
        verbose_name_plural = _("fund terms")
        ordering = ["fund"]
        constraints = [
            models.CheckConstraint(condition=Q(management_fee_rate__gte=0) & Q(management_fee_rate__lte=100),
                                   name="charity_fundterms_rate_percent"),
            models.CheckConstraint(condition=Q(management_fee_cap__isnull=True) | Q(management_fee_cap__gte=0),
                                   name="charity_fundterms_cap_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.fund.code}: {self.management_fee_rate}%"


class ExpenseRequestStatus(models.TextChoices):
    DRAFT = "draft", _("waiting for approval")
    POSTED = "posted", _("approved and recorded")
    REJECTED = "rejected", _("rejected")


class ExpenseRequest(models.Model):
    """An expense above the trust's threshold, as drafted: recorded (an ``Expense``) only when another user approves.

    ``data`` holds what ``expense_record`` takes, by code: kind, date, fund, amount, item, quantity, unit_cost,
    payee, description, invoice_number, program."""

    trust = models.ForeignKey(Trust, on_delete=models.PROTECT, related_name="expense_requests")
    external_id = models.CharField(_("external id"), max_length=64)
    data = models.JSONField(_("expense"), default=dict)
    status = models.CharField(_("status"), max_length=16, choices=ExpenseRequestStatus.choices,
                              default=ExpenseRequestStatus.DRAFT)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("drafted by"))
    requested_at = models.DateTimeField(_("drafted at"), auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("approved or rejected by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    expense = models.OneToOneField(Expense, null=True, blank=True, on_delete=models.PROTECT, related_name="request")

    class Meta:
        verbose_name = _("expense awaiting approval")
        verbose_name_plural = _("expenses awaiting approval")
        ordering = ["trust", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["trust", "external_id"], name="charity_expenserequest_unique"),
            models.CheckConstraint(condition=Q(decided_by__isnull=True) | ~Q(decided_by=models.F("requested_by")),
                                   name="charity_expenserequest_four_eyes"),
            models.CheckConstraint(condition=~Q(status="posted") | Q(expense__isnull=False),
                                   name="charity_expenserequest_posted_has_expense"),
        ]

    def __str__(self) -> str:
        return f"{self.external_id} ({self.status})"
