"""The report cache: a rendering kept under the ledger state it was made from.

A report is reproducible: the same entries and the same parameters give byte-identical output, and the output
states the entry count and head hash it was made from. So a rendering can be kept under a key made of

* the book (its primary key and creation time) and its head, ``Book.last_sequence`` and ``Book.head_hash``
  (one row read by primary key, or the row the request has just read with its trust);
* the report, the *resolved* parameters (``year=2026`` and ``from=2026-01-01&to=2026-12-31`` are one key), the
  format and the active language;
* the report's ``cache_state()``: whatever else it shows that can change without an entry (a donor statement:
  the donor's name and the receipts of the period's gifts);
* a fingerprint of the code and the settings that shape the output (a deploy or a new setting never meets an
  old rendering in a cache that outlives the process).

Nothing is ever invalidated: a posted entry moves the head, and the keys made from the old head are simply never
asked for again (the cache's own bound evicts them). Only reports that declare ``cacheable`` are kept; see each
report's module for why it is or is not.

What keeps a hit right:
* The caller authorises the request *before* it asks for a report; the cache never decides who sees what, and a
  donor's own statement is keyed by that donor's external id and state like any other parameter.
* The head in the key is read in this request.
* A rendering is stored only under the head it was made from: the head the render states (read inside its
  REPEATABLE READ snapshot on PostgreSQL) must equal the key's; where there is no snapshot (SQLite, or a render
  inside an open transaction) the book's head is read again after the render and must not have moved. A race
  with a posting therefore costs a miss, never a wrong hit.
* Output larger than ``REPORT_CACHE_MAX_ITEM_BYTES`` is not kept (a year's general ledger of a big book).

Which cache: ``CACHES["reports"]`` (settings: ``REPORT_CACHE``); without that alias nothing is cached.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import logging
from pathlib import Path

from django.conf import settings
from django.core.cache import InvalidCacheBackendError, caches
from django.utils import translation

from ledger.models import Book

from .base import Head, Params, Report

log = logging.getLogger(__name__)
CACHE_ALIAS = "reports"
KEY_VERSION = "1"  # bump when the key's shape changes
HIT, MISS, OFF = "hit", "miss", "off"

# Settings read while a report is made; a change gives new keys.
_SETTINGS = ("TIME_ZONE", "PDF_CJK_FONT")


def report_cache():
    """The cache for reports, or ``None`` when it is switched off (no ``reports`` alias)."""
    if CACHE_ALIAS not in settings.CACHES:
        return None
    try:
        return caches[CACHE_ALIAS]
    except InvalidCacheBackendError:
        return None


@functools.cache
def _code_fingerprint() -> str:
    """The source of the report package, the PDF frame and the privacy threshold, and reportlab's version."""
    import reportlab

    here = Path(__file__).resolve().parent
    charity = here.parent
    files = sorted(here.glob("*.py")) + [charity / "pdf.py", charity / "chart.py", charity / "spending.py",
                                         charity.parent / "beneficiaries" / "privacy.py"]
    digest = hashlib.sha256(reportlab.Version.encode())
    for path in files:
        if path.exists():
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _params_key(params: Params) -> list:
    def day(value):
        return value.isoformat() if value is not None else None

    fund = [params.fund.pk, params.fund.code] if params.fund is not None else None
    return [day(params.as_of), day(params.date_from), day(params.date_to), fund, params.donor]


def book_head(book: Book) -> tuple[int, str]:
    """The book's head as committed now: (last sequence, head hash), one row by primary key."""
    return tuple(Book.objects.filter(pk=book.pk).values_list("last_sequence", "head_hash").get())


def cache_key(*, book: Book, head: tuple[int, str], report: type[Report], params: Params, fmt: str,
              state: str) -> str:
    # The book's creation time too: a database re-created or restored under a running server (or a cache
    # directory shared by two databases) may hold another book under the same primary key, with the same
    # head hash when its entries are alike (an empty book's head is always (0, "")).
    parts = [
        KEY_VERSION, _code_fingerprint(), [repr(getattr(settings, name, None)) for name in _SETTINGS],
        str(settings.DATABASES["default"].get("NAME")), book.pk, book.created_at.isoformat(),
        int(head[0]), head[1] or "", report.name, _params_key(params), fmt,
        translation.get_language() or "", state,
    ]
    text = json.dumps(parts, ensure_ascii=False, separators=(",", ":"))
    return "report:" + hashlib.sha256(text.encode()).hexdigest()


def _same_head(made_from: Head, head: tuple[int, str]) -> bool:
    # An empty book is (0, "-") to the report and (0, "") in its row.
    return (made_from.entry_count, made_from.head_hash if made_from.entry_count else "") == \
        (int(head[0]), head[1] if head[0] else "")


def render_cached(*, book: Book, report: type[Report], params: Params, fmt: str,
                  head: tuple[int, str] | None = None) -> tuple[bytes, str]:
    """The report's bytes and where they came from (``hit``, ``miss`` or ``off``).

    ``head``: the book's (last_sequence, head_hash) if the caller read the book row in this request;
    otherwise it is read here. Raises what ``render_report`` raises (``ReportError``); an error is never kept.
    """
    from . import check_format, render_report, snapshot_possible

    def render() -> tuple[bytes, Head]:
        buffer = io.BytesIO()
        made_from = render_report(book=book, report=report, params=params, fmt=fmt, out=buffer)
        return buffer.getvalue(), made_from

    check_format(report, fmt)
    cache = report_cache()
    state = report.cache_state(book, params) if cache is not None and report.cacheable else None
    if state is None:
        return render()[0], OFF
    if head is None:
        head = book_head(book)
    key = cache_key(book=book, head=head, report=report, params=params, fmt=fmt, state=state)
    try:
        content = cache.get(key)
    except Exception:  # noqa: BLE001 - a cache that fails (a full disk, a lost directory) only costs a render
        log.warning("report cache: get failed", exc_info=True)
        content = None
    if content is not None:
        return content, HIT
    snapshot = snapshot_possible()
    content, made_from = render()
    if (len(content) <= getattr(settings, "REPORT_CACHE_MAX_ITEM_BYTES", 256 * 1024) and _same_head(made_from, head)
            and (snapshot or book_head(book) == (int(head[0]), head[1]))):
        try:
            cache.set(key, content)
        except Exception:  # noqa: BLE001
            log.warning("report cache: set failed", exc_info=True)
    return content, MISS
