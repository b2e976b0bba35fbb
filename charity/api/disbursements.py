"""``disbursements/``: aid to one beneficiary: draft -> approve (another user) -> pay/deliver (posts) -> verify;
cancel before posting, reverse after. Every rule (four eyes, limits, fund purpose, stock) stays in
``beneficiaries.services``."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from beneficiaries import services as aid
from beneficiaries.authority import APPROVE, DRAFT
from beneficiaries.models import (
    Beneficiary,
    Disbursement,
    DisbursementBatch,
    Program,
    Verification,
    VerificationMethod,
    VerificationResult,
)
from beneficiaries.selectors import disbursement_allocations
from ledger.models import Fund

from .base import BooksViewSet
from .fields import DecimalAmount, ReasonSerializer, StrictInput, key_field, resolve, resolve_optional
from .filters import DisbursementFilter
from .idempotency import IDEMPOTENCY_KEY


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
    external_id = key_field()
    beneficiary = key_field(help_text="the beneficiary's external id")
    program = serializers.CharField(max_length=32, help_text="program code")
    fund = serializers.CharField(max_length=32, help_text="fund code")
    date = serializers.DateField()
    amount = DecimalAmount(max_digits=14, required=False, allow_null=True,
                           help_text="cash: required; goods: optional, the value delivery must match")
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000, required=False, default=1)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    batch = key_field(required=False, allow_null=True, allow_blank=True, help_text="code of a draft batch")


class VerifySerializer(StrictInput):
    date = serializers.DateField(required=False, help_text="default: today")
    method = serializers.ChoiceField(choices=VerificationMethod.choices)
    result = serializers.ChoiceField(choices=VerificationResult.choices)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ReverseSerializer(ReasonSerializer):
    date = serializers.DateField(required=False, help_text="date of the reversing entry (default: today)")


class DisbursementViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BooksViewSet):
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
        values["beneficiary"] = resolve(Beneficiary.objects.filter(book=book), "external_id", values["beneficiary"],
                                        field="beneficiary", what="beneficiary")
        values["program"] = resolve(Program.objects.filter(book=book), "code", values["program"], field="program",
                                    what="program")
        values["fund"] = resolve(Fund.objects.filter(book=book), "code", values["fund"], field="fund", what="fund")
        values["batch"] = resolve_optional(DisbursementBatch.objects.filter(book=book), "code", values.get("batch"),
                                           field="batch", what="batch")
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
