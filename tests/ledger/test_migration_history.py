"""The ledger's migrations are history: each guard migration runs its own frozen SQL and has a real reverse.

A database that holds posted entries is migrated from zero one ledger migration at a time, back to zero one at a
time, and forward again. At every step the guards in the database are exactly those of the latest guard
migration applied (``ledger/migrations/sql/NNNN_guards.<engine>.sql``), and from the first guard migration on
they refuse what they should; at zero nothing of the ledger is left; after the round trip the schema is the
one a fresh install has. Unapplying the ledger unapplies the apps that depend on it (charity, beneficiaries), so
their reverses are exercised too. The test leaves the database fully migrated.
"""

import hashlib
import re

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from ledger import dbguards

pytestmark = pytest.mark.django_db(transaction=True)

# The guard files of migrations that are released are never edited: a change to the guards is a new migration
# with new files (see ledger.dbguards). Only a new guard migration adds a line here.
FROZEN = {
    "0002_guards.postgresql.sql": "0cd9a5cbf010fd917f89c4e6b4f8efd76c31f281a29dc21c46abada813ee8a0e",
    "0002_guards.sqlite.sql": "2942de28f7825029777979ad4fa3a9fce25e781b74aae55ef35e44aaa0aa11e3",
    "0003_guards.postgresql.sql": "51a6d97c1fffc500192cd5e2b26fb4d0aca687a2f9e7a13348d49ba1f71d7622",
    "0003_guards.sqlite.sql": "35fabc59034d49ea35a4129b1b6bcd38ca630b4ed120a0e691fb9062a33338c6",
    "0004_guards.postgresql.sql": "8aeadff503cdfb40c9dad7a643d794357b06442140092a031d84c322284d9554",
    "0004_guards.sqlite.sql": "35fabc59034d49ea35a4129b1b6bcd38ca630b4ed120a0e691fb9062a33338c6",
    "0006_guards.postgresql.sql": "fa78fc65eb53ba9ddf08893b2b06fa32517ce900895d35869c555c24ce918d41",
    "0006_guards.sqlite.sql": "35fabc59034d49ea35a4129b1b6bcd38ca630b4ed120a0e691fb9062a33338c6",
    "0009_guards.postgresql.sql": "1f5abaf780047821c36a851ee9db7575be9922b2fcf1917113aa133fb7ca3f99",
    "0009_guards.sqlite.sql": "2b9e364427d88e6e6676ad49684b34e6a6b262a98d686f76e07c98213d21a7f9",
    "0010_guards.postgresql.sql": "da66199d7a0ba39c7db45c81c1660369306fe2eb0918e72fab8da1695f172ec1",
    "0010_guards.sqlite.sql": "5d8dc5eae895b58c4dfa10ea6a837ceea5a2f53afd24b48e434e9aee245f8ef5",
}


def test_the_guard_files_of_migrations_are_frozen():
    found = {path.name: hashlib.sha256(path.read_bytes()).hexdigest()
             for path in sorted(dbguards.SQL_DIR.glob("*.sql"))}
    assert found == FROZEN, "a guard migration's SQL was edited or added: change the guards in a new migration"


# --- the database as it stands ----------------------------------------------------------------------------------


def _rows(sql: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return sorted(tuple(row) for row in cursor.fetchall())


def installed_guards() -> dict:
    """The ledger's triggers (name: table) and, on PostgreSQL, its functions (name: body) as they are now."""
    if connection.vendor == "sqlite":
        return {"triggers": dict(_rows("SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger' "
                                       "AND tbl_name LIKE 'ledger%'")),
                "functions": {}}
    triggers = _rows("SELECT t.tgname, c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                     "WHERE NOT t.tgisinternal AND c.relname LIKE 'ledger%'")
    functions = _rows("SELECT p.proname, p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                      "WHERE n.nspname = current_schema() AND p.proname LIKE 'ledger%'")
    assert len(functions) == len({name for name, _ in functions}), f"overloaded leftovers: {functions}"
    return {"triggers": dict(triggers), "functions": dict(functions)}


def frozen_guards(migration: str | None) -> dict:
    """What migration ``migration``'s files create (nothing for ``None``)."""
    if migration is None:
        return {"triggers": {}, "functions": {}}
    vendor = connection.vendor
    functions = {}
    for statement in dbguards.statements(vendor, migration):
        match = re.search(r"^CREATE (?:OR REPLACE )?FUNCTION (\w+).*?\$\$(.*)\$\$", statement, re.S | re.M)
        if match:
            functions[match.group(1)] = match.group(2)
    return {"triggers": dict(dbguards.trigger_names(vendor, migration)), "functions": functions}


def schema() -> list[tuple]:
    """Every table, column, index, constraint, trigger and function of the database, in a comparable form."""
    if connection.vendor == "sqlite":
        return _rows("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
    return (
        _rows("SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns "
              "WHERE table_schema = current_schema()")
        + _rows("SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()")
        + _rows("SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE connamespace = current_schema()::regnamespace")
        + _rows("SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal")
        + _rows("SELECT p.oid::regprocedure::text, pg_get_functiondef(p.oid) FROM pg_proc p "
                "WHERE p.pronamespace = current_schema()::regnamespace")
    )


def ledger_tables() -> list[str]:
    return [name for name in connection.introspection.table_names() if name.startswith("ledger_")]


# --- migrating --------------------------------------------------------------------------------------------------


def executor() -> MigrationExecutor:
    return MigrationExecutor(connection)


def ledger_migrations() -> list[str]:
    graph = executor().loader.graph
    names = [name for app, name in graph.forwards_plan(("ledger", _ledger_leaf())) if app == "ledger"]
    assert names[0] == "0001_initial"
    return names


def _ledger_leaf() -> str:
    [(_, name)] = [node for node in executor().loader.graph.leaf_nodes() if node[0] == "ledger"]
    return name


def migrate_ledger(name: str | None) -> MigrationExecutor:
    """Migrate the ledger to ``name`` (``None``: zero); whatever depends on a later state goes back with it."""
    run = executor()
    run.migrate([("ledger", name)])
    return run


def migrate_all() -> None:
    run = executor()
    run.loader.build_graph()
    run.migrate(run.loader.graph.leaf_nodes())


def guards_after(name: str | None) -> str | None:
    """The guard migration whose files are installed once the ledger stands at ``name``."""
    applied = [m for m in dbguards.migrations_with_guards() if name is not None and m <= name[:4]]
    return applied[-1] if applied else None


# --- data, written with the historical models -------------------------------------------------------------------


def historical_book(run: MigrationExecutor, name: str) -> dict:
    """A book with two accounts, a fund and a posted entry, written with the models of ledger ``name``."""
    apps = run.loader.project_state(("ledger", name)).apps
    User = apps.get_model("auth", "User")
    Book, Account, Fund = (apps.get_model("ledger", m) for m in ("Book", "Account", "Fund"))
    JournalEntry, Leg = apps.get_model("ledger", "JournalEntry"), apps.get_model("ledger", "Leg")
    user = User.objects.create(username=f"historian-{name}", password="!")
    book = Book.objects.create(code=f"H{name[:4]}", name="History")
    bank = Account.objects.create(book=book, code="1002", name="bank", type="asset")
    income = Account.objects.create(book=book, code="4101", name="income", type="income")
    fund = Fund.objects.create(book=book, code="GEN", name="general", restriction="unrestricted")
    entry = JournalEntry.objects.create(book=book, sequence=1, date="2026-03-02", memo="gift", status="draft",
                                        created_by=user, previous_hash="", hash="")
    legs = [
        Leg.objects.create(entry=entry, position=1, account=bank, fund=fund, currency="CNY", debit=10000,
                           debit_cny=10000, date="2026-03-02"),
        Leg.objects.create(entry=entry, position=2, account=income, fund=fund, currency="CNY", credit=10000,
                           credit_cny=10000, date="2026-03-02"),
    ]
    JournalEntry.objects.filter(pk=entry.pk).update(status="posted")
    return {"user": user.pk, "book": book.pk, "bank": bank.pk, "income": income.pk, "fund": fund.pk,
            "entry": entry.pk, "leg": legs[0].pk}


def refused(*statements: tuple[str, list]) -> None:
    """The statements, in one transaction, are refused by the database and leave nothing behind."""
    before = _rows("SELECT id, status, memo FROM ledger_journalentry"), _rows("SELECT id, debit FROM ledger_leg")
    with pytest.raises(DatabaseError, match="ledger"):
        with transaction.atomic(), connection.cursor() as cursor:
            for sql, params in statements:
                cursor.execute(sql, params)
    after = _rows("SELECT id, status, memo FROM ledger_journalentry"), _rows("SELECT id, debit FROM ledger_leg")
    assert after == before


def assert_guards_refuse(data: dict) -> None:
    """A posted entry and its legs cannot be changed or deleted, and an unbalanced draft cannot be posted."""
    refused(("UPDATE ledger_journalentry SET memo = 'rewritten' WHERE id = %s", [data["entry"]]))
    refused(("DELETE FROM ledger_journalentry WHERE id = %s", [data["entry"]]))
    refused(("UPDATE ledger_leg SET debit = debit + 1, debit_cny = debit_cny + 1 WHERE id = %s", [data["leg"]]))
    refused(("DELETE FROM ledger_leg WHERE id = %s", [data["leg"]]))
    refused(
        ("INSERT INTO ledger_journalentry (book_id, sequence, date, memo, status, source_type, source_id, "
         "created_by_id, created_at, payload_hash, previous_hash, hash) "
         "VALUES (%s, 99, '2026-03-03', 'unbalanced', 'draft', '', '', %s, '2026-03-03 10:00:00', '', '', '')",
         [data["book"], data["user"]]),
        ("INSERT INTO ledger_leg (entry_id, position, account_id, fund_id, currency, debit, credit, debit_cny, "
         "credit_cny, date) SELECT id, 1, %s, %s, 'CNY', 10000, 0, 10000, 0, '2026-03-03' "
         "FROM ledger_journalentry WHERE book_id = %s AND sequence = 99", [data["bank"], data["fund"], data["book"]]),
        ("INSERT INTO ledger_leg (entry_id, position, account_id, fund_id, currency, debit, credit, debit_cny, "
         "credit_cny, date) SELECT id, 2, %s, %s, 'CNY', 0, 9000, 0, 9000, '2026-03-03' "
         "FROM ledger_journalentry WHERE book_id = %s AND sequence = 99", [data["income"], data["fund"], data["book"]]),
        ("UPDATE ledger_journalentry SET status = 'posted' WHERE book_id = %s AND sequence = 99", [data["book"]]),
    )


def assert_guards_of(name: str | None) -> None:
    assert installed_guards() == frozen_guards(guards_after(name)), f"guards at ledger {name}"


# --- the round trip ---------------------------------------------------------------------------------------------


def test_the_ledger_migrates_to_zero_and_back_with_posted_entries(committed):
    fresh = schema()
    # A fresh install ends with today's guards, exactly.
    assert installed_guards() == frozen_guards(dbguards.migrations_with_guards()[-1])
    steps = ledger_migrations()
    try:
        migrate_ledger(None)
        assert ledger_tables() == []
        assert_guards_of(None)

        data = None
        for name in steps:
            run = migrate_ledger(name)
            assert_guards_of(name)
            if guards_after(name) is None:
                continue
            if data is None:  # the first guard migration: posted entries from here on
                data = historical_book(run, name)
            assert_guards_refuse(data)
        assert data is not None

        for name in reversed(steps[:-1]):
            migrate_ledger(name)
            assert_guards_of(name)
            if guards_after(name) is not None:
                assert_guards_refuse(data)
        migrate_ledger(None)
        assert ledger_tables() == []
        assert_guards_of(None)

        for name in steps:
            migrate_ledger(name)
            assert_guards_of(name)
    finally:
        migrate_all()
    assert schema() == fresh
    assert_guards_refuse(historical_book(executor(), steps[-1]))
