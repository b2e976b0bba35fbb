"""What the trust owes and what it holds in cash: payments of expenses recorded when invoiced (应付账款 2202 /
其他应付款 2209), and counts of the cash box (现金盘点表, 1001 库存现金).

A payment carries ``paid_before`` (what had been paid on its expense before it) and ``owed`` (the expense's
amount), so that the database itself refuses a payment beyond what is owed (``paid_before + amount <= owed``)
and two payments computed from the same ``paid_before`` (a race past the service's row lock) cannot both be
stored (unique per expense). The service fills both from the locked expense; the database holds the rule again.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from ledger.models import JournalEntry

from .base import AppendOnly
from .expenses import Expense
from .trust import Trust


class PaymentAccount(models.TextChoices):
    BANK = "100201", _("100201 bank (CNY account)")
    CASH = "1001", _("1001 cash")


class ExpensePayment(AppendOnly):
    """A payment of (part of) an expense recorded as payable: Dr the payable, Cr the bank or cash, in the fund
    the expense was charged to."""

    trust = models.ForeignKey(Trust, on_delete=models.PROTECT, related_name="expense_payments",
                              verbose_name=_("trust"))
    external_id = models.CharField(_("external id"), max_length=64)
    expense = models.ForeignKey(Expense, on_delete=models.PROTECT, related_name="payments", verbose_name=_("expense"))
    date = models.DateField(_("date"))
    amount = models.DecimalField(_("amount (CNY)"), max_digits=14, decimal_places=2)
    paid_before = models.DecimalField(_("paid before"), max_digits=14, decimal_places=2)
    owed = models.DecimalField(_("owed"), max_digits=14, decimal_places=2)
    account = models.CharField(_("paid from"), max_length=8, choices=PaymentAccount.choices,
                               default=PaymentAccount.BANK)
    description = models.CharField(_("description"), max_length=500, blank=True)
    entry = models.OneToOneField(JournalEntry, on_delete=models.PROTECT, related_name="expense_payment",
                                 verbose_name=_("journal entry"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("recorded by"))
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("payment of an expense")
        verbose_name_plural = _("payments of expenses")
        ordering = ["trust", "-date", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["trust", "external_id"], name="charity_expensepayment_external_id"),
            models.UniqueConstraint(fields=["expense", "paid_before"], name="charity_expensepayment_chain"),
            models.CheckConstraint(condition=Q(amount__gt=0) & Q(paid_before__gte=0),
                                   name="charity_expensepayment_amount_positive"),
            models.CheckConstraint(condition=Q(paid_before__lte=F("owed") - F("amount")),
                                   name="charity_expensepayment_not_beyond_owed"),
        ]

    def __str__(self) -> str:
        return f"{self.external_id} {self.amount}"


class CashCountStatus(models.TextChoices):
    AGREED = "agreed", _("agrees with the books")
    DRAFT = "draft", _("difference waiting for approval")
    POSTED = "posted", _("difference approved and posted")
    REJECTED = "rejected", _("difference rejected")


class CashCount(models.Model):
    """A count of the cash box (现金盘点表) against the books' 1001 库存现金 on ``date``. A difference is posted
    only when another user (an approver) approves it: a shortage to 管理费用, an overage to 4901 其他收入."""

    trust = models.ForeignKey(Trust, on_delete=models.PROTECT, related_name="cash_counts", verbose_name=_("trust"))
    date = models.DateField(_("date"))
    counted = models.DecimalField(_("counted (CNY)"), max_digits=14, decimal_places=2)
    book_balance = models.DecimalField(_("book balance (CNY)"), max_digits=14, decimal_places=2)
    denominations = models.JSONField(_("denominations"), default=dict, blank=True)
    counted_by = models.CharField(_("counted by"), max_length=100)
    witness = models.CharField(_("witness"), max_length=100, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=CashCountStatus.choices)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("recorded by"))
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("approved or rejected by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    entry = models.OneToOneField(JournalEntry, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="cash_count", verbose_name=_("journal entry"))

    class Meta:
        verbose_name = _("cash count")
        verbose_name_plural = _("cash counts")
        ordering = ["trust", "-date", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(counted__gte=0), name="charity_cashcount_counted_not_negative"),
            models.CheckConstraint(condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("recorded_by")),
                                   name="charity_cashcount_four_eyes"),
            models.CheckConstraint(condition=~Q(status="posted") | Q(entry__isnull=False),
                                   name="charity_cashcount_posted_has_entry"),
            models.CheckConstraint(condition=~Q(status="agreed") | Q(counted=F("book_balance")),
                                   name="charity_cashcount_agreed_means_equal"),
        ]

    @property
    def difference(self):
        """Counted minus the books: below zero a shortage (现金短缺), above zero an overage (现金溢余)."""
        return self.counted - self.book_balance

    def __str__(self) -> str:
        return f"{self.date} {self.counted} ({self.status})"
