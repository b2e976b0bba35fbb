"""财务支出: the officer's list of expenses and purchases (filtered, paged, exported as CSV) and the form that
records one, with its voucher scan (原始凭证) attached in the same step.

Everything goes through the services: ``expense_record`` (which refuses above the trust's threshold with
``ApprovalRequired``; the page then drafts the same expense for approval with ``expense_request_draft`` and says
so) and ``attachment_add``. A refusal is shown on the field it names; the page adds no rule of its own.
"""

from __future__ import annotations

import csv
import secrets

import django_filters as filters
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from beneficiaries.errors import AidError
from beneficiaries.models import Program, StockItem
from charity import services
from charity.errors import ApprovalRequired, CharityError
from charity.models import Expense, ExpenseKind, PayableAccount
from charity.roles import READ, RECORD
from ledger.errors import LedgerError
from ledger.models import Fund

from .common import trust_for

REFUSALS = (CharityError, LedgerError, AidError)
PAGE_SIZE = 50
# The service's field names that the form shows under another name.
FIELD_ALIASES = {"file": "voucher", "currency": "amount"}


class ExpenseFilter(filters.FilterSet):
    date_from = filters.DateFilter(field_name="date", lookup_expr="gte", label=gettext_lazy("From"))
    date_to = filters.DateFilter(field_name="date", lookup_expr="lte", label=gettext_lazy("To"))
    kind = filters.ChoiceFilter(choices=ExpenseKind.choices, label=gettext_lazy("Kind"))
    fund = filters.ChoiceFilter(field_name="fund__code", label=gettext_lazy("Fund"))
    payee = filters.CharFilter(lookup_expr="icontains", label=gettext_lazy("Payee"))
    invoice_number = filters.CharFilter(lookup_expr="icontains", label=gettext_lazy("Invoice number"))

    class Meta:
        model = Expense
        fields = ["date_from", "date_to", "kind", "fund", "payee", "invoice_number"]

    def __init__(self, *args, trust, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["fund"].extra["choices"] = [
            (f.code, f"{f.code} {f.name}") for f in Fund.objects.filter(book=trust.book).order_by("code")]


def _safe_cell(value) -> str:
    """A CSV cell a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv(expenses) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="expenses.csv"'
    response.write("\ufeff")  # so that a spreadsheet reads the Chinese as UTF-8
    writer = csv.writer(response)
    writer.writerow(["external_id", "date", "kind", "fund", "amount", "item", "quantity", "payee", "invoice_number",
                     "description", "entry", "attachments", "program", "payable", "due_date"])
    for e in expenses:
        writer.writerow([_safe_cell(v) for v in (
            e.external_id, e.date.isoformat(), e.kind, e.fund.code, e.amount.amount, e.item.code if e.item else "",
            e.quantity or "", e.payee, e.invoice_number, e.description, e.entry.sequence, e.n_attachments,
            e.program.code if e.program else "", e.payable, e.due_date.isoformat() if e.due_date else "")])
    return response


@login_required
def expense_list(request):
    trust = trust_for(request, READ)
    queryset = (Expense.objects.filter(trust=trust).select_related("fund", "item", "program", "entry", "created_by")
                .annotate(n_attachments=Count("attachments")).order_by("-date", "-pk"))
    query = request.GET.copy()
    for key in ("page", "format"):
        query.pop(key, None)
    expense_filter = ExpenseFilter(query, queryset=queryset, trust=trust)
    expenses = expense_filter.qs
    if request.GET.get("format") == "csv":
        return _csv(expenses)
    page = Paginator(expenses, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "charity/office_expenses.html", {
        "trust": trust, "filter": expense_filter, "page": page, "query": query.urlencode(),
        "can_record": request.user.has_perm(RECORD, trust),
    })


class ExpenseForm(forms.Form):
    external_id = forms.CharField(label=gettext_lazy("Reference"), max_length=64)
    date = forms.DateField(label=gettext_lazy("Date"))
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=ExpenseKind.choices)
    fund = forms.ChoiceField(label=gettext_lazy("Fund"))
    amount = forms.DecimalField(label=gettext_lazy("Amount (CNY)"), max_digits=14, decimal_places=2)
    item = forms.ChoiceField(label=gettext_lazy("Stock item (purchases only)"), required=False)
    quantity = forms.IntegerField(label=gettext_lazy("Quantity (purchases only)"), required=False, min_value=1,
                                  max_value=1_000_000)
    unit_cost = forms.DecimalField(label=gettext_lazy("Unit cost (purchases only)"), required=False, max_digits=14,
                                   decimal_places=2)
    program = forms.ChoiceField(label=gettext_lazy("Program (program delivery costs only)"), required=False)
    payee = forms.CharField(label=gettext_lazy("Payee"), max_length=200, required=False)
    invoice_number = forms.CharField(label=gettext_lazy("Invoice number"), max_length=64, required=False)
    payable = forms.ChoiceField(label=gettext_lazy("Paid now, or owed until paid (payable)"), required=False,
                                choices=[("", gettext_lazy("Paid now from the bank"))] + PayableAccount.choices)
    due_date = forms.DateField(label=gettext_lazy("Due date (payables only)"), required=False)
    description = forms.CharField(label=gettext_lazy("Description"), max_length=2000, required=False,
                                  widget=forms.Textarea(attrs={"rows": 3}))
    voucher = forms.FileField(label=gettext_lazy("Voucher scan (原始凭证): PDF, JPEG or PNG"), required=False,
                              widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png"}))

    def __init__(self, trust, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.trust = trust
        self.fields["fund"].choices = [(f.code, f"{f.code} {f.name}")
                                       for f in Fund.objects.filter(book=trust.book).order_by("code")]
        self.fields["item"].choices = [("", "—")] + [
            (i.code, f"{i.code} {i.name}") for i in StockItem.objects.filter(book=trust.book).order_by("code")]
        self.fields["program"].choices = [("", "—")] + [
            (p.code, f"{p.code} {p.name}") for p in Program.objects.filter(book=trust.book).order_by("code")]

    def clean_voucher(self):
        voucher = self.cleaned_data.get("voucher")
        if voucher:
            try:
                services.attachment_check(voucher)
            except CharityError as exc:
                raise forms.ValidationError(exc.message) from None
        return voucher

    def refusal(self, exc) -> None:
        """Show a service's refusal on the field it names (or above the form)."""
        field = FIELD_ALIASES.get(exc.field or "", exc.field)
        self.add_error(field if field in self.fields else None, exc.message)


def _new_reference() -> str:
    return f"EXP-{timezone.localdate():%Y%m%d}-{secrets.token_hex(3).upper()}"


def _record(request, trust, form) -> HttpResponse | None:
    values = form.cleaned_data
    voucher = values.pop("voucher", None)
    kwargs = dict(
        trust=trust, user=request.user, external_id=values["external_id"], date=values["date"], kind=values["kind"],
        fund=Fund.objects.get(book=trust.book, code=values["fund"]), amount=values["amount"],
        item=StockItem.objects.filter(book=trust.book, code=values["item"]).first() if values.get("item") else None,
        quantity=values.get("quantity"), unit_cost=values.get("unit_cost"), payee=values.get("payee", ""),
        description=values.get("description", ""), invoice_number=values.get("invoice_number", ""),
        program=values.get("program") or None, payable=values.get("payable") or "",
        due_date=values.get("due_date"),
    )
    to_list = redirect(f"{reverse('office-expenses')}?trust={trust.code}")
    try:
        with transaction.atomic():
            expense, created = services.expense_record(**kwargs)
            if voucher and created:
                services.attachment_add(target=expense, upload=voucher, user=request.user)
    except ApprovalRequired:
        try:
            with transaction.atomic():
                draft = services.expense_request_draft(**kwargs)
                if voucher:
                    services.attachment_add(target=draft, upload=voucher, user=request.user)
        except REFUSALS as exc:
            form.refusal(exc)
            return None
        messages.warning(request, _(
            "Expense %(id)s is above the trust's approval threshold: it was drafted as an expense request and waits "
            "for another user's approval (Approvals).") % {"id": draft.external_id})
        return to_list
    except REFUSALS as exc:
        form.refusal(exc)
        return None
    if created:
        messages.success(request, _("Expense %(id)s recorded (entry #%(seq)s).")
                         % {"id": expense.external_id, "seq": expense.entry.sequence})
    else:
        messages.info(request, _("Expense %(id)s was already recorded; nothing was changed.")
                      % {"id": expense.external_id})
    return to_list


@login_required
def expense_new(request):
    trust = trust_for(request, RECORD)
    if request.method == "POST":
        form = ExpenseForm(trust, request.POST, request.FILES)
        if form.is_valid():
            done = _record(request, trust, form)
            if done is not None:
                return done
        return render(request, "charity/office_expense_form.html", {"trust": trust, "form": form}, status=400)
    form = ExpenseForm(trust, initial={"external_id": _new_reference(), "date": timezone.localdate()})
    return render(request, "charity/office_expense_form.html", {"trust": trust, "form": form})
