"""Expenses paid by a fund: management, the trust's fees (trustee, custodian, supervisor), fundraising, bank fees,
a program's delivery costs, a management fee charged to a restricted fund its terms allow, and stock bought for
the aid inventory.

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
from decimal import InvalidOperation, ROUND_HALF_EVEN

from beneficiaries.models import Program, StockBalance, StockItem
from beneficiaries.services import stock_purchase
from ledger import selectors
from ledger import services as ledger
from ledger.models import AccountType, Fund, Restriction, from_minor
from ledger.services import Cr, Dr
from ledger.authority import require
from ledger.locking import Key, lock

from .. import chart
from ..errors import ApprovalRequired, DuplicateExternalId, ExpenseError, InsufficientFunds, PurposeRefused
from ..roles import APPROVE_EXPENSES, RECORD
from ..models import Expense, ExpenseKind, ExpenseRequest, ExpenseRequestStatus, FundTerms, PayableAccount, Trust
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
    if kind == ExpenseKind.MANAGEMENT_FEE:
        if fund.restriction != Restriction.RESTRICTED:
            raise PurposeRefused(
                f"a management fee (management_fee) is charged to a restricted fund under its terms; fund "
                f"{fund.code} is unrestricted: record its management costs as admin", field="fund")
        if not FundTerms.objects.filter(fund=fund).exists():
            raise PurposeRefused(
                f"fund {fund.code} has no terms allowing a management fee (management_fee_rate): a restricted "
                f"fund bears one only where its donor agreement allows it", field="fund")
        return
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
        and e.payable == want["payable"] and e.due_date == want["due_date"]
    )


def expense_record(
    *, trust: Trust, external_id: str, date: dt.date, kind: str, fund: Fund, amount, user,
    item: StockItem | str | None = None, quantity: int | None = None, unit_cost=None, payee: str = "",
    description: str = "", invoice_number: str = "", program: Program | str | None = None, posting=None,
    payable: str = "", due_date: dt.date | None = None,
) -> tuple[Expense, bool]:
    """Record and post an expense paid from the bank (1002) by ``fund``: ``(expense, created)``, as
    ``get_or_create`` answers. A program's delivery costs (``program_cost``) name the ``program`` (object or
    code) whose expense account (业务活动成本) bears them; that program's restricted fund may pay them. Idempotent
    on ``external_id``: the same expense again returns the first record (``created`` False) and writes nothing.

    Recorded when invoiced, ``payable`` names the liability it is owed on instead (``2202`` 应付账款, a
    supplier's invoice; ``2209`` 其他应付款), due on ``due_date`` (blank: at once), and is paid later with
    ``expense_payment_record``. The threshold applies here all the same: the liability is the commitment.

    Above the trust's ``expense_approval_threshold`` it is refused (``ApprovalRequired``): such an expense is
    drafted with ``expense_request_draft`` and recorded when another user approves it."""
    require(user, RECORD, trust.book)
    return _record(trust=trust, external_id=external_id, date=date, kind=kind, fund=fund, amount=amount, user=user,
                   item=item, quantity=quantity, unit_cost=unit_cost, payee=payee, description=description,
                   invoice_number=invoice_number, program=program, approved_by=None, posting=posting,
                   payable=payable, due_date=due_date)


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


def _payable(*, kind: str, payee: str, date: dt.date, payable, due_date) -> tuple[str, dt.date | None]:
    """The payable account an expense is owed on ("" when paid at once) and its due date, checked."""
    payable = (payable or "").strip()
    if not payable:
        if due_date is not None:
            raise ExpenseError("a due date is for an expense recorded as payable (2202 or 2209) only",
                               field="due_date")
        return "", None
    if payable not in PayableAccount.values:
        raise ExpenseError(f"payable {payable!r} is not one of 2202 (accounts payable) and 2209 (other payables)",
                           field="payable")
    if kind == ExpenseKind.MANAGEMENT_FEE:
        raise ExpenseError("a management fee moves money within the trust: it is never owed to a supplier, so it "
                           "cannot be recorded as payable", field="payable")
    if not payee:
        raise ExpenseError("an expense recorded as payable names its payee (whom the trust owes)", field="payee")
    if due_date is not None:
        due_date = check_date(due_date)
        if due_date < date:
            raise ExpenseError(f"due date {due_date.isoformat()} is before the expense's date {date.isoformat()}",
                               field="due_date")
    return payable, due_date


def _record(*, trust, external_id, date, kind, fund, amount, user, item, quantity, unit_cost, payee, description,
            approved_by, invoice_number="", program=None, posting=None, payable="",
            due_date=None) -> tuple[Expense, bool]:
    external_id, date, amount = _basics(trust=trust, external_id=external_id, date=date, kind=kind, fund=fund,
                                        amount=amount)
    payee, description = (payee or "").strip(), (description or "").strip()
    payable, due_date = _payable(kind=kind, payee=payee, date=date, payable=payable, due_date=due_date)
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
                program=program, payable=payable, due_date=due_date)
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
    # Paid at once from the bank, or owed on the payable until paid (``expense_payment_record``).
    bank = account(trust, payable or chart.BANK)
    with unique_or(f"expense {external_id} is being recorded twice"), ledger.posting_batch(posting) as posting, \
            translated(ExpenseError):
        if kind == ExpenseKind.INVENTORY_PURCHASE:
            # The book (which serialises every posting of the trust), the fund, then the stock balance row
            # (ledger.locking), so the check below cannot be overtaken.
            lock(trust.book, fund, Key(StockBalance, item=item, fund=fund))
            _check_liquid(fund=fund, amount=amount, posting=posting)
            entry = stock_purchase(
                item=item, fund=fund, quantity=quantity, amount=amount, pay_account=bank, date=date, user=user,
                memo=memo, source=source, idempotency_key=key, approved_by=approved_by, posting=posting,
            ).entry
        elif kind == ExpenseKind.MANAGEMENT_FEE:
            lock(trust.book, fund, general_fund(trust))  # the book serialises the fees of the trust
            _check_fee_allowance(trust=trust, fund=fund, date=date, amount=amount)
            entry = posting.post(
                book=trust.book, date=date, memo=memo, user=user, idempotency_key=key, source=source,
                legs=management_fee_legs(trust, fund, amount, bank), approved_by=approved_by,
            )
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
            invoice_number=invoice_number, program=program, created_by=user, payable=payable, due_date=due_date,
        ), True


# -- a management fee charged to a restricted fund --------------------------------------------------------------


def general_fund(trust: Trust) -> Fund:
    """The trust's unrestricted fund (``chart.GENERAL_FUND``, else the first unrestricted one by code)."""
    funds = Fund.objects.filter(book_id=trust.book_id, restriction=Restriction.UNRESTRICTED).order_by("code")
    fund = funds.filter(code=chart.GENERAL_FUND[0]).first() or funds.first()
    if fund is None:
        raise ExpenseError("the trust has no unrestricted fund to bear a management expense", field="fund")
    return fund


def management_fee_legs(trust: Trust, fund: Fund, amount: Decimal, bank) -> list:
    """The fee as the standard presents it: the restriction released (限定性净资产转为非限定性净资产) and a
    management expense in the unrestricted column. In ``fund`` (restricted): Dr 3102 / Cr bank; in the general
    fund: Dr bank / Cr 3101 and Dr management / Cr bank. No expense is debited to the restricted fund, so the
    purpose rule (service and database) holds unchanged; every fund balances on its own."""
    general = general_fund(trust)
    return [
        Dr(account(trust, chart.NET_ASSETS_RESTRICTED), fund, amount), Cr(bank, fund, amount),
        Dr(bank, general, amount), Cr(account(trust, chart.NET_ASSETS_UNRESTRICTED), general, amount),
        Dr(account(trust, chart.MANAGEMENT), general, amount), Cr(bank, general, amount),
    ]


def fee_allowance(*, trust: Trust, fund: Fund, date: dt.date) -> dict:
    """What ``fund``'s terms allow as management fees in ``date``'s year up to ``date``: ``received`` (its
    donation income, 捐赠收入 net of refunds, from 1 January through ``date``), ``by_rate`` (``rate`` % of it, to
    the fen, half-even), ``cap``, ``limit`` (the smaller), ``charged`` (fees already recorded in the year, reversed
    ones left out) and ``remaining`` (limit - charged, never below zero)."""
    terms = FundTerms.objects.get(fund=fund)
    year_start = dt.date(date.year, 1, 1)
    donation_accounts = [pk for pk, code in trust.book.accounts.filter(type=AccountType.INCOME)
                         .values_list("pk", "code") if chart.line_code(code) == chart.line_code(chart.DONATION_RESTRICTED)]
    moved = selectors.movements(trust.book_id, since=year_start, as_of=date, fund_ids=[fund.pk],
                                account_ids=donation_accounts, group=("fund_id",), closing=False)
    debit, credit = moved.get((fund.pk,), [0, 0])
    received = from_minor(credit - debit)
    by_rate = (received * terms.management_fee_rate / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
    by_rate = max(by_rate, Decimal("0.00"))
    cap = terms.management_fee_cap
    limit = by_rate if cap is None else min(by_rate, cap)
    charged = (Expense.objects.filter(trust=trust, fund=fund, kind=ExpenseKind.MANAGEMENT_FEE,
                                      date__year=date.year, entry__reversed_by__isnull=True)
               .aggregate(v=Sum("amount"))["v"] or Decimal("0.00"))
    charged = Decimal(charged).quantize(Decimal("0.01"))  # SQLite's SUM drops trailing zeros
    return {"rate": terms.management_fee_rate, "received": received, "by_rate": by_rate, "cap": cap,
            "limit": limit, "charged": charged, "remaining": max(limit - charged, Decimal("0.00"))}


def _check_fee_allowance(*, trust: Trust, fund: Fund, date: dt.date, amount: Decimal) -> None:
    a = fee_allowance(trust=trust, fund=fund, date=date)
    if amount > a["remaining"]:
        cap = "no cap" if a["cap"] is None else f"cap {a['cap']} CNY"
        raise ExpenseError(
            f"a management fee of {amount} CNY exceeds what fund {fund.code}'s terms allow: {a['rate']}% of "
            f"{a['received']} CNY received from {date.year}-01-01 to {date.isoformat()} = {a['by_rate']} CNY, "
            f"{cap}, already charged {a['charged']} CNY in {date.year}: at most {a['remaining']} CNY",
            field="amount")


def _percent(value) -> Decimal:
    if isinstance(value, (float, bool)) or value is None:
        raise ExpenseError("the management fee rate is a decimal percentage from 0 to 100",
                           field="management_fee_rate")
    try:
        rate = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ExpenseError(f"{value!r} is not a percentage", field="management_fee_rate") from None
    if not rate.is_finite() or rate < 0 or rate > 100 or rate != rate.quantize(Decimal("0.01")):
        raise ExpenseError(f"management fee rate {rate} must be from 0 to 100 with at most two decimal places",
                           field="management_fee_rate")
    return rate.quantize(Decimal("0.01"))


def _cap(value) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, (float, bool)):
        raise ExpenseError("the management fee cap is a CNY amount", field="management_fee_cap")
    try:
        cap = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ExpenseError(f"{value!r} is not an amount", field="management_fee_cap") from None
    if not cap.is_finite() or cap < 0 or cap != cap.quantize(Decimal("0.01")) or cap >= Decimal("1e12"):
        raise ExpenseError(f"management fee cap {cap} must be an amount in CNY, zero or more, two decimal places",
                           field="management_fee_cap")
    return cap.quantize(Decimal("0.01"))


@transaction.atomic
def fund_terms_set(*, fund: Fund, management_fee_rate, management_fee_cap=None, user) -> FundTerms:
    """Set a restricted fund's terms: the management fee its donor agreement allows (``management_fee_rate`` % of
    what it received in the year to date, at most ``management_fee_cap`` CNY a year; no cap when None). Held by
    approvers (``charity.approve_expenses``), so the officer who charges a fee does not set what it may be."""
    require(user, APPROVE_EXPENSES, fund.book)
    if fund.restriction != Restriction.RESTRICTED:
        raise ExpenseError(f"fund {fund.code} is {fund.restriction}: terms allowing a management fee are for "
                           f"restricted funds only", field="fund")
    rate, cap = _percent(management_fee_rate), _cap(management_fee_cap)
    terms, _created = FundTerms.objects.update_or_create(
        fund=fund, defaults={"management_fee_rate": rate, "management_fee_cap": cap, "updated_by": user})
    return terms


# -- expenses above the threshold: four eyes ---------------------------------------------------------------------

@transaction.atomic
def expense_request_draft(
    *, trust: Trust, external_id: str, date: dt.date, kind: str, fund: Fund, amount, user,
    item: StockItem | str | None = None, quantity: int | None = None, unit_cost=None, payee: str = "",
    description: str = "", invoice_number: str = "", program: Program | str | None = None,
    payable: str = "", due_date: dt.date | None = None,
) -> ExpenseRequest:
    """Draft an expense for another user's approval (any amount; above the threshold, the only way). A payable
    (``payable``, ``due_date``) is drafted the same way: nothing is owed, and nothing can be paid, until approved."""
    require(user, RECORD, trust.book)
    external_id, date, amount = _basics(trust=trust, external_id=external_id, date=date, kind=kind, fund=fund,
                                        amount=amount)
    payable, due_date = _payable(kind=kind, payee=(payee or "").strip(), date=date, payable=payable,
                                 due_date=due_date)
    if Expense.objects.filter(trust=trust, external_id=external_id).exists() or \
            ExpenseRequest.objects.filter(trust=trust, external_id=external_id).exists():
        raise DuplicateExternalId(f"expense {external_id} already exists", field="external_id")
    program = _program(trust, kind, program)
    data = {"date": date.isoformat(), "kind": kind, "fund": fund.code, "amount": str(amount),
            "item": item.code if isinstance(item, StockItem) else (item or None), "quantity": quantity,
            "unit_cost": None if unit_cost is None else str(unit_cost), "payee": (payee or "").strip()[:200],
            "description": (description or "").strip()[:2000], "invoice_number": _invoice(invoice_number),
            "program": program.code if program else None}
    if payable:  # only when used, so that the data of every other draft stays as it was
        data.update(payable=payable, due_date=due_date.isoformat() if due_date else None)
    return ExpenseRequest.objects.create(trust=trust, external_id=external_id, data=data, requested_by=user)


def _posting_rows(request: ExpenseRequest) -> list:
    """What approving ``request`` will lock when it posts (``ledger.locking``): the book, the fund (and for a fee
    the general fund), the stock balance of a purchase; taken before the request's own row."""
    trust, data = request.trust, request.data
    fund = Fund.objects.filter(book_id=trust.book_id, code=data.get("fund")).first()
    rows = [trust.book, fund]
    if data.get("kind") == ExpenseKind.MANAGEMENT_FEE:
        rows.append(general_fund(trust))
    item = data.get("item") and StockItem.objects.filter(book_id=trust.book_id, code=data["item"]).first()
    if data.get("kind") == ExpenseKind.INVENTORY_PURCHASE and item and fund:
        rows.append(Key(StockBalance, item=item, fund=fund))
    return rows


def _decide(request: ExpenseRequest, user, *, posts: bool = False) -> ExpenseRequest:
    return locked_draft(request, user, perm=APPROVE_EXPENSES, drafter="requested_by",
                        label=f"expense {request.external_id}", error=ExpenseError,
                        ahead=_posting_rows(request) if posts else ())


@transaction.atomic
def expense_request_approve(*, request: ExpenseRequest, user) -> ExpenseRequest:
    """Approve a drafted expense: it is recorded and posted, by its drafter, with ``user`` as its approver."""
    locked = _decide(request, user, posts=True)
    data, trust = locked.data, locked.trust
    expense, _created = _record(
        trust=trust, external_id=locked.external_id, date=dt.date.fromisoformat(data["date"]), kind=data["kind"],
        fund=Fund.objects.get(book_id=trust.book_id, code=data["fund"]), amount=Decimal(data["amount"]),
        user=locked.requested_by, item=data.get("item"), quantity=data.get("quantity"),
        unit_cost=None if data.get("unit_cost") is None else Decimal(data["unit_cost"]), payee=data.get("payee", ""),
        description=data.get("description", ""), invoice_number=data.get("invoice_number", ""),
        program=data.get("program"), approved_by=user, payable=data.get("payable") or "",
        due_date=dt.date.fromisoformat(data["due_date"]) if data.get("due_date") else None)
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
