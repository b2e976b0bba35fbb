"""Refusals of the trust's own side (trusts, donors, donations, receipts, expenses, imports)."""


class CharityError(Exception):
    code = "charity_error"

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class TrustError(CharityError):
    code = "trust_error"
