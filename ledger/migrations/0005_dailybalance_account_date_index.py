"""An index on ``DailyBalance`` (account, date): ``account_balance`` without a fund reads one account's days since
its checkpoint in every fund, which neither (account, fund, date) nor (book, date) can bound by date alone.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("ledger", "0004_set_based_guards")]

    operations = [
        migrations.AddIndex(
            model_name="dailybalance",
            index=models.Index(fields=["account", "date"], name="ledger_daily_account_date"),
        ),
    ]
