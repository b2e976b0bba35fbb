"""The report lines (报表项目) of 民间非营利组织会计制度's 资产负债表 and 业务活动表, with their 行次, and which
accounts go to which line.

An account goes to a line by its 总账 code (``chart.line_code``: the first four digits), so a 明细 a trust adds
under a template 总账 lands where its 总账 does. An account outside the standard's 会计科目表 goes by its type:
an asset to 其他流动资产, a liability to 其他流动负债, income to 其他收入, an expense to 其他费用 (an expense account
with a program purpose to 业务活动成本, as everywhere else in the reports).

Net assets are not mapped by account: they are classified by the fund's restriction (``statements``).

行次 follow the standard's forms (会民非01表, 会民非02表); the names follow the revised edition (应付职工薪酬,
应交税费). A line the forms have no number for (the "其中" split of 限定性净资产, changes posted directly to net
assets) carries an empty 行次.
"""

from __future__ import annotations

from typing import NamedTuple

from charity import chart
from ledger.models import Account, AccountType


class Line(NamedTuple):
    """One report line. ``kind``: ``heading`` (no amounts), ``line`` (sum of its accounts), ``subtotal`` /
    ``total`` (sum of ``parts``, each ``(key, sign)``). ``sign`` of a ``line``: +1 on the natural side of its
    type (assets debit, liabilities credit), -1 for a contra line shown as a positive deduction (累计折旧)."""

    key: str
    no: str
    name: str
    name_en: str
    kind: str = "line"
    parts: tuple = ()
    sign: int = 1


def _sum(*keys: str) -> tuple:
    return tuple((k[1:], -1) if k.startswith("-") else (k, 1) for k in keys)


# ------------------------------------------------------------------------------------ 资产负债表 (会民非01表)

ASSET = "asset"
LIABILITY = "liability"
NET = "net_assets"

POSITION: list[tuple[str, Line]] = [
    (ASSET, Line("CURRENT_ASSETS_HEADING", "", "流动资产：", "Current assets:", "heading")),
    (ASSET, Line("MONETARY_FUNDS", "1", "货币资金", "Cash and cash equivalents")),
    (ASSET, Line("SHORT_TERM_INVESTMENTS", "2", "短期投资", "Short-term investments")),
    (ASSET, Line("RECEIVABLES", "3", "应收款项", "Receivables")),
    (ASSET, Line("PREPAYMENTS", "4", "预付账款", "Prepayments")),
    (ASSET, Line("INVENTORIES", "8", "存货", "Inventories")),
    (ASSET, Line("PREPAID_EXPENSES", "9", "待摊费用", "Prepaid expenses")),
    (ASSET, Line("CURRENT_PORTION_LONG_TERM_DEBT_INVESTMENTS", "15", "一年内到期的长期债权投资",
                 "Long-term debt investments due within one year")),
    (ASSET, Line("OTHER_CURRENT_ASSETS", "18", "其他流动资产", "Other current assets")),
    (ASSET, Line("TOTAL_CURRENT_ASSETS", "20", "流动资产合计", "Total current assets", "subtotal",
                 _sum("MONETARY_FUNDS", "SHORT_TERM_INVESTMENTS", "RECEIVABLES", "PREPAYMENTS", "INVENTORIES",
                      "PREPAID_EXPENSES", "CURRENT_PORTION_LONG_TERM_DEBT_INVESTMENTS", "OTHER_CURRENT_ASSETS"))),
    (ASSET, Line("LONG_TERM_INVESTMENTS_HEADING", "", "长期投资：", "Long-term investments:", "heading")),
    (ASSET, Line("LONG_TERM_EQUITY_INVESTMENTS", "21", "长期股权投资", "Long-term equity investments")),
    (ASSET, Line("LONG_TERM_DEBT_INVESTMENTS", "24", "长期债权投资", "Long-term debt investments")),
    (ASSET, Line("TOTAL_LONG_TERM_INVESTMENTS", "30", "长期投资合计", "Total long-term investments", "subtotal",
                 _sum("LONG_TERM_EQUITY_INVESTMENTS", "LONG_TERM_DEBT_INVESTMENTS"))),
    (ASSET, Line("FIXED_ASSETS_HEADING", "", "固定资产：", "Fixed assets:", "heading")),
    (ASSET, Line("FIXED_ASSETS_COST", "31", "固定资产原价", "Fixed assets at cost")),
    (ASSET, Line("ACCUMULATED_DEPRECIATION", "32", "减：累计折旧", "Less: accumulated depreciation", sign=-1)),
    (ASSET, Line("FIXED_ASSETS_NET", "33", "固定资产净值", "Fixed assets, net", "subtotal",
                 _sum("FIXED_ASSETS_COST", "-ACCUMULATED_DEPRECIATION"))),
    (ASSET, Line("CONSTRUCTION_IN_PROGRESS", "34", "在建工程", "Construction in progress")),
    (ASSET, Line("CULTURAL_RELICS", "35", "文物文化资产", "Heritage assets")),
    (ASSET, Line("FIXED_ASSETS_DISPOSAL", "38", "固定资产清理", "Fixed assets in disposal")),
    (ASSET, Line("TOTAL_FIXED_ASSETS", "40", "固定资产合计", "Total fixed assets", "subtotal",
                 _sum("FIXED_ASSETS_NET", "CONSTRUCTION_IN_PROGRESS", "CULTURAL_RELICS", "FIXED_ASSETS_DISPOSAL"))),
    (ASSET, Line("INTANGIBLE_ASSETS_HEADING", "", "无形资产：", "Intangible assets:", "heading")),
    (ASSET, Line("INTANGIBLE_ASSETS", "41", "无形资产", "Intangible assets")),
    (ASSET, Line("AGENCY_ASSETS_HEADING", "", "受托代理资产：", "Assets held as agent:", "heading")),
    (ASSET, Line("AGENCY_ASSETS", "51", "受托代理资产", "Assets held as agent")),
    (ASSET, Line("TOTAL_ASSETS", "60", "资产总计", "Total assets", "total",
                 _sum("TOTAL_CURRENT_ASSETS", "TOTAL_LONG_TERM_INVESTMENTS", "TOTAL_FIXED_ASSETS",
                      "INTANGIBLE_ASSETS", "AGENCY_ASSETS"))),
    (LIABILITY, Line("CURRENT_LIABILITIES_HEADING", "", "流动负债：", "Current liabilities:", "heading")),
    (LIABILITY, Line("SHORT_TERM_BORROWINGS", "61", "短期借款", "Short-term borrowings")),
    (LIABILITY, Line("PAYABLES", "62", "应付款项", "Payables")),
    (LIABILITY, Line("PAYROLL_PAYABLE", "63", "应付职工薪酬", "Payroll payable")),
    (LIABILITY, Line("TAXES_PAYABLE", "65", "应交税费", "Taxes payable")),
    (LIABILITY, Line("ADVANCES_RECEIVED", "66", "预收账款", "Advances received")),
    (LIABILITY, Line("ACCRUED_EXPENSES", "71", "预提费用", "Accrued expenses")),
    (LIABILITY, Line("PROVISIONS", "72", "预计负债", "Provisions")),
    (LIABILITY, Line("CURRENT_PORTION_LONG_TERM_LIABILITIES", "74", "一年内到期的长期负债",
                     "Long-term liabilities due within one year")),
    (LIABILITY, Line("OTHER_CURRENT_LIABILITIES", "78", "其他流动负债", "Other current liabilities")),
    (LIABILITY, Line("TOTAL_CURRENT_LIABILITIES", "80", "流动负债合计", "Total current liabilities", "subtotal",
                     _sum("SHORT_TERM_BORROWINGS", "PAYABLES", "PAYROLL_PAYABLE", "TAXES_PAYABLE",
                          "ADVANCES_RECEIVED", "ACCRUED_EXPENSES", "PROVISIONS",
                          "CURRENT_PORTION_LONG_TERM_LIABILITIES", "OTHER_CURRENT_LIABILITIES"))),
    (LIABILITY, Line("LONG_TERM_LIABILITIES_HEADING", "", "长期负债：", "Long-term liabilities:", "heading")),
    (LIABILITY, Line("LONG_TERM_BORROWINGS", "81", "长期借款", "Long-term borrowings")),
    (LIABILITY, Line("LONG_TERM_PAYABLES", "84", "长期应付款", "Long-term payables")),
    (LIABILITY, Line("OTHER_LONG_TERM_LIABILITIES", "88", "其他长期负债", "Other long-term liabilities")),
    (LIABILITY, Line("TOTAL_LONG_TERM_LIABILITIES", "90", "长期负债合计", "Total long-term liabilities", "subtotal",
                     _sum("LONG_TERM_BORROWINGS", "LONG_TERM_PAYABLES", "OTHER_LONG_TERM_LIABILITIES"))),
    (LIABILITY, Line("AGENCY_LIABILITIES_HEADING", "", "受托代理负债：", "Liabilities held as agent:", "heading")),
    (LIABILITY, Line("AGENCY_LIABILITIES", "91", "受托代理负债", "Liabilities held as agent")),
    (LIABILITY, Line("TOTAL_LIABILITIES", "100", "负债合计", "Total liabilities", "total",
                     _sum("TOTAL_CURRENT_LIABILITIES", "TOTAL_LONG_TERM_LIABILITIES", "AGENCY_LIABILITIES"))),
    (NET, Line("NET_ASSETS_HEADING", "", "净资产：", "Net assets:", "heading")),
    (NET, Line("NET_ASSETS_WITHOUT", "101", "非限定性净资产", "Net assets without donor restrictions")),
    (NET, Line("NET_ASSETS_WITH", "105", "限定性净资产", "Net assets with donor restrictions")),
    (NET, Line("NET_ASSETS_WITH_PURPOSE", "", "其中：限定用途", "of which: purpose restricted", "detail")),
    (NET, Line("NET_ASSETS_WITH_ENDOWMENT", "", "其中：留本基金", "of which: endowment", "detail")),
    (NET, Line("TOTAL_NET_ASSETS", "110", "净资产合计", "Total net assets", "subtotal",
               _sum("NET_ASSETS_WITHOUT", "NET_ASSETS_WITH"))),
    (NET, Line("TOTAL_LIABILITIES_AND_NET_ASSETS", "120", "负债和净资产总计", "Total liabilities and net assets",
               "total", _sum("TOTAL_LIABILITIES", "TOTAL_NET_ASSETS"))),
]

# 总账 code -> line key (the standard's 会计科目表; contra accounts net into their line, 累计折旧 apart).
POSITION_ACCOUNTS = {
    **{code: "MONETARY_FUNDS" for code in chart.MONETARY_PARENTS},
    "1101": "SHORT_TERM_INVESTMENTS", "1102": "SHORT_TERM_INVESTMENTS",
    "1111": "RECEIVABLES", "1121": "RECEIVABLES", "1122": "RECEIVABLES", "1131": "RECEIVABLES",
    "1141": "PREPAYMENTS",
    "1201": "INVENTORIES", "1202": "INVENTORIES",
    "1301": "PREPAID_EXPENSES",
    "1401": "LONG_TERM_EQUITY_INVESTMENTS", "1421": "LONG_TERM_EQUITY_INVESTMENTS",
    "1402": "LONG_TERM_DEBT_INVESTMENTS",
    "1501": "FIXED_ASSETS_COST", "1502": "ACCUMULATED_DEPRECIATION", "1505": "CONSTRUCTION_IN_PROGRESS",
    "1506": "CULTURAL_RELICS", "1509": "FIXED_ASSETS_DISPOSAL",
    "1601": "INTANGIBLE_ASSETS",
    "1701": "AGENCY_ASSETS",
    "2101": "SHORT_TERM_BORROWINGS",
    "2201": "PAYABLES", "2202": "PAYABLES", "2209": "PAYABLES",
    "2203": "ADVANCES_RECEIVED",
    "2204": "PAYROLL_PAYABLE",
    "2206": "TAXES_PAYABLE",
    "2301": "ACCRUED_EXPENSES",
    "2401": "PROVISIONS",
    "2501": "LONG_TERM_BORROWINGS",
    "2502": "LONG_TERM_PAYABLES",
    "2601": "AGENCY_LIABILITIES",
}


def position_line(account: Account) -> str:
    """The balance sheet line of an asset or liability account (by 总账 code, else by type)."""
    key = POSITION_ACCOUNTS.get(chart.line_code(account.code))
    expected = ASSET if account.type == AccountType.ASSET else LIABILITY
    if key is not None and POSITION_SECTION[key] == expected:
        return key
    return "OTHER_CURRENT_ASSETS" if account.type == AccountType.ASSET else "OTHER_CURRENT_LIABILITIES"


POSITION_SECTION = {line.key: section for section, line in POSITION}
POSITION_LINES = {line.key: line for _section, line in POSITION}

# ------------------------------------------------------------------------------------ 业务活动表 (会民非02表)

INCOME = "income"
EXPENSE = "expense"

ACTIVITIES: list[tuple[str, Line]] = [
    (INCOME, Line("INCOME_HEADING", "", "一、收入", "I. Income", "heading")),
    (INCOME, Line("DONATIONS", "1", "捐赠收入", "Donations")),
    (INCOME, Line("MEMBERSHIP_DUES", "2", "会费收入", "Membership dues")),
    (INCOME, Line("SERVICE_REVENUE", "3", "提供服务收入", "Revenue from services")),
    (INCOME, Line("SALES_REVENUE", "4", "商品销售收入", "Sales of goods")),
    (INCOME, Line("GOVERNMENT_GRANTS", "5", "政府补助收入", "Government grants")),
    (INCOME, Line("INVESTMENT_INCOME", "6", "投资收益", "Investment income")),
    (INCOME, Line("OTHER_INCOME", "9", "其他收入", "Other income")),
    (INCOME, Line("TOTAL_INCOME", "11", "收入合计", "Total income", "subtotal",
                  _sum("DONATIONS", "MEMBERSHIP_DUES", "SERVICE_REVENUE", "SALES_REVENUE", "GOVERNMENT_GRANTS",
                       "INVESTMENT_INCOME", "OTHER_INCOME"))),
    (EXPENSE, Line("EXPENSES_HEADING", "", "二、费用", "II. Expenses", "heading")),
    (EXPENSE, Line("PROGRAM_EXPENSES", "12", "（一）业务活动成本", "Program expenses")),
    (EXPENSE, Line("MANAGEMENT_EXPENSES", "21", "（二）管理费用", "Management expenses")),
    (EXPENSE, Line("FUNDRAISING_EXPENSES", "24", "（三）筹资费用", "Fundraising expenses")),
    (EXPENSE, Line("OTHER_EXPENSES", "28", "（四）其他费用", "Other expenses")),
    (EXPENSE, Line("TOTAL_EXPENSES", "35", "费用合计", "Total expenses", "subtotal",
                   _sum("PROGRAM_EXPENSES", "MANAGEMENT_EXPENSES", "FUNDRAISING_EXPENSES", "OTHER_EXPENSES"))),
]

# 总账 code -> line key. 4401/4501 are the standard's 政府补助收入 and 商品销售收入.
ACTIVITIES_ACCOUNTS = {
    "4101": "DONATIONS", "4201": "MEMBERSHIP_DUES", "4301": "SERVICE_REVENUE", "4401": "GOVERNMENT_GRANTS",
    "4501": "SALES_REVENUE", "4601": "INVESTMENT_INCOME", "4901": "OTHER_INCOME",
    "5101": "PROGRAM_EXPENSES", "5201": "MANAGEMENT_EXPENSES", "5301": "FUNDRAISING_EXPENSES",
    "5401": "OTHER_EXPENSES",
}


def activities_line(account: Account) -> str:
    """The activities line of an income or expense account (by 总账 code, else by type; an expense account
    with a program purpose is 业务活动成本 wherever it is coded)."""
    if account.type == AccountType.EXPENSE and account.purpose:
        return "PROGRAM_EXPENSES"
    key = ACTIVITIES_ACCOUNTS.get(chart.line_code(account.code))
    if account.type == AccountType.INCOME:
        return key if key is not None and key in INCOME_KEYS else "OTHER_INCOME"
    return key if key is not None and key not in INCOME_KEYS else "OTHER_EXPENSES"


INCOME_KEYS = {line.key for section, line in ACTIVITIES if section == INCOME}
