"""``report NAME``: write one report as CSV, JSON or PDF (docs/formats.md).

Exit status: 0 written; 1 refused input (an unknown fund, --from after --to); 2 wrong usage (an unknown
report, an option the report does not take, a PDF without --out).
"""

from __future__ import annotations

import datetime as dt
import io
import os
import tempfile
from pathlib import Path

from django.core.management.base import CommandError

from charity.reports import FORMATS, ReportError, ReportUsageError, get_report, render_report, report_names
from charity.reports import resolve_params
from ledger.management.base import BookCommand


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        import argparse

        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _year(text: str) -> int:
    import argparse

    if not (len(text) == 4 and text.isdigit()):
        raise argparse.ArgumentTypeError(f"{text!r} is not a year (YYYY)")
    return int(text)


class Command(BookCommand):
    help = "Write one report. NAME is one of: " + ", ".join(report_names())

    def add_arguments(self, parser):
        parser.add_argument("name", metavar="NAME", choices=report_names(),
                            help="the report: " + ", ".join(report_names()))
        parser.add_argument("--as-of", type=_date, metavar="DATE", help="balance date (default: today)")
        parser.add_argument("--from", dest="date_from", type=_date, metavar="DATE",
                            help="first day of the period (default: 1 January of the current year)")
        parser.add_argument("--to", dest="date_to", type=_date, metavar="DATE",
                            help="last day of the period (default: today)")
        parser.add_argument("--year", type=_year, metavar="YYYY",
                            help="short for --from YYYY-01-01 --to YYYY-12-31, or --as-of YYYY-12-31")
        parser.add_argument("--fund", metavar="CODE", help="one fund only (reports that take it)")
        parser.add_argument("--donor", metavar="EXTERNAL_ID", help="the donor (reports that take it)")
        parser.add_argument("--account", metavar="CODE", help="the money account (reconciliation)")
        parser.add_argument("--format", choices=FORMATS, default=None,
                            help="default: csv, or the report's only format (annual-report: pdf)")
        parser.add_argument("--out", metavar="PATH", help="file to write (default: standard output; csv/json only)")
        super().add_arguments(parser)

    def handle(self, *args, **options):
        try:
            report = get_report(options["name"])
            if options["format"] is None:
                options["format"] = "csv" if "csv" in report.formats else report.formats[0]
            if options["format"] == "pdf" and not options["out"]:
                raise ReportUsageError("--format pdf needs --out PATH (a PDF is not written to standard output)")
            if options["format"] not in report.formats:
                raise ReportUsageError(f"report {report.name} is not available as {options['format']}")
            book = self.resolve_book(options["trust"])
            params = resolve_params(
                report, book, as_of=options["as_of"], date_from=options["date_from"], date_to=options["date_to"],
                year=options["year"], fund=options["fund"], donor=options["donor"],
                account=options["account"],
            )
            if options["out"]:
                self._to_file(Path(options["out"]), book, report, params, options["format"])
            else:
                self._to_stdout(book, report, params, options["format"])
        except ReportUsageError as exc:
            raise CommandError(exc.message, returncode=2) from exc
        except ReportError as exc:
            raise CommandError(exc.message) from exc

    def _to_file(self, path: Path, book, report, params, fmt):
        # Written beside the target and renamed into place: a failed report never leaves half a file.
        directory = path.parent if str(path.parent) else Path(".")
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
        except OSError as exc:
            raise CommandError(f"--out: cannot write in {directory} ({exc.strerror})") from exc
        try:
            with os.fdopen(fd, "wb") as out:
                render_report(book=book, report=report, params=params, fmt=fmt, out=out)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _to_stdout(self, book, report, params, fmt):
        stream = self.stdout._out
        binary = getattr(stream, "buffer", None)
        if binary is not None:
            stream.flush()
            render_report(book=book, report=report, params=params, fmt=fmt, out=binary)
            binary.flush()
            return
        # A text stream (call_command(stdout=StringIO())): decode as we go.
        adapter = _TextSink(stream)
        render_report(book=book, report=report, params=params, fmt=fmt, out=adapter)


class _TextSink(io.RawIOBase):
    """A binary stream that hands UTF-8 text to a text stream (for call_command with a StringIO)."""

    def __init__(self, text_stream):
        import codecs

        self._text = text_stream
        self._decoder = codecs.getincrementaldecoder("utf-8")()

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._text.write(self._decoder.decode(bytes(data)))
        return len(data)
