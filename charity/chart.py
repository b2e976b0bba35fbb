"""The default chart of accounts of a trust, with bilingual names, and the codes the services post to.

Codes follow the numbering of the 民间非营利组织会计制度 (1xxx assets, 2xxx liabilities, 3xxx net assets,
4xxx income, 5xxx expenses). Expense accounts of programs carry the program's code as their purpose: a
restricted fund may only be charged on the expense account of its own program (the ledger enforces this).
"""

CASH = "1001"
BANK = "1002"
WECHAT = "1012"
ALIPAY = "1013"
INVENTORY_SMILE = "1401"
INVENTORY_DONATED = "1402"
INTERFUND = "1901"
PAYABLE = "2202"
NET_ASSETS_UNRESTRICTED = "3101"
NET_ASSETS_RESTRICTED = "3102"
DONATION_UNRESTRICTED = "4101"
DONATION_RESTRICTED = "4102"
DONATION_ENDOWMENT = "4103"
IN_KIND_UNRESTRICTED = "4201"
IN_KIND_RESTRICTED = "4202"
INVESTMENT_INCOME = "4301"
PROGRAM_SMILE = "5101"
PROGRAM_STUDY = "5102"
PROGRAM_GENERAL = "5103"
MANAGEMENT = "5201"
FUNDRAISING = "5202"
BANK_FEES = "5203"
FX = "5301"

# (code, type, Chinese name, English name, purpose, restriction of income)
DEFAULT_CHART = [
    (CASH, "asset", "库存现金", "Cash on hand", "", ""),
    (BANK, "asset", "银行存款", "Bank deposits", "", ""),
    (WECHAT, "asset", "微信支付待结算", "WeChat Pay clearing", "", ""),
    (ALIPAY, "asset", "支付宝待结算", "Alipay clearing", "", ""),
    (INVENTORY_SMILE, "asset", "库存物资—微笑礼包", "Inventory – Smile Packs", "", ""),
    (INVENTORY_DONATED, "asset", "库存物资—捐赠物资", "Inventory – donated goods", "", ""),
    (INTERFUND, "asset", "基金间往来", "Inter-fund balances", "", ""),
    (PAYABLE, "liability", "应付款项", "Accounts payable", "", ""),
    (NET_ASSETS_UNRESTRICTED, "net_assets", "非限定性净资产", "Net assets without donor restrictions", "", ""),
    (NET_ASSETS_RESTRICTED, "net_assets", "限定性净资产", "Net assets with donor restrictions", "", ""),
    (DONATION_UNRESTRICTED, "income", "捐赠收入—非限定性", "Donations – without donor restrictions", "", "unrestricted"),
    (DONATION_RESTRICTED, "income", "捐赠收入—限定性", "Donations – with donor restrictions", "", "restricted"),
    (DONATION_ENDOWMENT, "income", "捐赠收入—留本基金", "Donations – endowment", "", "endowment"),
    (IN_KIND_UNRESTRICTED, "income", "实物捐赠收入—非限定性", "In-kind donations – without donor restrictions", "", "unrestricted"),
    (IN_KIND_RESTRICTED, "income", "实物捐赠收入—限定性", "In-kind donations – with donor restrictions", "", "restricted"),
    (INVESTMENT_INCOME, "income", "投资收益", "Investment income", "", "unrestricted"),
    (PROGRAM_SMILE, "expense", "业务活动成本—微笑礼包", "Program expenses – Smile Packs", "smile_pack", ""),
    (PROGRAM_STUDY, "expense", "业务活动成本—助学", "Program expenses – study assistance", "study_grant", ""),
    (PROGRAM_GENERAL, "expense", "业务活动成本—综合项目", "Program expenses – general programs", "general", ""),
    (MANAGEMENT, "expense", "管理费用", "Management expenses", "", ""),
    (FUNDRAISING, "expense", "筹资费用", "Fundraising expenses", "", ""),
    (BANK_FEES, "expense", "其他费用—银行手续费", "Bank fees", "", ""),
    (FX, "expense", "其他费用—汇兑损益", "Foreign exchange gains and losses", "", ""),
]

# (code, kind, Chinese name, English name, expense account, stock item code)
DEFAULT_PROGRAMS = [
    ("smile_pack", "in_kind", "微笑礼包", "Smile Packs", PROGRAM_SMILE, "smile_pack"),
    ("study_grant", "cash", "助学", "Study assistance", PROGRAM_STUDY, None),
    ("general", "cash", "综合项目", "General programs", PROGRAM_GENERAL, None),
]

GENERAL_FUND = ("GEN", "非限定性资金", "General fund (unrestricted)")
