import logging
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from evaluation.arena import orphaned_pairs_requeue
from evaluation.services import orphaned_submissions_requeue, stale_runs_reap
from evaluation.worker import dead_workers_scratch_remove, sandbox_leftovers_remove

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Requeue submissions whose worker died, and queued submissions and arena pairs that no job waits for; "
        "remove the scratch "
        "folders and sandbox containers of dead workers on this host. Once, or with --every SECONDS for good "
        "(what deploy/systemd/arena-reaper.service runs on every worker host)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--every", type=float, metavar="SECONDS",
                            help="Run again every SECONDS until stopped, through database and Redis outages.")

    def handle(self, *args, every: float | None, **options):
        if every is None:
            self._once()
            return
        if every <= 0:
            raise CommandError("--every: expected a positive number of seconds.")
        while True:
            started = time.monotonic()
            try:
                self._once()
            except CommandError as exc:
                self.stderr.write(str(exc))
            finally:
                close_old_connections()
            time.sleep(max(0.0, every - (time.monotonic() - started)))

    def _once(self) -> None:
        # Each step on its own: Redis being away (no orphan check) must not keep the dead
        # workers' runs from being requeued, nor their decrypted scratch from being removed.
        steps = {
            "stale": stale_runs_reap, "orphaned": orphaned_submissions_requeue, "pairs": orphaned_pairs_requeue,
            "scratch": dead_workers_scratch_remove, "containers": sandbox_leftovers_remove,
        }
        done, failed = {}, []
        for name, step in steps.items():
            try:
                done[name] = step()
            except Exception as exc:  # noqa: BLE001 - reported below; the timer runs it again soon
                log.warning("reaper step %s failed: %s", name, exc)
                failed.append(f"{name} ({exc})")
        self.stdout.write(
            f"Requeued {done.get('stale', '?')} stale and {done.get('orphaned', '?')} orphaned submission(s) and "
            f"{done.get('pairs', '?')} orphaned arena pair(s); removed "
            f"{done.get('scratch', '?')} scratch folder(s) and {done.get('containers', '?')} container(s) or volume(s) "
            "of dead workers."
        )
        if failed:
            raise CommandError(f"Some reaper steps failed: {'; '.join(failed)}")
