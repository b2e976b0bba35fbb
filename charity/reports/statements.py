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

from . import lines, spending
from .base import AS_OF, RANGE, Column, Ratio, Report, ReportData, Row, amount, register, resolved

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
        self.accounts_by_code = {a.code: a for a in self.accounts.values()}

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

    def fee_release(self, since: dt.date, as_of: dt.date) -> tuple[int, list[int]]:
        """For the activities statements: what management fees released from restricted funds over since..as_of
        (fen), and the correction to the changes posted directly to net assets ``[without, with]``, which would
        otherwise show those release legs."""
        released, other = 0, [0, 0]
        for (_account_id, fund_id), (debit, credit) in self.releases(since, as_of).items():
            col = 0 if net_asset_class(self.funds[fund_id]) == WITHOUT else 1
            other[col] -= credit - debit
            if col == 1:
                released += debit - credit
        return released, other

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
class FinancialPositionAccounts(Report):
    """The balance sheet account by account (the detail behind ``financial-position``'s lines): each account row
    names the line it goes to (``line_key``, ``line_no``)."""

    name = "financial-position-accounts"
    title = "资产负债表（科目明细）"
    title_en = "Statement of financial position by account"
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
        Column("line_key", "报表项目", "Report line", pdf=False),
        Column("line_no", "行次", "Line no.", width=0.6),
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
                line = lines.position_line(account)
                rows.append((kind, "account", account.code, *_name(account), amount(balance), line,
                             lines.POSITION_LINES[line].no))
            rows.append(Row((kind, "subtotal", key, zh, en, amount(total), key, lines.POSITION_LINES[key].no),
                            "subtotal"))
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
                 amount(without), "NET_ASSETS_WITHOUT", "101"), "subtotal"),
            ("net_assets", "detail", "NET_ASSETS_WITH_PURPOSE", "限定性净资产—限定用途",
             "Net assets with donor restrictions – purpose restricted", amount(purpose), "NET_ASSETS_WITH_PURPOSE", ""),
            ("net_assets", "detail", "NET_ASSETS_WITH_ENDOWMENT", "限定性净资产—留本基金",
             "Net assets with donor restrictions – endowment", amount(endowment), "NET_ASSETS_WITH_ENDOWMENT", ""),
            Row(("net_assets", "subtotal", "NET_ASSETS_WITH", "限定性净资产", "Net assets with donor restrictions",
                 amount(purpose + endowment), "NET_ASSETS_WITH", "105"), "subtotal"),
            Row(("net_assets", "subtotal", "TOTAL_NET_ASSETS", "净资产合计", "Total net assets", amount(net_assets),
                 "TOTAL_NET_ASSETS", "110"), "subtotal"),
        ]
        totals_rows = [
            Row(("total", "total", "TOTAL_LIABILITIES_AND_NET_ASSETS", "负债和净资产总计",
                 "Total liabilities and net assets", amount(liabilities + net_assets),
                 "TOTAL_LIABILITIES_AND_NET_ASSETS", "120"), "total"),
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
class ActivitiesAccounts(Report):
    """The activities account by account (the detail behind ``activities``' lines): each account row names the
    line it goes to (``line_key``, ``line_no``)."""

    name = "activities-accounts"
    title = "业务活动表（科目明细）"
    title_en = "Statement of activities by account"
    period = RANGE
    landscape = True
    cacheable = True  # entries, accounts and funds only (charity.reports.cache)

    COLUMNS = [
        Column("section", "部分", "Section", pdf=False),
        Column("line_type", "行类型", "Line", pdf=False),
        Column("code", "编码", "Code", width=1.8),
        Column("name", "项目", "Item", width=2.6),
        Column("name_en", "Item (English)", "", width=3.0),
        Column("without_donor_restriction", "非限定性", "Without donor restrictions", "amount"),
        Column("with_donor_restriction", "限定性", "With donor restrictions", "amount"),
        Column("total", "合计", "Total", "amount"),
        Column("line_key", "报表项目", "Report line", pdf=False),
        Column("line_no", "行次", "Line no.", width=0.6),
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
        fee_released, fee_other = snap.fee_release(p.date_from, p.date_to)
        released += fee_released
        other = [other[0] + fee_other[0], other[1] + fee_other[1]]

        rows = []

        standard = {line.key: line.no for _section, line in lines.ACTIVITIES}
        standard.update(RELEASED_FROM_RESTRICTION="40", CHANGE_IN_NET_ASSETS="45")

        def line(section, line_type, code, zh, en, without, with_, style=""):
            key = lines.activities_line(snap.accounts_by_code[code]) if line_type == "account" else code
            cells = (section, line_type, code, zh, en, amount(without), amount(with_), amount(without + with_),
                     key if key in standard or line_type == "account" else "", standard.get(key, ""))
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
                 amount(opening[WITHOUT] + opening[WITH] + change[0] + change[1]), "", "")
        closing_rows.append(Row(cells, "total"))
        notes = [
            "收入按来源（科目）和基金的限定类别分列；费用全部列入非限定性一栏，限定性基金本期的支出同时作为“限定性净资产转为非限定性净资产”列示。"
            " Income by source (account) and by the restriction of the fund it went to; every expense is shown "
            "without donor restrictions and what restricted funds spent is shown as released from restriction.",
            "按报表项目列示（含上年数）见报表 activities。 The standard's report lines, with the prior year, are the "
            "report activities.",
        ]
        return ReportData(columns=self.COLUMNS, rows=rows, totals=closing_rows, notes=notes)


# ------------------------------------------------------------------------------ the standard's report lines


def headings_before(table: list) -> dict[str, lines.Line]:
    """The heading lines of a form (流动资产：, 一、收入...) by the key of the line they stand above."""
    result, pending = {}, None
    for _section, line in table:
        if line.kind == "heading":
            pending = line
        elif pending is not None:
            result[line.key], pending = pending, None
    return result


def printed(data: ReportData, keys: list[str], headings: dict[str, lines.Line]) -> ReportData:
    """The table as the printed form shows it: columns in the form's order (行次 after 项目, while CSV and JSON
    keep new columns at the end) and the form's headings (流动资产：, 一、收入) above their lines. CSV and JSON
    carry no heading rows, so every row there has its amounts."""
    index = [next(i for i, c in enumerate(data.columns) if c.key == k) for k in keys]

    def row(values):
        return Row([values[i] for i in index], getattr(values, "style", ""))

    rows = []
    for values in data.rows:
        heading = headings.get(values[2])
        if heading is not None:
            rows.append(Row([heading.name if k == "name" else heading.name_en if k == "name_en" else None
                             for k in keys], "heading"))
        rows.append(row(values))
    return ReportData(columns=[data.columns[i] for i in index], rows=rows,
                      totals=[row(r) for r in resolved(data.totals) or []], summary=data.summary, notes=data.notes)


def year_before(day: dt.date) -> dt.date:
    """The same day one year earlier (29 February gives 28 February)."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def _line_row(section: str, line: lines.Line, cells: tuple) -> Row:
    """section, line_type (the line's kind), code (its key), name, name_en, then the report's own cells."""
    style = {"heading": "heading", "subtotal": "subtotal", "total": "total"}.get(line.kind, "")
    return Row((section, line.kind, line.key, line.name, line.name_en, *cells), style)


@register
class FinancialPosition(Report):
    """资产负债表 in the standard's lines and order (``charity.reports.lines``), 年初数 and 期末数.

    年初数 is the balance at the end of the year before ``--as-of``'s year (31 December). Assets and liabilities
    go to lines by their 总账 code; net assets by the fund's restriction (module docstring). Every line shows,
    zero or not. The account detail is the report ``financial-position-accounts``.
    """

    name = "financial-position"
    title = "资产负债表"
    title_en = "Statement of financial position"
    period = AS_OF
    options = frozenset({"fund"})
    cacheable = True  # entries, accounts and funds only (charity.reports.cache)

    COLUMNS = [
        Column("section", "部分", "Section", pdf=False),
        Column("line_type", "行类型", "Line", pdf=False),
        Column("code", "项目代码", "Line key", pdf=False),
        Column("name", "项目", "Item", width=2.8),
        Column("name_en", "Item (English)", "", width=3.0),
        Column("amount", "期末数", "End of period", "amount"),
        Column("line_no", "行次", "No.", width=0.8),
        Column("opening", "年初数", "Beginning of year", "amount"),
    ]
    PDF_ORDER = ["name", "name_en", "line_no", "opening", "amount"]

    def figures(self, snap: Snapshot, as_of: dt.date) -> dict[str, int]:
        """Fen per line key at ``as_of`` (every line, subtotals and totals included)."""
        totals = snap.cumulative(as_of)
        values = {line.key: 0 for _section, line in lines.POSITION}
        for (account_id, _fund_id), (debit, credit) in totals.items():
            account = snap.accounts[account_id]
            if account.type == AccountType.ASSET:
                balance = debit - credit
            elif account.type == AccountType.LIABILITY:
                balance = credit - debit
            else:
                continue
            key = lines.position_line(account)
            values[key] += balance * lines.POSITION_LINES[key].sign
        per_fund = snap.net_assets_by_fund(totals)
        for fund_id, value in per_fund.items():
            restriction = snap.funds[fund_id].restriction
            if restriction == Restriction.UNRESTRICTED:
                values["NET_ASSETS_WITHOUT"] += value
            else:
                values["NET_ASSETS_WITH"] += value
                values["NET_ASSETS_WITH_ENDOWMENT" if restriction == Restriction.ENDOWMENT
                       else "NET_ASSETS_WITH_PURPOSE"] += value
        for _section, line in lines.POSITION:
            if line.parts:
                values[line.key] = sum(values[k] * sign for k, sign in line.parts)
        return values

    def build(self) -> ReportData:
        as_of = self.params.as_of
        snap = Snapshot(self.book, self.params.fund)
        end = self.figures(snap, as_of)
        start = self.figures(snap, dt.date(as_of.year - 1, 12, 31))
        rows = []
        for section, line in lines.POSITION:
            if line.kind != "heading":
                rows.append(_line_row(section, line, (amount(end[line.key]), line.no, amount(start[line.key]))))

        year_start = dt.date(as_of.year, 1, 1)
        surplus = snap.by_class(
            snap.net_assets_by_fund(snap.between(year_start, as_of, snap.ids_of(AccountType.INCOME, AccountType.EXPENSE)))
        )
        balanced = end["TOTAL_ASSETS"] == end["TOTAL_LIABILITIES_AND_NET_ASSETS"]
        balanced_start = start["TOTAL_ASSETS"] == start["TOTAL_LIABILITIES_AND_NET_ASSETS"]
        summary = [
            {"key": "balanced", "label": "资产 = 负债 + 净资产 Assets = liabilities + net assets", "value": balanced},
            {"key": "surplus_current_year_without", "label": f"{as_of.year} 年度盈余（非限定性） Surplus of the year, "
             "without donor restrictions", "value": amount(surplus[WITHOUT])},
            {"key": "surplus_current_year_with", "label": f"{as_of.year} 年度盈余（限定性） Surplus of the year, "
             "with donor restrictions", "value": amount(surplus[WITH])},
            {"key": "balanced_beginning_of_year", "label": "年初数：资产 = 负债 + 净资产 Beginning of year: assets = "
             "liabilities + net assets", "value": balanced_start},
        ]
        notes = [
            f"年初数为 {as_of.year - 1}-12-31 的余额，期末数为 {as_of.isoformat()} 的余额。 Beginning of year: balances at "
            f"{as_of.year - 1}-12-31; end of period: balances at {as_of.isoformat()}.",
            "资产、负债按总账科目（编码前四位）归入报表项目；会计科目表以外的资产科目列入其他流动资产，负债科目列入其他流动负债。"
            " Assets and liabilities go to lines by their 总账 code (first four digits); an asset account outside the "
            "standard's chart goes to other current assets, a liability to other current liabilities.",
            "净资产按基金的限定类别归类：非限定性基金计入非限定性净资产，限定性基金和留本基金计入限定性净资产；各基金本年收入减费用"
            "已计入该基金的净资产。 Net assets are classed by the fund's restriction (unrestricted funds: without donor "
            "restrictions; restricted funds and endowments: with donor restrictions); each fund's income less "
            "expenses of the year is already part of that fund's net assets.",
            "科目明细见报表 financial-position-accounts。 The account detail is the report financial-position-accounts.",
        ]
        if self.params.fund is not None:
            notes.append(f"仅基金 {self.params.fund.code} Fund {self.params.fund.code} only (funds are self-balancing).")
        for ok, values, label in ((balanced, end, "end of period"), (balanced_start, start, "beginning of year")):
            if not ok:
                notes.append(
                    f"不平衡 OUT OF BALANCE ({label}): assets {amount(values['TOTAL_ASSETS'])} ≠ liabilities and net "
                    f"assets {amount(values['TOTAL_LIABILITIES_AND_NET_ASSETS'])}"
                )
        return ReportData(columns=self.COLUMNS, rows=rows, summary=summary, notes=notes)

    def pdf_story(self, data: ReportData, width: float) -> list:
        from .writers import pdf_story

        return pdf_story(printed(data, self.PDF_ORDER, headings_before(lines.POSITION)), width)


class ActivityFigures:
    """One period's activities in fen: per line key ``[without, with]``, the release and direct changes."""

    def __init__(self, snap: Snapshot, since: dt.date, to: dt.date, period=None):
        self.period = period if period is not None else snap.between(since, to)
        self.values = {line.key: [0, 0] for _section, line in lines.ACTIVITIES}
        self.released = 0
        self.other = [0, 0]
        for (account_id, fund_id), (debit, credit) in self.period.items():
            account, fund = snap.accounts[account_id], snap.funds[fund_id]
            col = 0 if net_asset_class(fund) == WITHOUT else 1
            if account.type == AccountType.INCOME:
                self.values[lines.activities_line(account)][col] += credit - debit
            elif account.type == AccountType.EXPENSE:
                # All expenses are decreases of net assets without restriction; what restricted funds spent is
                # released from "with" to "without" (民非 / ASU 2016-14), as in activities-accounts.
                self.values[lines.activities_line(account)][0] += debit - credit
                if col == 1:
                    self.released += debit - credit
            elif account.type == AccountType.NET_ASSETS:
                self.other[col] += credit - debit
        # A management fee charged to a restricted fund is released from restriction, not a direct change.
        fee_released, fee_other = snap.fee_release(since, to)
        self.released += fee_released
        self.other = [self.other[0] + fee_other[0], self.other[1] + fee_other[1]]
        for _section, line in lines.ACTIVITIES:
            if line.parts:
                self.values[line.key] = [sum(self.values[k][i] * s for k, s in line.parts) for i in (0, 1)]
        income, expenses = self.values["TOTAL_INCOME"], self.values["TOTAL_EXPENSES"]
        self.values["RELEASED_FROM_RESTRICTION"] = [self.released, -self.released]
        self.values["OTHER_CHANGES"] = list(self.other)
        self.values["CHANGE_IN_NET_ASSETS"] = [
            income[0] - expenses[0] + self.released + self.other[0],
            income[1] - expenses[1] - self.released + self.other[1],
        ]


TAIL = [
    ("release", lines.Line("RELEASED_FROM_RESTRICTION", "40", "三、限定性净资产转为非限定性净资产",
                           "III. Net assets released from restrictions", "subtotal")),
    ("other", lines.Line("OTHER_CHANGES", "", "直接计入净资产的变动", "Changes posted directly to net assets",
                         "subtotal")),
    ("change", lines.Line("CHANGE_IN_NET_ASSETS", "45", "四、净资产变动额（若为净资产减少额，以“-”号填列）",
                          "IV. Change in net assets (a decrease shown with \"-\")", "total")),
]


@register
class Activities(Report):
    """业务活动表 in the standard's lines and order (收入, 费用, 限定性净资产转为非限定性净资产, 净资产变动额), with
    非限定性 / 限定性 / 合计 for the period (本年) and the same period one year earlier (上年). The account detail is
    the report ``activities-accounts``; the spending ratios of the trust's policy are the summary."""

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
        Column("code", "项目代码", "Line key", pdf=False),
        Column("name", "项目", "Item", width=3.2),
        Column("name_en", "Item (English)", "", width=3.0),
        Column("without_donor_restriction", "本年非限定性", "This year, without", "amount"),
        Column("with_donor_restriction", "本年限定性", "This year, with", "amount"),
        Column("total", "本年合计", "This year, total", "amount"),
        Column("line_no", "行次", "No.", width=0.8),
        Column("prior_without_donor_restriction", "上年非限定性", "Prior year, without", "amount"),
        Column("prior_with_donor_restriction", "上年限定性", "Prior year, with", "amount"),
        Column("prior_total", "上年合计", "Prior year, total", "amount"),
    ]
    PDF_ORDER = ["name", "name_en", "line_no", "without_donor_restriction", "with_donor_restriction", "total",
                 "prior_without_donor_restriction", "prior_with_donor_restriction", "prior_total"]

    def build(self) -> ReportData:
        p = self.params
        snap = Snapshot(self.book)
        period = snap.between(p.date_from, p.date_to)
        prior_from, prior_to = year_before(p.date_from), year_before(p.date_to)
        now = ActivityFigures(snap, p.date_from, p.date_to, period)
        before = ActivityFigures(snap, prior_from, prior_to)

        def cells(pair):
            w, r = pair
            return (amount(w), amount(r), amount(w + r))

        rows = []
        for section, line in list(lines.ACTIVITIES) + TAIL:
            if line.kind != "heading":
                rows.append(_line_row(section, line, (*cells(now.values[line.key]), line.no,
                                                      *cells(before.values[line.key]))))

        def net_assets_at(day):
            return snap.by_class(snap.net_assets_by_fund(snap.cumulative(day, snap.ids_of(*NET_ASSET_TYPES))))

        opening = net_assets_at(p.date_from - dt.timedelta(days=1))
        prior_opening = net_assets_at(prior_from - dt.timedelta(days=1))
        change, prior_change = now.values["CHANGE_IN_NET_ASSETS"], before.values["CHANGE_IN_NET_ASSETS"]
        totals = [
            Row(("opening", "total", "NET_ASSETS_BEGINNING", "期初净资产", "Net assets at beginning of period",
                 *cells((opening[WITHOUT], opening[WITH])), "",
                 *cells((prior_opening[WITHOUT], prior_opening[WITH]))), "total"),
            Row(("closing", "total", "NET_ASSETS_END", "期末净资产", "Net assets at end of period",
                 *cells((opening[WITHOUT] + change[0], opening[WITH] + change[1])), "",
                 *cells((prior_opening[WITHOUT] + prior_change[0], prior_opening[WITH] + prior_change[1]))),
                "total"),
        ]

        # The spending rule is the trust's own policy (charity.spending); without one nothing is flagged.
        rule = spending.evaluate(self.book, p.date_from, p.date_to, accounts=snap.accounts, funds=snap.funds,
                                 period=period)
        summary = spending.summary(rule)
        notes = [
            f"本年 {p.date_from.isoformat()} – {p.date_to.isoformat()}；上年 {prior_from.isoformat()} – "
            f"{prior_to.isoformat()}。 This year and the same period one year earlier.",
            "收入按报表项目（总账科目）和基金的限定类别分列；费用全部列入非限定性一栏，限定性基金本期的支出在费用之后作为“限定性净资产转为非限定性净资产”列示。"
            " Income by line (its 总账) and by the restriction of the fund it went to; every expense is shown "
            "without donor restrictions and what restricted funds spent is released from restriction after the "
            "expenses.",
            "直接计入净资产科目（3xxx）的金额（期初余额分录、基金间划转）单列为“直接计入净资产的变动”（表式无此行次），使净资产变动额等于资产负债表净资产的变动。"
            " Amounts posted directly to net asset accounts (opening balances, transfers between funds) are shown "
            "apart (the form has no line number for them), so the change in net assets equals the balance sheet's.",
            "科目明细见报表 activities-accounts。 The account detail is the report activities-accounts.",
            "比率：慈善活动支出为本期业务活动成本（有项目用途的费用科目），对比信托支出规则的基数；管理费用对比本期费用合计。"
            " Ratios: program spending of the period against the base of the trust's spending rule; management "
            "expenses against total expenses. Meaningful for a whole year (--year).",
        ] + spending.explanation(rule)
        return ReportData(columns=self.COLUMNS, rows=rows, totals=totals, summary=summary, notes=notes)

    def pdf_story(self, data: ReportData, width: float) -> list:
        from .writers import pdf_story

        return pdf_story(printed(data, self.PDF_ORDER, headings_before(lines.ACTIVITIES)), width)


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
