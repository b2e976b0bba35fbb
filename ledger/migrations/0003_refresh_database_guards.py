"""Replaces the guards of 0002 by ``sql/0003_guards.<engine>.sql`` (the files of commit 15d0738): the PostgreSQL
BEFORE trigger now really checks an entry's legs on draft -> posted (it used to read the row's old status and
check nothing), and both engines refuse to post a draft dated in a closed period. Backwards, drops these guards
and puts 0002's back. See ``ledger.dbguards.step``.
"""

from django.db import migrations

from ledger.dbguards import step


class Migration(migrations.Migration):
    dependencies = [("ledger", "0002_database_guards")]

    operations = [step("0002", "0003")]
