"""``funds/``: the trust's funds with their net assets and terms; creating one; setting a restricted fund's terms
(``funds/{code}/terms/``: the management fee its donor agreement allows)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from charity import services
from charity.roles import APPROVE_EXPENSES

from ledger import services as ledger
from ledger.models import Fund, Restriction

from .base import BooksViewSet
from .fields import StrictInput


class FundSerializer(serializers.ModelSerializer):
    net_assets = serializers.SerializerMethodField()
    management_fee_rate = serializers.SerializerMethodField(help_text="percent; null without terms")
    management_fee_cap = serializers.SerializerMethodField(help_text="CNY a year; null for no cap or no terms")

    class Meta:
        model = Fund
        fields = ["code", "name", "name_en", "restriction", "purpose", "description", "net_assets",
                  "management_fee_rate", "management_fee_cap"]

    def get_net_assets(self, fund) -> str:
        return str(fund.net_assets_amount)

    @staticmethod
    def _terms(fund):
        try:
            return fund.terms
        except Fund.terms.RelatedObjectDoesNotExist:
            return None

    def get_management_fee_rate(self, fund) -> str | None:
        terms = self._terms(fund)
        return None if terms is None else str(terms.management_fee_rate)

    def get_management_fee_cap(self, fund) -> str | None:
        terms = self._terms(fund)
        return None if terms is None or terms.management_fee_cap is None else str(terms.management_fee_cap)


class FundTermsSerializer(StrictInput):
    management_fee_rate = serializers.CharField(max_length=16, help_text="percent, 0-100, two decimals")
    management_fee_cap = serializers.CharField(max_length=20, required=False, allow_null=True, allow_blank=True,
                                               help_text="CNY a year; blank or null for no cap")


class FundCreateSerializer(serializers.Serializer):
    code = serializers.RegexField(r"^[A-Za-z0-9_-]{1,32}$")
    name = serializers.CharField(max_length=200)
    name_en = serializers.CharField(max_length=200, required=False, default="")
    restriction = serializers.ChoiceField(choices=Restriction.choices)
    purpose = serializers.CharField(max_length=32, required=False, default="general")
    description = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)


class FundViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, BooksViewSet):
    serializer_class = FundSerializer
    lookup_field = "code"
    pagination_class = None
    write_perm = "ledger.manage_funds"
    write_perms = {"create": "ledger.manage_funds", "terms": APPROVE_EXPENSES}
    queryset = Fund.objects.none()

    def scoped_queryset(self):
        return Fund.objects.filter(book=self.book).select_related("terms").order_by("code")

    @extend_schema(request=FundCreateSerializer, responses={201: FundSerializer})
    def create(self, request, *args, **kwargs):
        data = FundCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fund = ledger.fund_create(book=self.book, user=request.user, **data.validated_data)
        return Response(FundSerializer(fund).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=FundTermsSerializer, responses={200: FundSerializer})
    @action(detail=True, methods=["post"])
    def terms(self, request, *args, **kwargs):
        """Set a restricted fund's terms: the management fee it may bear (approvers)."""
        data = FundTermsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fund = self.get_object()
        services.fund_terms_set(fund=fund, user=request.user, **data.validated_data)
        return Response(FundSerializer(self.scoped_queryset().get(pk=fund.pk)).data)
