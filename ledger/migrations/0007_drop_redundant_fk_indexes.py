"""Drops the single-column indexes Django made for foreign keys that another index already leads with:

- ``JournalEntry.book``: (book, sequence) and (book, date);
- ``Leg.entry``, ``Leg.account``, ``Leg.fund``: (entry, position), (account, date), (fund, date);
- ``DailyBalance.book``, ``DailyBalance.account``: (book, date), (account, fund, date);
- ``Allocation.leg``: ``ledger_allocation_leg`` is the same index.

Every post writes every index of these tables (and the UPDATE to posted writes the entry's again), for no
lookup that the wider index does not serve. ``DROP INDEX`` by the name Django gave each one, not ``AlterField``'s
own work: on SQLite that remakes the table, and with it would go the ledger's triggers.
"""

from django.db import migrations, models
import django.db.models.deletion

REDUNDANT = [
    ("journalentry", "book_id"),
    ("leg", "entry_id"),
    ("leg", "account_id"),
    ("leg", "fund_id"),
    ("dailybalance", "book_id"),
    ("dailybalance", "account_id"),
    ("allocation", "leg_id"),
]


def _indexes(apps, schema_editor):
    for model_name, column in REDUNDANT:
        table = apps.get_model("ledger", model_name)._meta.db_table
        # The name Django's schema editor gives a field's own index (suffix "").
        yield schema_editor._create_index_name(table, [column], suffix=""), table, column


def drop(apps, schema_editor):
    for name, _table, _column in _indexes(apps, schema_editor):
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


def create(apps, schema_editor):
    quote = schema_editor.quote_name
    for name, table, column in _indexes(apps, schema_editor):
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {quote(name)} ON {quote(table)} ({quote(column)})")


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0006_range_commit_check"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop, create)],
            state_operations=[
            migrations.AlterField(
                model_name='allocation',
                name='leg',
                field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='allocations', to='ledger.leg'),
            ),
            migrations.AlterField(
                model_name='dailybalance',
                name='account',
                field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='ledger.account'),
            ),
            migrations.AlterField(
                model_name='dailybalance',
                name='book',
                field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='ledger.book'),
            ),
            migrations.AlterField(
                model_name='journalentry',
                name='book',
                field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='entries', to='ledger.book'),
            ),
            migrations.AlterField(
                model_name='leg',
                name='account',
                field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='legs', to='ledger.account'),
            ),
            migrations.AlterField(
                model_name='leg',
                name='entry',
                field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='legs', to='ledger.journalentry'),
            ),
            migrations.AlterField(
                model_name='leg',
                name='fund',
                field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='legs', to='ledger.fund'),
            ),
            ],
        ),
    ]
