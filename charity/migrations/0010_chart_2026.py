"""The chart of accounts of 2026 (charity.chart, CHART_VERSION "2026"): existing trusts move to it in place.

The first chart's codes clashed with the standard's 会计科目表 (1401 is 长期股权投资 there, 4201 会费收入, 5301 筹资费用).
Each trust's accounts are renamed to the 2026 codes and names (ids do not change, and the hash chain hashes ids, so
every book verifies to the same head), the standard's 总账 are added as parents of the 明细, and the template's
accounts a trust lacks are added. Both lists are frozen here, as they were on the day of the move: the template
in charity/chart.py may change later, this history may not. Backwards: the renames are undone and the accounts
this migration added are deleted (none can have legs yet, unless posted to after the move: then it refuses).
"""

from django.db import migrations, models

# (first chart's code, 2026 code)
RENAMES = (
    ("1002", "100201"), ("1012", "100901"), ("1013", "100902"), ("1401", "120101"), ("1402", "120102"),
    ("4101", "410101"), ("4102", "410102"), ("4103", "410103"), ("4201", "410104"), ("4202", "410105"),
    ("4301", "4601"), ("5101", "510101"), ("5102", "510102"), ("5103", "510103"), ("5201", "520101"),
    ("5202", "530101"), ("5203", "540101"), ("5301", "530102"),
)
# (code, type, name, name_en, purpose, restriction, currency), a 总账 before its 明细
CHART_2026 = (
    ('1001', 'asset', '库存现金', 'Cash on hand', '', '', ''),
    ('1002', 'asset', '银行存款', 'Bank deposits', '', '', ''),
    ('100201', 'asset', '银行存款—人民币户', 'Bank deposits – CNY account', '', '', ''),
    ('100202', 'asset', '银行存款—美元户', 'Bank deposits – USD account', '', '', 'USD'),
    ('100203', 'asset', '银行存款—港币户', 'Bank deposits – HKD account', '', '', 'HKD'),
    ('1009', 'asset', '其他货币资金', 'Other monetary funds', '', '', ''),
    ('100901', 'asset', '其他货币资金—微信支付待结算', 'Other monetary funds – WeChat Pay clearing', '', '', ''),
    ('100902', 'asset', '其他货币资金—支付宝待结算', 'Other monetary funds – Alipay clearing', '', '', ''),
    ('1101', 'asset', '短期投资', 'Short-term investments', '', '', ''),
    ('1121', 'asset', '应收账款', 'Accounts receivable', '', '', ''),
    ('1122', 'asset', '其他应收款', 'Other receivables', '', '', ''),
    ('1141', 'asset', '预付账款', 'Prepayments', '', '', ''),
    ('1201', 'asset', '存货', 'Inventories', '', '', ''),
    ('120101', 'asset', '存货—微笑礼包', 'Inventories – Smile Packs', '', '', ''),
    ('120102', 'asset', '存货—捐赠物资', 'Inventories – donated goods', '', '', ''),
    ('1701', 'asset', '受托代理资产', 'Assets held as agent', '', '', ''),
    ('2202', 'liability', '应付账款', 'Accounts payable', '', '', ''),
    ('2204', 'liability', '应付职工薪酬', 'Payroll payable', '', '', ''),
    ('2206', 'liability', '应交税费', 'Taxes payable', '', '', ''),
    ('2209', 'liability', '其他应付款', 'Other payables', '', '', ''),
    ('2301', 'liability', '预提费用', 'Accrued expenses', '', '', ''),
    ('2601', 'liability', '受托代理负债', 'Liabilities held as agent', '', '', ''),
    ('3101', 'net_assets', '非限定性净资产', 'Net assets without donor restrictions', '', '', ''),
    ('3102', 'net_assets', '限定性净资产', 'Net assets with donor restrictions', '', '', ''),
    ('4101', 'income', '捐赠收入', 'Donations', '', '', ''),
    ('410101', 'income', '捐赠收入—非限定性', 'Donations – without donor restrictions', '', 'unrestricted', ''),
    ('410102', 'income', '捐赠收入—限定性', 'Donations – with donor restrictions', '', 'restricted', ''),
    ('410103', 'income', '捐赠收入—限定性(留本基金)', 'Donations – endowment', '', 'endowment', ''),
    ('410104', 'income', '捐赠收入—非限定性(实物)', 'Donations in kind – without donor restrictions', '', 'unrestricted', ''),
    ('410105', 'income', '捐赠收入—限定性(实物)', 'Donations in kind – with donor restrictions', '', 'restricted', ''),
    ('4601', 'income', '投资收益', 'Investment income', '', '', ''),
    ('4901', 'income', '其他收入', 'Other income', '', '', ''),
    ('5101', 'expense', '业务活动成本', 'Program expenses', '', '', ''),
    ('510101', 'expense', '业务活动成本—微笑礼包', 'Program expenses – Smile Packs', 'smile_pack', '', ''),
    ('510102', 'expense', '业务活动成本—助学', 'Program expenses – study assistance', 'study_grant', '', ''),
    ('510103', 'expense', '业务活动成本—综合项目', 'Program expenses – general programs', 'general', '', ''),
    ('5201', 'expense', '管理费用', 'Management expenses', '', '', ''),
    ('520101', 'expense', '管理费用—行政办公', 'Management expenses – administration', '', '', ''),
    ('520102', 'expense', '管理费用—受托人报酬', "Management expenses – trustee's fee", '', '', ''),
    ('520103', 'expense', '管理费用—保管费', "Management expenses – custodian's fee", '', '', ''),
    ('520104', 'expense', '管理费用—监察人报酬', "Management expenses – supervisor's fee", '', '', ''),
    ('5301', 'expense', '筹资费用', 'Fundraising expenses', '', '', ''),
    ('530101', 'expense', '筹资费用—募捐费用', 'Fundraising expenses – appeals', '', '', ''),
    ('530102', 'expense', '筹资费用—汇兑损益', 'Fundraising expenses – exchange differences', '', '', ''),
    ('5401', 'expense', '其他费用', 'Other expenses', '', '', ''),
    ('540101', 'expense', '其他费用—银行手续费', 'Other expenses – bank charges', '', '', ''),
)
FIRST_NAMES = {
    "1002": ("银行存款", "Bank deposits"), "1012": ("微信支付待结算", "WeChat Pay clearing"),
    "1013": ("支付宝待结算", "Alipay clearing"), "1401": ("库存物资—微笑礼包", "Inventory – Smile Packs"),
    "1402": ("库存物资—捐赠物资", "Inventory – donated goods"),
    "4101": ("捐赠收入—非限定性", "Donations – without donor restrictions"),
    "4102": ("捐赠收入—限定性", "Donations – with donor restrictions"),
    "4103": ("捐赠收入—留本基金", "Donations – endowment"),
    "4201": ("实物捐赠收入—非限定性", "In-kind donations – without donor restrictions"),
    "4202": ("实物捐赠收入—限定性", "In-kind donations – with donor restrictions"),
    "4301": ("投资收益", "Investment income"),
    "5101": ("业务活动成本—微笑礼包", "Program expenses – Smile Packs"),
    "5102": ("业务活动成本—助学", "Program expenses – study assistance"),
    "5103": ("业务活动成本—综合项目", "Program expenses – general programs"),
    "5201": ("管理费用", "Management expenses"), "5202": ("筹资费用", "Fundraising expenses"),
    "5203": ("其他费用—银行手续费", "Bank fees"), "5301": ("其他费用—汇兑损益", "Foreign exchange gains and losses"),
}


def forwards(apps, schema_editor):
    Trust = apps.get_model("charity", "Trust")
    Account = apps.get_model("ledger", "Account")
    template = {line[0]: line for line in CHART_2026}
    for trust in Trust.objects.all():
        accounts = {a.code: a for a in Account.objects.filter(book_id=trust.book_id)}
        if any(new in accounts for _, new in RENAMES if len(new) == 6):
            continue  # already on the 2026 chart (created after this migration's code was written)
        for old, new in RENAMES:
            account = accounts.pop(old, None)
            if account is None:
                continue
            _, _, name, name_en, _, _, currency = template[new]
            account.code, account.name, account.name_en, account.currency = new, name, name_en, currency
            account.save(update_fields=["code", "name", "name_en", "currency"])
            accounts[new] = account
        for code, type_, name, name_en, purpose, restriction, currency in CHART_2026:
            if code not in accounts:
                accounts[code] = Account.objects.create(
                    book_id=trust.book_id, code=code, name=name, name_en=name_en, type=type_, purpose=purpose,
                    restriction=restriction, currency=currency,
                )
        for code, account in accounts.items():
            if len(code) == 6 and code[:4] in accounts and account.parent_id is None:
                account.parent = accounts[code[:4]]
                account.save(update_fields=["parent"])
        trust.chart_version = "2026"
        trust.save(update_fields=["chart_version"])


def backwards(apps, schema_editor):
    Trust = apps.get_model("charity", "Trust")
    Account = apps.get_model("ledger", "Account")
    renamed = {new: old for old, new in RENAMES}
    for trust in Trust.objects.all():
        Account.objects.filter(book_id=trust.book_id).update(parent=None)
        added = {line[0] for line in CHART_2026} - set(renamed) - {"1001", "2202", "3101", "3102"}
        doomed = list(Account.objects.filter(book_id=trust.book_id, code__in=added).values_list("pk", flat=True))
        if doomed:  # first, as 1002 is taken back; in SQL: nothing refers to them (a leg would refuse the delete)
            schema_editor.execute(f"DELETE FROM ledger_account WHERE id IN ({', '.join(['%s'] * len(doomed))})",
                                  doomed)
        for account in Account.objects.filter(book_id=trust.book_id, code__in=list(renamed)):
            old = renamed[account.code]
            account.code, (account.name, account.name_en), account.currency = old, FIRST_NAMES[old], ""
            account.save(update_fields=["code", "name", "name_en", "currency"])


class Migration(migrations.Migration):

    dependencies = [
        ("charity", "0009_attachment_guard"),
        ("ledger", "0010_account_currency"),
    ]

    operations = [
        migrations.AddField(
            model_name="trust",
            name="chart_version",
            field=models.CharField(default="2026", editable=False, max_length=16, verbose_name="chart of accounts"),
        ),
        migrations.RunPython(forwards, backwards),
    ]
