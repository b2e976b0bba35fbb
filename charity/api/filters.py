"""Every list's query parameters, as django-filter ``FilterSet``s (``DEFAULT_FILTER_BACKENDS``): an unknown
choice or a bad date is a 400 naming the parameter. Lists are filtered within the trust of the URL by their
views' ``scoped_queryset``."""

from __future__ import annotations

from django import forms
from django.db.models import F, OuterRef, Q, Subquery, Sum
from django_filters import rest_framework as filters
from rest_framework import serializers

from beneficiaries.models import (
    BatchStatus,
    Beneficiary,
    BeneficiaryStatus,
    Disbursement,
    DisbursementBatch,
    DisbursementStatus,
    StockMove,
    StockMoveKind,
)
from charity.models import AuditEvent, Channel, Donation, Donor, DonorKind, Expense, ExpenseKind, ExpenseRequest
from charity.models import ManualEntry, Receipt, Refund
from ledger.models import JournalEntry

from .base import book_date

# -- the trust's books ------------------------------------------------------------------------------------------


class BookDateField(forms.Field):
    """A date the books can hold, parsed and refused as ``base.query_date`` does (``base.book_date``)."""

    def __init__(self, *, param: str = "date", **kwargs):
        super().__init__(**kwargs)
        self.param = param  # the query parameter, named in the message

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            return book_date(value, name=self.param)
        except serializers.ValidationError as exc:
            raise forms.ValidationError(exc.detail) from None


class BookDateFilter(filters.DateFilter):
    field_class = BookDateField


class JournalEntryFilter(filters.FilterSet):
    date_from = BookDateFilter(field_name="date", lookup_expr="gte", param="date_from")
    date_to = BookDateFilter(field_name="date", lookup_expr="lte", param="date_to")
    source_type = filters.CharFilter()

    class Meta:
        model = JournalEntry
        fields = ["date_from", "date_to", "source_type"]


class ManualEntryFilter(filters.FilterSet):
    status = filters.CharFilter(help_text="draft, posted or rejected")

    class Meta:
        model = ManualEntry
        fields = ["status"]


class DonorFilter(filters.FilterSet):
    kind = filters.ChoiceFilter(choices=DonorKind.choices)
    anonymous = filters.BooleanFilter()
    search = filters.CharFilter(method="filter_search", help_text="part of the name, external id, email or phone")

    class Meta:
        model = Donor
        fields = ["kind", "anonymous", "search"]

    def filter_search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(external_id__icontains=value) | Q(email__icontains=value)
                               | Q(phone__icontains=value))


class DonationFilter(filters.FilterSet):
    date_from = filters.DateFilter(field_name="date", lookup_expr="gte")
    date_to = filters.DateFilter(field_name="date", lookup_expr="lte")
    fund = filters.CharFilter(field_name="fund__code", help_text="fund code")
    channel = filters.ChoiceFilter(choices=Channel.choices)
    donor = filters.CharFilter(field_name="donor__external_id", help_text="the donor's external id")

    class Meta:
        model = Donation
        fields = ["date_from", "date_to", "fund", "channel", "donor"]


OFFICIAL_CHOICES = (("lacking", "lacking"), ("recorded", "recorded"))


class ReceiptFilter(filters.FilterSet):
    year = filters.NumberFilter(field_name="year")
    official = filters.ChoiceFilter(
        choices=OFFICIAL_CHOICES, method="by_official",
        help_text="lacking: valid receipts whose gift has no official donation receipt (公益事业捐赠票据) yet; "
                  "recorded: those whose gift has one")

    class Meta:
        model = Receipt
        fields = ["year", "official"]

    def by_official(self, queryset, name, value):
        return official_filter(queryset, value, prefix="donation__")


def official_filter(queryset, value: str, *, prefix: str = ""):
    """``lacking``: gifts (or their receipts) still waiting for an official receipt -- valid, not refunded in
    full, none recorded; ``recorded``: those that have one."""
    if value == "recorded":
        return queryset.filter(**{f"{prefix}official_receipt__isnull": False})
    if value != "lacking":
        return queryset
    waiting = queryset.filter(**{f"{prefix}official_receipt__isnull": True})
    if prefix:  # receipts: the valid ones only (a voided acknowledgement's gift shows on its valid one)
        waiting = waiting.filter(voided_at__isnull=True)
    refunded_in_full = Refund.objects.filter(donation=OuterRef(f"{prefix}pk" if prefix else "pk")).values(
        "donation").annotate(total=Sum("amount_cny")).values("total")
    return waiting.annotate(_refunded=Subquery(refunded_in_full)).filter(
        Q(_refunded__isnull=True) | Q(_refunded__lt=F(f"{prefix}amount_cny")))


class ExpenseFilter(filters.FilterSet):
    date_from = filters.DateFilter(field_name="date", lookup_expr="gte")
    date_to = filters.DateFilter(field_name="date", lookup_expr="lte")
    fund = filters.CharFilter(field_name="fund__code", help_text="fund code")
    kind = filters.ChoiceFilter(choices=ExpenseKind.choices)

    class Meta:
        model = Expense
        fields = ["date_from", "date_to", "fund", "kind"]


class ExpenseRequestFilter(filters.FilterSet):
    status = filters.CharFilter(help_text="draft, posted or rejected")

    class Meta:
        model = ExpenseRequest
        fields = ["status"]


class AuditEventFilter(filters.FilterSet):
    user = filters.CharFilter(field_name="username", help_text="username")
    channel = filters.CharFilter(help_text="web, api, admin or command")
    date_from = filters.DateFilter(field_name="at", lookup_expr="date__gte")
    date_to = filters.DateFilter(field_name="at", lookup_expr="date__lte")

    class Meta:
        model = AuditEvent
        fields = ["user", "channel", "date_from", "date_to"]


# -- aid ----------------------------------------------------------------------------------------------------------


class StockMoveFilter(filters.FilterSet):
    item = filters.CharFilter(field_name="item__code", help_text="stock item code")
    fund = filters.CharFilter(field_name="fund__code", help_text="fund code")
    kind = filters.ChoiceFilter(choices=StockMoveKind.choices)
    date_from = filters.DateFilter(field_name="date", lookup_expr="gte")
    date_to = filters.DateFilter(field_name="date", lookup_expr="lte")

    class Meta:
        model = StockMove
        fields = ["item", "fund", "kind", "date_from", "date_to"]


class BeneficiaryFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=BeneficiaryStatus.choices)
    household = filters.CharFilter(field_name="household__external_id", help_text="household id")
    district = filters.CharFilter()
    community = filters.CharFilter()
    search = filters.CharFilter(field_name="external_id", lookup_expr="icontains",
                                help_text="part of the external id")

    class Meta:
        model = Beneficiary
        fields = ["status", "household", "district", "community", "search"]


class DisbursementFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=DisbursementStatus.choices)
    program = filters.CharFilter(field_name="program__code", help_text="program code")
    fund = filters.CharFilter(field_name="fund__code", help_text="fund code")
    batch = filters.CharFilter(field_name="batch__code", help_text="batch code")
    beneficiary = filters.CharFilter(field_name="beneficiary__external_id", help_text="beneficiary's external id")
    date_from = filters.DateFilter(field_name="date", lookup_expr="gte")
    date_to = filters.DateFilter(field_name="date", lookup_expr="lte")

    class Meta:
        model = Disbursement
        fields = ["status", "program", "fund", "batch", "beneficiary", "date_from", "date_to"]


class BatchFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=BatchStatus.choices)

    class Meta:
        model = DisbursementBatch
        fields = ["status"]
