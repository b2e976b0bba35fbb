"""The books themselves: trial balance (试算平衡表), journal (序时账), general ledger (总账/明细账).

The journal and the general ledger stream: legs come from ``ledger.selectors.legs_between`` (a server-side
cursor, read in chunks) and go to the writer one at a time, so memory stays flat however many legs there are.
The general ledger reads one leg stream per account that has an opening balance or a movement (the
``(account, date)`` index), so its queries grow with the chart, never with the legs.
"""

from __future__ import annotations

import datetime as dt

from ledger import selectors
from ledger.models import DEBIT_NORMAL, Account

from .base import AS_OF, RANGE, Column, Report, ReportData, Row, amount, register

TOTAL = "TOTAL"


@register
class TrialBalance(Report):
    name = "trial-balance"
    title = "试算平衡表"
    title_en = "Trial balance"
    period = AS_OF
    options = frozenset({"fund"})
    cacheable = True  # entries, accounts and funds only (charity.reports.cache)

    def build(self) -> ReportData:
        rows = selectors.trial_balance(self.book, as_of=self.params.as_of, fund=self.params.fund)
        debit = sum((r.debit for r in rows), amount(0))
        credit = sum((r.credit for r in rows), amount(0))
        notes = []
        if debit != credit:
            notes.append(f"借贷不平 OUT OF BALANCE: debits {debit} ≠ credits {credit}")
        return ReportData(
            columns=[
                Column("account_code", "科目编码", "Code", width=0.9),
                Column("account_name", "科目名称", "Account", width=3.0),
                Column("account_type", "类别", "Type", width=1.0),
                Column("debit", "借方余额", "Debit", "amount"),
                Column("credit", "贷方余额", "Credit", "amount"),
            ],
            rows=[(r.account.code, r.account.name, r.account.type, r.debit, r.credit) for r in rows],
            totals=[Row((TOTAL, "合计", "", debit, credit), "total")],
            notes=notes,
        )


def _leg_amount(leg):
    """The leg in its own currency (CNY columns carry the converted figures)."""
    return amount(leg.debit or leg.credit)


@register
class Journal(Report):
    name = "journal"
    title = "序时账"
    title_en = "Journal"
    period = RANGE
    landscape = True
    cacheable = True  # entries, accounts and funds only (charity.reports.cache)

    def build(self) -> ReportData:
        p = self.params
        totals = {"debit": 0, "credit": 0, "legs": 0, "entry_count": 0}

        def rows():
            entries = 0
            last_entry = None
            for leg in selectors.legs_between(self.book, date_from=p.date_from, date_to=p.date_to):
                totals["debit"] += leg.debit_cny
                totals["credit"] += leg.credit_cny
                totals["legs"] += 1
                if leg.entry_id != last_entry:
                    entries += 1
                    last_entry = leg.entry_id
                totals["entry_count"] = entries
                yield (
                    leg.date,
                    leg.entry.sequence,
                    leg.position,
                    leg.account.code,
                    leg.account.name,
                    leg.fund.code,
                    leg.entry.memo,
                    amount(leg.debit_cny) if leg.debit else None,
                    amount(leg.credit_cny) if leg.credit else None,
                    leg.currency,
                    _leg_amount(leg),
                )

        return ReportData(
            columns=[
                Column("date", "日期", "Date", "date"),
                Column("sequence", "凭证号", "Entry", "int"),
                Column("position", "行", "Leg", "int", width=0.5),
                Column("account_code", "科目编码", "Code", width=0.8),
                Column("account_name", "科目名称", "Account", width=2.2),
                Column("fund_code", "基金", "Fund", width=0.8),
                Column("memo", "摘要", "Memo", width=3.0),
                Column("debit", "借方", "Debit", "amount"),
                Column("credit", "贷方", "Credit", "amount"),
                Column("currency", "币种", "Cur.", width=0.8),
                Column("amount", "原币金额", "Amount", "amount"),
            ],
            rows=rows(),
            totals=lambda: [
                Row((None, None, None, TOTAL, "合计", None, None, amount(totals["debit"]), amount(totals["credit"]),
                     "CNY", None), "total")
            ],
            summary=lambda: [
                {"key": "entries", "label": "分录数 Entries in period", "value": totals["entry_count"]},
                {"key": "legs", "label": "分录行数 Legs in period", "value": totals["legs"]},
            ],
        )


@register
class GeneralLedger(Report):
    name = "general-ledger"
    title = "总账/明细账"
    title_en = "General ledger"
    period = RANGE
    landscape = True
    cacheable = True  # entries, accounts and funds only (charity.reports.cache)

    def build(self) -> ReportData:
        p = self.params
        day_before = p.date_from - dt.timedelta(days=1)
        opening = selectors.movements(self.book.pk, as_of=day_before, group=("account_id",))
        moved = selectors.movements(self.book.pk, since=p.date_from, as_of=p.date_to, group=("account_id",))
        accounts = list(Account.objects.filter(book=self.book).order_by("code"))
        grand = {"debit": 0, "credit": 0, "accounts": 0}

        def rows():
            for account in accounts:
                od, oc = opening.get((account.pk,), (0, 0))
                md, mc = moved.get((account.pk,), (0, 0))
                if od == oc and not (md or mc):  # nothing brought forward (a closed year's income), nothing moved
                    continue
                grand["accounts"] += 1
                sign = 1 if account.type in DEBIT_NORMAL else -1
                balance = sign * (od - oc)
                yield Row(
                    (account.code, account.name, "opening", p.date_from, None, None, None, "期初余额 Opening balance",
                     None, None, amount(balance)),
                    "heading",
                )
                debit = credit = 0
                if md or mc:
                    for leg in selectors.legs_between(
                        self.book, date_from=p.date_from, date_to=p.date_to, account=account
                    ):
                        debit += leg.debit_cny
                        credit += leg.credit_cny
                        balance += sign * (leg.debit_cny - leg.credit_cny)
                        yield (
                            account.code, account.name, "leg", leg.date, leg.entry.sequence, leg.position,
                            leg.fund.code, leg.entry.memo,
                            amount(leg.debit_cny) if leg.debit else None,
                            amount(leg.credit_cny) if leg.credit else None,
                            amount(balance),
                        )
                grand["debit"] += debit
                grand["credit"] += credit
                yield Row(
                    (account.code, account.name, "closing", p.date_to, None, None, None,
                     "本期合计及期末余额 Period totals and closing balance", amount(debit), amount(credit),
                     amount(balance)),
                    "subtotal",
                )

        return ReportData(
            columns=[
                Column("account_code", "科目编码", "Code", width=0.8),
                Column("account_name", "科目名称", "Account", width=2.0),
                Column("line", "行类型", "Line", pdf=False),
                Column("date", "日期", "Date", "date"),
                Column("sequence", "凭证号", "Entry", "int"),
                Column("position", "行", "Leg", "int", width=0.5),
                Column("fund_code", "基金", "Fund", width=0.8),
                Column("memo", "摘要", "Memo", width=3.0),
                Column("debit", "借方", "Debit", "amount"),
                Column("credit", "贷方", "Credit", "amount"),
                Column("balance", "余额", "Balance", "amount"),
            ],
            rows=rows(),
            totals=lambda: [
                Row((TOTAL, "合计", "total", None, None, None, None, None, amount(grand["debit"]),
                     amount(grand["credit"]), None), "total")
            ],
            notes=[
                "余额按科目正常方向列示（资产、费用为借方，其余为贷方）。"
                " Balances are on the account's normal side (debit for assets and expenses, credit for the others).",
            ],
        )
