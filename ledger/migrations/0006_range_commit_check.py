"""Brings the PostgreSQL guards' functions up to date (``sql/postgresql.sql``; the triggers are unchanged):

- the deferred check at commit checks the posted entries of a range of ids in one query, once per range,
  instead of one query per entry;
- the set-based checks are held to index lookups (of each entry's legs, of an inserted leg's entry) and never
  JIT-compiled, whatever the statistics say.
"""

from django.db import migrations

from ledger.dbguards import refresh


class Migration(migrations.Migration):
    dependencies = [("ledger", "0005_dailybalance_account_date_index")]

    operations = [migrations.RunPython(refresh, migrations.RunPython.noop)]
