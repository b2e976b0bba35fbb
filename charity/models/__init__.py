"""The trust's own tables. A trust owns one ledger ``Book``; its code is the book's code."""

from .trust import Trust  # noqa: F401
