"""Closing a trust's year (年度结转), ``close_year YYYY``; see docs/ledger.md, "Closing a year".

In one transaction, after the year's twelve months are closed, with entries dated 31 December:

1. Revaluation (期末汇兑损益): every asset and liability account holding a foreign currency in a fund is brought to
   the balance in that currency x the year-end rate (half-even to the fen) by a CNY leg on the account against
   ``chart.FX`` (a gain credits it). A restricted fund or an endowment is never charged on ``chart.FX`` (the
   engine refuses a restricted fund any expense outside its purpose, an endowment every expense), so for such a
   fund the difference is carried to its restricted net assets (``chart.NET_ASSETS_RESTRICTED``) and the gain or
   loss itself is booked in the general fund against ``chart.NET_ASSETS_UNRESTRICTED``: the loss is an expense
   of the year (费用 are unrestricted) met by restricted net assets released, as the standard has it.
   Revaluation entries are ordinary entries (they change the year's activities by the exchange difference).
2. Release of restrictions (限定性净资产转为非限定性净资产): per restricted fund, what it spent (the balance of its
   expense accounts), Dr ``NET_ASSETS_RESTRICTED`` / Cr ``NET_ASSETS_UNRESTRICTED`` in that fund.
3. Closing of income (结转收入): per fund, every income account to ``NET_ASSETS_UNRESTRICTED`` (unrestricted fund)
   or ``NET_ASSETS_RESTRICTED`` (restricted fund, endowment); closing of expenses (结转费用): per fund, every
   expense account to ``NET_ASSETS_UNRESTRICTED``.
4. The year is recorded as closed (``ledger.services.year_end``); nothing can be posted dated in it afterwards.

Steps 2 and 3 are closing entries (``JournalEntry.closing``): no fund's net assets change, and the statements of
income and expenses leave them out, so the closed year's statements read as before.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from ledger import bounds, selectors
from ledger import errors as ledger_errors
from ledger.authority import CLOSE_PERIODS, require
from ledger.models import Account, AccountType, Fund, Restriction, from_minor, to_minor
from ledger.services import REVALUATION, YEAR_CLOSE, Cr, Dr, round_cny, year_end
from ledger.services.legs import check_rate

from .. import chart, errors
from ..models import Trust
from ._common import account


@dataclass(frozen=True)
class RateUsed:
    currency: str
    rate: Decimal
    given: bool  # --rate; otherwise the latest rate the books hold on or before 31 December
    entry_sequence: int | None = None
    entry_date: dt.date | None = None

    def describe(self) -> str:
        if self.given:
            return f"rate {self.currency} {self.rate} (given)"
        return f"rate {self.currency} {self.rate} (the books' latest: entry #{self.entry_sequence} of {self.entry_date})"


@dataclass
class YearCloseResult:
    year: int
    already_closed: bool
    rates: list[RateUsed] = field(default_factory=list)
    entries: list = field(default_factory=list)  # the entries posted, in order


def parse_rates(rates) -> dict[str, Decimal]:
    """``{"USD": "7.1"}`` or ``["USD=7.1", ...]`` -> {currency: Decimal}; refuses a bad code, rate or repeat."""
    items = rates.items() if isinstance(rates, dict) else []
    if not isinstance(rates, dict):
        parsed = []
        for text in rates or ():
            currency, sep, rate = str(text).partition("=")
            if not sep:
                raise errors.CharityError(f"{text!r} is not CUR=RATE", field="rate")
            parsed.append((currency.strip().upper(), rate.strip()))
        items = parsed
    result: dict[str, Decimal] = {}
    for currency, rate in items:
        try:
            code = bounds.check_currency(currency)
            value = check_rate(rate)
        except ledger_errors.LedgerError as exc:
            raise errors.CharityError(f"{currency}: {exc.message}", field="rate") from None
        if code == "CNY":
            raise errors.CharityError("CNY is the books' own currency: it takes no rate", field="rate")
        if value is None:
            raise errors.CharityError(f"{currency}: give a rate", field="rate")
        if code in result:
            raise errors.CharityError(f"{code} is given more than once", field="rate")
        result[code] = value
    return result


def _general_fund(trust: Trust) -> Fund:
    funds = Fund.objects.filter(book_id=trust.book_id, restriction=Restriction.UNRESTRICTED).order_by("code")
    return funds.filter(code=chart.GENERAL_FUND[0]).first() or funds.first()


def _restricted(fund: Fund) -> bool:
    return fund.restriction != Restriction.UNRESTRICTED


def _pair(debit: bool):
    return (Dr, Cr) if debit else (Cr, Dr)


def year_close(*, trust: Trust, year: int, rates=None, user) -> YearCloseResult:
    """Close ``year`` of ``trust``'s books (module docstring). A closed year: nothing is done
    (``already_closed``). Refuses a year with an open month (``PeriodError`` from the ledger, naming it), a
    currency held without a rate, and a user without ``ledger.close_periods`` in the trust."""
    require(user, CLOSE_PERIODS, trust.book)
    given = parse_rates(rates or {})
    book = trust.book
    with year_end(book=book, year=year, user=user) as end:
        if end.done:
            return YearCloseResult(year=year, already_closed=True)
        result = YearCloseResult(year=year, already_closed=False)
        _revalue(trust, end, given, user, result)
        _close(trust, end, user)
        result.entries = list(end.entries)
    return result


def _revalue(trust: Trust, end, given: dict[str, Decimal], user, result: YearCloseResult) -> None:
    balances = [b for b in selectors.currency_balances(end.book, as_of=end.last_day, revaluation_source=REVALUATION)
                if b.amount != 0]
    used: dict[str, RateUsed] = {code: RateUsed(code, rate, True) for code, rate in given.items()}
    for currency in sorted({b.currency for b in balances} - set(given)):
        found = selectors.latest_rate(end.book, currency, as_of=end.last_day)
        if found is None:
            raise errors.CharityError(
                f"{currency} is held at the year's end but the books hold no rate for it: give --rate {currency}=RATE",
                field="rate",
            )
        rate, entry = found
        used[currency] = RateUsed(currency, rate.normalize(), False, entry.sequence, entry.date)
    result.rates = [used[code] for code in sorted(used)]
    fx = account(trust, chart.FX)
    unrestricted = account(trust, chart.NET_ASSETS_UNRESTRICTED)
    restricted = account(trust, chart.NET_ASSETS_RESTRICTED)
    general = None
    for currency in sorted({b.currency for b in balances}):
        rate = used[currency].rate
        legs = []
        for b in (b for b in balances if b.currency == currency):
            target = to_minor(round_cny(from_minor(b.amount) * rate))
            diff = target - b.carried_cny
            if not diff:
                continue
            amount = from_minor(abs(diff))
            on_account, against = _pair(diff > 0)  # a rise of a debit balance: Dr the account
            legs.append(on_account(b.account, b.fund, amount))
            if not _restricted(b.fund):
                legs.append(against(fx, b.fund, amount))
                continue
            general = general or _general_fund(trust)
            if general is None:
                raise errors.CharityError("the trust has no unrestricted fund to book the exchange difference in",
                                          field="fund")
            legs.append(against(restricted, b.fund, amount))
            legs.append(against(fx, general, amount))
            legs.append(on_account(unrestricted, general, amount))
        if legs:
            end.post(
                memo=f"期末汇兑损益 {currency} {end.year} 年末汇率 {rate} / Year-end revaluation of {currency} at {rate}",
                legs=legs, user=user, source=(REVALUATION, f"{end.year}:{currency}"), fx_rate=rate,
            )


def _close(trust: Trust, end, user) -> None:
    accounts = {a.pk: a for a in Account.objects.filter(book_id=trust.book_id,
                                                         type__in=[AccountType.INCOME, AccountType.EXPENSE])}
    funds = {f.pk: f for f in Fund.objects.filter(book_id=trust.book_id)}
    unrestricted = account(trust, chart.NET_ASSETS_UNRESTRICTED)
    restricted = account(trust, chart.NET_ASSETS_RESTRICTED)
    balances = end.balances(accounts)
    # Per fund, in code order: [(account, balance on its natural side, fen)]
    income: dict[int, list] = defaultdict(list)
    expense: dict[int, list] = defaultdict(list)
    for (account_id, fund_id), (debit, credit) in sorted(
        balances.items(), key=lambda kv: (funds[kv[0][1]].code, accounts[kv[0][0]].code)
    ):
        acct = accounts[account_id]
        if acct.type == AccountType.INCOME and credit != debit:
            income[fund_id].append((acct, credit - debit))
        elif acct.type == AccountType.EXPENSE and credit != debit:
            expense[fund_id].append((acct, debit - credit))
    source = (YEAR_CLOSE, str(end.year))
    order = sorted(funds, key=lambda pk: funds[pk].code)

    release = []
    for fund_id in order:
        fund = funds[fund_id]
        spent = sum(value for _a, value in expense.get(fund_id, ()))
        if _restricted(fund) and spent:
            first, second = _pair(spent > 0)
            release += [first(restricted, fund, from_minor(abs(spent))), second(unrestricted, fund, from_minor(abs(spent)))]
    if release:
        end.post(memo=f"{end.year} 年限定性净资产转为非限定性净资产 / Net assets released from restrictions, {end.year}",
                 legs=release, user=user, source=source, closing=True)

    legs = []
    for fund_id in order:
        fund, total = funds[fund_id], 0
        for acct, value in income.get(fund_id, ()):
            legs.append((Dr if value > 0 else Cr)(acct, fund, from_minor(abs(value))))
            total += value
        if total:
            target = restricted if _restricted(fund) else unrestricted
            legs.append((Cr if total > 0 else Dr)(target, fund, from_minor(abs(total))))
    if legs:
        end.post(memo=f"{end.year} 年结转收入 / Income closed to net assets, {end.year}",
                 legs=legs, user=user, source=source, closing=True)

    legs = []
    for fund_id in order:
        fund, total = funds[fund_id], 0
        for acct, value in expense.get(fund_id, ()):
            legs.append((Cr if value > 0 else Dr)(acct, fund, from_minor(abs(value))))
            total += value
        if total:
            legs.append((Dr if total > 0 else Cr)(unrestricted, fund, from_minor(abs(total))))
    if legs:
        end.post(memo=f"{end.year} 年结转费用 / Expenses closed to net assets, {end.year}",
                 legs=legs, user=user, source=source, closing=True)
