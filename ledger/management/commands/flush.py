"""Django's ``flush``, made to work on the ledger's guarded tables.

Posted entries refuse DELETE (that is the point of the guards). ``flush`` empties the whole database, an
operator's deliberate act used by test runs that really commit; on SQLite, which deletes row by row, the guards
are lifted for the flush and put back right after it. PostgreSQL's flush uses TRUNCATE, which row triggers do
not see, so nothing changes there.
"""

from django.core.management.commands.flush import Command as FlushCommand
from django.db import connections

from ledger.dbguards import drop, install_on


class Command(FlushCommand):
    def handle(self, **options):
        connection = connections[options["database"]]
        if connection.vendor != "sqlite":
            return super().handle(**options)
        drop(connection)
        try:
            return super().handle(**options)
        finally:
            install_on(connection)
