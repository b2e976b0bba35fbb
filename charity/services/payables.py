"""What the trust owes and what its cash box holds.

Payables: an expense recorded when invoiced (``expense_record(payable="2202"|"2209")``) is paid later, in one
payment or several (``expense_payment_record``): Dr the payable, Cr the bank or cash, in the fund the expense was
charged to, so the money leaves the fund that bore the cost. The expense row is locked (``SELECT ... FOR
UPDATE``) while what is still owed is computed, and the payment row stores what had been paid before it, which
the database checks against what is owed (``charity_expensepayment_not_beyond_owed``) and keeps unique per
expense (two payments computed from the same state cannot both be stored). An expense above the threshold is
an ``ExpenseRequest`` until approved, so nothing can be paid before approval; a payment of an approved payable
needs no second approval (the commitment was approved).

Cash counts (现金盘点表): the officer records what the cash box (1001 库存现金) holds on a day; the book balance on
that day is kept beside it. Equal, the count is agreed and nothing is posted. A difference waits for another
user holding ``charity.approve_expenses``, as the standard requires approval before a shortage or overage is
written off (民间非营利组织会计制度, 现金: 无法查明原因的现金短缺经批准后计入管理费用; 无法查明原因的现金溢余经批准后计入
其他收入): a shortage is posted Dr 520101 管理费用—行政办公 / Cr 1001, an overage Dr 1001 / Cr 4901 其他收入, in the
unrestricted general fund. The approval binds to the book balance counted against: if entries dated on or before
the count's day have changed it since, the approval is refused and the count must be made again.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from ledger import selectors
from ledger import services as ledger
from ledger.authority import require
from ledger.locking import lock
from ledger.models import CENT, JournalEntry
from ledger.services import Cr, Dr

from .. import chart
from ..audit import audit
from ..errors import CharityError, DuplicateExternalId, ExpenseError, FourEyesRefused
from ..models import (CashCount, CashCountStatus, Expense, ExpensePayment, ExpenseRequest, ExpenseRequestStatus,
                      PaymentAccount, Trust)
from ..roles import APPROVE_EXPENSES, RECORD
from ._common import account, check_date, check_external_id, money_parts, translated, unique_or
from .expenses import general_fund

ZERO = Decimal("0.00")


def _decimal(value) -> Decimal:
    """A SUM as two places (SQLite's drops trailing zeros)."""
    return Decimal(value or 0).quantize(CENT)


def paid_on(expense: Expense, *, as_of: dt.date | None = None) -> Decimal:
    """What has been paid on ``expense`` (through ``as_of`` when given)."""
    payments = expense.payments.all()
    if as_of is not None:
        payments = payments.filter(date__lte=as_of)
    return _decimal(payments.aggregate(v=Sum("amount"))["v"])


def _is_reversed(expense: Expense) -> bool:
    return JournalEntry.objects.filter(reverses_id=expense.entry_id).exists()


def _find_expense(trust: Trust, expense) -> Expense:
    """The trust's expense named by an ``Expense`` or its external id; a draft still waiting is named as such."""
    if isinstance(expense, Expense):
        if expense.trust_id != trust.pk:
            raise ExpenseError("the expense is not an expense of this trust", field="expense")
        return expense
    code = (expense or "").strip() if isinstance(expense, str) else ""
    found = Expense.objects.filter(trust=trust, external_id=code).first() if code else None
    if found is None:
        if code and ExpenseRequest.objects.filter(trust=trust, external_id=code,
                                                  status=ExpenseRequestStatus.DRAFT).exists():
            raise ExpenseError(f"expense {code} waits for approval: it cannot be paid before it is approved",
                               field="expense")
        raise ExpenseError(f"{code!r} is not an expense of this trust", field="expense")
    return found


def expense_payment_record(*, trust: Trust, external_id: str, expense: Expense | str, date: dt.date, amount, user,
                           account_code: str = PaymentAccount.BANK, description: str = "",
                           posting=None) -> tuple[ExpensePayment, bool]:
    """Pay (part of) an expense recorded as payable: ``(payment, created)``. Idempotent on ``external_id``.

    Refused: an expense of another trust, one paid at once (not payable), one still waiting for approval, one
    reversed, a payment dated before the expense, and one beyond what is still owed."""
    require(user, RECORD, trust.book)
    with transaction.atomic():
        return _pay(trust=trust, external_id=external_id, expense=expense, date=date, amount=amount, user=user,
                    account_code=account_code, description=description, posting=posting)


def _pay(*, trust, external_id, expense, date, amount, user, account_code, description, posting):
    external_id = check_external_id(external_id)
    date = check_date(date)
    amount, _currency = money_parts(amount, "CNY")
    description = (description or "").strip()
    if len(description) > 500:
        raise ExpenseError("a description is at most 500 characters", field="description")
    if account_code not in PaymentAccount.values:
        raise ExpenseError(f"a payment is made from the bank ({PaymentAccount.BANK}) or cash ({PaymentAccount.CASH}),"
                           f" not {account_code!r}", field="account")
    expense = _find_expense(trust, expense)
    existing = ExpensePayment.objects.filter(trust=trust, external_id=external_id).first()
    if existing is not None:
        if (existing.expense_id, existing.date, existing.amount, existing.account, existing.description) == (
                expense.pk, date, amount, account_code, description):
            return existing, False
        raise DuplicateExternalId(f"payment {external_id} was already recorded with different content",
                                  field="external_id")
    if not expense.payable:
        raise ExpenseError(f"expense {expense.external_id} was paid when it was recorded: nothing is owed on it",
                           field="expense")
    # The lock: payments of one expense are made one after the other, each seeing what the last one paid.
    _book, _fund, expense = lock(trust.book, expense.fund, expense)  # the book and fund it will post to first
    if _is_reversed(expense):
        raise ExpenseError(f"expense {expense.external_id} has been reversed: nothing is owed on it", field="expense")
    if date < expense.date:
        raise ExpenseError(f"a payment dated {date.isoformat()} is before expense {expense.external_id} "
                           f"({expense.date.isoformat()})", field="date")
    owed = expense.amount.amount
    paid = paid_on(expense)
    if amount > owed - paid:
        raise ExpenseError(f"a payment of {amount} CNY is more than what is still owed on expense "
                           f"{expense.external_id}: {owed - paid} CNY ({owed} owed, {paid} paid)", field="amount")
    memo = (f"支付 Payment {external_id} of {expense.external_id}"
            + (f" 付给 to {expense.payee}" if expense.payee else "") + (f": {description}" if description else ""))
    with unique_or(f"payment {external_id} is being recorded twice"), ledger.posting_batch(posting) as batch, \
            translated(ExpenseError):
        entry = batch.post(
            book=trust.book, date=date, memo=memo, user=user, idempotency_key=f"payment:{external_id}",
            source=("expense_payment", external_id),
            legs=[Dr(account(trust, expense.payable), expense.fund, amount),
                  Cr(account(trust, account_code), expense.fund, amount)],
        )
        payment = ExpensePayment.objects.create(
            trust=trust, external_id=external_id, expense=expense, date=date, amount=amount, paid_before=paid,
            owed=owed, account=account_code, description=description, entry=entry, created_by=user)
    audit(user=user, action=f"expense payment {external_id} of {expense.external_id}", trust=trust,
          detail={"amount": str(amount), "account": account_code})
    return payment, True


def payables_open(trust: Trust, *, as_of: dt.date) -> list[dict]:
    """What is owed on ``as_of``: each expense recorded as payable on or before it, not reversed by then, with
    something left to pay, as ``{"expense", "owed", "paid", "outstanding", "due", "days_overdue"}``, oldest due
    first. Reads one query of expenses and one of their payments."""
    expenses = list(
        Expense.objects.filter(trust=trust, date__lte=as_of).exclude(payable="")
        .exclude(entry__reversed_by__date__lte=as_of).select_related("fund").order_by("due_date", "date", "pk"))
    paid = dict(
        ExpensePayment.objects.filter(expense__in=[e.pk for e in expenses], date__lte=as_of)
        .values("expense_id").annotate(v=Sum("amount")).values_list("expense_id", "v"))
    rows = []
    for e in expenses:
        owed = e.amount.amount
        done = _decimal(paid.get(e.pk))
        if owed - done <= 0:
            continue
        rows.append({"expense": e, "owed": owed, "paid": done, "outstanding": owed - done, "due": e.due,
                     "days_overdue": (as_of - e.due).days})
    rows.sort(key=lambda r: (r["due"], r["expense"].pk))
    return rows


# -- cash counts (现金盘点表) -------------------------------------------------------------------------------------

# The notes and coins of the renminbi (第五套人民币), as the denominations a count may list.
DENOMINATIONS = ("100", "50", "20", "10", "5", "2", "1", "0.5", "0.2", "0.1", "0.05", "0.02", "0.01")


def _denominations(value, counted: Decimal) -> dict:
    if not value:
        return {}
    if not isinstance(value, dict):
        raise ExpenseError("denominations are given as {denomination: number of notes or coins}",
                           field="denominations")
    clean, total = {}, ZERO
    for key, number in value.items():
        key = str(key).strip()
        try:
            face = Decimal(key)
        except Exception:
            face = None
        name = next((d for d in DENOMINATIONS if face is not None and Decimal(d) == face), None)
        if name is None:
            raise ExpenseError(f"{key!r} is not a denomination of the renminbi ({', '.join(DENOMINATIONS)})",
                               field="denominations")
        if isinstance(number, bool) or not isinstance(number, int) or number < 0 or number > 10_000_000:
            raise ExpenseError(f"the number of {name} notes or coins is a whole number, zero or more",
                               field="denominations")
        if number:
            clean[name] = clean.get(name, 0) + number
            total += Decimal(name) * number
    if total.quantize(CENT) != counted:
        raise ExpenseError(f"the denominations add up to {total.quantize(CENT)} CNY, not the {counted} CNY counted",
                           field="denominations")
    return clean


def _counted(value) -> Decimal:
    """The amount counted: zero (an empty box) or an amount as ``money_parts`` takes it."""
    if isinstance(value, (str, int, Decimal)) and not isinstance(value, bool):
        try:
            if Decimal(str(value).strip() or "x") == 0:
                return ZERO
        except ArithmeticError:
            pass
    try:
        return money_parts(value, "CNY")[0]
    except CharityError as exc:
        raise ExpenseError(exc.message.replace("amount", "the amount counted", 1), field="counted") from None


def cash_book_balance(trust: Trust, date: dt.date) -> Decimal:
    """1001 库存现金 in the books at the end of ``date`` (every fund)."""
    return selectors.account_balance(account(trust, chart.CASH), as_of=date).quantize(CENT)


@transaction.atomic
def cash_count_record(*, trust: Trust, date: dt.date, counted, counted_by: str, user, witness: str = "",
                      denominations: dict | None = None, note: str = "") -> CashCount:
    """Record a count of the cash box on ``date`` against the books' 1001 on that day. Agreed when equal;
    otherwise the difference waits for another user's approval (``cash_count_approve``)."""
    require(user, RECORD, trust.book)
    date = check_date(date)
    if date > timezone.localdate():
        raise ExpenseError(f"a count dated {date.isoformat()} is in the future", field="date")
    counted = _counted(counted)
    counted_by, witness, note = (counted_by or "").strip(), (witness or "").strip(), (note or "").strip()
    if not counted_by or len(counted_by) > 100:
        raise ExpenseError("a count names who counted (1 to 100 characters)", field="counted_by")
    if len(witness) > 100:
        raise ExpenseError("a witness's name is at most 100 characters", field="witness")
    if witness and witness == counted_by:
        raise ExpenseError("the witness is someone other than the person who counted", field="witness")
    if len(note) > 500:
        raise ExpenseError("a note is at most 500 characters", field="note")
    clean = _denominations(denominations, counted)
    book = cash_book_balance(trust, date)
    count = CashCount.objects.create(
        trust=trust, date=date, counted=counted, book_balance=book, denominations=clean, counted_by=counted_by,
        witness=witness, note=note, recorded_by=user,
        status=CashCountStatus.AGREED if counted == book else CashCountStatus.DRAFT)
    audit(user=user, action=f"cash count {date.isoformat()}", trust=trust,
          detail={"counted": str(counted), "book": str(book), "status": count.status})
    return count


def _locked_count(count: CashCount, user) -> CashCount:
    """The count, locked after the book and the fund its difference posts to (``ledger.locking``)."""
    require(user, APPROVE_EXPENSES, count.trust.book)
    _book, _fund, locked = lock(count.trust.book, general_fund(count.trust), count)
    if locked.status != CashCountStatus.DRAFT:
        raise ExpenseError(f"the cash count of {locked.date.isoformat()} is already {locked.status}", field="status")
    if locked.recorded_by_id == user.pk:
        raise FourEyesRefused(f"the cash count of {locked.date.isoformat()} was recorded by {user.get_username()}; "
                              f"another user must approve or reject its difference", field="approved_by")
    return locked


@transaction.atomic
def cash_count_approve(*, count: CashCount, user) -> CashCount:
    """Approve a count's difference and post it, with the count's recorder as author and ``user`` as approver."""
    locked = _locked_count(count, user)
    trust = locked.trust
    now = cash_book_balance(trust, locked.date)
    if now != locked.book_balance:
        raise ExpenseError(
            f"1001 stood at {locked.book_balance} CNY on {locked.date.isoformat()} when the cash was counted and "
            f"stands at {now} CNY now: record the count again against the books as they are", field="book_balance")
    difference = locked.difference
    cash, gen = account(trust, chart.CASH), general_fund(trust)
    if difference < 0:
        memo = f"现金短缺 Cash shortage found by the count of {locked.date.isoformat()}"
        legs = [Dr(account(trust, chart.MANAGEMENT), gen, -difference), Cr(cash, gen, -difference)]
    else:
        memo = f"现金溢余 Cash overage found by the count of {locked.date.isoformat()}"
        legs = [Dr(cash, gen, difference), Cr(account(trust, chart.OTHER_INCOME), gen, difference)]
    with translated(ExpenseError):
        entry = ledger.entry_post(book=trust.book, date=locked.date, memo=memo, legs=legs, user=locked.recorded_by,
                                  approved_by=user, source=("cash_count", str(locked.pk)),
                                  idempotency_key=f"cash-count:{locked.pk}")
    locked.status, locked.entry = CashCountStatus.POSTED, entry
    locked.decided_by, locked.decided_at = user, timezone.now()
    locked.save(update_fields=["status", "entry", "decided_by", "decided_at"])
    audit(user=user, action=f"cash count {locked.date.isoformat()} approved", trust=trust,
          detail={"difference": str(difference), "entry": entry.sequence})
    return locked


@transaction.atomic
def cash_count_reject(*, count: CashCount, user, reason: str) -> CashCount:
    """Reject a count's difference (count again, or find the cause): nothing is posted."""
    reason = (reason or "").strip()
    if not reason:
        raise ExpenseError("a rejection needs a reason", field="reason")
    locked = _locked_count(count, user)
    locked.status, locked.reason = CashCountStatus.REJECTED, reason[:500]
    locked.decided_by, locked.decided_at = user, timezone.now()
    locked.save(update_fields=["status", "reason", "decided_by", "decided_at"])
    audit(user=user, action=f"cash count {locked.date.isoformat()} rejected", trust=locked.trust,
          detail={"reason": locked.reason})
    return locked
