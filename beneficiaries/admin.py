"""Admin for the aid side. Every write goes through ``beneficiaries.services``; the admin only parses and shows.

* Identity numbers, phones and birth dates are shown as ``beneficiaries.privacy`` allows: masked (the
  province, the birth year) unless the user has ``beneficiaries.view_pii``; opening a beneficiary's page
  unmasked is logged (``PiiAccessLog``). Lists always show them masked.
* Beneficiaries are registered through ``import_csv beneficiaries`` (or the API); here their non-identity
  details can be changed, which the service checks and keeps in the history.
* Disbursements and batches are read-only records; approving, paying/posting and cancelling are actions that
  call the services (so four eyes, limits, fund and stock checks all apply).
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .errors import AidError
from .models import (
    Beneficiary,
    BeneficiaryHistory,
    Disbursement,
    DisbursementBatch,
    Household,
    PiiAccessLog,
    Program,
)
from .privacy import beneficiary_pii, can_view_pii, mask_id_number, mask_phone, shown_birth
from .services import (
    batch_approve,
    batch_post,
    beneficiary_update,
    disbursement_approve,
    disbursement_cancel,
    disbursement_pay,
    program_set_limits,
)
from .services.registry import EDITABLE, validate_beneficiary


def _run(modeladmin, request, queryset, call, done: str):
    """Call the service once per selected record; each refusal is shown with the record it concerns."""
    ok = 0
    for obj in queryset.order_by("pk"):
        try:
            call(obj)
            ok += 1
        except AidError as exc:
            modeladmin.message_user(request, f"{obj}: {exc.message}", messages.ERROR)
    if ok:
        modeladmin.message_user(request, _("%(count)d %(done)s") % {"count": ok, "done": done}, messages.SUCCESS)


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "name_en", "kind", "expense_account", "pay_account", "stock_item",
                    "limit_amount_per_year", "limit_count_per_year", "active")
    list_filter = ("kind", "active")
    readonly_fields = ("book", "code", "name", "name_en", "kind", "expense_account", "pay_account", "stock_item",
                       "active")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        program_set_limits(
            program=obj, limit_amount_per_year=form.cleaned_data["limit_amount_per_year"],
            limit_count_per_year=form.cleaned_data["limit_count_per_year"], user=request.user,
        )


class MemberInline(admin.TabularInline):
    model = Beneficiary
    fk_name = "household"
    fields = ("external_id", "name", "masked_id_number", "birth", "gender", "guardian", "status")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name = _("member")
    verbose_name_plural = _("members")

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description=_("resident identity number"))
    def masked_id_number(self, obj):
        return mask_id_number(obj.id_number)

    @admin.display(description=_("birth date"))
    def birth(self, obj):
        return shown_birth(obj.birth_date)


@admin.register(Household)
class HouseholdAdmin(admin.ModelAdmin):
    list_display = ("external_id", "mother", "member_count", "book")
    search_fields = ("external_id", "mother__name", "mother__external_id")
    readonly_fields = ("book", "external_id", "mother", "created_at")
    inlines = [MemberInline]

    def get_queryset(self, request):
        from django.db.models import Count

        return super().get_queryset(request).select_related("mother", "book").annotate(n=Count("members"))

    @admin.display(description=_("members"), ordering="n")
    def member_count(self, obj):
        return obj.n

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class HistoryInline(admin.TabularInline):
    model = BeneficiaryHistory
    fields = ("changed_at", "changed_by", "action", "changes")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # the history is append-only: shown, never a form


class BeneficiaryForm(forms.ModelForm):
    """Checks the whole record with the registry's rules before the service writes it."""

    class Meta:
        model = Beneficiary
        fields = ("name", "household", "guardian", "district", "community", "phone", "consent_date",
                  "consent_given_by")

    user = None  # set by BeneficiaryAdmin.get_form: a duplicate is named only to a PII holder

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is None or self.errors:
            return cleaned
        current = Beneficiary.objects.get(pk=self.instance.pk)
        data = {name: getattr(current, name) for name in EDITABLE}
        data.update({name: cleaned[name] for name in self.changed_data if name in EDITABLE})
        try:
            validate_beneficiary(book=current.book, instance=current, data=data, user=self.user)
        except AidError as exc:
            field = exc.field if exc.field in self.fields else None
            raise ValidationError({field: exc.message} if field else exc.message) from exc
        return cleaned

    def validate_unique(self):  # the service checks uniqueness with messages that never show PII
        pass


@admin.register(Beneficiary)
class BeneficiaryAdmin(admin.ModelAdmin):
    form = BeneficiaryForm
    list_display = ("external_id", "name", "masked_id_number", "birth", "gender", "household", "district",
                    "status")
    list_filter = ("status", "gender", "district")
    search_fields = ("external_id", "name", "household__external_id")
    list_select_related = ("household",)
    raw_id_fields = ("household", "guardian")
    inlines = [HistoryInline]

    def has_add_permission(self, request):
        return False  # registration: import_csv beneficiaries or the API (full identity checks)

    def has_delete_permission(self, request, obj=None):
        return False

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"user": request.user})

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is not None and request.method == "GET":
            obj._pii = beneficiary_pii(beneficiary=obj, user=request.user, purpose="admin change page")
        return obj

    def get_fields(self, request, obj=None):
        fields = ["external_id", "identity_number", "birth", "gender", "name", "household", "guardian",
                  "district", "community", "phone_number", "consent_date", "consent_given_by", "status",
                  "exited_on", "created_by", "created_at"]
        if can_view_pii(request.user):
            fields[fields.index("phone_number")] = "phone"
        return fields

    def get_readonly_fields(self, request, obj=None):
        return ("external_id", "identity_number", "birth", "gender", "phone_number", "status", "exited_on",
                "created_by", "created_at")

    @admin.display(description=_("resident identity number"))
    def masked_id_number(self, obj):
        return mask_id_number(obj.id_number)

    @admin.display(description=_("resident identity number"))
    def identity_number(self, obj):
        pii = getattr(obj, "_pii", None)
        return pii.id_number if pii is not None else mask_id_number(obj.id_number)

    @admin.display(description=_("birth date"))
    def birth(self, obj):
        pii = getattr(obj, "_pii", None)
        return pii.birth if pii is not None else shown_birth(obj.birth_date)

    @admin.display(description=_("phone"))
    def phone_number(self, obj):
        pii = getattr(obj, "_pii", None)
        return pii.phone if pii is not None else mask_phone(obj.phone)

    def save_model(self, request, obj, form, change):
        changes = {name: form.cleaned_data[name] for name in form.changed_data if name in EDITABLE}
        if changes:
            beneficiary_update(beneficiary=obj, user=request.user, **changes)

    def save_related(self, request, form, formsets, change):
        pass  # history rows are written by the service only

    def construct_change_message(self, request, form, formsets, add=False):
        return super().construct_change_message(request, form, [], add)  # the history inline is never saved


@admin.register(PiiAccessLog)
class PiiAccessLogAdmin(admin.ModelAdmin):
    list_display = ("viewed_at", "user", "beneficiary", "fields", "purpose")
    list_filter = ("user",)
    search_fields = ("beneficiary__external_id", "user__username")
    readonly_fields = ("viewed_at", "user", "beneficiary", "fields", "purpose")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


DISBURSEMENT_FIELDS = (
    "external_id", "book", "batch", "beneficiary", "program", "fund", "date", "amount", "quantity", "description",
    "status", "created_by", "created_at", "approved_by", "approved_at", "approved_outside", "posted_by", "posted_at",
    "entry", "cancelled_by", "cancelled_at", "reversal_entry", "reason",
)


@admin.register(Disbursement)
class DisbursementAdmin(admin.ModelAdmin):
    list_display = ("external_id", "date", "beneficiary", "program", "fund", "amount", "quantity", "status", "batch")
    list_filter = ("status", "program", "fund")
    search_fields = ("external_id", "beneficiary__external_id", "batch__code")
    list_select_related = ("beneficiary", "program", "fund", "batch")
    readonly_fields = DISBURSEMENT_FIELDS
    fields = DISBURSEMENT_FIELDS
    actions = ["approve", "pay", "cancel"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Approve the selected disbursements"))
    def approve(self, request, queryset):
        _run(self, request, queryset, lambda d: disbursement_approve(disbursement=d, user=request.user), _("approved"))

    @admin.action(description=_("Pay or deliver the selected disbursements (posts to the ledger)"))
    def pay(self, request, queryset):
        _run(self, request, queryset, lambda d: disbursement_pay(disbursement=d, user=request.user),
             _("paid or delivered"))

    @admin.action(description=_("Cancel the selected disbursements (before posting)"))
    def cancel(self, request, queryset):
        reason = f"cancelled in the admin by {request.user.get_username()}"
        _run(self, request, queryset, lambda d: disbursement_cancel(disbursement=d, user=request.user, reason=reason),
             _("cancelled"))


class BatchMemberInline(admin.TabularInline):
    model = Disbursement
    fields = ("external_id", "date", "beneficiary", "program", "fund", "amount", "quantity", "status")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(DisbursementBatch)
class DisbursementBatchAdmin(admin.ModelAdmin):
    list_display = ("code", "status", "created_by", "approved_by", "approved_outside", "posted_at")
    list_filter = ("status",)
    search_fields = ("code",)
    readonly_fields = ("book", "code", "description", "status", "created_by", "created_at", "approved_by",
                       "approved_at", "approved_outside", "posted_by", "posted_at")
    inlines = [BatchMemberInline]
    actions = ["approve", "post"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Approve the selected batches"))
    def approve(self, request, queryset):
        _run(self, request, queryset, lambda b: batch_approve(batch=b, user=request.user), _("batch(es) approved"))

    @admin.action(description=_("Post the selected batches (all or nothing each)"))
    def post(self, request, queryset):
        _run(self, request, queryset, lambda b: batch_post(batch=b, user=request.user), _("batch(es) posted"))
