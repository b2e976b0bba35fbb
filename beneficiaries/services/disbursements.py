"""Disbursements and batches: draft -> approved (four eyes) -> paid/delivered (posts) -> verified.

Posting
-------
* Goods (a Smile Pack): ``stock_issue`` moves quantity x weighted-average cost from the fund's inventory to the
  program's expense account. Cash (a study grant): Dr the program's expense account / Cr its ``pay_account``.
  Either way the entry is a *use* of the fund, which the ledger allocates FIFO to the fund's donations.
* The fund must be an unrestricted fund or the restricted fund whose purpose is the program. The ledger checks
  the purpose again and refuses to take a restricted fund below zero under a row lock on the fund; the stock
  balance row is locked before it, so stock never goes below zero either.
* Lock order, everywhere: batch, disbursement rows (by pk), the beneficiary (yearly limits), then the stock
  balance, the book and the funds (inside ``stock_issue`` / ``entry_post``). Two officers paying from the same
  fund queue on the fund; the second sees what the first left.
* A batch is posted in one transaction: every disbursement in it or none (any refusal rolls the batch back).

Four eyes: the approver must not be the drafter. The one exception is ``batch_record_given`` /
``disbursement_record_given``, used by ``import_csv disbursements`` for aid already given and approved outside
the system: the importing user is recorded as drafter and approver and the record says ``approved_outside``.

Every refusal is an ``AidError`` subclass; a refusal by the ledger or the stock becomes ``PostingRefused`` whose
message is the disbursement's id followed by the ledger's own words and whose ``code`` is the ledger's code.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from ledger import bounds
from ledger import services as ledger
from ledger.errors import LedgerError
from ledger.locking import Key, lock, lock_one
from ledger.models import CENT, Book, Fund, Restriction
from ledger.services import Cr, Dr
from ledger.authority import require

from ..authority import APPROVE, DRAFT
from ..errors import (
    AidError,
    DisbursementError,
    FourEyesViolation,
    FundNotAllowed,
    InvalidTransition,
    LimitExceeded,
    PostingRefused,
)
from ..models import (
    LIVE_STATUSES,
    POSTED_STATUSES,
    BatchStatus,
    Beneficiary,
    BeneficiaryStatus,
    Disbursement,
    DisbursementBatch,
    DisbursementStatus,
    Program,
    ProgramKind,
    StockBalance,
    StockMove,
    Verification,
    VerificationMethod,
    VerificationResult,
)
from .stock import issue_value, stock_issue, stock_reverse



# -- checks ---------------------------------------------------------------------------------------------------


def _amount(value, *, field: str = "amount") -> Decimal:
    if isinstance(value, float):
        raise DisbursementError("amounts must be Decimal, not float", field=field)
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise DisbursementError(f"{value!r} is not a decimal amount", field=field) from None
    if not amount.is_finite() or amount <= 0:
        raise DisbursementError(f"amount {value} must be above zero", field=field)
    if amount != amount.quantize(CENT):
        raise DisbursementError(f"amount {value} has more than two decimal places", field=field)
    return amount.quantize(CENT)


def check_fund(*, program: Program, fund: Fund) -> None:
    """A program is paid from the unrestricted fund or from a restricted fund whose purpose is the program."""
    if fund.book_id != program.book_id:
        raise FundNotAllowed(f"fund {fund.code} belongs to another trust", field="fund")
    if fund.restriction == Restriction.UNRESTRICTED:
        return
    if fund.restriction == Restriction.ENDOWMENT:
        raise FundNotAllowed(
            f"fund {fund.code} is an endowment: its principal is never spent, so it cannot pay for program "
            f"{program.code}",
            field="fund",
        )
    if fund.purpose != program.code:
        raise FundNotAllowed(
            f"fund {fund.code} is restricted to {fund.purpose or 'another purpose'}; it cannot pay for program "
            f"{program.code} (use the program's restricted fund or an unrestricted fund)",
            field="fund",
        )


def estimated_value(*, program: Program, fund: Fund, quantity: int) -> Decimal | None:
    """What ``quantity`` units would cost now at weighted average (None when the fund holds too few)."""
    balance = StockBalance.objects.filter(item=program.stock_item, fund=fund).first()
    if balance is None or balance.quantity < quantity:
        return None
    return issue_value(balance, quantity)


def _limit_value(d: Disbursement) -> Decimal:
    if d.amount is not None:
        return d.amount
    if d.program.kind == ProgramKind.IN_KIND:
        return estimated_value(program=d.program, fund=d.fund, quantity=d.quantity) or Decimal(0)
    return Decimal(0)


def check_limits(*, disbursement: Disbursement, statuses=LIVE_STATUSES, value: Decimal | None = None) -> None:
    """Refuse when this disbursement would take its beneficiary past the program's yearly limits."""
    d = disbursement
    program = d.program
    if program.limit_amount_per_year is None and program.limit_count_per_year is None:
        return
    year = d.date.year
    others = Disbursement.objects.filter(
        beneficiary_id=d.beneficiary_id, program=program, status__in=statuses,
        date__gte=dt.date(year, 1, 1), date__lte=dt.date(year, 12, 31),
    )
    if d.pk is not None:
        others = others.exclude(pk=d.pk)
    count = others.count()
    who = d.beneficiary.external_id
    if program.limit_count_per_year is not None and count + 1 > program.limit_count_per_year:
        raise LimitExceeded(
            f"program {program.code} allows {program.limit_count_per_year} disbursement(s) per beneficiary per "
            f"year; beneficiary {who} already has {count} in {year}",
            field="program",
        )
    if program.limit_amount_per_year is not None:
        total = others.exclude(amount__isnull=True).aggregate(s=Sum("amount"))["s"] or Decimal(0)
        total += sum((_limit_value(o) for o in others.filter(amount__isnull=True).select_related("program", "fund")),
                     Decimal(0))
        this = value if value is not None else _limit_value(d)
        limit = Decimal(program.limit_amount_per_year).quantize(CENT)
        total, this = Decimal(total).quantize(CENT), Decimal(this).quantize(CENT)
        if total + this > limit:
            raise LimitExceeded(
                f"program {program.code} allows {limit} CNY per beneficiary per year; "
                f"beneficiary {who} already has {total} CNY in {year}, and {this} more would make {total + this}",
                field="amount",
            )


def _locked(d: Disbursement) -> Disbursement:
    lock_one(d)
    return Disbursement.objects.select_related("program", "fund", "beneficiary", "batch").get(pk=d.pk)


def _posting_locks(disbursements, *own) -> None:
    """Lock what posting (or reversing) ``disbursements`` takes, in the order of ``ledger.locking``: the book, their
    funds, the stock balances of goods handed out, then the service's own rows (``own``, a batch; the
    beneficiaries, whose yearly limits are checked; the disbursements). The posting path locks the book and the
    funds again: rows this transaction holds already."""
    rows = []
    for d in Disbursement.objects.filter(pk__in=[d.pk for d in disbursements]).select_related(
            "book", "fund", "beneficiary", "program__stock_item"):
        rows += [d.book, d.fund, d.beneficiary, d]
        if d.program.kind == ProgramKind.IN_KIND and d.program.stock_item is not None:
            rows.append(Key(StockBalance, item=d.program.stock_item, fund=d.fund))
    lock(*rows, *own)


def _sync(target: Disbursement, source: Disbursement) -> Disbursement:
    """Copy the fresh state onto the caller's instance, so that callers holding it see the change."""
    for f in Disbursement._meta.concrete_fields:
        setattr(target, f.attname, getattr(source, f.attname))
    return target


def _not_in_batch(d: Disbursement, step: str) -> None:
    if d.batch_id is not None:
        raise InvalidTransition(
            f"disbursement {d.external_id} belongs to batch {d.batch.code}; {step} the batch as a whole",
            field="batch",
        )


def _expect(d: Disbursement, statuses, step: str) -> None:
    if d.status not in statuses:
        raise InvalidTransition(
            f"disbursement {d.external_id} is {d.status}; it cannot be {step}", field="status"
        )


# -- single disbursements -------------------------------------------------------------------------------------


@transaction.atomic
def disbursement_draft(
    *,
    book: Book,
    external_id: str,
    beneficiary: Beneficiary,
    program: Program,
    fund: Fund,
    date: dt.date,
    user,
    amount: Decimal | None = None,
    quantity: int = 1,
    description: str = "",
    batch: DisbursementBatch | None = None,
) -> Disbursement:
    """Propose aid. Checks the fund rule, the beneficiary, the amount and the program's yearly limits."""
    require(user, DRAFT, book)
    external_id = (external_id or "").strip()
    if not external_id or len(external_id) > 64:
        raise DisbursementError("an external id is 1 to 64 characters", field="external_id")
    if Disbursement.objects.filter(book=book, external_id=external_id).exists():
        raise DisbursementError(f"disbursement {external_id} already exists", field="external_id")
    for what, obj in (("beneficiary", beneficiary), ("program", program), ("fund", fund)):
        if obj.book_id != book.pk:
            raise DisbursementError(f"the {what} belongs to another trust", field=what)
    if beneficiary.status != BeneficiaryStatus.ACTIVE:
        raise DisbursementError(f"beneficiary {beneficiary.external_id} has exited the programs", field="beneficiary")
    if not program.active:
        raise DisbursementError(f"program {program.code} is not active", field="program")
    try:
        bounds.check_date(date)
    except LedgerError as exc:
        raise DisbursementError(exc.message, field="date") from None
    check_fund(program=program, fund=fund)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise DisbursementError(f"quantity {quantity!r} must be a whole number above zero", field="quantity")
    if program.kind == ProgramKind.CASH:
        if amount is None:
            raise DisbursementError(f"program {program.code} pays cash: the amount is required", field="amount")
        if quantity != 1:
            raise DisbursementError(f"program {program.code} pays cash: quantity does not apply", field="quantity")
        if program.pay_account_id is None:
            raise DisbursementError(f"program {program.code} has no account to pay from", field="program")
    if amount is not None:
        amount = _amount(amount)
    if batch is not None:
        if batch.book_id != book.pk:
            raise DisbursementError("the batch belongs to another trust", field="batch")
        if batch.status != BatchStatus.DRAFT:
            raise InvalidTransition(f"batch {batch.code} is {batch.status}; nothing can be added to it", field="batch")
    d = Disbursement(
        book=book, external_id=external_id, batch=batch, beneficiary=beneficiary, program=program, fund=fund,
        date=date, amount=amount, quantity=quantity, description=(description or "")[:500], created_by=user,
    )
    check_limits(disbursement=d)
    d.save()
    return d


def _approve(d: Disbursement, user, *, outside: bool) -> None:
    if not outside and user.pk == d.created_by_id:
        raise FourEyesViolation(
            f"disbursement {d.external_id} was drafted by {user.get_username()}; another user must approve it",
            field="approved_by",
        )
    d.status = DisbursementStatus.APPROVED
    d.approved_by = user
    d.approved_at = timezone.now()
    d.approved_outside = outside
    d.save(update_fields=["status", "approved_by", "approved_at", "approved_outside"])


@transaction.atomic
def disbursement_approve(*, disbursement: Disbursement, user) -> Disbursement:
    """Approve a draft that is not part of a batch. The approver must not be the drafter."""
    require(user, APPROVE, disbursement.book)
    d = _locked(disbursement)
    _not_in_batch(d, "approve")
    _expect(d, (DisbursementStatus.DRAFT,), "approved")
    _approve(d, user, outside=False)
    return _sync(disbursement, d)


def _refused(d: Disbursement, exc: LedgerError | AidError) -> PostingRefused:
    return PostingRefused(f"disbursement {d.external_id}: {exc.message}", field=exc.field, code=exc.code)


def _entry_key(d: Disbursement) -> str:
    """The idempotency key of a disbursement's entry in the ledger."""
    return f"disbursement:{d.external_id}"


def _post(d: Disbursement, user, posting) -> None:
    """Post one approved disbursement in ``posting`` (the caller holds the transaction and the locks of
    ``_posting_locks``)."""
    program = d.program
    value = d.amount
    if value is None and program.kind == ProgramKind.IN_KIND:
        value = estimated_value(program=program, fund=d.fund, quantity=d.quantity) or Decimal(0)
    try:
        check_limits(disbursement=d, statuses=POSTED_STATUSES, value=value)
    except LimitExceeded as exc:
        raise LimitExceeded(f"disbursement {d.external_id}: {exc.message}", field=exc.field) from exc
    try:
        if program.kind == ProgramKind.IN_KIND:
            move = stock_issue(
                item=program.stock_item, fund=d.fund, quantity=d.quantity, expense_account=program.expense_account,
                date=d.date, user=user, approved_by=d.approved_by, source=("disbursement", d.external_id),
                idempotency_key=_entry_key(d), expected_value=d.amount,
                memo=f"发放{program.name} {program.code} {d.external_id}: {d.quantity} x {program.stock_item.code}", posting=posting,
            )
            entry, amount, status = move.entry, -move.value_amount, DisbursementStatus.DELIVERED
        else:
            if program.pay_account_id is None:
                raise DisbursementError(f"program {program.code} has no account to pay from", field="program")
            entry = posting.post(
                book=d.book, date=d.date, memo=f"发放{program.name} {program.code} {d.external_id}", user=user,
                approved_by=d.approved_by, source=("disbursement", d.external_id),
                idempotency_key=_entry_key(d),
                legs=[Dr(program.expense_account, d.fund, d.amount), Cr(program.pay_account, d.fund, d.amount)],
            )
            amount, status = d.amount, DisbursementStatus.PAID
    except (LedgerError, AidError) as exc:
        raise _refused(d, exc) from exc
    d.entry, d.amount, d.status = entry, amount, status
    d.posted_by, d.posted_at = user, timezone.now()
    d.save(update_fields=["entry", "amount", "status", "posted_by", "posted_at"])


def disbursement_pay(*, disbursement: Disbursement, user) -> Disbursement:
    """Pay (cash) or deliver (goods) an approved disbursement: posts its entry. Not for batch members."""
    require(user, APPROVE, disbursement.book)
    with ledger.posting_batch() as posting:
        _posting_locks([disbursement])
        d = _locked(disbursement)
        _not_in_batch(d, "post")
        _expect(d, (DisbursementStatus.APPROVED,), "paid or delivered")
        _post(d, user, posting)
    return _sync(disbursement, d)


disbursement_deliver = disbursement_pay


def disbursement_record_given(*, disbursement: Disbursement, user, posting=None) -> Disbursement:
    """Record aid already given and approved outside the system (the import): approve as ``user`` and post."""
    require(user, APPROVE, disbursement.book)
    with ledger.posting_batch(posting) as posting:
        _posting_locks([disbursement])
        d = _locked(disbursement)
        _not_in_batch(d, "record")
        _expect(d, (DisbursementStatus.DRAFT,), "recorded as given")
        _approve(d, user, outside=True)
        _post(d, user, posting)
    return _sync(disbursement, d)


@transaction.atomic
def disbursement_verify(
    *, disbursement: Disbursement, user, date: dt.date, method: str, result: str, note: str = ""
) -> Verification:
    """Record a follow-up that the aid arrived (or not)."""
    require(user, DRAFT, disbursement.book)
    d = _locked(disbursement)
    _expect(d, (DisbursementStatus.PAID, DisbursementStatus.DELIVERED), "verified")
    if method not in VerificationMethod.values:
        raise DisbursementError(f"method {method!r} is not one of {', '.join(VerificationMethod.values)}", field="method")
    if result not in VerificationResult.values:
        raise DisbursementError(f"result {result!r} is not one of {', '.join(VerificationResult.values)}", field="result")
    if date < d.date or date > timezone.localdate():
        raise DisbursementError(
            f"verification date {date.isoformat()} must be between the disbursement's date and today", field="date"
        )
    verification = Verification.objects.create(
        disbursement=d, date=date, method=method, result=result, note=note, verified_by=user
    )
    d.status = DisbursementStatus.VERIFIED
    d.save(update_fields=["status"])
    _sync(disbursement, d)
    return verification


def _reason(reason: str) -> str:
    if not reason or not reason.strip():
        raise DisbursementError("a reason is required", field="reason")
    return reason.strip()[:500]


@transaction.atomic
def disbursement_cancel(*, disbursement: Disbursement, user, reason: str) -> Disbursement:
    """Cancel before posting. A member of an approved batch is cancelled with its batch."""
    require(user, APPROVE, disbursement.book)
    reason = _reason(reason)
    d = _locked(disbursement)
    _expect(d, (DisbursementStatus.DRAFT, DisbursementStatus.APPROVED), "cancelled (only a reversal undoes a posting)")
    if d.batch_id is not None and d.batch.status != BatchStatus.DRAFT:
        raise InvalidTransition(
            f"disbursement {d.external_id} is in batch {d.batch.code}, which is {d.batch.status}; cancel the batch",
            field="batch",
        )
    d.status, d.cancelled_by, d.cancelled_at, d.reason = DisbursementStatus.CANCELLED, user, timezone.now(), reason
    d.save(update_fields=["status", "cancelled_by", "cancelled_at", "reason"])
    return _sync(disbursement, d)


@transaction.atomic
def disbursement_reverse(*, disbursement: Disbursement, user, date: dt.date, reason: str) -> Disbursement:
    """Undo a posted disbursement with a reversing entry (goods go back into stock at the value they left)."""
    require(user, APPROVE, disbursement.book)
    reason = _reason(reason)
    _posting_locks([disbursement])
    d = _locked(disbursement)
    _expect(d, POSTED_STATUSES, "reversed")
    try:
        if d.program.kind == ProgramKind.IN_KIND:
            move = StockMove.objects.get(entry=d.entry)
            reversal = stock_reverse(move=move, date=date, reason=f"{d.external_id}: {reason}", user=user).entry
        else:
            reversal = ledger.entry_reverse(entry=d.entry, date=date, reason=f"{d.external_id}: {reason}", user=user)
    except (LedgerError, AidError) as exc:
        raise _refused(d, exc) from exc
    d.status, d.reversal_entry, d.reason = DisbursementStatus.REVERSED, reversal, reason
    d.save(update_fields=["status", "reversal_entry", "reason"])
    return _sync(disbursement, d)


# -- batches --------------------------------------------------------------------------------------------------


@transaction.atomic
def batch_create(*, book: Book, code: str, user, description: str = "") -> DisbursementBatch:
    require(user, DRAFT, book)
    code = (code or "").strip()
    if not code or len(code) > 64:
        raise DisbursementError("a batch code is 1 to 64 characters", field="batch")
    if DisbursementBatch.objects.filter(book=book, code=code).exists():
        raise DisbursementError(f"batch {code} already exists", field="batch")
    return DisbursementBatch.objects.create(book=book, code=code, description=description[:200], created_by=user)


def _locked_batch(batch: DisbursementBatch) -> DisbursementBatch:
    return lock_one(batch)


def _members(batch: DisbursementBatch, status: str) -> list[Disbursement]:
    """The batch's disbursements in ``status``, locked (after the batch: parent before children)."""
    pks = list(Disbursement.objects.filter(batch=batch, status=status).values_list("pk", flat=True))
    lock(*(Disbursement(pk=pk) for pk in pks))
    return list(
        Disbursement.objects
        .filter(pk__in=pks, status=status)
        .select_related("program", "fund", "beneficiary", "batch", "program__stock_item", "program__stock_item__book",
                        "program__stock_item__inventory_account",
                        "program__expense_account", "program__pay_account", "book")
        .order_by("pk")
    )


def _sync_batch(target: DisbursementBatch, source: DisbursementBatch) -> DisbursementBatch:
    for f in DisbursementBatch._meta.concrete_fields:
        setattr(target, f.attname, getattr(source, f.attname))
    return target


def _approve_batch(batch: DisbursementBatch, user, *, outside: bool) -> DisbursementBatch:
    locked = _locked_batch(batch)
    if locked.status != BatchStatus.DRAFT:
        raise InvalidTransition(f"batch {locked.code} is {locked.status}; it cannot be approved", field="status")
    members = _members(locked, DisbursementStatus.DRAFT)
    if not members:
        raise DisbursementError(f"batch {locked.code} holds no disbursement to approve", field="batch")
    if not outside:
        drafters = {locked.created_by_id} | {d.created_by_id for d in members}
        if user.pk in drafters:
            raise FourEyesViolation(
                f"batch {locked.code} (or a disbursement in it) was drafted by {user.get_username()}; another user "
                f"must approve it",
                field="approved_by",
            )
    for d in members:
        _approve(d, user, outside=outside)
    locked.status, locked.approved_by, locked.approved_at = BatchStatus.APPROVED, user, timezone.now()
    locked.approved_outside = outside
    locked.save(update_fields=["status", "approved_by", "approved_at", "approved_outside"])
    return locked


@transaction.atomic
def batch_approve(*, batch: DisbursementBatch, user) -> DisbursementBatch:
    """Approve every draft in the batch at once. The approver drafted neither the batch nor any of its rows."""
    require(user, APPROVE, batch.book)
    return _sync_batch(batch, _approve_batch(batch, user, outside=False))


def _batch_posting_locks(batch: DisbursementBatch, statuses) -> None:
    """``_posting_locks`` for the members of ``batch`` in ``statuses``, with the batch (before the members)."""
    _posting_locks(list(Disbursement.objects.filter(batch=batch, status__in=statuses)), batch)


def _post_batch(batch: DisbursementBatch, user, posting) -> DisbursementBatch:
    locked = _locked_batch(batch)
    if locked.status != BatchStatus.APPROVED:
        raise InvalidTransition(f"batch {locked.code} is {locked.status}; only an approved batch is posted", field="status")
    members = _members(locked, DisbursementStatus.APPROVED)
    if members:  # one query for all the entries' keys
        posting.expect_keys(locked.book, [_entry_key(d) for d in members])
    for d in members:
        try:
            _post(d, user, posting)
        except AidError as exc:
            exc.message = f"batch {locked.code}: nothing was posted: {exc.message}"
            exc.args = (exc.message,)
            exc.disbursement = d
            raise
    locked.status, locked.posted_by, locked.posted_at = BatchStatus.POSTED, user, timezone.now()
    locked.save(update_fields=["status", "posted_by", "posted_at"])
    return locked


def batch_post(*, batch: DisbursementBatch, user) -> DisbursementBatch:
    """Post every disbursement of an approved batch in one transaction: all of them or, on any refusal, none."""
    require(user, APPROVE, batch.book)
    with ledger.posting_batch() as posting:
        _batch_posting_locks(batch, (DisbursementStatus.APPROVED,))
        posted = _post_batch(batch, user, posting)
    return _sync_batch(batch, posted)


def batch_record_given(*, batch: DisbursementBatch, user, posting=None) -> DisbursementBatch:
    """Record a batch of aid already given and approved outside the system (the import) and post it."""
    require(user, APPROVE, batch.book)
    with ledger.posting_batch(posting) as posting:
        _batch_posting_locks(batch, (DisbursementStatus.DRAFT, DisbursementStatus.APPROVED))
        _approve_batch(batch, user, outside=True)
        posted = _post_batch(batch, user, posting)
    return _sync_batch(batch, posted)


@transaction.atomic
def batch_cancel(*, batch: DisbursementBatch, user, reason: str) -> DisbursementBatch:
    """Cancel a batch that has not been posted, with every disbursement still live in it."""
    require(user, APPROVE, batch.book)
    reason = _reason(reason)
    locked = _locked_batch(batch)
    if locked.status not in (BatchStatus.DRAFT, BatchStatus.APPROVED):
        raise InvalidTransition(f"batch {locked.code} is {locked.status}; it cannot be cancelled", field="status")
    now = timezone.now()
    Disbursement.objects.filter(
        batch=locked, status__in=(DisbursementStatus.DRAFT, DisbursementStatus.APPROVED)
    ).update(status=DisbursementStatus.CANCELLED, cancelled_by=user, cancelled_at=now, reason=reason)
    locked.status = BatchStatus.CANCELLED
    locked.save(update_fields=["status"])
    return _sync_batch(batch, locked)
