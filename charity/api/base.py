"""What every view of the API shares: the trust from the URL, its queryset scoped to it, idempotency."""

from __future__ import annotations

import datetime as dt
import functools

from django.db import connection
from django.http import Http404
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


def _from_row(model, values):
    """A model instance from its concrete fields' column values, converted as the ORM converts them."""
    fields = model._meta.concrete_fields
    converted = []
    for field, value in zip(fields, values):
        column = field.get_col(model._meta.db_table)
        for convert in connection.ops.get_db_converters(column) + field.get_db_converters(connection):
            value = convert(value, column, connection)
        converted.append(value)
    return model.from_db(connection.alias, [f.attname for f in fields], converted)


@functools.cache
def _trust_sql() -> str:
    trust, book = Trust._meta, Book._meta
    columns = [f"t.{f.column}" for f in trust.concrete_fields] + [f"b.{f.column}" for f in book.concrete_fields]
    return (f"SELECT {', '.join(columns)} FROM {trust.db_table} t JOIN {book.db_table} b"
            f" ON b.{book.pk.column} = t.{trust.get_field('book').column} WHERE t.code = %s")


def trust_with_book(code: str) -> Trust:
    """``Trust.objects.select_related("book").get(code=code)`` (Http404 if there is none) in SQL: every
    trust-scoped API request asks it, and the ORM spent ~0.5 ms of CPU building the query, a sixth of a cached
    report's whole request (BENCHMARKS.md finding 5)."""
    with connection.cursor() as cursor:
        cursor.execute(_trust_sql(), [code])
        row = cursor.fetchone()
    if row is None:
        raise Http404("No Trust matches the given query.")
    split = len(Trust._meta.concrete_fields)
    trust, book = _from_row(Trust, row[:split]), _from_row(Book, row[split:])
    trust.book = book
    Trust.book.field.remote_field.set_cached_value(book, trust)  # book.trust, as select_related leaves it
    return trust


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
