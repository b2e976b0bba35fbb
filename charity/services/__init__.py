"""The trust's write path; money moves only through ``ledger.services`` (and ``beneficiaries.services``)."""

from .donations import donation_record, donation_refund  # noqa: F401
from .donors import donor_create, donor_update  # noqa: F401
from .expenses import (  # noqa: F401
    expense_record, expense_request_approve, expense_request_draft, expense_request_reject,
    fund_terms_set, trust_set_expense_threshold,
)
from .receipts import official_receipt_record, receipt_issue, receipt_void  # noqa: F401
from .trust import trust_create  # noqa: F401
from .closing import year_close  # noqa: F401
from .journal import manual_entry_approve, manual_entry_draft, manual_entry_reject, manual_reversal_draft  # noqa: F401
from .attachments import (  # noqa: F401
    attachment_add, attachment_check, attachment_open, attachment_remove, entry_attachments,
)
from .spending import spending_policy_set  # noqa: F401
from .links import gift_link_issue, gift_link_revoke  # noqa: F401
from .mail import (  # noqa: F401
    gift_claim_request, invitation_accept, invitation_send, invitations_send_period, mail_mark_bounced, mail_retry,
    statements_send, trust_set_mail,
)
from .reconciliation import (  # noqa: F401
    month_reconcile, reconciliation_set_days, statement_import, statement_line_book, statement_match,
    statement_match_auto, statement_unmatch,
)
from .settlements import settlement_record  # noqa: F401
from .payables import (  # noqa: F401
    cash_count_approve, cash_count_record, cash_count_reject, expense_payment_record,
)
