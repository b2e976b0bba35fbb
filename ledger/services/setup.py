"""Setting books up: books, accounts, funds, and the system user that commands act as."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from .. import bounds, errors
from ..authority import MANAGE_FUNDS, require
from ..models import Account, AccountType, Book, Fund, Restriction


def system_user():
    """The built-in user recorded on what commands write when no ``--user`` is given.

    The operator at the shell: a superuser that cannot sign in (no usable password, no token). Whoever runs a
    command without ``--user`` already holds the database; the audit log records the command as ``system``."""
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(
        username="system", defaults={"is_active": True, "is_superuser": True, "first_name": "system"}
    )
    if created or not (user.is_active and user.is_superuser):
        user.set_unusable_password()
        user.is_active, user.is_superuser = True, True
        user.save(update_fields=["password", "is_active", "is_superuser"])
    return user


def book_create(*, code: str, name: str) -> Book:
    if not code or len(code) > 32:
        raise errors.LedgerError("a book code is 1 to 32 characters", field="code")
    if Book.objects.filter(code=code).exists():
        raise errors.LedgerError(f"a book with code {code!r} already exists", field="code")
    return Book.objects.create(code=code, name=name)


def account_create(
    *, book: Book, code: str, name: str, type: str, name_en: str = "", parent: Account | None = None,
    purpose: str = "", restriction: str = "", currency: str = "",
) -> Account:
    if type not in AccountType.values:
        raise errors.LedgerError(f"account type {type!r} is not one of {', '.join(AccountType.values)}", field="type")
    if Account.objects.filter(book=book, code=code).exists():
        raise errors.LedgerError(f"account {code} already exists in this book", field="code")
    if parent is not None and parent.book_id != book.pk:
        raise errors.ForeignBook("the parent account belongs to another book", field="parent")
    if currency:
        bounds.check_currency(currency)
    return Account.objects.create(
        book=book, code=code, name=name, name_en=name_en, type=type, parent=parent, purpose=purpose,
        restriction=restriction, currency=currency,
    )


def fund_create(
    *, book: Book, code: str, name: str, restriction: str, user, name_en: str = "", purpose: str = "",
    description: str = "",
) -> Fund:
    require(user, MANAGE_FUNDS, book)
    if restriction not in Restriction.values:
        raise errors.LedgerError(
            f"restriction {restriction!r} is not one of {', '.join(Restriction.values)}", field="restriction"
        )
    if not code or len(code) > 32:
        raise errors.LedgerError("a fund code is 1 to 32 characters", field="code")
    if len(name) > 200:
        raise errors.LedgerError("a fund name is at most 200 characters", field="name")
    if Fund.objects.filter(book=book, code=code).exists():
        raise errors.LedgerError(f"fund {code} already exists in this book", field="code")
    return Fund.objects.create(
        book=book, code=code, name=name, name_en=name_en, restriction=restriction, purpose=purpose,
        description=description,
    )
