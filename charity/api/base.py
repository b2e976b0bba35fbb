"""Shared pieces of the API views: the trust from the URL, money fields, idempotency."""

from __future__ import annotations

from decimal import Decimal

from django.http import Http404
from django.shortcuts import get_object_or_404
from rest_framework import serializers, viewsets

from charity.models import Trust

from .idempotency import IdempotentMixin
from .permissions import BooksPermission


class DecimalAmount(serializers.DecimalField):
    """An amount: a decimal string with at most two places, above zero; never a float."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 15)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("min_value", Decimal("0.01"))
        kwargs.setdefault("coerce_to_string", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, float):
            self.fail("invalid")
        return super().to_internal_value(data)


class TrustScopedMixin:
    """Views nested under /trusts/{trust_code}/."""

    def get_trust(self) -> Trust:
        if not hasattr(self, "_trust"):
            code = self.kwargs["trust_code"]
            if "\x00" in code:  # PostgreSQL refuses a NUL in a text parameter (a 500); no code holds one
                raise Http404
            self._trust = get_object_or_404(Trust.objects.select_related("book"), code=code)
        return self._trust


class BooksViewSet(IdempotentMixin, TrustScopedMixin, viewsets.GenericViewSet):
    """Subclasses set ``queryset = Model.objects.none()`` (for the schema) and implement ``scoped_queryset``."""

    permission_classes = [BooksPermission]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False) or "trust_code" not in self.kwargs:
            return self.queryset
        return self.scoped_queryset()

    def scoped_queryset(self):
        return self.queryset

    def get_object(self):
        if "\x00" in str(self.kwargs.get(self.lookup_url_kwarg or self.lookup_field, "")):
            raise Http404  # as in get_trust: PostgreSQL would refuse the lookup with a 500
        return super().get_object()
