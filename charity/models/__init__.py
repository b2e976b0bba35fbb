"""The trust's own tables. A trust owns one ledger ``Book``; its code is the book's code."""

from .audit import AuditEvent, IdempotencyRecord  # noqa: F401
from .donations import Channel, Donation, Refund  # noqa: F401
from .donors import ANONYMOUS_NAME, Donor, DonorKind  # noqa: F401
from .expenses import (  # noqa: F401
    Expense, ExpenseKind, ExpenseRequest, ExpenseRequestStatus, FundTerms, PayableAccount,
)
from .payables import CashCount, CashCountStatus, ExpensePayment, PaymentAccount  # noqa: F401
from .journal import ManualEntry, ManualEntryKind, ManualEntryStatus  # noqa: F401
from .receipts import OfficialReceipt, Receipt, ReceiptCounter  # noqa: F401
from .trust import Membership, Role, Trust  # noqa: F401
from .attachments import Attachment  # noqa: F401
from .spending import SpendingPolicy  # noqa: F401
from .mail import GiftLink, Invitation, MailKind, MailMessage, MailStatus  # noqa: F401
from .reconciliation import (  # noqa: F401
    DEFAULT_MATCH_DAYS, MatchedLeg, ReconciledMonth, ReconciliationSetting, StatementLine, StatementMatch,
)
from .settlements import SettledDonation, Settlement, SettlementChannel  # noqa: F401
