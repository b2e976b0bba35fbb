"""Trusts, accounts (with balances), funds, journal entries (post, reverse), periods (close), verification."""

from __future__ import annotations

import datetime as dt

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from charity import services
from charity.models import ManualEntry, Trust
from charity.roles import APPROVE_ENTRIES, DRAFT_ENTRIES, READ, trusts_where
from ledger import selectors
from ledger import services as ledger
from ledger.models import Account, AccountType, Fund, JournalEntry, Leg, Period, Restriction, from_minor
from ledger.verification import verify_book

from .base import BooksViewSet, DecimalAmount, TrustScopedMixin, query_date
from .permissions import BooksPermission

# -- serializers ------------------------------------------------------------------------------------------------


class TrustSerializer(serializers.ModelSerializer):
    class Meta:
        model = Trust
        fields = ["code", "name", "name_en", "trustee", "supervisor", "filing_number", "base_currency"]


class AccountSerializer(serializers.ModelSerializer):
    balance = serializers.SerializerMethodField(help_text="balance in CNY on the account's normal side")
    parent = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Account
        fields = ["code", "name", "name_en", "type", "parent", "purpose", "balance"]

    def get_balance(self, account) -> str:
        totals = self.context.get("totals", {})
        debit, credit = totals.get((account.pk,), (0, 0))
        signed = debit - credit if account.debit_normal else credit - debit
        return str(from_minor(signed))


class FundSerializer(serializers.ModelSerializer):
    net_assets = serializers.SerializerMethodField()

    class Meta:
        model = Fund
        fields = ["code", "name", "name_en", "restriction", "purpose", "description", "net_assets"]

    def get_net_assets(self, fund) -> str:
        return str(fund.net_assets_amount)


class FundCreateSerializer(serializers.Serializer):
    code = serializers.RegexField(r"^[A-Za-z0-9_-]{1,32}$")
    name = serializers.CharField(max_length=200)
    name_en = serializers.CharField(max_length=200, required=False, default="")
    restriction = serializers.ChoiceField(choices=Restriction.choices)
    purpose = serializers.CharField(max_length=32, required=False, default="general")
    description = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)


class LegSerializer(serializers.ModelSerializer):
    account = serializers.SlugRelatedField(slug_field="code", read_only=True)
    fund = serializers.SlugRelatedField(slug_field="code", read_only=True)
    debit = serializers.SerializerMethodField()
    credit = serializers.SerializerMethodField()
    debit_cny = serializers.SerializerMethodField()
    credit_cny = serializers.SerializerMethodField()

    class Meta:
        model = Leg
        fields = ["position", "account", "fund", "currency", "debit", "credit", "debit_cny", "credit_cny"]

    def get_debit(self, leg) -> str:
        return str(leg.debit_amount)

    def get_credit(self, leg) -> str:
        return str(leg.credit_amount)

    def get_debit_cny(self, leg) -> str:
        return str(leg.debit_cny_amount)

    def get_credit_cny(self, leg) -> str:
        return str(leg.credit_cny_amount)


class EntrySerializer(serializers.ModelSerializer):
    legs = LegSerializer(many=True, read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    approved_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    reverses = serializers.SlugRelatedField(slug_field="sequence", read_only=True)
    fx_rate = serializers.DecimalField(max_digits=18, decimal_places=8, read_only=True)

    class Meta:
        model = JournalEntry
        fields = [
            "sequence", "date", "memo", "source_type", "source_id", "created_by", "approved_by", "created_at",
            "fx_rate", "reverses", "previous_hash", "hash", "legs",
        ]


class LegInputSerializer(serializers.Serializer):
    account = serializers.CharField(max_length=32, help_text="account code")
    fund = serializers.CharField(max_length=32, help_text="fund code")
    debit = DecimalAmount(required=False)
    credit = DecimalAmount(required=False)
    currency = serializers.CharField(max_length=3, required=False, default="CNY")

    def validate(self, attrs):
        if ("debit" in attrs) == ("credit" in attrs):
            raise serializers.ValidationError({"debit": "give exactly one of debit and credit"})
        return attrs


class EntryInputSerializer(serializers.Serializer):
    date = serializers.DateField()
    memo = serializers.CharField(max_length=2000, allow_blank=True, required=False, default="")
    fx_rate = serializers.DecimalField(max_digits=18, decimal_places=8, required=False, min_value=0)
    legs = LegInputSerializer(many=True)


class ReverseInputSerializer(serializers.Serializer):
    date = serializers.DateField(required=False)
    reason = serializers.CharField(max_length=500)


class RejectInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class ManualEntrySerializer(serializers.ModelSerializer):
    drafted_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    reverses = serializers.SlugRelatedField(slug_field="sequence", read_only=True)
    entry = serializers.SlugRelatedField(slug_field="sequence", read_only=True)
    fx_rate = serializers.DecimalField(max_digits=18, decimal_places=8, read_only=True)

    class Meta:
        model = ManualEntry
        fields = ["id", "kind", "status", "date", "memo", "fx_rate", "legs", "reverses", "reason", "drafted_by",
                  "drafted_at", "decided_by", "decided_at", "entry"]


class PeriodSerializer(serializers.ModelSerializer):
    month = serializers.SerializerMethodField()
    closed_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Period
        fields = ["month", "closed_at", "closed_by"]

    def get_month(self, period) -> str:
        return period.month.strftime("%Y-%m")


class PeriodCloseSerializer(serializers.Serializer):
    month = serializers.RegexField(r"^\d{4}-\d{2}$", help_text="YYYY-MM")


# -- views ------------------------------------------------------------------------------------------------------


class TrustViewSet(TrustScopedMixin, viewsets.ReadOnlyModelViewSet):
    queryset = Trust.objects.all()
    serializer_class = TrustSerializer
    lookup_field = "code"
    lookup_url_kwarg = "trust_code"
    permission_classes = [BooksPermission]

    def get_queryset(self):
        """The trusts where the user may read the books (every trust for an administrator)."""
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return trusts_where(self.request.user, READ).order_by("code")


AS_OF = OpenApiParameter("as_of", OpenApiTypes.DATE, description="balances at the end of this day (default: today)")


class AccountViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BooksViewSet):
    serializer_class = AccountSerializer
    lookup_field = "code"
    pagination_class = None
    queryset = Account.objects.none()

    def scoped_queryset(self):
        return Account.objects.filter(book=self.get_trust().book).select_related("parent").order_by("code")

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if getattr(self, "swagger_fake_view", False):
            return context
        day = query_date(self.request.query_params, "as_of")
        context["totals"] = selectors.movements(self.get_trust().book.pk, as_of=day)
        return context

    @extend_schema(parameters=[AS_OF])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)


class FundViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, BooksViewSet):
    serializer_class = FundSerializer
    lookup_field = "code"
    pagination_class = None
    write_perm = "ledger.manage_funds"
    queryset = Fund.objects.none()

    def scoped_queryset(self):
        return Fund.objects.filter(book=self.get_trust().book).order_by("code")

    @extend_schema(request=FundCreateSerializer, responses={201: FundSerializer})
    def create(self, request, *args, **kwargs):
        data = FundCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fund = ledger.fund_create(book=self.get_trust().book, user=request.user, **data.validated_data)
        return Response(FundSerializer(fund).data, status=status.HTTP_201_CREATED)


class JournalEntryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BooksViewSet):
    serializer_class = EntrySerializer
    lookup_field = "sequence"
    lookup_value_regex = r"\d+"
    write_perms = {"create": DRAFT_ENTRIES, "reverse": DRAFT_ENTRIES}
    queryset = JournalEntry.objects.none()

    def scoped_queryset(self):
        entries = (
            JournalEntry.objects.filter(book=self.get_trust().book)
            .select_related("created_by", "approved_by", "reverses")
            .prefetch_related(Prefetch("legs", queryset=Leg.objects.select_related("account", "fund").order_by("position")))
            .order_by("sequence")
        )
        params = self.request.query_params
        if params.get("date_from"):
            entries = entries.filter(date__gte=query_date(params, "date_from"))
        if params.get("date_to"):
            entries = entries.filter(date__lte=query_date(params, "date_to"))
        if params.get("source_type"):
            entries = entries.filter(source_type=params["source_type"])
        return entries

    @extend_schema(parameters=[
        OpenApiParameter("date_from", OpenApiTypes.DATE), OpenApiParameter("date_to", OpenApiTypes.DATE),
        OpenApiParameter("source_type", OpenApiTypes.STR),
    ])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=EntryInputSerializer, responses={202: ManualEntrySerializer})
    def create(self, request, *args, **kwargs):
        """Draft a manual entry. Nothing is posted until another user approves it (``manual-entries``)."""
        data = EntryInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        draft = services.manual_entry_draft(
            trust=self.get_trust(), date=values["date"], memo=values["memo"], fx_rate=values.get("fx_rate"),
            legs=[{k: v for k, v in leg.items()} for leg in values["legs"]], user=request.user)
        return Response(ManualEntrySerializer(draft).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=ReverseInputSerializer, responses={202: ManualEntrySerializer})
    @action(detail=True, methods=["post"])
    def reverse(self, request, *args, **kwargs):
        """Ask for this entry's reversal; another user approves (and posts it) or rejects."""
        entry = self.get_object()
        data = ReverseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        draft = services.manual_reversal_draft(
            entry=entry, date=data.validated_data.get("date") or timezone.localdate(),
            reason=data.validated_data["reason"], user=request.user)
        return Response(ManualEntrySerializer(draft).data, status=status.HTTP_202_ACCEPTED)


class ManualEntryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BooksViewSet):
    """Manual entries and reversals as drafted, waiting for a second person: approve (posts) or reject."""

    serializer_class = ManualEntrySerializer
    write_perms = {"approve": APPROVE_ENTRIES, "reject": APPROVE_ENTRIES}
    queryset = ManualEntry.objects.none()

    def scoped_queryset(self):
        entries = ManualEntry.objects.filter(trust=self.get_trust()).select_related(
            "drafted_by", "decided_by", "reverses", "entry").order_by("-pk")
        if self.request.query_params.get("status"):
            entries = entries.filter(status=self.request.query_params["status"])
        return entries

    @extend_schema(parameters=[OpenApiParameter("status", OpenApiTypes.STR, description="draft, posted or rejected")])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=None, responses={200: ManualEntrySerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, *args, **kwargs):
        done = services.manual_entry_approve(manual=self.get_object(), user=request.user)
        return Response(ManualEntrySerializer(self.get_queryset().get(pk=done.pk)).data)

    @extend_schema(request=RejectInputSerializer, responses={200: ManualEntrySerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request, *args, **kwargs):
        data = RejectInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        done = services.manual_entry_reject(manual=self.get_object(), user=request.user,
                                            reason=data.validated_data["reason"])
        return Response(ManualEntrySerializer(self.get_queryset().get(pk=done.pk)).data)


class PeriodViewSet(mixins.ListModelMixin, BooksViewSet):
    serializer_class = PeriodSerializer
    pagination_class = None
    write_perm = "ledger.close_periods"
    queryset = Period.objects.none()

    def scoped_queryset(self):
        return Period.objects.filter(book=self.get_trust().book).select_related("closed_by").order_by("month")

    @extend_schema(request=PeriodCloseSerializer, responses={201: PeriodSerializer})
    def create(self, request, *args, **kwargs):
        data = PeriodCloseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        period = ledger.period_close(book=self.get_trust().book, month=data.validated_data["month"], user=request.user)
        return Response(PeriodSerializer(period).data, status=status.HTTP_201_CREATED)


class VerifyViewSet(BooksViewSet):
    queryset = JournalEntry.objects.none()

    @extend_schema(responses=inline_serializer("Verification", {
        "ok": serializers.BooleanField(), "entries": serializers.IntegerField(),
        "head_hash": serializers.CharField(), "line": serializers.CharField(), "problem": serializers.CharField(),
    }))
    def list(self, request, *args, **kwargs):
        verdict = verify_book(self.get_trust().book)
        return Response({
            "ok": verdict.ok, "entries": verdict.count, "head_hash": verdict.head, "line": verdict.line(),
            "problem": verdict.problem,
        })
