from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from charity.mail import send_queue


class Command(BaseCommand):
    help = ("Send the donors' e-mail queue (receipts, invitations, statements) at a bounded rate. Without --loop: "
            "one batch of at most --rate messages (run it every minute from cron). With --loop: a batch a minute "
            "until nothing is due (a worker).")

    def add_arguments(self, parser):
        parser.add_argument("--rate", type=int, default=settings.MAIL_RATE_PER_MINUTE,
                            help="messages a minute at most (default MAIL_RATE_PER_MINUTE)")
        parser.add_argument("--loop", action="store_true", help="keep sending, a batch a minute, until none is due")

    def handle(self, *args, **options):
        if options["rate"] < 1:
            raise CommandError("--rate must be at least 1")
        batches = send_queue(rate=options["rate"], loop=options["loop"])
        self.stdout.write(f"sent {sum(batches)} message(s) in {len(batches)} batch(es)")
