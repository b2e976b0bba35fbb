"""The 2026 chart of accounts: the template a trust is created with, foreign-currency bank accounts, and the move
of a trust on the first chart to it (migration charity.0010_chart_2026), forwards and back."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from charity import chart
from charity.models import Trust
from charity.services import donation_record
from ledger import errors, services as ledger
from ledger.models import Account, Fund
from ledger.services import Cr, Dr, system_user
from ledger.verification import verify_book

D = dt.date(2026, 3, 2)


def test_a_new_trust_has_the_whole_template_with_its_parents(trust):
    accounts = {a.code: a for a in Account.objects.filter(book=trust.book).select_related("parent")}
    assert set(accounts) == {line.code for line in chart.DEFAULT_CHART}
    assert trust.chart_version == chart.CHART_VERSION == "2026"
    for line in chart.DEFAULT_CHART:
        account = accounts[line.code]
        assert (account.name, account.type, account.purpose, account.restriction, account.currency) == (
            line.name, line.type, line.purpose, line.restriction, line.currency)
        assert (account.parent.code if account.parent else None) == line.parent
    # The standard's 总账 where the first chart had its clashes: 1401 is 长期股权投资 there, 4201 会费收入, 5301 筹资费用.
    assert accounts["1201"].name == "存货" and accounts[chart.INVENTORY_SMILE].parent.code == "1201"
    assert accounts["5301"].name == "筹资费用" and accounts[chart.FX].parent.code == "5301"
    assert "1401" not in accounts and "4201" not in accounts


def test_foreign_currency_bank_gifts_land_in_their_own_account(trust):
    """USD goes to 100202 银行存款—美元户; the first EUR transfer opens 100204 银行存款—EUR户; WeChat in USD stays on the
    WeChat clearing account (the platform settles in CNY)."""
    gen = Fund.objects.get(book=trust.book, code="GEN")
    user = system_user()
    usd, _ = donation_record(trust=trust, external_id="U1", date=D, amount=Decimal("100.00"), currency="USD",
                             fx_rate=Decimal("7.1234"), fund=gen, channel="bank", user=user)
    eur, _ = donation_record(trust=trust, external_id="E1", date=D, amount=Decimal("10.00"), currency="EUR",
                             fx_rate=Decimal("7.8"), fund=gen, channel="bank", user=user)
    eur2, _ = donation_record(trust=trust, external_id="E2", date=D, amount=Decimal("5.00"), currency="EUR",
                              fx_rate=Decimal("7.8"), fund=gen, channel="bank", user=user)
    cny, _ = donation_record(trust=trust, external_id="C1", date=D, amount=Decimal("50.00"), fund=gen,
                             channel="bank", user=user)

    def debited(donation):
        return donation.entry.legs.get(debit__gt=0).account

    assert debited(usd).code == chart.BANK_USD and debited(usd).currency == "USD"
    assert (debited(eur).code, debited(eur).currency, debited(eur).name) == ("100204", "EUR", "银行存款—EUR户")
    assert debited(eur2).pk == debited(eur).pk and debited(eur).parent.code == "1002"
    assert debited(cny).code == chart.BANK
    assert usd.amount_cny == Decimal("712.34")
    assert verify_book(trust.book).ok


def test_unrestricted_income_into_a_restricted_fund_is_refused(trust):
    """A manual 410101 捐赠收入—非限定性 posting into SMILE (restricted) would show restricted money on a line
    labelled unrestricted: refused, naming both."""
    smile = Fund.objects.get(book=trust.book, code="SMILE")
    bank, income = (Account.objects.get(book=trust.book, code=c) for c in (chart.BANK, chart.DONATION_UNRESTRICTED))
    with pytest.raises(errors.PurposeViolation, match="410101 .* takes unrestricted income; fund SMILE is restricted"):
        ledger.entry_post(book=trust.book, date=D, memo="x", user=system_user(),
                          legs=[Dr(bank, smile, Decimal("1")), Cr(income, smile, Decimal("1"))])


# --- the move of an existing trust ------------------------------------------------------------------------------

FIRST_CHART = [  # (code, type, name) as the first chart created them
    ("1001", "asset", "库存现金"), ("1002", "asset", "银行存款"), ("1012", "asset", "微信支付待结算"),
    ("1013", "asset", "支付宝待结算"), ("1401", "asset", "库存物资—微笑礼包"), ("1402", "asset", "库存物资—捐赠物资"),
    ("1901", "asset", "基金间往来"), ("2202", "liability", "应付款项"), ("3101", "net_assets", "非限定性净资产"),
    ("3102", "net_assets", "限定性净资产"), ("4101", "income", "捐赠收入—非限定性"), ("4102", "income", "捐赠收入—限定性"),
    ("4103", "income", "捐赠收入—留本基金"), ("4201", "income", "实物捐赠收入—非限定性"),
    ("4202", "income", "实物捐赠收入—限定性"), ("4301", "income", "投资收益"), ("5101", "expense", "业务活动成本—微笑礼包"),
    ("5102", "expense", "业务活动成本—助学"), ("5103", "expense", "业务活动成本—综合项目"), ("5201", "expense", "管理费用"),
    ("5202", "expense", "筹资费用"), ("5203", "expense", "其他费用—银行手续费"), ("5301", "expense", "其他费用—汇兑损益"),
]
BEFORE = [("charity", "0009_attachment_guard"), ("ledger", "0009_closing_entries")]


@pytest.mark.django_db(transaction=True)
def test_a_trust_on_the_first_chart_moves_in_place_and_back():
    """Accounts keep their ids (the hash chain hashes ids, so the books verify to the same head): 1002 becomes
    100201 under a new 1002 银行存款, 4102 becomes 410102 under 4101 捐赠收入, 5301 becomes 530102 under 5301 筹资费用;
    the template's missing accounts are added; 1901, which the 2026 chart lacks, stays. Backwards, all is undone."""
    run = MigrationExecutor(connection)
    try:
        run.migrate(BEFORE)
        apps = run.loader.project_state(BEFORE).apps
        Book, Account1 = apps.get_model("ledger", "Book"), apps.get_model("ledger", "Account")
        book = Book.objects.create(code="OLD", name="Old trust")
        ids = {code: Account1.objects.create(book=book, code=code, type=type_, name=name).pk
               for code, type_, name in FIRST_CHART}
        apps.get_model("charity", "Trust").objects.create(code="OLD", name="旧信托", book_id=book.pk)

        run = MigrationExecutor(connection)
        run.loader.build_graph()
        run.migrate(run.loader.graph.leaf_nodes())
        moved = {a.code: a for a in Account.objects.filter(book_id=book.pk).select_related("parent")}
        assert Trust.objects.get(code="OLD").chart_version == "2026"
        assert moved["100201"].pk == ids["1002"] and moved["100201"].parent.code == "1002"
        assert moved["410102"].pk == ids["4102"] and moved["410102"].name == "捐赠收入—限定性"
        assert moved["530102"].pk == ids["5301"] and moved["530102"].parent.name == "筹资费用"
        assert moved["120101"].pk == ids["1401"] and moved["4601"].pk == ids["4301"]
        assert moved["1901"].pk == ids["1901"]
        assert {line.code for line in chart.DEFAULT_CHART} <= set(moved)

        run = MigrationExecutor(connection)
        run.migrate(BEFORE)
        apps = run.loader.project_state(BEFORE).apps
        back = dict(apps.get_model("ledger", "Account").objects.filter(book_id=book.pk).values_list("code", "pk"))
        assert back == ids
    finally:
        run = MigrationExecutor(connection)
        run.loader.build_graph()
        run.migrate(run.loader.graph.leaf_nodes())
