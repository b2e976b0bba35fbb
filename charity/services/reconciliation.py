"""Statements of the trust's money accounts, matching them with the books, and reconciling a month (issue 20).

Every service here is the finance officer's (``charity.record_transactions``) in the account's own trust; the
reading side (the ``reconciliation`` report) is in ``charity.reconciliation``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

from django.db import transaction
from ledger import bounds
from ledger import services as ledger
from ledger.authority import require
from ledger.csvio import RowError
from ledger.locking import lock, lock_one
from ledger.models import Account, Fund, JournalEntry, Leg, from_minor
from ledger.services import Cr, Dr

from .. import chart
from ..audit import audit
from ..errors import ApprovalRequired, ReconciliationError
from ..models import (
    ExpenseKind, ExpenseRequest, ExpenseRequestStatus, MatchedLeg, ReconciledMonth, ReconciliationSetting,
    StatementLine, StatementMatch, Trust,
)
from ..reconciliation import (
    account_legs, booking_id, is_booking_id, leg_amount, match_days, month_end, reconcile, reconciled_months,
)
from ..roles import RECORD
from ..statement_formats import LAYOUTS, parse
from ._common import account as chart_account
from ._common import check_date, translated
from .expenses import expense_record, expense_request_draft, general_fund


@dataclass
class StatementImport:
    format: str
    sha256: str
    rows: int = 0
    created: int = 0
    skipped: int = 0
    errors: list[RowError] = field(default_factory=list)
    dry_run: bool = False


class _Rollback(Exception):
    pass


def _check_account(trust: Trust, account: Account) -> None:
    if account.book_id != trust.book_id:
        raise ReconciliationError(f"account {account.code} is not an account of trust {trust.code}",
                                  field="account")
    if not chart.is_monetary(account.code) or account.children.exists():
        raise ReconciliationError(
            f"account {account.code} {account.name} is not a money account (货币资金 明细) that a statement reports on",
            field="account")


def _month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def statement_import(*, trust: Trust, account: Account, data: bytes, fmt: str = "generic", user,
                     dry_run: bool = False) -> StatementImport:
    """Import a statement, all or nothing. Lines already known (account, date, amount, reference) are skipped;
    the running balance is checked against the statement's balance column, from the last known line before the
    file's first date; a line in a reconciled month is refused. Errors come back in ``result.errors``."""
    require(user, RECORD, account.book)
    _check_account(trust, account)
    if fmt not in LAYOUTS:
        raise ReconciliationError(f"unknown statement format {fmt!r}; formats: {', '.join(LAYOUTS)}",
                                  field="format")
    result = StatementImport(format=fmt, sha256=hashlib.sha256(data).hexdigest(), dry_run=dry_run)
    lines, errors = parse(data, LAYOUTS[fmt])
    result.rows = len(lines)
    if errors:
        result.errors = sorted(errors)
        return result
    with transaction.atomic():
        lock_one(account)  # one import per account at a time
        known = set(StatementLine.objects.filter(account=account, date__in={ln.date for ln in lines})
                    .values_list("date", "amount", "reference"))
        errors = _check_lines(account, lines, known)
        if errors:
            result.errors = sorted(errors)
            return result
        new = [ln for ln in lines if (ln.date, ln.amount, ln.reference) not in known]
        result.skipped = len(lines) - len(new)
        result.created = len(new)
        if dry_run or not new:
            return result
        StatementLine.objects.bulk_create([
            StatementLine(trust=trust, account=account, date=ln.date, amount=ln.amount, balance=ln.balance,
                          counterparty=ln.counterparty, reference=ln.reference, order_id=ln.order_id, memo=ln.memo,
                          file_sha256=result.sha256, line_number=ln.number, format=fmt, imported_by=user)
            for ln in new
        ])
        audit(user=user, action=f"statement imported {account.code}", trust=trust,
              detail={"account": account.code, "format": fmt, "sha256": result.sha256, "created": result.created,
                      "skipped": result.skipped})
    return result


def _check_lines(account: Account, lines, known: set) -> list[RowError]:
    errors: list[RowError] = []
    first_seen: dict[tuple, int] = {}
    for ln in lines:
        key = (ln.date, ln.amount, ln.reference)
        if key in first_seen:
            errors.append(RowError(ln.number, "reference",
                                   f"the same line as row {first_seen[key]} (date {ln.date}, amount "
                                   f"{from_minor(ln.amount)}, reference {ln.reference!r}): a line is imported once"))
        else:
            first_seen[key] = ln.number
    closed = reconciled_months(account)
    for ln in lines:
        if _month(ln.date) in closed and (ln.date, ln.amount, ln.reference) not in known:
            errors.append(RowError(ln.number, "date", f"{ln.date:%Y-%m} is already reconciled for account "
                                                      f"{account.code}"))
    ordered = lines if lines[0].date <= lines[-1].date else list(reversed(lines))  # newest-first exports
    keys = set(first_seen)
    before = (StatementLine.objects.filter(account=account, date__lt=ordered[0].date, balance__isnull=False)
              .order_by("-date", "-pk").first())
    previous = before.balance if before is not None and (before.date, before.amount, before.reference) not in keys \
        else None
    for ln in ordered:
        if ln.balance is None:
            previous = previous + ln.amount if previous is not None else None
            continue
        if previous is not None and previous + ln.amount != ln.balance:
            errors.append(RowError(
                ln.number, "balance",
                f"the statement prints {from_minor(ln.balance)} but the balance before, {from_minor(previous)}, "
                f"plus this line's {from_minor(ln.amount)} is {from_minor(previous + ln.amount)}: an amount was "
                f"changed or a line is missing or repeated"))
        previous = ln.balance
    return errors


@transaction.atomic
def reconciliation_set_days(*, account: Account, days: int, user) -> ReconciliationSetting:
    """How many days apart a statement line and a leg may be dated and still match automatically."""
    require(user, RECORD, account.book)
    if not 0 <= days <= 31:
        raise ReconciliationError("the matching window is 0 to 31 days", field="match_days")
    setting, _ = ReconciliationSetting.objects.update_or_create(account=account, defaults={"match_days": days})
    audit(user=user, action=f"matching window {account.code}", detail={"days": days},
          trust=Trust.objects.filter(book_id=account.book_id).first())
    return setting


@transaction.atomic
def statement_match_auto(*, account: Account, user) -> int:
    """Match unmatched lines to unmatched legs. First a platform payout: a line whose reference (or order id: a
    bank prints the payout number as 用途) is a settlement's (``settlement_record``) takes that entry's legs on the
    account (one per fund) when they add up to it. Then one to one: the same signed amount, dated at most the
    account's window apart, and the line's order id equal to the gift's platform order id or the entry's source id
    when both have one; lines in date order, each taking the earliest leg that fits. Returns how many matches
    were made."""
    require(user, RECORD, account.book)
    trust = Trust.objects.get(book_id=account.book_id)
    lock_one(account)
    window = dt.timedelta(days=match_days(account))
    taken = set(MatchedLeg.objects.filter(match__account=account).values_list("leg_id", flat=True))
    free: dict[int, list[Leg]] = {}
    payouts: dict[str, list[Leg]] = {}
    for leg in (account_legs(account).exclude(pk__in=taken).select_related("entry", "entry__donation")
                .order_by("date", "entry__sequence", "position")):
        free.setdefault(leg_amount(leg), []).append(leg)
        if leg.entry.source_type == "settlement":
            payouts.setdefault(leg.entry.source_id, []).append(leg)
    made = 0

    def pair(line: StatementLine, legs: list[Leg]) -> None:
        match = StatementMatch.objects.create(trust=trust, account=account, automatic=True, created_by=user)
        MatchedLeg.objects.bulk_create([MatchedLeg(match=match, leg=leg) for leg in legs])
        StatementLine.objects.filter(pk=line.pk).update(match=match)
        for leg in legs:
            free[leg_amount(leg)].remove(leg)

    lines = list(StatementLine.objects.filter(account=account, match__isnull=True).order_by("date", "pk"))
    for line in lines:
        key = line.reference if line.reference in payouts else line.order_id  # a bank prints it as 用途 or 附言
        legs = payouts.pop(key, None) if key else None
        if legs and sum(leg_amount(leg) for leg in legs) == line.amount \
                and all(abs((leg.date - line.date).days) <= window.days for leg in legs):
            pair(line, legs)
            line.match_id = -1  # taken: the one-to-one pass below skips it
            made += 1
    for line in lines:
        if line.match_id:
            continue
        own = booking_id(line)
        # an entry booked from this very line (statement_line_book, approved later) is its match, first of all
        for leg in sorted(free.get(line.amount, []), key=lambda leg: leg.entry.source_id != own):
            if leg.entry.source_id != own and not _fits(line, leg, window):
                continue
            pair(line, [leg])
            made += 1
            break
    if made:
        audit(user=user, action=f"statement matched {account.code}", trust=trust, detail={"automatic": made})
    return made


def _fits(line: StatementLine, leg: Leg, window: dt.timedelta) -> bool:
    """The automatic rule for a line and a leg of the same amount: dated within the window, and the line's order
    id one of the entry's ids (its source id, or the gift's platform order id) when both have one. An entry booked
    from another line is that line's, whatever its date."""
    source = leg.entry.source_id
    if is_booking_id(source) or abs((leg.date - line.date).days) > window.days:
        return False
    gift = getattr(leg.entry, "donation", None)  # a gift's entry: its platform order id too
    ids = {source, gift.order_id if gift is not None else ""} - {""}
    return not (line.order_id and ids and line.order_id not in ids)


@transaction.atomic
def statement_match(*, lines: list[StatementLine], legs: list[Leg], user) -> StatementMatch:
    """Match by hand: one line with several legs, several lines with one leg (or several with several); all of
    one account, none matched yet, and the lines' amounts add up to the legs'."""
    if not lines or not legs:
        raise ReconciliationError("a match needs at least one statement line and one leg", field="lines")
    account = lines[0].account
    require(user, RECORD, account.book)
    lock_one(account)
    lines = list(StatementLine.objects.filter(pk__in=[ln.pk for ln in lines]))
    legs = list(Leg.objects.filter(pk__in=[lg.pk for lg in legs]).select_related("entry"))
    if any(ln.account_id != account.pk for ln in lines) or any(lg.account_id != account.pk for lg in legs):
        raise ReconciliationError(f"every line and leg of a match is of account {account.code}", field="legs")
    if any(lg.entry.status != "posted" or lg.currency != (account.currency or "CNY") for lg in legs):
        raise ReconciliationError("only posted legs in the account's currency can be matched", field="legs")
    if any(ln.match_id for ln in lines):
        raise ReconciliationError("a statement line is already matched; undo that match first", field="lines")
    if MatchedLeg.objects.filter(leg__in=legs).exists():
        raise ReconciliationError("a leg is already matched; undo that match first", field="legs")
    line_total, leg_total = sum(ln.amount for ln in lines), sum(leg_amount(lg) for lg in legs)
    if line_total != leg_total:
        raise ReconciliationError(
            f"the lines add up to {from_minor(line_total)} and the legs to {from_minor(leg_total)}", field="legs")
    trust = Trust.objects.get(book_id=account.book_id)
    match = StatementMatch.objects.create(trust=trust, account=account, automatic=False, created_by=user)
    MatchedLeg.objects.bulk_create([MatchedLeg(match=match, leg=lg) for lg in legs])
    StatementLine.objects.filter(pk__in=[ln.pk for ln in lines]).update(match=match)
    audit(user=user, action=f"statement matched {account.code}", trust=trust,
          detail={"match": match.pk, "lines": [ln.pk for ln in lines], "legs": [lg.pk for lg in legs]})
    return match


@transaction.atomic
def statement_unmatch(*, match: StatementMatch, user) -> None:
    """Undo a match, unless a line or leg of it is dated in a month already reconciled."""
    require(user, RECORD, match.account.book)
    lock_one(Account(pk=match.account_id))
    closed = reconciled_months(match.account)
    dates = list(match.lines.values_list("date", flat=True)) + list(match.legs.values_list("leg__date", flat=True))
    hit = sorted({_month(d) for d in dates} & closed)
    if hit:
        raise ReconciliationError(f"{hit[0]:%Y-%m} is reconciled for account {match.account.code}; its matches stay",
                                  field="match")
    StatementLine.objects.filter(match=match).update(match=None)
    pk = match.pk
    match.delete()
    audit(user=user, action=f"statement unmatched {match.account.code}", trust=match.trust, detail={"match": pk})


@transaction.atomic
def month_reconcile(*, account: Account, month: str | dt.date, user) -> ReconciledMonth:
    """Mark a month reconciled: only when the adjusted balances agree at its last day (refused with the
    figures otherwise). ``month``: ``YYYY-MM`` or any day of it."""
    require(user, RECORD, account.book)
    if isinstance(month, str):
        try:
            first = dt.date.fromisoformat(f"{month}-01")
        except ValueError:
            raise ReconciliationError(f"{month!r} is not a month (YYYY-MM)", field="month") from None
    else:
        first = month.replace(day=1)
    if not bounds.FIRST_DAY <= first <= bounds.LAST_DAY.replace(day=1):
        raise ReconciliationError(f"{first:%Y-%m} is outside the books' range", field="month")
    trust = Trust.objects.get(book_id=account.book_id)
    _check_account(trust, account)
    lock_one(account)
    if ReconciledMonth.objects.filter(account=account, month=first).exists():
        raise ReconciliationError(f"{first:%Y-%m} is already reconciled for account {account.code}", field="month")
    rec = reconcile(account, month_end(first))
    if rec.statement_balance is None:
        raise ReconciliationError(f"account {account.code} has no statement line to {month_end(first)}",
                                  field="month")
    if not rec.agrees:
        raise ReconciliationError(
            f"{first:%Y-%m} of account {account.code} does not agree: book balance {from_minor(rec.book_balance)} + "
            f"items the bank has and the books not {from_minor(rec.bank_total)} = {from_minor(rec.adjusted_book)}; "
            f"statement balance {from_minor(rec.statement_balance)} + items the books have and the bank not "
            f"{from_minor(rec.book_total)} = {from_minor(rec.adjusted_statement)}", field="month")
    done = ReconciledMonth.objects.create(account=account, month=first, book_balance=rec.book_balance,
                                          statement_balance=rec.statement_balance, reconciled_by=user)
    audit(user=user, action=f"month reconciled {account.code} {first:%Y-%m}", trust=trust,
          detail={"book_balance": str(from_minor(rec.book_balance)),
                  "statement_balance": str(from_minor(rec.statement_balance))})
    return done


# -- a statement line the books do not have yet: book it through the usual services, then match it ----------------

BANK_FEE, INTEREST = "bank_fee", "interest"
BOOKING_KINDS = (BANK_FEE, INTEREST)
INCOME_ACCOUNTS = (chart.OTHER_INCOME, chart.INVESTMENT_INCOME)


@dataclass
class LineBooking:
    """What ``statement_line_book`` did: the entry posted and its match, or the expense request that waits for
    another user's approval (the line stays unmatched; ``statement_match_auto`` matches it once approved)."""
    line: StatementLine
    kind: str
    entry: JournalEntry | None = None
    match: StatementMatch | None = None
    request: ExpenseRequest | None = None


def statement_line_book(*, line: StatementLine, kind: str, user, income_account: str = chart.OTHER_INCOME,
                        fx_rate=None, date: dt.date | None = None) -> LineBooking:
    """Book an unmatched statement line the books do not have, and match it to the entry's leg on the account:

    - ``bank_fee`` (money out of the CNY bank account, chart.BANK): an expense of kind ``bank_fee`` (540101
      银行手续费) paid by the unrestricted fund through ``expense_record``, so the trust's approval threshold
      applies: above it the expense is drafted for approval (``expense_request_draft``) and the line is matched
      when the approved expense is posted (``statement_match_auto`` takes the entry booked from the line first);
    - ``interest`` (money in): income to ``income_account``, 4901 其他收入 (default) or 4601 投资收益, in the
      unrestricted fund, posted through the ledger's ``entry_post`` (a foreign-currency account gives ``fx_rate``).

    The entry is dated ``date``, by default the line's own date; a line found after its period was closed is
    booked on a later day of an open period (never before the line). The entry is known by the line
    (``booking_id``: the expense's external id, the entry's source id), so booking the same line again posts
    nothing new. Refused for another kind, the wrong sign, a matched line or a line in a reconciled month."""
    account = line.account
    require(user, RECORD, account.book)
    if kind not in BOOKING_KINDS:
        raise ReconciliationError(f"a statement line is booked as one of {', '.join(BOOKING_KINDS)}, not {kind!r}",
                                  field="kind")
    with transaction.atomic():
        lock(account.book, account)  # the book first: booking the line posts (ledger.locking)
        line = StatementLine.objects.select_related("trust", "account").get(pk=line.pk)
        if line.match_id:
            raise ReconciliationError(f"statement line {line.date} {from_minor(line.amount)} is already matched",
                                      field="line")
        if _month(line.date) in reconciled_months(account):
            raise ReconciliationError(f"{line.date:%Y-%m} is reconciled for account {account.code}", field="line")
        on = line.date if date is None else check_date(date)
        if on < line.date:
            raise ReconciliationError(f"the entry's date {on} is before the statement line's ({line.date})",
                                      field="date")
        if kind == BANK_FEE:
            booking = _book_fee(line, user, on)
        else:
            booking = _book_interest(line, user, income_account, fx_rate, on)
        detail = {"line": line.pk, "kind": kind, "entry": booking.entry.sequence if booking.entry else None,
                  "request": booking.request.external_id if booking.request else None}
        audit(user=user, action=f"statement line booked {account.code}", trust=line.trust, detail=detail)
        return booking


def _book_fee(line: StatementLine, user, on: dt.date) -> LineBooking:
    account, trust = line.account, line.trust
    if line.amount >= 0:
        raise ReconciliationError("a bank fee is money out of the account; this line is money in", field="kind")
    if account.code != chart.BANK:
        raise ReconciliationError(
            f"a bank fee is an expense paid from account {chart.BANK}; this line is of account {account.code}",
            field="kind")
    key = booking_id(line)
    waiting = ExpenseRequest.objects.filter(trust=trust, external_id=key).first()
    if waiting is not None and waiting.status == ExpenseRequestStatus.DRAFT:
        raise ReconciliationError(f"the bank fee of this line ({key}) already waits for approval", field="line")
    reference = " ".join(part for part in (line.reference, line.memo) if part)
    expense = dict(trust=trust, external_id=key, date=on, kind=ExpenseKind.BANK_FEE,
                   fund=general_fund(trust), amount=from_minor(-line.amount), user=user,
                   payee=line.counterparty[:200], description=f"对账单 statement {line.date} {reference}".strip())
    try:
        with transaction.atomic():
            recorded, _created = expense_record(**expense)
    except ApprovalRequired:
        return LineBooking(line=line, kind=BANK_FEE, request=expense_request_draft(**expense))
    return _match_booked(line, BANK_FEE, recorded.entry, user)


def _book_interest(line: StatementLine, user, income_account: str, fx_rate, on: dt.date) -> LineBooking:
    account, trust = line.account, line.trust
    if line.amount <= 0:
        raise ReconciliationError("interest is money into the account; this line is money out", field="kind")
    if income_account not in INCOME_ACCOUNTS:
        raise ReconciliationError(
            f"interest is income to {' or '.join(INCOME_ACCOUNTS)}, not {income_account!r}", field="income_account")
    currency = account.currency or "CNY"
    amount = from_minor(line.amount)
    fund: Fund = general_fund(trust)
    reference = " ".join(part for part in (line.reference, line.memo) if part)
    with translated(ReconciliationError):
        entry = ledger.entry_post(
            book=trust.book, date=on, user=user, memo=f"利息 Interest, 对账单 statement {reference}".strip(),
            legs=[Dr(account, fund, amount, currency), Cr(chart_account(trust, income_account), fund, amount, currency)],
            idempotency_key=f"statement-line:{line.pk}", source=("statement_line", booking_id(line)),
            fx_rate=fx_rate if currency != "CNY" else None)
    return _match_booked(line, INTEREST, entry, user)


def _match_booked(line: StatementLine, kind: str, entry: JournalEntry, user) -> LineBooking:
    leg = Leg.objects.get(entry=entry, account=line.account)
    match = StatementMatch.objects.create(trust=line.trust, account=line.account, automatic=False, created_by=user)
    MatchedLeg.objects.create(match=match, leg=leg)
    StatementLine.objects.filter(pk=line.pk).update(match=match)
    return LineBooking(line=line, kind=kind, entry=entry, match=match)
