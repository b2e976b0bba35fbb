"""The annual report's cash flow statement (八), 会计报表附注 (九) and 财务情况说明书 (十), with figures worked by hand.

The book: the worked example of test_worked_example.py, plus in 2026 the trustee's fee 600.00 (520102),
the custodian's fee 200.00 (520103) and the supervisor's fee 100.00 (520104), all paid from the bank by GEN.

2026: income 30,400.00 (donations 30,300.00 = without 5,000.00 + with 25,300.00; investment income 100.00).
Expenses 2,800.00 + 900.00 = 3,700.00: program 2,000.00, management 450.00 + 900.00 = 1,350.00, fundraising
300.00, other 50.00. Released 2,000.00. Change in net assets 30,400.00 − 3,700.00 = 26,700.00.
31 Dec 2026: bank 35,800.00 − 900.00 = 34,900.00, WeChat 1,600.00: cash 36,500.00; stock 500.00; total assets
37,000.00; liabilities 300.00; net assets 36,700.00 (without 10,000.00 + 5,100.00 − 3,700.00 + 2,000.00 =
13,400.00; with 23,300.00). Cash at 31 Dec 2025: 10,000.00, so the net increase is 26,500.00.
SMILE (purpose smile_pack): opening 0.00, received 3,000.00 − 200.00 + 500.00 = 3,300.00, used 1,200.00,
closing 2,100.00. Fees 600.00 + 200.00 + 100.00 = 900.00. No spending rule: management / total expenses =
1,350.00 / 3,700.00 = 36.49%, shown as a figure, judged against nothing.
"""

import re

import pytest

from charity import chart
from charity.models import Trust
from ledger import services

from .aidconf import pdf_text
from .conftest import D, worked_example


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture
def year(books):
    worked_example(books)
    for code, amount in ((chart.TRUSTEE_FEE, "600"), (chart.CUSTODIAN_FEE, "200"), (chart.SUPERVISOR_FEE, "100")):
        books.move(D(2026, 6, 30), "fee", code, chart.BANK, "GEN", amount)
    Trust.objects.filter(pk=books.trust.pk).update(trustee="苏州信托有限公司", supervisor="苏州律师事务所",
                                                      settlor="苏州高新区妇女联合会", co_trustee="中国妇女发展基金会")
    return books


def annual(b) -> str:
    return flat(pdf_text(b.report("annual-report", "pdf", year=2026)))


def test_the_cash_flow_statement_notes_and_narrative_are_in_the_pack(year):
    text = annual(year)
    for heading in ("八、现金流量表", "九、会计报表附注", "十、财务情况说明书", "（一）会计政策", "（二）限定性净资产",
                    "（三）受托代理业务", "（四）受托人、保管人及监察人报酬", "（五）关联方", "（六）资产负债表日后事项"):
        assert flat(heading) in text, heading
    expected = [
        # the cash flow statement
        "五、现金及现金等价物净增加额", "26,500.00", "36,500.00",
        # policies
        "记账本位币为人民币（CNY）", "按交易日汇率折算", "存货按加权平均成本计价", "按公允价值入账",
        # restricted funds with purpose and the year's movements
        "SMILE微笑礼包专项资金（限定用途purposerestricted；用途purposesmile_pack）：年初opening0.00，本年增加received"
        "3,300.00，本年减少used1,200.00，年末closing2,100.00",
        # agency, fees, related parties, events
        "本年无受托代理业务", "受托人报酬Trustee'sfee：600.00元", "保管费Custodian'sfee：200.00元",
        "监察人报酬Supervisor'sfee：100.00元", "合计Total:900.00元", "委托人Settlor:苏州高新区妇女联合会", "受托人Trustee:苏州信托有限公司",
        "共同受托人Co-trustee:中国妇女发展基金会",
        "监察人Supervisor:苏州律师事务所", "未知悉需要披露的资产负债表日后事项",
        # the narrative
        "本年收入合计Totalincome30,400.00", "捐赠收入donations30,300.00", "投资收益investmentincome100.00",
        "本年费用合计Totalexpenses3,700.00", "业务活动成本programexpenses2,000.00", "管理费用management1,350.00",
        "筹资费用fundraising300.00", "其他费用other50.00", "净资产变动额Changeinnetassets:26,700.00",
        "资产总计totalassets37,000.00", "净资产合计totalnetassets36,700.00", "非限定性without13,400.00",
        "限定性with23,300.00", "现金及现金等价物净增加额Netincreaseincash26,500.00", "未配置支出规则",
        "1,350.00/3,700.00=36.49%",
    ]
    for item in expected:
        assert flat(item) in text, item


def test_agency_balances_are_stated_when_there_are_some(year):
    """800.00 held as agent (Dr 1701 / Cr 2601): the note gives the balances instead of "none"."""
    year.a = {a.code: a for a in year.book.accounts.all()}
    year.move(D(2026, 9, 1), "goods held for another charity", "1701", "2601", "GEN", "800")
    text = annual(year)
    assert flat("年末受托代理资产800.00元，受托代理负债800.00元") in text
    assert "本年无受托代理业务" not in text


def test_fees_of_another_year_are_not_counted(year):
    year.move(D(2025, 12, 20), "fee", chart.TRUSTEE_FEE, chart.BANK, "GEN", "50")
    assert flat("受托人报酬Trustee'sfee：600.00元") in annual(year)
