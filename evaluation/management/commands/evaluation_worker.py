from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = ("Run an RQ evaluation worker on the given queues, first to last by priority "
            "(cpu, gpu, games; default: cpu games). Needs REDIS_URL.")

    def add_arguments(self, parser):
        parser.add_argument("queues", nargs="*", default=["cpu", "games"])
        parser.add_argument("--burst", action="store_true", help="Stop when the queues are empty.")
        parser.add_argument("--name", help="Worker name (default: generated).")

    def handle(self, *args, queues, burst: bool, name: str | None, **options):
        if not settings.REDIS_URL:
            raise CommandError("REDIS_URL is not set: without Redis the server evaluates in-process.")
        from evaluation.queue import redis_connection
        from evaluation.services import stale_runs_reap
        from evaluation.worker import EvaluationWorker, sandbox_leftovers_remove

        unknown = set(queues) - {"cpu", "gpu", "games"}
        if unknown:
            raise CommandError(f"Unknown queue(s): {', '.join(sorted(unknown))} (expected cpu, gpu, games).")
        removed = sandbox_leftovers_remove()
        if removed:
            self.stdout.write(f"Removed {removed} sandbox container(s) or volume(s) left by a lost worker.")
        reaped = stale_runs_reap()
        if reaped:
            self.stdout.write(f"Requeued {reaped} submission(s) left running by a lost worker.")
        worker = EvaluationWorker(queues, connection=redis_connection(), name=name)
        worker.work(burst=burst, with_scheduler=False)
