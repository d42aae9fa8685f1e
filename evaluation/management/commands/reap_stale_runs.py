from django.core.management.base import BaseCommand

from evaluation.services import orphaned_submissions_requeue, stale_runs_reap


class Command(BaseCommand):
    help = (
        "Requeue submissions left running past their time limit, and queued ones that no job "
        "waits for (run from cron every few minutes)."
    )

    def handle(self, *args, **options):
        self.stdout.write(f"Requeued {stale_runs_reap()} stale and {orphaned_submissions_requeue()} orphaned submission(s).")
