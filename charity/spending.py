"""The spending rule (年度慈善活动支出和管理费用) as a policy of each trust: the presets and what each one states.

A trust holds at most one ``SpendingPolicy`` (charity.models.spending). Without one, reports show the figures and say
that no rule is configured; they never flag anything. With one, the annual report and the ``activities`` summary
state the preset, its source in the rules, its base with the figures, the floor and the cap, and the result.

The presets and what they rest on (the rule text as far as it could be checked; docs/formats.md lists what could
not be confirmed, and every such point is a field of the policy, not a fixed claim):

* ``charity_trust_deed`` 慈善信托（按信托文件）: the Charity Law leaves a charity trust's annual spending and
  management costs to its trust deed and to the standard the civil-affairs and financial regulators set for
  charity trusts; the floor, its base and the cap are the deed's, entered on the policy with the deed reference.
* ``foundation_public`` 具有公开募捐资格的基金会: charitable-activity spending >= 70% of the previous year's total
  income (or of the average of the previous three years' income); management expenses <= 10% of the year's total
  expenditure (《慈善法》; 《慈善组织开展慈善活动年度支出和管理费用的规定》 2016, 第六条、第十条).
* ``foundation_private`` 不具有公开募捐资格的基金会 (and other charitable organisations so configured): tiered on
  the previous year-end net assets (or the three-year average, 第十条): >= 60 million 6% / 12%, 8-60 million
  6% / 13%, 4-8 million 7% / 15%, below 4 million 8% / 20%; each tier's lower bound belongs to it (含本数). A
  year's management expenses below 200,000 yuan are not held to the cap (第十一条).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

CHARITY_TRUST_DEED = "charity_trust_deed"
FOUNDATION_PUBLIC = "foundation_public"
FOUNDATION_PRIVATE = "foundation_private"

# Bases of the floor.
PRIOR_YEAR_INCOME = "prior_year_income"
INCOME_3YR_AVERAGE = "income_3yr_average"
PRIOR_NET_ASSETS = "prior_net_assets"
NET_ASSETS_3YR_AVERAGE = "net_assets_3yr_average"
CURRENT_YEAR_INCOME = "current_year_income"

BASES = {
    PRIOR_YEAR_INCOME: ("上年总收入", "previous year's total income"),
    INCOME_3YR_AVERAGE: ("前三年收入平均数", "average income of the previous three years"),
    PRIOR_NET_ASSETS: ("上年末净资产（信托财产）", "previous year-end net assets (trust property)"),
    NET_ASSETS_3YR_AVERAGE: ("前三年年末净资产平均数", "average of the previous three year-end net assets"),
    CURRENT_YEAR_INCOME: ("本年总收入", "the year's total income"),
}
INCOME_BASES = (PRIOR_YEAR_INCOME, INCOME_3YR_AVERAGE, CURRENT_YEAR_INCOME)
NET_ASSET_BASES = (PRIOR_NET_ASSETS, NET_ASSETS_3YR_AVERAGE)

# foundation_private: (lower bound of previous year-end net assets in yuan, inclusive; floor; management cap)
PRIVATE_TIERS = (
    (Decimal("60000000"), Decimal("0.06"), Decimal("0.12")),
    (Decimal("8000000"), Decimal("0.06"), Decimal("0.13")),
    (Decimal("4000000"), Decimal("0.07"), Decimal("0.15")),
    (Decimal("0"), Decimal("0.08"), Decimal("0.20")),
)

RULES_2016 = "《慈善组织开展慈善活动年度支出和管理费用的规定》（民政部 财政部 国家税务总局，2016）"


@dataclass(frozen=True)
class Preset:
    code: str
    name: str
    name_en: str
    source: str
    bases: tuple[str, ...]  # the bases the rule allows, the default first
    floor: Decimal | None  # None: set on the policy (the deed's) or by tier
    cap: Decimal | None
    tiered: bool
    count_endowment_principal: bool  # defaults; fields of the policy
    count_in_kind: bool
    management_exempt_below: Decimal | None


PRESETS = {
    CHARITY_TRUST_DEED: Preset(
        CHARITY_TRUST_DEED, "慈善信托（按信托文件）", "Charity trust (per its trust deed)",
        "《中华人民共和国慈善法》慈善信托一章及民政部门、金融监管部门的规定；支出下限、其基数和管理费用上限按信托文件 "
        "Charity Law (charity trusts) and the regulators' rules; floor, base and cap as the trust deed sets them",
        (PRIOR_YEAR_INCOME, PRIOR_NET_ASSETS, INCOME_3YR_AVERAGE, NET_ASSETS_3YR_AVERAGE, CURRENT_YEAR_INCOME),
        None, None, False, False, False, None,
    ),
    FOUNDATION_PUBLIC: Preset(
        FOUNDATION_PUBLIC, "具有公开募捐资格的基金会", "Foundation with public-fundraising status",
        f"《中华人民共和国慈善法》; {RULES_2016} 第六条、第十条",
        (PRIOR_YEAR_INCOME, INCOME_3YR_AVERAGE),
        Decimal("0.70"), Decimal("0.10"), False, False, True, None,
    ),
    FOUNDATION_PRIVATE: Preset(
        FOUNDATION_PRIVATE, "不具有公开募捐资格的基金会（分档）",
        "Foundation without public-fundraising status (tiered)",
        f"{RULES_2016} 第八条、第十条、第十一条",
        (PRIOR_NET_ASSETS, NET_ASSETS_3YR_AVERAGE),
        None, None, True, False, True, Decimal("200000.00"),
    ),
}


def tier_for(net_assets: Decimal) -> tuple[Decimal, Decimal, Decimal]:
    """The foundation_private tier (lower bound, floor, cap) of a base in yuan; each lower bound is inclusive."""
    for bound, floor, cap in PRIVATE_TIERS:
        if net_assets >= bound:
            return bound, floor, cap
    return PRIVATE_TIERS[-1]
