"""Financial statements: financial position (资产负债表), activities (业务活动表), fund balances
(限定性净资产分项目变动表).

Net assets are classified by the *fund's* restriction, not by the account: every fund is self-balancing, so
a fund's net assets are its income minus its expenses plus what was posted to net asset accounts in it, and
an unrestricted fund's belong to "without donor restrictions" (非限定性净资产) while restricted funds and
endowments belong to "with donor restrictions" (限定性净资产). No closing entry is needed: the current year's
surplus of a fund is part of that fund's net assets the moment it is posted. The closing entries that
``close_year`` posts (``JournalEntry.closing``) move balances between accounts inside each fund, so they change no
fund's net assets, and every movement over a period is read without them: a closed year's statements are those
of the year before it was closed (the release line is computed from what restricted funds spent, never from the
release journalised at closing).

Each statement reads a fixed number of grouped sums from ``ledger.selectors.movements`` (running daily totals
and period checkpoints, never the legs) plus the book's accounts and funds, so its queries do not grow with
the number of entries, accounts or funds.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from charity import chart
from ledger import selectors
from ledger.models import NET_ASSET_TYPES, Account, AccountType, Fund, Leg, Restriction

from . import spending
from .base import AS_OF, RANGE, Column, Ratio, Report, ReportData, Row, amount, register

WITHOUT = "without"
WITH = "with"


def net_asset_class(fund: Fund) -> str:
    return WITHOUT if fund.restriction == Restriction.UNRESTRICTED else WITH


class Snapshot:
    """The book's accounts and funds (one query each) and grouped movements per (account, fund)."""

    def __init__(self, book, fund: Fund | None = None):
        self.book = book
        self.accounts = {a.pk: a for a in Account.objects.filter(book=book)}
        funds = Fund.objects.filter(book=book)
        if fund is not None:
            funds = funds.filter(pk=fund.pk)
        self.funds = {f.pk: f for f in funds}
        self.fund_ids = [fund.pk] if fund is not None else None

    def cumulative(self, as_of: dt.date, account_ids=None) -> dict[tuple[int, int], list[int]]:
        return selectors.movements(
            self.book.pk, as_of=as_of, fund_ids=self.fund_ids, account_ids=account_ids, group=("account_id", "fund_id")
        )

    def between(self, since: dt.date, as_of: dt.date, account_ids=None) -> dict[tuple[int, int], list[int]]:
        """What moved over since..as_of, closing entries left out: a closed year reads as it did before."""
        return selectors.movements(
            self.book.pk, since=since, as_of=as_of, fund_ids=self.fund_ids, account_ids=account_ids,
            group=("account_id", "fund_id"), closing=False,
        )

    def releases(self, since: dt.date, as_of: dt.date) -> dict[tuple[int, int], list[int]]:
        """The net asset legs of management fees charged to restricted funds (``Expense`` entries, source type
        ``expense``, and their reversals) over since..as_of, per (account, fund): a release of the restriction
        (Dr 3102 in the restricted fund, Cr 3101 in the unrestricted one) that the statements show as released
        and as spent by the restricted fund, not as a change posted directly to net assets. One grouped query."""
        from django.db.models import Q, Sum

        legs = Leg.objects.filter(
            Q(entry__source_type="expense") | Q(entry__reverses__source_type="expense"),
            entry__book_id=self.book.pk, entry__closing=False, date__gte=since, date__lte=as_of,
            account__type=AccountType.NET_ASSETS)
        if self.fund_ids is not None:
            legs = legs.filter(fund_id__in=self.fund_ids)
        return {(row["account_id"], row["fund_id"]): [int(row["d"] or 0), int(row["c"] or 0)]
                for row in legs.values("account_id", "fund_id").annotate(d=Sum("debit_cny"), c=Sum("credit_cny"))
                .order_by()}

    def ids_of(self, *types) -> list[int]:
        return sorted(pk for pk, a in self.accounts.items() if a.type in types)

    def net_assets_by_fund(self, totals) -> dict[int, int]:
        """Credit-normal net assets (fen) per fund: income - expenses + net asset accounts."""
        result: dict[int, int] = defaultdict(int)
        for (account_id, fund_id), (debit, credit) in totals.items():
            if self.accounts[account_id].type in NET_ASSET_TYPES:
                result[fund_id] += credit - debit
        return result

    def by_class(self, per_fund: dict[int, int]) -> dict[str, int]:
        result = {WITHOUT: 0, WITH: 0}
        for fund_id, value in per_fund.items():
            result[net_asset_class(self.funds[fund_id])] += value
        return result


def _name(account: Account) -> tuple[str, str]:
    return account.name, account.name_en


# ------------------------------------------------------------------------------------------ financial position


@register
class FinancialPosition(Report):
    name = "financial-position"
    title = "资产负债表"
    title_en = "Statement of financial position"
    period = AS_OF
    options = frozenset({"fund"})
    cacheable = True  # entries, accounts and funds only (charity.reports.cache)

    COLUMNS = [
        Column("section", "部分", "Section", pdf=False),
        Column("line_type", "行类型", "Line", pdf=False),
        Column("code", "编码", "Code", width=1.6),
        Column("name", "项目", "Item", width=2.6),
        Column("name_en", "Item (English)", "", width=3.0),
        Column("amount", "期末数", "Amount", "amount"),
    ]

    def build(self) -> ReportData:
        as_of = self.params.as_of
        snap = Snapshot(self.book, self.params.fund)
        totals = snap.cumulative(as_of)
        per_account: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for (account_id, _fund_id), (debit, credit) in totals.items():
            per_account[account_id][0] += debit
            per_account[account_id][1] += credit
        rows = []

        def section(kind: str, key: str, zh: str, en: str) -> int:
            total = 0
            for account in sorted(snap.accounts.values(), key=lambda a: a.code):
                if account.type != kind or account.pk not in per_account:
                    continue
                debit, credit = per_account[account.pk]
                if not (debit or credit):
                    continue
                balance = debit - credit if kind == AccountType.ASSET else credit - debit
                total += balance
                rows.append((kind, "account", account.code, *_name(account), amount(balance)))
            rows.append(Row((kind, "subtotal", key, zh, en, amount(total)), "subtotal"))
            return total

        assets = section(AccountType.ASSET, "TOTAL_ASSETS", "资产合计", "Total assets")
        liabilities = section(AccountType.LIABILITY, "TOTAL_LIABILITIES", "负债合计", "Total liabilities")

        per_fund = snap.net_assets_by_fund(totals)
        without = sum(v for f, v in per_fund.items() if snap.funds[f].restriction == Restriction.UNRESTRICTED)
        purpose = sum(v for f, v in per_fund.items() if snap.funds[f].restriction == Restriction.RESTRICTED)
        endowment = sum(v for f, v in per_fund.items() if snap.funds[f].restriction == Restriction.ENDOWMENT)
        net_assets = without + purpose + endowment
        rows += [
            Row(("net_assets", "subtotal", "NET_ASSETS_WITHOUT", "非限定性净资产", "Net assets without donor restrictions",
                 amount(without)), "subtotal"),
            ("net_assets", "detail", "NET_ASSETS_WITH_PURPOSE", "限定性净资产—限定用途",
             "Net assets with donor restrictions – purpose restricted", amount(purpose)),
            ("net_assets", "detail", "NET_ASSETS_WITH_ENDOWMENT", "限定性净资产—留本基金",
             "Net assets with donor restrictions – endowment", amount(endowment)),
            Row(("net_assets", "subtotal", "NET_ASSETS_WITH", "限定性净资产", "Net assets with donor restrictions",
                 amount(purpose + endowment)), "subtotal"),
            Row(("net_assets", "subtotal", "TOTAL_NET_ASSETS", "净资产合计", "Total net assets", amount(net_assets)),
                "subtotal"),
        ]
        totals_rows = [
            Row(("total", "total", "TOTAL_LIABILITIES_AND_NET_ASSETS", "负债和净资产总计",
                 "Total liabilities and net assets", amount(liabilities + net_assets)), "total"),
        ]

        # The current year's surplus, already inside the net assets above, shown by class for the reader.
        year_start = dt.date(as_of.year, 1, 1)
        surplus = snap.by_class(
            snap.net_assets_by_fund(snap.between(year_start, as_of, snap.ids_of(AccountType.INCOME, AccountType.EXPENSE)))
        )
        balanced = assets == liabilities + net_assets
        summary = [
            {"key": "balanced", "label": "资产 = 负债 + 净资产 Assets = liabilities + net assets", "value": balanced},
            {"key": "surplus_current_year_without", "label": f"{as_of.year} 年度盈余（非限定性） Surplus of the year, "
             "without donor restrictions", "value": amount(surplus[WITHOUT])},
            {"key": "surplus_current_year_with", "label": f"{as_of.year} 年度盈余（限定性） Surplus of the year, "
             "with donor restrictions", "value": amount(surplus[WITH])},
        ]
        notes = [
            "净资产按基金的限定类别归类：非限定性基金计入非限定性净资产，限定性基金和留本基金计入限定性净资产；各基金本年收入减费用"
            "已计入该基金的净资产。 Net assets are classed by the fund's restriction (unrestricted funds: without donor "
            "restrictions; restricted funds and endowments: with donor restrictions); each fund's income less "
            "expenses of the year is already part of that fund's net assets.",
        ]
        if self.params.fund is not None:
            notes.append(f"仅基金 {self.params.fund.code} Fund {self.params.fund.code} only (funds are self-balancing).")
        if not balanced:
            notes.append(
                f"不平衡 OUT OF BALANCE: assets {amount(assets)} ≠ liabilities and net assets "
                f"{amount(liabilities + net_assets)}"
            )
        return ReportData(columns=self.COLUMNS, rows=rows, totals=totals_rows, summary=summary, notes=notes)


# ------------------------------------------------------------------------------------------------- activities


def income_source(account: Account) -> str:
    """Donations (4101 捐赠收入, its in-kind 明细 apart), investment income (4601), other income."""
    if account.code in (chart.IN_KIND_UNRESTRICTED, chart.IN_KIND_RESTRICTED):
        return "income_in_kind"
    return {"4101": "income_donations", "4601": "income_investment"}.get(chart.line_code(account.code),
                                                                         "income_other")


def expense_function(account: Account) -> str:
    """Program (an expense account that serves a purpose), management, fundraising, or other."""
    line = chart.line_code(account.code)
    if account.purpose or line == "5101":
        return "expense_program"
    if line == "5201":
        return "expense_management"
    if line == "5301":
        return "expense_fundraising"
    return "expense_other"


EXPENSE_FUNCTIONS = [
    ("expense_program", "PROGRAM_EXPENSES", "业务活动成本合计", "Total program expenses"),
    ("expense_management", "MANAGEMENT_EXPENSES", "管理费用合计", "Total management expenses"),
    ("expense_fundraising", "FUNDRAISING_EXPENSES", "筹资费用合计", "Total fundraising expenses"),
    ("expense_other", "OTHER_EXPENSES", "其他费用合计", "Total other expenses"),
]


def ratio(numerator: int, denominator: int) -> Ratio:
    return Ratio(None if denominator == 0 else Decimal(numerator) / Decimal(denominator))


@register
class Activities(Report):
    name = "activities"
    title = "业务活动表"
    title_en = "Statement of activities"
    period = RANGE
    landscape = True
    cacheable = True  # entries, accounts, funds and the trust's spending policy (cache_state)

    @classmethod
    def cache_state(cls, book, params) -> str:
        return spending.policy_state(book)

    COLUMNS = [
        Column("section", "部分", "Section", pdf=False),
        Column("line_type", "行类型", "Line", pdf=False),
        Column("code", "编码", "Code", width=1.8),
        Column("name", "项目", "Item", width=2.6),
        Column("name_en", "Item (English)", "", width=3.0),
        Column("without_donor_restriction", "非限定性", "Without donor restrictions", "amount"),
        Column("with_donor_restriction", "限定性", "With donor restrictions", "amount"),
        Column("total", "合计", "Total", "amount"),
    ]

    def build(self) -> ReportData:
        p = self.params
        snap = Snapshot(self.book)
        period = snap.between(p.date_from, p.date_to)
        opening = snap.by_class(
            snap.net_assets_by_fund(
                snap.cumulative(p.date_from - dt.timedelta(days=1), snap.ids_of(*NET_ASSET_TYPES))
            )
        )

        # Per account: [without, with] in fen, on the account's natural side for this statement.
        income: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        expense: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        other = [0, 0]
        released = 0
        for (account_id, fund_id), (debit, credit) in period.items():
            account, fund = snap.accounts[account_id], snap.funds[fund_id]
            col = 0 if net_asset_class(fund) == WITHOUT else 1
            if account.type == AccountType.INCOME:
                income[account_id][col] += credit - debit
            elif account.type == AccountType.EXPENSE:
                # All expenses are shown as decreases of net assets without restriction; what restricted
                # funds spent is released from "with" to "without" (民非 / ASU 2016-14).
                expense[account_id][0] += debit - credit
                if col == 1:
                    released += debit - credit
            elif account.type == AccountType.NET_ASSETS:
                other[col] += credit - debit
        # A management fee charged to a restricted fund is released from restriction, not a direct change.
        for (account_id, fund_id), (debit, credit) in snap.releases(p.date_from, p.date_to).items():
            col = 0 if net_asset_class(snap.funds[fund_id]) == WITHOUT else 1
            other[col] -= credit - debit
            if col == 1:
                released += debit - credit

        rows = []

        def line(section, line_type, code, zh, en, without, with_, style=""):
            cells = (section, line_type, code, zh, en, amount(without), amount(with_), amount(without + with_))
            rows.append(Row(cells, style) if style else cells)

        by_code = sorted(snap.accounts.values(), key=lambda a: a.code)
        income_total = [0, 0]
        for account in by_code:
            if account.pk in income:
                w, r = income[account.pk]
                income_total[0] += w
                income_total[1] += r
                line(income_source(account), "account", account.code, *_name(account), w, r)
        line("income", "subtotal", "TOTAL_INCOME", "收入合计", "Total income", *income_total, style="subtotal")
        line("release", "subtotal", "RELEASED_FROM_RESTRICTION", "限定性净资产转为非限定性净资产",
             "Net assets released from restrictions", released, -released, style="subtotal")

        function_totals = {key: 0 for key, *_ in EXPENSE_FUNCTIONS}
        for function, key, zh, en in EXPENSE_FUNCTIONS:
            for account in by_code:
                if account.pk in expense and expense_function(account) == function:
                    value = expense[account.pk][0]
                    function_totals[function] += value
                    line(function, "account", account.code, *_name(account), value, 0)
            line(function, "subtotal", key, zh, en, function_totals[function], 0, style="subtotal")
        expenses = sum(function_totals.values())
        line("expense", "subtotal", "TOTAL_EXPENSES", "费用合计", "Total expenses", expenses, 0, style="subtotal")
        line("other", "subtotal", "OTHER_CHANGES", "直接计入净资产的变动", "Changes posted directly to net assets",
             *other, style="subtotal")
        change = [income_total[0] + released - expenses + other[0], income_total[1] - released + other[1]]
        line("change", "total", "CHANGE_IN_NET_ASSETS", "净资产变动额", "Change in net assets", *change,
             style="total")
        line("opening", "total", "NET_ASSETS_BEGINNING", "期初净资产", "Net assets at beginning of period",
             opening[WITHOUT], opening[WITH], style="total")
        closing_rows = []
        cells = ("closing", "total", "NET_ASSETS_END", "期末净资产", "Net assets at end of period",
                 amount(opening[WITHOUT] + change[0]), amount(opening[WITH] + change[1]),
                 amount(opening[WITHOUT] + opening[WITH] + change[0] + change[1]))
        closing_rows.append(Row(cells, "total"))

        # The spending rule is the trust's own policy (charity.spending); without one nothing is flagged.
        rule = spending.evaluate(self.book, p.date_from, p.date_to, accounts=snap.accounts, funds=snap.funds,
                                 period=period)
        summary = spending.summary(rule)
        notes = [
            "收入按来源（科目）和基金的限定类别分列；费用全部列入非限定性一栏，限定性基金本期的支出同时作为“限定性净资产转为非限定性净资产”列示。"
            " Income by source (account) and by the restriction of the fund it went to; every expense is shown "
            "without donor restrictions and what restricted funds spent is shown as released from restriction.",
            "比率：慈善活动支出为本期业务活动成本（有项目用途的费用科目），对比信托支出规则的基数；管理费用对比本期费用合计。"
            " Ratios: program spending of the period against the base of the trust's spending rule; management "
            "expenses against total expenses. Meaningful for a whole year (--year).",
        ] + spending.explanation(rule)
        return ReportData(columns=self.COLUMNS, rows=rows, totals=closing_rows, summary=summary, notes=notes)


# ---------------------------------------------------------------------------------------------- fund balances


@register
class FundBalances(Report):
    name = "fund-balances"
    title = "限定性净资产分项目变动表"
    title_en = "Changes in net assets by fund"
    period = RANGE
    options = frozenset({"fund"})
    cacheable = True  # entries, accounts and funds only (charity.reports.cache)

    COLUMNS = [
        Column("fund_code", "基金编码", "Fund", width=1.0),
        Column("fund_name", "基金名称", "Name", width=2.6),
        Column("restriction", "限定类别", "Restriction", width=1.1),
        Column("opening", "期初", "Opening", "amount"),
        Column("donations", "本期收入", "Donations", "amount"),
        Column("spent", "本期使用", "Spent", "amount"),
        Column("closing", "期末", "Closing", "amount"),
    ]

    def build(self) -> ReportData:
        p = self.params
        snap = Snapshot(self.book, p.fund)
        na_ids = snap.ids_of(*NET_ASSET_TYPES)
        opening = snap.net_assets_by_fund(snap.cumulative(p.date_from - dt.timedelta(days=1), na_ids))
        received: dict[int, int] = defaultdict(int)
        spent: dict[int, int] = defaultdict(int)
        direct: dict[int, int] = defaultdict(int)
        for (account_id, fund_id), (debit, credit) in snap.between(p.date_from, p.date_to, na_ids).items():
            kind = snap.accounts[account_id].type
            if kind == AccountType.INCOME:
                received[fund_id] += credit - debit  # refunds are debits to income
            elif kind == AccountType.EXPENSE:
                spent[fund_id] += debit - credit  # reversals are credits to expense
            else:
                direct[fund_id] += credit - debit
        # A management fee charged to a restricted fund: spent by that fund (its release, Dr 3102), and not by the
        # unrestricted fund whose management expense the release (Cr 3101) met.
        for (account_id, fund_id), (debit, credit) in snap.releases(p.date_from, p.date_to).items():
            direct[fund_id] -= credit - debit
            spent[fund_id] += debit - credit
        rows = []
        class_totals = {WITHOUT: [0, 0, 0, 0], WITH: [0, 0, 0, 0]}
        moved_directly = []
        for fund in sorted(snap.funds.values(), key=lambda f: f.code):
            d = direct[fund.pk]
            donations = received[fund.pk] + max(d, 0)
            used = spent[fund.pk] + max(-d, 0)
            if d:
                moved_directly.append(f"{fund.code} {amount(d)}")
            start = opening[fund.pk]
            end = start + donations - used
            rows.append((fund.code, fund.name, fund.restriction, amount(start), amount(donations), amount(used),
                         amount(end)))
            for i, v in enumerate((start, donations, used, end)):
                class_totals[net_asset_class(fund)][i] += v
        summary = []
        for key, zh, en, values in (
            ("without_donor_restriction", "非限定性净资产", "Net assets without donor restrictions",
             class_totals[WITHOUT]),
            ("with_donor_restriction", "限定性净资产", "Net assets with donor restrictions", class_totals[WITH]),
            ("total", "合计", "Total", [a + b for a, b in zip(class_totals[WITHOUT], class_totals[WITH])]),
        ):
            summary.append({"key": key, "label": f"{zh} {en}", "opening": amount(values[0]),
                            "donations": amount(values[1]), "spent": amount(values[2]),
                            "closing": amount(values[3])})
        notes = [
            "期初、期末为基金净资产（收入减费用加直接计入净资产的金额）；本期收入已扣除退款，含实物捐赠的公允价值；本期使用为计入该基金的费用（已扣除冲销），"
            "购入库存物资不是使用，发放才是。 Opening and closing are the fund's net assets; donations are income "
            "net of refunds (in-kind gifts at fair value included); spent is expenses charged to the fund net of "
            "reversals (buying stock is not spending, handing it out is); closing = opening + donations - spent.",
            "直接计入净资产科目（3xxx）的金额（如期初余额分录、基金间划转）增加时计入本期收入，减少时计入本期使用，以保持上述等式。"
            " Amounts posted directly to net asset accounts (3xxx: opening balances, transfers between funds) "
            "count as donations when they add to the fund and as spent when they take from it, so that the "
            "identity holds.",
        ]
        if moved_directly:
            notes.append("直接计入净资产 Posted directly to net assets: " + ", ".join(moved_directly))
        return ReportData(columns=self.COLUMNS, rows=rows, summary=summary, notes=notes)
