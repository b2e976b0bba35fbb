"""``funds/``: the trust's funds with their net assets; creating one."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from ledger import services as ledger
from ledger.models import Fund, Restriction

from .base import BooksViewSet


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


class FundViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, BooksViewSet):
    serializer_class = FundSerializer
    lookup_field = "code"
    pagination_class = None
    write_perm = "ledger.manage_funds"
    queryset = Fund.objects.none()

    def scoped_queryset(self):
        return Fund.objects.filter(book=self.book).order_by("code")

    @extend_schema(request=FundCreateSerializer, responses={201: FundSerializer})
    def create(self, request, *args, **kwargs):
        data = FundCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fund = ledger.fund_create(book=self.book, user=request.user, **data.validated_data)
        return Response(FundSerializer(fund).data, status=status.HTTP_201_CREATED)
