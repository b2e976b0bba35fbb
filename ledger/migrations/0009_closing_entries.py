"""Closing entries (结转) and closed years.

``JournalEntry.closing`` marks a closing entry (false for every entry before it, and hashed only when true, so
every existing hash stands); ``YearClose`` records a closed year. The guards become ``sql/0009_guards.<engine>``:
those of 0006 and one more, a closing entry moves only income, expense and net asset accounts (backwards, 0009's
are dropped and 0006's put back, then the index and the column go).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from ledger.dbguards import step


def _add_column(apps, schema_editor):
    # Added in place on both engines: rebuilding the table (what Django does on SQLite for a NOT NULL column)
    # would trip over the triggers of other apps that name it.
    schema_editor.execute(f"ALTER TABLE ledger_journalentry ADD COLUMN closing {_BOOL[schema_editor.connection.vendor]}")


def _drop_column(apps, schema_editor):
    schema_editor.execute("ALTER TABLE ledger_journalentry DROP COLUMN closing")


_BOOL = {"postgresql": "boolean DEFAULT false NOT NULL", "sqlite": "bool DEFAULT 0 NOT NULL"}


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0008_book_permissions'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='YearClose',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('year', models.PositiveSmallIntegerField(verbose_name='year')),
                ('closed_at', models.DateTimeField(verbose_name='closed at')),
            ],
            options={
                'verbose_name': 'closed year',
                'verbose_name_plural': 'closed years',
                'ordering': ['book', 'year'],
            },
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name='journalentry',
                    name='closing',
                    field=models.BooleanField(db_default=False, default=False, verbose_name='closing entry'),
                ),
            ],
            database_operations=[migrations.RunPython(_add_column, _drop_column)],
        ),
        migrations.AddIndex(
            model_name='journalentry',
            index=models.Index(condition=models.Q(('closing', True)), fields=['book', 'date'], name='ledger_entry_closing'),
        ),
        migrations.AddField(
            model_name='yearclose',
            name='book',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='year_closes', to='ledger.book'),
        ),
        migrations.AddField(
            model_name='yearclose',
            name='closed_by',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddConstraint(
            model_name='yearclose',
            constraint=models.UniqueConstraint(fields=('book', 'year'), name='ledger_year_close_unique'),
        ),
        step("0006", "0009"),
    ]
