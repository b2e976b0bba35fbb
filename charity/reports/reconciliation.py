"""银行存款余额调节表 (bank reconciliation statement) of one money account at a date (issue 20).

The standard layout: the book balance plus what the bank has received and the books not, less what the bank has
paid and the books not, gives the adjusted book balance; the statement balance plus what the books have received
and the bank not, less what the books have paid and the bank not, gives the adjusted statement balance; the two
agree when every difference is an item in transit. Figures come from ``charity.reconciliation.reconcile`` (in the
account's currency). Not cached: statement lines and matches change without a new ledger entry.
"""

from __future__ import annotations

from charity.reconciliation import reconcile

from .base import AS_OF, Column, Report, ReportData, ReportError, Row, amount, register

SECTIONS = [
    ("BOOK_BALANCE", "企业银行存款日记账余额", "Balance per books"),
    ("BANK_IN", "加：银行已收、企业未收", "Add: received by the bank, not yet in the books"),
    ("BANK_OUT", "减：银行已付、企业未付", "Less: paid by the bank, not yet in the books"),
    ("ADJUSTED_BOOK", "调节后的存款余额（账面）", "Adjusted balance per books"),
    ("STATEMENT_BALANCE", "银行对账单余额", "Balance per statement"),
    ("BOOK_IN", "加：企业已收、银行未收", "Add: received in the books, not yet by the bank"),
    ("BOOK_OUT", "减：企业已付、银行未付", "Less: paid in the books, not yet by the bank"),
    ("ADJUSTED_STATEMENT", "调节后的存款余额（对账单）", "Adjusted balance per statement"),
]


@register
class ReconciliationReport(Report):
    name = "reconciliation"
    title = "银行存款余额调节表"
    title_en = "Bank reconciliation statement"
    period = AS_OF
    options = frozenset({"account"})
    required = frozenset({"account"})

    COLUMNS = [
        Column("section", "项目代码", "Section", pdf=False),
        Column("line", "项目", "Item", width=3.0),
        Column("line_en", "Item (English)", "Item", pdf=False),
        Column("date", "日期", "Date", kind="date"),
        Column("reference", "参考号", "Reference"),
        Column("description", "摘要", "Description", width=2.0),
        Column("amount", "金额", "Amount", kind="amount"),
    ]

    def build(self) -> ReportData:
        account = self.params.account
        if account is None:
            raise ReportError("report reconciliation needs --account", field="account")
        rec = reconcile(account, self.params.as_of)
        rows = []
        heads = {key: (zh, en) for key, zh, en in SECTIONS}

        def total(key, fen, style="subtotal"):
            zh, en = heads[key]
            rows.append(Row((key, zh, en, None, "", "", amount(fen)), style))

        def items(key, chosen):
            zh, en = heads[key]
            sub = sum(abs(i.amount) for i in chosen)
            rows.append(Row((key, zh, en, None, "", "", amount(sub)), "heading"))
            for i in chosen:
                rows.append((key, "", "", i.date, i.reference, i.description, amount(abs(i.amount))))

        total("BOOK_BALANCE", rec.book_balance, "total")
        items("BANK_IN", [i for i in rec.bank_items if i.amount > 0])
        items("BANK_OUT", [i for i in rec.bank_items if i.amount < 0])
        total("ADJUSTED_BOOK", rec.adjusted_book, "total")
        total("STATEMENT_BALANCE", rec.statement_balance or 0, "total")
        items("BOOK_IN", [i for i in rec.book_items if i.amount > 0])
        items("BOOK_OUT", [i for i in rec.book_items if i.amount < 0])
        total("ADJUSTED_STATEMENT", rec.adjusted_statement, "total")
        summary = [
            {"key": "account", "label": "科目 Account", "value": f"{account.code} {account.name}"},
            {"key": "currency", "label": "币种 Currency", "value": account.currency or "CNY"},
            {"key": "difference", "label": "差额 Difference (adjusted book - adjusted statement)",
             "value": amount(rec.adjusted_book - rec.adjusted_statement)},
            {"key": "agrees", "label": "调节后余额相符 Adjusted balances agree", "value": rec.agrees},
        ]
        notes = [
            "未达账项：截至该日未与账簿分录（或对账单明细）完全勾对的对账单明细（或分录）。 Items in transit: statement "
            "lines (or ledger legs) dated on or before the date and not in a match complete by that date.",
        ]
        if rec.statement_balance is None:
            notes.append("截至该日无对账单明细。 No statement line on or before the date.")
        elif not rec.agrees:
            notes.append(f"不相符 DOES NOT AGREE: {amount(rec.adjusted_book)} ≠ {amount(rec.adjusted_statement)}")
        if account.currency and account.currency != "CNY":
            notes.append(f"金额为 {account.currency}。 Amounts in {account.currency}, the account's currency.")
        return ReportData(columns=self.COLUMNS, rows=rows, summary=summary, notes=notes)
