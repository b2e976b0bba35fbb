"""``annual-report``: one PDF with every section, the trust's details, ratios flagged when missed under the
trust's own spending rule, charts,
byte-identical for the same books; PDF only."""

import io

import pytest
from django.core.management import CommandError, call_command

from charity.reports import ReportUsageError
from charity.services import spending_policy_set
from ledger.services import system_user

from .aidconf import pdf_text, render, year  # noqa: F401

SECTIONS = [
    "一、慈善信托基本情况", "二、资产负债表", "三、业务活动表", "四、支出比例", "五、限定性净资产分项目变动表",
    "六、项目执行情况", "七、限定性资金变动说明",
    "Trust details", "Statement of financial position", "Statement of activities", "Changes in net assets by fund",
    "Program summary", "Notes on restricted fund movements",
]


def test_every_section_and_the_trusts_details(year):
    text = pdf_text(render(year.book, "annual-report", "pdf", year=2026))
    for title in SECTIONS:
        assert title in text, title
    for detail in ("春蕾关爱妇女儿童慈善信托", "苏州信托有限公司", "苏州律师事务所", "苏民慈信备2026001",
                   "慈善信托年度事务处理及财务状况报告"):
        assert detail in text, detail
    # the charts' captions, the statements' own lines, the programs and the restricted funds
    for line in ("按项目支出 Spending by program", "按月捐赠收入 Donations by month", "资产总计", "负债和净资产总计", "III. Net assets released from",
                 "微笑礼包", "SMILE 微笑礼包专项资金", "STUDY 助学金专项资金", "6,100.00"):
        assert line in text, line
    assert "王秀英" not in text  # programs are counted, not named


def test_byte_identical_across_runs(year):
    first = render(year.book, "annual-report", "pdf", year=2026)
    assert first.startswith(b"%PDF")
    assert render(year.book, "annual-report", "pdf", year=2026) == first


def test_no_rule_configured_flags_nothing(year):
    """A trust without a spending policy: the figures and "no rule is configured", never MISSED or met."""
    text = " ".join(pdf_text(render(year.book, "annual-report", "pdf", year=2026)).split())
    assert "支出规则 Spending rule 未配置 none configured" in text and "No spending rule is configured" in text
    assert "未配置规则 no rule configured" in text
    assert "未达标 MISSED" not in text and "THRESHOLD MISSED" not in text and "达标 met" not in text


def test_a_missed_ratio_is_flagged_against_the_trusts_own_rule(year):
    """Management 300 of 6,420 expenses is 4.67%: met under a deed cap of 10%, missed under one of 1%."""
    spending_policy_set(trust=year.trust, preset="charity_trust_deed", floor="0.00", cap="0.10",
                        deed_reference="信托合同第十二条", user=system_user())
    text = pdf_text(render(year.book, "annual-report", "pdf", year=2026))
    assert "慈善信托（按信托文件） Charity trust (per its trust deed)" in text and "信托合同第十二条" in text
    assert "未达标 MISSED" not in text and "达标 met" in text
    spending_policy_set(trust=year.trust, preset="charity_trust_deed", floor="0.00", cap="0.01",
                        deed_reference="信托合同第十二条", user=system_user())
    text = pdf_text(render(year.book, "annual-report", "pdf", year=2026))
    assert "未达标 MISSED" in text and "THRESHOLD MISSED" in text


def test_pdf_only(year, tmp_path):
    with pytest.raises(ReportUsageError, match="not available as csv"):
        render(year.book, "annual-report", "csv", year=2026)
    with pytest.raises(CommandError) as info:
        call_command("report", "annual-report", "--year", "2026", stdout=io.StringIO())
    assert info.value.returncode == 2
    out = tmp_path / "annual.pdf"
    call_command("report", "annual-report", "--year", "2026", "--format", "pdf", "--out", str(out))
    assert out.read_bytes() == render(year.book, "annual-report", "pdf", year=2026)
