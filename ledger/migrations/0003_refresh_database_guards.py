"""Re-applies the guards of ``sql/<engine>.sql`` to databases migrated before they were corrected: the PostgreSQL
BEFORE trigger now really checks an entry's legs on draft -> posted (it used to read the row's old status and
check nothing), and both engines refuse to post a draft dated in a closed period. See ``ledger.dbguards.refresh``.
"""

from django.db import migrations

from ledger.dbguards import refresh


class Migration(migrations.Migration):
    dependencies = [("ledger", "0002_database_guards")]

    operations = [migrations.RunPython(refresh, migrations.RunPython.noop)]
