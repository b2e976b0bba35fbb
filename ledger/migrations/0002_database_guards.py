"""Installs the ledger's guards as first written: ``sql/0002_guards.<engine>.sql`` (the files of commit 7ead7d9).
Backwards, drops every trigger and function those files create. See ``ledger.dbguards.step``.
"""

from django.db import migrations

from ledger.dbguards import step


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

    operations = [step(None, "0002")]
