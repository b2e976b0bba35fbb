"""This app's Prometheus metrics, beside django-prometheus' own (requests, responses, database queries).

``ctl_ledger_entries_posted_total`` and ``ctl_ledger_posting_seconds`` are fed by the ledger's signal
``ledger.signals.entries_posted`` (sent once a posting transaction commits), connected in ``CharityConfig.ready``:
the ledger stays ignorant of Prometheus. ``ctl_standby_lag_seconds`` / ``_bytes`` are measured when ``/metrics`` is
scraped (and by ``/healthz``).

Several gunicorn workers: set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory that the workers share (made
before they start, emptied at each start), so that a scrape sums every worker's counters (prometheus_client's
multiprocess mode, which django-prometheus' exporter uses when that variable is set).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

ENTRIES_POSTED = Counter("ctl_ledger_entries_posted_total", "Journal entries posted (committed; replays not counted)")
POSTING_SECONDS = Histogram(
    "ctl_ledger_posting_seconds", "Time to post one posting transaction (one entry_post, or one import's batch)",
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
STANDBY_LAG = Gauge("ctl_standby_lag_seconds", "How far the standby's replay is behind (PostgreSQL; seconds)",
                    multiprocess_mode="livemax")
STANDBY_LAG_BYTES = Gauge("ctl_standby_lag_bytes", "WAL bytes the standby has not replayed yet (PostgreSQL)",
                          multiprocess_mode="livemax")


def on_entries_posted(sender, *, count: int, seconds: float, **kwargs) -> None:
    ENTRIES_POSTED.inc(count)
    POSTING_SECONDS.observe(seconds)


def refresh() -> None:
    """Measure the standby's lag now (for a scrape); leaves the gauges as they were when it cannot."""
    from .dbrouter import replica_configured
    from .health import standby_lag

    if not replica_configured():
        return
    try:
        lag = standby_lag()
    except Exception:  # noqa: BLE001 - a standby that does not answer shows in /healthz; the scrape still works
        return
    if lag["seconds"] is not None:
        STANDBY_LAG.set(lag["seconds"])
    if lag["bytes"] is not None:
        STANDBY_LAG_BYTES.set(lag["bytes"])
