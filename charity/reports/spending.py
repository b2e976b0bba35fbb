"""The spending rule applied to a period: the trust's policy (charity.spending, ``SpendingPolicy``), its base with
the figures, the floor and the cap, and the result. Used by ``activities`` (its summary and notes) and by the
annual report (its section 四、支出比例).

Figures (fen), read with ``ledger.selectors.movements`` like the statements:

* charitable-activity spending: the period's expenses on accounts that serve a program (``expense_program`` of
  the activities statement), goods handed out included (第四条: 款物);
* management expenses: ``expense_management`` of the activities statement; total expenditure: every expense;
* income bases: credits less debits on income accounts over the base year(s); endowment principal is income on
  accounts whose restriction is ``endowment`` (捐赠收入—留本基金), in-kind gifts income on the in-kind accounts;
* net-asset bases: net assets at the base year-end(s); endowment principal is the endowment gifts and the
  amounts posted straight to net assets in endowment funds, cumulated to that date; in-kind gifts are the
  donated goods still held (the balance of the donated-goods inventory account);
* three-year averages divide the sum of the three years by 3, rounded half-even to the fen.

Without a policy the figures are shown against the previous year's total income, nothing excluded, with status
``no_rule``: nothing is flagged.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

from charity import chart, spending
from ledger import selectors
from ledger.models import NET_ASSET_TYPES, Account, AccountType, Fund, Restriction

from .base import Ratio, amount

NO_RULE = "no_rule"
OK, MISSED, NOT_APPLICABLE, EXEMPT = "ok", "missed", "n/a", "exempt"
IN_KIND_CODES = (chart.IN_KIND_UNRESTRICTED, chart.IN_KIND_RESTRICTED)


def policy_of(book):
    from charity.models import SpendingPolicy

    return SpendingPolicy.objects.filter(trust__book_id=book.pk).first()


def policy_state(book) -> str:
    """The policy as the report cache's key sees it (one query)."""
    policy = policy_of(book)
    return "no_rule" if policy is None else policy.state()


def _ratio(numerator: int, denominator: int) -> Ratio:
    return Ratio(None if denominator <= 0 else Decimal(numerator) / Decimal(denominator))


def _yuan(fen: int) -> str:
    return f"{amount(fen):,.2f}"


def _ratio_pct(value: Ratio) -> str:
    return "n/a" if value.value is None else f"{value.value * 100:.2f}%"


def _threshold(value: Decimal) -> str:
    """0.1000 -> "0.10", 0.0650 -> "0.065": two places at least, no trailing zeros beyond them."""
    two = value.quantize(Decimal("0.01"))
    return f"{two}" if two == value else f"{value.normalize():f}"


def _pct(value: Decimal | None) -> str:
    return "—" if value is None else f"{(value * 100).normalize():f}%"


@dataclass
class BasePart:
    """One year (or period) of the base: gross, what the policy leaves out, and the rest."""

    label: str
    gross: int
    endowment: int
    in_kind: int
    base: int


@dataclass
class Evaluation:
    policy: object  # SpendingPolicy or None
    base_code: str
    parts: list[BasePart]
    gross: int
    less_endowment: int
    less_in_kind: int
    base: int
    program: int
    management: int
    expenses: int
    floor: Decimal | None = None
    cap: Decimal | None = None
    tier: tuple | None = None
    exempt: bool = False
    spending_ratio: Ratio = field(default_factory=lambda: Ratio(None))
    management_ratio: Ratio = field(default_factory=lambda: Ratio(None))
    spending_status: str = NO_RULE
    management_status: str = NO_RULE

    @property
    def preset(self) -> spending.Preset | None:
        return None if self.policy is None else self.policy.definition

    @property
    def preset_code(self) -> str:
        return "none" if self.policy is None else self.policy.preset

    @property
    def base_label(self) -> tuple[str, str]:
        zh, en = spending.BASES[self.base_code]
        years = ", ".join(p.label for p in self.parts)
        return f"{zh}（{years}）", f"{en} ({years})"


class _Book:
    def __init__(self, book, accounts=None, funds=None):
        self.book = book
        self.accounts = accounts if accounts is not None else {a.pk: a for a in Account.objects.filter(book=book)}
        if funds is not None:
            self.endowment_funds = {pk for pk, f in funds.items() if f.restriction == Restriction.ENDOWMENT}
        else:
            self.endowment_funds = set(Fund.objects.filter(book=book, restriction=Restriction.ENDOWMENT)
                                       .values_list("pk", flat=True))

    def ids(self, *types) -> list[int]:
        return sorted(pk for pk, a in self.accounts.items() if a.type in types)

    def income(self, since: dt.date, until: dt.date, label: str) -> BasePart:
        totals = selectors.movements(self.book.pk, since=since, as_of=until, account_ids=self.ids(AccountType.INCOME),
                                     group=("account_id",))
        gross = endowment = in_kind = 0
        for (account_id,), (debit, credit) in totals.items():
            account, value = self.accounts[account_id], credit - debit
            gross += value
            if account.restriction == Restriction.ENDOWMENT:
                endowment += value
            elif account.code in IN_KIND_CODES:
                in_kind += value
        return BasePart(label, gross, endowment, in_kind, 0)

    def net_assets(self, as_of: dt.date, label: str) -> BasePart:
        donated = [pk for pk, a in self.accounts.items() if a.code == chart.INVENTORY_DONATED]
        totals = selectors.movements(self.book.pk, as_of=as_of, account_ids=self.ids(*NET_ASSET_TYPES) + donated,
                                     group=("account_id", "fund_id"))
        gross = endowment = in_kind = 0
        for (account_id, fund_id), (debit, credit) in totals.items():
            account = self.accounts[account_id]
            if account.code == chart.INVENTORY_DONATED:
                in_kind += debit - credit
                continue
            gross += credit - debit
            if (account.type == AccountType.INCOME and account.restriction == Restriction.ENDOWMENT) or (
                    account.type == AccountType.NET_ASSETS and fund_id in self.endowment_funds):
                endowment += credit - debit
        return BasePart(label, gross, endowment, in_kind, 0)

    def expenses(self, since: dt.date, until: dt.date, period=None) -> tuple[int, int, int]:
        """Program, management and total expenses of the period; ``period``: the caller's own movements of it
        grouped by (account, fund), read again otherwise."""
        from .statements import expense_function

        if period is None:
            period = selectors.movements(self.book.pk, since=since, as_of=until,
                                         account_ids=self.ids(AccountType.EXPENSE), group=("account_id",))
        program = management = total = 0
        for key, (debit, credit) in period.items():
            account_id = key[0]
            if self.accounts[account_id].type != AccountType.EXPENSE:
                continue
            value = debit - credit
            total += value
            function = expense_function(self.accounts[account_id])
            if function == "expense_program":
                program += value
            elif function == "expense_management":
                management += value
        return program, management, total


def _average(values: list[int]) -> int:
    return int((Decimal(sum(values)) / len(values)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)) if values else 0


def evaluate(book, date_from: dt.date, date_to: dt.date, *, accounts=None, funds=None, period=None) -> Evaluation:
    """The trust's spending rule applied to the period (meaningful for a whole year). A statement that has
    already read the book's accounts and funds (by id) and the period's movements by (account, fund) passes them
    (``activities``), so they are not read twice."""
    policy = policy_of(book)
    data = _Book(book, accounts, funds)
    program, management, expenses = data.expenses(date_from, date_to, period)
    year = date_from.year
    base_code = spending.PRIOR_YEAR_INCOME if policy is None else policy.base
    if base_code == spending.CURRENT_YEAR_INCOME:
        parts = [data.income(date_from, date_to, f"{date_from.isoformat()}–{date_to.isoformat()}")]
    elif base_code in spending.INCOME_BASES:
        years = [year - 1] if base_code == spending.PRIOR_YEAR_INCOME else [year - 3, year - 2, year - 1]
        parts = [data.income(dt.date(y, 1, 1), dt.date(y, 12, 31), str(y)) for y in years]
    else:
        years = [year - 1] if base_code == spending.PRIOR_NET_ASSETS else [year - 3, year - 2, year - 1]
        parts = [data.net_assets(dt.date(y, 12, 31), f"{y}-12-31") for y in years]
    count_endowment = policy is None or policy.count_endowment_principal
    count_in_kind = policy is None or policy.count_in_kind
    for part in parts:
        part.base = part.gross - (0 if count_endowment else part.endowment) - (0 if count_in_kind else part.in_kind)
    ev = Evaluation(
        policy=policy, base_code=base_code, parts=parts,
        gross=_average([p.gross for p in parts]),
        less_endowment=0 if count_endowment else _average([p.endowment for p in parts]),
        less_in_kind=0 if count_in_kind else _average([p.in_kind for p in parts]),
        base=_average([p.base for p in parts]),
        program=program, management=management, expenses=expenses,
    )
    ev.spending_ratio = _ratio(program, ev.base)
    ev.management_ratio = _ratio(management, expenses)
    if policy is None:
        return ev
    if policy.definition.tiered:
        ev.tier = spending.tier_for(amount(ev.base))
        ev.floor, ev.cap = ev.tier[1], ev.tier[2]
    else:
        ev.floor, ev.cap = policy.floor, policy.cap
    exempt_below = policy.management_exempt_below
    ev.exempt = exempt_below is not None and amount(management) < exempt_below

    def judge(value: Ratio, *, minimum=None, maximum=None) -> str:
        if value.value is None:
            return NOT_APPLICABLE
        if minimum is not None and value.value < minimum:
            return MISSED
        if maximum is not None and value.value > maximum:
            return MISSED
        return OK

    ev.spending_status = judge(ev.spending_ratio, minimum=ev.floor) if ev.floor is not None else NOT_APPLICABLE
    if ev.cap is None:
        ev.management_status = NOT_APPLICABLE
    elif ev.exempt:
        ev.management_status = EXEMPT
    else:
        ev.management_status = judge(ev.management_ratio, maximum=ev.cap)
    return ev


def summary(ev: Evaluation) -> list[dict]:
    """The two ratios as summary items (the keys of the ``activities`` JSON since its first version, extended
    with ``policy`` and ``base``)."""
    base_zh, base_en = ev.base_label
    return [
        {
            "key": "program_spending_to_prior_year_income",
            "label": f"慈善活动支出 / {base_zh} Charitable-activity spending / {base_en}",
            "numerator": amount(ev.program), "denominator": amount(ev.base), "value": ev.spending_ratio,
            "threshold": "" if ev.floor is None else f">= {_threshold(ev.floor)}", "status": ev.spending_status,
            "policy": ev.preset_code, "base": ev.base_code,
        },
        {
            "key": "management_to_total_expenses",
            "label": "管理费用 / 费用合计 Management expenses / total expenses",
            "numerator": amount(ev.management), "denominator": amount(ev.expenses), "value": ev.management_ratio,
            "threshold": "" if ev.cap is None else f"<= {_threshold(ev.cap)}", "status": ev.management_status,
            "policy": ev.preset_code, "base": "total_expenses",
        },
    ]


def explanation(ev: Evaluation) -> list[str]:
    """What the report states about the rule: which policy, its source, the base with its figures, the floor and
    the cap (the annual report's section and the ``activities`` notes)."""
    base_zh, base_en = ev.base_label
    figures = f"{_yuan(ev.gross)}"
    if ev.less_endowment:
        figures += f" − 留本基金本金 endowment principal {_yuan(ev.less_endowment)}"
    if ev.less_in_kind:
        figures += f" − 实物捐赠 in-kind gifts {_yuan(ev.less_in_kind)}"
    if ev.less_endowment or ev.less_in_kind:
        figures += f" = {_yuan(ev.base)}"
    if len(ev.parts) > 1:
        figures += "（三年平均 average of three: " + "; ".join(
            f"{p.label} {_yuan(p.base)}" for p in ev.parts) + "）"
    if ev.policy is None:
        return [
            "未配置支出规则：以下比率仅列示数字，不按任何规则判断是否达标。 No spending rule is configured for this "
            "trust: the ratios below are figures only and nothing is judged against a rule.",
            f"基数 Base: {base_zh} {base_en} = {figures}",
        ]
    policy, preset = ev.policy, ev.preset
    lines = [f"适用的支出规则 Spending rule applied: {preset.name} {preset.name_en}。 依据 Source: {preset.source}"]
    if policy.deed_reference:
        lines.append(f"信托文件条款 Trust deed: {policy.deed_reference}")
    lines.append(f"基数 Base: {base_zh} {base_en} = {figures}")
    lines.append(
        ("留本基金本金计入基数 endowment principal counted in the base" if policy.count_endowment_principal
         else "留本基金本金不计入基数 endowment principal not counted in the base")
        + "；" + ("实物捐赠计入基数 in-kind gifts counted in the base" if policy.count_in_kind
                 else "实物捐赠不计入基数 in-kind gifts not counted in the base") + "。")
    if ev.base <= 0:
        lines.append("基数为零（如信托设立的第一年，尚无上一年度数字）：支出下限不适用。 The base is zero (a trust's first "
                     "year has no previous year): the floor does not apply.")
    if ev.tier is not None:
        bound = ev.tier[0]
        lines.append(f"分档 Tier: 基数不低于 base at least {bound:,.2f}（含本数 inclusive）: 慈善活动支出下限 floor "
                     f"{_pct(ev.floor)}，管理费用上限 cap {_pct(ev.cap)}")
    lines.append(f"慈善活动支出下限 Floor: {_pct(ev.floor)} × {_yuan(ev.base)}；管理费用上限 Cap: {_pct(ev.cap)} "
                 f"× 费用合计 total expenses {_yuan(ev.expenses)}")
    if ev.exempt:
        lines.append(f"管理费用 {_yuan(ev.management)} 低于 below {policy.management_exempt_below:,.2f}：不受管理费用比例限制 "
                     "management expenses are not held to the cap.")
    for item in summary(ev):
        if item["status"] == MISSED:
            lines.append(f"未达标 THRESHOLD MISSED: {item['label']} = {_ratio_pct(item['value'])} ({item['threshold']})")
    return lines
