"""``Idempotency-Key`` on POSTs that create money movement (pretix's api/middleware.py did this first), and the
transaction an API write runs in.

A repeat with the same key and the same request replays the stored response and writes nothing; a repeat while
the first is still running gets 409; the same key with a different request gets 400. Only a response that did
its work (status below 400) is stored: a refused request writes nothing and leaves no record, so the client may
correct it, or retry it, under the same key. Server errors are not stored either.

On PostgreSQL an API write is one transaction (``IdempotentMixin.dispatch``): the key is claimed, the handler
posts, the response is stored on the record and the audit event written, and all of it commits together, or
none of it does (a response of 400 or more rolls the whole transaction back). The claim inserts the record
under a transaction-scoped advisory lock on (user, key), taken without waiting: a concurrent duplicate fails to
take it, finds no committed record and gets 409 at once, as before; after the first has committed it finds the
record and replays it. The unique constraint on (user, key) stays the last guard.

Elsewhere (SQLite: one writer at a time, and a record must be committed to be seen) the first request commits
its record as "in progress" before it runs, the handler commits its own transaction, and the response is stored
afterwards; a record that a crash left in progress is taken over after ``IDEMPOTENCY_IN_PROGRESS_SECONDS``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from charity.audit import UNSAFE, audit_in_transaction, may_change
from charity.models import IdempotencyRecord
from ledger import bounds

from .errors import error_body

HEADER = "Idempotency-Key"
#: the header in the OpenAPI schema of each POST that takes it
IDEMPOTENCY_KEY = OpenApiParameter(
    HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="replays the first response to a repeat of this request instead of posting again",
)
_TABLE = IdempotencyRecord._meta.db_table


class Replay(Exception):
    def __init__(self, response: Response):
        super().__init__("replay")
        self.response = response


def one_transaction() -> bool:
    """Whether an API write runs as one transaction: the database can hold a key in progress without committing."""
    return connection.vendor == "postgresql"


def _request_hash(request) -> str:
    try:
        body = json.dumps(request.data, sort_keys=True, default=str)
    except Exception:  # unparsable bodies still hash by their raw bytes
        body = repr(request.body)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _path(request) -> str:
    return request.path.replace("\x00", "")[:500]  # only for the record; PostgreSQL refuses a NUL in text


def _lock_id(user_id: int, key: str) -> int:
    """The advisory lock that stands for (user, key): 64 bits of a hash; a collision costs a spurious 409."""
    digest = hashlib.blake2b(f"{user_id}\n{key}".encode(), digest_size=8, person=b"ctl-idem-key").digest()
    return int.from_bytes(digest, "big", signed=True)


def _claim_locked(request, key: str, digest: str) -> IdempotencyRecord | None:
    """Inside the request's transaction: insert the record if the key's advisory lock is free (never waiting for
    it) and no committed record has the key; else None."""
    now = timezone.now()
    path = _path(request)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_TABLE} (user_id, key, method, path, request_hash, in_progress, created_at) "
            "SELECT %s, %s, %s, %s, %s, TRUE, %s WHERE pg_try_advisory_xact_lock(%s) "
            "ON CONFLICT (user_id, key) DO NOTHING RETURNING id",
            [request.user.pk, key, request.method, path, digest, now, _lock_id(request.user.pk, key)],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    record = IdempotencyRecord(pk=row[0], user=request.user, key=key, method=request.method, path=path,
                               request_hash=digest, created_at=now)
    record._state.adding = False
    return record


def _claim_committed(request, key: str, digest: str) -> IdempotencyRecord | None:
    """Commit the record as in progress, so that a concurrent duplicate sees it; None if the key is taken."""
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(
                user=request.user, key=key, method=request.method, path=_path(request), request_hash=digest
            )
    except IntegrityError:
        return None


def _conflict() -> Replay:
    return Replay(Response(
        error_body("conflict", "a request with this Idempotency-Key is still being processed", "Idempotency-Key"),
        status=status.HTTP_409_CONFLICT,
    ))


def _invalid_key(message: str = "", *, field: str = HEADER) -> Replay:
    return Replay(Response(error_body("invalid", "Idempotency-Key is at most 200 characters, without NUL", HEADER),
                           status=status.HTTP_400_BAD_REQUEST))


def begin(request, *, locked: bool = False) -> IdempotencyRecord | None:
    """Claim the request's key, or raise ``Replay`` with the answer a repeat gets. ``locked``: inside the
    request's own transaction, on PostgreSQL (see the module docstring)."""
    key = request.headers.get(HEADER)
    if request.method != "POST" or not key:
        return None
    if len(key) > 200:
        raise _invalid_key()
    bounds.check_text(key, field=HEADER, error=_invalid_key)
    digest = _request_hash(request)
    claim = _claim_locked if locked else _claim_committed
    stale = timezone.now() - dt.timedelta(seconds=settings.IDEMPOTENCY_IN_PROGRESS_SECONDS)
    for _ in range(2):
        record = claim(request, key, digest)
        if record is not None:
            return record
        record = IdempotencyRecord.objects.filter(user=request.user, key=key).first()
        if record is None:
            if locked:  # another transaction holds the key and has not committed yet
                raise _conflict()
            continue  # the record went away (its request failed) between the two statements
        if record.request_hash != digest:
            raise Replay(Response(
                error_body("idempotency_key_reused", "this Idempotency-Key was used for a different request",
                           "Idempotency-Key"),
                status=status.HTTP_400_BAD_REQUEST,
            ))
        if record.in_progress:
            if record.created_at < stale:
                record.delete()
                continue
            raise _conflict()
        response = Response(record.body, status=record.status)
        response["Idempotent-Replayed"] = "true"
        raise Replay(response)
    return None


def _storable(data):
    """The body as the client was sent it: DRF's renderer's own encoder (dates as ISO strings, a bare Decimal as
    a number; serializers already give amounts as strings)."""
    return None if data is None else json.loads(json.dumps(data, cls=JSONEncoder))


def finish(record: IdempotencyRecord, response, *, locked: bool = False) -> None:
    """Store the response for replays; a refusal or an error is not stored (``locked``: the request's transaction
    is rolled back, record and all, so there is nothing to delete)."""
    if response.status_code >= 400:
        if not locked:
            record.delete()
        return
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        in_progress=False, status=response.status_code, body=_storable(getattr(response, "data", None))
    )


class IdempotentMixin:
    """For API views: replays and conflicts of ``Idempotency-Key`` POSTs; on PostgreSQL, each write (any unsafe
    method) in one transaction with its idempotency record and its audit event."""

    def dispatch(self, request, *args, **kwargs):
        self._one_transaction = request.method in UNSAFE and one_transaction()
        if not self._one_transaction:
            return super().dispatch(request, *args, **kwargs)
        with transaction.atomic():
            response = super().dispatch(request, *args, **kwargs)
            if response.status_code >= 400:  # a refusal writes nothing: not its record, not the audit event
                transaction.set_rollback(True)
        return response

    def initial(self, request, *args, **kwargs):
        self._idempotency = None
        super().initial(request, *args, **kwargs)
        self._idempotency = begin(request, locked=self._locked())

    def _locked(self) -> bool:
        return getattr(self, "_one_transaction", False)

    def handle_exception(self, exc):
        if isinstance(exc, Replay):
            return exc.response
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        record = getattr(self, "_idempotency", None)
        if record is not None and not response.has_header("Idempotent-Replayed"):
            finish(record, response, locked=self._locked())
            self._idempotency = None
        if self._locked() and response.status_code < 400 and may_change(request._request):
            audit_in_transaction(request._request, response.status_code)
        return response
