import os
import socket

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Run an RQ evaluation worker on the given queues, first to last by priority (cpu, gpu, games; default: "
        "cpu games). Needs REDIS_URL and a working sandbox backend; survives Redis and PostgreSQL outages; "
        "exits with status 3 when its backend stops working."
    )

    def add_arguments(self, parser):
        parser.add_argument("queues", nargs="*", default=["cpu", "games"])
        parser.add_argument("--burst", action="store_true", help="Stop when the queues are empty.")
        parser.add_argument("--name", help="Worker name, unique per host (default: host and process id).")

    def handle(self, *args, queues, burst: bool, name: str | None, **options):
        if not settings.REDIS_URL:
            raise CommandError("REDIS_URL is not set: without Redis the server evaluates in-process.")
        from evaluation.queue import redis_connection
        from evaluation.worker import (
            SandboxUnavailable,
            WorkerBroken,
            sandbox_leftovers_remove,
            worker_serve,
        )

        unknown = set(queues) - {"cpu", "gpu", "games"}
        if unknown:
            raise CommandError(f"Unknown queue(s): {', '.join(sorted(unknown))} (expected cpu, gpu, games).")
        name = name or f"{socket.gethostname()}-{os.getpid()}"
        removed = sandbox_leftovers_remove()
        if removed:
            self.stdout.write(f"Removed {removed} sandbox container(s) or volume(s) left by a lost worker.")
        try:
            problem = worker_serve(queues=queues, name=name, burst=burst, connection_factory=redis_connection)
        except SandboxUnavailable as exc:
            raise CommandError(str(exc), returncode=3) from exc
        except WorkerBroken as exc:
            raise CommandError(str(exc), returncode=1) from exc
        if problem:
            raise CommandError(f"Stopped taking jobs: the sandbox backend stopped working ({problem}).", returncode=3)
