"""The chart of accounts a trust is created with, with bilingual names, and the codes the services post to.

The chart follows the 会计科目表 of 民间非营利组织会计制度: four-digit codes are the standard's 总账科目 (1001 库存现金,
1201 存货, 4101 捐赠收入, 5101 业务活动成本, ...), six-digit codes are 明细科目 under the 总账 of their first four
digits (410102 捐赠收入—限定性). Services post only to 明细 (or to a 总账 that has none); a 总账 with 明细 is their
sum. Expense accounts of programs carry the program's code as their purpose: a restricted fund may only be
charged on the expense account of its own program (the ledger enforces this). Income accounts carry the
restriction of the money they receive, and the ledger refuses income of one restriction in a fund of another.

The template is versioned (``CHART_VERSION``): a trust records the version it was created with, and a change of
chart is a new version with a data migration that moves existing trusts (README, "The chart of accounts").
Version 2026 replaced the first chart, whose codes clashed with the standard (1401 for stock, 4201 for in-kind
gifts, 5301 for exchange differences); the migration ``charity.0010_chart_2026`` renamed them in place.
"""

from __future__ import annotations

from typing import NamedTuple

CHART_VERSION = "2026"

CASH = "1001"
BANK = "100201"
BANK_USD = "100202"
BANK_HKD = "100203"
WECHAT = "100901"
ALIPAY = "100902"
INVENTORY_SMILE = "120101"
INVENTORY_DONATED = "120102"
PAYABLE = "2202"
NET_ASSETS_UNRESTRICTED = "3101"
NET_ASSETS_RESTRICTED = "3102"
DONATION_UNRESTRICTED = "410101"
DONATION_RESTRICTED = "410102"
DONATION_ENDOWMENT = "410103"
IN_KIND_UNRESTRICTED = "410104"
IN_KIND_RESTRICTED = "410105"
INVESTMENT_INCOME = "4601"
OTHER_INCOME = "4901"
PROGRAM_SMILE = "510101"
PROGRAM_STUDY = "510102"
PROGRAM_GENERAL = "510103"
MANAGEMENT = "520101"
TRUSTEE_FEE = "520102"
CUSTODIAN_FEE = "520103"
SUPERVISOR_FEE = "520104"
FUNDRAISING = "530101"
FX = "530102"
BANK_FEES = "540101"

# 货币资金 on the balance sheet and in the cash flow statement: these 总账 and their 明细.
MONETARY_PARENTS = ("1001", "1002", "1009")
# The bank accounts' 总账: foreign-currency accounts are its 明细 with a currency.
BANK_PARENT = "1002"


def line_code(code: str) -> str:
    """The 总账 code an account belongs to: its own for a four-digit code, the first four digits of a 明细."""
    return code[:4]


def is_monetary(code: str) -> bool:
    return line_code(code) in MONETARY_PARENTS


class Line(NamedTuple):
    code: str
    type: str
    name: str
    name_en: str
    purpose: str = ""
    restriction: str = ""
    currency: str = ""

    @property
    def parent(self) -> str | None:
        """The 总账 of a 明细 (None for a 总账)."""
        return self.code[:4] if len(self.code) > 4 else None


A, L, N, I, E = "asset", "liability", "net_assets", "income", "expense"

# In code order; a 总账 comes before its 明细.
DEFAULT_CHART: tuple[Line, ...] = (
    Line(CASH, A, "库存现金", "Cash on hand"),
    Line("1002", A, "银行存款", "Bank deposits"),
    Line(BANK, A, "银行存款—人民币户", "Bank deposits – CNY account"),
    Line(BANK_USD, A, "银行存款—美元户", "Bank deposits – USD account", currency="USD"),
    Line(BANK_HKD, A, "银行存款—港币户", "Bank deposits – HKD account", currency="HKD"),
    Line("1009", A, "其他货币资金", "Other monetary funds"),
    Line(WECHAT, A, "其他货币资金—微信支付待结算", "Other monetary funds – WeChat Pay clearing"),
    Line(ALIPAY, A, "其他货币资金—支付宝待结算", "Other monetary funds – Alipay clearing"),
    Line("1101", A, "短期投资", "Short-term investments"),
    Line("1121", A, "应收账款", "Accounts receivable"),
    Line("1122", A, "其他应收款", "Other receivables"),
    Line("1141", A, "预付账款", "Prepayments"),
    Line("1201", A, "存货", "Inventories"),
    Line(INVENTORY_SMILE, A, "存货—微笑礼包", "Inventories – Smile Packs"),
    Line(INVENTORY_DONATED, A, "存货—捐赠物资", "Inventories – donated goods"),
    Line("1701", A, "受托代理资产", "Assets held as agent"),
    Line(PAYABLE, L, "应付账款", "Accounts payable"),
    Line("2204", L, "应付职工薪酬", "Payroll payable"),
    Line("2206", L, "应交税费", "Taxes payable"),
    Line("2209", L, "其他应付款", "Other payables"),
    Line("2301", L, "预提费用", "Accrued expenses"),
    Line("2601", L, "受托代理负债", "Liabilities held as agent"),
    Line(NET_ASSETS_UNRESTRICTED, N, "非限定性净资产", "Net assets without donor restrictions"),
    Line(NET_ASSETS_RESTRICTED, N, "限定性净资产", "Net assets with donor restrictions"),
    Line("4101", I, "捐赠收入", "Donations"),
    Line(DONATION_UNRESTRICTED, I, "捐赠收入—非限定性", "Donations – without donor restrictions",
         restriction="unrestricted"),
    Line(DONATION_RESTRICTED, I, "捐赠收入—限定性", "Donations – with donor restrictions", restriction="restricted"),
    Line(DONATION_ENDOWMENT, I, "捐赠收入—限定性(留本基金)", "Donations – endowment", restriction="endowment"),
    Line(IN_KIND_UNRESTRICTED, I, "捐赠收入—非限定性(实物)", "Donations in kind – without donor restrictions",
         restriction="unrestricted"),
    Line(IN_KIND_RESTRICTED, I, "捐赠收入—限定性(实物)", "Donations in kind – with donor restrictions",
         restriction="restricted"),
    Line(INVESTMENT_INCOME, I, "投资收益", "Investment income"),
    Line(OTHER_INCOME, I, "其他收入", "Other income"),
    Line("5101", E, "业务活动成本", "Program expenses"),
    Line(PROGRAM_SMILE, E, "业务活动成本—微笑礼包", "Program expenses – Smile Packs", purpose="smile_pack"),
    Line(PROGRAM_STUDY, E, "业务活动成本—助学", "Program expenses – study assistance", purpose="study_grant"),
    Line(PROGRAM_GENERAL, E, "业务活动成本—综合项目", "Program expenses – general programs", purpose="general"),
    Line("5201", E, "管理费用", "Management expenses"),
    Line(MANAGEMENT, E, "管理费用—行政办公", "Management expenses – administration"),
    Line(TRUSTEE_FEE, E, "管理费用—受托人报酬", "Management expenses – trustee's fee"),
    Line(CUSTODIAN_FEE, E, "管理费用—保管费", "Management expenses – custodian's fee"),
    Line(SUPERVISOR_FEE, E, "管理费用—监察人报酬", "Management expenses – supervisor's fee"),
    Line("5301", E, "筹资费用", "Fundraising expenses"),
    Line(FUNDRAISING, E, "筹资费用—募捐费用", "Fundraising expenses – appeals"),
    Line(FX, E, "筹资费用—汇兑损益", "Fundraising expenses – exchange differences"),
    Line("5401", E, "其他费用", "Other expenses"),
    Line(BANK_FEES, E, "其他费用—银行手续费", "Other expenses – bank charges"),
)

# (code, kind, Chinese name, English name, expense account, stock item code)
DEFAULT_PROGRAMS = [
    ("smile_pack", "in_kind", "微笑礼包", "Smile Packs", PROGRAM_SMILE, "smile_pack"),
    ("study_grant", "cash", "助学", "Study assistance", PROGRAM_STUDY, None),
    ("general", "cash", "综合项目", "General programs", PROGRAM_GENERAL, None),
]

GENERAL_FUND = ("GEN", "非限定性资金", "General fund (unrestricted)")
