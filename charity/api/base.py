"""What every view of the API shares: the trust from the URL, its queryset scoped to it, idempotency."""

from __future__ import annotations

import datetime as dt

from django.http import Http404
from django.shortcuts import get_object_or_404
from rest_framework import serializers, viewsets

from charity.models import Trust
from ledger import bounds
from ledger.errors import LedgerError
from ledger.models import Book

from .idempotency import IdempotentMixin
from .permissions import BooksPermission


def not_found(message: str, *, field: str | None = None) -> Http404:
    """A refused key in the URL is an object that does not exist (``bounds.check_text(..., error=not_found)``)."""
    return Http404(message)


def book_date(raw: str, *, name: str) -> dt.date:
    """An ISO date (as DRF parses one) that the books can hold (``ledger.bounds``); else a ``ValidationError``
    whose detail is the one message."""
    try:
        return bounds.check_date(serializers.DateField().to_internal_value(raw), field=name)
    except LedgerError as exc:
        raise serializers.ValidationError([exc.message]) from None


def query_date(params, name: str) -> dt.date | None:
    """A date query parameter, or None when absent; a bad date or one outside the books' range (``book_date``)
    is a 400 naming the parameter."""
    raw = params.get(name)
    if not raw:
        return None
    try:
        return book_date(raw, name=name)
    except serializers.ValidationError as exc:
        raise serializers.ValidationError({name: exc.detail}) from None


def trust_with_book(code: str) -> Trust:
    """The trust named in the URL, with its book; Http404 if there is none."""
    return get_object_or_404(Trust.objects.select_related("book"), code=code)


class TrustScopedMixin:
    """Views nested under /trusts/{trust_code}/."""

    def get_trust(self) -> Trust:
        if not hasattr(self, "_trust"):
            # PostgreSQL refuses a NUL in a text parameter (a 500); no code holds one
            code = bounds.check_text(self.kwargs["trust_code"], field="trust_code", error=not_found)
            self._trust = trust_with_book(code)
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

    @property
    def trust(self) -> Trust:
        return self.get_trust()

    @property
    def book(self) -> Book:
        return self.get_trust().book

    def get_object(self):
        name = self.lookup_url_kwarg or self.lookup_field
        bounds.check_text(self.kwargs.get(name), field=name, error=not_found)  # as in get_trust
        return super().get_object()
