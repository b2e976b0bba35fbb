"""Two changes, one migration, because SQLite adds a column by rebuilding the table and the guards' triggers
name the table: the guards of 0009 are dropped first and those of ``sql/0010_guards.<engine>.sql`` installed
after (``ledger.dbguards.step``).

- ``Account.currency``: the currency a foreign-currency account holds (a bank account in USD); blank for any.
- The guards of 0009 and one rule more: an income account that names a restriction (``Account.restriction``)
  takes income only in a fund of that restriction, an endowment counting as restricted, so that a
  捐赠收入—非限定性 line never carries restricted money.

Backwards: 0010's guards are dropped, the column removed and 0009's guards put back.
"""

from django.db import migrations, models

from ledger.dbguards import step


class Migration(migrations.Migration):

    dependencies = [
        ("ledger", "0009_closing_entries"),
    ]

    operations = [
        step("0009", None),
        migrations.AddField(
            model_name="account",
            name="currency",
            field=models.CharField(blank=True, default="", max_length=3, verbose_name="currency"),
        ),
        step(None, "0010"),
    ]
