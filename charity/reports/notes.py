"""The annual report's 会计报表附注 (notes to the financial statements) and 财务情况说明书 (financial statement
narrative), as text with the year's figures filled in.

Nothing here computes a statement anew: the figures are read from the statements the annual report has already
built (``financial-position``, ``activities``, ``fund-balances``, ``cash-flow``, by their line keys) and the
spending ratios from ``charity.reports.spending`` (the trust's own policy, as the ratios section states them).
Only two small grouped reads are new: the trustee's, custodian's and supervisor's fees of the period (accounts
520102/520103/520104, closing entries left out) and the balances of 受托代理资产/负债 (1701/2601) at the period end.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from charity import chart
from ledger import selectors
from ledger.models import Account

from . import spending
from .base import ReportData, resolved

FEE_ACCOUNTS = (
    (chart.TRUSTEE_FEE, "受托人报酬", "Trustee's fee"),
    (chart.CUSTODIAN_FEE, "保管费", "Custodian's fee"),
    (chart.SUPERVISOR_FEE, "监察人报酬", "Supervisor's fee"),
)
AGENCY_CODES = ("1701", "2601")  # 受托代理资产, 受托代理负债 (总账, with any 明细)
RESTRICTION_TEXT = {"restricted": "限定用途 purpose restricted", "endowment": "留本基金 endowment"}


def _yuan(value: Decimal) -> str:
    return f"{value:,.2f}"


def _by_key(data: ReportData) -> dict[str, tuple]:
    """Rows and totals of a statement by their ``code`` (the line key), as the tuples the report built."""
    return {row[2]: row for row in list(data.rows) + list(resolved(data.totals) or [])}


@dataclass
class Extra:
    """What the statements do not already carry: the fees of the period and the agency balances at its end
    (fen; agency: asset balance, liability balance)."""

    fees: dict[str, int]
    agency_assets: int
    agency_liabilities: int


def read_extra(book, date_from: dt.date, date_to: dt.date) -> Extra:
    accounts = {a.pk: a for a in Account.objects.filter(book=book)}
    fee_ids = [pk for pk, a in accounts.items() if a.code in {code for code, *_ in FEE_ACCOUNTS}]
    moved = selectors.movements(book.pk, since=date_from, as_of=date_to, account_ids=fee_ids, closing=False)
    fees = {code: 0 for code, *_ in FEE_ACCOUNTS}
    for (account_id,), (debit, credit) in moved.items():
        fees[accounts[account_id].code] += debit - credit
    agency_ids = [pk for pk, a in accounts.items() if chart.line_code(a.code) in AGENCY_CODES]
    held = selectors.movements(book.pk, as_of=date_to, account_ids=agency_ids)
    assets = liabilities = 0
    for (account_id,), (debit, credit) in held.items():
        if chart.line_code(accounts[account_id].code) == "1701":
            assets += debit - credit
        else:
            liabilities += credit - debit
    return Extra(fees=fees, agency_assets=assets, agency_liabilities=liabilities)


def accounting_notes(*, trust, date_from: dt.date, date_to: dt.date, position: ReportData, funds: ReportData,
                     funds_meta: dict[str, tuple[str, str]], extra: Extra, events: str = "") -> list[tuple[str, list[str]]]:
    """会计报表附注: (sub-heading, paragraphs) in order. ``funds_meta``: fund code -> (restriction, purpose)."""
    from .writers import pdf_text

    sections: list[tuple[str, list[str]]] = []
    sections.append(("（一）会计政策 Accounting policies", [
        f"会计期间为公历 {date_from.isoformat()} 至 {date_to.isoformat()}；以权责发生制为记账基础，执行《民间非营利组织会计制度》。"
        f" The period is {date_from.isoformat()} – {date_to.isoformat()}; accrual basis, under the accounting "
        "standard for non-profit organisations (民间非营利组织会计制度).",
        "记账本位币为人民币（CNY），金额以元列示，保留两位小数。 The functional currency is the renminbi (CNY); amounts in "
        "yuan to two decimal places.",
        "外币业务按交易日汇率折算为人民币入账；年末（年度结账 close_year）按年末汇率对外币货币性项目重新折算，差额计入汇兑损益（筹资费用）。"
        " Foreign-currency transactions are translated at the rate of the transaction date; at the year end "
        "(close_year) foreign-currency monetary balances are revalued at the year-end rate and the difference is "
        "taken to exchange differences (fundraising expenses).",
        "存货按加权平均成本计价。 Inventories are measured at weighted-average cost.",
        "接受的实物捐赠按公允价值入账：捐赠方提供的凭据（发票、协议）上注明的金额，无凭据时按同类物资的市场价格。"
        " Gifts in kind are recorded at fair value: the amount in the donor's documents (invoice, agreement), or "
        "the market price of like goods where there are none.",
        "净资产按基金的限定类别分为非限定性净资产和限定性净资产；限定性资金按用途使用时转为非限定性净资产。"
        " Net assets are classed by the fund's restriction; restricted money is released as it is spent on its "
        "purpose.",
    ]))

    restricted = []
    for code, name, restriction, opening, donations, spent, closing in funds.rows:
        if restriction == "unrestricted":
            continue
        _restriction, purpose = funds_meta.get(code, (restriction, ""))
        restricted.append(
            f"{code} {name}（{RESTRICTION_TEXT.get(restriction, restriction)}"
            f"{'；用途 purpose ' + purpose if purpose else ''}）：年初 opening {pdf_text(opening)}，本年增加 received "
            f"{pdf_text(donations)}，本年减少 used {pdf_text(spent)}，年末 closing {pdf_text(closing)}。"
        )
    lines = _by_key(position)
    total_with = lines.get("NET_ASSETS_WITH")
    if total_with is not None:
        restricted.append(f"限定性净资产合计 Total net assets with donor restrictions: 年初 {pdf_text(total_with[7])}，"
                          f"年末 {pdf_text(total_with[5])}。")
    sections.append(("（二）限定性净资产 Net assets with donor restrictions",
                     restricted or ["本年无限定性资金。 No restricted funds in the year."]))

    if extra.agency_assets or extra.agency_liabilities:
        agency = [f"年末受托代理资产 {_yuan(Decimal(extra.agency_assets) / 100)} 元，受托代理负债 "
                  f"{_yuan(Decimal(extra.agency_liabilities) / 100)} 元。 Assets held as agent "
                  f"{_yuan(Decimal(extra.agency_assets) / 100)}, liabilities held as agent "
                  f"{_yuan(Decimal(extra.agency_liabilities) / 100)} at the year end."]
    else:
        agency = ["本年无受托代理业务，年末受托代理资产、负债均为零。 No assets or liabilities held as agent."]
    sections.append(("（三）受托代理业务 Agency transactions", agency))

    fee_lines = [f"{zh} {en}：{_yuan(Decimal(extra.fees[code]) / 100)} 元（科目 account {code}）"
                 for code, zh, en in FEE_ACCOUNTS]
    fee_lines.append(f"合计 Total: {_yuan(Decimal(sum(extra.fees.values())) / 100)} 元，计入管理费用 in management "
                     "expenses.")
    sections.append(("（四）受托人、保管人及监察人报酬 Trustee's, custodian's and supervisor's fees", fee_lines))

    parties = [
        f"委托人 Settlor: {trust.settlor or '未登记 not recorded'}",
        f"受托人 Trustee: {trust.trustee or '未登记 not recorded'}",
        f"共同受托人 Co-trustee: {trust.co_trustee or '未登记 not recorded'}",
        f"监察人 Supervisor: {trust.supervisor or '未登记 not recorded'}",
        "与上述关联方的交易为本年计提或支付的报酬，见（四）。 Transactions with these related parties are the fees "
        "of the year, in (四).",
    ]
    sections.append(("（五）关联方 Related parties", parties))
    sections.append(("（六）资产负债表日后事项 Events after the reporting date", [
        events or "截至报告日，未知悉需要披露的资产负债表日后事项。 None known at the date of the report."
    ]))
    return sections


def narrative(*, date_from: dt.date, date_to: dt.date, position: ReportData, activities: ReportData,
              cash_flow: ReportData, rule) -> list[tuple[str, list[str]]]:
    """财务情况说明书 skeleton: income, expenses by function, the change in net assets, year-end position, cash,
    and the spending ratios as the trust's policy states them."""
    from .writers import pdf_text

    act, pos, cash = _by_key(activities), _by_key(position), _by_key(cash_flow)

    def total(key):  # the activities' 合计 column (index 7)
        row = act.get(key)
        return pdf_text(row[7]) if row is not None else "0.00"

    income = [f"本年收入合计 Total income {total('TOTAL_INCOME')} 元，其中 of which: 捐赠收入 donations "
              f"{total('DONATIONS')}，投资收益 investment income {total('INVESTMENT_INCOME')}，其他收入 other income "
              f"{total('OTHER_INCOME')}。"]
    donations = act.get("DONATIONS")
    if donations is not None:
        income.append(f"捐赠收入中非限定性 {pdf_text(donations[5])}、限定性 {pdf_text(donations[6])}。 Donations without "
                      f"donor restrictions {pdf_text(donations[5])}, with donor restrictions {pdf_text(donations[6])}.")
    expenses = [
        f"本年费用合计 Total expenses {total('TOTAL_EXPENSES')} 元：业务活动成本 program expenses "
        f"{total('PROGRAM_EXPENSES')}，管理费用 management {total('MANAGEMENT_EXPENSES')}，筹资费用 fundraising "
        f"{total('FUNDRAISING_EXPENSES')}，其他费用 other {total('OTHER_EXPENSES')}。",
        f"限定性净资产转为非限定性净资产 Released from restrictions: "
        f"{pdf_text(act['RELEASED_FROM_RESTRICTION'][5]) if 'RELEASED_FROM_RESTRICTION' in act else '0.00'} 元。",
        f"净资产变动额 Change in net assets: {total('CHANGE_IN_NET_ASSETS')} 元。",
    ]

    def end(key):
        row = pos.get(key)
        return pdf_text(row[5]) if row is not None else "0.00"

    position_lines = [
        f"{date_to.isoformat()} 资产总计 total assets {end('TOTAL_ASSETS')}，负债合计 total liabilities "
        f"{end('TOTAL_LIABILITIES')}，净资产合计 total net assets {end('TOTAL_NET_ASSETS')}（非限定性 without "
        f"{end('NET_ASSETS_WITHOUT')}，限定性 with {end('NET_ASSETS_WITH')}）。",
    ]
    if "CASH_END" in cash:
        position_lines.append(
            f"现金及现金等价物净增加额 Net increase in cash {pdf_text(cash['NET_INCREASE'][5])}，年末余额 cash at the end "
            f"{pdf_text(cash['CASH_END'][5])}（业务活动产生的现金流量净额 net cash from operating activities "
            f"{pdf_text(cash['OP_NET'][5]) if 'OP_NET' in cash else '0.00'}）。")
    ratios = spending.explanation(rule)
    for item in spending.summary(rule):
        ratios.append(f"{item['label']}: {pdf_text(item['numerator'])} / {pdf_text(item['denominator'])} = "
                      f"{pdf_text(item['value'])}（要求 threshold {item['threshold'] or '—'}；结果 result "
                      f"{item['status']}）")
    return [
        ("（一）收入情况 Income", income),
        ("（二）费用情况（按功能） Expenses by function", expenses),
        ("（三）财务状况及现金流量 Financial position and cash flows", position_lines),
        ("（四）支出比例（按信托的支出规则） Spending ratios under the trust's rule", ratios),
        ("（五）其他需要说明的事项 Other matters", ["无。 None."]),
    ]
