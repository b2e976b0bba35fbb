"""The audit log: every change by a user (who, when, what, from which address).

``AuditMiddleware`` records each request that may change something (POST, PUT, PATCH, DELETE) and succeeded or
was refused, with the user, the client address, the path and the outcome; request bodies are not stored (they
may hold beneficiaries' personal data), only the names of the fields sent. Commands call ``audit()`` directly.

A write through the API on PostgreSQL is recorded inside the transaction of the change itself
(``charity.api.idempotency``): the event commits with the change or not at all, and the middleware then leaves
that request alone. A refusal rolls that transaction back and is recorded by the middleware afterwards.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError

from ledger import bounds
from ledger.errors import LedgerError

from .models import AuditEvent

log = logging.getLogger(__name__)
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
SKIP_PREFIXES = ("/static/", "/i18n/")


def client_address(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def trust_of_request(request):
    """The trust a request works in: the URL's ``trust_code``, else the page's ``?trust=`` (None if neither)."""
    from .models import Trust

    match = getattr(request, "resolver_match", None)
    code = (match.kwargs.get("trust_code") if match is not None else None) or request.GET.get("trust")
    if not code:
        return None
    try:
        bounds.check_text(code, field="trust")
    except LedgerError:  # no trust's code holds a NUL, and PostgreSQL would refuse the lookup
        return None
    return Trust.objects.filter(code=code).first()


def audit(*, user=None, action: str, channel: str = "command", detail: dict | None = None, request=None,
          status: int | None = None, strict: bool = False, trust=None) -> AuditEvent | None:
    try:
        if trust is None and request is not None:
            trust = trust_of_request(request)
        return AuditEvent.objects.create(
            trust=trust,
            user=user if getattr(user, "pk", None) else None,
            username=getattr(user, "username", "") or "",
            address=client_address(request) if request is not None else None,
            channel=channel,
            method=request.method if request is not None else "",
            path=request.path[:500] if request is not None else "",
            status=status,
            action=action[:200],
            detail=detail or {},
        )
    except DatabaseError:  # an audit write must never turn a finished change into an error page
        if strict:  # ... but one written with the change must not let the change commit without it
            raise
        log.exception("audit event could not be written: %s", action)
        return None


def may_change(request) -> bool:
    """Whether the audit log records this request: it may change something (and is not for a static file)."""
    return request.method in UNSAFE and not request.path.startswith(SKIP_PREFIXES)


def request_event(request, status: int) -> dict:
    """The ``audit()`` arguments that record one request (a Django ``HttpRequest``) and its outcome."""
    user = getattr(request, "user", None)
    if user is not None and not user.is_authenticated:
        user = getattr(request, "_audit_user", None)
    channel = "api" if request.path.startswith("/api/") else "admin" if request.path.startswith("/admin/") else "web"
    fields = sorted(k for k in request.POST.keys() if k not in {"password", "csrfmiddlewaretoken"}) \
        if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data") else []
    return {"user": user, "action": f"{request.method} {request.path}"[:200], "channel": channel, "request": request,
            "status": status, "detail": {"fields": fields} if fields else {}}


def audit_in_transaction(request, status: int) -> AuditEvent:
    """Record ``request`` inside the caller's transaction, as part of the change: a failure to write the event is
    the change's failure (nothing is swallowed), and the middleware does not record the request again."""
    event = audit(**request_event(request, status), strict=True)
    request._audit_recorded = True
    return event


class AuditMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if may_change(request) and response.status_code < 500 and not getattr(request, "_audit_recorded", False):
            audit(**request_event(request, response.status_code))
        return response
