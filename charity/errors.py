"""Refusals of the trust's own side (trusts, donors, donations, receipts, expenses, imports)."""


class CharityError(Exception):
    code = "charity_error"

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class TrustError(CharityError):
    code = "trust_error"


class ImmutableRecord(CharityError):
    """A posted record (donation, refund, expense, receipt) is append-only: never changed or deleted."""

    code = "immutable_record"


class DonorError(CharityError):
    code = "donor_error"


class DonationError(CharityError):
    code = "donation_error"


class DuplicateExternalId(CharityError):
    """The same external id was already used for a record with different content."""

    code = "duplicate_external_id"


class RefundRefused(DonationError):
    """What has already been allocated to spending cannot be given back; only the unspent part can."""

    code = "refund_refused"


class ReceiptError(CharityError):
    code = "receipt_error"


class ExpenseError(CharityError):
    code = "expense_error"


class ApprovalRequired(ExpenseError):
    """An expense above the trust's threshold is drafted for another user's approval, not recorded at once."""

    code = "approval_required"


class PurposeRefused(ExpenseError):
    """The purpose rules (docs/ledger.md, "Funds and the restricted-fund rule"): restricted money pays only for its
    own program; an endowment is not spent."""

    code = "purpose_refused"


class InsufficientFunds(ExpenseError):
    code = "insufficient_funds"


class ManualEntryError(CharityError):
    code = "manual_entry_error"


class FourEyesRefused(ManualEntryError):
    """The person who drafted a manual entry cannot approve it."""

    code = "four_eyes"


class AttachmentError(CharityError):
    """A file that cannot be attached (type, size) or an attachment that can no longer be removed."""

    code = "attachment_error"


class MailError(CharityError):
    """E-mail to donors, gift links and invitations."""

    code = "mail_error"


class InvalidToken(MailError):
    """A link's token that is wrong, revoked, used or expired: the page answers 404, saying nothing more."""

    code = "invalid_token"


class ReconciliationError(CharityError):
    """A statement refused, a match that does not add up, a month whose reconciliation does not agree."""

    code = "reconciliation_error"


class SettlementError(CharityError):
    """A platform payout refused: a gift of another channel or trust, one already settled or refunded, a fee
    out of range."""

    code = "settlement_error"
