"""``accounts/``: the chart of accounts with balances (``?as_of=``)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers

from ledger import selectors
from ledger.models import Account, from_minor

from .base import BooksViewSet, query_date


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


AS_OF = OpenApiParameter("as_of", OpenApiTypes.DATE, description="balances at the end of this day (default: today)")


class AccountViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BooksViewSet):
    serializer_class = AccountSerializer
    lookup_field = "code"
    pagination_class = None
    queryset = Account.objects.none()

    def scoped_queryset(self):
        return Account.objects.filter(book=self.book).select_related("parent").order_by("code")

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if getattr(self, "swagger_fake_view", False):
            return context
        day = query_date(self.request.query_params, "as_of")
        context["totals"] = selectors.movements(self.book.pk, as_of=day)
        return context

    @extend_schema(parameters=[AS_OF])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)
