"""Re-installs the guards of ``sql/<engine>.sql``: on PostgreSQL the checks that read other rows (an entry's legs
on draft -> posted, the entry of an inserted leg, the book of an inserted entry) became statement-level triggers
over transition tables, so a bulk post is checked with one query instead of one per row. The deferred check at
commit stays per entry. Triggers whose events changed keep their names, so they are dropped and created again.
"""

from django.db import migrations

from ledger.dbguards import reinstall


class Migration(migrations.Migration):
    dependencies = [("ledger", "0003_refresh_database_guards")]

    operations = [migrations.RunPython(reinstall, migrations.RunPython.noop)]
