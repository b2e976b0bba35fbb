"""The aid side's write path. Every movement of money or goods posts through ``ledger.services``."""

from .programs import program_create  # noqa: F401
from .stock import stock_issue, stock_item_create, stock_purchase, stock_receive, stock_reverse  # noqa: F401
