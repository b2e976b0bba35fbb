"""What ``make demo`` runs after migrating: the demo year when the database is empty, and an administrator."""

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand

from charity import roles
from charity.models import Trust


class Command(BaseCommand):
    help = "Prepare the demo: seed_demo when the database holds no trust, and an administrator account."

    def handle(self, *args, **options):
        if not Trust.objects.exists():
            call_command("seed_demo", stdout=self.stdout)
        else:
            self.stdout.write("the database already holds a trust; leaving it as it is (seed_demo --reset starts over)")
        users = get_user_model().objects
        if not users.filter(username="admin").exists():
            password = secrets.token_urlsafe(12)
            admin = users.create_superuser("admin", "admin@example.org", password)
            admin.groups.add(Group.objects.get(name=roles.ADMINISTRATOR))
            self.stdout.write(f"  {'admin':<10} {'administrator':<16} {password}")
