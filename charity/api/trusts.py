"""``/trusts/``: the trusts whose books the user may read."""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, viewsets

from charity.models import SpendingPolicy, Trust
from charity.roles import READ, trusts_where

from .base import TrustScopedMixin
from .permissions import BooksPermission


def _has_policy(trust) -> bool:
    try:
        trust.spending_policy
    except ObjectDoesNotExist:
        return False
    return True


class SpendingPolicySerializer(serializers.ModelSerializer):
    """The trust's spending rule (charity.spending), read-only: an administrator sets it in the admin."""

    class Meta:
        model = SpendingPolicy
        fields = ["preset", "base", "floor", "cap", "count_endowment_principal", "count_in_kind",
                  "management_exempt_below", "deed_reference"]
        read_only_fields = fields


class TrustSerializer(serializers.ModelSerializer):
    spending_policy = serializers.SerializerMethodField(
        help_text="the trust's spending rule; null: none configured (reports then judge no ratio)")

    class Meta:
        model = Trust
        fields = ["code", "name", "name_en", "trustee", "supervisor", "filing_number", "base_currency",
                  "spending_policy"]

    @extend_schema_field(SpendingPolicySerializer(allow_null=True))
    def get_spending_policy(self, trust):
        return SpendingPolicySerializer(trust.spending_policy).data if _has_policy(trust) else None


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
        return trusts_where(self.request.user, READ).select_related("spending_policy").order_by("code")
