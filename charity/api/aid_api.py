"""The aid side over HTTP: programs, inventory, households, beneficiaries, disbursements and batches.

Business keys are in the URLs (program and batch codes, external ids). Views parse input, resolve codes to
objects of the trust, call one ``beneficiaries.services`` function and shape the output; every rule (four eyes,
limits, fund purpose, stock) stays in the services, whose refusals the exception handler turns into 400.

Identity numbers and phones are never serialized from the model fields: each response is given the
``beneficiaries.privacy.Pii`` of every person it shows. For users without ``beneficiaries.view_pii`` those are
masked; for users with it they are full and every person shown is written to ``PiiAccessLog`` (one insert per
page for lists, ``beneficiary_pii`` for a single record).
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Prefetch, Q, Sum
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from beneficiaries import services as aid
from beneficiaries.models import (
    LIVE_STATUSES,
    POSTED_STATUSES,
    BatchStatus,
    Beneficiary,
    BeneficiaryStatus,
    Disbursement,
    DisbursementBatch,
    DisbursementStatus,
    Gender,
    Household,
    PiiAccessLog,
    Program,
    StockBalance,
    StockItem,
    StockMove,
    StockMoveKind,
    Verification,
    VerificationMethod,
    VerificationResult,
)
from beneficiaries.authority import APPROVE, DRAFT, REGISTER
from beneficiaries.errors import DuplicateBeneficiary
from beneficiaries.privacy import Pii, beneficiary_pii, can_view_pii, ensure_match_logged, full_pii, masked_pii
from beneficiaries.selectors import disbursement_allocations, household_list
from ledger.models import Fund, from_minor

from .base import BooksViewSet, DecimalAmount

CENT = Decimal("0.01")
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="replays the first response to a repeat of this request instead of posting again",
)


class AidPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200


# -- PII --------------------------------------------------------------------------------------------------------


def pii_of(people, *, user, purpose: str) -> dict[int, Pii]:
    """The Pii of each beneficiary as ``user`` may see it; unmasked views are logged in one insert."""
    people = [p for p in people if p is not None]
    if not can_view_pii(user):
        return {p.pk: masked_pii(p) for p in people}
    if people:
        with transaction.atomic():
            PiiAccessLog.objects.bulk_create(
                [PiiAccessLog(beneficiary=p, user=user, fields="id_number,phone", purpose=purpose[:200])
                 for p in people]
            )
    return {p.pk: full_pii(p) for p in people}


class PiiFieldsMixin(serializers.Serializer):
    """``id_number``, ``phone`` and ``birth_date`` from ``context["pii"]``; masked when the context does not hold
    the person (``beneficiaries.privacy``)."""

    id_number = serializers.SerializerMethodField(help_text="masked unless the user may see identity numbers")
    phone = serializers.SerializerMethodField(help_text="masked unless the user may see phone numbers")
    birth_date = serializers.SerializerMethodField(
        help_text="YYYY-MM-DD for a user who may see identity numbers; otherwise the birth year (YYYY), or "
        "YYYY-YYYY for someone born this year or last")
    pii_masked = serializers.SerializerMethodField()

    def _pii(self, person) -> Pii:
        return self.context.get("pii", {}).get(person.pk) or masked_pii(person)

    def get_birth_date(self, person) -> str:
        return self._pii(person).birth

    def get_id_number(self, person) -> str:
        return self._pii(person).id_number

    def get_phone(self, person) -> str:
        return self._pii(person).phone

    def get_pii_masked(self, person) -> bool:
        return self._pii(person).masked


# -- serializers: programs and inventory ----------------------------------------------------------------------


class ProgramSerializer(serializers.ModelSerializer):
    expense_account = serializers.SlugRelatedField(slug_field="code", read_only=True)
    pay_account = serializers.SlugRelatedField(slug_field="code", read_only=True)
    stock_item = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Program
        fields = ["code", "name", "name_en", "kind", "active", "expense_account", "pay_account", "stock_item",
                  "limit_amount_per_year", "limit_count_per_year"]


class StockBalanceSerializer(serializers.ModelSerializer):
    fund = serializers.SlugRelatedField(slug_field="code", read_only=True)
    value = serializers.SerializerMethodField(help_text="CNY at weighted-average cost")

    class Meta:
        model = StockBalance
        fields = ["fund", "quantity", "value"]

    def get_value(self, balance) -> str:
        return str(balance.value_amount)


class StockItemSerializer(serializers.ModelSerializer):
    inventory_account = serializers.SlugRelatedField(slug_field="code", read_only=True)
    on_hand = StockBalanceSerializer(source="balances", many=True, read_only=True, help_text="per fund")
    quantity = serializers.SerializerMethodField(help_text="on hand, all funds")
    value = serializers.SerializerMethodField(help_text="CNY, all funds")

    class Meta:
        model = StockItem
        fields = ["code", "name", "name_en", "unit", "inventory_account", "quantity", "value", "on_hand"]

    def get_quantity(self, item) -> int:
        return sum(b.quantity for b in item.balances.all())

    def get_value(self, item) -> str:
        return str(from_minor(sum(b.value for b in item.balances.all())))


class StockMoveSerializer(serializers.ModelSerializer):
    item = serializers.SlugRelatedField(slug_field="code", read_only=True)
    fund = serializers.SlugRelatedField(slug_field="code", read_only=True)
    entry = serializers.SlugRelatedField(slug_field="sequence", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    value = serializers.SerializerMethodField(help_text="CNY; negative when stock leaves")

    class Meta:
        model = StockMove
        fields = ["id", "item", "fund", "date", "kind", "quantity", "value", "entry", "created_by", "created_at"]

    def get_value(self, move) -> str:
        return str(move.value_amount)


# -- serializers: registry ------------------------------------------------------------------------------------


class MemberSerializer(PiiFieldsMixin, serializers.ModelSerializer):
    guardian = serializers.SlugRelatedField(slug_field="external_id", read_only=True)

    class Meta:
        model = Beneficiary
        fields = ["external_id", "name", "id_number", "phone", "pii_masked", "birth_date", "gender", "guardian",
                  "status"]


class HouseholdSerializer(serializers.ModelSerializer):
    mother = serializers.SlugRelatedField(slug_field="external_id", read_only=True)
    members = MemberSerializer(many=True, read_only=True)

    class Meta:
        model = Household
        fields = ["external_id", "mother", "created_at", "members"]


class BeneficiarySerializer(PiiFieldsMixin, serializers.ModelSerializer):
    household = serializers.SlugRelatedField(slug_field="external_id", read_only=True)
    guardian = serializers.SlugRelatedField(slug_field="external_id", read_only=True)

    class Meta:
        model = Beneficiary
        fields = ["external_id", "name", "id_number", "phone", "pii_masked", "birth_date", "gender", "household",
                  "guardian", "district", "community", "consent_date", "consent_given_by", "status", "exited_on",
                  "created_at", "updated_at"]


class StrictInput(serializers.Serializer):
    """Refuses keys it does not know, so that a misspelt or read-only field is not silently ignored."""

    def validate(self, attrs):
        unknown = sorted(set(self.initial_data) - set(self.fields)) if isinstance(self.initial_data, dict) else []
        if unknown:
            raise serializers.ValidationError({unknown[0]: "unknown or read-only field"})
        return attrs


def _key(**kwargs):
    return serializers.CharField(max_length=64, **kwargs)


class BeneficiaryChangeSerializer(StrictInput):
    name = serializers.CharField(max_length=100, required=False)
    id_number = serializers.CharField(max_length=32, required=False)
    birth_date = serializers.DateField(required=False)
    gender = serializers.ChoiceField(choices=Gender.choices, required=False, allow_blank=True,
                                     help_text="default: from the identity number")
    household = _key(required=False, allow_null=True, allow_blank=True, help_text="household id (created if new)")
    guardian = _key(required=False, allow_null=True, allow_blank=True, help_text="the guardian's external id")
    district = serializers.CharField(max_length=100, required=False, allow_blank=True)
    community = serializers.CharField(max_length=200, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=20, required=False, allow_blank=True)
    consent_date = serializers.DateField(required=False, allow_null=True)
    consent_given_by = serializers.CharField(max_length=100, required=False, allow_blank=True)


class BeneficiaryRegisterSerializer(BeneficiaryChangeSerializer):
    external_id = _key()
    name = serializers.CharField(max_length=100)
    id_number = serializers.CharField(max_length=32)
    birth_date = serializers.DateField()


class ExitSerializer(StrictInput):
    date = serializers.DateField()
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


# -- serializers: disbursements and batches --------------------------------------------------------------------


class DisbursementVerificationSerializer(serializers.ModelSerializer):
    verified_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Verification
        fields = ["date", "method", "result", "note", "verified_by", "created_at"]


class DisbursementSerializer(serializers.ModelSerializer):
    batch = serializers.SlugRelatedField(slug_field="code", read_only=True)
    beneficiary = serializers.SlugRelatedField(slug_field="external_id", read_only=True)
    program = serializers.SlugRelatedField(slug_field="code", read_only=True)
    fund = serializers.SlugRelatedField(slug_field="code", read_only=True)
    entry = serializers.SlugRelatedField(slug_field="sequence", read_only=True, help_text="ledger entry posted")
    reversal_entry = serializers.SlugRelatedField(slug_field="sequence", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    approved_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    posted_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    cancelled_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    verification = serializers.SerializerMethodField()

    class Meta:
        model = Disbursement
        fields = ["external_id", "batch", "beneficiary", "program", "fund", "date", "amount", "quantity",
                  "description", "status", "created_by", "created_at", "approved_by", "approved_at",
                  "approved_outside", "posted_by", "posted_at", "entry", "cancelled_by", "cancelled_at",
                  "reversal_entry", "reason", "verification"]

    @extend_schema_field(DisbursementVerificationSerializer(allow_null=True))
    def get_verification(self, d):
        verification = getattr(d, "verification", None)
        return DisbursementVerificationSerializer(verification).data if verification is not None else None


class AllocationSerializer(serializers.Serializer):
    source_entry = serializers.IntegerField(help_text="sequence of the donation's entry")
    source_date = serializers.DateField()
    fund = serializers.CharField()
    amount = serializers.CharField(help_text="CNY of that donation spent here (negative: released)")


class DisbursementDetailSerializer(DisbursementSerializer):
    funded_by = serializers.SerializerMethodField(help_text="which donations paid for it (FIFO, per fund)")

    class Meta(DisbursementSerializer.Meta):
        fields = DisbursementSerializer.Meta.fields + ["funded_by"]

    @extend_schema_field(AllocationSerializer(many=True))
    def get_funded_by(self, d):
        rows = [
            {"source_entry": a.source.leg.entry.sequence, "source_date": a.source.date, "fund": a.source.fund.code,
             "amount": str(a.amount_value)}
            for a in disbursement_allocations(disbursement=d)
        ]
        return AllocationSerializer(rows, many=True).data


class DisbursementDraftSerializer(StrictInput):
    external_id = _key()
    beneficiary = _key(help_text="the beneficiary's external id")
    program = serializers.CharField(max_length=32, help_text="program code")
    fund = serializers.CharField(max_length=32, help_text="fund code")
    date = serializers.DateField()
    amount = DecimalAmount(max_digits=14, required=False, allow_null=True,
                           help_text="cash: required; goods: optional, the value delivery must match")
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000, required=False, default=1)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    batch = _key(required=False, allow_null=True, allow_blank=True, help_text="code of a draft batch")


class VerifySerializer(StrictInput):
    date = serializers.DateField(required=False, help_text="default: today")
    method = serializers.ChoiceField(choices=VerificationMethod.choices)
    result = serializers.ChoiceField(choices=VerificationResult.choices)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ReasonSerializer(StrictInput):
    reason = serializers.CharField(max_length=500)


class ReverseSerializer(ReasonSerializer):
    date = serializers.DateField(required=False, help_text="date of the reversing entry (default: today)")


def _cny(total) -> str:
    """A sum of amounts as a string with two places (SQLite's SUM drops trailing zeros)."""
    return str(Decimal(total or 0).quantize(CENT))


class BatchSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    approved_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    posted_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    counts = serializers.SerializerMethodField(help_text="disbursements in the batch by status")
    total_amount = serializers.SerializerMethodField(help_text="CNY of live disbursements with a known amount")
    posted_amount = serializers.SerializerMethodField(help_text="CNY paid or delivered")
    total_quantity = serializers.SerializerMethodField(help_text="units of live disbursements")

    class Meta:
        model = DisbursementBatch
        fields = ["code", "description", "status", "created_by", "created_at", "approved_by", "approved_at",
                  "approved_outside", "posted_by", "posted_at", "counts", "total_amount", "posted_amount",
                  "total_quantity"]

    @extend_schema_field(serializers.DictField(child=serializers.IntegerField()))
    def get_counts(self, batch):
        counts = {s: getattr(batch, f"n_{s}", 0) for s in DisbursementStatus.values}
        counts["total"] = sum(counts.values())
        return counts

    def get_total_amount(self, batch) -> str:
        return _cny(batch.live_amount)

    def get_posted_amount(self, batch) -> str:
        return _cny(batch.posted_amount)

    def get_total_quantity(self, batch) -> int:
        return batch.live_quantity or 0


class BatchCreateSerializer(StrictInput):
    code = _key()
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


# -- filters ----------------------------------------------------------------------------------------------------


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


# -- helpers ----------------------------------------------------------------------------------------------------


def _resolve(queryset, lookup: str, value, *, field: str, what: str):
    """The object of the trust whose ``lookup`` is ``value`` (from the input's ``field``), or a 400 naming it."""
    found = queryset.filter(**{lookup: value}).first()
    if found is None:
        raise serializers.ValidationError({field: f"no {what} {value!r} in this trust"})
    return found


def _blank(value) -> bool:
    return value is None or value == ""


class AidViewSet(BooksViewSet):
    pagination_class = AidPagination

    @property
    def book(self):
        return self.get_trust().book


# -- views: programs and inventory ----------------------------------------------------------------------------


class ProgramViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, AidViewSet):
    """The trust's aid programs with their yearly limits per beneficiary."""

    serializer_class = ProgramSerializer
    lookup_field = "code"
    lookup_value_regex = r"[^/]+"  # business keys may hold dots
    queryset = Program.objects.none()

    def scoped_queryset(self):
        return (Program.objects.filter(book=self.book)
                .select_related("expense_account", "pay_account", "stock_item").order_by("code"))


class StockItemViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, AidViewSet):
    """Aid inventory: each item with the quantity and value on hand in each fund."""

    serializer_class = StockItemSerializer
    lookup_field = "code"
    lookup_value_regex = r"[^/]+"  # business keys may hold dots
    queryset = StockItem.objects.none()

    def scoped_queryset(self):
        balances = StockBalance.objects.select_related("fund").order_by("fund__code")
        return (StockItem.objects.filter(book=self.book).select_related("inventory_account")
                .prefetch_related(Prefetch("balances", queryset=balances)).order_by("code"))


class StockMoveViewSet(mixins.ListModelMixin, AidViewSet):
    """Every movement of aid stock (the inventory ledger), oldest first."""

    serializer_class = StockMoveSerializer
    filterset_class = StockMoveFilter
    queryset = StockMove.objects.none()

    def scoped_queryset(self):
        return (StockMove.objects.filter(item__book=self.book)
                .select_related("item", "fund", "entry", "created_by").order_by("date", "pk"))


# -- views: registry ------------------------------------------------------------------------------------------


class HouseholdViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, AidViewSet):
    """Households with their members; members' identity numbers and phones masked unless the user may see them."""

    serializer_class = HouseholdSerializer
    lookup_field = "external_id"
    lookup_value_regex = r"[^/]+"  # business keys may hold dots
    queryset = Household.objects.none()

    def scoped_queryset(self):
        members = Beneficiary.objects.select_related("guardian").order_by("birth_date", "external_id")
        return household_list(book=self.book).prefetch_related(None).prefetch_related(
            Prefetch("members", queryset=members)
        )

    def _shown(self, households, purpose: str):
        people = [m for h in households for m in h.members.all()]
        context = self.get_serializer_context()
        context["pii"] = pii_of(people, user=self.request.user, purpose=purpose)
        return HouseholdSerializer(households, many=True, context=context).data

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self._shown(page, "api: household list"))

    def retrieve(self, request, *args, **kwargs):
        return Response(self._shown([self.get_object()], "api: household")[0])


class BeneficiaryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, AidViewSet):
    """The registry. Registering and changing go through the registry service, which checks the whole record."""

    serializer_class = BeneficiarySerializer
    filterset_class = BeneficiaryFilter
    lookup_field = "external_id"
    lookup_value_regex = r"[^/]+"  # business keys may hold dots
    write_perm = REGISTER
    queryset = Beneficiary.objects.none()

    def scoped_queryset(self):
        return (Beneficiary.objects.filter(book=self.book).select_related("household", "guardian")
                .order_by("external_id"))

    def dispatch(self, request, *args, **kwargs):
        # A duplicate's lookup is logged by the registry service, but a refused request rolls its transaction
        # back (on PostgreSQL the whole request's): write the log row again once that is over.
        self._refused_duplicates = []
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            for error in self._refused_duplicates:
                ensure_match_logged(error)

    def handle_exception(self, exc):
        if isinstance(exc, DuplicateBeneficiary):
            self._refused_duplicates.append(exc)
        return super().handle_exception(exc)

    def _data(self, people, purpose: str, *, many: bool):
        context = self.get_serializer_context()
        if many:
            context["pii"] = pii_of(people, user=self.request.user, purpose=purpose)
            return BeneficiarySerializer(people, many=True, context=context).data
        context["pii"] = {people.pk: beneficiary_pii(beneficiary=people, user=self.request.user, purpose=purpose)}
        return BeneficiarySerializer(people, context=context).data

    def _fresh(self, person):
        return self.scoped_queryset().get(pk=person.pk)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self._data(page, "api: beneficiary list", many=True))

    def retrieve(self, request, *args, **kwargs):
        return Response(self._data(self.get_object(), "api: beneficiary", many=False))

    def _links(self, data: dict) -> dict:
        """Household and guardian from their ids (a new household id makes a household: the importer does too)."""
        links = {}
        if "guardian" in data:
            links["guardian"] = None if _blank(data["guardian"]) else _resolve(
                Beneficiary.objects.filter(book=self.book), "external_id", data["guardian"], field="guardian",
                what="beneficiary")
        if "household" in data:
            links["household"] = None if _blank(data["household"]) else aid.household_get_or_create(
                book=self.book, external_id=data["household"], user=self.request.user)
        return links

    @extend_schema(request=BeneficiaryRegisterSerializer, responses={201: BeneficiarySerializer})
    def create(self, request, *args, **kwargs):
        data = BeneficiaryRegisterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        with transaction.atomic():
            values.update(self._links(values))
            person = aid.beneficiary_register(book=self.book, user=request.user, **values)
        return Response(self._data(self._fresh(person), "api: registered", many=False), status=status.HTTP_201_CREATED)

    @extend_schema(request=BeneficiaryChangeSerializer, responses={200: BeneficiarySerializer})
    def partial_update(self, request, *args, **kwargs):
        person = self.get_object()
        data = BeneficiaryChangeSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        with transaction.atomic():
            changes.update(self._links(changes))
            person = aid.beneficiary_update(beneficiary=person, user=request.user, **changes)
        return Response(self._data(self._fresh(person), "api: changed", many=False))

    @extend_schema(request=ExitSerializer, responses={200: BeneficiarySerializer})
    @action(detail=True, methods=["post"], url_path="exit")
    def exit(self, request, *args, **kwargs):
        person = self.get_object()
        data = ExitSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        person = aid.beneficiary_exit(beneficiary=person, user=request.user, **data.validated_data)
        return Response(self._data(self._fresh(person), "api: exited", many=False))


# -- views: disbursements and batches -------------------------------------------------------------------------


class DisbursementViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, AidViewSet):
    """Aid to one beneficiary: draft -> approve (another user) -> pay/deliver (posts) -> verify; cancel before
    posting, reverse after. Members of a batch move with their batch."""

    serializer_class = DisbursementSerializer
    filterset_class = DisbursementFilter
    lookup_field = "external_id"
    lookup_value_regex = r"[^/]+"  # business keys may hold dots
    write_perms = {"create": DRAFT, "verify": DRAFT, "approve": APPROVE, "pay": APPROVE, "cancel": APPROVE,
                   "reverse": APPROVE}
    queryset = Disbursement.objects.none()

    def scoped_queryset(self):
        return (
            Disbursement.objects.filter(book=self.book)
            .select_related("batch", "beneficiary", "program", "fund", "entry", "reversal_entry", "created_by",
                            "approved_by", "posted_by", "cancelled_by", "verification__verified_by")
            .order_by("date", "external_id")
        )

    def get_serializer_class(self):
        return DisbursementSerializer if self.action == "list" else DisbursementDetailSerializer

    def _shown(self, d, code=status.HTTP_200_OK):
        return Response(DisbursementDetailSerializer(self.scoped_queryset().get(pk=d.pk)).data, status=code)

    @extend_schema(request=DisbursementDraftSerializer, responses={201: DisbursementDetailSerializer})
    def create(self, request, *args, **kwargs):
        data = DisbursementDraftSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        book = self.book
        values["beneficiary"] = _resolve(Beneficiary.objects.filter(book=book), "external_id", values["beneficiary"],
                                         field="beneficiary", what="beneficiary")
        values["program"] = _resolve(Program.objects.filter(book=book), "code", values["program"], field="program",
                                     what="program")
        values["fund"] = _resolve(Fund.objects.filter(book=book), "code", values["fund"], field="fund", what="fund")
        batch = values.pop("batch", None)
        values["batch"] = None if _blank(batch) else _resolve(
            DisbursementBatch.objects.filter(book=book), "code", batch, field="batch", what="batch")
        d = aid.disbursement_draft(book=book, user=request.user, **values)
        return self._shown(d, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: DisbursementDetailSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, *args, **kwargs):
        return self._shown(aid.disbursement_approve(disbursement=self.get_object(), user=request.user))

    @extend_schema(request=None, responses={200: DisbursementDetailSerializer}, parameters=[IDEMPOTENCY_KEY])
    @action(detail=True, methods=["post"])
    def pay(self, request, *args, **kwargs):
        """Pay (cash) or deliver (goods): posts the ledger entry."""
        return self._shown(aid.disbursement_pay(disbursement=self.get_object(), user=request.user))

    @extend_schema(request=VerifySerializer, responses={200: DisbursementDetailSerializer})
    @action(detail=True, methods=["post"])
    def verify(self, request, *args, **kwargs):
        d = self.get_object()
        data = VerifySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        values.setdefault("date", timezone.localdate())
        aid.disbursement_verify(disbursement=d, user=request.user, **values)
        return self._shown(d)

    @extend_schema(request=ReasonSerializer, responses={200: DisbursementDetailSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, *args, **kwargs):
        d = self.get_object()
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._shown(aid.disbursement_cancel(disbursement=d, user=request.user, **data.validated_data))

    @extend_schema(request=ReverseSerializer, responses={200: DisbursementDetailSerializer},
                   parameters=[IDEMPOTENCY_KEY])
    @action(detail=True, methods=["post"])
    def reverse(self, request, *args, **kwargs):
        d = self.get_object()
        data = ReverseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        values.setdefault("date", timezone.localdate())
        return self._shown(aid.disbursement_reverse(disbursement=d, user=request.user, **values))


class BatchViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, AidViewSet):
    """A day's aid approved and posted as a whole. Disbursements join a draft batch when drafted with its code."""

    serializer_class = BatchSerializer
    filterset_class = BatchFilter
    lookup_field = "code"
    lookup_value_regex = r"[^/]+"  # business keys may hold dots
    write_perms = {"create": DRAFT, "approve": APPROVE, "post_batch": APPROVE, "cancel": APPROVE}
    queryset = DisbursementBatch.objects.none()

    def scoped_queryset(self):
        live = Q(disbursements__status__in=LIVE_STATUSES)
        per_status = {f"n_{s}": Count("disbursements", filter=Q(disbursements__status=s))
                      for s in DisbursementStatus.values}
        return (
            DisbursementBatch.objects.filter(book=self.book)
            .select_related("created_by", "approved_by", "posted_by")
            .annotate(
                live_amount=Sum("disbursements__amount", filter=live),
                live_quantity=Sum("disbursements__quantity", filter=live),
                posted_amount=Sum("disbursements__amount", filter=Q(disbursements__status__in=POSTED_STATUSES)),
                **per_status,
            )
            .order_by("code")
        )

    def _shown(self, batch, code=status.HTTP_200_OK):
        return Response(BatchSerializer(self.scoped_queryset().get(pk=batch.pk)).data, status=code)

    @extend_schema(request=BatchCreateSerializer, responses={201: BatchSerializer})
    def create(self, request, *args, **kwargs):
        data = BatchCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        batch = aid.batch_create(book=self.book, user=request.user, **data.validated_data)
        return self._shown(batch, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: BatchSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, *args, **kwargs):
        return self._shown(aid.batch_approve(batch=self.get_object(), user=request.user))

    @extend_schema(request=None, responses={200: BatchSerializer}, parameters=[IDEMPOTENCY_KEY])
    @action(detail=True, methods=["post"], url_path="post")
    def post_batch(self, request, *args, **kwargs):
        """Post every disbursement of the approved batch in one transaction: all or none."""
        return self._shown(aid.batch_post(batch=self.get_object(), user=request.user))

    @extend_schema(request=ReasonSerializer, responses={200: BatchSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, *args, **kwargs):
        batch = self.get_object()
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._shown(aid.batch_cancel(batch=batch, user=request.user, **data.validated_data))
