"""Refusals of the aid side (programs, stock, registry, disbursements)."""


class AidError(Exception):
    code = "aid_error"

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class StockError(AidError):
    code = "stock_error"


class InsufficientStock(StockError):
    code = "insufficient_stock"


class ProgramError(AidError):
    code = "program_error"


class RegistryError(AidError):
    code = "registry_error"


class InvalidIdNumber(RegistryError):
    code = "invalid_id_number"

    def __init__(self, message: str, *, field: str | None = "id_number"):
        super().__init__(message, field=field)


class DuplicateBeneficiary(RegistryError):
    """``match`` (``privacy.IdentityMatch``) when an identity number matched someone: the lookup is logged."""

    code = "duplicate_beneficiary"

    def __init__(self, message: str, *, field: str | None = None, match=None):
        super().__init__(message, field=field)
        self.match = match


class GuardianRequired(RegistryError):
    code = "guardian_required"


class DisbursementError(AidError):
    code = "disbursement_error"


class InvalidTransition(DisbursementError):
    """The disbursement or batch is not in a state that allows the step asked for."""

    code = "invalid_transition"


class FourEyesViolation(DisbursementError):
    code = "four_eyes"


class LimitExceeded(DisbursementError):
    code = "limit_exceeded"


class FundNotAllowed(DisbursementError):
    code = "fund_not_allowed"


class PostingRefused(DisbursementError):
    """The ledger (or the stock) refused the posting; ``message`` keeps the ledger's own words.

    ``code`` is the ledger error's code (``insufficient_funds``, ``purpose_violation``, ...), so callers can still
    tell the reasons apart without importing ledger errors.
    """

    code = "posting_refused"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None, row: int = 0):
        super().__init__(message, field=field)
        if code:
            self.code = code
        self.row = row
