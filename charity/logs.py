"""Logs as one JSON object per line, each request with an id that its log lines share.

``RequestIdMiddleware`` gives every request an id (the ``X-Request-ID`` nginx sends, when it looks like one, else a
new one), returns it in the response's ``X-Request-ID`` header, and writes one line per request to the logger
``charity.requests`` (method, path, status, milliseconds, database alias). The id reaches every other log line
written while the request runs through a context variable read by ``RequestFilter``: a logging record is made
deep inside code that is not handed the request, so this is the one piece of request state kept beside it.

What a line never holds: a query string (a search may be a name or an identity number), a request body, a
capability token from a path (``/g/<token>/``, ``/invite/<token>/`` are logged as their route), a user's name
(the user's id only), or any beneficiary's identity or phone (nothing here reads them).
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import time
import uuid

from django.db import DatabaseError

_request: contextvars.ContextVar[dict | None] = contextvars.ContextVar("ctl_request", default=None)
_GIVEN_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
request_log = logging.getLogger("charity.requests")
# Attributes every LogRecord has; anything else a caller passed with extra= goes into the JSON as it is.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "request"}


def _path(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is not None and "token" in match.kwargs:
        return "/" + match.route
    return request.path


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get("X-Request-ID", "")
        request.request_id = given if _GIVEN_ID.match(given) else uuid.uuid4().hex
        token = _request.set({"request_id": request.request_id})
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request.request_id
            request_log.info(
                "%s %s %s", request.method, _path(request), response.status_code,
                extra={
                    "method": request.method, "path": _path(request), "status": response.status_code,
                    "ms": round((time.perf_counter() - started) * 1000, 1),
                    "user_id": _user_id(request),
                    "database": response.get("X-Ledger-Database", "primary"),
                },
            )
            return response
        finally:
            _request.reset(token)


def _user_id(request) -> int | None:
    """The signed-in user's id; None when anonymous, or when the user cannot be read (a view that never looked
    at the user, e.g. /healthz, and a database that is down: the log line must not turn the answer into a 500)."""
    try:
        user = getattr(request, "user", None)
        return user.pk if user is not None and user.is_authenticated else None
    except DatabaseError:
        return None


class RequestFilter(logging.Filter):
    """Puts the current request's id on every record (``request_id``; None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            current = _request.get()
            # django.request logs a 4xx/5xx after the middleware has returned, with the request on the record
            given = getattr(getattr(record, "request", None), "request_id", None)
            record.request_id = current["request_id"] if current else given
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, request_id, the ``extra=`` fields,
    and the exception's text when there is one. Django's own ``django.request`` records carry the request: only
    its path and method are taken from it."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in line:
                line[key] = value
        request = getattr(record, "request", None)
        if request is not None and hasattr(request, "method"):
            line.setdefault("method", request.method)
            line.setdefault("path", _path(request))
            if _path(request) != request.path:  # "Not Found: /g/<token>/" names the token: the route instead
                line["message"] = line["message"].replace(request.path, _path(request))
        if "status_code" in line:  # django.request's name for it
            line.setdefault("status", line.pop("status_code"))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)
