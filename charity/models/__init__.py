"""The trust's own tables. A trust owns one ledger ``Book``; its code is the book's code."""

from .audit import AuditEvent, IdempotencyRecord  # noqa: F401
from .trust import Trust  # noqa: F401
