from django.core.management.base import BaseCommand

from evaluation.services import orphaned_submissions_requeue, stale_runs_reap
from evaluation.worker import dead_workers_scratch_remove, sandbox_leftovers_remove


class Command(BaseCommand):
    help = (
        "Requeue submissions left running by a dead worker, and queued ones that no job waits for; remove "
        "the scratch folders and sandbox containers of dead workers on this host (run by a timer every few seconds)."
    )

    def handle(self, *args, **options):
        stale, orphaned = stale_runs_reap(), orphaned_submissions_requeue()
        scratch, containers = dead_workers_scratch_remove(), sandbox_leftovers_remove()
        self.stdout.write(f"Requeued {stale} stale and {orphaned} orphaned submission(s); removed {scratch} scratch "
                          f"folder(s) and {containers} container(s) or volume(s) of dead workers.")
