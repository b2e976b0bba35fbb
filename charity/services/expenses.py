"""Expenses paid by a fund: management, the trust's fees (trustee, custodian, supervisor), fundraising, bank fees,
a program's delivery costs, and stock bought for the aid inventory.

The purpose rules (docs/ledger.md, "Funds and the restricted-fund rule") are checked here first, so that the
refusal names the fund and the rule in the trust's words; the ledger holds the same rules again for every expense
leg (and its database triggers a third time). Stock bought belongs to the fund that pays and must serve that
fund's program; buying is not spending (cash becomes inventory), so a restricted fund may buy only with what it
holds that is not already in stock.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.db.models import Sum

from beneficiaries.models import Program, StockBalance, StockItem
from beneficiaries.services import stock_purchase
from ledger import services as ledger
from ledger.models import Book, Fund, Restriction, from_minor
from ledger.services import Cr, Dr
from ledger.authority import require

from .. import chart
from ..errors import ApprovalRequired, DuplicateExternalId, ExpenseError, InsufficientFunds, PurposeRefused
from ..roles import APPROVE_EXPENSES, RECORD
from ..models import Expense, ExpenseKind, ExpenseRequest, ExpenseRequestStatus, Trust
from ._common import (account, check_date, check_external_id, check_fund, locked_draft, money_parts, translated,
                      unique_or)

EXPENSE_ACCOUNTS = {
    ExpenseKind.ADMIN: chart.MANAGEMENT,
    ExpenseKind.BANK_FEE: chart.BANK_FEES,
    ExpenseKind.FUNDRAISING: chart.FUNDRAISING,
    ExpenseKind.TRUSTEE_FEE: chart.TRUSTEE_FEE,
    ExpenseKind.CUSTODIAN_FEE: chart.CUSTODIAN_FEE,
    ExpenseKind.SUPERVISOR_FEE: chart.SUPERVISOR_FEE,
}
RULE_GENERAL = (
    "management and fundraising expenses, the trust's fees and bank fees cannot be charged to a restricted fund; "
    "only the unrestricted fund pays for them"
)


def _check_purpose(*, trust: Trust, fund: Fund, kind: str, item: StockItem | None,
                   program: Program | None = None) -> None:
    if fund.restriction == Restriction.ENDOWMENT:
        raise PurposeRefused(
            f"fund {fund.code} is an endowment: its principal is never spent, only what it earns", field="fund"
        )
    if fund.restriction != Restriction.RESTRICTED:
        return
    if kind == ExpenseKind.PROGRAM_COST:
        if fund.purpose != program.code:
            raise PurposeRefused(
                f"fund {fund.code} is restricted to {fund.purpose or 'its purpose'}: it may pay the delivery costs "
                f"of that program only, not of {program.code}", field="fund",
            )
        return
    if kind != ExpenseKind.INVENTORY_PURCHASE:
        raise PurposeRefused(f"fund {fund.code} is restricted to {fund.purpose or 'its purpose'}: {RULE_GENERAL}",
                             field="fund")
    program = Program.objects.filter(book_id=trust.book_id, code=fund.purpose).select_related("stock_item").first()
    if program is None or program.stock_item_id != item.pk:
        raise PurposeRefused(
            f"fund {fund.code} is restricted to {fund.purpose or 'its purpose'}: it may buy only that program's "
            f"stock, not {item.code}", field="item",
        )


def _check_liquid(*, fund: Fund, amount: Decimal, posting) -> None:
    """A restricted fund's money not yet in stock must cover the purchase (its spendable balance >= 0)."""
    if fund.restriction == Restriction.UNRESTRICTED:
        return
    net = posting.net_assets(fund)
    in_stock = StockBalance.objects.filter(fund=fund).aggregate(v=Sum("value"))["v"] or 0
    liquid = net - from_minor(in_stock)
    if amount > liquid:
        raise InsufficientFunds(
            f"fund {fund.code} holds {liquid} CNY not already in stock; a purchase of {amount} CNY would take its "
            f"spendable balance below zero", field="amount",
        )


def _same(e: Expense, **want) -> bool:
    return (
        e.date == want["date"] and e.kind == want["kind"] and e.fund_id == want["fund"].pk
        and e.amount.amount == want["amount"] and e.item_id == (want["item"].pk if want["item"] else None)
        and e.quantity == want["quantity"] and e.unit_cost == want["unit_cost"] and e.payee == want["payee"]
        and e.description == want["description"] and e.invoice_number == want["invoice_number"]
        and e.program_id == (want["program"].pk if want["program"] else None)
    )


def expense_record(
    *, trust: Trust, external_id: str, date: dt.date, kind: str, fund: Fund, amount, user,
    item: StockItem | str | None = None, quantity: int | None = None, unit_cost=None, payee: str = "",
    description: str = "", invoice_number: str = "", program: Program | str | None = None, posting=None,
) -> tuple[Expense, bool]:
    """Record and post an expense paid from the bank (1002) by ``fund``: ``(expense, created)``, as
    ``get_or_create`` answers. A program's delivery costs (``program_cost``) name the ``program`` (object or
    code) whose expense account (业务活动成本) bears them; that program's restricted fund may pay them. Idempotent on ``external_id``: the same expense again returns the first record
    (``created`` False) and writes nothing.

    Above the trust's ``expense_approval_threshold`` it is refused (``ApprovalRequired``): such an expense is
    drafted with ``expense_request_draft`` and recorded when another user approves it."""
    require(user, RECORD, trust.book)
    return _record(trust=trust, external_id=external_id, date=date, kind=kind, fund=fund, amount=amount, user=user,
                   item=item, quantity=quantity, unit_cost=unit_cost, payee=payee, description=description,
                   invoice_number=invoice_number, program=program, approved_by=None, posting=posting)


def _basics(*, trust, external_id, date, kind, fund, amount) -> tuple[str, dt.date, Decimal]:
    """What every expense is checked for first: its id, date, CNY amount, fund and kind."""
    external_id = check_external_id(external_id)
    date = check_date(date)
    amount, currency = money_parts(amount, None)
    if currency != "CNY":
        raise ExpenseError("expenses are paid in CNY", field="currency")
    check_fund(trust, fund)
    if kind not in ExpenseKind.values:
        raise ExpenseError(f"expense kind {kind!r} is not one of {', '.join(ExpenseKind.values)}", field="kind")
    return external_id, date, amount


def _program(trust: Trust, kind: str, program) -> Program | None:
    """The program a ``program_cost`` names (required), and none for any other kind."""
    if kind != ExpenseKind.PROGRAM_COST:
        if program:
            raise ExpenseError("a program is named for program delivery costs (program_cost) only", field="program")
        return None
    if isinstance(program, str):
        code = program.strip()
        program = Program.objects.filter(book_id=trust.book_id, code=code).first() if code else None
        if program is None and code:
            raise ExpenseError(f"{code!r} is not a program of this trust", field="program")
    if program is None:
        raise ExpenseError("program delivery costs (program_cost) name the program they serve", field="program")
    if program.book_id != trust.book_id:
        raise ExpenseError("the program is not a program of this trust", field="program")
    return program


def _invoice(value) -> str:
    value = (value or "").strip()
    if len(value) > 64:
        raise ExpenseError("an invoice number is at most 64 characters", field="invoice_number")
    return value


def _record(*, trust, external_id, date, kind, fund, amount, user, item, quantity, unit_cost, payee, description,
            approved_by, invoice_number="", program=None, posting=None) -> tuple[Expense, bool]:
    external_id, date, amount = _basics(trust=trust, external_id=external_id, date=date, kind=kind, fund=fund,
                                        amount=amount)
    payee, description = (payee or "").strip(), (description or "").strip()
    if len(payee) > 200:
        raise ExpenseError("a payee is at most 200 characters", field="payee")
    if len(description) > 2000:
        raise ExpenseError("a description is at most 2000 characters", field="description")
    invoice_number = _invoice(invoice_number)
    program = _program(trust, kind, program)
    if kind == ExpenseKind.INVENTORY_PURCHASE:
        if isinstance(item, str):
            item = StockItem.objects.filter(book_id=trust.book_id, code=item).first()
            if item is None:
                raise ExpenseError("the item is not a stock item of this trust", field="item")
        if item is None or item.book_id != trust.book_id:
            raise ExpenseError("a purchase names a stock item of this trust", field="item")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
            raise ExpenseError("a purchase has a quantity: a whole number above zero", field="quantity")
        if unit_cost is not None:
            unit_cost, _ = money_parts(unit_cost, "CNY")
            if unit_cost * quantity != amount:
                raise ExpenseError(
                    f"amount {amount} does not equal quantity {quantity} x unit cost {unit_cost} "
                    f"({unit_cost * quantity})", field="amount",
                )
    elif item or quantity is not None or unit_cost is not None:
        raise ExpenseError("item, quantity and unit cost are for inventory purchases only", field="item")
    want = dict(date=date, kind=kind, fund=fund, amount=amount, item=item or None, quantity=quantity,
                unit_cost=unit_cost, payee=payee, description=description, invoice_number=invoice_number,
                program=program)
    existing = Expense.objects.filter(trust=trust, external_id=external_id).first()
    if existing is not None:
        if _same(existing, **want):
            return existing, False
        raise DuplicateExternalId(f"expense {external_id} was already recorded with different content",
                                  field="external_id")
    threshold = trust.expense_approval_threshold
    if approved_by is None and threshold is not None and amount > threshold:
        raise ApprovalRequired(
            f"expense {external_id} of {amount} CNY is above the trust's approval threshold of {threshold} CNY: "
            f"draft it for another user's approval", field="amount")
    _check_purpose(trust=trust, fund=fund, kind=kind, item=item, program=program)
    key, source = f"expense:{external_id}", ("expense", external_id)
    memo = (f"支出 Expense {external_id}" + (f" 付给 to {payee}" if payee else "")
            + (f": {description}" if description else ""))
    bank = account(trust, chart.BANK)
    with unique_or(f"expense {external_id} is being recorded twice"), ledger.posting_batch(posting) as posting, \
            translated(ExpenseError):
        if kind == ExpenseKind.INVENTORY_PURCHASE:
            # Lock order as in beneficiaries.services.stock: the stock balance row, then the book (which
            # serialises every posting of the trust), so the check below cannot be overtaken.
            StockBalance.objects.get_or_create(item=item, fund=fund)
            StockBalance.objects.select_for_update().get(item=item, fund=fund)
            Book.objects.select_for_update().get(pk=trust.book_id)
            _check_liquid(fund=fund, amount=amount, posting=posting)
            entry = stock_purchase(
                item=item, fund=fund, quantity=quantity, amount=amount, pay_account=bank, date=date, user=user,
                memo=memo, source=source, idempotency_key=key, approved_by=approved_by, posting=posting,
            ).entry
        else:
            charged = program.expense_account if program else account(trust, EXPENSE_ACCOUNTS[kind])
            entry = posting.post(
                book=trust.book, date=date, memo=memo, user=user, idempotency_key=key, source=source,
                legs=[Dr(charged, fund, amount), Cr(bank, fund, amount)],
                approved_by=approved_by,
            )
        replay = Expense.objects.filter(entry=entry).first()
        if replay is not None:
            return replay, False
        return Expense.objects.create(
            trust=trust, external_id=external_id, date=date, kind=kind, fund=fund, amount=amount, item=item or None,
            quantity=quantity, unit_cost=unit_cost, payee=payee, description=description, entry=entry,
            invoice_number=invoice_number, program=program, created_by=user,
        ), True


# -- expenses above the threshold: four eyes ---------------------------------------------------------------------

@transaction.atomic
def expense_request_draft(
    *, trust: Trust, external_id: str, date: dt.date, kind: str, fund: Fund, amount, user,
    item: StockItem | str | None = None, quantity: int | None = None, unit_cost=None, payee: str = "",
    description: str = "", invoice_number: str = "", program: Program | str | None = None,
) -> ExpenseRequest:
    """Draft an expense for another user's approval (any amount; above the threshold, the only way)."""
    require(user, RECORD, trust.book)
    external_id, date, amount = _basics(trust=trust, external_id=external_id, date=date, kind=kind, fund=fund,
                                        amount=amount)
    if Expense.objects.filter(trust=trust, external_id=external_id).exists() or \
            ExpenseRequest.objects.filter(trust=trust, external_id=external_id).exists():
        raise DuplicateExternalId(f"expense {external_id} already exists", field="external_id")
    program = _program(trust, kind, program)
    data = {"date": date.isoformat(), "kind": kind, "fund": fund.code, "amount": str(amount),
            "item": item.code if isinstance(item, StockItem) else (item or None), "quantity": quantity,
            "unit_cost": None if unit_cost is None else str(unit_cost), "payee": (payee or "").strip()[:200],
            "description": (description or "").strip()[:2000], "invoice_number": _invoice(invoice_number),
            "program": program.code if program else None}
    return ExpenseRequest.objects.create(trust=trust, external_id=external_id, data=data, requested_by=user)


def _decide(request: ExpenseRequest, user) -> ExpenseRequest:
    return locked_draft(request, user, perm=APPROVE_EXPENSES, drafter="requested_by",
                        label=f"expense {request.external_id}", error=ExpenseError)


@transaction.atomic
def expense_request_approve(*, request: ExpenseRequest, user) -> ExpenseRequest:
    """Approve a drafted expense: it is recorded and posted, by its drafter, with ``user`` as its approver."""
    locked = _decide(request, user)
    data, trust = locked.data, locked.trust
    expense, _created = _record(
        trust=trust, external_id=locked.external_id, date=dt.date.fromisoformat(data["date"]), kind=data["kind"],
        fund=Fund.objects.get(book_id=trust.book_id, code=data["fund"]), amount=Decimal(data["amount"]),
        user=locked.requested_by, item=data.get("item"), quantity=data.get("quantity"),
        unit_cost=None if data.get("unit_cost") is None else Decimal(data["unit_cost"]), payee=data.get("payee", ""),
        description=data.get("description", ""), invoice_number=data.get("invoice_number", ""),
        program=data.get("program"), approved_by=user)
    locked.status, locked.expense = ExpenseRequestStatus.POSTED, expense
    locked.decided_by, locked.decided_at = user, timezone.now()
    locked.save(update_fields=["status", "expense", "decided_by", "decided_at"])
    return locked


@transaction.atomic
def expense_request_reject(*, request: ExpenseRequest, user, reason: str) -> ExpenseRequest:
    reason = (reason or "").strip()
    if not reason:
        raise ExpenseError("a rejection needs a reason", field="reason")
    locked = _decide(request, user)
    locked.status, locked.reason = ExpenseRequestStatus.REJECTED, reason[:500]
    locked.decided_by, locked.decided_at = user, timezone.now()
    locked.save(update_fields=["status", "reason", "decided_by", "decided_at"])
    return locked


@transaction.atomic
def trust_set_expense_threshold(*, trust: Trust, threshold, user) -> Trust:
    """Set (or clear, with None) the amount above which an expense needs a second person. Administrators only."""
    require(user, "charity.change_trust", None)
    if threshold is not None:
        threshold, _ = money_parts(threshold, "CNY")
    Trust.objects.filter(pk=trust.pk).update(expense_approval_threshold=threshold)
    trust.expense_approval_threshold = threshold
    return trust
