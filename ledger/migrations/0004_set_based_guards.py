"""Replaces the guards of 0003 by ``sql/0004_guards.<engine>.sql`` (PostgreSQL's file as of commit eba353d, which
amended this then unreleased migration; SQLite's guards are those of 0003): on PostgreSQL the checks that read
other rows (an entry's legs on draft -> posted, the entry of an inserted leg, the book of an inserted entry)
became statement-level triggers over transition tables, so a bulk post is checked with one query instead of one
per row. The deferred check at commit stays per entry. Every trigger and function of 0003 is dropped first
(triggers keep their names when their events change). Backwards, the same the other way round: 0004's guards
are dropped and 0003's put back. See ``ledger.dbguards.step``.
"""

from django.db import migrations

from ledger.dbguards import step


class Migration(migrations.Migration):
    dependencies = [("ledger", "0003_refresh_database_guards")]

    operations = [step("0003", "0004")]
