"""``programs/``: the trust's aid programs with their yearly limits per beneficiary."""

from __future__ import annotations

from rest_framework import mixins, serializers

from beneficiaries.models import Program

from .base import BooksViewSet


class ProgramSerializer(serializers.ModelSerializer):
    expense_account = serializers.SlugRelatedField(slug_field="code", read_only=True)
    pay_account = serializers.SlugRelatedField(slug_field="code", read_only=True)
    stock_item = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Program
        fields = ["code", "name", "name_en", "kind", "active", "expense_account", "pay_account", "stock_item",
                  "limit_amount_per_year", "limit_count_per_year"]


class ProgramViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BooksViewSet):
    """The trust's aid programs with their yearly limits per beneficiary."""

    serializer_class = ProgramSerializer
    lookup_field = "code"
    lookup_value_regex = r"[^/]+"  # business keys may hold dots
    queryset = Program.objects.none()

    def scoped_queryset(self):
        return (Program.objects.filter(book=self.book)
                .select_related("expense_account", "pay_account", "stock_item").order_by("code"))
