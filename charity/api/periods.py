"""``periods/``: closed months; closing one."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from ledger import services as ledger
from ledger.models import Period

from .base import BooksViewSet


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


class PeriodViewSet(mixins.ListModelMixin, BooksViewSet):
    serializer_class = PeriodSerializer
    pagination_class = None
    write_perm = "ledger.close_periods"
    queryset = Period.objects.none()

    def scoped_queryset(self):
        return Period.objects.filter(book=self.book).select_related("closed_by").order_by("month")

    @extend_schema(request=PeriodCloseSerializer, responses={201: PeriodSerializer})
    def create(self, request, *args, **kwargs):
        data = PeriodCloseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        period = ledger.period_close(book=self.book, month=data.validated_data["month"], user=request.user)
        return Response(PeriodSerializer(period).data, status=status.HTTP_201_CREATED)
