"""The office's forms for the registry and for aid. They only parse what was typed (a date, a number, a choice of
the trust's own programs and funds); every rule is the service's, and a service's refusal is put back on the form
beside the field it names (``service_error``)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from beneficiaries.models import Beneficiary, Gender, Program, VerificationMethod, VerificationResult
from ledger.models import Fund

# A service names its field by the model's name; the forms call some of them otherwise.
FIELD_NAMES = {"household_id": "household", "batch": "code", "beneficiary": "beneficiary"}


def service_error(form: forms.Form, exc, *, fields: dict[str, str] | None = None) -> None:
    """Put a service's refusal (an ``AidError`` with ``field``) on ``form``: on the field it names when the form
    has it, else at the top of the form."""
    names = {**FIELD_NAMES, **(fields or {})}
    field = getattr(exc, "field", None)
    field = names.get(field, field)
    form.add_error(field if field in form.fields else None, getattr(exc, "message", str(exc)))


class BeneficiaryForm(forms.Form):
    external_id = forms.CharField(label=_("Beneficiary id"), max_length=64)
    name = forms.CharField(label=_("Name"), max_length=100)
    id_number = forms.CharField(label=_("Resident identity number"), max_length=32)
    birth_date = forms.DateField(label=_("Birth date (YYYY-MM-DD)"))
    gender = forms.ChoiceField(label=_("Gender"), choices=[("", _("from the identity number")), *Gender.choices],
                               required=False)
    household = forms.CharField(label=_("Household id (created if new)"), max_length=64, required=False)
    guardian = forms.CharField(label=_("Guardian (beneficiary id; required for a child)"), max_length=64,
                               required=False)
    district = forms.CharField(label=_("District"), max_length=100, required=False)
    community = forms.CharField(label=_("Community"), max_length=200, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False)
    consent_date = forms.DateField(label=_("Consent recorded on (YYYY-MM-DD)"), required=False)
    consent_given_by = forms.CharField(label=_("Consent given by (the person, or a child's guardian)"),
                                       max_length=100, required=False)

    def __init__(self, *args, edit: bool = False, masked: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.masked = masked
        if edit:
            del self.fields["external_id"]
        if edit and masked:  # the reader never saw them: left blank, they stay as they are
            for name in ("id_number", "birth_date", "phone"):
                self.fields[name].required = False
                self.fields[name].help_text = _("Leave blank to keep it (you see it masked).")


class ExitForm(forms.Form):
    date = forms.DateField(label=_("Exit date (YYYY-MM-DD)"))
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)


class _AidFields(forms.Form):
    program = forms.ModelChoiceField(label=_("Program"), queryset=Program.objects.none(), to_field_name="code")
    fund = forms.ModelChoiceField(label=_("Fund"), queryset=Fund.objects.none(), to_field_name="code")
    date = forms.DateField(label=_("Date (YYYY-MM-DD)"))
    amount = forms.DecimalField(label=_("Amount (CNY; required for cash)"), max_digits=14, decimal_places=2,
                                required=False)
    quantity = forms.IntegerField(label=_("Quantity (goods)"), initial=1)

    def __init__(self, *args, book, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["program"].queryset = Program.objects.filter(book=book, active=True).order_by("code")
        self.fields["fund"].queryset = Fund.objects.filter(book=book).order_by("code")


class DisbursementForm(_AidFields):
    external_id = forms.CharField(label=_("Disbursement id"), max_length=64)
    beneficiary = forms.ModelChoiceField(label=_("Beneficiary id"), queryset=Beneficiary.objects.none(),
                                         to_field_name="external_id", widget=forms.TextInput)
    description = forms.CharField(label=_("Description"), max_length=500, required=False)

    field_order = ["external_id", "beneficiary", "program", "fund", "date", "amount", "quantity", "description"]

    def __init__(self, *args, book, **kwargs):
        super().__init__(*args, book=book, **kwargs)
        self.fields["beneficiary"].queryset = Beneficiary.objects.filter(book=book)


class BatchForm(_AidFields):
    code = forms.CharField(label=_("Batch code"), max_length=64)
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    people = forms.ModelMultipleChoiceField(
        label=_("People"), queryset=Beneficiary.objects.none(), to_field_name="external_id",
        widget=forms.MultipleHiddenInput, error_messages={"required": _("Tick at least one person.")})

    field_order = ["code", "description", "program", "fund", "date", "amount", "quantity", "people"]

    def __init__(self, *args, book, **kwargs):
        kwargs.setdefault("auto_id", "batch_%s")  # beside the filter form, whose fields have the same names
        super().__init__(*args, book=book, **kwargs)
        self.fields["people"].queryset = Beneficiary.objects.filter(book=book)


class VerifyForm(forms.Form):
    date = forms.DateField(label=_("Verified on (YYYY-MM-DD)"))
    method = forms.ChoiceField(label=_("Method"), choices=VerificationMethod.choices)
    result = forms.ChoiceField(label=_("Result"), choices=VerificationResult.choices)
    note = forms.CharField(label=_("Note"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))
