"""Cash flow statement (现金流量表), direct method, with the lines of the 民间非营利组织会计制度 (issue 18).

Cash (货币资金) is every asset account whose code starts with ``10``: 1001 库存现金, 1002 银行存款 and the
clearing accounts of this chart (100901 微信支付待结算, 100902 支付宝待结算), which are 其他货币资金.

Each posted entry dated in the period that moves cash is read with all its legs (CNY fen). Its net change in
cash (debits less credits on the cash accounts) is attributed to the *other side* of the entry: the non-cash
accounts whose net movement in the entry is on the opposite side to cash (cash in: the accounts credited; cash
out: the accounts debited). When there are several, the cash is allocated to them pro rata by their CNY amounts
in integer fen, the remainder to the largest (first by code on a tie); so each line is exact and the lines add
up to the change in cash to the fen. A transfer between two cash accounts moves no cash and shows nowhere. Each
counter-account then goes to a line by ``line_of`` (the classification rules, also in docs/formats.md).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from charity import chart
from ledger import selectors
from ledger.models import Account, AccountType, Leg
from ledger.services import REVALUATION

from .base import RANGE, Column, Report, ReportData, Row, amount, register

IN, OUT, BOTH = "in", "out", "both"

# (key, section, nature, Chinese, English). ``nature``: an inflow line adds the cash allocated to it, an
# outflow line shows the cash paid as a positive amount (cash coming back through it reduces the line).
LINES = [
    ("OP_IN_DONATIONS", "operating", IN, "接受捐赠收到的现金", "Cash received from donations"),
    ("OP_IN_DUES", "operating", IN, "收取会费收到的现金", "Cash received from membership dues"),
    ("OP_IN_SERVICES", "operating", IN, "提供服务收到的现金", "Cash received from services provided"),
    ("OP_IN_SALES", "operating", IN, "销售商品收到的现金", "Cash received from sales of goods"),
    ("OP_IN_GRANTS", "operating", IN, "政府补助收到的现金", "Cash received from government grants"),
    ("OP_IN_OTHER", "operating", IN, "收到的其他与业务活动有关的现金", "Other cash received from operating activities"),
    ("OP_OUT_AID", "operating", OUT, "提供捐赠或者资助支付的现金", "Cash paid for donations and aid given"),
    ("OP_OUT_STAFF", "operating", OUT, "支付给员工以及为员工支付的现金", "Cash paid to and for employees"),
    ("OP_OUT_PURCHASES", "operating", OUT, "购买商品、接受服务支付的现金", "Cash paid for goods and services"),
    ("OP_OUT_OTHER", "operating", OUT, "支付的其他与业务活动有关的现金", "Other cash paid for operating activities"),
    ("INV_IN_RECOVERED", "investing", IN, "收回投资所收到的现金", "Cash received from investments recovered"),
    ("INV_IN_RETURNS", "investing", IN, "取得投资收益所收到的现金", "Cash received from investment income"),
    ("INV_IN_FIXED_ASSETS", "investing", IN, "处置固定资产和无形资产所收回的现金",
     "Cash received from disposals of fixed and intangible assets"),
    ("INV_IN_OTHER", "investing", IN, "收到的其他与投资活动有关的现金", "Other cash received from investing activities"),
    ("INV_OUT_FIXED_ASSETS", "investing", OUT, "购建固定资产和无形资产所支付的现金",
     "Cash paid for fixed and intangible assets"),
    ("INV_OUT_INVESTMENTS", "investing", OUT, "对外投资所支付的现金", "Cash paid for investments"),
    ("INV_OUT_OTHER", "investing", OUT, "支付的其他与投资活动有关的现金", "Other cash paid for investing activities"),
    ("FIN_IN_BORROWINGS", "financing", IN, "借款所收到的现金", "Cash received from borrowings"),
    ("FIN_IN_OTHER", "financing", IN, "收到的其他与筹资活动有关的现金", "Other cash received from financing activities"),
    ("FIN_OUT_REPAYMENTS", "financing", OUT, "偿还借款所支付的现金", "Cash paid to repay borrowings"),
    ("FIN_OUT_INTEREST", "financing", OUT, "偿还利息所支付的现金", "Cash paid for interest"),
    ("FIN_OUT_OTHER", "financing", OUT, "支付的其他与筹资活动有关的现金", "Other cash paid for financing activities"),
    ("FX_EFFECT", "fx", BOTH, "四、汇率变动对现金的影响", "Effect of exchange rate changes on cash"),
]
NATURE = {key: nature for key, _s, nature, *_ in LINES}

SECTIONS = [
    ("operating", "OP", "一、业务活动产生的现金流量", "Cash flows from operating activities",
     "业务活动产生的现金流量净额", "Net cash from operating activities"),
    ("investing", "INV", "二、投资活动产生的现金流量", "Cash flows from investing activities",
     "投资活动产生的现金流量净额", "Net cash from investing activities"),
    ("financing", "FIN", "三、筹资活动产生的现金流量", "Cash flows from financing activities",
     "筹资活动产生的现金流量净额", "Net cash from financing activities"),
]


def is_cash(account: Account) -> bool:
    """货币资金: the asset accounts coded 10xx (1001 库存现金, 1002 银行存款, 1009 其他货币资金 and their 明细)."""
    return account.type == AccountType.ASSET and account.code.startswith("10")


def _has(name: str, *words: str) -> bool:
    return any(word in name for word in words)


def line_of(account: Account, cash_in: bool) -> str:
    """The line a counter-account's share of cash goes to; ``cash_in``: the entry brought cash in."""
    name = account.name
    if account.type == AccountType.INCOME:
        if chart.line_code(account.code) == "4101":  # 捐赠收入, in kind too; a refund reduces this line
            return "OP_IN_DONATIONS"
        if account.code == chart.INVESTMENT_INCOME or _has(name, "投资收益"):
            return "INV_IN_RETURNS"
        if _has(name, "会费"):
            return "OP_IN_DUES"
        if _has(name, "政府补助"):
            return "OP_IN_GRANTS"
        if _has(name, "服务"):
            return "OP_IN_SERVICES"
        if _has(name, "商品", "销售"):
            return "OP_IN_SALES"
        return "OP_IN_OTHER"
    if account.type == AccountType.EXPENSE:
        if account.code == chart.FX or _has(name, "汇兑"):
            return "FX_EFFECT"
        if account.purpose or account.code.startswith("51"):  # 业务活动成本: aid and grants given
            return "OP_OUT_AID"
        if _has(name, "工资", "薪酬", "员工", "职工"):
            return "OP_OUT_STAFF"
        if _has(name, "利息"):
            return "FIN_OUT_INTEREST"
        return "OP_OUT_OTHER"  # management, fundraising, bank fees, other expenses
    if account.type == AccountType.ASSET:
        if account.code in (chart.INVENTORY_SMILE, chart.INVENTORY_DONATED) or _has(name, "库存物资", "存货"):
            return "OP_OUT_PURCHASES"
        if _has(name, "投资"):
            return "INV_IN_RECOVERED" if cash_in else "INV_OUT_INVESTMENTS"
        if _has(name, "固定资产", "无形资产", "在建工程"):
            return "INV_IN_FIXED_ASSETS" if cash_in else "INV_OUT_FIXED_ASSETS"
        return "OP_IN_OTHER" if cash_in else "OP_OUT_OTHER"  # receivables, advances, inter-fund balances
    if account.type == AccountType.LIABILITY:
        if _has(name, "借款"):
            return "FIN_IN_BORROWINGS" if cash_in else "FIN_OUT_REPAYMENTS"
        return "OP_IN_OTHER" if cash_in else "OP_OUT_PURCHASES"  # paying a payable pays for goods and services
    # Net asset accounts (opening balances posted with cash, direct transfers).
    return "OP_IN_OTHER" if cash_in else "OP_OUT_OTHER"


def allocate(cash: int, nets: dict[int, int], codes: dict[int, str]) -> dict[int, int]:
    """Split ``cash`` (fen, signed: + is cash in) over the counter-accounts of one entry.

    ``nets``: the net credit (credit - debit, fen) of each non-cash account in the entry. The counter-accounts
    are those on the opposite side to cash (credited when cash came in, debited when it went out); each gets
    ``|cash| * weight // total`` and the remainder goes to the largest. Returns signed shares summing to ``cash``.
    """
    sign = 1 if cash > 0 else -1
    weights = {pk: net * sign for pk, net in nets.items() if net * sign > 0}
    total = sum(weights.values())
    # A balanced entry always has total >= |cash|; an unbalanced one cannot be posted.
    shares = {pk: abs(cash) * w // total for pk, w in weights.items()}
    largest = max(weights, key=lambda pk: (weights[pk], [-ord(c) for c in codes[pk]]))
    shares[largest] += abs(cash) - sum(shares.values())
    return {pk: share * sign for pk, share in shares.items() if share}


@register
class CashFlow(Report):
    name = "cash-flow"
    title = "现金流量表"
    title_en = "Cash flow statement"
    period = RANGE
    cacheable = True  # posted entries and accounts only (charity.reports.cache)

    COLUMNS = [
        Column("section", "部分", "Section", pdf=False),
        Column("line_type", "行类型", "Line", pdf=False),
        Column("code", "编码", "Code", width=1.9),
        Column("name", "项目", "Item", width=3.0),
        Column("name_en", "Item (English)", "", width=3.2),
        Column("amount", "本期金额", "Amount", "amount"),
    ]

    def flows(self) -> dict[str, int]:
        """Fen per line key (as shown: outflows positive), over the posted entries of the period."""
        p = self.params
        accounts = {a.pk: a for a in Account.objects.filter(book=self.book)}
        cash_ids = {pk for pk, a in accounts.items() if is_cash(a)}
        values = {key: 0 for key in NATURE}
        if not cash_ids:
            return values
        entries = Leg.objects.filter(
            entry__book=self.book, entry__status="posted", date__gte=p.date_from, date__lte=p.date_to,
            account_id__in=cash_ids,
        ).values("entry_id")
        legs = (
            Leg.objects.filter(entry_id__in=entries)
            .order_by("entry_id", "position")
            .values_list("entry_id", "account_id", "debit_cny", "credit_cny", "entry__source_type")
            .iterator(chunk_size=2000)
        )
        codes = {pk: a.code for pk, a in accounts.items()}

        def settle(cash: int, nets: dict[int, int], revaluation: bool = False) -> None:
            if not cash:
                return
            if revaluation:  # close_year's revaluation: all of it is the effect of rates, whatever it is set against
                values["FX_EFFECT"] += cash
                return
            for pk, share in allocate(cash, nets, codes).items():
                key = line_of(accounts[pk], cash > 0)
                values[key] += -share if NATURE[key] == OUT else share

        current, cash, nets, revaluation = None, 0, defaultdict(int), False
        for entry_id, account_id, debit, credit, source_type in legs:
            if entry_id != current:
                settle(cash, nets, revaluation)
                current, cash, nets, revaluation = entry_id, 0, defaultdict(int), source_type == REVALUATION
            if account_id in cash_ids:
                cash += debit - credit
            else:
                nets[account_id] += credit - debit
        settle(cash, nets, revaluation)
        return values

    def cash_at(self, as_of: dt.date) -> int:
        ids = [pk for pk, a in Account.objects.filter(book=self.book).in_bulk().items() if is_cash(a)]
        totals = selectors.movements(self.book.pk, as_of=as_of, account_ids=ids)
        return sum(debit - credit for debit, credit in totals.values())

    def build(self) -> ReportData:
        p = self.params
        values = self.flows()
        rows = []

        def line(section, line_type, code, zh, en, fen, style=""):
            cells = (section, line_type, code, zh, en, amount(fen))
            rows.append(Row(cells, style) if style else cells)

        def heading(section, code, zh, en):
            rows.append(Row((section, "heading", code, zh, en, None), "heading"))

        net_total = 0
        for section, prefix, zh, en, net_zh, net_en in SECTIONS:
            heading(section, prefix, zh, en)
            inflow = outflow = 0
            for nature, sub_zh, sub_en, total_zh, total_en in (
                (IN, "现金流入", "Cash inflows", "现金流入小计", "Total cash inflows"),
                (OUT, "现金流出", "Cash outflows", "现金流出小计", "Total cash outflows"),
            ):
                subtotal = 0
                for key, sec, nat, line_zh, line_en in LINES:
                    if sec == section and nat == nature:
                        subtotal += values[key]
                        line(section, "line", key, line_zh, line_en, values[key])
                suffix = "IN" if nature == IN else "OUT"
                line(section, "subtotal", f"{prefix}_{suffix}_TOTAL", total_zh, total_en, subtotal, "subtotal")
                if nature == IN:
                    inflow = subtotal
                else:
                    outflow = subtotal
            net = inflow - outflow
            net_total += net
            line(section, "subtotal", f"{prefix}_NET", net_zh, net_en, net, "subtotal")
        fx = values["FX_EFFECT"]
        net_total += fx
        line("fx", "line", "FX_EFFECT", "四、汇率变动对现金的影响", "Effect of exchange rate changes on cash", fx,
             "subtotal")
        line("net", "total", "NET_INCREASE", "五、现金及现金等价物净增加额", "Net increase in cash and cash equivalents",
             net_total, "total")

        opening = self.cash_at(p.date_from - dt.timedelta(days=1))
        closing = self.cash_at(p.date_to)
        ties = net_total == closing - opening
        totals = [
            Row(("cash", "total", "CASH_BEGINNING", "期初现金及现金等价物余额", "Cash at beginning of period",
                 amount(opening)), "total"),
            Row(("cash", "total", "CASH_END", "期末现金及现金等价物余额", "Cash at end of period", amount(closing)),
                "total"),
            Row(("cash", "check", "CHANGE_IN_CASH", "期末减期初", "Cash at end less cash at beginning",
                 amount(closing - opening)), "total"),
        ]
        summary = [
            {"key": "ties_to_cash", "label": "净增加额 = 期末 - 期初 Net increase = cash at end - cash at beginning",
             "value": ties},
        ]
        notes = [
            "现金为货币资金：编码以 10 开头的资产科目（库存现金、银行存款、微信/支付宝待结算等其他货币资金）。"
            " Cash is every asset account coded 10xx (cash on hand, bank deposits, WeChat/Alipay clearing).",
            "直接法：每笔分录的现金净额按对方科目（与现金方向相反的非现金科目）归类，多个对方科目时按人民币金额比例分摊（分为单位，余数归最大者）；"
            "现金科目之间的划转不列示；捐赠退款冲减“接受捐赠收到的现金”。 Direct method: each entry's net cash is "
            "classified by its counter-accounts, shared pro rata by their CNY amounts (in fen, the remainder to the "
            "largest); transfers between cash accounts do not appear; refunds of gifts reduce cash received from "
            "donations.",
        ]
        if not ties:
            notes.append(
                f"不相符 DOES NOT TIE: net increase {amount(net_total)} ≠ change in cash {amount(closing - opening)}"
            )
        return ReportData(columns=self.COLUMNS, rows=rows, totals=totals, summary=summary, notes=notes)
