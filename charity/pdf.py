"""PDF documents: one renderer base that owns fonts, the page frame, header, footer and "page N of M".

Each document (a receipt, a statement, the annual report) subclasses ``Document`` and fills ``story()`` with
reportlab flowables. Chinese text: ``settings.PDF_CJK_FONT`` may name a TrueType/TrueType-collection file
(embedded, for archival copies); otherwise reportlab's CID font ``STSong-Light`` is used (always available,
text extractable, not embedded). Output is reproducible: reportlab's invariant mode is on (it fixes the metadata's
creation date and the document id), and the time printed in the footer is taken from the data
(``generated_at``, the ledger head's time), never the clock, so the same books and parameters give the same
bytes.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field

from django.conf import settings
from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, PageTemplate, Paragraph, Table, TableStyle
from xml.sax.saxutils import escape

FALLBACK_FONT = "STSong-Light"
_registered: str | None = None


def cjk_font() -> str:
    """Register the CJK font once and return its name."""
    global _registered
    if _registered:
        return _registered
    path = getattr(settings, "PDF_CJK_FONT", "")
    if path:
        try:
            pdfmetrics.registerFont(TTFont("CTL-CJK", path, subfontIndex=0))
            _registered = "CTL-CJK"
            return _registered
        except Exception:  # an unusable font file falls back rather than breaking every document
            pass
    pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK_FONT))
    _registered = FALLBACK_FONT
    return _registered


def styles() -> dict[str, ParagraphStyle]:
    font = cjk_font()
    return {
        "title": ParagraphStyle("title", fontName=font, fontSize=15, leading=20, alignment=TA_CENTER, spaceAfter=4),
        "subtitle": ParagraphStyle("subtitle", fontName=font, fontSize=10, leading=14, alignment=TA_CENTER,
                                   spaceAfter=8),
        "h2": ParagraphStyle("h2", fontName=font, fontSize=12, leading=16, spaceBefore=10, spaceAfter=4),
        "body": ParagraphStyle("body", fontName=font, fontSize=9, leading=13),
        "small": ParagraphStyle("small", fontName=font, fontSize=7.5, leading=10),
        "cell": ParagraphStyle("cell", fontName=font, fontSize=8, leading=10),
        "num": ParagraphStyle("num", fontName=font, fontSize=8, leading=10, alignment=TA_RIGHT),
    }


def para(text, style: ParagraphStyle) -> Paragraph:
    """A paragraph of plain text: markup characters in data are escaped, never interpreted."""
    return Paragraph(escape(str(text)).replace("\n", "<br/>"), style)


def table(rows: list[list], *, widths=None, header_rows: int = 1, numeric_cols=(), total_last=False) -> Table:
    """A grid of plain-text cells with a shaded header; numeric columns right-aligned."""
    st = styles()
    cells = []
    for r, row in enumerate(rows):
        line = []
        for c, value in enumerate(row):
            style = st["num"] if (c in numeric_cols and r >= header_rows) else st["cell"]
            line.append(value if isinstance(value, Flowable) else para("" if value is None else value, style))
        cells.append(line)
    t = Table(cells, colWidths=widths, repeatRows=header_rows)
    commands = [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("BACKGROUND", (0, 0), (-1, header_rows - 1), colors.HexColor("#e8eef5")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]
    if total_last:
        commands.append(("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#f3f3f3")))
    t.setStyle(TableStyle(commands))
    return t


@dataclass
class DocumentInfo:
    """What every PDF states (docs/formats.md): trust, report, parameters, generation time, entry count, head."""

    trust_name: str
    title: str
    parameters: str = ""
    generated_at: dt.datetime | None = None
    entry_count: int = 0
    head_hash: str = "-"
    extra_footer: str = ""
    subject: str = ""
    keywords: list[str] = field(default_factory=list)


def _numbered_canvas(info: DocumentInfo, font: str):
    from reportlab.pdfgen.canvas import Canvas

    class NumberedCanvas(Canvas):
        """Defers each page so that the total page count is known when footers are drawn."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._saved = []

        def showPage(self):
            self._saved.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._saved)
            for state in self._saved:
                self.__dict__.update(state)
                self._footer(total)
                super().showPage()
            super().save()

        def _footer(self, total: int):
            width, _ = self._pagesize
            self.saveState()
            self.setFont(font, 7)
            self.setFillColor(colors.HexColor("#555555"))
            generated = info.generated_at.strftime("%Y-%m-%d %H:%M:%S %Z").strip() if info.generated_at else "-"
            left = f"{info.trust_name} · {info.title}"
            self.drawString(15 * mm, 12 * mm, left[:110])
            self.drawRightString(width - 15 * mm, 12 * mm, f"第 {self._pageNumber} 页 / 共 {total} 页 · page {self._pageNumber} of {total}")
            self.drawString(
                15 * mm, 8 * mm,
                f"生成 Generated {generated} · 分录数 Entries {info.entry_count} · 账簿哈希 Head {info.head_hash}",
            )
            if info.extra_footer:
                self.drawString(15 * mm, 4.5 * mm, info.extra_footer[:140])
            self.restoreState()

    return NumberedCanvas


class Document:
    """Subclass and implement ``story()``; call ``render()`` for the PDF bytes."""

    pagesize = A4

    def __init__(self, info: DocumentInfo):
        self.info = info
        self.st = styles()

    def story(self) -> list:
        raise NotImplementedError

    def header(self) -> list:
        items = [para(self.info.trust_name, self.st["subtitle"]), para(self.info.title, self.st["title"])]
        if self.info.parameters:
            items.append(para(self.info.parameters, self.st["subtitle"]))
        return items

    def render(self) -> bytes:
        rl_config.invariant = 1
        buffer = io.BytesIO()
        doc = BaseDocTemplate(
            buffer,
            pagesize=self.pagesize,
            leftMargin=15 * mm,
            rightMargin=15 * mm,
            topMargin=15 * mm,
            bottomMargin=22 * mm,
            title=self.info.title,
            author=self.info.trust_name,
            subject=self.info.subject or self.info.parameters,
            creator="Charity Trust Ledger",
            keywords=self.info.keywords,
        )
        frame = Frame(doc.leftMargin, doc.bottomMargin, doc.width, doc.height, id="body")
        doc.addPageTemplates([PageTemplate(id="page", frames=[frame])])
        doc.build(self.header() + self.story(), canvasmaker=_numbered_canvas(self.info, cjk_font()))
        return buffer.getvalue()
