"""Property tests: random balanced entries and reversals, in CNY and HKD, across restricted and unrestricted funds.

Whatever hypothesis posts (and whatever the ledger refuses on the way, writing nothing), the trial balance stays
balanced, each account's and fund's balance equals the sum of its legs, the books verify, and reversing everything
that is left brings every balance back to zero. Each example gets a book of its own, so examples do not interact.
"""

import datetime as dt
import itertools
from collections import Counter, defaultdict
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import errors, selectors, services
from ledger.models import AccountType, FundSource, JournalEntry, Leg
from ledger.services import Cr, Dr
from ledger.verification import verify_book

from .conftest import ledger_state, make_book

BOUNDED = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], print_blob=True
)
_books = itertools.count(1)

# (fund, debit account, credit account): what a trust really does, plus moves the ledger may refuse (spending more
# than a restricted fund holds, giving back income that is already spent).
PAIRS = [
    ("gen", "bank", "income"),
    ("gen", "exp_admin", "bank"),
    ("gen", "stock", "payable"),
    ("gen", "payable", "bank"),
    ("gen", "income", "bank"),
    ("fa", "bank", "income_r"),
    ("fa", "exp_a", "bank"),
    ("fa", "stock", "bank"),
    ("fa", "exp_a", "stock"),
    ("fb", "bank", "income_r"),
    ("fb", "exp_b", "payable"),
    ("endow", "bank", "equity"),
    ("endow", "bank", "income"),
]
LAST_DAY = dt.date(2026, 10, 31)
REVERSE_ON = dt.date(2026, 11, 2)

amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("20000"), places=2)
entries = st.fixed_dictionaries(
    {
        "pairs": st.lists(st.tuples(st.sampled_from(PAIRS), amounts), min_size=1, max_size=3),
        "currency": st.sampled_from(["CNY", "CNY", "HKD"]),
        "rate": st.sampled_from([Decimal("0.9"), Decimal("0.9123"), Decimal("0.87654321")]),
        "date": st.dates(min_value=dt.date(2026, 1, 1), max_value=LAST_DAY),
    }
)
operations = st.lists(
    st.one_of(st.tuples(st.just("post"), entries), st.tuples(st.just("reverse"), st.integers(0, 50))),
    min_size=1,
    max_size=10,
)

# What the generator is meant to provoke. Any other LedgerError (Unbalanced, PurposeViolation, ...) would be a bug
# in the ledger or in the generator, and fails the test instead of being counted as a refusal.
REFUSALS = (errors.InsufficientFunds, errors.AllocatedSource, errors.AlreadyReversed)


def legs_for(sb, entry):
    legs = []
    currency = entry["currency"]
    for (fund, debit, credit), amount in entry["pairs"]:
        fund = getattr(sb, fund)
        legs += [Dr(getattr(sb, debit), fund, amount, currency), Cr(getattr(sb, credit), fund, amount, currency)]
    return legs


def run(sb, user, ops, tally: Counter):
    """Apply the operations; every refusal must write nothing. Counts in ``tally`` what was accepted and what was
    refused (by kind of operation and of refusal), so that a test can show that both happened."""
    for kind, arg in ops:
        before, in_memory = ledger_state(sb.book), (sb.book.last_sequence, sb.book.head_hash)
        try:
            if kind == "post":
                services.entry_post(
                    book=sb.book, date=arg["date"], memo="p", user=user, legs=legs_for(sb, arg),
                    fx_rate=arg["rate"] if arg["currency"] != "CNY" else None,
                )
            else:
                posted = list(JournalEntry.objects.filter(book=sb.book).order_by("sequence"))
                if not posted:
                    tally["reverse with nothing posted"] += 1
                    continue
                target = posted[arg % len(posted)]
                services.entry_reverse(entry=target, date=LAST_DAY, reason="r", user=user)
        except REFUSALS as exc:
            tally[f"{kind} refused: {type(exc).__name__}"] += 1
            assert ledger_state(sb.book) == before
            assert (sb.book.last_sequence, sb.book.head_hash) == in_memory
            continue
        tally[f"{kind} accepted"] += 1
        assert_balanced(sb)


def assert_both_outcomes(tally: Counter):
    """The generated examples as a whole posted and reversed entries and were refused some: a generator that never
    leads to a refusal would leave the "a refusal writes nothing" checks of ``run`` untested. (Overdrafts come in
    every run by the dozen; the rarer refusals are made for certain by ``test_every_refusal_writes_nothing``.)"""
    for outcome in ("post accepted", "reverse accepted", "post refused: InsufficientFunds"):
        assert tally[outcome] > 0, (outcome, dict(tally))


def entry(fund, debit, credit, amount, currency="CNY", day=1):
    return {"pairs": [((fund, debit, credit), Decimal(amount))], "currency": currency, "rate": Decimal("0.9"),
            "date": dt.date(2026, 1, day)}


def test_every_refusal_writes_nothing(db, user):
    """Each refusal the generator may meet, made on purpose, with the exact tally: ``run`` counts what it should."""
    sb = make_book("HAND")
    tally = Counter()
    run(sb, user, [
        ("post", entry("fa", "bank", "income_r", "100")),  # 1: a gift to FA
        ("post", entry("fa", "bank", "income_r", "100", day=2)),  # 2: another
        ("post", entry("fa", "exp_a", "bank", "250", day=3)),  # more than FA holds
        ("post", entry("fa", "exp_a", "bank", "60", day=3)),  # 3: spent from gift 1 (first in, first out)
        ("reverse", 0),  # gift 1 is partly spent: it cannot be given back whole
        ("reverse", 2),  # 4: the spending undone
        ("reverse", 2),  # and not twice
        ("post", entry("gen", "bank", "income", "50", day=4)),  # 5: a gift to GEN
        ("post", entry("gen", "exp_admin", "bank", "50", day=5)),  # 6: all of it spent
        ("post", entry("gen", "income", "bank", "10", day=6)),  # giving back income already spent
    ], tally)
    assert tally == {
        "post accepted": 5, "post refused: InsufficientFunds": 1, "post refused: AllocatedSource": 1,
        "reverse accepted": 1, "reverse refused: AllocatedSource": 1, "reverse refused: AlreadyReversed": 1,
    }
    assert JournalEntry.objects.filter(book=sb.book).count() == 6


def assert_balanced(sb):
    table = selectors.trial_balance(sb.book)
    assert sum(r.debit for r in table) == sum(r.credit for r in table)


def sums_of_legs(sb):
    """Debit-minus-credit CNY per account and per (account, fund), and net assets per fund, straight from legs."""
    per_account, per_pair, per_fund = defaultdict(int), defaultdict(int), defaultdict(int)
    for account_id, account_type, fund_id, debit, credit in Leg.objects.filter(entry__book=sb.book).values_list(
        "account_id", "account__type", "fund_id", "debit_cny", "credit_cny"
    ):
        per_account[account_id] += debit - credit
        per_pair[(account_id, fund_id)] += debit - credit
        if account_type in (AccountType.INCOME, AccountType.EXPENSE, AccountType.NET_ASSETS):
            per_fund[fund_id] += credit - debit
    return per_account, per_pair, per_fund


def assert_balances_equal_legs(sb):
    per_account, per_pair, per_fund = sums_of_legs(sb)
    for account in sb.book.accounts.all():
        signed = Decimal(per_account[account.pk]) / 100
        assert selectors.account_balance(account) == (signed if account.debit_normal else -signed), account.code
        assert selectors.account_balance(account, as_of=REVERSE_ON) == (signed if account.debit_normal else -signed)
    assert selectors.balances_by_account_and_fund(sb.book) == {
        key: Decimal(value) / 100 for key, value in per_pair.items() if key in _pairs_with_movement(sb)
    }
    for fund in sb.book.funds.all():
        assert selectors.fund_balance(fund) == Decimal(per_fund[fund.pk]) / 100, fund.code
        assert selectors.fund_balance(fund, as_of=REVERSE_ON) == Decimal(per_fund[fund.pk]) / 100, fund.code
        if fund.restriction != "unrestricted":
            assert selectors.fund_balance(fund) >= 0
        table = selectors.trial_balance(sb.book, fund=fund)
        assert sum(r.debit for r in table) == sum(r.credit for r in table), fund.code


def _pairs_with_movement(sb):
    return set(Leg.objects.filter(entry__book=sb.book).values_list("account_id", "fund_id").distinct())


def reverse_everything(sb, user):
    """Undo every entry, newest first. An entry already reversed is undone; a chain entry <- reversal <- reversal of
    the reversal ... is undone when its length is even, and gets one more reversal at its end when it is odd."""
    reversed_ids = set(
        JournalEntry.objects.filter(book=sb.book, reverses__isnull=False).values_list("reverses_id", flat=True)
    )
    for entry in JournalEntry.objects.filter(book=sb.book).order_by("-sequence"):
        if entry.pk in reversed_ids:
            continue
        length, link = 1, entry
        while link.reverses_id is not None:
            length, link = length + 1, link.reverses
        if length % 2:
            services.entry_reverse(entry=entry, date=REVERSE_ON, reason="undo all", user=user)


def test_random_entries_keep_the_books_balanced(db, user):
    tally = Counter()

    @BOUNDED
    @given(ops=operations)
    def check(ops):
        sb = make_book(f"P{next(_books)}")
        run(sb, user, ops, tally)
        assert_balances_equal_legs(sb)
        verdict = verify_book(sb.book)
        assert verdict.ok, verdict.problem

    check()
    assert_both_outcomes(tally)


def test_reversing_everything_returns_every_balance_to_zero(db, user):
    tally = Counter()

    @BOUNDED
    @given(ops=operations)
    def check(ops):
        sb = make_book(f"R{next(_books)}")
        run(sb, user, ops, tally)
        reverse_everything(sb, user)
        assert_all_zero(sb)

    check()
    assert_both_outcomes(tally)


def assert_all_zero(sb):
    for account in sb.book.accounts.all():
        assert selectors.account_balance(account) == 0, account.code
    for fund in sb.book.funds.all():
        assert selectors.fund_balance(fund) == 0, fund.code
    assert all(r.debit == r.credit == 0 for r in selectors.trial_balance(sb.book))
    assert set(selectors.balances_by_account_and_fund(sb.book).values()) <= {Decimal("0.00")}
    # Every source is given back or whole again: nothing of it stays allocated to a use that was undone.
    for source in FundSource.objects.filter(fund__book=sb.book):
        assert source.remaining in (0, source.amount)
    verdict = verify_book(sb.book)
    assert verdict.ok, verdict.problem
