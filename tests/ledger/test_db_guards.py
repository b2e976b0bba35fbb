"""What the database itself refuses, whatever the Python code does (raw SQL, really committed).

Every test here runs with ``transaction=True`` so that statements commit as they would in production: on
PostgreSQL the deferred constraint trigger fires only at commit. Each refused write must leave nothing behind.
"""

import re
from decimal import Decimal

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from ledger import errors, services
from ledger.models import JournalEntry, Leg
from ledger.services import Cr, Dr

from .conftest import D, raw_entry, raw_leg

pytestmark = pytest.mark.django_db(transaction=True)


def counts():
    return JournalEntry.objects.count(), Leg.objects.count()


def refused(run, message):
    """Run ``run(cursor)`` in one transaction; the database must refuse it with the guard's ``message`` (a regular
    expression, see ``guard``) and keep nothing of it."""
    before = counts()
    with pytest.raises(DatabaseError, match=message) as info:
        with transaction.atomic(), connection.cursor() as cursor:
            run(cursor)
    assert counts() == before
    return info.value


def guard(sqlite: str, postgresql: str | None = None) -> str:
    """The refusal of one guard, as its engine words it (the texts live in ledger/migrations/sql/); ``{n}`` stands
    for an entry's id."""
    text = sqlite if connection.vendor == "sqlite" or postgresql is None else postgresql
    return "ledger: " + r"\d+".join(re.escape(part) for part in text.split("{n}"))


def must_balance():
    return guard("the legs of an entry must balance per fund, per currency and in CNY",
                 "the legs of entry {n} must balance per fund, per currency and in CNY")


def too_few_legs():
    """SQLite counts the legs in its balance trigger; PostgreSQL says so on its own."""
    return guard("the legs of an entry must balance per fund, per currency and in CNY",
                 "entry {n} has fewer than two legs")


def against_the_rules():
    return guard("a leg uses an account or fund of another book, or spends a fund against its purpose",
                 "entry {n} uses an account or fund of another book, or spends a fund against its purpose")


def closed_period():
    return guard("entry dated in a closed period", "entry dated 2026-03-02 falls in a closed period")


def post_gift(sb, user, amount="100.00", fund=None, batch=None):
    fund = fund or sb.gen
    return services.entry_post(
        book=sb.book, date=D, memo="gift", user=user, batch=batch,
        legs=[Dr(sb.bank, fund, Decimal(amount)), Cr(sb.income, fund, Decimal(amount))],
    )


# --- an entry is checked when it goes from draft to posted --------------------------------------------------------


def _draft_then_post(sb, user, legs):
    def run(cursor):
        entry_id = raw_entry(cursor, sb.book, user)
        for position, leg in enumerate(legs(sb), start=1):
            raw_leg(cursor, entry_id, position, *leg[:2], **leg[2])
        cursor.execute("UPDATE ledger_journalentry SET status = 'posted' WHERE id = %s", [entry_id])

    return run


UNBALANCED = {
    "debits exceed credits": lambda sb: [
        (sb.bank, sb.gen, {"debit": 10000}),
        (sb.income, sb.gen, {"credit": 9000}),
    ],
    "balanced overall but not per fund": lambda sb: [
        (sb.bank, sb.gen, {"debit": 10000}),
        (sb.income, sb.fa, {"credit": 10000}),
    ],
    "balanced in CNY but not per currency": lambda sb: [
        (sb.bank, sb.gen, {"debit": 9000, "currency": "CNY"}),
        (sb.income, sb.gen, {"credit": 10000, "currency": "HKD", "credit_cny": 9000}),
    ],
    "balanced per currency but not in CNY": lambda sb: [
        (sb.bank, sb.gen, {"debit": 10000, "currency": "HKD", "debit_cny": 9000}),
        (sb.income, sb.gen, {"credit": 10000, "currency": "HKD", "credit_cny": 9001}),
    ],
    "a single leg": lambda sb: [(sb.bank, sb.gen, {"debit": 10000})],
    "no legs at all": lambda sb: [],
}
TOO_FEW_LEGS = {"a single leg", "no legs at all"}


@pytest.mark.parametrize("case", UNBALANCED)
def test_posting_an_unbalanced_entry_is_refused(csb, user, case):
    message = too_few_legs() if case in TOO_FEW_LEGS else must_balance()
    refused(_draft_then_post(csb, user, UNBALANCED[case]), message)


def test_a_balanced_raw_entry_posts(csb, user):
    """The control case: the same raw SQL with balanced legs is accepted (so the refusals above are about balance)."""
    with transaction.atomic(), connection.cursor() as cursor:
        _draft_then_post(csb, user, lambda sb: [(sb.bank, sb.gen, {"debit": 10000}), (sb.income, sb.gen, {"credit": 10000})])(cursor)
    assert JournalEntry.objects.get().status == "posted"


def test_inserting_an_entry_directly_as_posted_is_refused(csb, user):
    refused(lambda cursor: raw_entry(cursor, csb.book, user, status="posted"),
            guard("an entry is inserted as a draft and posted afterwards"))


@pytest.mark.parametrize(
    "account, fund",
    [("exp_b", "fa"), ("exp_admin", "fa"), ("exp_a", "endow"), ("exp_admin", "endow")],
    ids=["other program", "general purposes", "endowment on purpose", "endowment general"],
)
def test_spending_a_fund_against_its_purpose_is_refused(csb, user, account, fund):
    post_gift(csb, user, "500.00", fund=csb.fa)
    spend = lambda sb: [  # noqa: E731
        (getattr(sb, account), getattr(sb, fund), {"debit": 10000}),
        (sb.bank, getattr(sb, fund), {"credit": 10000}),
    ]
    refused(_draft_then_post(csb, user, spend), against_the_rules())


def test_spending_a_restricted_fund_on_its_purpose_is_accepted(csb, user):
    with transaction.atomic(), connection.cursor() as cursor:
        _draft_then_post(csb, user, lambda sb: [(sb.exp_a, sb.fa, {"debit": 100}), (sb.bank, sb.fa, {"credit": 100})])(cursor)
    assert JournalEntry.objects.get().status == "posted"


def test_a_leg_on_an_account_of_another_book_is_refused(csb, user):
    from .conftest import make_book

    other = make_book("OTHER")
    refused(_draft_then_post(csb, user, lambda sb: [(other.bank, sb.gen, {"debit": 100}), (sb.income, sb.gen, {"credit": 100})]),
            against_the_rules())
    refused(_draft_then_post(csb, user, lambda sb: [(sb.bank, other.gen, {"debit": 100}), (sb.income, other.gen, {"credit": 100})]),
            against_the_rules())


def test_a_restricted_funds_net_assets_never_go_below_zero(csb):
    """The fund's CHECK constraint, whoever writes the running balance: the service's overdraft check is the
    first guard, this the second."""
    from ledger.models import Fund

    with pytest.raises(IntegrityError, match="ledger_fund_restricted_never_below_zero"), transaction.atomic():
        Fund.objects.filter(pk=csb.fa.pk).update(net_assets=-1)
    assert Fund.objects.get(pk=csb.fa.pk).net_assets == 0
    Fund.objects.filter(pk=csb.gen.pk).update(net_assets=-1)  # the unrestricted fund may go below zero


# --- posted entries and their legs never change -------------------------------------------------------------------


def test_updating_a_posted_leg_is_refused(csb, user):
    entry = post_gift(csb, user)
    leg = entry.legs.get(position=1)
    for sql in (
        "UPDATE ledger_leg SET debit = 1, debit_cny = 1 WHERE id = %s",
        "UPDATE ledger_leg SET fund_id = {} WHERE id = %s".format(csb.fa.pk),
        "UPDATE ledger_leg SET date = '2026-03-01' WHERE id = %s",
    ):
        refused(lambda cursor: cursor.execute(sql, [leg.pk]),
                guard("a leg of a posted entry cannot be changed", "a leg of a posted entry cannot be update"))
    leg_after = Leg.objects.get(pk=leg.pk)
    assert (leg_after.debit, leg_after.fund_id, leg_after.date) == (10000, csb.gen.pk, D)


def test_deleting_a_posted_leg_is_refused(csb, user):
    entry = post_gift(csb, user)
    refused(lambda cursor: cursor.execute("DELETE FROM ledger_leg WHERE id = %s", [entry.legs.first().pk]),
            guard("a leg of a posted entry cannot be deleted", "a leg of a posted entry cannot be delete"))
    assert entry.legs.count() == 2


def test_adding_a_leg_to_a_posted_entry_is_refused(csb, user):
    entry = post_gift(csb, user)
    refused(lambda cursor: raw_leg(cursor, entry.pk, 3, csb.bank, csb.gen, debit=1),
            guard("legs cannot be added to a posted entry", "legs cannot be added to or moved into a posted entry"))


def test_moving_a_draft_leg_into_a_posted_entry_is_refused(csb, user):
    entry = post_gift(csb, user)
    with transaction.atomic(), connection.cursor() as cursor:
        draft_id = raw_entry(cursor, csb.book, user)
        leg_id = raw_leg(cursor, draft_id, 1, csb.bank, csb.gen, debit=1)
    refused(lambda cursor: cursor.execute("UPDATE ledger_leg SET entry_id = %s, position = 9 WHERE id = %s", [entry.pk, leg_id]),
            guard("a leg of a posted entry cannot be changed", "legs cannot be added to or moved into a posted entry"))
    # The draft (not part of the books) may be cleaned away; posted entries may not.
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM ledger_leg WHERE id = %s", [leg_id])
        cursor.execute("DELETE FROM ledger_journalentry WHERE id = %s", [draft_id])


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE ledger_journalentry SET memo = 'changed' WHERE id = %s",
        "UPDATE ledger_journalentry SET status = 'draft' WHERE id = %s",
        "UPDATE ledger_journalentry SET date = '2026-03-01' WHERE id = %s",
        "DELETE FROM ledger_journalentry WHERE id = %s",
    ],
    ids=["memo", "back to draft", "date", "delete"],
)
def test_changing_or_deleting_a_posted_entry_is_refused(csb, user, sql):
    entry = post_gift(csb, user)
    verb = "delete" if sql.startswith("DELETE") else "update"
    refused(lambda cursor: cursor.execute(sql, [entry.pk]),
            guard(f"a posted entry cannot be {'deleted' if verb == 'delete' else 'changed'}",
                  f"a posted entry cannot be {verb}"))
    stored = JournalEntry.objects.get(pk=entry.pk)
    assert (stored.memo, stored.status, stored.date) == ("gift", "posted", D)


def test_allocations_are_append_only(csb, user):
    post_gift(csb, user, "100.00")
    services.entry_post(
        book=csb.book, date=D, memo="use", user=user,
        legs=[Dr(csb.exp_admin, csb.gen, Decimal("40")), Cr(csb.bank, csb.gen, Decimal("40"))],
    )
    append_only = guard("allocations are append-only")
    refused(lambda cursor: cursor.execute("UPDATE ledger_allocation SET amount = 1"), append_only)
    refused(lambda cursor: cursor.execute("DELETE FROM ledger_allocation"), append_only)


# --- closed periods -----------------------------------------------------------------------------------------------


def test_an_entry_dated_in_a_closed_period_is_refused(csb, user):
    services.period_close(book=csb.book, month="2026-03", user=user)
    refused(_draft_then_post(csb, user, lambda sb: [(sb.bank, sb.gen, {"debit": 100}), (sb.income, sb.gen, {"credit": 100})]),
            closed_period())


def test_a_draft_is_not_posted_into_a_period_closed_after_it_was_written(csb, user):
    with transaction.atomic(), connection.cursor() as cursor:
        entry_id = raw_entry(cursor, csb.book, user)
        raw_leg(cursor, entry_id, 1, csb.bank, csb.gen, debit=100)
        raw_leg(cursor, entry_id, 2, csb.income, csb.gen, credit=100)
    services.period_close(book=csb.book, month="2026-03", user=user)
    refused(lambda cursor: cursor.execute("UPDATE ledger_journalentry SET status = 'posted' WHERE id = %s", [entry_id]),
            closed_period())
    assert JournalEntry.objects.get(pk=entry_id).status == "draft"
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM ledger_leg WHERE entry_id = %s", [entry_id])
        cursor.execute("DELETE FROM ledger_journalentry WHERE id = %s", [entry_id])


# --- PostgreSQL: the second guard, at commit ---------------------------------------------------------------------


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("the deferred constraint trigger exists on PostgreSQL only")


@pytest.mark.postgres
@pytest.mark.parametrize("case", ["debits exceed credits", "balanced overall but not per fund", "a single leg"])
def test_postgres_deferred_trigger_refuses_at_commit(postgres_only, csb, user, case):
    """With the immediate check switched off inside the transaction, the unbalanced post goes through
    statement by statement, and the deferred constraint trigger still refuses it when the transaction commits."""
    before = counts()
    reached_commit = False
    with pytest.raises(IntegrityError, match=too_few_legs() if case in TOO_FEW_LEGS else must_balance()):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            cursor.execute("ALTER TABLE ledger_journalentry DISABLE TRIGGER ledger_entry_posted_check")
            _draft_then_post(csb, user, UNBALANCED[case])(cursor)
            cursor.execute("SELECT status FROM ledger_journalentry ORDER BY id DESC LIMIT 1")
            assert cursor.fetchone()[0] == "posted"  # accepted so far: only the commit is left to refuse it
            reached_commit = True
    assert reached_commit
    assert counts() == before
    # ALTER TABLE is transactional: the rollback has already switched the guard back on. Make sure of it.
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE ledger_journalentry ENABLE TRIGGER ledger_entry_posted_check")
        cursor.execute("SELECT tgenabled FROM pg_trigger WHERE tgname = 'ledger_entry_posted_check'")
        assert cursor.fetchone()[0] == "O"


def _last_entry_id(cursor) -> int:
    cursor.execute("SELECT MAX(id) FROM ledger_journalentry")
    return cursor.fetchone()[0]


def _balanced_without_the_statement_guard(sb, user, cursor) -> int:
    """Switch the statement-level guard off for the transaction, post a balanced raw entry, return its id."""
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    cursor.execute("ALTER TABLE ledger_journalentry DISABLE TRIGGER ledger_entry_posted_check")
    _draft_then_post(sb, user, lambda sb: [(sb.bank, sb.gen, {"debit": 500}), (sb.income, sb.gen, {"credit": 500})])(
        cursor
    )
    return _last_entry_id(cursor)


@pytest.mark.postgres
def test_postgres_commit_check_reaches_entries_beyond_the_first_range(postgres_only, csb, user):
    """The check at commit goes by ranges of 1,000 ids: an unbalanced entry far above the first one posted in the
    transaction is outside the range checked first, and is still checked and refused."""
    before = counts()
    with pytest.raises(IntegrityError, match=must_balance()) as info:
        with transaction.atomic(), connection.cursor() as cursor:
            first = _balanced_without_the_statement_guard(csb, user, cursor)
            cursor.execute("SELECT setval(pg_get_serial_sequence('ledger_journalentry', 'id'), %s)", [first + 5000])
            _draft_then_post(csb, user, UNBALANCED["debits exceed credits"])(cursor)
            bad = _last_entry_id(cursor)
            assert bad > first + 999
    assert f"entry {bad} " in str(info.value)
    assert counts() == before


@pytest.mark.postgres
def test_postgres_commit_check_is_not_fooled_by_an_earlier_check(postgres_only, csb, user):
    """``SET CONSTRAINTS ALL IMMEDIATE`` runs the deferred check early, over the range of the entry posted so far;
    an unbalanced entry posted afterwards in that same range is still checked at COMMIT."""
    before = counts()
    with pytest.raises(IntegrityError, match=too_few_legs()) as info:
        with transaction.atomic(), connection.cursor() as cursor:
            first = _balanced_without_the_statement_guard(csb, user, cursor)
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # checks the first entry's range now, and passes
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            _draft_then_post(csb, user, UNBALANCED["a single leg"])(cursor)
            bad = _last_entry_id(cursor)
            assert first < bad <= first + 999
    assert f"entry {bad} " in str(info.value)
    assert counts() == before


@pytest.mark.postgres
def test_postgres_commit_check_once_per_range(postgres_only, csb, user):
    """Entries posted together are checked by one query over their range of ids: the first firing notes the range
    it checked, and the firings for the other entries of the range find it and stop there."""
    with transaction.atomic():
        with services.posting_batch() as batch:
            gifts = [post_gift(csb, user, "1.00", batch=batch) for _ in range(30)]
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the deferred checks run now, in this statement
            cursor.execute("SELECT current_setting('ledger.commit_checked', true)")
            noted = cursor.fetchone()[0]
    ids = sorted(gift.pk for gift in gifts)
    assert ids[-1] - ids[0] < 999
    assert noted.split("|")[1:] == [str(ids[0]), str(ids[0] + 999)]
    assert JournalEntry.objects.filter(pk__in=ids, status="posted").count() == 30


@pytest.mark.postgres
def test_postgres_before_trigger_refuses_at_once(postgres_only, csb, user):
    """The immediate guard refuses the draft -> posted statement itself, before any commit."""
    with transaction.atomic():
        with pytest.raises(IntegrityError, match=must_balance()):
            with transaction.atomic(), connection.cursor() as cursor:
                _draft_then_post(csb, user, UNBALANCED["debits exceed credits"])(cursor)
    assert counts() == (0, 0)


# --- income of one restriction never lands in a fund of another ---------------------------------------------------


@pytest.mark.parametrize("restriction, fund, accepted", [
    ("unrestricted", "fa", False), ("unrestricted", "endow", False), ("restricted", "gen", False),
    ("endowment", "fa", False), ("unrestricted", "gen", True), ("restricted", "fa", True),
    ("restricted", "endow", True), ("endowment", "endow", True), ("", "fa", True),
], ids=lambda v: str(v))
def test_an_income_account_takes_income_of_its_own_restriction_only(csb, user, restriction, fund, accepted):
    """An income account that names a restriction (410101 捐赠收入—非限定性: unrestricted) takes income only in a fund
    of that restriction; an endowment counts as restricted; an account naming none takes any. Refused by the
    service (PurposeViolation, nothing written) and, for raw SQL that skips it, by the database."""
    income = services.account_create(book=csb.book, code="4109", name="收入", type="income", restriction=restriction)
    target = getattr(csb, fund)
    legs = [Dr(csb.bank, target, Decimal("1.00")), Cr(income, target, Decimal("1.00"))]
    raw = _draft_then_post(csb, user, lambda sb: [(sb.bank, target, {"debit": 100}), (income, target, {"credit": 100})])
    if accepted:
        services.entry_post(book=csb.book, date=D, memo="gift", user=user, legs=legs)
        with transaction.atomic(), connection.cursor() as cursor:
            raw(cursor)
        assert JournalEntry.objects.filter(status="posted").count() == 2
        return
    before = counts()
    with pytest.raises(errors.PurposeViolation, match=f"takes {restriction} income; fund"):
        services.entry_post(book=csb.book, date=D, memo="gift", user=user, legs=legs)
    assert counts() == before
    refused(raw, guard("a leg uses an account or fund of another book, or spends a fund against its purpose or "
                       "takes income of another restriction",
                       "entry {n} uses an account or fund of another book, or spends a fund against its purpose or "
                       "takes income of another restriction"))
