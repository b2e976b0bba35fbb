"""The trust's side over HTTP: donors, donations (record, refund, receipt, trace), receipts (register, PDF, void),
expenses, the audit log; and the donor's own corner under /api/v1/me/.

As in the other API modules, views parse input, resolve business keys (fund, donor, item codes) to objects of
the trust, call one ``charity.services`` function and shape the output. Every rule stays in the services.

Donor-facing output (``/me/``) is looked up through the signed-in user's own ``Donor``: another donor's gift is
not found (404, never 403, so its existence is not revealed), and a user without a donor record gets 404.
Where a gift went is told per program, with beneficiaries counted, never named, and a count below five shown as
"fewer than 5" (the donor portal's rule, charity/pages/donor.py).
"""

from __future__ import annotations

from beneficiaries.privacy import shown_count
from collections import OrderedDict
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import DecimalField, Prefetch, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponse
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from beneficiaries.models import Program, StockItem
from beneficiaries.selectors import reach_of_source
from charity import services
from charity.documents import receipt_pdf
from charity.models import ANONYMOUS_NAME, AuditEvent, Channel, Donation, Donor, DonorKind, Expense, ExpenseKind
from charity.models import ExpenseRequest, Receipt, Refund
from charity.roles import APPROVE_EXPENSES, RECORD, trusts_where
from charity.selectors import donation_trace
from ledger.models import Fund

from .base import BooksViewSet, DecimalAmount
from .permissions import BooksPermission
from .reports_api import report_response

CENT = Decimal("0.01")
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="replays the first response to a repeat of this request instead of posting again",
)
PDF = {(200, "application/pdf"): OpenApiTypes.BINARY}


class TrustPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200


def _money(value) -> str:
    return str(Decimal(value or 0).quantize(CENT))


def people(count: int) -> str:
    """Beneficiaries reached, as a donor may see it: a count below five is never given exactly."""
    return str(shown_count(count, fewer="fewer than 5", zero=0))


# -- input helpers ----------------------------------------------------------------------------------------------


class DecimalRate(serializers.DecimalField):
    """An exchange rate: a decimal string (CNY per unit), never a float."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 18)
        kwargs.setdefault("decimal_places", 8)
        kwargs.setdefault("min_value", Decimal("0.00000001"))
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, float):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictInput(serializers.Serializer):
    """Refuses keys it does not know, so that a misspelt or read-only field is not silently ignored."""

    def validate(self, attrs):
        unknown = sorted(set(self.initial_data) - set(self.fields)) if isinstance(self.initial_data, dict) else []
        if unknown:
            raise serializers.ValidationError({unknown[0]: "unknown or read-only field"})
        return attrs


def _key(**kwargs):
    return serializers.CharField(max_length=64, **kwargs)


def _resolve(queryset, lookup: str, value, *, field: str, what: str):
    found = queryset.filter(**{lookup: value}).first()
    if found is None:
        raise serializers.ValidationError({field: f"no {what} {value!r} in this trust"})
    return found


def _valid_receipts():
    return Prefetch("receipts", queryset=Receipt.objects.filter(voided_at__isnull=True).order_by("-pk"),
                    to_attr="valid_receipts")


def _refunded():
    return Coalesce(Sum("refunds__amount_cny"), Value(Decimal(0)), output_field=DecimalField(max_digits=14,
                                                                                             decimal_places=2))


# -- serializers: donors ----------------------------------------------------------------------------------------


class DonorSerializer(serializers.ModelSerializer):
    user = serializers.SlugRelatedField(slug_field="username", read_only=True, help_text="linked sign-in account")

    class Meta:
        model = Donor
        fields = ["external_id", "kind", "name", "anonymous", "email", "phone", "address", "user", "created_at"]


class DonorChangeSerializer(StrictInput):
    kind = serializers.ChoiceField(choices=DonorKind.choices, required=False)
    name = serializers.CharField(max_length=200, required=False)
    anonymous = serializers.BooleanField(required=False)
    email = serializers.CharField(max_length=254, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True)
    address = serializers.CharField(max_length=1000, required=False, allow_blank=True)
    user = serializers.CharField(max_length=150, required=False, allow_null=True, allow_blank=True,
                                 help_text="username of the sign-in account to link (blank or null: unlink)")


class DonorCreateSerializer(DonorChangeSerializer):
    external_id = _key()
    kind = serializers.ChoiceField(choices=DonorKind.choices, required=False, default=DonorKind.INDIVIDUAL)
    name = serializers.CharField(max_length=200)


class MeSerializer(serializers.ModelSerializer):
    trust = serializers.SlugRelatedField(slug_field="code", read_only=True)
    trust_name = serializers.CharField(source="trust.name", read_only=True)

    class Meta:
        model = Donor
        fields = ["external_id", "kind", "name", "anonymous", "email", "phone", "address", "trust", "trust_name"]


# -- serializers: donations -------------------------------------------------------------------------------------


class GiftFieldsMixin(serializers.Serializer):
    amount = serializers.SerializerMethodField(help_text="in the gift's currency")
    currency = serializers.SerializerMethodField()
    fund = serializers.SlugRelatedField(slug_field="code", read_only=True)
    receipt = serializers.SerializerMethodField(help_text="label of the valid receipt (null when none)")
    refunded_cny = serializers.SerializerMethodField()

    def get_amount(self, d) -> str:
        return str(d.amount.amount)

    def get_currency(self, d) -> str:
        return d.amount.currency.code

    def get_receipt(self, d) -> str | None:
        valid = getattr(d, "valid_receipts", None)
        if valid is None:
            valid = list(d.receipts.filter(voided_at__isnull=True).order_by("-pk"))
        return valid[0].label if valid else None

    def get_refunded_cny(self, d) -> str:
        refunded = getattr(d, "refunded", None)
        if refunded is None:
            refunded = d.refunds.aggregate(s=Sum("amount_cny"))["s"]
        return _money(refunded)


class DonationSerializer(GiftFieldsMixin, serializers.ModelSerializer):
    donor = serializers.SlugRelatedField(slug_field="external_id", read_only=True)
    donor_name = serializers.SerializerMethodField()
    entry = serializers.SlugRelatedField(slug_field="sequence", read_only=True, help_text="ledger entry posted")
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Donation
        fields = ["external_id", "date", "donor", "donor_name", "amount", "currency", "fx_rate", "amount_cny",
                  "channel", "fund", "item", "quantity", "description", "receipt", "refunded_cny", "entry",
                  "created_by", "created_at"]

    def get_donor_name(self, d) -> str:
        return d.donor.name if d.donor else ANONYMOUS_NAME


class MyDonationSerializer(GiftFieldsMixin, serializers.ModelSerializer):
    fund_name = serializers.CharField(source="fund.name", read_only=True)

    class Meta:
        model = Donation
        fields = ["external_id", "date", "amount", "currency", "fx_rate", "amount_cny", "channel", "fund",
                  "fund_name", "item", "quantity", "description", "receipt", "refunded_cny"]


class DonationRecordSerializer(StrictInput):
    external_id = _key()
    date = serializers.DateField()
    amount = DecimalAmount(max_digits=14, help_text="in ``currency``, a decimal string with at most two places")
    currency = serializers.CharField(max_length=3, required=False, default="CNY")
    fx_rate = DecimalRate(required=False, allow_null=True, help_text="CNY per unit; required unless CNY")
    fund = serializers.CharField(max_length=32, help_text="fund code")
    channel = serializers.ChoiceField(choices=Channel.choices)
    donor = _key(required=False, allow_null=True, allow_blank=True,
                 help_text="the donor's external id (blank: an anonymous walk-in gift)")
    item = serializers.CharField(max_length=64, required=False, allow_blank=True, default="",
                                 help_text="goods given in kind")
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000, required=False, allow_null=True)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class RefundSerializer(serializers.ModelSerializer):
    donation = serializers.SlugRelatedField(slug_field="external_id", read_only=True)
    amount = serializers.SerializerMethodField()
    currency = serializers.SerializerMethodField()
    entry = serializers.SlugRelatedField(slug_field="sequence", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Refund
        fields = ["external_id", "donation", "date", "amount", "currency", "amount_cny", "reason", "entry",
                  "created_by", "created_at"]

    def get_amount(self, r) -> str:
        return str(r.amount.amount)

    def get_currency(self, r) -> str:
        return r.amount.currency.code


class RefundInputSerializer(StrictInput):
    external_id = _key(help_text="the refund's own id")
    date = serializers.DateField(required=False, help_text="default: today")
    reason = serializers.CharField(max_length=2000)
    amount = DecimalAmount(max_digits=14, required=False, allow_null=True,
                           help_text="in the gift's currency (default: all that is left of it)")


class TraceUseSerializer(serializers.Serializer):
    use = serializers.CharField(help_text="program code, or 'administration'")
    name = serializers.CharField()
    name_en = serializers.CharField()
    amount = serializers.CharField(help_text="CNY of the gift spent on it")
    percent = serializers.IntegerField(help_text="of the gift, rounded")
    first_date = serializers.DateField()
    last_date = serializers.DateField()
    beneficiaries_reached = serializers.CharField(
        allow_null=True, help_text="distinct beneficiaries (a count below 5 is 'fewer than 5'); null for "
        "spending that is not a program's")


class TraceSerializer(serializers.Serializer):
    donation = serializers.CharField()
    date = serializers.DateField()
    amount_cny = serializers.CharField()
    refunded = serializers.CharField()
    spent = serializers.CharField()
    unspent = serializers.CharField()
    uses = TraceUseSerializer(many=True)


def trace_data(donation: Donation) -> dict:
    """Where a gift went: per program, how much, when and how many beneficiaries; never who."""
    trace = donation_trace(donation)
    reach = {r.program_code: r.beneficiaries for r in reach_of_source(entry=donation.entry)}
    programs = {p.code: p for p in Program.objects.filter(book_id=donation.trust.book_id)}
    grouped: OrderedDict[str, dict] = OrderedDict()
    for use in trace.uses:
        row = grouped.setdefault(use.purpose or "administration",
                                 {"amount": Decimal("0.00"), "first": use.date, "last": use.date})
        row["amount"] += use.amount
        row["first"], row["last"] = min(row["first"], use.date), max(row["last"], use.date)
    total = trace.amount_cny or Decimal(1)
    uses = []
    for key, row in grouped.items():
        program = programs.get(key)
        uses.append({
            "use": key,
            "name": program.name if program else "管理费用",
            "name_en": program.name_en if program else "Management and administration",
            "amount": _money(row["amount"]),
            "percent": int((row["amount"] / total * 100).quantize(Decimal(1))),
            "first_date": row["first"], "last_date": row["last"],
            "beneficiaries_reached": people(reach.get(key, 0)) if program else None,
        })
    return TraceSerializer({
        "donation": donation.external_id, "date": donation.date, "amount_cny": _money(trace.amount_cny),
        "refunded": _money(trace.refunded), "spent": _money(trace.spent), "unspent": _money(trace.unspent),
        "uses": uses,
    }).data


def pdf_response(receipt: Receipt, prefix: str = "receipt-") -> HttpResponse:
    response = HttpResponse(receipt_pdf(receipt), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{prefix}{receipt.label}.pdf"'
    return response


def _valid_receipt(donation: Donation) -> Receipt:
    receipt = (donation.receipts.filter(voided_at__isnull=True)
               .select_related("donation__entry").order_by("-pk").first())
    if receipt is None:
        raise Http404("no valid receipt")
    return receipt


# -- serializers: receipts and expenses -------------------------------------------------------------------------


class ReceiptSerializer(serializers.ModelSerializer):
    """A line of the receipt register; an anonymous donor's name is not shown."""

    label = serializers.CharField(read_only=True)
    status = serializers.SerializerMethodField()
    donation = serializers.SlugRelatedField(slug_field="external_id", read_only=True)
    donor = serializers.SerializerMethodField()
    amount = serializers.SerializerMethodField()
    currency = serializers.SerializerMethodField()
    fund = serializers.CharField(source="fund_code", read_only=True)
    officer = serializers.CharField(source="officer_name", read_only=True)
    voided_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Receipt
        fields = ["label", "year", "number", "status", "date", "donation", "donor", "amount", "currency", "fx_rate",
                  "amount_cny", "channel", "item", "quantity", "fund", "issued_at", "officer", "note", "voided_at",
                  "voided_by", "void_reason"]

    def get_status(self, r) -> str:
        return "void" if r.voided else "issued"

    def get_donor(self, r) -> str:
        return (r.donor_name if not r.donor_anonymous else "") or ANONYMOUS_NAME

    def get_amount(self, r) -> str:
        return str(r.amount.amount)

    def get_currency(self, r) -> str:
        return r.amount.currency.code


class VoidSerializer(StrictInput):
    reason = serializers.CharField(max_length=2000)
    reissue = serializers.BooleanField(required=False, default=False,
                                       help_text="issue a new receipt for the gift (the donor's details as now)")


class VoidResultSerializer(serializers.Serializer):
    voided = ReceiptSerializer()
    reissued = ReceiptSerializer(allow_null=True)


class ExpenseSerializer(serializers.ModelSerializer):
    fund = serializers.SlugRelatedField(slug_field="code", read_only=True)
    item = serializers.SlugRelatedField(slug_field="code", read_only=True)
    amount = serializers.SerializerMethodField(help_text="CNY")
    entry = serializers.SlugRelatedField(slug_field="sequence", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Expense
        fields = ["external_id", "date", "kind", "fund", "amount", "item", "quantity", "unit_cost", "payee",
                  "description", "entry", "created_by", "created_at"]

    def get_amount(self, e) -> str:
        return str(e.amount.amount)


class ExpenseRecordSerializer(StrictInput):
    external_id = _key()
    date = serializers.DateField()
    kind = serializers.ChoiceField(choices=ExpenseKind.choices)
    fund = serializers.CharField(max_length=32, help_text="fund code")
    amount = DecimalAmount(max_digits=14, help_text="CNY")
    item = serializers.CharField(max_length=64, required=False, allow_null=True, allow_blank=True,
                                 help_text="stock item code (inventory purchases only)")
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000, required=False, allow_null=True)
    unit_cost = DecimalAmount(max_digits=14, required=False, allow_null=True)
    payee = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = ["id", "at", "username", "address", "channel", "method", "path", "status", "action", "detail"]


# -- filters ----------------------------------------------------------------------------------------------------


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


class ReceiptFilter(filters.FilterSet):
    year = filters.NumberFilter(field_name="year")

    class Meta:
        model = Receipt
        fields = ["year"]


class ExpenseFilter(filters.FilterSet):
    date_from = filters.DateFilter(field_name="date", lookup_expr="gte")
    date_to = filters.DateFilter(field_name="date", lookup_expr="lte")
    fund = filters.CharFilter(field_name="fund__code", help_text="fund code")
    kind = filters.ChoiceFilter(choices=ExpenseKind.choices)

    class Meta:
        model = Expense
        fields = ["date_from", "date_to", "fund", "kind"]


class AuditEventFilter(filters.FilterSet):
    user = filters.CharFilter(field_name="username", help_text="username")
    channel = filters.CharFilter(help_text="web, api, admin or command")
    date_from = filters.DateFilter(field_name="at", lookup_expr="date__gte")
    date_to = filters.DateFilter(field_name="at", lookup_expr="date__lte")

    class Meta:
        model = AuditEvent
        fields = ["user", "channel", "date_from", "date_to"]


# -- views: the trust's books -----------------------------------------------------------------------------------


class TrustViewSetBase(BooksViewSet):
    pagination_class = TrustPagination
    write_perm = RECORD

    @property
    def trust(self):
        return self.get_trust()


class DonorViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TrustViewSetBase):
    """The trust's donors. Changing a donor never changes a receipt already issued."""

    serializer_class = DonorSerializer
    filterset_class = DonorFilter
    lookup_field = "external_id"
    lookup_value_regex = r"[^/]+"
    queryset = Donor.objects.none()

    def scoped_queryset(self):
        return Donor.objects.filter(trust=self.trust).select_related("user").order_by("external_id", "pk")

    def _changes(self, data: dict) -> dict:
        if "user" in data:
            username = data["user"]
            data["user"] = None if not username else _resolve(
                get_user_model().objects.all(), "username", username, field="user", what="user")
        return data

    def _shown(self, donor, code=status.HTTP_200_OK):
        return Response(DonorSerializer(self.scoped_queryset().get(pk=donor.pk)).data, status=code)

    @extend_schema(request=DonorCreateSerializer, responses={201: DonorSerializer})
    def create(self, request, *args, **kwargs):
        data = DonorCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        donor = services.donor_create(trust=self.trust, by=request.user, **self._changes(dict(data.validated_data)))
        return self._shown(donor, status.HTTP_201_CREATED)

    @extend_schema(request=DonorChangeSerializer, responses={200: DonorSerializer})
    def partial_update(self, request, *args, **kwargs):
        donor = self.get_object()
        data = DonorChangeSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        donor = services.donor_update(donor=donor, by=request.user, **self._changes(dict(data.validated_data)))
        return self._shown(donor)


class DonationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TrustViewSetBase):
    """Gifts. Recording one posts it to the ledger and issues its receipt; a correction is a refund."""

    serializer_class = DonationSerializer
    filterset_class = DonationFilter
    lookup_field = "external_id"
    lookup_value_regex = r"[^/]+"
    queryset = Donation.objects.none()

    def scoped_queryset(self):
        return (
            Donation.objects.filter(trust=self.trust)
            .select_related("donor", "fund", "entry", "created_by", "trust")
            .prefetch_related(_valid_receipts())
            .annotate(refunded=_refunded())
            .order_by("-date", "-pk")
        )

    def _shown(self, donation, code=status.HTTP_200_OK):
        return Response(DonationSerializer(self.scoped_queryset().get(pk=donation.pk)).data, status=code)

    @extend_schema(request=DonationRecordSerializer, responses={201: DonationSerializer, 200: DonationSerializer},
                   parameters=[IDEMPOTENCY_KEY])
    def create(self, request, *args, **kwargs):
        """Record a gift (201); the same gift under the same external id again is answered 200, writing nothing."""
        data = DonationRecordSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        trust = self.trust
        values["fund"] = _resolve(Fund.objects.filter(book_id=trust.book_id), "code", values["fund"], field="fund",
                                  what="fund")
        donor = values.pop("donor", None)
        values["donor"] = None if not donor else _resolve(Donor.objects.filter(trust=trust), "external_id", donor,
                                                          field="donor", what="donor")
        existed = Donation.objects.filter(trust=trust, external_id=values["external_id"]).exists()
        donation = services.donation_record(trust=trust, user=request.user, **values)
        return self._shown(donation, status.HTTP_200_OK if existed else status.HTTP_201_CREATED)

    @extend_schema(request=RefundInputSerializer, responses={201: RefundSerializer}, parameters=[IDEMPOTENCY_KEY])
    @action(detail=True, methods=["post"])
    def refund(self, request, *args, **kwargs):
        """Give back the unspent part of a gift (or all of it); its receipt is voided, and reissued for what the
        trust keeps after a partial refund."""
        donation = self.get_object()
        data = RefundInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        values.setdefault("date", timezone.localdate())
        refund = services.donation_refund(donation=donation, user=request.user, **values)
        refund = Refund.objects.select_related("donation", "entry", "created_by").get(pk=refund.pk)
        return Response(RefundSerializer(refund).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=PDF)
    @action(detail=True, methods=["get"])
    def receipt(self, request, *args, **kwargs):
        """The PDF of the gift's valid receipt (404 when every receipt of it was voided)."""
        return pdf_response(_valid_receipt(self.get_object()))

    @extend_schema(responses=TraceSerializer)
    @action(detail=True, methods=["get"])
    def trace(self, request, *args, **kwargs):
        """Where the money went: per program, amounts, dates and beneficiaries reached; what is unspent."""
        return Response(trace_data(self.get_object()))


class ReceiptViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TrustViewSetBase):
    """The receipt register: every number issued, valid or void, in order. Looked up by label (2026-000123)."""

    serializer_class = ReceiptSerializer
    filterset_class = ReceiptFilter
    lookup_field = "label"
    lookup_value_regex = r"\d{4}-\d{6,}"
    queryset = Receipt.objects.none()

    def scoped_queryset(self):
        return (Receipt.objects.filter(trust=self.trust).select_related("donation__entry", "voided_by")
                .order_by("year", "number"))

    def get_object(self):
        year, number = self.kwargs["label"].split("-", 1)
        receipt = self.get_queryset().filter(year=int(year), number=int(number)).first()
        if receipt is None:
            raise Http404("no such receipt")
        self.check_object_permissions(self.request, receipt)
        return receipt

    @extend_schema(responses=PDF)
    @action(detail=True, methods=["get"])
    def pdf(self, request, *args, **kwargs):
        return pdf_response(self.get_object())

    @extend_schema(request=VoidSerializer, responses={200: VoidResultSerializer})
    @action(detail=True, methods=["post"])
    def void(self, request, *args, **kwargs):
        """Void a receipt (its number stays, with the reason); ``reissue`` issues a new one for the same gift."""
        receipt = self.get_object()
        data = VoidSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        new = services.receipt_void(receipt=receipt, user=request.user, **data.validated_data)
        fresh = self.scoped_queryset()
        return Response({
            "voided": ReceiptSerializer(fresh.get(pk=receipt.pk)).data,
            "reissued": ReceiptSerializer(fresh.get(pk=new.pk)).data if new is not None else None,
        })


class ExpenseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TrustViewSetBase):
    """Money paid out by a fund: management, fundraising, bank fees, stock bought for the aid inventory."""

    serializer_class = ExpenseSerializer
    filterset_class = ExpenseFilter
    lookup_field = "external_id"
    lookup_value_regex = r"[^/]+"
    queryset = Expense.objects.none()

    def scoped_queryset(self):
        return (Expense.objects.filter(trust=self.trust).select_related("fund", "item", "entry", "created_by")
                .order_by("-date", "-pk"))

    @extend_schema(request=ExpenseRecordSerializer, responses={201: ExpenseSerializer, 200: ExpenseSerializer},
                   parameters=[IDEMPOTENCY_KEY])
    def create(self, request, *args, **kwargs):
        """Record and post an expense paid from the bank (201); the same expense again is answered 200."""
        data = ExpenseRecordSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        trust = self.trust
        values["fund"] = _resolve(Fund.objects.filter(book_id=trust.book_id), "code", values["fund"], field="fund",
                                  what="fund")
        item = values.pop("item", None)
        values["item"] = None if not item else _resolve(StockItem.objects.filter(book_id=trust.book_id), "code", item,
                                                        field="item", what="stock item")
        existed = Expense.objects.filter(trust=trust, external_id=values["external_id"]).exists()
        expense = services.expense_record(trust=trust, user=request.user, **values)
        code = status.HTTP_200_OK if existed else status.HTTP_201_CREATED
        return Response(ExpenseSerializer(self.scoped_queryset().get(pk=expense.pk)).data, status=code)


class ExpenseRequestSerializer(serializers.ModelSerializer):
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    expense = serializers.SlugRelatedField(slug_field="external_id", read_only=True)

    class Meta:
        model = ExpenseRequest
        fields = ["id", "external_id", "data", "status", "requested_by", "requested_at", "decided_by", "decided_at",
                  "reason", "expense"]


class ExpenseRejectSerializer(StrictInput):
    reason = serializers.CharField(max_length=500)


class ExpenseRequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TrustViewSetBase):
    """Expenses drafted for a second person's approval (those above the trust's threshold must be)."""

    serializer_class = ExpenseRequestSerializer
    write_perms = {"create": RECORD, "approve": APPROVE_EXPENSES, "reject": APPROVE_EXPENSES}
    queryset = ExpenseRequest.objects.none()

    def scoped_queryset(self):
        requests = ExpenseRequest.objects.filter(trust=self.trust).select_related(
            "requested_by", "decided_by", "expense").order_by("-pk")
        if self.request.query_params.get("status"):
            requests = requests.filter(status=self.request.query_params["status"])
        return requests

    @extend_schema(request=ExpenseRecordSerializer, responses={202: ExpenseRequestSerializer})
    def create(self, request, *args, **kwargs):
        """Draft an expense; nothing is recorded until another user approves it."""
        data = ExpenseRecordSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        trust = self.trust
        values["fund"] = _resolve(Fund.objects.filter(book_id=trust.book_id), "code", values["fund"], field="fund",
                                  what="fund")
        draft = services.expense_request_draft(trust=trust, user=request.user, **values)
        return Response(ExpenseRequestSerializer(draft).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={200: ExpenseRequestSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, *args, **kwargs):
        done = services.expense_request_approve(request=self.get_object(), user=request.user)
        return Response(ExpenseRequestSerializer(self.scoped_queryset().get(pk=done.pk)).data)

    @extend_schema(request=ExpenseRejectSerializer, responses={200: ExpenseRequestSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request, *args, **kwargs):
        data = ExpenseRejectSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        done = services.expense_request_reject(request=self.get_object(), user=request.user,
                                               reason=data.validated_data["reason"])
        return Response(ExpenseRequestSerializer(self.scoped_queryset().get(pk=done.pk)).data)


class AuditLogViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Who changed what, when and from which address (newest first). Needs ``charity.view_audit_log``."""

    permission_classes = [BooksPermission]
    read_perm = "charity.view_audit_log"
    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilter
    pagination_class = TrustPagination
    queryset = AuditEvent.objects.order_by("-at", "-pk")

    def get_queryset(self):
        """An administrator reads every event; anyone else those of the trusts where they may read the log."""
        user = self.request.user
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        if user.has_perm(self.read_perm):  # a global grant: the administrator's
            return self.queryset
        return self.queryset.filter(trust__in=trusts_where(user, self.read_perm))


# -- views: the donor's own corner ------------------------------------------------------------------------------


def own_donor(request) -> Donor:
    donor = Donor.objects.filter(user=request.user).select_related("trust__book").first() \
        if request.user.is_authenticated else None
    if donor is None:
        raise Http404("no donor record for this user")
    return donor


class MeViewSet(viewsets.GenericViewSet):
    """The signed-in donor's own record and annual statement."""

    serializer_class = MeSerializer
    queryset = Donor.objects.none()
    pagination_class = None

    @extend_schema(responses=MeSerializer)
    def retrieve(self, request, *args, **kwargs):
        return Response(MeSerializer(own_donor(request)).data)

    @extend_schema(
        parameters=[OpenApiParameter("year", OpenApiTypes.INT, description="default: this year")],
        responses={**PDF, 400: OpenApiResponse(description="a bad year")},
    )
    def statement(self, request, *args, **kwargs):
        """The donor statement of a year as PDF: each gift, its receipt, where it went."""
        donor = own_donor(request)
        if not donor.external_id:  # the report finds a donor by external id; this one cannot be found
            raise Http404("no statement for this donor")
        query = {"format": "pdf", "donor": donor.external_id}
        if request.query_params.get("year"):
            query["year"] = request.query_params["year"]
        return report_response(book=donor.trust.book, name="donor-statement", query=query, filename_prefix="my-")


class MyDonationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The signed-in donor's own gifts; anyone else's is simply not found."""

    serializer_class = MyDonationSerializer
    lookup_field = "external_id"
    pagination_class = TrustPagination
    queryset = Donation.objects.none()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return (
            Donation.objects.filter(donor=own_donor(self.request))
            .select_related("fund", "entry", "trust")
            .prefetch_related(_valid_receipts())
            .annotate(refunded=_refunded())
            .order_by("-date", "-pk")
        )

    @extend_schema(responses=TraceSerializer)
    def trace(self, request, *args, **kwargs):
        """Where my money went: per program, amounts, dates and how many beneficiaries (never who)."""
        return Response(trace_data(self.get_object()))

    @extend_schema(responses=PDF, operation_id="v1_me_donations_receipt")
    def receipt(self, request, *args, **kwargs):
        """The PDF of my gift's valid receipt."""
        return pdf_response(_valid_receipt(self.get_object()))

