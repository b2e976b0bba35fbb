"""Statements, matching and the 银行存款余额调节表 (issue 20), on a small book worked by hand.

The bank book (account chart.BANK, GEN fund, January-February 2026):

    2026-01-05  gift DN-1 (bank)          +10,000.00
    2026-01-10  expense EX-1 (admin)         -300.00
    2026-01-30  gift DN-2 (bank)           +2,000.00     book balance at 31 January: 11,700.00

The bank's statement:

    row 2  2026-01-06  +10,000.00   balance 10,000.00   B001   (DN-1, one day later)
    row 3  2026-01-11     -300.00   balance  9,700.00   B002   (EX-1, one day later)
    row 4  2026-01-31      -15.00   balance  9,685.00   B003   (a bank fee the books do not have)
    row 5  2026-02-02   +2,000.00   balance 11,685.00   B004   (DN-2, three days later: still matches)

At 31 January: statement balance 9,685.00; the bank has paid 15.00 the books have not (adjusted book
11,700.00 - 15.00 = 11,685.00); the books have received 2,000.00 the bank has not by then (DN-2's match ends on
2 February), so the adjusted statement balance is 9,685.00 + 2,000.00 = 11,685.00: they agree.
At 28 February: book 11,700.00 - 15.00 = 11,685.00; statement 11,685.00 and nothing in transit on the books' side.
"""

import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.core.management.base import CommandError

from charity import chart, roles
from charity.errors import ReconciliationError
from charity.models import ReconciledMonth, StatementLine, StatementMatch
from charity.reconciliation import reconcile
from charity.services import (
    donation_record, expense_record, month_reconcile, reconciliation_set_days, statement_import, statement_match,
    statement_match_auto, statement_unmatch, trust_create,
)
from ledger.models import Account, Fund, Leg
from ledger.services import system_user
from tests.conftest import grant

GENERIC = """date,amount,balance,counterparty,reference
2026-01-06,10000.00,10000.00,张三,B001
2026-01-11,-300.00,9700.00,某文具公司,B002
2026-01-31,-15.00,9685.00,银行,B003
2026-02-02,2000.00,11685.00,李四,B004
"""

# The same statement as a Chinese bank exports it: a title and the account number above the header, dates as
# YYYYMMDD, 借方 (money out) and 贷方 (money in) from the bank's side, thousands separators, GB18030.
CN_BANK = """中国工商银行账户明细
账号,1102020309000123456
交易日期,摘要,借方发生额,贷方发生额,余额,对方户名,流水号
20260106,汇入,,"10,000.00","10,000.00",张三,B001
20260111,转账,300.00,,"9,700.00",某文具公司,B002
20260131,手续费,15.00,,"9,685.00",银行,B003
20260202,汇入,,"2,000.00","11,685.00",李四,B004
"""


def bank_book(trust):
    op = system_user()
    gen = Fund.objects.get(book=trust.book, code="GEN")
    donation_record(trust=trust, external_id="DN-1", date=dt.date(2026, 1, 5), amount=Decimal("10000.00"), fund=gen,
                    channel="bank", user=op)
    expense_record(trust=trust, external_id="EX-1", date=dt.date(2026, 1, 10), kind="admin", fund=gen,
                   amount=Decimal("300.00"), user=op)
    donation_record(trust=trust, external_id="DN-2", date=dt.date(2026, 1, 30), amount=Decimal("2000.00"), fund=gen,
                    channel="bank", user=op)
    return Account.objects.get(book=trust.book, code=chart.BANK)


@pytest.fixture
def bank(trust):
    return bank_book(trust)


def fen(text):
    return int(Decimal(text) * 100)


@pytest.mark.parametrize("fmt,data", [("generic", GENERIC.encode()), ("cn-bank", CN_BANK.encode("gb18030"))])
def test_import_match_reconcile_the_bank(trust, bank, officer, fmt, data):
    result = statement_import(trust=trust, account=bank, data=data, fmt=fmt, user=officer)
    assert (result.errors, result.created, result.skipped) == ([], 4, 0)
    lines = list(StatementLine.objects.filter(account=bank).order_by("date"))
    assert [ln.amount for ln in lines] == [fen("10000"), fen("-300"), fen("-15"), fen("2000")]
    assert [ln.balance for ln in lines] == [fen("10000"), fen("9700"), fen("9685"), fen("11685")]
    assert lines[0].counterparty == "张三" and lines[0].reference == "B001" and len(lines[0].file_sha256) == 64
    assert statement_match_auto(account=bank, user=officer) == 3
    assert lines[2].__class__.objects.get(pk=lines[2].pk).match is None  # the fee: nothing in the books

    jan = reconcile(bank, dt.date(2026, 1, 31))
    assert (jan.book_balance, jan.statement_balance) == (fen("11700"), fen("9685"))
    assert [i.amount for i in jan.bank_items] == [fen("-15")]
    assert [(i.amount, i.reference) for i in jan.book_items] == [(fen("2000"), "DN-2")]
    assert jan.adjusted_book == jan.adjusted_statement == fen("11685") and jan.agrees
    feb = reconcile(bank, dt.date(2026, 2, 28))
    assert (feb.book_balance, feb.statement_balance, feb.book_items) == (fen("11700"), fen("11685"), [])
    assert feb.adjusted_book == feb.adjusted_statement == fen("11685")

    month_reconcile(account=bank, month="2026-01", user=officer)
    month_reconcile(account=bank, month="2026-02", user=officer)
    assert ReconciledMonth.objects.filter(account=bank).count() == 2
    first = StatementLine.objects.get(account=bank, reference="B001").match
    with pytest.raises(ReconciliationError, match="2026-01 is reconciled"):
        statement_unmatch(match=first, user=officer)
    assert StatementMatch.objects.filter(pk=first.pk).exists()

    # re-importing the same statement writes nothing
    again = statement_import(trust=trust, account=bank, data=data, fmt=fmt, user=officer)
    assert (again.errors, again.created, again.skipped) == ([], 0, 4)
    assert StatementLine.objects.filter(account=bank).count() == 4


def test_the_report_in_three_formats(trust, bank, officer, tmp_path):
    """31 January: the book 11,700.00, less the bank's fee 15.00 = 11,685.00; the statement 9,685.00 plus DN-2's
    2,000.00 = 11,685.00."""
    statement_import(trust=trust, account=bank, data=GENERIC.encode(), fmt="generic", user=officer)
    statement_match_auto(account=bank, user=officer)
    out = io.StringIO()
    call_command("report", "reconciliation", "--account", chart.BANK, "--as-of", "2026-01-31", stdout=out)
    rows = out.getvalue().lstrip("\ufeff").splitlines()
    assert rows[0] == "section,line,line_en,date,reference,description,amount"
    by_section = {}
    for row in rows[1:]:
        cells = row.split(",")
        by_section.setdefault(cells[0], []).append(cells)
    assert by_section["BOOK_BALANCE"][0][-1] == "11700.00"
    assert [c[-1] for c in by_section["BANK_OUT"]] == ["15.00", "15.00"]  # the heading, then the item
    assert by_section["ADJUSTED_BOOK"][0][-1] == "11685.00"
    assert by_section["STATEMENT_BALANCE"][0][-1] == "9685.00"
    assert [c[-1] for c in by_section["BOOK_IN"]] == ["2000.00", "2000.00"] and by_section["BOOK_IN"][1][4] == "DN-2"
    assert by_section["ADJUSTED_STATEMENT"][0][-1] == "11685.00"
    out = io.StringIO()
    call_command("report", "reconciliation", "--account", chart.BANK, "--as-of", "2026-01-31", "--format", "json",
                 stdout=out)
    body = json.loads(out.getvalue())
    assert {s["key"]: s["value"] for s in body["summary"]}["agrees"] is True
    pdf = tmp_path / "r.pdf"
    call_command("report", "reconciliation", "--account", chart.BANK, "--as-of", "2026-01-31", "--format", "pdf",
                 "--out", str(pdf))
    assert pdf.read_bytes().startswith(b"%PDF")
    with pytest.raises(CommandError) as refused:
        call_command("report", "reconciliation", "--as-of", "2026-01-31")
    assert refused.value.returncode == 2
    with pytest.raises(CommandError, match="needs --account|does not take"):
        call_command("report", "trial-balance", "--account", chart.BANK)


def test_a_month_that_does_not_agree_is_not_reconciled(trust, bank, officer):
    """The bank prints an opening balance of 500.00 the books never had: at 31 January the adjusted book balance
    is 11,685.00 but the statement's 10,185.00 + 2,000.00 = 12,185.00."""
    text = GENERIC.replace("10000.00,张三", "10500.00,张三").replace("9700.00", "10200.00") \
        .replace("9685.00", "10185.00").replace("11685.00", "12185.00")
    assert statement_import(trust=trust, account=bank, data=text.encode(), user=officer).errors == []
    statement_match_auto(account=bank, user=officer)
    with pytest.raises(ReconciliationError, match="11685.00.*12185.00"):
        month_reconcile(account=bank, month="2026-01", user=officer)
    assert not ReconciledMonth.objects.exists()


@pytest.mark.parametrize("name,text,where", [
    ("changed amount", GENERIC.replace("-300.00,9700.00", "-30.00,9700.00"), ["row 3, column balance"]),
    ("missing line", GENERIC.replace("2026-01-11,-300.00,9700.00,某文具公司,B002\n", ""), ["row 3, column balance"]),
    ("duplicated line", GENERIC.replace("2026-01-31,-15.00,9685.00,银行,B003\n",
                                        "2026-01-31,-15.00,9685.00,银行,B003\n" * 2),
     ["row 5, column balance", "row 5, column reference"]),
])
def test_a_tampered_statement_is_reported_and_nothing_written(trust, bank, officer, name, text, where):
    result = statement_import(trust=trust, account=bank, data=text.encode(), user=officer)
    assert sorted(str(e).split(":")[0] for e in result.errors) == sorted(where), result.errors
    assert not StatementLine.objects.exists()


def test_the_command(trust, bank, officer, tmp_path):
    path = tmp_path / "jan.csv"
    path.write_text(GENERIC, encoding="utf-8-sig")
    out = io.StringIO()
    call_command("import_statement", chart.BANK, str(path), "--dry-run", "--user", "officer", stdout=out)
    assert "would import 4" in out.getvalue() and not StatementLine.objects.exists()
    call_command("import_statement", chart.BANK, str(path), "--user", "officer", "--match", stdout=out)
    assert "imported 4" in out.getvalue() and "matched 3" in out.getvalue()
    call_command("import_statement", chart.BANK, str(path), "--user", "officer", stdout=out)
    assert "imported 0 statement line(s) for %s, skipped 4" % chart.BANK in out.getvalue()
    bad = tmp_path / "bad.csv"
    bad.write_text(GENERIC.replace("-300.00,9700.00", "-30.00,9700.00").replace("B00", "C00"))
    err = io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("import_statement", chart.BANK, str(bad), stderr=err)
    assert refused.value.returncode == 1 and "bad.csv: row 3, column balance:" in err.getvalue()
    with pytest.raises(CommandError, match="not a money account"):
        call_command("import_statement", chart.MANAGEMENT, str(path))
    with pytest.raises(CommandError, match="invalid choice: 'nonesuch'"):  # argparse: exit 2 at the shell
        call_command("import_statement", chart.BANK, str(path), "--format", "nonesuch")
    assert StatementLine.objects.count() == 4


def test_another_trusts_account_and_officer_are_refused(trust, bank, officer):
    other = trust_create(code="B", name="乙信托", user=system_user())
    their_bank = Account.objects.get(book=other.book, code=chart.BANK)
    with pytest.raises(ReconciliationError, match="not an account of trust"):
        statement_import(trust=trust, account=their_bank, data=GENERIC.encode(), user=system_user())
    parent = Account.objects.get(book=trust.book, code=chart.BANK_PARENT)
    with pytest.raises(ReconciliationError, match="not a money account"):
        statement_import(trust=trust, account=parent, data=GENERIC.encode(), user=officer)
    outsider = grant(get_user_model().objects.create_user("officer-b"), roles.OFFICER, other)
    auditor = grant(get_user_model().objects.create_user("auditor-a"), roles.AUDITOR, trust)
    for user in (outsider, auditor):
        with pytest.raises(PermissionDenied):
            statement_import(trust=trust, account=bank, data=GENERIC.encode(), user=user)
    assert not StatementLine.objects.exists()


def test_matching_by_hand_and_the_window(trust, bank, officer):
    """The fee line (-15.00) has no leg; the two gifts (+10,000.00 on 5 January, +2,000.00 on 30 January) are
    matched by hand to one line of +12,000.00; a window of 0 days matches nothing automatically."""
    text = ("date,amount,balance,counterparty,reference\n2026-01-11,-300.00,-300.00,x,B1\n"
            "2026-01-31,12000.00,11700.00,x,B2\n")
    assert statement_import(trust=trust, account=bank, data=text.encode(), user=officer).errors == []
    reconciliation_set_days(account=bank, days=0, user=officer)
    assert statement_match_auto(account=bank, user=officer) == 0
    reconciliation_set_days(account=bank, days=3, user=officer)
    assert statement_match_auto(account=bank, user=officer) == 1  # EX-1
    gifts = list(Leg.objects.filter(account=bank, debit__gt=0).order_by("date"))
    line = StatementLine.objects.get(reference="B2")
    with pytest.raises(ReconciliationError, match="add up to 12000.00 and the legs to 10000.00"):
        statement_match(lines=[line], legs=gifts[:1], user=officer)
    other = trust_create(code="B", name="乙信托", user=system_user())
    donation_record(trust=other, external_id="DN-B", date=dt.date(2026, 1, 30), amount=Decimal("12000.00"),
                    fund=Fund.objects.get(book=other.book, code="GEN"), channel="bank", user=system_user())
    theirs = list(Leg.objects.filter(account__book=other.book, account__code=chart.BANK))
    with pytest.raises(ReconciliationError, match="every line and leg of a match is of account"):
        statement_match(lines=[line], legs=theirs, user=officer)
    match = statement_match(lines=[line], legs=gifts, user=officer)
    assert reconcile(bank, dt.date(2026, 1, 31)).bank_items == []
    with pytest.raises(ReconciliationError, match="already matched"):
        statement_match(lines=[line], legs=gifts, user=officer)
    statement_unmatch(match=match, user=officer)
    assert StatementLine.objects.get(reference="B2").match is None


WECHAT = """微信支付账单明细
交易时间,公众账号ID,商户号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注
`2026-01-05 10:00:01,`wx1,`1900000001,`4200001,`WX-2,`o1,`NATIVE,`SUCCESS,`OTHERS,`CNY,`200.00,`0.00,`0,`0,`0.00,`0.00,`,`,`捐赠,`,`1.20,`0.60%,`200.00,`0.00,`
`2026-01-05 11:00:01,`wx1,`1900000001,`4200002,`WX-1,`o2,`NATIVE,`SUCCESS,`OTHERS,`CNY,`200.00,`0.00,`0,`0,`0.00,`0.00,`,`,`捐赠,`,`1.20,`0.60%,`200.00,`0.00,`
`2026-01-07 09:00:00,`wx1,`1900000001,`4200003,`WX-3,`o3,`NATIVE,`SUCCESS,`OTHERS,`CNY,`50.00,`0.00,`0,`0,`0.00,`0.00,`,`,`捐赠,`,`0.30,`0.60%,`50.00,`0.00,`
总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额
`3,`450.00,`0.00,`0.00,`2.70,`450.00,`0.00
"""

ALIPAY = """#支付宝账务明细查询
#账号：[20880000000000000156]
#起始日期：[2026年01月01日 00:00:00]   终止日期：[2026年02月01日 00:00:00]
#-----------------------------------------账务明细列表----------------------------------------
账务流水号,业务流水号,商户订单号,商品名称,入账时间,对方账户,收入金额（+元）,支出金额（-元）,账户余额（元）,交易渠道,业务类型,备注,支付宝交易号
2026010500001,B1,AL-1,捐赠,2026-01-05 10:00:00,王**,300.00,,300.00,支付宝,在线支付,,20260105220011
2026010600002,B2,AL-2,捐赠,2026-01-06 10:00:00,陈**,80.00,,380.00,支付宝,在线支付,,20260106220012
#-----------------------------------------账务明细列表结束------------------------------------
#支出合计：0笔，共0.00元
"""


def test_the_platforms(trust, officer):
    """WeChat: gifts WX-1 and WX-2 of 200.00 each on 5 January and WX-3 of 50.00 on 8 January (a day after the
    bill's 7 January), in the clearing account chart.WECHAT. The bill lists WX-2 first: the order id, equal to the
    gift's external id, sends each line to its own gift, not to the earliest leg of the amount. No balance
    column: the statement balance is the lines' sum, 450.00, equal to the book's. Alipay: AL-1 300.00 and AL-2
    80.00; the books lack AL-2 at 31 January, so the bank (platform) has 80.00 the books have not: the adjusted
    book balance 300.00 + 80.00 = 380.00 = the statement's 380.00."""
    op = system_user()
    gen = Fund.objects.get(book=trust.book, code="GEN")
    for ext, day, amt, channel in (("WX-1", 5, "200", "wechat"), ("WX-2", 5, "200", "wechat"),
                                   ("WX-3", 8, "50", "wechat"), ("AL-1", 5, "300", "alipay")):
        donation_record(trust=trust, external_id=ext, date=dt.date(2026, 1, day), amount=Decimal(amt), fund=gen,
                        channel=channel, user=op)
    wechat = Account.objects.get(book=trust.book, code=chart.WECHAT)
    alipay = Account.objects.get(book=trust.book, code=chart.ALIPAY)
    result = statement_import(trust=trust, account=wechat, data=WECHAT.encode("utf-8-sig"), fmt="wechat",
                              user=officer)
    assert (result.errors, result.created) == ([], 3)
    assert statement_match_auto(account=wechat, user=officer) == 3
    for line in StatementLine.objects.filter(account=wechat):
        assert [ml.leg.entry.source_id for ml in line.match.legs.all()] == [line.order_id]
    rec = reconcile(wechat, dt.date(2026, 1, 31))
    assert (rec.book_balance, rec.statement_balance, rec.bank_items, rec.book_items) == (fen("450"), fen("450"), [],
                                                                                          [])
    month_reconcile(account=wechat, month="2026-01", user=officer)

    result = statement_import(trust=trust, account=alipay, data=ALIPAY.encode("gb18030"), fmt="alipay", user=officer)
    assert (result.errors, result.created) == ([], 2)
    line = StatementLine.objects.get(account=alipay, order_id="AL-1")
    assert (line.reference, line.date, line.balance) == ("20260105220011", dt.date(2026, 1, 5), fen("300"))
    assert statement_match_auto(account=alipay, user=officer) == 1
    rec = reconcile(alipay, dt.date(2026, 1, 31))
    assert [i.amount for i in rec.bank_items] == [fen("80")] and rec.adjusted_book == rec.adjusted_statement == fen(
        "380")
    month_reconcile(account=alipay, month="2026-01", user=officer)
    again = statement_import(trust=trust, account=alipay, data=ALIPAY.encode("gb18030"), fmt="alipay", user=officer)
    assert (again.created, again.skipped) == (0, 2)
