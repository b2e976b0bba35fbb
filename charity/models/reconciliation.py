"""Statements of the trust's money accounts and their reconciliation with the books (issue 20).

A ``StatementLine`` is one line of a bank or payment-platform statement as imported (``import_statement``):
its amount is signed from the trust's side (money in is positive) in minor units of the account's currency
(fen for a CNY account), with the balance the statement printed after it when it prints one. A line is known by
(account, date, amount, reference): importing it again writes nothing.

A ``StatementMatch`` pairs lines with ledger legs of the same account whose amounts add up to the same total:
one line with one leg (automatic matching), or one line with several legs and the reverse (by hand). A line
and a leg each belong to at most one match.

A ``ReconciledMonth`` records that the 银行存款余额调节表 of the account agreed at the end of that month; a match
touching a reconciled month cannot be undone. ``ReconciliationSetting`` holds an account's matching window.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ledger.models import Account, Leg

from .trust import Trust

DEFAULT_MATCH_DAYS = 3


class ReconciliationSetting(models.Model):
    account = models.OneToOneField(Account, on_delete=models.PROTECT, related_name="+", verbose_name=_("account"))
    match_days = models.PositiveSmallIntegerField(_("matching window (days)"), default=DEFAULT_MATCH_DAYS)

    class Meta:
        verbose_name = _("reconciliation setting")
        verbose_name_plural = _("reconciliation settings")


class StatementMatch(models.Model):
    trust = models.ForeignKey(Trust, on_delete=models.PROTECT, related_name="+", verbose_name=_("trust"))
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+", verbose_name=_("account"))
    automatic = models.BooleanField(_("automatic"), default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("statement match")
        verbose_name_plural = _("statement matches")


class StatementLine(models.Model):
    trust = models.ForeignKey(Trust, on_delete=models.PROTECT, related_name="statement_lines",
                              verbose_name=_("trust"))
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="statement_lines",
                                verbose_name=_("account"))
    date = models.DateField(_("date"))
    # minor units of the account's currency, signed: money into the account is positive
    amount = models.BigIntegerField(_("amount"))
    balance = models.BigIntegerField(_("balance as printed"), null=True, blank=True)
    counterparty = models.CharField(_("counterparty"), max_length=200, blank=True, default="")
    reference = models.CharField(_("reference"), max_length=100, blank=True, default="")
    order_id = models.CharField(_("order id"), max_length=100, blank=True, default="")
    memo = models.CharField(_("memo"), max_length=200, blank=True, default="")
    file_sha256 = models.CharField(max_length=64)
    line_number = models.PositiveIntegerField()
    format = models.CharField(max_length=16)
    match = models.ForeignKey(StatementMatch, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="lines")
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("statement line")
        verbose_name_plural = _("statement lines")
        ordering = ["account", "date", "pk"]
        constraints = [models.UniqueConstraint(fields=["account", "date", "amount", "reference"],
                                               name="charity_statementline_known_once")]
        indexes = [models.Index(fields=["account", "date"], name="charity_stmtline_account_date")]


class MatchedLeg(models.Model):
    match = models.ForeignKey(StatementMatch, on_delete=models.CASCADE, related_name="legs")
    leg = models.OneToOneField(Leg, on_delete=models.PROTECT, related_name="+")


class ReconciledMonth(models.Model):
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+", verbose_name=_("account"))
    month = models.DateField(_("month"), help_text=_("the first day of the month"))
    book_balance = models.BigIntegerField()
    statement_balance = models.BigIntegerField()
    reconciled_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reconciled_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("reconciled month")
        verbose_name_plural = _("reconciled months")
        constraints = [models.UniqueConstraint(fields=["account", "month"], name="charity_reconciledmonth_once")]
