"""Typed refusals of the ledger. Each carries the field it concerns, when there is one, and a message that
names the problem; the API turns them into HTTP 400 and the commands into exit status 1."""


class LedgerError(Exception):
    code = "ledger_error"

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class TooFewLegs(LedgerError):
    code = "too_few_legs"


class InvalidAmount(LedgerError):
    code = "invalid_amount"


class UnknownCurrency(LedgerError):
    code = "unknown_currency"


class MissingRate(LedgerError):
    code = "missing_rate"


class Unbalanced(LedgerError):
    code = "unbalanced"


class ForeignBook(LedgerError):
    code = "foreign_book"


class ClosedPeriod(LedgerError):
    code = "closed_period"


class FutureDate(LedgerError):
    code = "future_date"


class IdempotencyConflict(LedgerError):
    code = "idempotency_conflict"


class PurposeViolation(LedgerError):
    code = "purpose_violation"


class InsufficientFunds(LedgerError):
    code = "insufficient_funds"


class AlreadyReversed(LedgerError):
    code = "already_reversed"


class AllocatedSource(LedgerError):
    code = "allocated_source"


class PeriodError(LedgerError):
    code = "period_error"


class DateOutOfRange(LedgerError):
    """A date before a trust's books can begin or after they can run (``ledger.bounds``)."""

    code = "date_out_of_range"
