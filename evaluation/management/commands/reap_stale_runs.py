from django.core.management.base import BaseCommand

from evaluation.services import stale_runs_reap


class Command(BaseCommand):
    help = "Requeue submissions left running past their time limit (run from cron every few minutes)."

    def handle(self, *args, **options):
        self.stdout.write(f"Requeued {stale_runs_reap()} submission(s).")
