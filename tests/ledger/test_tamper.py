"""Tamper evidence: with the guards out of the way, a change made by raw SQL is found by ``verify_ledger``.

The guards are lifted inside the test only (PostgreSQL: ``ALTER TABLE ... DISABLE TRIGGER``; SQLite: the trigger is
dropped) and put back in a ``finally``, so that no other test runs without them.
"""

import contextlib
import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from ledger import services
from ledger.services import Cr, Dr
from ledger.verification import verify_book

from .conftest import sqlite_restore_triggers

pytestmark = pytest.mark.django_db(transaction=True)

GUARDS = {
    # table: (PostgreSQL trigger, SQLite triggers)
    "ledger_leg": ("ledger_leg_guard", ["ledger_leg_no_update_posted"]),
    "ledger_journalentry": ("ledger_entry_guard", ["ledger_entry_posted_no_update"]),
}


@contextlib.contextmanager
def guard_lifted(table):
    pg_trigger, sqlite_triggers = GUARDS[table]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {pg_trigger}")
        else:
            for name in sqlite_triggers:
                cursor.execute(f"DROP TRIGGER {name}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {pg_trigger}")
            else:
                sqlite_restore_triggers(cursor)


def guards_in_place():
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgname, tgenabled FROM pg_trigger WHERE tgname LIKE 'ledger_%'")
            return all(enabled == "O" for _, enabled in cursor.fetchall())
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        from .conftest import sqlite_trigger_names

        return set(sqlite_trigger_names()) <= {row[0] for row in cursor.fetchall()}


@pytest.fixture
def three_entries(csb, user):
    entries = []
    for day, amount in ((1, "100.00"), (2, "250.00"), (3, "75.25")):
        entries.append(
            services.entry_post(
                book=csb.book, date=dt.date(2026, 5, day), memo=f"gift {day}", user=user,
                legs=[Dr(csb.bank, csb.gen, Decimal(amount)), Cr(csb.income, csb.gen, Decimal(amount))],
            )
        )
    call_command("verify_ledger")
    return csb, entries


TAMPERS = {
    "leg amount": ("ledger_leg", "UPDATE ledger_leg SET debit = debit + 1, debit_cny = debit_cny + 1 "
                                 "WHERE entry_id = %s AND position = 1", "legs do not balance"),
    "both legs' amounts": ("ledger_leg", "UPDATE ledger_leg SET debit = 2500000, debit_cny = 2500000 WHERE entry_id = %s "
                                         "AND debit > 0; UPDATE ledger_leg SET credit = 2500000, credit_cny = 2500000 "
                                         "WHERE entry_id = %s AND credit > 0", "hash does not match"),
    "leg account": ("ledger_leg", "UPDATE ledger_leg SET account_id = {stock} WHERE entry_id = %s AND position = 1",
                    "hash does not match"),
    "memo": ("ledger_journalentry", "UPDATE ledger_journalentry SET memo = 'gift 2 (edited)' WHERE id = %s",
             "hash does not match"),
}


@pytest.mark.parametrize("tamper", TAMPERS)
def test_verify_ledger_names_the_tampered_entry(three_entries, capsys, tamper):
    sb, entries = three_entries
    capsys.readouterr()
    table, sql, problem = TAMPERS[tamper]
    target = entries[1]
    with guard_lifted(table), connection.cursor() as cursor:
        for statement in sql.format(stock=sb.stock.pk).split("; "):
            cursor.execute(statement, [target.pk])
    assert guards_in_place()

    with pytest.raises(CommandError, match=r"entry #2\b") as info:
        call_command("verify_ledger")
    assert info.value.returncode == 1
    out = capsys.readouterr().out
    assert out.startswith("FAIL BK entry #2: ") and problem in out
    verdict = verify_book(sb.book)
    assert not verdict.ok and verdict.problem.startswith("entry #2:")


def test_a_running_total_edited_by_hand_is_found(three_entries):
    sb, _ = three_entries
    with connection.cursor() as cursor:
        cursor.execute("UPDATE ledger_dailybalance SET debit = debit + 100 WHERE account_id = %s", [sb.bank.pk])
    with pytest.raises(CommandError, match="running daily balances"):
        call_command("verify_ledger")


def test_fund_net_assets_edited_by_hand_are_found(three_entries):
    sb, _ = three_entries
    with connection.cursor() as cursor:
        cursor.execute("UPDATE ledger_fund SET net_assets = net_assets + 1 WHERE id = %s", [sb.gen.pk])
    with pytest.raises(CommandError, match="fund GEN"):
        call_command("verify_ledger")


def test_the_guards_refuse_the_same_edits(three_entries):
    """The control case: with the guards in place none of the edits above gets through."""
    from django.db import DatabaseError, transaction

    sb, entries = three_entries
    for table, sql, _ in TAMPERS.values():
        statement = sql.format(stock=sb.stock.pk).split("; ")[0]
        # SQLite: "... cannot be changed"; PostgreSQL: "... cannot be update" (lower(TG_OP)).
        refusal = "ledger: a leg of a posted entry" if table == "ledger_leg" else "ledger: a posted entry"
        with pytest.raises(DatabaseError, match=refusal + " cannot be (changed|update)"):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(statement, [entries[1].pk])
    call_command("verify_ledger")
