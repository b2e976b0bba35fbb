"""Helpers shared by the trust's services: accounts by chart code, amounts, and turning the ledger's and the aid
side's refusals into the trust's own typed errors (the original stays as ``__cause__``)."""

from __future__ import annotations

import contextlib
import datetime as dt
from decimal import Decimal, InvalidOperation

import moneyed
from django.db import IntegrityError

from beneficiaries.errors import AidError, InsufficientStock
from ledger import bounds
from ledger import errors as ledger_errors
from ledger.authority import require
from ledger.locking import lock
from ledger.models import CENT, Account, Fund

from .. import errors
from ..models import Trust


# The ledger names a leg's amount, fund, date, ...; callers know these as the same fields, except these:
_FIELD = {"legs": "amount", "idempotency_key": "external_id", "entry": "donation", "fx_rate": "fx_rate"}


def account(trust: Trust, code: str) -> Account:
    """The trust's account with a chart code. Cached on the trust instance (accounts are never changed or
    deleted), so a bulk import holding one instance looks each code up once."""
    cache = trust.__dict__.setdefault("_accounts", {})
    if code not in cache:
        cache[code] = Account.objects.get(book_id=trust.book_id, code=code)
    return cache[code]


def check_fund(trust: Trust, fund: Fund) -> None:
    if fund is None or fund.book_id != trust.book_id:
        raise errors.CharityError("the fund does not belong to this trust", field="fund")


def check_external_id(value: str) -> str:
    value = (value or "").strip()
    if not value or len(value) > 64:
        raise errors.CharityError("an external id is 1 to 64 characters", field="external_id")
    return value


def check_date(value) -> dt.date:
    """A date the books can hold (``ledger.bounds``)."""
    try:
        return bounds.check_date(value)
    except ledger_errors.LedgerError as exc:
        raise errors.CharityError(exc.message, field=exc.field) from None


def money_parts(amount, currency: str | None) -> tuple[Decimal, str]:
    """(amount, currency) from a Decimal (+ currency, default CNY) or a ``Money``; refuses floats and > 2 places."""
    if isinstance(amount, moneyed.Money):
        currency, amount = amount.currency.code, amount.amount
    if isinstance(amount, float) or isinstance(amount, bool):
        raise errors.CharityError("amounts must be Decimal, not float", field="amount")
    try:
        amount = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    except (InvalidOperation, ValueError, TypeError):
        raise errors.CharityError(f"{amount!r} is not a decimal amount", field="amount") from None
    if not amount.is_finite() or amount <= 0:
        raise errors.CharityError(f"amount {amount} must be above zero", field="amount")
    if amount != amount.quantize(CENT):
        raise errors.CharityError(f"amount {amount} has more than two decimal places", field="amount")
    bounds.check_amount(amount, error=errors.CharityError)
    try:
        code = bounds.check_currency(currency)
    except ledger_errors.LedgerError as exc:
        raise errors.CharityError(exc.message, field=exc.field) from None
    return amount.quantize(CENT), code


@contextlib.contextmanager
def unique_or(message: str):
    """Outside a ``transaction.atomic`` block: a unique violation inside it (two requests recording the same
    external id at once) becomes ``DuplicateExternalId`` after the block has rolled back."""
    try:
        yield
    except IntegrityError as exc:
        raise errors.DuplicateExternalId(message, field="external_id") from exc


@contextlib.contextmanager
def translated(default: type[errors.CharityError]):
    """Re-raise a refusal from ``ledger`` or ``beneficiaries`` as the trust's typed error, same message."""
    try:
        yield
    except ledger_errors.PurposeViolation as exc:
        raise errors.PurposeRefused(exc.message, field="fund") from exc
    except ledger_errors.InsufficientFunds as exc:
        raise errors.InsufficientFunds(exc.message, field="fund") from exc
    except ledger_errors.AllocatedSource as exc:
        raise errors.RefundRefused(exc.message, field="amount") from exc
    except InsufficientStock as exc:
        raise errors.RefundRefused(exc.message, field="quantity") from exc
    except (ledger_errors.LedgerError, AidError) as exc:
        error = default(exc.message, field=_FIELD.get(exc.field or "", exc.field))
        error.code = exc.code
        raise error from exc


def locked_draft(row, user, *, perm: str, drafter: str, label: str, error: type[errors.CharityError], ahead=()):
    """``row`` (a draft waiting for a second person: a manual entry, an expense) locked for ``user``'s decision,
    after ``ahead`` (an approval that posts: the book and the funds it posts to, ``ledger.locking``).
    Refused unless ``user`` holds ``perm`` in its trust, it is still a draft, and ``user`` did not draft it."""
    require(user, perm, row.trust.book)
    *_, locked = lock(*ahead, row)
    if locked.status != "draft":
        raise error(f"{label} is already {locked.status}", field="status")
    if getattr(locked, f"{drafter}_id") == user.pk:
        raise errors.FourEyesRefused(
            f"{label} was drafted by {user.get_username()}; another user must approve or reject it",
            field="approved_by")
    return locked
