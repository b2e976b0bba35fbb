"""The aid side's tables. Programs, stock, the registry and disbursements belong to a trust through its ledger
``Book``."""

from .programs import Program, ProgramKind  # noqa: F401
from .stock import StockBalance, StockItem, StockMove, StockMoveKind  # noqa: F401
from .registry import (  # noqa: F401
    Beneficiary,
    BeneficiaryHistory,
    BeneficiaryStatus,
    Gender,
    HistoryAction,
    Household,
    PiiAccessLog,
)
from .disbursements import (  # noqa: F401
    LIVE_STATUSES,
    POSTED_STATUSES,
    BatchStatus,
    Disbursement,
    DisbursementBatch,
    DisbursementStatus,
    Verification,
    VerificationMethod,
    VerificationResult,
)
