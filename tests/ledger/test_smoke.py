from decimal import Decimal

from django.core.management import call_command

from ledger import selectors, services
from ledger.services import Cr, Dr
from ledger.verification import verify_book

from .conftest import D


def test_post_donation_and_spend(sb, user):
    gift = services.entry_post(
        book=sb.book, date=D, memo="gift", user=user,
        legs=[Dr(sb.bank, sb.fa, Decimal("1200.00")), Cr(sb.income_r, sb.fa, Decimal("1200.00"))],
    )
    use = services.entry_post(
        book=sb.book, date=D, memo="use", user=user,
        legs=[Dr(sb.exp_a, sb.fa, Decimal("200")), Cr(sb.bank, sb.fa, Decimal("200"))],
    )
    assert selectors.fund_balance(sb.fa) == Decimal("1000.00")
    assert selectors.account_balance(sb.bank) == Decimal("1000.00")
    assert selectors.unallocated(gift) == Decimal("1000.00")
    assert [a.amount for a in selectors.allocations_of(use)] == [20000]
    rev = services.entry_reverse(entry=use, date=D, reason="mistake", user=user)
    assert selectors.unallocated(gift) == Decimal("1200.00")
    assert rev.sequence == 3
    assert verify_book(sb.book).ok
    call_command("verify_ledger")
