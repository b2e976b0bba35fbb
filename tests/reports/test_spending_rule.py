"""The spending rule as a policy of each trust (charity.spending): each preset's base, floor, cap and result on a
small book worked by hand, the exclusions of endowment principal and in-kind gifts, a tier boundary, a trust
with no rule (nothing flagged), the annual report's text, the service's checks and who may set the rule.

The book (accounts by chart constant, never by code):

2025  GEN    gift                      BANK / DONATION_UNRESTRICTED     8,000.00
      ENDOW  endowment gift            BANK / DONATION_ENDOWMENT       50,000.00   (endowment principal)
      SMILE  donated goods, still held INVENTORY_DONATED / IN_KIND_RESTRICTED  2,000.00   (in kind)
      SMILE  gift                      BANK / DONATION_RESTRICTED      10,000.00
      GEN    office costs              MANAGEMENT / BANK                  500.00
      -> income 2025 = 70,000.00; net assets at 2025-12-31 = 70,000.00 - 500.00 = 69,500.00
2026  SMILE  Smile Packs               PROGRAM_SMILE / BANK             9,000.00
      GEN    general program           PROGRAM_GENERAL / BANK           3,000.00
      GEN    office costs              MANAGEMENT / BANK                1,200.00
      GEN    bank fees                 BANK_FEES / BANK                   300.00
      -> charitable-activity spending 12,000.00; management 1,200.00; total expenses 13,500.00;
         management / total = 1,200 / 13,500 = 0.08888... -> 0.0889

charity_trust_deed (floor 0.60 of the previous year's income, cap 0.10; endowment and in-kind not counted):
    base = 70,000 - 50,000 - 2,000 = 18,000.00; 12,000 / 18,000 = 0.6667 >= 0.60 ok; 0.0889 <= 0.10 ok.
    (The old fixed test read 12,000 / 70,000 = 0.1714 and printed MISSED.)
foundation_public (0.70 of the previous year's income; endowment not counted, in-kind counted):
    base = 70,000 - 50,000 = 20,000.00; 12,000 / 20,000 = 0.6000 < 0.70 missed; 0.0889 <= 0.10 ok.
    three-year average (2023, 2024, 2025): (0 + 0 + 20,000) / 3 = 6,666.67; 12,000 / 6,666.67 = 1.8000 ok.
foundation_private (previous year-end net assets; endowment not counted, goods held counted):
    base = 69,500 - 50,000 = 19,500.00 -> below 4 million: floor 0.08, cap 0.20;
    12,000 / 19,500 = 0.6154 ok; management 1,200 < 200,000: not held to the cap ("exempt").
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied

from charity import chart, roles, spending
from charity.errors import TrustError
from charity.models import SpendingPolicy
from charity.reports import REPORTS, resolve_params
from charity.reports.cache import render_cached
from charity.services import spending_policy_set
from ledger.services import system_user
from tests.conftest import grant

from .aidconf import pdf_text
from .conftest import make_books

D = dt.date
DEED = {"preset": spending.CHARITY_TRUST_DEED, "floor": "0.60", "cap": "0.10",
        "deed_reference": "信托合同第十二条 慈善支出与管理费用"}


def small_book(books):
    b = books
    b.move(D(2025, 1, 10), "gift", chart.BANK, chart.DONATION_UNRESTRICTED, "GEN", "8000")
    b.move(D(2025, 2, 1), "endowment gift", chart.BANK, chart.DONATION_ENDOWMENT, "ENDOW", "50000")
    b.move(D(2025, 3, 1), "donated goods", chart.INVENTORY_DONATED, chart.IN_KIND_RESTRICTED, "SMILE", "2000")
    b.move(D(2025, 4, 1), "gift", chart.BANK, chart.DONATION_RESTRICTED, "SMILE", "10000")
    b.move(D(2025, 6, 1), "office", chart.MANAGEMENT, chart.BANK, "GEN", "500")
    b.move(D(2026, 3, 1), "Smile Packs", chart.PROGRAM_SMILE, chart.BANK, "SMILE", "9000")
    b.move(D(2026, 4, 1), "general program", chart.PROGRAM_GENERAL, chart.BANK, "GEN", "3000")
    b.move(D(2026, 5, 1), "office", chart.MANAGEMENT, chart.BANK, "GEN", "1200")
    b.move(D(2026, 6, 1), "bank fees", chart.BANK_FEES, chart.BANK, "GEN", "300")
    return b


@pytest.fixture
def book(books):
    return small_book(books)


def ratios(b, **options) -> dict:
    doc = b.json("activities", **(options or {"year": 2026}))
    return {s["key"]: s for s in doc["summary"]}, doc["notes"]


def figures(item):
    return item["numerator"], item["denominator"], item["value"], item["threshold"], item["status"]


def test_no_rule_configured_shows_the_figures_and_flags_nothing(book):
    """Without a policy: program spending against the previous year's whole income (nothing left out), no
    threshold, status no_rule, and a note saying so; never THRESHOLD MISSED."""
    items, notes = ratios(book)
    program, management = items["program_spending_to_prior_year_income"], items["management_to_total_expenses"]
    assert figures(program) == ("12000.00", "70000.00", "0.1714", "", "no_rule")
    assert figures(management) == ("1200.00", "13500.00", "0.0889", "", "no_rule")
    assert program["policy"] == management["policy"] == "none"
    assert any("No spending rule is configured" in n for n in notes)
    assert not any("MISSED" in n for n in notes)


def test_charity_trust_deed_leaves_out_endowment_principal_and_in_kind(book):
    spending_policy_set(trust=book.trust, **DEED, user=system_user())
    items, notes = ratios(book)
    program, management = items["program_spending_to_prior_year_income"], items["management_to_total_expenses"]
    assert figures(program) == ("12000.00", "18000.00", "0.6667", ">= 0.60", "ok")
    assert figures(management) == ("1200.00", "13500.00", "0.0889", "<= 0.10", "ok")
    assert (program["policy"], program["base"]) == ("charity_trust_deed", "prior_year_income")
    text = "\n".join(notes)
    assert "慈善信托（按信托文件） Charity trust (per its trust deed)" in text
    assert "信托合同第十二条 慈善支出与管理费用" in text
    assert "70,000.00 − 留本基金本金 endowment principal 50,000.00 − 实物捐赠 in-kind gifts 2,000.00 = 18,000.00" in text
    assert "MISSED" not in text


def test_foundation_public_counts_in_kind_and_flags_a_miss(book):
    # empty fields (as the admin sends them) take the preset's own floor and cap
    spending_policy_set(trust=book.trust, preset=spending.FOUNDATION_PUBLIC, floor="", cap=None, user=system_user())
    items, notes = ratios(book)
    assert figures(items["program_spending_to_prior_year_income"]) == ("12000.00", "20000.00", "0.6000", ">= 0.70",
                                                                      "missed")
    assert figures(items["management_to_total_expenses"]) == ("1200.00", "13500.00", "0.0889", "<= 0.10", "ok")
    assert any(n.startswith("未达标 THRESHOLD MISSED: 慈善活动支出") and "60.00%" in n for n in notes)
    assert any("第六条" in n for n in notes)


def test_foundation_public_three_year_average(book):
    spending_policy_set(trust=book.trust, preset=spending.FOUNDATION_PUBLIC, base=spending.INCOME_3YR_AVERAGE,
                        user=system_user())
    items, notes = ratios(book)
    assert figures(items["program_spending_to_prior_year_income"]) == ("12000.00", "6666.67", "1.8000", ">= 0.70",
                                                                      "ok")
    assert any("2023 0.00; 2024 0.00; 2025 20,000.00" in n for n in notes)


def test_foundation_private_tier_and_exemption(book):
    spending_policy_set(trust=book.trust, preset=spending.FOUNDATION_PRIVATE, user=system_user())
    items, notes = ratios(book)
    assert figures(items["program_spending_to_prior_year_income"]) == ("12000.00", "19500.00", "0.6154", ">= 0.08",
                                                                      "ok")
    assert figures(items["management_to_total_expenses"]) == ("1200.00", "13500.00", "0.0889", "<= 0.20", "exempt")
    assert (items["program_spending_to_prior_year_income"]["base"]) == "prior_net_assets"
    text = "\n".join(notes)
    assert "69,500.00 − 留本基金本金 endowment principal 50,000.00 = 19,500.00" in text
    assert "不受管理费用比例限制" in text


def test_foundation_private_at_a_tier_boundary(db, officer):
    """Net assets at 2025-12-31 of exactly 8,000,000.00 belong to the 8-60 million tier (含本数): floor 0.06,
    cap 0.13. 2026: program 470,000 / 8,000,000 = 0.05875 -> 0.0588 < 0.06 missed; management 250,000 (not
    below 200,000, so held to the cap) / 720,000 = 0.3472 > 0.13 missed. One fen of 2025 bank fees later the
    net assets are 7,999,999.99: the 4-8 million tier, floor 0.07, cap 0.15 (470,000 / 7,999,999.99 = 0.0588)."""
    b = make_books(officer, code="T8")
    b.move(D(2025, 5, 1), "gift", chart.BANK, chart.DONATION_UNRESTRICTED, "GEN", "8000000")
    b.move(D(2026, 2, 1), "program", chart.PROGRAM_GENERAL, chart.BANK, "GEN", "470000")
    b.move(D(2026, 3, 1), "office", chart.MANAGEMENT, chart.BANK, "GEN", "250000")
    spending_policy_set(trust=b.trust, preset=spending.FOUNDATION_PRIVATE, user=system_user())
    items, _notes = ratios(b)
    assert figures(items["program_spending_to_prior_year_income"]) == ("470000.00", "8000000.00", "0.0588",
                                                                      ">= 0.06", "missed")
    assert figures(items["management_to_total_expenses"]) == ("250000.00", "720000.00", "0.3472", "<= 0.13",
                                                             "missed")
    b.move(D(2025, 12, 31), "fee", chart.BANK_FEES, chart.BANK, "GEN", "0.01")
    items, _notes = ratios(b)
    assert items["program_spending_to_prior_year_income"]["denominator"] == "7999999.99"
    assert items["program_spending_to_prior_year_income"]["threshold"] == ">= 0.07"
    assert items["management_to_total_expenses"]["threshold"] == "<= 0.15"


@pytest.mark.parametrize("net_assets, floor, cap", [
    ("60000000.00", "0.06", "0.12"), ("59999999.99", "0.06", "0.13"), ("8000000.00", "0.06", "0.13"),
    ("7999999.99", "0.07", "0.15"), ("4000000.00", "0.07", "0.15"), ("3999999.99", "0.08", "0.20"),
    ("0.00", "0.08", "0.20"), ("-5.00", "0.08", "0.20"),
])
def test_tiers_include_their_lower_bound(net_assets, floor, cap):
    _bound, got_floor, got_cap = spending.tier_for(Decimal(net_assets))
    assert (got_floor, got_cap) == (Decimal(floor), Decimal(cap))


def test_annual_report_names_the_policy_and_its_base(book):
    spending_policy_set(trust=book.trust, preset=spending.FOUNDATION_PRIVATE, user=system_user())
    text = " ".join(pdf_text(book.report("annual-report", "pdf", year=2026)).split())
    assert "支出规则 Spending rule 不具有公开募捐资格的基金会（分档） Foundation without public-fundraising status" in text
    assert "19,500.00" in text and "第八条" in text and "不受比例限制 exempt" in text
    assert "未达标 MISSED" not in text


def test_removing_the_policy_goes_back_to_no_rule(book):
    spending_policy_set(trust=book.trust, preset=spending.FOUNDATION_PUBLIC, user=system_user())
    assert spending_policy_set(trust=book.trust, preset=None, user=system_user()) is None
    assert not SpendingPolicy.objects.filter(trust=book.trust).exists()
    items, _notes = ratios(book)
    assert items["program_spending_to_prior_year_income"]["status"] == "no_rule"


def test_a_cached_report_follows_a_change_of_policy(book):
    """The policy changes without an entry: the cache key carries it, so no stale rendering is served."""
    cls = REPORTS["activities"]
    params = resolve_params(cls, book.book, year=2026)
    before, _ = render_cached(book=book.book, report=cls, params=params, fmt="json")
    spending_policy_set(trust=book.trust, preset=spending.FOUNDATION_PUBLIC, user=system_user())
    after, _ = render_cached(book=book.book, report=cls, params=params, fmt="json")
    assert b'"no_rule"' in before and b'"missed"' in after


@pytest.mark.parametrize("kwargs, field", [
    ({"preset": "public_charity"}, "preset"),
    ({"preset": spending.CHARITY_TRUST_DEED, "cap": "0.10", "deed_reference": "x"}, "floor"),
    ({"preset": spending.CHARITY_TRUST_DEED, "floor": "0.70", "deed_reference": "x"}, "cap"),
    ({"preset": spending.CHARITY_TRUST_DEED, "floor": "0.70", "cap": "0.10"}, "deed_reference"),
    ({"preset": spending.CHARITY_TRUST_DEED, "floor": "1.5", "cap": "0.10", "deed_reference": "x"}, "floor"),
    ({"preset": spending.CHARITY_TRUST_DEED, "floor": 0.7, "cap": "0.10", "deed_reference": "x"}, "floor"),
    ({"preset": spending.CHARITY_TRUST_DEED, "floor": "70%", "cap": "0.10", "deed_reference": "x"}, "floor"),
    ({"preset": spending.CHARITY_TRUST_DEED, "floor": "0.70", "cap": "-0.1", "deed_reference": "x"}, "cap"),
    ({"preset": spending.FOUNDATION_PUBLIC, "base": spending.PRIOR_NET_ASSETS}, "base"),
    ({"preset": spending.FOUNDATION_PUBLIC, "floor": "0.50"}, "floor"),
    ({"preset": spending.FOUNDATION_PUBLIC, "cap": "0.30"}, "cap"),
    ({"preset": spending.FOUNDATION_PRIVATE, "floor": "0.05"}, "floor"),
    ({"preset": spending.FOUNDATION_PRIVATE, "management_exempt_below": "abc"}, "management_exempt_below"),
])
def test_bad_settings_are_refused_naming_the_field(book, kwargs, field):
    with pytest.raises(TrustError) as info:
        spending_policy_set(trust=book.trust, user=system_user(), **kwargs)
    assert info.value.field == field
    assert not SpendingPolicy.objects.filter(trust=book.trust).exists()


@pytest.mark.parametrize("role, where", [
    (roles.OFFICER, "own"), (roles.APPROVER, "own"), (roles.AUDITOR, "own"), (roles.APPROVER, "other"),
    (roles.OFFICER, "other"),
])
def test_only_an_administrator_sets_the_rule(book, officer, role, where):
    other = make_books(officer, code="T2", name="乙信托")
    user = grant(get_user_model().objects.create_user(f"u-{role}-{where}"), role,
                 book.trust if where == "own" else other.trust)
    with pytest.raises(PermissionDenied):
        spending_policy_set(trust=book.trust, **DEED, user=user)
    assert not SpendingPolicy.objects.filter(trust=book.trust).exists()
    admin = grant(get_user_model().objects.create_user("boss"), roles.ADMINISTRATOR)
    policy = spending_policy_set(trust=book.trust, **DEED, user=admin)
    assert (policy.preset, policy.floor, policy.cap, policy.updated_by) == (
        "charity_trust_deed", Decimal("0.6000"), Decimal("0.1000"), admin)
