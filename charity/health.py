"""``/healthz`` and ``/metrics``: what a load balancer, a monitor and Prometheus ask the app.

``/healthz`` (anyone, no sign-in; GET/HEAD) answers JSON, 200 when healthy and 503 otherwise::

    {"status": "ok", "databases": {"primary": {"ok": true}, "replica": {"ok": true, "in_recovery": true}},
     "standby_lag": {"seconds": 0.0, "bytes": 0}, "mail": {"pending": 0},
     "ledger": {"books": 1, "entries": 3768, "head": "5703a49b..."}}

Healthy: the primary answers, and when a standby is configured (``DATABASE_REPLICA_URL``) it answers too and is no
further behind than ``HEALTH_MAX_STANDBY_LAG_SECONDS``. ``standby_lag`` is measured on PostgreSQL only (null on
SQLite or without a standby): seconds since the last replayed transaction when the standby has WAL it has not
replayed yet (0 when it has replayed all it received), and bytes between the primary's current WAL position and
the standby's replay position. ``mail.pending``: messages queued or being sent. ``ledger``: the number of books,
their entries in all, and the head hash of the most recently posted entry (a hash the public disclosure page
already shows, so nothing secret). No database name, host, user, error text or personal data is ever in it.

``/metrics`` is django-prometheus' exposition (requests, responses, latencies, database queries per alias) plus
this app's own (``charity.metrics``), for addresses in ``METRICS_ALLOWED_IPS`` or a bearer ``METRICS_TOKEN``;
anyone else gets a plain 404.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import Http404, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .dbrouter import REPLICA, replica_configured


def _ping(alias: str) -> bool:
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return True
    except Exception:  # noqa: BLE001 - any failure to answer is "down"; its text may name hosts, so it is dropped
        return False


def standby_lag() -> dict:
    """``{"in_recovery", "seconds", "bytes"}`` of the standby (PostgreSQL); nulls where it cannot be measured."""
    lag = {"in_recovery": None, "seconds": None, "bytes": None}
    if not replica_configured() or connections[REPLICA].vendor != "postgresql":
        return lag
    with connections[REPLICA].cursor() as cursor:
        cursor.execute(
            "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text, "
            "CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0 "
            "ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8 END"  # seconds, a duration
        )
        in_recovery, replayed, seconds = cursor.fetchone()
    lag["in_recovery"] = in_recovery
    if not in_recovery:  # the alias names a server that is not a standby (e.g. the primary itself): no lag
        lag["seconds"], lag["bytes"] = 0.0, 0
        return lag
    lag["seconds"] = seconds
    if replayed is not None:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s::pg_lsn)", [replayed])
            lag["bytes"] = max(0, int(cursor.fetchone()[0]))
    return lag


def ledger_head() -> dict:
    from ledger.models import Book, EntryStatus, JournalEntry

    books = Book.objects.using(DEFAULT_DB_ALIAS)
    newest = (
        JournalEntry.objects.using(DEFAULT_DB_ALIAS).filter(status=EntryStatus.POSTED).order_by("-pk")
        .values_list("hash", flat=True).first()
    )
    return {"books": books.count(), "entries": sum(books.values_list("last_sequence", flat=True)),
            "head": newest or "-"}


def health() -> tuple[bool, dict]:
    from .metrics import STANDBY_LAG, STANDBY_LAG_BYTES
    from .models import MailMessage
    from .models.mail import MailStatus

    body: dict = {"status": "ok", "databases": {}, "standby_lag": {"seconds": None, "bytes": None},
                  "mail": {"pending": None}, "ledger": None}
    primary = _ping(DEFAULT_DB_ALIAS)
    body["databases"]["primary"] = {"ok": primary}
    healthy = primary
    if replica_configured():
        replica = _ping(REPLICA)
        body["databases"]["replica"] = {"ok": replica, "in_recovery": None}
        healthy = healthy and replica
        if replica:
            try:
                lag = standby_lag()
            except Exception:  # noqa: BLE001 - a lag that cannot be read counts as unhealthy, without its text
                lag, healthy = {"in_recovery": None, "seconds": None, "bytes": None}, False
            body["databases"]["replica"]["in_recovery"] = lag.pop("in_recovery")
            body["standby_lag"] = lag
            if lag["seconds"] is not None:
                STANDBY_LAG.set(lag["seconds"])
            if lag["bytes"] is not None:
                STANDBY_LAG_BYTES.set(lag["bytes"])
                healthy = healthy and lag["seconds"] <= settings.HEALTH_MAX_STANDBY_LAG_SECONDS
    else:
        body["databases"]["replica"] = None
    if primary:
        try:
            body["mail"]["pending"] = MailMessage.objects.using(DEFAULT_DB_ALIAS).filter(
                status__in=[MailStatus.QUEUED, MailStatus.SENDING]).count()
            body["ledger"] = ledger_head()
        except Exception:  # noqa: BLE001 - e.g. a database not migrated yet
            healthy = False
    body["status"] = "ok" if healthy else "unhealthy"
    return healthy, body


@never_cache
@require_safe
def healthz(request):
    healthy, body = health()
    return JsonResponse(body, status=200 if healthy else 503)


def metrics_allowed(request) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "")
        if given.startswith("Bearer ") and hmac.compare_digest(given[7:].strip().encode(), token.encode()):
            return True
    return request.META.get("REMOTE_ADDR") in settings.METRICS_ALLOWED_IPS


@never_cache
@require_safe
def metrics(request):
    from django_prometheus.exports import ExportToDjangoView

    if not metrics_allowed(request):
        raise Http404("no such page")
    from .metrics import refresh

    refresh()
    return ExportToDjangoView(request)
