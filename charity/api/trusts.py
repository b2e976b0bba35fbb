"""``/trusts/``: the trusts whose books the user may read."""

from __future__ import annotations

from rest_framework import serializers, viewsets

from charity.models import Trust
from charity.roles import READ, trusts_where

from .base import TrustScopedMixin
from .permissions import BooksPermission


class TrustSerializer(serializers.ModelSerializer):
    class Meta:
        model = Trust
        fields = ["code", "name", "name_en", "trustee", "supervisor", "filing_number", "base_currency"]


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
