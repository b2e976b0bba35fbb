"""The office's beneficiary filters (django-filter), shared by the register's list and the aid page's batch builder.

Eligibility is what the registry and the program's own settings say, nothing more: an active person, of an age on
the distribution day, who has not yet had the program's yearly count of disbursements in that day's year. The
services check everything again when the aid is drafted (the yearly amount limit too); the filter only narrows the
list an officer ticks from.
"""

from __future__ import annotations

import datetime as dt

import django_filters as df
from django import forms
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from beneficiaries.models import LIVE_STATUSES, Beneficiary, BeneficiaryStatus, Gender, Program


class AgeFilter(df.NumberFilter):
    field_class = forms.IntegerField


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year - years, day=28)


class BeneficiaryPageFilter(df.FilterSet):
    search = df.CharFilter(method="filter_search", label=_("Id or name contains"))
    district = df.CharFilter(field_name="district", label=_("District"))
    household = df.CharFilter(field_name="household__external_id", label=_("Household id"))
    status = df.ChoiceFilter(choices=BeneficiaryStatus.choices, label=_("Status"), empty_label=_("any"))
    gender = df.ChoiceFilter(choices=Gender.choices, label=_("Gender"), empty_label=_("any"))
    program = df.ModelChoiceFilter(queryset=Program.objects.none(), to_field_name="code", method="filter_program",
                                   label=_("Eligible for program"), empty_label=_("any"))
    min_age = AgeFilter(method="filter_min_age", label=_("Age from"), min_value=0, max_value=150)
    max_age = AgeFilter(method="filter_max_age", label=_("Age to"), min_value=0, max_value=150)
    on = df.DateFilter(method="filter_nothing", label=_("Ages and limits on (YYYY-MM-DD)"))
    sort = df.OrderingFilter(
        fields=(("external_id", "external_id"), ("name", "name"), ("district", "district"),
                ("birth_date", "birth_date"), ("household__external_id", "household")),
        label=_("Sort by"),
    )

    class Meta:
        model = Beneficiary
        fields: list[str] = []

    def __init__(self, data=None, *args, book, **kwargs):
        super().__init__(data, *args, **kwargs)
        self.filters["program"].queryset = Program.objects.filter(book=book, active=True).order_by("code")

    def day(self) -> dt.date:
        cleaned = getattr(self.form, "cleaned_data", {}) or {}
        return cleaned.get("on") or timezone.localdate()

    def filter_nothing(self, queryset, name, value):
        return queryset

    def filter_search(self, queryset, name, value):
        return queryset.filter(Q(external_id__icontains=value) | Q(name__icontains=value))

    def filter_min_age(self, queryset, name, value):
        return queryset.filter(birth_date__lte=_years_before(self.day(), value))

    def filter_max_age(self, queryset, name, value):
        return queryset.filter(birth_date__gt=_years_before(self.day(), value + 1))

    def filter_program(self, queryset, name, program):
        queryset = queryset.filter(status=BeneficiaryStatus.ACTIVE)
        if program.limit_count_per_year is None:
            return queryset
        year = self.day().year
        had = Count("disbursements", filter=Q(
            disbursements__program=program, disbursements__status__in=LIVE_STATUSES,
            disbursements__date__gte=dt.date(year, 1, 1), disbursements__date__lte=dt.date(year, 12, 31)))
        return queryset.annotate(program_had=had).filter(program_had__lt=program.limit_count_per_year)
