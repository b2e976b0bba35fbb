"""``inventory/items/`` (aid stock on hand per fund, at weighted-average cost) and ``inventory/moves/`` (the
inventory ledger)."""

from __future__ import annotations

from django.db.models import Prefetch
from rest_framework import mixins, serializers

from beneficiaries.models import StockBalance, StockItem, StockMove
from ledger.models import from_minor

from .base import BooksViewSet
from .filters import StockMoveFilter


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


class StockItemViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BooksViewSet):
    """Aid inventory: each item with the quantity and value on hand in each fund."""

    serializer_class = StockItemSerializer
    lookup_field = "code"
    lookup_value_regex = r"[^/]+"  # business keys may hold dots
    queryset = StockItem.objects.none()

    def scoped_queryset(self):
        balances = StockBalance.objects.select_related("fund").order_by("fund__code")
        return (StockItem.objects.filter(book=self.book).select_related("inventory_account")
                .prefetch_related(Prefetch("balances", queryset=balances)).order_by("code"))


class StockMoveViewSet(mixins.ListModelMixin, BooksViewSet):
    """Every movement of aid stock (the inventory ledger), oldest first."""

    serializer_class = StockMoveSerializer
    filterset_class = StockMoveFilter
    queryset = StockMove.objects.none()

    def scoped_queryset(self):
        return (StockMove.objects.filter(item__book=self.book)
                .select_related("item", "fund", "entry", "created_by").order_by("date", "pk"))
