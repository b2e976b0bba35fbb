"""应付款项 and 现金盘点: what the trust owes (expenses recorded as payable, with what is still outstanding and a
form that pays one) and the cash counts of the cash box (a form that records one, and the counts with the book
balance, the amount counted and the difference).

Everything goes through the services (``expense_payment_record``, ``cash_count_record``); a refusal is shown on
the field it names. The difference of a count is approved or rejected in the approvals inbox, by another user.
"""

from __future__ import annotations

import secrets

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from beneficiaries.errors import AidError
from charity import services
from charity.errors import CharityError
from charity.models import CashCount, PaymentAccount
from charity.roles import READ, RECORD
from charity.services.payables import DENOMINATIONS, cash_book_balance, payables_open
from ledger.errors import LedgerError

from .common import trust_for

REFUSALS = (CharityError, LedgerError, AidError)
FIELD_ALIASES = {"account_code": "account", "currency": "amount"}


class RefusalForm(forms.Form):
    def refusal(self, exc) -> None:
        field = FIELD_ALIASES.get(exc.field or "", exc.field)
        self.add_error(field if field in self.fields else None, exc.message)


class PaymentForm(RefusalForm):
    expense = forms.CharField(label=gettext_lazy("Expense (reference)"), max_length=64)
    external_id = forms.CharField(label=gettext_lazy("Payment reference"), max_length=64)
    date = forms.DateField(label=gettext_lazy("Date"))
    amount = forms.DecimalField(label=gettext_lazy("Amount (CNY)"), max_digits=14, decimal_places=2)
    account = forms.ChoiceField(label=gettext_lazy("Paid from"), choices=PaymentAccount.choices)
    description = forms.CharField(label=gettext_lazy("Description"), max_length=500, required=False)


@login_required
def payables(request):
    trust = trust_for(request, READ if request.method != "POST" else RECORD)
    day = timezone.localdate()
    form = None
    status = 200
    can_record = request.user.has_perm(RECORD, trust)
    if request.method == "POST":
        form = PaymentForm(request.POST)
        if form.is_valid():
            values = form.cleaned_data
            try:
                payment, created = services.expense_payment_record(
                    trust=trust, user=request.user, external_id=values["external_id"], expense=values["expense"],
                    date=values["date"], amount=values["amount"], account_code=values["account"],
                    description=values.get("description", ""))
            except REFUSALS as exc:
                form.refusal(exc)
            else:
                if created:
                    messages.success(request, _("Payment %(id)s of %(expense)s recorded (entry #%(seq)s).") % {
                        "id": payment.external_id, "expense": payment.expense.external_id,
                        "seq": payment.entry.sequence})
                else:
                    messages.info(request, _("Payment %(id)s was already recorded; nothing was changed.")
                                  % {"id": payment.external_id})
                return redirect(f"{reverse('office-payables')}?trust={trust.code}")
        status = 400
    rows = payables_open(trust, as_of=day)
    if form is None and can_record:
        form = PaymentForm(initial={"date": day, "account": PaymentAccount.BANK,
                                    "external_id": f"PAY-{day:%Y%m%d}-{secrets.token_hex(3).upper()}"})
    return render(request, "charity/office_payables.html", {
        "trust": trust, "today": day, "rows": rows, "form": form if can_record else None,
        "total": sum((r["outstanding"] for r in rows), 0),
    }, status=status)


class CashCountForm(RefusalForm):
    date = forms.DateField(label=gettext_lazy("Date of the count"))
    counted = forms.DecimalField(label=gettext_lazy("Counted (CNY)"), max_digits=14, decimal_places=2, min_value=0)
    counted_by = forms.CharField(label=gettext_lazy("Counted by"), max_length=100)
    witness = forms.CharField(label=gettext_lazy("Witness"), max_length=100, required=False)
    note = forms.CharField(label=gettext_lazy("Note"), max_length=500, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in DENOMINATIONS:
            self.fields[f"n_{name}"] = forms.IntegerField(
                label=_("× %(value)s yuan") % {"value": name}, required=False, min_value=0, max_value=10_000_000)

    def denominations(self) -> dict:
        return {name: self.cleaned_data[f"n_{name}"] for name in DENOMINATIONS if self.cleaned_data.get(f"n_{name}")}


@login_required
def cash_count(request):
    trust = trust_for(request, READ if request.method != "POST" else RECORD)
    day = timezone.localdate()
    can_record = request.user.has_perm(RECORD, trust)
    form, status = None, 200
    if request.method == "POST":
        form = CashCountForm(request.POST)
        if form.is_valid():
            values = form.cleaned_data
            try:
                done = services.cash_count_record(
                    trust=trust, user=request.user, date=values["date"], counted=values["counted"],
                    counted_by=values["counted_by"], witness=values.get("witness", ""), note=values.get("note", ""),
                    denominations=form.denominations())
            except REFUSALS as exc:
                form.refusal(exc)
            else:
                if done.status == "agreed":
                    messages.success(request, _("The count agrees with the books (%(amount)s CNY).")
                                     % {"amount": done.counted})
                else:
                    messages.warning(request, _(
                        "The count differs from the books by %(diff)s CNY: the difference waits for another user's "
                        "approval (Approvals).") % {"diff": done.difference})
                return redirect(f"{reverse('office-cash-count')}?trust={trust.code}")
        status = 400
    if form is None and can_record:
        form = CashCountForm(initial={"date": day, "counted_by": request.user.get_full_name()
                                      or request.user.get_username()})
    counts = CashCount.objects.filter(trust=trust).select_related("recorded_by", "decided_by", "entry")[:50]
    return render(request, "charity/office_cash_count.html", {
        "trust": trust, "form": form if can_record else None, "counts": counts,
        "book_today": cash_book_balance(trust, day), "today": day,
    }, status=status)
