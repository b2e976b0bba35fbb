"""Reports (issue 5): a small framework and the reports built on it.

Adding a report: put a module in this package that defines a ``Report`` subclass decorated with
``@register``; the package imports every module in it, so nothing else needs editing. See the Reports section of the README.

    from charity.reports import REPORTS, render_report, resolve_params
    cls = REPORTS["trial-balance"]
    params = resolve_params(cls, book, as_of=date(2025, 12, 31))
    render_report(book=book, report=cls, params=params, fmt="csv", out=binary_stream)
    content, how = render_cached(book=book, report=cls, params=params, fmt="csv")  # through the report cache
"""

from __future__ import annotations

import contextlib
import importlib
import pkgutil
from typing import BinaryIO

from django.db import transaction

from ledger.selectors import read_connection

from .base import (  # noqa: F401
    AS_OF,
    FORMATS,
    RANGE,
    REPORTS,
    Column,
    Head,
    Params,
    Ratio,
    Report,
    ReportData,
    ReportError,
    ReportUsageError,
    Row,
    amount,
    ledger_head,
    register,
    resolve_params,
)

_FRAMEWORK = {"base", "writers", "cache"}


def autodiscover() -> None:
    """Import every module of this package so that its ``@register`` decorators run (sorted, once)."""
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name not in _FRAMEWORK and not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")


def report_names() -> list[str]:
    return sorted(REPORTS)


def get_report(name: str) -> type[Report]:
    try:
        return REPORTS[name]
    except KeyError:
        raise ReportUsageError(f"unknown report {name!r}; reports: {', '.join(report_names())}") from None


def check_format(cls: type[Report], fmt: str) -> None:
    from .writers import WRITERS

    if fmt not in WRITERS:
        raise ReportUsageError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    if fmt not in cls.formats:
        raise ReportUsageError(f"report {cls.name} is not available as {fmt} (only {', '.join(cls.formats)})")


def snapshot_possible() -> bool:
    """Whether ``render_report`` reads one snapshot here (PostgreSQL, outside a transaction)."""
    # On SQLite a transaction would be IMMEDIATE (settings) and hold the write lock for the whole report.
    connection = read_connection()
    return connection.vendor == "postgresql" and not connection.in_atomic_block


def render_report(*, book, report: type[Report] | str, params: Params, fmt: str, out: BinaryIO) -> Head:
    """Write one report to ``out`` (a binary stream) and return the ledger head it was made from.

    On PostgreSQL, when not already inside a transaction, the report reads one REPEATABLE READ snapshot, so
    the entry count and head hash it states are exactly the state its figures come from, whatever is posted
    meanwhile. (SQLite serialises writers but a report there reads statement by statement.)
    """
    from .writers import WRITERS

    cls = get_report(report) if isinstance(report, str) else report
    check_format(cls, fmt)
    # The database the reads go to (the standby when the view chose it: charity.dbrouter), in one snapshot.
    connection = read_connection()
    snapshot = snapshot_possible()
    with transaction.atomic(using=connection.alias) if snapshot else contextlib.nullcontext():
        if snapshot:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        instance = cls(book=book, params=params)
        head = ledger_head(book, params)
        data = instance.build()
        WRITERS[fmt](instance, data, head, out)
    return head


autodiscover()

from .cache import render_cached  # noqa: E402,F401  (after render_report, which it calls)
