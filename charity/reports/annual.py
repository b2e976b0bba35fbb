"""The annual report (慈善信托年度事务处理及财务状况报告): one PDF with the trust's details, the statements, the
program summary with charts, and notes on restricted fund movements.

It is a pack, not a new computation: each section is another report's own ``build()`` output (financial
position at the end of the period, activities and fund balances for the period, programs for the period),
laid out with that report's own PDF body. Only the chart of donations by month reads anything new (the daily
running balances of the donation income accounts, one grouped query). Charts are drawn with reportlab's own
graphics, so the PDF stays byte-identical for the same books and parameters.
"""

from __future__ import annotations

from collections import defaultdict

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.units import mm

from beneficiaries.privacy import FEWER_THAN_5, shown_count
from charity import chart, pdf
from ledger import selectors
from ledger.models import Account

from . import spending
from .base import RANGE, Params, Report, ReportData, Row, register, resolved
from .donors import trust_of
from .programs import BREAKDOWNS, Programs, sectioned_pdf_story
from . import notes as statement_notes
from .cashflow import CashFlow
from .statements import Activities, FinancialPosition, FundBalances

DONATION_ACCOUNTS = (chart.DONATION_UNRESTRICTED, chart.DONATION_RESTRICTED, chart.DONATION_ENDOWMENT,
                     chart.IN_KIND_UNRESTRICTED, chart.IN_KIND_RESTRICTED)
STATUS_TEXT = {"ok": "达标 met", "missed": "未达标 MISSED", "n/a": "不适用 n/a", "exempt": "不受比例限制 exempt",
               "no_rule": "未配置规则 no rule configured"}

SECTIONS = {
    "trust": ("一、慈善信托基本情况", "Trust details"),
    "position": ("二、资产负债表", "Statement of financial position"),
    "activities": ("三、业务活动表", "Statement of activities"),
    "ratios": ("四、支出比例", "Spending ratios"),
    "funds": ("五、限定性净资产分项目变动表", "Changes in net assets by fund"),
    "programs": ("六、项目执行情况", "Program summary"),
    "restricted": ("七、限定性资金变动说明", "Notes on restricted fund movements"),
    "cash_flow": ("八、现金流量表", "Cash flow statement"),
    "notes": ("九、会计报表附注", "Notes to the financial statements"),
    "narrative": ("十、财务情况说明书", "Financial statement narrative"),
}


def _fen(value) -> int:
    return int(value * 100)


# The programs table's counts (disbursements, beneficiaries, goods, grants): the annual report is public.
COUNT_COLUMNS = range(5, 9)
FEWER = {6: FEWER_THAN_5, 7: "少于5份 fewer than 5"}  # people, goods; else disbursements, grants


def public_counts(data: ReportData) -> ReportData:
    """The programs report as the public may read it: every count from 1 to 4 (of people, and of the
    disbursements, goods and grants that would give the number of people away) reads "少于5人 fewer than 5"
    (``beneficiaries.privacy.shown_count``); amounts stay."""

    def row(values):
        cells = [shown_count(v, fewer=FEWER.get(i, "少于5 fewer than 5")) if i in COUNT_COLUMNS and isinstance(v, int)
                 else v for i, v in enumerate(values)]
        return Row(cells, getattr(values, "style", ""))

    return ReportData(
        columns=data.columns,
        rows=[row(r) for r in data.rows],
        totals=[row(t) for t in resolved(data.totals) or []],
        summary=[{**item, "value": shown_count(item["value"])} if item.get("key") == "beneficiaries" else item
                 for item in resolved(data.summary) or []],
        notes=data.notes,
    )


@register
class AnnualReport(Report):
    name = "annual-report"
    title = "慈善信托年度事务处理及财务状况报告"
    title_en = "Annual report on the trust's affairs and financial position"
    period = RANGE
    formats = ("pdf",)
    cacheable = True  # the statements and programs (cacheable), the trust's details, fixed at creation, and its
    # spending policy (cache_state)

    @classmethod
    def cache_state(cls, book, params) -> str:
        return spending.policy_state(book)

    def build(self) -> ReportData:
        p = self.params
        self.trust = trust_of(self.book)
        year_end = Params(as_of=p.date_to)
        period = Params(date_from=p.date_from, date_to=p.date_to)
        self.parts = {
            "position": FinancialPosition(book=self.book, params=year_end),
            "activities": Activities(book=self.book, params=period),
            "funds": FundBalances(book=self.book, params=period),
            "programs": Programs(book=self.book, params=period),
            "cash_flow": CashFlow(book=self.book, params=period),
        }
        self.data = {key: report.build() for key, report in self.parts.items()}
        for data in self.data.values():  # read each once: the PDF walks them more than once
            data.rows = list(data.rows)
        self.data["programs"] = public_counts(self.data["programs"])
        self.rule = spending.evaluate(self.book, p.date_from, p.date_to)
        self.extra = statement_notes.read_extra(self.book, p.date_from, p.date_to)
        accounts = list(Account.objects.filter(book=self.book, code__in=DONATION_ACCOUNTS).values_list("pk", flat=True))
        by_day = selectors.movements(self.book.pk, since=p.date_from, as_of=p.date_to, account_ids=accounts,
                                     group=("date",), closing=False)
        self.monthly: dict[str, int] = defaultdict(int)
        for (day,), (debit, credit) in by_day.items():
            self.monthly[day.strftime("%Y-%m")] += credit - debit
        return ReportData(columns=[], rows=[])

    # ------------------------------------------------------------------------------------------------ PDF

    def pdf_story(self, data: ReportData, width: float) -> list:
        from reportlab.platypus import PageBreak, Spacer

        from .writers import pdf_story

        st = pdf.styles()

        def heading(key: str) -> list:
            zh, en = SECTIONS[key]
            return [pdf.para(f"{zh} {en}", st["title"] if key == "trust" else st["h2"])]

        story = heading("trust") + [self._trust_table(width), Spacer(1, 4 * mm)]
        for key in ("position", "activities"):
            part = self.parts[key]
            story += [PageBreak()] + heading(key)
            story.append(pdf.para(f"{part.title} {part.title_en} · {part.params.describe()}", st["small"]))
            story += part.pdf_story(self.data[key], width)  # the form's own layout (行次, headings)
        story += heading("ratios")
        for line in spending.explanation(self.rule):
            story.append(pdf.para(line, st["body"]))
        story += [Spacer(1, 2 * mm), self._ratios_table(width)]
        story += [PageBreak()] + heading("funds")
        story += pdf_story(self.data["funds"], width)
        story += [PageBreak()] + heading("programs")
        story += [self._bar_chart(self._program_spending(), width, "按项目支出 Spending by program"),
                  Spacer(1, 3 * mm),
                  self._bar_chart(self._donations_by_month(), width, "按月捐赠收入 Donations by month"),
                  Spacer(1, 3 * mm)]
        story += sectioned_pdf_story(self.data["programs"], width, BREAKDOWNS)
        story += heading("restricted")
        for line in self._restricted_notes():
            story.append(pdf.para(line, st["body"]))
        story += self._statement_sections(heading, width)
        return story

    def _statement_sections(self, heading, width: float) -> list:
        """Sections 八 to 十: the cash flow statement, the notes (附注) and the narrative (说明书); charity.reports.notes."""
        from reportlab.platypus import PageBreak

        st = pdf.styles()
        p = self.params
        part = self.parts["cash_flow"]
        story = [PageBreak()] + heading("cash_flow")
        story.append(pdf.para(f"{part.title} {part.title_en} · {part.params.describe()}", st["small"]))
        story += part.pdf_story(self.data["cash_flow"], width)
        funds_meta = {f.code: (f.restriction, f.purpose) for f in self.book.funds.all()}
        sections = [
            ("notes", statement_notes.accounting_notes(
                trust=self.trust, date_from=p.date_from, date_to=p.date_to, position=self.data["position"],
                funds=self.data["funds"], funds_meta=funds_meta, extra=self.extra)),
            ("narrative", statement_notes.narrative(
                date_from=p.date_from, date_to=p.date_to, position=self.data["position"],
                activities=self.data["activities"], cash_flow=self.data["cash_flow"], rule=self.rule)),
        ]
        for key, parts in sections:
            story += [PageBreak()] + heading(key)
            for title, paragraphs in parts:
                story.append(pdf.para(title, st["h2"]))
                for text in paragraphs:
                    story.append(pdf.para(text, st["body"]))
        return story

    def _trust_table(self, width: float):
        t, p = self.trust, self.params
        rows = [
            ["项目 Item", "内容 Detail"],
            ["名称 Name", t.name],
            ["英文名称 English name", t.name_en or "—"],
            ["代码 Code", t.code],
            ["受托人 Trustee", t.trustee or "—"],
            ["监察人 Supervisor", t.supervisor or "—"],
            ["备案编号 Filing number", t.filing_number or "—"],
            ["报告期间 Period", f"{p.date_from.isoformat()} – {p.date_to.isoformat()}"],
            ["币种 Currency", "人民币元 CNY"],
            ["支出规则 Spending rule", "未配置 none configured" if self.rule.policy is None
             else f"{self.rule.preset.name} {self.rule.preset.name_en}"],
        ]
        return pdf.table(rows, widths=[width * 0.3, width * 0.7])

    def _ratios_table(self, width: float):
        summary = spending.summary(self.rule)
        from .writers import pdf_text

        rows = [["指标 Ratio", "分子 Numerator", "分母 Denominator", "比率 Value", "要求 Threshold", "结果 Result"]]
        missed = []
        for item in summary:
            rows.append([item["label"], pdf_text(item["numerator"]), pdf_text(item["denominator"]),
                         pdf_text(item["value"]), item["threshold"] or "—", STATUS_TEXT.get(item["status"], item["status"])])
            if item["status"] == "missed":
                missed.append(len(rows) - 1)
        table = pdf.table(rows, widths=[width * w for w in (0.32, 0.14, 0.14, 0.12, 0.12, 0.16)])
        table.setStyle([("BACKGROUND", (0, r), (-1, r), colors.HexColor("#f8d7d7")) for r in missed])
        return table

    def _program_spending(self) -> list[tuple[str, int]]:
        return [(row[3], _fen(row[9])) for row in self.data["programs"].rows if row[0] == "program"]

    def _donations_by_month(self) -> list[tuple[str, int]]:
        p = self.params
        months = []
        y, m = p.date_from.year, p.date_from.month
        while (y, m) <= (p.date_to.year, p.date_to.month):
            months.append(f"{y}-{m:02d}")
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return [(month[2:], self.monthly.get(month, 0)) for month in months]

    def _bar_chart(self, values: list[tuple[str, int]], width: float, caption: str) -> Drawing:
        font = pdf.cjk_font()
        height = 62 * mm
        drawing = Drawing(width, height)
        drawing.add(String(0, height - 10, caption, fontName=font, fontSize=9))
        if not values or not any(v for _, v in values):
            drawing.add(String(0, height / 2, "本期无数据 Nothing in the period", fontName=font, fontSize=8))
            return drawing
        bars = VerticalBarChart()
        bars.x, bars.y = 45, 22
        bars.width, bars.height = width - 60, height - 45
        bars.data = [[v / 100 for _, v in values]]
        bars.categoryAxis.categoryNames = [label for label, _ in values]
        bars.categoryAxis.labels.fontName = font
        bars.categoryAxis.labels.fontSize = 7
        bars.valueAxis.labels.fontName = font
        bars.valueAxis.labels.fontSize = 7
        bars.valueAxis.valueMin = min(0, min(v for _, v in values) / 100)
        bars.bars[0].fillColor = colors.HexColor("#4a7ab5")
        bars.barLabelFormat = "%.2f"
        bars.barLabels.fontName = font
        bars.barLabels.fontSize = 6
        bars.barLabels.nudge = 6
        drawing.add(bars)
        return drawing

    def _restricted_notes(self) -> list[str]:
        from .writers import pdf_text

        lines = []
        for code, name, restriction, opening, donations, spent, closing in self.data["funds"].rows:
            if restriction == "unrestricted":
                continue
            kind = "留本基金 endowment" if restriction == "endowment" else "限定用途 purpose restricted"
            lines.append(
                f"{code} {name}（{kind}）：期初 opening {pdf_text(opening)}，本期收入 received {pdf_text(donations)}，"
                f"本期使用 spent {pdf_text(spent)}，期末 closing {pdf_text(closing)}。"
            )
        released = next((row for row in self.data["activities"].rows if row[2] == "RELEASED_FROM_RESTRICTION"), None)
        if released is not None:
            lines.append(
                f"本期限定性净资产转为非限定性净资产 {pdf_text(released[5])} 元：限定性资金按其用途使用时解除限定。"
                f" Net assets released from restrictions in the period: {pdf_text(released[5])} CNY, as restricted "
                "money was spent on its purpose."
            )
        if not lines:
            lines.append("本期无限定性资金。 No restricted funds in the period.")
        notes = self.data["funds"].notes
        lines += notes() if callable(notes) else notes
        return lines
