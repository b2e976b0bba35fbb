"""Reads from the standby: which database a request reads from, chosen once at the view boundary.

Only views marked ``@standby_read`` may read from the standby (the database alias ``replica``, configured by
``DATABASE_REPLICA_URL``): the reports, the disclosure page, the donor portal and the auditor's downloads, which
only read. Everything else, and every write anywhere, goes to ``default`` (the primary). The decision is made
once per request, in ``standby_read``, from what the request shows:

- no standby configured (``DATABASE_REPLICA_URL`` unset): the primary;
- the user wrote within the last ``DATABASE_REPLICA_STICKY_SECONDS`` (a signed cookie that ``ReadYourWrites``
  sets on every unsafe request, signed in or not): the primary, so that she reads her own writes;
- the request asks for a ledger head the standby has not replayed yet: ``?head=<hash>`` (the head hash every
  report and ``verify_ledger`` state) or ``?head=<sequence>`` (the entry count, of the trust the URL names:
  ``/trusts/<code>/`` or ``?trust=<code>``): the primary (an unknown or malformed head too: the primary is never
  behind);
- otherwise the standby.

Why a context variable: Django's routers are asked ``db_for_read(model)`` by every queryset, and the ledger's
selectors ask the router which connection to read through (``ledger.selectors.read_connection``), so the choice
must reach code that is not handed the request. Passing ``using=`` through every report, selector and template
would put the alias into every signature of the reading code; instead the choice lives in this one module, is set
only by ``standby_read`` for the duration of the view (``reading_from``) and is reset when it returns, and the
response says which database served it (``X-Ledger-Database: primary|standby``) so a test or an operator can see
it. Writes never consult it: ``db_for_write`` is always ``default``.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools

from django.conf import settings
from django.core import signing
from django.db import DEFAULT_DB_ALIAS

REPLICA = "replica"
STICKY_COOKIE = "ctl_wrote"
_SAFE = {"GET", "HEAD", "OPTIONS", "TRACE"}
_read_alias: contextvars.ContextVar[str] = contextvars.ContextVar("ctl_read_alias", default=DEFAULT_DB_ALIAS)


def replica_configured() -> bool:
    return bool(getattr(settings, "DATABASE_REPLICA", False)) and REPLICA in settings.DATABASES


@contextlib.contextmanager
def reading_from(alias: str):
    """Reads inside the block go to ``alias``; the previous choice is back afterwards."""
    token = _read_alias.set(alias)
    try:
        yield alias
    finally:
        _read_alias.reset(token)


class ReadRouter:
    """Reads go where ``reading_from`` says (the primary unless a ``standby_read`` view chose the standby);
    writes always to the primary. Migrations run on the primary only: a standby replays them."""

    def db_for_read(self, model, **hints):
        return _read_alias.get()

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the standby is a copy of the primary: an object read from either is the same row

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == DEFAULT_DB_ALIAS


def wrote_recently(request) -> bool:
    value = request.COOKIES.get(STICKY_COOKIE)
    if not value:
        return False
    try:  # the signature carries its own time: older than the window is SignatureExpired (a BadSignature)
        signing.loads(value, salt=STICKY_COOKIE, max_age=settings.DATABASE_REPLICA_STICKY_SECONDS)
    except signing.BadSignature:
        return False
    return True


def standby_has(head: str) -> bool:
    """Whether the standby has replayed the posted entry whose hash is ``head``."""
    from ledger.models import EntryStatus, JournalEntry

    head = head.strip().lower()
    if len(head) != 64 or any(c not in "0123456789abcdef" for c in head):
        return False
    return JournalEntry.objects.using(REPLICA).filter(hash=head, status=EntryStatus.POSTED).exists()


def standby_has_sequence(trust_code: str | None, sequence: int) -> bool:
    """Whether the standby's copy of the trust's book has reached entry ``sequence``."""
    from .models import Trust

    if not trust_code:
        return False
    reached = Trust.objects.using(REPLICA).filter(code=trust_code).values_list("book__last_sequence", flat=True)
    return any(last >= sequence for last in reached)


def choose(request, trust_code: str | None = None) -> str:
    """The alias a ``standby_read`` view reads from for this request (see the module's docstring)."""
    if not replica_configured() or wrote_recently(request):
        return DEFAULT_DB_ALIAS
    head = request.GET.get("head")
    if head is None:
        return REPLICA
    head = head.strip()
    if head.isdigit() and len(head) <= 18:
        replayed = standby_has_sequence(trust_code or request.GET.get("trust"), int(head))
    else:
        replayed = standby_has(head)
    return REPLICA if replayed else DEFAULT_DB_ALIAS


def standby_read(view):
    """Mark a view that only reads as one that may read from the standby (see the module's docstring). A view
    function, or a DRF view's handler method (``retrieve(self, request, ...)``): then the authentication and the
    permission checks DRF runs before the handler read the primary, and only the handler the standby."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        request = args[0] if hasattr(args[0], "method") else args[1]
        alias = choose(request, kwargs.get("trust_code"))
        with reading_from(alias):
            response = view(*args, **kwargs)
            # A streamed response reads while it is sent, after the view returned: keep the choice for it.
            if getattr(response, "streaming", False):
                response.streaming_content = _reading(alias, response.streaming_content)
        response["X-Ledger-Database"] = "standby" if alias == REPLICA else "primary"
        return response

    wrapped.standby_read = True
    return wrapped


def _reading(alias, chunks):
    with reading_from(alias):
        yield from chunks


class ReadYourWrites:
    """After any unsafe request (POST, PUT, PATCH, DELETE), the client's next requests read from the primary for
    ``DATABASE_REPLICA_STICKY_SECONDS``: a signed cookie with the time until which they do. Set only when a standby
    is configured; a client that keeps no cookies (an API script) asks for the head it wrote instead (``?head=``)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.method not in _SAFE and replica_configured():
            seconds = settings.DATABASE_REPLICA_STICKY_SECONDS
            response.set_cookie(
                STICKY_COOKIE, signing.dumps("wrote", salt=STICKY_COOKIE), max_age=seconds,
                httponly=True, samesite="Lax", secure=settings.SESSION_COOKIE_SECURE,
            )
        return response
