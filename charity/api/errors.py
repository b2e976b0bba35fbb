"""One exception handler for the API: every error is JSON ``{"error": {"code", "message", "field"}}``.

Domain errors of every app (ledger, beneficiaries, charity) become 400 with the field they concern; validation
errors 400 naming the first bad field (all of them under ``fields``); unknown objects 404; a refusal by the
database itself (a trigger or constraint: the service should have refused first) 409.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, IntegrityError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_handler

from beneficiaries.errors import AidError
from charity.errors import CharityError
from charity.retry import is_busy
from ledger.errors import LedgerError

DOMAIN_ERRORS = (LedgerError, AidError, CharityError)


def error_body(code: str, message: str, field: str | None = None, **extra) -> dict:
    body = {"code": code, "message": message, "field": field}
    body.update(extra)
    return {"error": body}


def _first(detail, path=""):
    """The first (field path, message) in a DRF error detail."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = key if key != "non_field_errors" else ""
            found = _first(value, f"{path}.{name}" if path and name else (name or path))
            if found:
                return found
    elif isinstance(detail, list):
        for index, value in enumerate(detail):
            found = _first(value, path if not isinstance(value, (dict, list)) else f"{path}[{index}]")
            if found:
                return found
    elif detail is not None:
        return path or None, str(detail)
    return None


def exception_handler(exc, context):
    if is_busy(exc):
        return None  # a lost race: charity.retry.RetryMiddleware runs the request again, or answers 503 busy
    if isinstance(exc, DOMAIN_ERRORS):
        return Response(error_body(exc.code, exc.message, exc.field), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    if isinstance(exc, Http404):
        return Response(error_body("not_found", "no such object"), status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, IntegrityError):
        return Response(
            error_body("conflict", f"the database refused the change: {str(exc).splitlines()[0][:300]}"),
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, DatabaseError) and "ledger:" in str(exc):
        return Response(error_body("refused", str(exc).splitlines()[0][:300]), status=status.HTTP_409_CONFLICT)
    response = drf_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        field, message = _first(exc.detail) or (None, "invalid input")
        response.data = error_body("invalid", f"{field}: {message}" if field else message, field, fields=exc.detail)
    else:
        code = getattr(exc, "default_code", "error")
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        response.data = error_body(code, str(detail))
    return response
