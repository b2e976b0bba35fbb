"""The admin: every save goes through a service; posted records (donations, refunds, expenses, receipts) are
read-only once written and never deleted.

``ServiceForm`` runs the service in ``clean()`` so that a refusal (a ``CharityError``, ``LedgerError`` or
``AidError``) becomes a form error on the field it names, and the admin's own ``save`` writes nothing more (the
admin wraps the whole request in one transaction).
"""

from __future__ import annotations

from axes import admin as axes_admin
from axes.models import AccessAttempt
from django import forms
from django.contrib import admin
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from beneficiaries.errors import AidError
from ledger import services as ledger
from ledger.errors import LedgerError
from ledger.models import Fund

from .documents import receipt_pdf
from .errors import CharityError
from .models import (Attachment, Donation, Donor, Expense, FundTerms, Membership, Receipt, Refund, SpendingPolicy,
                     Trust)
from .services import (donation_record, donation_refund, donor_create, donor_update, expense_record, fund_terms_set,
                       receipt_void, spending_policy_set, trust_create, trust_set_expense_threshold)

admin.site.site_header = _("Charity Trust Ledger")
admin.site.site_title = _("Charity Trust Ledger")

REFUSALS = (CharityError, LedgerError, AidError)


class ServiceForm(forms.ModelForm):
    user = None  # set per request by ServiceAdmin.get_form
    result = None

    def run(self, data: dict):
        raise NotImplementedError

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            self.result = self.run(data)
        except REFUSALS as exc:
            self.add_error(exc.field if exc.field in self.fields else None, exc.message)
        return data

    def _post_clean(self):
        # The service validated and wrote; the model's own validation would only repeat it (or object to the
        # record that now exists).
        if self.result is not None:
            self.instance = self.result

    def save(self, commit=True):
        return self.instance

    def save_m2m(self):
        pass


class ServiceAdmin(admin.ModelAdmin):
    add_form: type[ServiceForm] | None = None
    change_form: type[ServiceForm] | None = None
    add_fields: tuple = ()

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = self.change_form if obj is not None else self.add_form
        if form is not None:
            kwargs["form"] = form
        if obj is None and self.add_fields:
            kwargs["fields"] = self.add_fields
        cls = super().get_form(request, obj, change=change, **kwargs)
        cls.user = request.user
        return cls

    def get_fields(self, request, obj=None):
        if obj is None and self.add_fields:
            return self.add_fields
        return super().get_fields(request, obj)

    def save_model(self, request, obj, form, change):
        pass  # the service did it

    def save_related(self, request, form, formsets, change):
        pass

    def has_delete_permission(self, request, obj=None):
        return False


class PostedAdmin(ServiceAdmin):
    """Read-only once posted."""

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return [f.name for f in self.model._meta.fields] + list(self.extra_readonly)

    extra_readonly: tuple = ()

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) or super().has_change_permission(request, obj)


# -- trusts and funds ----------------------------------------------------------------------------------------


class TrustForm(ServiceForm):
    class Meta:
        model = Trust
        fields = ("code", "name", "name_en", "trustee", "co_trustee", "supervisor", "filing_number")

    def run(self, data):
        return trust_create(user=self.user, **{k: data.get(k) or "" for k in self.Meta.fields})


class TrustSettingsForm(ServiceForm):
    class Meta:
        model = Trust
        fields = ("expense_approval_threshold", "email_receipts", "invitation_days")

    def run(self, data):
        from django.db import transaction

        from .services import trust_set_mail

        with transaction.atomic():  # both settings or neither
            trust_set_mail(trust=self.instance, email_receipts=data.get("email_receipts", False),
                           invitation_days=data.get("invitation_days"), user=self.user)
            return trust_set_expense_threshold(trust=self.instance, threshold=data.get("expense_approval_threshold"),
                                               user=self.user)


@admin.register(Trust)
class TrustAdmin(ServiceAdmin):
    """Created once through ``trust_create``; afterwards only its settings change (through a service)."""

    add_form = TrustForm
    change_form = TrustSettingsForm
    list_display = ("code", "name", "name_en", "trustee", "filing_number", "expense_approval_threshold")

    def get_fields(self, request, obj=None):
        if obj is None:
            return TrustForm.Meta.fields
        return ("code", "name", "name_en", "settlor", "trustee", "co_trustee", "supervisor", "filing_number",
                "expense_approval_threshold", "email_receipts", "invitation_days")

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else ("code", "name", "name_en", "settlor", "trustee", "co_trustee", "supervisor",
                                       "filing_number")


class SpendingPolicyForm(ServiceForm):
    """A trust's spending rule, set through ``spending_policy_set`` (which checks the user and every field)."""

    class Meta:
        model = SpendingPolicy
        fields = ("trust", "preset", "base", "floor", "cap", "count_endowment_principal", "count_in_kind",
                  "management_exempt_below", "deed_reference")

    def run(self, data):
        trust = data.get("trust") or self.instance.trust
        return spending_policy_set(
            trust=trust, preset=data["preset"], base=data.get("base") or "", floor=data.get("floor"),
            cap=data.get("cap"), count_endowment_principal=data.get("count_endowment_principal", False),
            count_in_kind=data.get("count_in_kind", False),
            management_exempt_below=data.get("management_exempt_below"),
            deed_reference=data.get("deed_reference") or "", user=self.user)


@admin.register(SpendingPolicy)
class SpendingPolicyAdmin(ServiceAdmin):
    """One per trust; every save goes through the service. Removing a policy (the reports then judge nothing)
    is the service's ``preset=None``, not a delete here."""

    add_form = change_form = SpendingPolicyForm
    list_display = ("trust", "preset", "base", "floor", "cap", "count_endowment_principal", "count_in_kind",
                    "updated_by", "updated_at")
    readonly_fields = ("updated_by", "updated_at")

    def get_readonly_fields(self, request, obj=None):
        return ("trust", "updated_by", "updated_at") if obj is not None else ()


class FundTermsForm(ServiceForm):
    """A restricted fund's terms (the management fee it may bear), set through ``fund_terms_set``."""

    class Meta:
        model = FundTerms
        fields = ("fund", "management_fee_rate", "management_fee_cap")

    def run(self, data):
        fund = data.get("fund") or self.instance.fund
        return fund_terms_set(fund=fund, management_fee_rate=data.get("management_fee_rate"),
                              management_fee_cap=data.get("management_fee_cap"), user=self.user)


@admin.register(FundTerms)
class FundTermsAdmin(ServiceAdmin):
    """One per restricted fund; every save goes through the service (approvers and administrators)."""

    add_form = change_form = FundTermsForm
    list_display = ("fund", "management_fee_rate", "management_fee_cap", "updated_by", "updated_at")
    readonly_fields = ("updated_by", "updated_at")

    def get_readonly_fields(self, request, obj=None):
        return ("fund", "updated_by", "updated_at") if obj is not None else ()

    def has_delete_permission(self, request, obj=None):
        return False


class FundForm(ServiceForm):
    trust = forms.ModelChoiceField(Trust.objects.all(), label=_("trust"))

    class Meta:
        model = Fund
        fields = ("code", "name", "name_en", "restriction", "purpose", "description")

    def run(self, data):
        return ledger.fund_create(
            book=data["trust"].book, code=data["code"], name=data["name"], name_en=data.get("name_en") or "",
            restriction=data["restriction"], purpose=data.get("purpose") or "", description=data.get("description") or "",
            user=self.user,
        )


@admin.register(Fund)
class FundAdmin(PostedAdmin):
    add_form = FundForm
    add_fields = ("trust", "code", "name", "name_en", "restriction", "purpose", "description")
    list_display = ("code", "name", "restriction", "purpose", "balance", "book")
    list_filter = ("book", "restriction")
    extra_readonly = ("balance",)

    @admin.display(description=_("net assets (CNY)"))
    def balance(self, obj):
        return obj.net_assets_amount


# -- donors --------------------------------------------------------------------------------------------------

DONOR_FIELDS = ("kind", "name", "anonymous", "email", "phone", "address", "id_code", "user")


class DonorAddForm(ServiceForm):
    class Meta:
        model = Donor
        fields = ("trust", "external_id") + DONOR_FIELDS

    def run(self, data):
        return donor_create(trust=data["trust"], external_id=data.get("external_id") or "", by=self.user,
                            **{k: data.get(k) for k in DONOR_FIELDS if k in data})


class DonorChangeForm(ServiceForm):
    class Meta:
        model = Donor
        fields = DONOR_FIELDS

    def run(self, data):
        return donor_update(donor=self.instance, by=self.user, **{k: data.get(k) for k in DONOR_FIELDS})


@admin.register(Donor)
class DonorAdmin(ServiceAdmin):
    add_form = DonorAddForm
    change_form = DonorChangeForm
    list_display = ("external_id", "name", "kind", "anonymous", "trust")
    list_filter = ("trust", "kind", "anonymous")
    search_fields = ("external_id", "name", "email", "phone")

    def get_readonly_fields(self, request, obj=None):
        return ("trust", "external_id", "created_at") if obj is not None else ()


# -- donations, refunds, receipts ----------------------------------------------------------------------------


class DonationForm(ServiceForm):
    class Meta:
        model = Donation
        fields = ("trust", "external_id", "donor", "date", "amount", "fx_rate", "channel", "fund", "item",
                  "quantity", "description")

    def run(self, data):
        donation, _created = donation_record(
            trust=data["trust"], external_id=data["external_id"], donor=data.get("donor"), date=data["date"],
            amount=data["amount"], fx_rate=data.get("fx_rate"), channel=data["channel"], fund=data["fund"],
            item=data.get("item") or "", quantity=data.get("quantity"), description=data.get("description") or "",
            user=self.user,
        )
        return donation


@admin.register(Donation)
class DonationAdmin(PostedAdmin):
    add_form = DonationForm
    list_display = ("external_id", "date", "donor", "amount", "amount_cny", "channel", "fund", "trust")
    list_filter = ("trust", "channel", "fund")
    search_fields = ("external_id", "donor__name", "donor__external_id")
    date_hierarchy = "date"
    list_select_related = ("donor", "fund", "trust")


class RefundForm(ServiceForm):
    refund_amount = forms.DecimalField(
        label=_("amount (in the gift's currency; blank: all that is unspent and not yet refunded)"),
        required=False, max_digits=14, decimal_places=2,
    )

    class Meta:
        model = Refund
        fields = ("donation", "external_id", "date", "reason")

    def run(self, data):
        return donation_refund(
            donation=data["donation"], external_id=data["external_id"], date=data["date"],
            amount=data.get("refund_amount"), reason=data["reason"], user=self.user,
        )


@admin.register(Refund)
class RefundAdmin(PostedAdmin):
    add_form = RefundForm
    add_fields = ("donation", "external_id", "date", "refund_amount", "reason")
    list_display = ("external_id", "date", "donation", "amount", "amount_cny", "trust")
    list_filter = ("trust",)


class ReceiptVoidForm(ServiceForm):
    void = forms.CharField(label=_("void this receipt, for this reason"), required=False, widget=forms.Textarea)
    reissue = forms.BooleanField(label=_("issue a new receipt for the gift"), required=False)

    class Meta:
        model = Receipt
        fields = ()

    def run(self, data):
        if (data.get("void") or "").strip():
            receipt_void(receipt=self.instance, user=self.user, reason=data["void"], reissue=data.get("reissue"))
            self.instance.refresh_from_db()
        return self.instance


@admin.register(Receipt)
class ReceiptAdmin(ServiceAdmin):
    change_form = ReceiptVoidForm
    list_display = ("label", "date", "donor_name", "amount", "fund_code", "status", "trust")
    list_filter = ("trust", "year")
    search_fields = ("donor_name", "donation__external_id")
    list_select_related = ("trust",)

    def has_add_permission(self, request):
        return False  # receipts are issued with their donations

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Receipt._meta.fields] + ["pdf"]

    def get_fields(self, request, obj=None):
        fields = [f.name for f in Receipt._meta.fields] + ["pdf"]
        if obj is not None and not obj.voided:
            fields += ["void", "reissue"]
        return fields

    @admin.display(description=_("status"))
    def status(self, obj):
        return _("void") if obj.voided else _("issued")

    @admin.display(description=_("PDF"))
    def pdf(self, obj):
        url = reverse("admin:charity_receipt_pdf", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.label + ".pdf")

    def get_urls(self):
        return [
            path("<int:pk>/pdf/", self.admin_site.admin_view(self.pdf_view), name="charity_receipt_pdf")
        ] + super().get_urls()

    def pdf_view(self, request, pk):
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        receipt = get_object_or_404(Receipt, pk=pk)
        response = HttpResponse(receipt_pdf(receipt), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="receipt-{receipt.label}.pdf"'
        return response


# -- expenses ------------------------------------------------------------------------------------------------


class ExpenseForm(ServiceForm):
    class Meta:
        model = Expense
        fields = ("trust", "external_id", "date", "kind", "fund", "amount", "item", "quantity", "unit_cost", "program",
                  "payee", "invoice_number", "description")

    def run(self, data):
        expense, _created = expense_record(
            trust=data["trust"], external_id=data["external_id"], date=data["date"], kind=data["kind"],
            fund=data["fund"], amount=data["amount"], item=data.get("item"), quantity=data.get("quantity"),
            unit_cost=data.get("unit_cost"), payee=data.get("payee") or "", description=data.get("description") or "",
            invoice_number=data.get("invoice_number") or "", program=data.get("program"), user=self.user,
        )
        return expense


@admin.register(Expense)
class ExpenseAdmin(PostedAdmin):
    add_form = ExpenseForm
    list_display = ("external_id", "date", "kind", "fund", "amount", "payee", "trust")
    list_filter = ("trust", "kind", "fund")
    search_fields = ("external_id", "payee", "description")
    date_hierarchy = "date"


# -- attachments: added on the office's pages; removed only through the service, and never once posted ----------


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    list_display = ("name", "trust", "content_type", "size", "sha256", "uploaded_by", "uploaded_at")
    list_filter = ("trust", "content_type")
    search_fields = ("name", "sha256")
    readonly_fields = [f.name for f in Attachment._meta.fields]
    actions = None

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        from .services.attachments import is_posted

        return super().has_delete_permission(request, obj) and (obj is None or not is_posted(obj))

    def delete_model(self, request, obj):
        from .services import attachment_remove

        attachment_remove(attachment=obj, user=request.user)


# -- memberships: who holds which role in which trust ----------------------------------------------------------


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    """Roles are held per trust; an administrator grants and removes them here (the audit log records it)."""

    list_display = ("user", "trust", "role", "created_at")
    list_filter = ("trust", "role")
    search_fields = ("user__username",)
    raw_id_fields = ("user",)


# -- sign-in attempts (django-axes) --------------------------------------------------------------------------


class AccessAttemptAdmin(axes_admin.AccessAttemptAdmin):
    """axes' own, with its clean-up action made to work from the admin: axes reads the time of the attempt that its
    sign-in handlers put on the request, and an admin request has none (the action failed with a 500)."""

    @admin.action(description=axes_admin.AccessAttemptAdmin.cleanup_expired_attempts.short_description)
    def cleanup_expired_attempts(self, request, queryset):
        request.axes_attempt_time = None  # "now": what axes' handlers set when no attempt is under way
        return super().cleanup_expired_attempts(request, queryset)


admin.site.unregister(AccessAttempt)
admin.site.register(AccessAttempt, AccessAttemptAdmin)
