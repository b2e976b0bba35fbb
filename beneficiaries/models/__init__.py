"""The aid side's tables. Programs and stock belong to a trust through the trust's ledger ``Book``."""

from .programs import Program, ProgramKind  # noqa: F401
from .stock import StockBalance, StockItem, StockMove, StockMoveKind  # noqa: F401
