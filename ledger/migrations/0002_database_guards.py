"""Installs the triggers of ``sql/<engine>.sql`` (see ``ledger.dbguards``)."""

from django.db import migrations

from ledger.dbguards import install


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
