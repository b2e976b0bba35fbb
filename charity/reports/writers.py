"""One neutral ``ReportData`` -> CSV, JSON or PDF bytes on a binary stream.

* CSV: UTF-8 with a BOM (Excel opens it as UTF-8), one header row of column keys, the rows, then the totals
  rows. Amounts are plain decimals with two places (negative amounts stay numbers, ``-12.50``). A *text* cell
  that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'`` so that a
  spreadsheet shows it instead of evaluating it (OWASP "CSV injection").
* JSON: ``{"meta", "columns", "rows", "totals", "summary", "notes"}`` in that order, keys of every object in a
  fixed order, one row per line, amounts as strings with two places, ratios as strings with four.
* PDF: ``charity.pdf.Document`` with the report's table (split into chunks with a repeated header), the
  summary and the notes; the header and footer state trust, report, parameters, generation time, entry
  count, head hash and page N of M.

CSV and JSON are written while the rows are read (constant memory); the PDF is built in memory (reportlab
lays out the whole document before it writes it).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, BinaryIO

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm

from charity import pdf
from ledger.models import CENT

from .base import Column, Head, Ratio, Report, ReportData, resolved

RATIO_PLACES = Decimal("0.0001")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PDF_CHUNK_ROWS = 250


def format_amount(value: Decimal) -> str:
    value = value.quantize(CENT, rounding=ROUND_HALF_EVEN)
    return "0.00" if value == 0 else format(value, "f")


def format_ratio(value: Ratio) -> str:
    return "" if value.value is None else format(value.value.quantize(RATIO_PLACES, rounding=ROUND_HALF_EVEN), "f")


def neutralise(text: str) -> str:
    """Text that a spreadsheet would take for a formula gets a leading apostrophe."""
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format_amount(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Ratio):
        return format_ratio(value)
    return neutralise(str(value))


def json_value(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, Decimal):
        return format_amount(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Ratio):
        return format_ratio(value) or None
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    return str(value)


def meta(report: Report, head: Head) -> dict[str, Any]:
    return {
        "trust": report.book.code,
        "trust_name": report.trust_name,
        "report": report.name,
        "title": report.title,
        "title_en": report.title_en,
        "parameters": report.params.as_meta(),
        "currency": "CNY",
        "entry_count": head.entry_count,
        "head_hash": head.head_hash,
        "generated_at": head.generated_at.isoformat(),
    }


def write_csv(report: Report, data: ReportData, head: Head, out: BinaryIO) -> None:
    text = io.TextIOWrapper(out, encoding="utf-8", newline="")
    text.write("\ufeff")  # explicitly: utf-8-sig leaves it out on a stream that is not at position 0
    writer = csv.writer(text)
    writer.writerow([c.key for c in data.columns])
    for row in data.rows:
        writer.writerow([csv_cell(v) for v in row])
    for row in resolved(data.totals):
        writer.writerow([csv_cell(v) for v in row])
    text.flush()
    text.detach()


def _dumps(value: Any) -> str:
    return json.dumps(json_value(value), ensure_ascii=False, separators=(", ", ": "))


def write_json(report: Report, data: ReportData, head: Head, out: BinaryIO) -> None:
    text = io.TextIOWrapper(out, encoding="utf-8", newline="\n")
    keys = [c.key for c in data.columns]
    columns = [{"key": c.key, "title": c.title, "title_en": c.title_en} for c in data.columns]
    text.write('{"meta": ' + _dumps(meta(report, head)) + ',\n"columns": ' + _dumps(columns) + ',\n"rows": [')
    first = True
    for row in data.rows:
        text.write(("\n" if first else ",\n") + _dumps(dict(zip(keys, row))))
        first = False
    text.write("\n],\n" if not first else "],\n")
    totals = [dict(zip(keys, row)) for row in resolved(data.totals)]
    text.write('"totals": ' + _dumps(totals) + ",\n")
    text.write('"summary": ' + _dumps(resolved(data.summary)) + ",\n")
    text.write('"notes": ' + _dumps(resolved(data.notes)) + "}\n")
    text.flush()
    text.detach()


# -------------------------------------------------------------------------------------------------- PDF

_KIND_WIDTH = {"text": 2.0, "amount": 1.3, "int": 0.8, "date": 1.1, "ratio": 0.9}
_STYLE_BACKGROUND = {
    "heading": colors.HexColor("#eef2f7"),
    "subtotal": colors.HexColor("#f3f3f3"),
    "total": colors.HexColor("#e2e2e2"),
}


def pdf_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        value = value.quantize(CENT, rounding=ROUND_HALF_EVEN)
        return "0.00" if value == 0 else format(value, ",f")
    if isinstance(value, Ratio):
        return "—" if value.value is None else f"{value.value * 100:.2f}%"
    if isinstance(value, bool):
        return "是 yes" if value else "否 no"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def _widths(columns: Sequence[Column], width: float) -> list[float]:
    weights = [c.width or _KIND_WIDTH.get(c.kind, 1.0) for c in columns]
    total = sum(weights)
    return [width * w / total for w in weights]


def pdf_table(columns: Sequence[Column], rows: Sequence[Sequence[Any]], width: float):
    shown = [i for i, c in enumerate(columns) if c.pdf]
    styles = [getattr(row, "style", "") for row in rows]
    columns = [columns[i] for i in shown]
    rows = [[row[i] for i in shown] for row in rows]
    header = [f"{c.title}\n{c.title_en}" if c.title_en else c.title for c in columns]
    numeric = tuple(i for i, c in enumerate(columns) if c.kind in ("amount", "int", "ratio"))
    grid = [header] + [[pdf_text(v) for v in row] for row in rows]
    table = pdf.table(grid, widths=_widths(columns, width), numeric_cols=numeric)
    commands = []
    for r, style in enumerate(styles, start=1):
        background = _STYLE_BACKGROUND.get(style)
        if background is not None:
            commands.append(("BACKGROUND", (0, r), (-1, r), background))
    if commands:
        table.setStyle(commands)
    return table


def pdf_story(data: ReportData, width: float) -> list:
    """The default body: the table in chunks, totals, then the summary and notes."""
    from reportlab.platypus import Spacer

    st = pdf.styles()
    story: list = []
    chunk: list = []
    for row in data.rows:
        chunk.append(row)
        if len(chunk) == PDF_CHUNK_ROWS:
            story.append(pdf_table(data.columns, chunk, width))
            chunk = []
    totals = resolved(data.totals)
    chunk.extend(_as_total_rows(totals))
    if chunk or not story:
        story.append(pdf_table(data.columns, chunk, width))
    summary = resolved(data.summary)
    if summary:
        story.append(Spacer(1, 4 * mm))
        story.append(pdf.para("摘要 Summary", st["h2"]))
        keys = [k for k in dict.fromkeys(k for item in summary for k in item) if k != "key"]
        rows = [[pdf_text(item.get(k)) for k in keys] for item in summary]
        story.append(pdf.table([keys] + rows, widths=[width / len(keys)] * len(keys)))
    notes = resolved(data.notes)
    if notes:
        story.append(Spacer(1, 4 * mm))
        story.append(pdf.para("附注 Notes", st["h2"]))
        for note in notes:
            story.append(pdf.para(note, st["small"]))
    return story


def _as_total_rows(totals):
    from .base import Row

    return [row if isinstance(row, Row) else Row(row, "total") for row in totals]


class ReportDocument(pdf.Document):
    def __init__(self, info: pdf.DocumentInfo, report: Report, data: ReportData):
        super().__init__(info)
        self.report = report
        self.data = data
        self.pagesize = landscape(A4) if report.landscape else A4

    def story(self) -> list:
        width = self.pagesize[0] - 30 * mm
        return self.report.pdf_story(self.data, width)


def write_pdf(report: Report, data: ReportData, head: Head, out: BinaryIO) -> None:
    info = pdf.DocumentInfo(
        trust_name=report.trust_name,
        title=f"{report.title} {report.title_en}",
        parameters=report.parameters_text(),
        generated_at=head.generated_at,
        entry_count=head.entry_count,
        head_hash=head.head_hash,
        subject=f"{report.book.code} {report.name} {report.params.as_meta()}",
        keywords=[report.book.code, report.name],
    )
    out.write(ReportDocument(info, report, data).render())


WRITERS = {"csv": write_csv, "json": write_json, "pdf": write_pdf}
