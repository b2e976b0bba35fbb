"""Replaces the guards of 0004 by ``sql/0006_guards.<engine>.sql``, the guards of today (PostgreSQL's file as of
commit 6999095, the last change of this migration's work before anything later; SQLite's guards are those of 0003).
On PostgreSQL the triggers are unchanged and their functions brought up to date:

- the deferred check at commit checks the posted entries of a range of ids in one query, once per range,
  instead of one query per entry;
- the set-based checks are held to index lookups (of each entry's legs, of an inserted leg's entry) and never
  JIT-compiled, whatever the statistics say.

Every trigger and function of 0004 is dropped first. Backwards, 0006's guards are dropped and 0004's put back.
See ``ledger.dbguards.step``.
"""

from django.db import migrations

from ledger.dbguards import step


class Migration(migrations.Migration):
    dependencies = [("ledger", "0005_dailybalance_account_date_index")]

    operations = [step("0004", "0006")]
