"""Who may change a book: every service that changes state asks ``require`` first.

The ledger knows books, not trusts or roles. It names what it protects (``ledger.post_entries``,
``ledger.close_periods``, ``ledger.manage_funds``; the layers above name theirs) and asks Django's permission machinery,
``user.has_perm(perm, book)``, with the book as the object. Which backend answers, and how a book maps to the
people who may work in it, is the project's choice (``AUTHENTICATION_BACKENDS``): the ledger only refuses.

A refusal is Django's ``PermissionDenied``, which every door already turns into "forbidden": 403 in the API
and on pages, exit status 1 on the command line.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

POST_ENTRIES = "ledger.post_entries"
CLOSE_PERIODS = "ledger.close_periods"
MANAGE_FUNDS = "ledger.manage_funds"


def allowed(user, perm: str, book) -> bool:
    """Whether ``user`` holds ``perm`` in ``book`` (an active user; Django's ``has_perm`` with the book). With
    ``book=None``: whether ``user`` holds it everywhere, a global grant (what only an administrator holds)."""
    return bool(user is not None and getattr(user, "is_active", False) and user.has_perm(perm, book))


def require(user, perm: str, book) -> None:
    """Refuse unless ``user`` holds ``perm`` in ``book`` (or everywhere, with ``book=None``); the message names the
    user, the permission and the book."""
    if not allowed(user, perm, book):
        who = getattr(user, "username", None) or "anonymous"
        where = f"in book {book.code}" if book is not None else "(an administrator's permission)"
        raise PermissionDenied(f"{who} may not {perm.partition('.')[2].replace('_', ' ')} {where}")
