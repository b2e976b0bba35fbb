"""Serializer fields and helpers every resource of the API shares: amounts and rates as decimal strings, input
that refuses unknown keys, business keys and their resolution to objects of the trust, money as output."""

from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from ledger.models import CENT


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


class DecimalRate(serializers.DecimalField):
    """An exchange rate: a decimal string (CNY per unit), never a float."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 18)
        kwargs.setdefault("decimal_places", 8)
        kwargs.setdefault("min_value", Decimal("0.00000001"))
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, float):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictInput(serializers.Serializer):
    """Refuses keys it does not know, so that a misspelt or read-only field is not silently ignored."""

    def validate(self, attrs):
        unknown = sorted(set(self.initial_data) - set(self.fields)) if isinstance(self.initial_data, dict) else []
        if unknown:
            raise serializers.ValidationError({unknown[0]: "unknown or read-only field"})
        return attrs


def key_field(**kwargs) -> serializers.CharField:
    """A business key in the input: an external id, a batch code (1 to 64 characters)."""
    return serializers.CharField(max_length=64, **kwargs)


def blank(value) -> bool:
    return value is None or value == ""


def resolve(queryset, lookup: str, value, *, field: str, what: str):
    """The object of the trust whose ``lookup`` is ``value`` (from the input's ``field``), or a 400 naming it."""
    found = queryset.filter(**{lookup: value}).first()
    if found is None:
        raise serializers.ValidationError({field: f"no {what} {value!r} in this trust"})
    return found


def resolve_optional(queryset, lookup: str, value, *, field: str, what: str):
    """As ``resolve``, but a blank or null key is no object (``None``)."""
    return None if blank(value) else resolve(queryset, lookup, value, field=field, what=what)


def money(value) -> str:
    """An amount or a sum of amounts as a string with two places (SQLite's SUM drops trailing zeros)."""
    return str(Decimal(value or 0).quantize(CENT))


class ReasonSerializer(StrictInput):
    """Why: rejecting an expense, cancelling a disbursement or a batch."""

    reason = serializers.CharField(max_length=500)
