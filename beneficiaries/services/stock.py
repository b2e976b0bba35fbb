"""Stock movements. Each posts one ledger entry and records one ``StockMove`` in the same transaction.

Lock order (``ledger.locking``): the book, the fund, then the stock balance row (created up front when missing);
``entry_post`` then locks the book and the fund again, which this transaction already holds.
Weighted-average cost: an issue of q units from a balance of Q units worth V fen is valued at
``round_half_even(V * q / Q)``; the last units out take whatever value is left, so value never strands.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_EVEN, Decimal


from ledger import services as ledger
from ledger.locking import Key, lock
from ledger.models import Account, AccountType, Book, Fund, JournalEntry, from_minor, to_minor
from ledger.services import Cr, Dr
from ledger.authority import POST_ENTRIES, require

from ..authority import STOCK
from ..errors import InsufficientStock, StockError
from ..models import StockBalance, StockItem, StockMove, StockMoveKind


def stock_item_create(
    *, book: Book, code: str, name: str, inventory_account: Account, user, name_en: str = "", unit: str = ""
) -> StockItem:
    require(user, STOCK, book)
    if not code or len(code) > 64:
        raise StockError("an item code is 1 to 64 characters", field="item")
    if inventory_account.book_id != book.pk or inventory_account.type != AccountType.ASSET:
        raise StockError("an item's inventory account must be an asset account of the same book", field="item")
    item, _ = StockItem.objects.get_or_create(
        book=book, code=code,
        defaults={"name": name or code, "name_en": name_en, "unit": unit, "inventory_account": inventory_account},
    )
    return item


def _locked_balance(item: StockItem, fund: Fund) -> StockBalance:
    """The balance of (item, fund), locked after the book and the fund (``ledger.locking``)."""
    _book, _fund, balance = lock(item.book, fund, Key(StockBalance, item=item, fund=fund))
    return balance


def _check_quantity(quantity: int) -> None:
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
        raise StockError(f"quantity {quantity!r} must be a whole number above zero", field="quantity")


def _replayed(entry: JournalEntry) -> StockMove | None:
    return StockMove.objects.filter(entry=entry).first()


def _move_in(*, kind, item, fund, quantity, value: Decimal, credit_account, date, user, memo, source,
             idempotency_key, fx_rate=None, currency="CNY", approved_by=None, posting=None) -> StockMove:
    _check_quantity(quantity)
    if item.book_id != fund.book_id:
        raise StockError("the item and the fund belong to different books", field="fund")
    with ledger.posting_batch(posting) as posting:
        balance = _locked_balance(item, fund)
        entry = posting.post(
            book=item.book, date=date, memo=memo, user=user, idempotency_key=idempotency_key, source=source,
            fx_rate=fx_rate, approved_by=approved_by,
            legs=[Dr(item.inventory_account, fund, value, currency), Cr(credit_account, fund, value, currency)],
        )
        existing = _replayed(entry)
        if existing is not None:
            return existing
        fen = sum(leg.debit_cny for leg in entry.posted_legs)
        StockBalance.objects.filter(pk=balance.pk).update(
            quantity=balance.quantity + quantity, value=balance.value + fen
        )
        return StockMove.objects.create(
            item=item, fund=fund, date=date, kind=kind, quantity=quantity, value=fen, entry=entry, created_by=user
        )


def stock_receive(
    *, item: StockItem, fund: Fund, quantity: int, value: Decimal, income_account: Account, date: dt.date, user,
    memo: str = "", source=None, idempotency_key: str | None = None, currency: str = "CNY", fx_rate=None,
    posting=None,
) -> StockMove:
    """Goods given: inventory up at fair value, in-kind income of the fund up."""
    require(user, STOCK, item.book)
    return _move_in(
        kind=StockMoveKind.RECEIVED, item=item, fund=fund, quantity=quantity, value=value,
        credit_account=income_account, date=date, user=user, memo=memo or f"Goods received: {item.code}",
        source=source, idempotency_key=idempotency_key, currency=currency, fx_rate=fx_rate, posting=posting,
    )


def stock_purchase(
    *, item: StockItem, fund: Fund, quantity: int, amount: Decimal, pay_account: Account, date: dt.date, user,
    memo: str = "", source=None, idempotency_key: str | None = None, approved_by=None, posting=None,
) -> StockMove:
    """Stock bought by a fund: cash becomes inventory of that fund (not spending: the fund's net assets stay)."""
    require(user, STOCK, item.book)
    return _move_in(
        kind=StockMoveKind.BOUGHT, item=item, fund=fund, quantity=quantity, value=amount, credit_account=pay_account,
        date=date, user=user, memo=memo or f"Stock bought: {item.code}", source=source,
        idempotency_key=idempotency_key, approved_by=approved_by, posting=posting,
    )


def issue_value(balance: StockBalance, quantity: int) -> Decimal:
    """The weighted-average value, in CNY, of ``quantity`` units out of ``balance``."""
    if quantity == balance.quantity:
        return from_minor(balance.value)
    fen = (Decimal(balance.value) * quantity / balance.quantity).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    return from_minor(int(fen))


def stock_issue(
    *, item: StockItem, fund: Fund, quantity: int, expense_account: Account, date: dt.date, user, memo: str = "",
    source=None, idempotency_key: str | None = None, approved_by=None, expected_value: Decimal | None = None,
    posting=None,
) -> StockMove:
    """Hand goods out: weighted-average cost moves from inventory to the program's expense, in the fund."""
    require(user, POST_ENTRIES, item.book)
    _check_quantity(quantity)
    with ledger.posting_batch(posting) as posting:
        balance = _locked_balance(item, fund)
        posted = None if idempotency_key is None else posting.find(item.book, idempotency_key)
        replay = None if posted is None else _replayed(posted)
        if replay is not None:
            return replay
        if balance.quantity < quantity:
            raise InsufficientStock(
                f"fund {fund.code} holds {balance.quantity} of {item.code}; {quantity} cannot be handed out",
                field="quantity",
            )
        value = issue_value(balance, quantity)
        if expected_value is not None and expected_value != value:
            raise StockError(
                f"amount {expected_value} does not equal {quantity} x the weighted-average cost ({value})",
                field="amount",
            )
        if value <= 0:
            raise StockError(f"{item.code} in fund {fund.code} has no value left to hand out", field="quantity")
        entry = posting.post(
            book=item.book, date=date, memo=memo or f"Handed out: {quantity} {item.code}", user=user,
            idempotency_key=idempotency_key, source=source, approved_by=approved_by,
            legs=[Dr(expense_account, fund, value), Cr(item.inventory_account, fund, value)],
        )
        fen = to_minor(value)
        StockBalance.objects.filter(pk=balance.pk).update(
            quantity=balance.quantity - quantity, value=balance.value - fen
        )
        return StockMove.objects.create(
            item=item, fund=fund, date=date, kind=StockMoveKind.ISSUED, quantity=-quantity, value=-fen, entry=entry,
            created_by=user,
        )


def stock_reverse(*, move: StockMove, date: dt.date, reason: str, user, posting=None) -> StockMove:
    """Reverse a movement's entry and put the goods back (or take them out again) at the same value."""
    require(user, POST_ENTRIES, move.item.book)  # a refund (officer) or a reversed disbursement (approver)
    with ledger.posting_batch(posting) as posting:
        balance = _locked_balance(move.item, move.fund)
        if balance.quantity - move.quantity < 0 or balance.value - move.value < 0:
            raise InsufficientStock(
                f"reversing this movement would take {move.item.code} in fund {move.fund.code} below zero",
                field="quantity",
            )
        entry = ledger.entry_reverse(entry=move.entry, date=date, reason=reason, user=user, batch=posting)
        StockBalance.objects.filter(pk=balance.pk).update(
            quantity=balance.quantity - move.quantity, value=balance.value - move.value
        )
        return StockMove.objects.create(
            item=move.item, fund=move.fund, date=date, kind=StockMoveKind.REVERSED, quantity=-move.quantity,
            value=-move.value, entry=entry, created_by=user,
        )
