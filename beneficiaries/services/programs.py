from decimal import Decimal

from django.db import transaction

from ledger.authority import require
from ledger.models import Account, AccountType, Book

from ..authority import PROGRAMS
from ..errors import ProgramError
from ..models import Program, ProgramKind, StockItem


@transaction.atomic
def program_create(
    *,
    book: Book,
    code: str,
    name: str,
    kind: str,
    expense_account: Account,
    name_en: str = "",
    stock_item: StockItem | None = None,
    pay_account: Account | None = None,
    limit_amount_per_year: Decimal | None = None,
    limit_count_per_year: int | None = None,
    user,
) -> Program:
    require(user, PROGRAMS, book)
    if kind not in ProgramKind.values:
        raise ProgramError(f"program kind {kind!r} is not one of {', '.join(ProgramKind.values)}", field="kind")
    if not code or len(code) > 32:
        raise ProgramError("a program code is 1 to 32 characters", field="code")
    if Program.objects.filter(book=book, code=code).exists():
        raise ProgramError(f"program {code} already exists", field="code")
    if expense_account.book_id != book.pk or expense_account.type != AccountType.EXPENSE:
        raise ProgramError("the program's expense account must be an expense account of the same book", field="expense_account")
    if expense_account.purpose != code:
        raise ProgramError(
            f"expense account {expense_account.code} serves {expense_account.purpose or 'general purposes'}, "
            f"not program {code}",
            field="expense_account",
        )
    if kind == ProgramKind.IN_KIND and stock_item is None:
        raise ProgramError("a program that hands out goods needs a stock item", field="stock_item")
    if pay_account is not None and (pay_account.book_id != book.pk or pay_account.type != AccountType.ASSET):
        raise ProgramError("the account a program pays from must be an asset account of the same book",
                           field="pay_account")
    return Program.objects.create(
        book=book, code=code, name=name, name_en=name_en, kind=kind, expense_account=expense_account,
        stock_item=stock_item, pay_account=pay_account, limit_amount_per_year=limit_amount_per_year, limit_count_per_year=limit_count_per_year,
    )


@transaction.atomic
def program_set_limits(
    *, program: Program, limit_amount_per_year: Decimal | None, limit_count_per_year: int | None, user
) -> Program:
    """Set (or clear, with None) what one beneficiary may receive from the program in a calendar year."""
    require(user, PROGRAMS, program.book)
    if limit_amount_per_year is not None and limit_amount_per_year <= 0:
        raise ProgramError("a yearly amount limit must be above zero", field="limit_amount_per_year")
    if limit_count_per_year is not None and limit_count_per_year <= 0:
        raise ProgramError("a yearly count limit must be above zero", field="limit_count_per_year")
    program.limit_amount_per_year = limit_amount_per_year
    program.limit_count_per_year = limit_count_per_year
    program.save(update_fields=["limit_amount_per_year", "limit_count_per_year"])
    return program
