"""The report framework: parameters, the ``Report`` base class, the registry and the neutral table model.

A report reads the books and returns a ``ReportData``: columns, rows, totals, a summary and notes, with
amounts as ``Decimal`` CNY and nothing about layout. ``charity.reports.writers`` turns that one model into
CSV, JSON or PDF, so every report gets all three formats, the same audit header (trust, parameters, entry
count, head hash, generation time) and the same protections (formula-injection prefix in CSV, escaped text in
PDF) without writing any of it.

Streaming: ``ReportData.rows`` may be a generator. Writers consume it once, row by row, and only then read
``totals``, ``summary`` and ``notes``, which may therefore be callables filled in while the rows went by (a
journal's debit and credit totals). A report over millions of legs never holds them in memory (CSV, JSON).

Reproducibility: nothing here reads the wall clock. ``generated_at`` is the ``created_at`` of the book's head
entry (the ledger state the report was made from); an empty book falls back to the report's as-of/to date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar

from django.utils import timezone

from ledger import bounds
from ledger.errors import LedgerError
from ledger.models import Account, Book, Fund, JournalEntry, from_minor
from ledger import selectors

AS_OF = "as_of"
RANGE = "range"
FORMATS = ("csv", "json", "pdf")
OPTIONAL_OPTIONS = ("fund", "donor", "account")


class ReportError(Exception):
    """Refused input (exit status 1): an unknown fund, ``--from`` after ``--to``..."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class ReportUsageError(ReportError):
    """Wrong usage (exit status 2): an option the report does not take, a missing required option."""


# --------------------------------------------------------------------------------------------- table model


@dataclass(frozen=True)
class Column:
    """``key`` is the CSV header and the JSON key; ``title``/``title_en`` head the PDF column.

    ``kind`` only guides PDF alignment and width (``text``, ``amount``, ``int``, ``date``, ``ratio``); how a
    cell is written depends on the value's own type (see ``writers``), so a text column may hold an amount.
    """

    key: str
    title: str
    title_en: str = ""
    kind: str = "text"
    width: float = 0.0  # relative PDF width; 0 = by kind
    pdf: bool = True  # False: machine-readable only (a CSV/JSON key the printed page does not need)


class Row(tuple):
    """A tuple of cells with an optional ``style`` for the PDF (``heading``, ``subtotal``, ``total``).

    Plain tuples and lists are rows too; CSV and JSON ignore the style.
    """

    style: str

    def __new__(cls, cells: Iterable[Any], style: str = ""):
        row = super().__new__(cls, cells)
        row.style = style
        return row


@dataclass(frozen=True)
class Ratio:
    """A ratio cell, written with four places (``0.7123``); ``None`` when its denominator is zero."""

    value: Decimal | None


@dataclass
class ReportData:
    columns: list[Column]
    rows: Iterable[Sequence[Any]]
    totals: list[Sequence[Any]] | Callable[[], list[Sequence[Any]]] = field(default_factory=list)
    # Key figures beside the table (ratios, totals by class): dicts with fixed key order.
    summary: list[dict[str, Any]] | Callable[[], list[dict[str, Any]]] = field(default_factory=list)
    notes: list[str] | Callable[[], list[str]] = field(default_factory=list)


def resolved(value):
    """``totals``, ``summary`` and ``notes`` may be callables, read after the rows have been consumed."""
    return value() if callable(value) else value


def amount(fen: int) -> Decimal:
    """Integer fen -> ``Decimal`` CNY with two places (the cell type writers print as an amount)."""
    return from_minor(fen)


# ---------------------------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class Params:
    as_of: dt.date | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    fund: Fund | None = None
    donor: str | None = None
    account: Account | None = None

    @property
    def last_day(self) -> dt.date | None:
        return self.as_of or self.date_to

    def as_meta(self) -> dict[str, Any]:
        """The parameters as they appear in JSON ``meta`` (fixed order, only those that apply)."""
        meta: dict[str, Any] = {}
        if self.as_of is not None:
            meta["as_of"] = self.as_of.isoformat()
        if self.date_from is not None:
            meta["from"] = self.date_from.isoformat()
            meta["to"] = self.date_to.isoformat()
        if self.fund is not None:
            meta["fund"] = self.fund.code
        if self.donor is not None:
            meta["donor"] = self.donor
        if self.account is not None:
            meta["account"] = self.account.code
        return meta

    def describe(self) -> str:
        """One bilingual line for the PDF header."""
        parts = []
        if self.as_of is not None:
            parts.append(f"截至 As of {self.as_of.isoformat()}")
        if self.date_from is not None:
            parts.append(f"期间 Period {self.date_from.isoformat()} – {self.date_to.isoformat()}")
        if self.fund is not None:
            parts.append(f"基金 Fund {self.fund.code} {self.fund.name}")
        if self.donor is not None:
            parts.append(f"捐赠人 Donor {self.donor}")
        if self.account is not None:
            parts.append(f"科目 Account {self.account.code} {self.account.name}")
        parts.append("单位：人民币元 Amounts in CNY")
        return " · ".join(parts)


def _in_books_range(check, value, name: str) -> None:
    """``ledger.bounds``' check of a date or year, refused as input (exit 1, HTTP 400) naming the option."""
    try:
        check(value, field=name)
    except LedgerError as exc:
        raise ReportError(exc.message, field=name) from None


def resolve_params(
    report: type[Report],
    book: Book,
    *,
    as_of: dt.date | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    year: int | None = None,
    fund: str | None = None,
    donor: str | None = None,
    today: dt.date | None = None,
    account: str | None = None,
) -> Params:
    """Check the options given against what ``report`` takes and fill in the defaults (docs/formats.md)."""
    today = today or timezone.localdate()
    given = {
        "--as-of": as_of is not None,
        "--from": date_from is not None,
        "--to": date_to is not None,
        "--fund": fund is not None,
        "--donor": donor is not None,
        "--account": account is not None,
    }
    allowed = {"--fund": "fund" in report.options, "--donor": "donor" in report.options,
               "--account": "account" in report.options}
    allowed["--as-of"] = report.period == AS_OF
    allowed["--from"] = allowed["--to"] = report.period == RANGE
    refused = [opt for opt, was_given in given.items() if was_given and not allowed[opt]]
    if refused:
        takes = report.takes()
        raise ReportUsageError(
            f"report {report.name} does not take {', '.join(refused)} (it takes: {', '.join(takes) or 'no options'})"
        )
    if year is not None:
        if report.period is None:
            raise ReportUsageError(f"report {report.name} does not take --year")
        clashing = [opt for opt in ("--as-of", "--from", "--to") if given[opt]]
        if clashing:
            raise ReportUsageError(f"--year cannot be combined with {', '.join(clashing)}")
        if not 1900 <= year <= 9999:
            raise ReportUsageError(f"--year {year} is not a year")
        _in_books_range(bounds.check_year, year, "year")
        if report.period == AS_OF:
            as_of = dt.date(year, 12, 31)
        else:
            date_from, date_to = dt.date(year, 1, 1), dt.date(year, 12, 31)
    for option in report.required:
        if {"fund": fund, "donor": donor, "account": account}[option] is None:
            raise ReportUsageError(f"report {report.name} needs --{option}")
    if report.period == AS_OF:
        as_of = as_of or today
        date_from = date_to = None
    elif report.period == RANGE:
        date_to = date_to or today
        date_from = date_from or dt.date(date_to.year, 1, 1)
    for value, name in ((as_of, "as_of"), (date_from, "from"), (date_to, "to")):
        if value is not None:
            _in_books_range(bounds.check_date, value, name)
    if report.period == RANGE:
        if date_from > date_to:
            raise ReportError(
                f"--from {date_from.isoformat()} is after --to {date_to.isoformat()}", field="from"
            )
    fund_obj = None
    if fund is not None:
        fund_obj = Fund.objects.filter(book=book, code=fund).first()
        if fund_obj is None:
            raise ReportError(f"--fund: no fund with code {fund!r} in trust {book.code}", field="fund")
    account_obj = None
    if account is not None:
        account_obj = Account.objects.filter(book=book, code=account).first()
        if account_obj is None:
            raise ReportError(f"--account: no account with code {account!r} in trust {book.code}", field="account")
    return Params(as_of=as_of, date_from=date_from, date_to=date_to, fund=fund_obj, donor=donor, account=account_obj)


# ------------------------------------------------------------------------------------------------ reports


REPORTS: dict[str, type[Report]] = {}


def register(cls: type[Report]) -> type[Report]:
    """Class decorator: adds a report to ``REPORTS`` under its ``name`` (names are unique)."""
    if not cls.name:
        raise TypeError(f"{cls.__name__} has no name")
    existing = REPORTS.get(cls.name)
    if existing is not None and existing is not cls and existing.__qualname__ != cls.__qualname__:
        raise TypeError(f"report name {cls.name!r} is taken by {existing.__module__}.{existing.__qualname__}")
    REPORTS[cls.name] = cls
    return cls


class Report:
    """Subclass, set the class attributes, implement ``build()`` and decorate with ``@register``.

    ``period``: ``AS_OF`` (takes ``--as-of``), ``RANGE`` (takes ``--from``/``--to``) or ``None`` (neither);
    ``--year`` maps onto whichever applies. ``options``: which of ``fund``, ``donor`` it takes; ``required``:
    which of those it cannot do without. ``formats``: the formats it can be written in.
    """

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    title_en: ClassVar[str] = ""
    period: ClassVar[str | None] = RANGE
    options: ClassVar[frozenset[str]] = frozenset()
    required: ClassVar[frozenset[str]] = frozenset()
    formats: ClassVar[tuple[str, ...]] = FORMATS
    landscape: ClassVar[bool] = False  # PDF page orientation
    # The report cache (``charity.reports.cache``) keeps a rendering under the ledger head it was made from.
    # Only a report whose output is a function of the entries, its parameters, ``cache_state()`` and what never
    # changes once created (the trust, its accounts, funds, programs and stock items), and never of who asks,
    # may set this; a new report is not cached until someone has checked that.
    cacheable: ClassVar[bool] = False

    def __init__(self, *, book: Book, params: Params):
        self.book = book
        self.params = params

    @classmethod
    def takes(cls) -> list[str]:
        opts = {AS_OF: ["--as-of", "--year"], RANGE: ["--from", "--to", "--year"], None: []}[cls.period]
        return opts + [f"--{o}" for o in OPTIONAL_OPTIONS if o in cls.options]

    def build(self) -> ReportData:
        raise NotImplementedError

    # PDF hook: the flowables of the body. The default lays out the table, the summary and the notes;
    # override (calling ``writers.pdf_story``) to add charts or several tables (the annual report).
    def pdf_story(self, data: ReportData, width: float) -> list:
        from .writers import pdf_story

        return pdf_story(data, width)

    @property
    def trust_name(self) -> str:
        trust = getattr(self.book, "trust", None)
        return trust.name if trust is not None else self.book.name

    def parameters_text(self) -> str:
        return self.params.describe()

    @classmethod
    def cache_state(cls, book: Book, params: Params) -> str | None:
        """What the output depends on besides the ledger head and the parameters, for the cache key (read on
        every request, so one cheap query at most); ``None``: do not cache this rendering."""
        return ""


@dataclass(frozen=True)
class Head:
    """The ledger state a report was made from: ``verify_ledger``'s count and hash, and a stable time."""

    entry_count: int
    head_hash: str
    generated_at: dt.datetime


def ledger_head(book: Book, params: Params) -> Head:
    count, head_hash = selectors.head(book)
    created = None
    if count:
        created = (
            JournalEntry.objects.filter(book=book, sequence=count).values_list("created_at", flat=True).first()
        )
    if created is None:
        day = params.last_day or dt.date(1970, 1, 1)
        created = dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())
    return Head(count, head_hash, timezone.localtime(created).replace(microsecond=0))
