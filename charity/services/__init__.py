"""The trust's write path; money moves only through ``ledger.services`` (and ``beneficiaries.services``)."""

from .donations import donation_record, donation_refund  # noqa: F401
from .donors import donor_create, donor_update  # noqa: F401
from .expenses import expense_record  # noqa: F401
from .receipts import receipt_issue, receipt_void  # noqa: F401
from .trust import trust_create  # noqa: F401
from .journal import manual_entry_approve, manual_entry_draft, manual_entry_reject, manual_reversal_draft  # noqa: F401
