"""``Idempotency-Key`` on POSTs that create money movement (pretix's api/middleware.py did this first).

The first request with a key records itself as in progress (committed at once, so a concurrent duplicate sees
it); when it finishes its status and body are stored. A repeat with the same key and the same request replays
the stored response and writes nothing; a repeat while the first is still running gets 409; the same key with
a different request gets 400. Server errors are not stored, so a client may retry after one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import status
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from charity.models import IdempotencyRecord

from .errors import error_body

HEADER = "Idempotency-Key"


class Replay(Exception):
    def __init__(self, response: Response):
        super().__init__("replay")
        self.response = response


def _request_hash(request) -> str:
    try:
        body = json.dumps(request.data, sort_keys=True, default=str)
    except Exception:  # unparsable bodies still hash by their raw bytes
        body = repr(request.body)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def begin(request) -> IdempotencyRecord | None:
    key = request.headers.get(HEADER)
    if request.method != "POST" or not key:
        return None
    if len(key) > 200:
        raise Replay(Response(error_body("invalid", "Idempotency-Key is at most 200 characters", "Idempotency-Key"),
                              status=status.HTTP_400_BAD_REQUEST))
    digest = _request_hash(request)
    stale = timezone.now() - dt.timedelta(seconds=settings.IDEMPOTENCY_IN_PROGRESS_SECONDS)
    for _ in range(2):
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(
                    user=request.user, key=key, method=request.method, path=request.path[:500], request_hash=digest
                )
        except IntegrityError:
            record = IdempotencyRecord.objects.filter(user=request.user, key=key).first()
            if record is None:
                continue
            if record.request_hash != digest:
                raise Replay(Response(
                    error_body("idempotency_key_reused", "this Idempotency-Key was used for a different request",
                               "Idempotency-Key"),
                    status=status.HTTP_400_BAD_REQUEST,
                )) from None
            if record.in_progress:
                if record.created_at < stale:
                    record.delete()
                    continue
                raise Replay(Response(
                    error_body("conflict", "a request with this Idempotency-Key is still being processed",
                               "Idempotency-Key"),
                    status=status.HTTP_409_CONFLICT,
                )) from None
            response = Response(record.body, status=record.status)
            response["Idempotent-Replayed"] = "true"
            raise Replay(response) from None
    return None


def _storable(data):
    """The body as the client was sent it: DRF's renderer's own encoder (dates as ISO strings, a bare Decimal as
    a number; serializers already give amounts as strings)."""
    return None if data is None else json.loads(json.dumps(data, cls=JSONEncoder))


def finish(record: IdempotencyRecord, response) -> None:
    if response.status_code >= 500:
        record.delete()
        return
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        in_progress=False, status=response.status_code, body=_storable(getattr(response, "data", None))
    )


class IdempotentMixin:
    """For API views: replays and conflicts of ``Idempotency-Key`` POSTs."""

    def initial(self, request, *args, **kwargs):
        self._idempotency = None
        super().initial(request, *args, **kwargs)
        self._idempotency = begin(request)

    def handle_exception(self, exc):
        if isinstance(exc, Replay):
            return exc.response
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        record = getattr(self, "_idempotency", None)
        if record is not None and not response.has_header("Idempotent-Replayed"):
            finish(record, response)
            self._idempotency = None
        return response
