"""Donor traceability: FIFO allocation of a fund's spending to the income that paid for it.

Worked example in the unrestricted fund GEN (so that only the allocation rules can refuse; in a restricted fund
the net-assets check may refuse first, see the last tests). Sources are posted out of date order on purpose:

    seq  date        what                     amount   FIFO order
    1    2026-01-10  S2 gift                     500   2nd (same date as S3, lower sequence)
    2    2026-01-05  S1 gift                   1,000   1st (oldest date)
    3    2026-01-10  S3 gift                   2,000   3rd
    4    2026-03-01  U1 spent                  1,200   -> S1 1,000 + S2 200
    5    2026-03-05  U2 spent                    800   -> S2 300 + S3 500

Afterwards S1 and S2 are used up and S3 has 1,500 unallocated.
"""

import datetime as dt
from decimal import Decimal

import pytest

from ledger import errors, selectors, services
from ledger.models import Allocation, FundSource, Leg
from ledger.services import Cr, Dr, LegSpec
from ledger.verification import verify_book

from .conftest import nothing_written

LATER = dt.date(2026, 4, 1)


def gift(sb, user, date, amount, fund=None):
    fund = fund or sb.gen
    return services.entry_post(
        book=sb.book, date=date, memo="gift", user=user,
        legs=[Dr(sb.bank, fund, Decimal(amount)), Cr(sb.income_r, fund, Decimal(amount))],
    )


def spend(sb, user, date, amount, fund=None, account=None):
    fund = fund or sb.gen
    account = account or (sb.exp_admin if fund == sb.gen else sb.exp_a)
    return services.entry_post(
        book=sb.book, date=date, memo="spend", user=user,
        legs=[Dr(account, fund, Decimal(amount)), Cr(sb.bank, fund, Decimal(amount))],
    )


def links(entry):
    """(source entry sequence, use entry sequence, amount) for what ``entry``'s legs allocated or released."""
    return [
        (a.source.leg.entry.sequence, a.leg.entry.sequence, a.amount_value, a.kind)
        for a in selectors.allocations_of(entry)
    ]


@pytest.fixture
def fifo(sb, user):
    s2 = gift(sb, user, dt.date(2026, 1, 10), "500")
    s1 = gift(sb, user, dt.date(2026, 1, 5), "1000")
    s3 = gift(sb, user, dt.date(2026, 1, 10), "2000")
    u1 = spend(sb, user, dt.date(2026, 3, 1), "1200")
    u2 = spend(sb, user, dt.date(2026, 3, 5), "800")
    sb.book.refresh_from_db()
    return sb, dict(s1=s1, s2=s2, s3=s3, u1=u1, u2=u2)


def test_uses_take_the_oldest_sources_first(fifo):
    sb, e = fifo
    assert links(e["u1"]) == [(2, 4, Decimal("1000.00"), "use"), (1, 4, Decimal("200.00"), "use")]
    assert links(e["u2"]) == [(1, 5, Decimal("300.00"), "use"), (3, 5, Decimal("500.00"), "use")]
    assert [selectors.unallocated(e[k]) for k in ("s1", "s2", "s3")] == [Decimal("0.00"), Decimal("0.00"), Decimal("1500.00")]
    assert selectors.unallocated(e["u1"]) == selectors.unallocated(e["u2"]) == Decimal("0.00")
    assert links(e["s1"]) == []
    assert verify_book(sb.book).ok


def test_reversing_a_use_releases_its_sources(fifo, user):
    sb, e = fifo
    reversal = services.entry_reverse(entry=e["u1"], date=LATER, reason="paid twice", user=user)
    assert links(reversal) == [(2, 6, Decimal("-1000.00"), "use"), (1, 6, Decimal("-200.00"), "use")]
    assert [selectors.unallocated(e[k]) for k in ("s1", "s2", "s3")] == [Decimal("1000.00"), Decimal("200.00"), Decimal("1500.00")]
    # U2's links are untouched, and the next use starts again from the oldest source.
    assert links(e["u2"]) == [(1, 5, Decimal("300.00"), "use"), (3, 5, Decimal("500.00"), "use")]
    u3 = spend(sb, user, LATER, "1100")
    assert links(u3) == [(2, 7, Decimal("1000.00"), "use"), (1, 7, Decimal("100.00"), "use")]
    assert verify_book(sb.book).ok


def test_reversing_a_source_is_refused_beyond_what_is_unallocated(fifo, user):
    sb, e = fifo
    with nothing_written(sb.book):
        with pytest.raises(errors.AllocatedSource, match=r"#3 cannot be reversed: only 1500.00 CNY"):
            services.entry_reverse(entry=e["s3"], date=LATER, reason="refund", user=user)
    with nothing_written(sb.book):
        with pytest.raises(errors.AllocatedSource, match=r"only 0.00 CNY"):
            services.entry_reverse(entry=e["s1"], date=LATER, reason="refund", user=user)
    # Once the use that consumed S1 is reversed, S1 is free again and can be given back whole.
    services.entry_reverse(entry=e["u1"], date=LATER, reason="cancelled", user=user)
    refund = services.entry_reverse(entry=e["s1"], date=LATER, reason="refund", user=user)
    assert links(refund) == [(2, 7, Decimal("1000.00"), "refund")]
    assert selectors.unallocated(e["s1"]) == Decimal("0.00")
    assert verify_book(sb.book).ok


def test_partial_give_back_is_limited_to_the_unallocated_part(fifo, user):
    sb, e = fifo
    s3_leg = Leg.objects.get(entry=e["s3"], account=sb.income_r)

    def give_back(amount):
        return services.entry_post(
            book=sb.book, date=LATER, memo="refund", user=user,
            legs=[LegSpec(account=sb.income_r, fund=sb.gen, debit=Decimal(amount), reduces=s3_leg),
                  Cr(sb.bank, sb.gen, Decimal(amount))],
        )

    with nothing_written(sb.book):
        with pytest.raises(errors.AllocatedSource, match=r"only 1500.00 CNY .* 1500.01 CNY cannot be given back"):
            give_back("1500.01")
    first = give_back("600")
    assert links(first) == [(3, 6, Decimal("600.00"), "refund")]
    assert selectors.unallocated(e["s3"]) == Decimal("900.00")
    give_back("900")
    assert selectors.unallocated(e["s3"]) == Decimal("0.00")
    with nothing_written(sb.book):
        with pytest.raises(errors.AllocatedSource):
            give_back("0.01")
    # Reversing a give-back returns the money to its source.
    services.entry_reverse(entry=first, date=LATER, reason="refund cancelled", user=user)
    assert selectors.unallocated(e["s3"]) == Decimal("600.00")
    assert selectors.fund_balance(sb.gen) == Decimal("600.00")  # 3,500 in, 2,000 spent, 1,500 - 600 given back
    assert verify_book(sb.book).ok


def test_give_back_without_naming_a_source_takes_the_newest(fifo, user):
    sb, e = fifo
    refund = services.entry_post(
        book=sb.book, date=LATER, memo="refund", user=user,
        legs=[Dr(sb.income_r, sb.gen, Decimal("100")), Cr(sb.bank, sb.gen, Decimal("100"))],
    )
    assert links(refund) == [(3, 6, Decimal("100.00"), "refund")]


def test_no_source_is_ever_allocated_beyond_its_amount(fifo, user):
    sb, e = fifo
    spend(sb, user, LATER, "1500")  # exactly what is left
    assert FundSource.objects.filter(fund=sb.gen, remaining__gt=0).count() == 0
    for source in FundSource.objects.filter(fund=sb.gen):
        used = sum(a.amount for a in Allocation.objects.filter(source=source))
        assert used == source.amount and source.remaining == 0
    over = spend(sb, user, LATER, "0.01")  # the unrestricted fund may overspend; the excess stays unfunded
    assert links(over) == [] and selectors.unallocated(over) == Decimal("0.01")
    assert verify_book(sb.book).ok


def test_in_a_restricted_fund(sb, user):
    """The same rules in FA; there the fund's net assets are checked first and may refuse before FIFO does."""
    s1 = gift(sb, user, dt.date(2026, 1, 5), "1000", fund=sb.fa)
    s2 = gift(sb, user, dt.date(2026, 1, 6), "2000", fund=sb.fa)
    use = spend(sb, user, dt.date(2026, 2, 1), "1500", fund=sb.fa)
    assert links(use) == [(1, 3, Decimal("1000.00"), "use"), (2, 3, Decimal("500.00"), "use")]
    sb.book.refresh_from_db()
    with nothing_written(sb.book):
        with pytest.raises(errors.InsufficientFunds, match="FA has 1500.00 CNY; this entry needs 2000.00"):
            services.entry_reverse(entry=s2, date=LATER, reason="refund", user=user)
        with pytest.raises(errors.AllocatedSource, match="#1 cannot be reversed: only 0.00 CNY"):
            services.entry_reverse(entry=s1, date=LATER, reason="refund", user=user)
        with pytest.raises(errors.InsufficientFunds):
            spend(sb, user, LATER, "1500.01", fund=sb.fa)
    services.entry_reverse(entry=use, date=LATER, reason="cancelled", user=user)
    services.entry_reverse(entry=s2, date=LATER, reason="refund", user=user)
    assert selectors.fund_balance(sb.fa) == Decimal("1000.00")
    assert verify_book(sb.book).ok


def test_unfunded_use_in_the_general_fund(sb, user):
    """A use that no source covers (the unrestricted fund may go below zero) stays unallocated."""
    gift(sb, user, dt.date(2026, 1, 5), "100", fund=sb.gen)
    use = spend(sb, user, dt.date(2026, 1, 6), "250", fund=sb.gen, account=sb.exp_admin)
    assert links(use) == [(1, 2, Decimal("100.00"), "use")]
    assert selectors.unallocated(use) == Decimal("150.00")


def test_buying_stock_is_not_a_use_handing_it_out_is(sb, user):
    gift(sb, user, dt.date(2026, 1, 5), "1000", fund=sb.fa)
    buy = services.entry_post(
        book=sb.book, date=dt.date(2026, 2, 1), memo="buy", user=user,
        legs=[Dr(sb.stock, sb.fa, Decimal("600")), Cr(sb.bank, sb.fa, Decimal("600"))],
    )
    assert links(buy) == []
    out = services.entry_post(
        book=sb.book, date=dt.date(2026, 2, 2), memo="hand out", user=user,
        legs=[Dr(sb.exp_a, sb.fa, Decimal("250")), Cr(sb.stock, sb.fa, Decimal("250"))],
    )
    assert links(out) == [(1, 3, Decimal("250.00"), "use")]


def test_sources_and_uses_stay_inside_their_fund(sb, user):
    gift(sb, user, dt.date(2026, 1, 5), "1000", fund=sb.fa)
    gift(sb, user, dt.date(2026, 1, 6), "1000", fund=sb.fb)
    use = spend(sb, user, dt.date(2026, 1, 7), "300", fund=sb.fb, account=sb.exp_b)
    assert links(use) == [(2, 3, Decimal("300.00"), "use")]


def test_reversing_the_reversal_of_a_give_back_gives_back_again(sb, user):
    """gift <- refund (reversal) <- refund cancelled (reversal of the reversal) <- cancelled in error (a third one):
    the third reversal gives the gift back once more, from the same source."""
    s1 = gift(sb, user, dt.date(2026, 1, 5), "100")
    r1 = services.entry_reverse(entry=s1, date=LATER, reason="refund", user=user)
    assert selectors.unallocated(s1) == Decimal("0.00")
    r2 = services.entry_reverse(entry=r1, date=LATER, reason="refund cancelled", user=user)
    assert selectors.unallocated(s1) == Decimal("100.00")
    r3 = services.entry_reverse(entry=r2, date=LATER, reason="cancelled in error", user=user)
    assert links(r3) == [(1, 4, Decimal("100.00"), "refund")]
    assert selectors.unallocated(s1) == Decimal("0.00")
    assert selectors.fund_balance(sb.gen) == Decimal("0.00")
    assert verify_book(sb.book).ok


def test_reversing_the_reversal_of_a_use_allocates_it_again(sb, user):
    s1 = gift(sb, user, dt.date(2026, 1, 5), "100")
    use = spend(sb, user, dt.date(2026, 1, 6), "60")
    r1 = services.entry_reverse(entry=use, date=LATER, reason="cancelled", user=user)
    r2 = services.entry_reverse(entry=r1, date=LATER, reason="cancelled in error", user=user)
    assert links(r2) == [(1, 4, Decimal("60.00"), "use")]
    assert selectors.unallocated(r2) == Decimal("0.00")
    assert selectors.unallocated(s1) == Decimal("40.00")
    services.entry_reverse(entry=r2, date=LATER, reason="cancelled after all", user=user)
    assert selectors.unallocated(s1) == Decimal("100.00")
    assert verify_book(sb.book).ok


def test_reversing_an_entry_that_both_receives_and_spends(sb, user):
    """One entry takes in a gift and spends it; reversing it, reversing that, and reversing once more all work:
    the releases of a reversal come before its give-backs, whatever the order of the legs."""
    both = services.entry_post(
        book=sb.book, date=dt.date(2026, 1, 5), memo="in and out", user=user,
        legs=[Dr(sb.bank, sb.fa, Decimal("10")), Cr(sb.income_r, sb.fa, Decimal("10")),
              Dr(sb.exp_a, sb.fa, Decimal("10")), Cr(sb.bank, sb.fa, Decimal("10"))],
    )
    r1 = services.entry_reverse(entry=both, date=LATER, reason="wrong fund", user=user)
    r2 = services.entry_reverse(entry=r1, date=LATER, reason="right fund after all", user=user)
    assert [(link[0], link[3]) for link in links(r2)] == [(1, "refund"), (1, "use")]
    r3 = services.entry_reverse(entry=r2, date=LATER, reason="no, wrong fund", user=user)
    assert links(r3) == [(1, 4, Decimal("10.00"), "refund"), (1, 4, Decimal("-10.00"), "use")]
    assert selectors.fund_balance(sb.fa) == Decimal("0.00")
    assert verify_book(sb.book).ok


def test_give_back_dated_before_later_spending_moves_that_spending_to_other_sources(sb, user):
    """A year loaded file by file posts August's spending before May's refund: the refund is judged as of its
    own date, when the gift was still unspent, and August's spending moves to the fund's other income."""
    may = gift(sb, user, dt.date(2026, 5, 2), "5000")
    june = gift(sb, user, dt.date(2026, 6, 1), "8000")
    august = spend(sb, user, dt.date(2026, 8, 26), "6000")
    source = FundSource.objects.get(leg__entry=may)
    assert source.remaining == 0  # FIFO gave August's 6,000 to May's 5,000 first
    income_leg = Leg.objects.get(entry=may, credit__gt=0)
    refund = services.entry_post(
        book=sb.book, date=dt.date(2026, 5, 16), memo="refund", user=user,
        legs=[LegSpec(account=sb.income_r, fund=sb.gen, debit=Decimal("5000"), reduces=income_leg),
              Cr(sb.bank, sb.gen, Decimal("5000"))],
    )
    assert selectors.unallocated(may) == Decimal("0.00")
    assert selectors.unallocated(june) == Decimal("2000.00")  # 8,000 - the whole 6,000 of August
    per_source = {}
    for allocation in Allocation.objects.filter(leg__entry=august):
        per_source[allocation.source_id] = per_source.get(allocation.source_id, 0) + allocation.amount
    june_source = FundSource.objects.get(leg__entry=june)
    assert per_source == {source.pk: 0, june_source.pk: 600000}
    assert refund.sequence == 4
    assert verify_book(sb.book).ok


def test_give_back_still_refused_when_no_other_income_can_take_the_later_spending(sb, user):
    may = gift(sb, user, dt.date(2026, 5, 2), "5000")
    spend(sb, user, dt.date(2026, 8, 26), "4000")
    income_leg = Leg.objects.get(entry=may, credit__gt=0)
    with nothing_written(sb.book), pytest.raises(errors.AllocatedSource):
        services.entry_post(
            book=sb.book, date=dt.date(2026, 5, 16), memo="refund", user=user,
            legs=[LegSpec(account=sb.income_r, fund=sb.gen, debit=Decimal("5000"), reduces=income_leg),
                  Cr(sb.bank, sb.gen, Decimal("5000"))],
        )


def test_a_use_after_a_give_back_in_the_same_entry_reads_the_sources_afresh(sb, user):
    """One entry spends 150, gives back 10 of income (naming no source: the newest) and spends 5 more, in GEN.

    Gifts: A 100 on 1 January, B 100 on 2 January. The first use takes A 100 and B 50 (B has 50 left); the give-back
    takes 10 of B, the newest (40 left); the second use takes 5 of B (35 left). Before the fix the second use
    wrote B's remainder from the copy it had read before the give-back (50 - 5 = 45), so B's allocations and
    remainder added up to 210 of its 100 and the books failed verification (found by the property test)."""
    def gift(amount, day):
        services.entry_post(book=sb.book, date=dt.date(2026, 1, day), memo="gift", user=user,
                            legs=[Dr(sb.bank, sb.gen, Decimal(amount)), Cr(sb.income, sb.gen, Decimal(amount))])

    gift("100", 1)
    gift("100", 2)
    services.entry_post(book=sb.book, date=dt.date(2026, 1, 3), memo="mixed", user=user, legs=[
        Dr(sb.exp_admin, sb.gen, Decimal("150")), Cr(sb.bank, sb.gen, Decimal("150")),
        Dr(sb.income, sb.gen, Decimal("10")), Cr(sb.bank, sb.gen, Decimal("10")),
        Dr(sb.exp_admin, sb.gen, Decimal("5")), Cr(sb.bank, sb.gen, Decimal("5")),
    ])
    remaining = dict(FundSource.objects.filter(fund=sb.gen).order_by("date").values_list("date", "remaining"))
    assert remaining == {dt.date(2026, 1, 1): 0, dt.date(2026, 1, 2): 3500}
    assert verify_book(sb.book).ok
