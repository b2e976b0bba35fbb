"""Program reach (项目执行情况表): per program, by month and by batch, how many distinct beneficiaries were
reached, how many goods (Smile Packs) were handed out, how many grants were paid and for how much.

One table, three breakdowns: the first column, ``breakdown``, says which one a row belongs to (``program``,
``month`` or ``batch``) and ``key`` names the month (``2026-03``) or the batch code (empty for aid given
outside a batch), so the CSV stays a single table that a spreadsheet can filter, and no ``--by`` option is
needed. The PDF prints each breakdown as its own table.

Only posted disbursements count (paid, delivered or verified, not reversed), dated in the period. Each
breakdown is one grouped query (``COUNT(DISTINCT beneficiary)``), so the queries do not grow with the rows.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncMonth

from beneficiaries.models import POSTED_STATUSES, Disbursement, Program, ProgramKind

from .base import RANGE, Column, Report, ReportData, Row, register

ZERO = Decimal("0.00")

BREAKDOWNS = [
    ("program", "按项目", "By program"),
    ("month", "按月份", "By month"),
    ("batch", "按批次", "By batch"),
]


def posted_disbursements(book, params):
    """Posted (not reversed) disbursements of the book dated in the period, optionally of one fund."""
    rows = Disbursement.objects.filter(
        book=book, status__in=POSTED_STATUSES, date__gte=params.date_from, date__lte=params.date_to
    )
    if params.fund is not None:
        rows = rows.filter(fund=params.fund)
    return rows


def _figures(queryset, *group):
    """Grouped figures: disbursements, distinct beneficiaries, goods handed out, grants paid, amount."""
    return (
        queryset.values(*group)
        .annotate(
            n=Count("pk"),
            people=Count("beneficiary", distinct=True),
            goods=Sum("quantity", filter=Q(program__kind=ProgramKind.IN_KIND)),
            grants=Count("pk", filter=Q(program__kind=ProgramKind.CASH)),
            total=Sum("amount"),
        )
        .order_by(*group)
    )


@register
class Programs(Report):
    name = "programs"
    title = "项目执行情况表"
    title_en = "Programs: reach and spending"
    period = RANGE
    options = frozenset({"fund"})
    landscape = True
    # Posted disbursements only: a disbursement enters or leaves the posted statuses only with an entry (paid,
    # delivered, reversed); verifying one keeps it posted. Programs never change once created.
    cacheable = True

    COLUMNS = [
        Column("breakdown", "分类", "Breakdown", pdf=False),
        Column("key", "月份/批次", "Month / batch", width=1.6),
        Column("program_code", "项目编码", "Program", width=1.1),
        Column("program_name", "项目名称", "Name", width=1.6),
        Column("program_name_en", "Program (English)", "", width=1.6),
        Column("disbursements", "发放笔数", "Disbursements", "int"),
        Column("beneficiaries", "受益人数", "Beneficiaries", "int"),
        Column("goods_handed_out", "发放物资（份）", "Goods handed out", "int"),
        Column("grants_paid", "资助笔数", "Grants paid", "int"),
        Column("amount", "金额", "Amount", "amount"),
    ]

    def build(self) -> ReportData:
        posted = posted_disbursements(self.book, self.params)
        programs = {p.pk: p for p in Program.objects.filter(book=self.book)}
        rows: list = []
        for breakdown, group in (
            ("program", ("program_id",)),
            ("month", ("month", "program_id")),
            ("batch", ("batch__code", "program_id")),
        ):
            queryset = posted.annotate(month=TruncMonth("date")) if breakdown == "month" else posted
            figures = list(_figures(queryset, *group))
            if breakdown == "batch":  # aid outside any batch last
                figures.sort(key=lambda r: (r["batch__code"] is None, r["batch__code"] or "", r["program_id"]))
            for r in figures:
                program = programs[r["program_id"]]
                key = ""
                if breakdown == "month":
                    key = r["month"].strftime("%Y-%m")
                elif breakdown == "batch":
                    key = r["batch__code"] or ""
                rows.append(Row((
                    breakdown, key, program.code, program.name, program.name_en, r["n"], r["people"],
                    r["goods"] or 0, r["grants"], r["total"] or ZERO,
                )))
        everyone = posted.aggregate(
            n=Count("pk"), people=Count("beneficiary", distinct=True),
            goods=Sum("quantity", filter=Q(program__kind=ProgramKind.IN_KIND)),
            grants=Count("pk", filter=Q(program__kind=ProgramKind.CASH)), total=Sum("amount"),
        )
        totals = [Row((
            "total", "TOTAL", "", "合计（不重复受益人）", "Total (distinct beneficiaries)", everyone["n"],
            everyone["people"], everyone["goods"] or 0, everyone["grants"], everyone["total"] or ZERO,
        ), "total")]
        summary = [
            {"key": "beneficiaries", "label": "受益人数（不重复） Distinct beneficiaries reached",
             "value": everyone["people"]},
            {"key": "amount", "label": "发放金额合计 Total handed out or paid", "value": everyone["total"] or ZERO},
        ]
        notes = [
            "仅统计期间内已发放（已支付、已交付或已回访）且未冲销的发放记录；受益人数为不重复人数，合计行按全部项目去重。"
            " Only disbursements paid, delivered or verified in the period and not reversed count; beneficiaries "
            "are distinct people, and the total counts each person once across programs.",
            "“分类”列区分按项目、按月份、按批次三种汇总，每种汇总的金额合计相同；不属于任何批次的发放记录批次为空。"
            " The breakdown column tells the three summaries apart (by program, by month, by batch); each adds up "
            "to the same total. Aid given outside a batch has an empty batch.",
        ]
        if self.params.fund is not None:
            notes.append(f"仅基金 {self.params.fund.code} Fund {self.params.fund.code} only.")
        return ReportData(columns=self.COLUMNS, rows=rows, totals=totals, summary=summary, notes=notes)

    def pdf_story(self, data: ReportData, width: float) -> list:
        return sectioned_pdf_story(data, width, BREAKDOWNS)


def sectioned_pdf_story(data: ReportData, width: float, sections) -> list:
    """The default PDF body, but one table per value of the first column (its heading from ``sections``)."""
    from charity import pdf

    from .writers import pdf_story

    st = pdf.styles()
    grouped: dict[str, list] = defaultdict(list)
    for row in data.rows:
        grouped[row[0]].append(row)
    story: list = []
    for key, zh, en in sections:
        story.append(pdf.para(f"{zh} {en}", st["h2"]))
        part = ReportData(columns=data.columns, rows=grouped.get(key, []))
        story += pdf_story(part, width)
    story.append(pdf.para("合计 Total", st["h2"]))
    story += pdf_story(ReportData(columns=data.columns, rows=[], totals=data.totals, summary=data.summary,
                                  notes=data.notes), width)
    return story
