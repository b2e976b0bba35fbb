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
