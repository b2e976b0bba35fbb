"""What a caller asks to post (``LegSpec``, ``Dr``, ``Cr``) and its validation into a frozen ``Prepared`` entry.

Validation reads nothing that a post changes (only the accounts' and funds' own fields, and for a give-back
whether the named leg is a source of that fund), so an entry is checked completely before any lock is taken.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from typing import NamedTuple
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

import moneyed
from django.utils import timezone

from .. import bounds, errors
from ..hashing import fx_text
from ..models import (
    CENT, NET_ASSET_TYPES, Account, AccountType, Book, Fund, FundSource, JournalEntry, Leg, Restriction, from_minor, to_minor,
)

MAX_AMOUNT = bounds.MAX_AMOUNT
DEBIT, CREDIT = "debit", "credit"


@dataclass
class LegSpec:
    """What a caller asks for: one debit or one credit on an account in a fund.

    ``amount`` may be a ``Decimal`` (with ``currency``, default CNY) or a ``moneyed.Money`` (its currency wins).
    ``reduces`` names the source leg (a credit to income) that a debit to income gives back, e.g. a refund.
    """

    account: Account
    fund: Fund
    debit: object = None
    credit: object = None
    currency: str | None = None
    reduces: Leg | None = None


def Dr(account: Account, fund: Fund, amount, currency: str | None = None, **kw) -> LegSpec:
    return LegSpec(account=account, fund=fund, debit=amount, currency=currency, **kw)


def Cr(account: Account, fund: Fund, amount, currency: str | None = None, **kw) -> LegSpec:
    return LegSpec(account=account, fund=fund, credit=amount, currency=currency, **kw)


class PreparedLeg(NamedTuple):
    """One validated leg, immutable: its side, its amount in its currency and in CNY (both in fen), its place in
    the entry, and ``row``: the leg as the hash chain and the leg row hold it."""

    position: int
    account: Account
    fund: Fund
    side: str
    amount: Decimal
    currency: str
    minor: int
    cny: int
    reduces: Leg | None
    account_id: int
    fund_id: int
    row: tuple  # (position, account id, fund id, currency, debit, credit, debit CNY, credit CNY)

    @property
    def is_debit(self) -> bool:
        return self.side == DEBIT

    @property
    def is_source(self) -> bool:
        """Income received: a credit to income opens a fund source."""
        return self.side == CREDIT and self.account.type == AccountType.INCOME

    @property
    def is_use(self) -> bool:
        """Spending: a debit to an expense is allocated to the fund's sources, oldest first."""
        return self.side == DEBIT and self.account.type == AccountType.EXPENSE

    @property
    def is_give_back(self) -> bool:
        """Income given back (a refund): a debit to income reduces a source."""
        return self.side == DEBIT and self.account.type == AccountType.INCOME


class Prepared(NamedTuple):
    """An entry that passed every check that does not depend on the books' state, ready to post; immutable."""

    book: Book
    date: dt.date
    memo: str
    legs: tuple[PreparedLeg, ...]
    user: object
    fx_rate: Decimal | None
    source_type: str
    source_id: str
    idempotency_key: str | None
    approved_by: object
    payload_hash: str
    reverses: JournalEntry | None
    simple: bool  # neither a reversal nor a give-back: its allocations come from the FIFO queues alone
    closing: bool = False  # a closing entry: no fund source opened, spent or given back (see ``check_closing``)

    def fund_deltas(self) -> dict[int, int]:
        """The change of each fund's net assets, in fen (funds with no change left out)."""
        deltas: dict[int, int] = defaultdict(int)
        for leg in self.legs:
            if leg.account.type in NET_ASSET_TYPES:
                deltas[leg.fund_id] += -leg.cny if leg.side == DEBIT else leg.cny
        return {fund_id: delta for fund_id, delta in deltas.items() if delta}


def round_cny(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


def check_memo(text: str, *, field: str = "memo") -> str:
    return bounds.check_text(text, field=field) or ""


def _decimal(value, *, what: str) -> Decimal:
    if isinstance(value, moneyed.Money):
        value = value.amount
    if isinstance(value, float):
        raise errors.InvalidAmount(f"{what}: amounts must be Decimal, not float", field="amount")
    try:
        amount = Decimal(value) if not isinstance(value, Decimal) else value
    except (InvalidOperation, TypeError, ValueError):
        raise errors.InvalidAmount(f"{what}: {value!r} is not a decimal amount", field="amount") from None
    if not amount.is_finite():
        raise errors.InvalidAmount(f"{what}: {value!r} is not a finite amount", field="amount")
    return amount


def check_rate(fx_rate) -> Decimal | None:
    if fx_rate is None:
        return None
    rate = _decimal(fx_rate, what="fx_rate")
    if rate <= 0:
        raise errors.InvalidAmount(f"fx_rate {rate} must be above zero", field="fx_rate")
    return bounds.check_rate(rate)


def _leg(book: Book, index: int, spec: LegSpec, rate: Decimal | None) -> list:
    """Check one leg; answer [side, amount, currency, minor, cny] (cny may still be balanced)."""
    where = f"leg {index}"
    if spec.account.book_id != book.pk:
        raise errors.ForeignBook(f"{where}: account {spec.account.code} belongs to another book", field="account")
    if spec.fund.book_id != book.pk:
        raise errors.ForeignBook(f"{where}: fund {spec.fund.code} belongs to another book", field="fund")
    if (spec.debit is None) == (spec.credit is None):
        raise errors.InvalidAmount(f"{where}: give exactly one of debit and credit", field="amount")
    raw = spec.debit if spec.debit is not None else spec.credit
    side = DEBIT if spec.debit is not None else CREDIT
    amount = _decimal(raw, what=where)
    if amount <= 0:
        raise errors.InvalidAmount(f"{where}: amount {amount} must be above zero", field="amount")
    bounds.check_amount(amount, what=f"{where}: amount")
    if amount.as_tuple().exponent < -2 and amount != amount.quantize(CENT):
        raise errors.InvalidAmount(f"{where}: amount {amount} has more than two decimal places", field="amount")
    amount = amount.quantize(CENT)
    currency = bounds.check_currency(raw.currency.code if isinstance(raw, moneyed.Money) else spec.currency)
    minor = to_minor(amount)
    if currency == "CNY":
        cny = minor
    else:
        if rate is None:
            raise errors.MissingRate(f"{where}: currency {currency} needs fx_rate (CNY per unit)", field="fx_rate")
        in_cny = round_cny(amount * rate)
        if in_cny > MAX_AMOUNT:
            raise errors.InvalidAmount(
                f"{where}: {amount} {currency} is {in_cny} CNY, above the largest, {MAX_AMOUNT}", field="amount"
            )
        cny = to_minor(in_cny)
    if spec.reduces is not None:
        if not (side == DEBIT and spec.account.type == AccountType.INCOME):
            raise errors.LedgerError(f"{where}: only a debit to income can give back a source", field="legs")
        if not FundSource.objects.filter(leg=spec.reduces, fund=spec.fund).exists():
            # Without this, a give-back in one fund (or book) would eat into a gift held by another.
            raise errors.LedgerError(
                f"{where}: the leg it gives back is not a source (income received) of fund {spec.fund.code}",
                field="legs",
            )
    return [side, amount, currency, minor, cny]


def _balance(legs: list[LegSpec], checked: list[list]) -> None:
    """Refuse legs that do not balance per fund and currency; put the fen that rounding to CNY left over on the
    largest foreign leg of the short side (each leg is rounded to the fen on its own)."""
    per_currency: dict[tuple[str, str], int] = defaultdict(int)
    per_fund_cny: dict[str, int] = defaultdict(int)
    for spec, (side, _amount, currency, minor, cny) in zip(legs, checked):
        sign = 1 if side == DEBIT else -1
        per_currency[(spec.fund.code, currency)] += sign * minor
        per_fund_cny[spec.fund.code] += sign * cny
    for (fund_code, currency), total in sorted(per_currency.items()):
        if total:
            raise errors.Unbalanced(
                f"legs in fund {fund_code} do not balance in {currency}: debits exceed credits by "
                f"{from_minor(total)}",
                field="legs",
            )
    for fund_code, total in per_fund_cny.items():
        if not total:
            continue
        foreign = [c for spec, c in zip(legs, checked) if spec.fund.code == fund_code and c[2] != "CNY"]
        if abs(total) > len(foreign):
            raise errors.Unbalanced(f"legs in fund {fund_code} do not balance in CNY", field="legs")
        short_side = CREDIT if total > 0 else DEBIT
        target = max((c for c in foreign if c[0] == short_side), key=lambda c: c[4])
        target[4] += abs(total)


def _purpose(leg: PreparedLeg) -> None:
    if not leg.is_use:
        return
    fund, account = leg.fund, leg.account
    if fund.restriction == Restriction.ENDOWMENT:
        raise errors.PurposeViolation(
            f"fund {fund.code} is an endowment: its principal is never spent (account {account.code})", field="fund"
        )
    if fund.restriction == Restriction.RESTRICTED and (not account.purpose or account.purpose != fund.purpose):
        what = f"purpose {account.purpose}" if account.purpose else "general purposes"
        raise errors.PurposeViolation(
            f"fund {fund.code} is restricted to {fund.purpose or 'its purpose'}; account {account.code} "
            f"({account.name_en or account.name}) is for {what}",
            field="fund",
        )


def _income_restriction(leg: PreparedLeg) -> None:
    """An income account that names a restriction takes income only in a fund of that restriction (an endowment
    counts as restricted), so that a line labelled unrestricted never carries restricted money."""
    fund, account = leg.fund, leg.account
    if account.type != AccountType.INCOME or not account.restriction or account.restriction == fund.restriction:
        return
    if account.restriction == Restriction.RESTRICTED and fund.restriction == Restriction.ENDOWMENT:
        return
    raise errors.PurposeViolation(
        f"account {account.code} ({account.name_en or account.name}) takes {account.restriction} income; fund "
        f"{fund.code} is {fund.restriction}", field="account",
    )


def prepare_legs(*, book: Book, date: dt.date, legs, fx_rate, cny: list[int] | None = None
                 ) -> tuple[Decimal | None, tuple[PreparedLeg, ...]]:
    """Validate ``legs`` (in order: the date, the count, the rate, each leg, the balance, the purposes); answer
    the rate and the legs. ``cny``, when given, replaces the CNY figures (a reversal keeps its original's)."""
    bounds.check_date(date)
    legs = list(legs)
    if len(legs) < 2:
        raise errors.TooFewLegs(f"an entry needs at least two legs, got {len(legs)}", field="legs")
    if date > timezone.localdate():
        raise errors.FutureDate(f"date {date.isoformat()} is after today", field="date")
    rate = check_rate(fx_rate)
    checked = [_leg(book, index, spec, rate) for index, spec in enumerate(legs, start=1)]
    _balance(legs, checked)
    if cny is not None:
        for values, figure in zip(checked, cny):
            values[4] = figure
    prepared = []
    for position, (spec, (side, amount, currency, minor, fen)) in enumerate(zip(legs, checked), start=1):
        account_id, fund_id = spec.account.pk, spec.fund.pk
        debit = side == DEBIT
        row = (position, account_id, fund_id, currency, minor if debit else 0, 0 if debit else minor,
               fen if debit else 0, 0 if debit else fen)
        prepared.append(PreparedLeg(position, spec.account, spec.fund, side, amount, currency, minor, fen,
                                    spec.reduces, account_id, fund_id, row))
    prepared = tuple(prepared)
    for leg in prepared:
        _purpose(leg)
        _income_restriction(leg)
    return rate, prepared


_PAYLOAD_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False)


def check_closing(legs: tuple[PreparedLeg, ...]) -> None:
    """A closing entry moves balances between income, expense and net asset accounts inside each fund; it never
    touches an asset or a liability (the database refuses it too), so no fund's net assets change."""
    for leg in legs:
        if leg.account.type not in NET_ASSET_TYPES:
            raise errors.LedgerError(
                f"leg {leg.position}: a closing entry moves only income, expense and net asset accounts; "
                f"account {leg.account.code} is an {leg.account.type} account",
                field="legs",
            )


def payload_hash(*, date: dt.date, memo: str, legs: tuple[PreparedLeg, ...], fx_rate, source,
                 closing: bool = False) -> str:
    """What an idempotency key stands for: the request as the caller made it (codes, not ids)."""
    payload = {
        "date": date.isoformat(),
        "memo": memo,
        "fx": fx_text(fx_rate),
        "source": list(source) if source else ["", ""],
        "legs": [
            [leg.account.code, leg.fund.code, leg.side, str(leg.amount), leg.currency,
             leg.reduces.pk if leg.reduces else None]
            for leg in legs
        ],
    }
    if closing:
        payload["closing"] = True
    return hashlib.sha256(_PAYLOAD_JSON.encode(payload).encode()).hexdigest()


def prepare(*, book: Book, date: dt.date, memo: str, legs, user, idempotency_key: str | None = None,
            source: tuple[str, str] | None = None, fx_rate=None, approved_by=None,
            reverses: JournalEntry | None = None, cny: list[int] | None = None, closing: bool = False) -> Prepared:
    """Everything ``entry_post`` checks before it locks anything; refuses with a ``LedgerError``."""
    memo = check_memo(memo)
    rate, prepared_legs = prepare_legs(book=book, date=date, legs=legs, fx_rate=fx_rate, cny=cny)
    if closing:
        if reverses is not None:
            raise errors.LedgerError("a closing entry is never reversed", field="entry")
        check_closing(prepared_legs)
    source_type, source_id = source if source else ("", "")
    return Prepared(
        book=book, date=date, memo=memo, legs=prepared_legs, user=user, fx_rate=rate, source_type=source_type,
        source_id=str(source_id), idempotency_key=idempotency_key, approved_by=approved_by, reverses=reverses,
        payload_hash=payload_hash(date=date, memo=memo, legs=prepared_legs, fx_rate=rate, source=source,
                                  closing=closing),
        simple=reverses is None and (closing or not any(leg.is_give_back for leg in prepared_legs)),
        closing=bool(closing),
    )
