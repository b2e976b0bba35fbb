"""应付款项账龄分析表 (ageing of payables) at a date (issue 20).

Each expense recorded as payable (2202 应付账款, 2209 其他应付款) on or before the date, not reversed by then, with
something still owed after the payments dated on or before it, in the bucket of its days past due (its due date,
else the day it was recorded): not yet due, 1-30, 31-60, 61-90, over 90 days. Rows are grouped by supplier (the
expense's payee) with a subtotal each. The total equals the balances of 2202 and 2209 in the books at the date: a
posting to them that is not an expense (a manual entry) shows on its own ``other`` row, so the report always ties
to the books and says where it does not come from an invoice. Not cached: it reads expenses and payments.
"""

from __future__ import annotations

from decimal import Decimal

from charity import chart
from charity.models import PayableAccount, Trust
from charity.services.payables import payables_open
from ledger.models import Account
from ledger.selectors import account_balance

from .base import AS_OF, Column, Report, ReportData, Row, register

BUCKETS = [
    ("not_due", "未到期", "Not yet due"),
    ("days_1_30", "逾期1-30天", "1-30 days"),
    ("days_31_60", "逾期31-60天", "31-60 days"),
    ("days_61_90", "逾期61-90天", "61-90 days"),
    ("over_90", "逾期90天以上", "Over 90 days"),
]
ZERO = Decimal("0.00")


def bucket(days_overdue: int) -> int:
    """The index in ``BUCKETS`` of a payable ``days_overdue`` days past its due date (0 or less: not yet due)."""
    if days_overdue <= 0:
        return 0
    if days_overdue <= 30:
        return 1
    if days_overdue <= 60:
        return 2
    if days_overdue <= 90:
        return 3
    return 4


def _cells(index: int, value: Decimal) -> list:
    return [value if i == index else None for i in range(len(BUCKETS))]


@register
class AgeingReport(Report):
    name = "ageing"
    title = "应付款项账龄分析表"
    title_en = "Ageing of payables"
    period = AS_OF
    options = frozenset()

    COLUMNS = [
        Column("line_type", "类型", "Type", pdf=False),
        Column("supplier", "供应商", "Supplier", width=2.0),
        Column("payable", "科目", "Account"),
        Column("expense", "支出编号", "Expense"),
        Column("date", "入账日期", "Recorded", kind="date"),
        Column("due_date", "到期日", "Due", kind="date"),
        Column("days_overdue", "逾期天数", "Days overdue", kind="int"),
        *[Column(key, zh, en, kind="amount") for key, zh, en in BUCKETS],
        Column("total", "合计", "Total", kind="amount"),
    ]

    def build(self) -> ReportData:
        as_of = self.params.as_of
        trust = Trust.objects.get(book=self.book)
        open_rows = sorted(payables_open(trust, as_of=as_of),
                           key=lambda r: (r["expense"].payee, r["due"], r["expense"].external_id))
        rows: list = []
        totals = [ZERO] * len(BUCKETS)
        supplier, sub = None, [ZERO] * len(BUCKETS)

        def close_supplier():
            if supplier is not None:
                rows.append(Row(("supplier", supplier, "", "", None, None, None, *sub, sum(sub, ZERO)), "subtotal"))

        for r in open_rows:
            e = r["expense"]
            if e.payee != supplier:
                close_supplier()
                supplier, sub = e.payee, [ZERO] * len(BUCKETS)
            index = bucket(r["days_overdue"])
            sub[index] += r["outstanding"]
            totals[index] += r["outstanding"]
            rows.append(("expense", e.payee, e.payable, e.external_id, e.date, r["due"],
                         max(r["days_overdue"], 0), *_cells(index, r["outstanding"]), r["outstanding"]))
        close_supplier()
        ledger = {code: ZERO for code in PayableAccount.values}
        for acc in Account.objects.filter(book=self.book, code__in=PayableAccount.values):
            ledger[acc.code] = account_balance(acc, as_of=as_of).quantize(ZERO)
        in_books = sum(ledger.values(), ZERO)
        from_invoices = sum(totals, ZERO)
        other = in_books - from_invoices
        if other:
            rows.append(Row(("other", "其他（非支出入账） Other postings, not from expenses", "", "", None, None, None,
                             *[None] * len(BUCKETS), other), "subtotal"))
        rows.append(Row(("TOTAL", "合计 Total", "", "", None, None, None, *totals, in_books), "total"))
        summary = [
            {"key": "payable_2202", "label": f"{chart.PAYABLE} 应付账款 Accounts payable", "value": ledger["2202"]},
            {"key": "payable_2209", "label": "2209 其他应付款 Other payables", "value": ledger["2209"]},
            {"key": "in_books", "label": "账面合计 In the books", "value": in_books},
            {"key": "from_expenses", "label": "支出形成的应付款 Owed on expenses", "value": from_invoices},
            {"key": "other", "label": "其他 Other postings", "value": other},
        ]
        notes = [
            "账龄按到期日计算（未填到期日的按入账日期）；截至该日已支付的金额已扣除。 Days overdue count from the due date "
            "(the day recorded when none was given); payments dated on or before the date are deducted.",
        ]
        return ReportData(columns=self.COLUMNS, rows=rows, summary=summary, notes=notes)
