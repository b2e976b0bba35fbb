"""The aid side's write path. Every movement of money or goods posts through ``ledger.services``."""

from .programs import program_create, program_set_limits  # noqa: F401
from .stock import stock_issue, stock_item_create, stock_purchase, stock_receive, stock_reverse  # noqa: F401
from .registry import (  # noqa: F401
    beneficiary_exit,
    beneficiary_register,
    beneficiary_update,
    household_create,
    household_get_or_create,
    household_set_mother,
)
from .disbursements import (  # noqa: F401
    batch_approve,
    batch_cancel,
    batch_create,
    batch_post,
    batch_record_given,
    check_fund,
    check_limits,
    disbursement_approve,
    disbursement_cancel,
    disbursement_deliver,
    disbursement_draft,
    disbursement_pay,
    disbursement_record_given,
    disbursement_reverse,
    disbursement_verify,
    estimated_value,
)
