"""Retry at the boundary: a request, an office form, an import or a command that lost a race in the database.

Every service takes its row locks in one order (``ledger.locking``), so two money movements never deadlock
through the services. What can still slip through: a deadlock with something outside that order (40P01), a
serialization failure (40001), a lock not granted within ``DB_LOCK_TIMEOUT_MS`` (55P03). Each rolled its whole
transaction back, so running the same call again is safe; and a money movement is idempotent (an API
``Idempotency-Key``, an import's ``external_id``), so a call that did commit is not posted twice by a client
that repeats it. The boundary runs the call again, at most ``DB_RETRY_ATTEMPTS`` more times, after a random pause
(up to ``DB_RETRY_PAUSE_MS`` x 2^attempt ms: full jitter, so that the losers do not collide again in step).

After the retries, or at once for a statement cancelled by ``DB_STATEMENT_TIMEOUT_MS`` (57014, not retried:
the same statement would run as long again), or when the database cannot be reached at all (a failover: ``UNAVAILABLE``), the caller is told the books
are busy: HTTP 503 with
``Retry-After`` and, under /api/, the JSON error body ``{"error": {"code": "busy", ...}}``; an office page says
so in words; a command exits with an error that says to run it again. Never a 500.

Only a call outside any transaction is retried (inside one, the transaction is the caller's to end): the
middleware runs with ``ATOMIC_REQUESTS`` off (the API opens its own transaction inside the view).
"""

from __future__ import annotations

import logging
import random
import time

from django.conf import settings
from django.db import DatabaseError, OperationalError, connection
from django.http import JsonResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

log = logging.getLogger("charity.retry")

#: SQLSTATEs retried: deadlock detected, serialization failure, lock not available (lock_timeout)
RETRIED = {"40P01": "deadlock", "40001": "serialization failure", "55P03": "lock timeout"}
#: ... and those answered "busy" without a retry: query cancelled (statement_timeout)
BUSY = {**RETRIED, "57014": "statement timeout"}
RETRY_AFTER = "2"  # seconds, in the Retry-After header


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a database error (psycopg's error is the ``__cause__`` of Django's)."""
    while exc is not None:
        state = getattr(exc, "sqlstate", None)
        if state:
            return state
        exc = exc.__cause__
    return None


#: ... and a database that cannot be reached (a failover, a restart): the connection exceptions (class 08), a
#: server shutting down or starting up, or a connection the driver could not make (no SQLSTATE): 503, not retried
UNAVAILABLE = ("57P01", "57P02", "57P03")


def reason(exc: BaseException) -> str | None:
    """Why the books are busy, for a database error that means so; ``None`` for any other error."""
    if not isinstance(exc, DatabaseError):
        return None
    state = sqlstate(exc)
    if state in BUSY:
        return BUSY[state]
    if (state or "").startswith("08") or state in UNAVAILABLE or (state is None and isinstance(exc, OperationalError)):
        return "database unavailable"
    return None


def is_busy(exc: BaseException) -> bool:
    return reason(exc) is not None


def is_retried(exc: BaseException) -> bool:
    return isinstance(exc, DatabaseError) and sqlstate(exc) in RETRIED


def pause(attempt: int) -> None:
    time.sleep(random.uniform(0, settings.DB_RETRY_PAUSE_MS * 2 ** attempt) / 1000)


def retrying(call, *args, on_retry=None, **kwargs):
    """``call(*args, **kwargs)``, run again after a deadlock, serialization failure or lock timeout, at most
    ``DB_RETRY_ATTEMPTS`` more times; the last such error is raised (``is_busy`` says what it is). ``on_retry``,
    when given, is called with each error that is retried (a counter, a log line)."""
    attempts = settings.DB_RETRY_ATTEMPTS
    for attempt in range(attempts + 1):
        try:
            return call(*args, **kwargs)
        except DatabaseError as exc:
            if not is_retried(exc) or attempt == attempts or connection.in_atomic_block:
                raise
            log.warning("retrying after %s (attempt %d of %d)", RETRIED[sqlstate(exc)], attempt + 1, attempts)
            if on_retry is not None:
                on_retry(exc)
            pause(attempt)


def command_call(call, *args, **kwargs):
    """``retrying`` for a management command: after the retries, a ``CommandError`` that says to run it again."""
    from django.core.management import CommandError

    try:
        return retrying(call, *args, **kwargs)
    except DatabaseError as exc:
        if is_busy(exc):
            raise CommandError(f"busy ({reason(exc)}): {busy_message()}") from exc
        raise


def busy_message() -> str:
    return _("The books are busy with other changes just now; nothing was saved. Please try again in a moment.")


def busy_response(request):
    """503 with ``Retry-After``: the API's JSON error body under /api/, a page elsewhere."""
    if request.path.startswith("/api/"):
        response = JsonResponse({"error": {"code": "busy", "message": busy_message(), "field": None}}, status=503)
    else:
        response = TemplateResponse(request, "charity/busy.html", {"message": busy_message()}, status=503)
        response.render()
    response["Retry-After"] = RETRY_AFTER
    return response


def _replayable(request) -> bool:
    """Whether the request can be handled again: its body kept in memory (read once here), not a file upload
    (whose files the first attempt consumed)."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return True
    if request.content_type.startswith("multipart/"):
        return False
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is not None and length > limit:
        return False
    request.body  # noqa: B018 - kept for a second attempt
    return True


class RetryMiddleware:
    """The innermost middleware: a view that lost a race in the database runs again (``retrying``'s rules);
    after the retries the caller gets ``busy_response``, never a 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        attempts = settings.DB_RETRY_ATTEMPTS if _replayable(request) else 0
        for attempt in range(attempts + 1):
            request.database_busy = None
            response = self.get_response(request)
            exc = request.database_busy
            if exc is None or not is_retried(exc) or attempt == attempts or connection.in_atomic_block:
                return response
            log.warning("%s %s: retrying after %s (attempt %d of %d)", request.method, request.path,
                        RETRIED[sqlstate(exc)], attempt + 1, attempts)
            pause(attempt)
        return response

    def process_exception(self, request, exception):
        if not is_busy(exception):
            return None
        request.database_busy = exception
        log.warning("%s %s: %s", request.method, request.path, reason(exception))
        return busy_response(request)
