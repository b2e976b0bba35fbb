"""What ``make demo`` runs after migrating: a demo trust when the database is empty, and a superuser."""

import secrets

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from charity.models import Trust


class Command(BaseCommand):
    help = "Prepare the demo: create the demo trust if the database has none, and an administrator."

    def handle(self, *args, **options):
        if not Trust.objects.exists():
            call_command(
                "create_trust", "CWCT", name="关爱妇女儿童慈善信托", name_en="Caring for Women and Children Charity Trust",
                trustee="示例信托有限公司", supervisor="示例律师事务所", filing_number="DEMO-2026-001",
            )
        users = get_user_model().objects
        if not users.filter(username="admin").exists():
            password = secrets.token_urlsafe(12)
            users.create_superuser("admin", "admin@example.org", password)
            self.stdout.write(f"administrator: admin / {password}  (shown once)")
        else:
            self.stdout.write("administrator: admin (password as printed when it was created)")
        self.stdout.write("open http://127.0.0.1:8000/admin/")
