"""Posting batches: plain entries are computed in memory and written in multi-row statements. Whatever is posted
in a batch must leave exactly the books that posting the same entries one by one leaves, and every read in
between must see every entry posted before it."""

import datetime as dt
import random
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from ledger import errors, selectors, services
from ledger.models import Allocation, DailyBalance, Fund, FundSource, JournalEntry, Leg
from ledger.services import Cr, Dr, posting_batch, writer
from ledger.services.fifo import FifoQueue
from ledger.models import Restriction
from ledger.verification import verify_book

from .conftest import make_book, nothing_written

D0 = dt.date(2026, 1, 5)


def workload(seed: int, count: int) -> list[tuple]:
    """A random mix of gifts, spends (FIFO), purchases, a give-back and a reversal, as (kind, day, amount) steps.
    Dates go back and forth, as an imported year does."""
    rng = random.Random(seed)
    steps = []
    for i in range(count):
        day = D0 + dt.timedelta(days=rng.randrange(0, 40))
        amount = Decimal(rng.randrange(100, 50000)) / 100
        kind = rng.choices(["gift_a", "gift_gen", "spend_a", "spend_gen", "move"], [4, 2, 4, 2, 1])[0]
        steps.append((kind, day, amount))
        if i == count // 3:
            steps.append(("give_back", day, None))
        if i == count // 2:
            steps.append(("reverse", day, None))
    return steps


def run(sb, user, steps, prefix, batch=None):
    """Post ``steps`` into ``sb`` (in ``batch`` when given); spends that would overdraw a fund are refused, and
    skipped, the same way in both modes."""
    posted = []
    for i, (kind, day, amount) in enumerate(steps):
        key = f"{prefix}-{i}"
        if kind == "gift_a":
            legs = [Dr(sb.bank, sb.fa, amount), Cr(sb.income_r, sb.fa, amount)]
        elif kind == "gift_gen":
            legs = [Dr(sb.bank, sb.gen, amount), Cr(sb.income, sb.gen, amount)]
        elif kind == "spend_a":
            legs = [Dr(sb.exp_a, sb.fa, amount), Cr(sb.bank, sb.fa, amount)]
        elif kind == "spend_gen":
            legs = [Dr(sb.exp_admin, sb.gen, amount), Cr(sb.bank, sb.gen, amount)]
        elif kind == "move":
            legs = [Dr(sb.stock, sb.gen, amount), Cr(sb.bank, sb.gen, amount)]
        elif kind == "give_back":  # income given back, in the middle of the batch
            if batch is not None:
                batch.flush()  # the sources are read below
            source = FundSource.objects.filter(fund=sb.fa, remaining__gte=100).order_by("-date", "-sequence").first()
            if source is None:
                continue
            amount = Decimal(1)
            legs = [Dr(sb.income_r, sb.fa, amount, reduces=source.leg), Cr(sb.bank, sb.fa, amount)]
        else:  # reverse the newest spend
            spend = next(e for e in reversed(posted) if e.memo.startswith("spend"))
            posted.append(services.entry_reverse(entry=spend, date=day, reason="wrong", user=user, idempotency_key=key,
                                                 batch=batch))
            continue
        try:
            posted.append(services.entry_post(book=sb.book, date=day, memo=kind, legs=legs, user=user,
                                              idempotency_key=key, batch=batch))
        except (errors.InsufficientFunds, errors.AllocatedSource):
            pass
    return posted


def fingerprint(sb) -> dict:
    """The books in terms that do not depend on row ids or on the book: by entry sequence and leg position."""
    book = sb.book
    where = {"leg__entry__book": book}
    return {
        "entries": list(JournalEntry.objects.filter(book=book).order_by("sequence").values_list(
            "sequence", "date", "memo", "status", "reverses__sequence")),
        "legs": list(Leg.objects.filter(entry__book=book).order_by("entry__sequence", "position").values_list(
            "entry__sequence", "position", "account__code", "fund__code", "debit", "credit", "debit_cny",
            "credit_cny", "date")),
        "sources": list(FundSource.objects.filter(**where).order_by("leg__entry__sequence").values_list(
            "leg__entry__sequence", "fund__code", "date", "amount", "remaining")),
        "allocations": sorted(Allocation.objects.filter(**where).values_list(
            "source__leg__entry__sequence", "leg__entry__sequence", "leg__position", "kind", "amount")),
        "daily": list(DailyBalance.objects.filter(book=book).order_by("account__code", "fund__code", "date")
                      .values_list("account__code", "fund__code", "date", "debit", "credit")),
        "funds": list(Fund.objects.filter(book=book).order_by("code").values_list("code", "net_assets")),
    }


@pytest.mark.parametrize("seed", [1, 2])
def test_a_batch_leaves_the_same_books_as_posting_one_by_one(db, user, seed, monkeypatch):
    # Small FIFO pages and multi-row statements, so that the batch takes many of each.
    monkeypatch.setattr(writer, "ROWS", 5)
    monkeypatch.setattr(FifoQueue, "FIRST_PAGE", 1)
    monkeypatch.setattr(FifoQueue, "LARGEST_PAGE", 3)
    steps = workload(seed, 120)
    one = make_book("ONE")
    run(one, user, steps, "one")
    two = make_book("TWO")
    with posting_batch() as batch:
        run(two, user, steps, "two", batch=batch)
    assert fingerprint(two) == fingerprint(one)
    assert verify_book(two.book).ok
    assert verify_book(one.book).ok
    kinds = set(Allocation.objects.filter(leg__entry__book=two.book).values_list("kind", flat=True))
    assert kinds == {"use", "refund"}
    assert JournalEntry.objects.filter(book=two.book, reverses__isnull=False).exists()


def test_rows_reach_the_database_when_the_batch_is_flushed_and_not_before(sb, user):
    """Pending rows are written by ``flush`` (or when the batch closes), never because of some other statement:
    no hook watches the connection. The entry a post returns carries its legs meanwhile."""
    with posting_batch() as batch:
        assert connection.execute_wrappers == []
        gift = batch.post(book=sb.book, date=D0, memo="gift", user=user,
                          legs=[Dr(sb.bank, sb.fa, Decimal("100")), Cr(sb.income_r, sb.fa, Decimal("100"))])
        assert [leg.credit for leg in gift.posted_legs] == [0, 10000]
        assert not JournalEntry.objects.filter(pk=gift.pk).exists()  # pending
        spend = batch.post(book=sb.book, date=D0, memo="spend", user=user,
                           legs=[Dr(sb.exp_a, sb.fa, Decimal("30")), Cr(sb.bank, sb.fa, Decimal("30"))])
        assert batch.net_assets(sb.fa) == Decimal("70.00")  # the batch's running figure
        assert selectors.fund_balance(sb.fa) == Decimal("0.00")  # the database's, not flushed yet
        batch.flush()
        assert JournalEntry.objects.get(pk=gift.pk).status == "posted"
        allocation = Allocation.objects.get(leg__entry=spend)
        assert (allocation.source.leg.entry_id, allocation.amount) == (gift.pk, 3000)
        assert selectors.fund_balance(sb.fa) == Decimal("70.00")
        batch.post(book=sb.book, date=D0, memo="spend", user=user,
                   legs=[Dr(sb.exp_a, sb.fa, Decimal("20")), Cr(sb.bank, sb.fa, Decimal("20"))])
    assert selectors.unallocated(gift) == Decimal("50.00")
    assert selectors.fund_balance(sb.fa) == Decimal("50.00")
    assert verify_book(sb.book).ok


def test_idempotency_inside_a_batch(sb, user):
    legs = lambda amount: [Dr(sb.bank, sb.gen, Decimal(amount)), Cr(sb.income, sb.gen, Decimal(amount))]  # noqa: E731
    before = services.entry_post(book=sb.book, date=D0, memo="gift", user=user, legs=legs("5"), idempotency_key="k0")
    with posting_batch() as batch:
        batch.expect_keys(sb.book, ["k0", "k1", "k2"])
        replay = batch.post(book=sb.book, date=D0, memo="gift", user=user, legs=legs("5"), idempotency_key="k0")
        assert replay.pk == before.pk and replay.replayed and not before.replayed  # used before the batch
        assert [leg.debit for leg in replay.posted_legs] == [500, 0]
        first = batch.post(book=sb.book, date=D0, memo="gift", user=user, legs=legs("7"), idempotency_key="k1")
        again = batch.post(book=sb.book, date=D0, memo="gift", user=user, legs=legs("7"), idempotency_key="k1")
        assert again.pk == first.pk and again.replayed and not first.replayed  # the retry says it wrote nothing
        assert batch.find(sb.book, "k1").pk == first.pk and batch.find(sb.book, "k2") is None
        with pytest.raises(errors.IdempotencyConflict):
            batch.post(book=sb.book, date=D0, memo="gift", user=user, legs=legs("8"), idempotency_key="k1")
        batch.post(book=sb.book, date=D0, memo="gift", user=user, legs=legs("9"), idempotency_key="k3")
    assert JournalEntry.objects.filter(book=sb.book).count() == 3
    assert sorted(JournalEntry.objects.values_list("idempotency_key", flat=True)) == ["k0", "k1", "k3"]
    assert verify_book(sb.book).ok


def test_a_refusal_ends_the_batch_and_writes_nothing_of_it(sb, user):
    with nothing_written(sb.book):
        with pytest.raises(errors.InsufficientFunds):
            with posting_batch() as batch:
                batch.post(book=sb.book, date=D0, memo="gift", user=user,
                           legs=[Dr(sb.bank, sb.fa, Decimal("10")), Cr(sb.income_r, sb.fa, Decimal("10"))])
                batch.post(book=sb.book, date=D0, memo="spend", user=user,
                           legs=[Dr(sb.exp_a, sb.fa, Decimal("11")), Cr(sb.bank, sb.fa, Decimal("11"))])
        sb.book.refresh_from_db()


def test_a_refused_entry_leaves_the_batch_as_it_was(sb, user):
    """A refusal changes nothing the batch holds (the books' checks come before anything moves, and a give-back's
    work in the database runs in a savepoint): a caller may go on posting."""
    with posting_batch() as batch:
        gift = batch.post(book=sb.book, date=D0, memo="gift", user=user,
                          legs=[Dr(sb.bank, sb.fa, Decimal("10")), Cr(sb.income_r, sb.fa, Decimal("10"))])
        batch.post(book=sb.book, date=D0, memo="spend", user=user,
                   legs=[Dr(sb.exp_a, sb.fa, Decimal("6")), Cr(sb.bank, sb.fa, Decimal("6"))])
        with pytest.raises(errors.InsufficientFunds):
            batch.post(book=sb.book, date=D0, memo="overdraft", user=user,
                       legs=[Dr(sb.exp_a, sb.fa, Decimal("5")), Cr(sb.bank, sb.fa, Decimal("5"))])
        batch.post(book=sb.book, date=D0, memo="gift 2", user=user,
                   legs=[Dr(sb.bank, sb.fa, Decimal("10")), Cr(sb.income_r, sb.fa, Decimal("10"))])
        with pytest.raises(errors.AllocatedSource):  # only 4.00 of the gift is unspent
            batch.post(book=sb.book, date=D0, memo="give back", user=user,
                       legs=[Dr(sb.income_r, sb.fa, Decimal("5"), reduces=gift.posted_legs[1]),
                             Cr(sb.bank, sb.fa, Decimal("5"))])
        batch.post(book=sb.book, date=D0, memo="give back", user=user,
                   legs=[Dr(sb.income_r, sb.fa, Decimal("4"), reduces=gift.posted_legs[1]),
                         Cr(sb.bank, sb.fa, Decimal("4"))])
    assert list(JournalEntry.objects.order_by("sequence").values_list("sequence", "memo")) == [
        (1, "gift"), (2, "spend"), (3, "gift 2"), (4, "give back")]
    assert selectors.fund_balance(sb.fa) == Decimal("10.00") and selectors.unallocated(gift) == Decimal("0.00")
    assert verify_book(sb.book).ok


def test_one_batch_at_a_time(sb, user):
    """A second batch inside a first would read the book's head that the first has moved in memory only: it is
    refused, and the outer one is handed on instead."""
    with posting_batch() as batch:
        with pytest.raises(RuntimeError, match="already open"):
            services.entry_post(book=sb.book, date=D0, memo="gift", user=user,
                                legs=[Dr(sb.bank, sb.gen, Decimal("1")), Cr(sb.income, sb.gen, Decimal("1"))])
        with posting_batch(batch) as same:
            assert same is batch


def test_a_batch_writes_its_entries_in_a_few_statements(sb, user, django_assert_max_num_queries):
    services.entry_post(book=sb.book, date=D0, memo="gift", user=user,
                        legs=[Dr(sb.bank, sb.fa, Decimal("1000")), Cr(sb.income_r, sb.fa, Decimal("1000"))])
    keys = [f"s{i}" for i in range(200)]
    # The lock and the keys, ids reserved in doubling blocks, one FIFO page, and per 500 entries an INSERT of
    # entries, of legs, of allocations, an UPDATE to posted and of the sources; then the running totals. Not one
    # statement per entry.
    with django_assert_max_num_queries(40):
        with posting_batch() as batch:
            batch.expect_keys(sb.book, keys)
            for key in keys:
                batch.post(book=sb.book, date=D0, memo="spend", user=user, idempotency_key=key,
                           legs=[Dr(sb.exp_a, sb.fa, Decimal("1")), Cr(sb.bank, sb.fa, Decimal("1"))])
    assert JournalEntry.objects.filter(memo="spend", status="posted").count() == 200
    assert Allocation.objects.filter(kind="use").count() == 200
    assert selectors.fund_balance(sb.fa) == Decimal("800.00")
    assert verify_book(sb.book).ok


@pytest.mark.django_db(transaction=True)
def test_the_database_checks_every_entry_a_batch_posts(csb, user):
    """The multi-row UPDATE to posted is checked by the guards: one unbalanced draft among many refuses it."""
    from .conftest import raw_entry, raw_leg

    sb = csb
    # SQLite: "the legs of an entry must balance ..."; PostgreSQL: "the legs of entry <id> must balance ...".
    with pytest.raises(IntegrityError, match=r"ledger: the legs of (an entry|entry \d+) must balance per fund"):
        with transaction.atomic(), connection.cursor() as cursor:
            ids = []
            for i in range(5):
                entry_id = raw_entry(cursor, sb.book, user, sequence=i + 1)
                raw_leg(cursor, entry_id, 1, sb.bank, sb.gen, debit=1000)
                raw_leg(cursor, entry_id, 2, sb.income, sb.gen, credit=1000 if i != 3 else 900)
                ids.append(entry_id)
            cursor.execute(
                f"UPDATE ledger_journalentry SET status = 'posted' WHERE id IN ({', '.join(['%s'] * len(ids))})", ids
            )
    assert JournalEntry.objects.count() == 0


def test_no_trigger_outside_the_ledger_reads_it_on_insert_or_update(db):
    """What writing a gift's own rows before its pending entry relies on: an INSERT or UPDATE on another table runs
    no trigger (foreign keys to the ledger are checked at COMMIT). The one trigger outside the ledger, the
    attachments' guard, fires on DELETE only."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgrelid::regclass::text, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal")
        else:
            cursor.execute("SELECT tbl_name, sql FROM sqlite_master WHERE type = 'trigger'")
        triggers = cursor.fetchall()
    outside = [definition.upper() for table, definition in triggers if not table.startswith("ledger_")]
    assert triggers and all(" DELETE ON " in d and " INSERT" not in d and " UPDATE" not in d for d in outside), outside


def test_a_single_post_on_postgresql_is_pipelined(sb, user):
    """Outside a batch a plain entry is posted as a batch of one: on PostgreSQL its statements go in psycopg's
    pipelines, on raw cursors (Django sees none of them); refusals, retries and big entries behave as ever."""
    from django.test.utils import CaptureQueriesContext

    gift = services.entry_post(book=sb.book, date=D0, memo="gift", user=user, idempotency_key="g",
                               legs=[Dr(sb.bank, sb.fa, Decimal("100")), Cr(sb.income_r, sb.fa, Decimal("100"))])
    with CaptureQueriesContext(connection) as seen:
        spend = services.entry_post(book=sb.book, date=D0, memo="spend", user=user, idempotency_key="s",
                                    legs=[Dr(sb.exp_a, sb.fa, Decimal("30")), Cr(sb.bank, sb.fa, Decimal("30"))])
    statements = [q["sql"] for q in seen.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    if connection.vendor == "postgresql":
        assert statements == []
    else:
        assert statements  # SQLite: the cursor path, statement by statement
    assert spend.status == "posted" and not spend.replayed
    allocation = Allocation.objects.get(leg__entry=spend)
    assert (allocation.source.leg.entry_id, allocation.amount) == (gift.pk, 3000)
    again = services.entry_post(book=sb.book, date=D0, memo="spend", user=user, idempotency_key="s",
                                legs=[Dr(sb.exp_a, sb.fa, Decimal("30")), Cr(sb.bank, sb.fa, Decimal("30"))])
    assert again.pk == spend.pk and again.replayed
    with nothing_written(sb.book), pytest.raises(errors.InsufficientFunds):
        services.entry_post(book=sb.book, date=D0, memo="too much", user=user,
                            legs=[Dr(sb.exp_a, sb.fa, Decimal("70.01")), Cr(sb.bank, sb.fa, Decimal("70.01"))])
    many = [Dr(sb.bank, sb.gen, Decimal("1")) for _ in range(60)] + [Cr(sb.income, sb.gen, Decimal("60"))]
    big = services.entry_post(book=sb.book, date=D0, memo="61 legs", user=user, legs=many)
    assert big.legs.count() == 61
    assert selectors.fund_balance(sb.fa) == Decimal("70.00") and selectors.fund_balance(sb.gen) == Decimal("60.00")
    assert verify_book(sb.book).ok


@pytest.mark.parametrize("prepared", [True, False])
def test_a_single_post_prepares_its_statements_unless_told_not_to(sb, user, settings, prepared):
    """DB_PREPARED_STATEMENTS=false (a transaction-pooling PgBouncer older than 1.21) posts without preparing."""
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements: PostgreSQL only")
    settings.LEDGER_PREPARED_STATEMENTS = prepared

    def prepared_count():
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_prepared_statements")
            return cursor.fetchone()[0]

    before = prepared_count()
    # Seven legs: an INSERT of legs this connection has not sent before, whatever ran on it earlier.
    legs = [Dr(sb.bank, sb.gen, Decimal("1")) for _ in range(6)] + [Cr(sb.income, sb.gen, Decimal("6"))]
    entry = services.entry_post(book=sb.book, date=D0, memo="seven", user=user, legs=legs)
    assert entry.legs.count() == 7 and verify_book(sb.book).ok
    assert (prepared_count() > before) is prepared


def overdraft(sb, user, amount):
    """Post a spend of ``amount`` from fund A with the service's overdraft check out of the way: the batch is told
    the fund is unrestricted (what it read from the database, changed in memory)."""
    with posting_batch() as batch:
        batch.post(book=sb.book, date=D0, memo="spend", user=user,
                   legs=[Dr(sb.exp_a, sb.fa, Decimal("0.01")), Cr(sb.bank, sb.fa, Decimal("0.01"))])
        batch.funds[sb.fa.pk][1] = Restriction.UNRESTRICTED
        batch.post(book=sb.book, date=D0, memo="overdraft", user=user,
                   legs=[Dr(sb.exp_a, sb.fa, amount), Cr(sb.bank, sb.fa, amount)])


def test_the_database_refuses_inside_a_pipeline_and_the_connection_carries_on(sb, user, monkeypatch):
    """With the service's overdraft check switched off, the fund's CHECK constraint refuses the entry's own
    statements (on PostgreSQL inside the write pipeline): Django's IntegrityError, nothing written, and the
    connection posts the next entry as usual."""
    if connection.vendor != "postgresql":
        pytest.skip("the pipelines are PostgreSQL's")
    services.entry_post(book=sb.book, date=D0, memo="gift", user=user,
                        legs=[Dr(sb.bank, sb.fa, Decimal("10")), Cr(sb.income_r, sb.fa, Decimal("10"))])
    with nothing_written(sb.book), pytest.raises(IntegrityError, match="never_below_zero"):
        overdraft(sb, user, Decimal("11"))
    services.entry_post(book=sb.book, date=D0, memo="spend", user=user,
                        legs=[Dr(sb.exp_a, sb.fa, Decimal("4")), Cr(sb.bank, sb.fa, Decimal("4"))])
    assert selectors.fund_balance(sb.fa) == Decimal("6.00")
    assert verify_book(sb.book).ok


@pytest.mark.parametrize("inside", [False, True], ids=["own transaction", "inside the caller's"])
def test_a_pipelined_post_begins_and_ends_its_own_transaction_or_savepoint(csb, user, monkeypatch, inside):
    """Outside any transaction a single post on PostgreSQL sends BEGIN with its first pipeline and COMMIT with
    its second; inside one, a savepoint. A refusal by the service (after the first pipeline took the locks) or by
    the database (inside the second) leaves nothing open: no transaction holding the book's lock, or the caller's
    transaction clean and able to go on and commit."""
    if connection.vendor != "postgresql":
        pytest.skip("the pipelines are PostgreSQL's")
    from contextlib import nullcontext

    from psycopg.pq import TransactionStatus

    def status():
        return connection.connection.info.transaction_status

    services.entry_post(book=csb.book, date=D0, memo="gift", user=user,
                        legs=[Dr(csb.bank, csb.fa, Decimal("10")), Cr(csb.income_r, csb.fa, Decimal("10"))])
    assert status() == TransactionStatus.IDLE  # committed: nothing left open
    with transaction.atomic() if inside else nullcontext():
        with pytest.raises(errors.InsufficientFunds):  # refused in Python, between the two pipelines
            services.entry_post(book=csb.book, date=D0, memo="too much", user=user,
                                legs=[Dr(csb.exp_a, csb.fa, Decimal("11")), Cr(csb.bank, csb.fa, Decimal("11"))])
        assert status() == (TransactionStatus.INTRANS if inside else TransactionStatus.IDLE)
        with pytest.raises(IntegrityError, match="never_below_zero"):  # refused by the database, second pipeline
            overdraft(csb, user, Decimal("11"))
        assert status() == (TransactionStatus.INTRANS if inside else TransactionStatus.IDLE)
        spend = services.entry_post(book=csb.book, date=D0, memo="spend", user=user,
                                    legs=[Dr(csb.exp_a, csb.fa, Decimal("4")), Cr(csb.bank, csb.fa, Decimal("4"))])
    assert status() == TransactionStatus.IDLE
    # Committed: seen from another connection, which would wait for the book's lock if anything still held it.
    from django.db import connections

    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")
            cursor.execute("SELECT memo FROM ledger_journalentry WHERE book_id = %s ORDER BY sequence", [csb.book.pk])
            assert [row[0] for row in cursor.fetchall()] == ["gift", "spend"]
            cursor.execute("SELECT id FROM ledger_book WHERE id = %s FOR UPDATE", [csb.book.pk])
    finally:
        other.close()
    assert spend.status == "posted" and selectors.fund_balance(csb.fa) == Decimal("6.00")
    assert verify_book(csb.book).ok


def test_a_single_post_with_more_rows_than_one_statement_takes(sb, user):
    """1,001 legs: more than the one-statement path takes (on PostgreSQL in pipeline mode, where COPY cannot run,
    the rows go by INSERTs of 1,000)."""
    legs = [Dr(sb.bank, sb.gen, Decimal("0.01")) for _ in range(1000)] + [Cr(sb.income, sb.gen, Decimal("10.00"))]
    entry = services.entry_post(book=sb.book, date=D0, memo="many", user=user, legs=legs)
    assert entry.legs.count() == 1001
    assert selectors.fund_balance(sb.gen) == Decimal("10.00")
    assert verify_book(sb.book).ok


def test_a_batch_writes_more_day_totals_than_one_statement_takes(sb, user):
    """A batch over 600 days writes 1,200 day totals at its end (500 to a statement on PostgreSQL), each right."""
    days = [D0 - dt.timedelta(days=i) for i in range(600)]
    with posting_batch() as batch:
        for i, day in enumerate(days):
            batch.post(book=sb.book, date=day, memo=f"gift {i}", user=user,
                                legs=[Dr(sb.bank, sb.gen, Decimal(i + 1)), Cr(sb.income, sb.gen, Decimal(i + 1))])
    rows = DailyBalance.objects.filter(book=sb.book, fund=sb.gen)
    assert rows.count() == 1200
    bank = {row.date: row.debit for row in rows.filter(account=sb.bank)}
    assert all(bank[day] == 100 * (i + 1) for i, day in enumerate(days))
    assert selectors.fund_balance(sb.gen) == Decimal(600 * 601 // 2)
    assert verify_book(sb.book).ok


def test_the_row_columns_are_the_models_fields_in_order():
    """``rows`` builds rows and instances positionally: its columns must be the models' concrete fields."""
    from ledger.services import rows

    assert rows.ENTRY_COLUMNS == tuple(f.column for f in JournalEntry._meta.concrete_fields)
    assert rows.LEG_COLUMNS == tuple(f.column for f in Leg._meta.concrete_fields)
