import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings

from competitions.bundles import BundleInvalid
from competitions.models import Competition
from competitions.services import competition_import
from submissions.models import Submission


class Command(BaseCommand):
    help = "Build the built-in medical scenarios, import them and score their baselines (the demo)."

    def add_arguments(self, parser):
        parser.add_argument("--out", type=Path, default=Path(settings.VAR_DIR) / "scenarios")
        parser.add_argument("--reset", action="store_true", help="Re-import scenarios that already exist.")
        parser.add_argument("--no-evaluate", action="store_true", help="Import only; leave baselines queued.")
        parser.add_argument("--games", action="store_true",
                            help="Also play the membership games of the defense baselines here (thousands of sandbox runs; "
                                 "without it they are left to a worker's games queue).")

    def handle(self, *args, out: Path, reset: bool, no_evaluate: bool, games: bool, **options):
        self.stdout.write(f"Building scenario bundles into {out} …")
        started = time.monotonic()
        result = subprocess.run([sys.executable, "-m", "scenarios.build", "--out", str(out)], cwd=settings.BASE_DIR)
        if result.returncode != 0:
            raise CommandError("Building the scenarios failed (see above).")
        self.stdout.write(f"  built in {time.monotonic() - started:.1f} s")
        bundles = sorted(p.parent for p in out.glob("*/competition.yaml"))
        if not bundles:
            raise CommandError(f"No bundles were written to {out}.")
        imported = []
        for bundle in bundles:
            slug = bundle.name
            exists = Competition.objects.filter(slug=slug).exists()
            if exists and not reset:
                self.stdout.write(f"  {slug}: already loaded")
                continue
            try:
                with override_settings(ARENA_EVALUATION_MODE="manual"):  # scored below, in this process
                    competition = competition_import(path=bundle, replace=reset, discard_submissions=reset)
            except BundleInvalid as exc:
                raise CommandError(f"{bundle}: {exc}") from exc
            imported.append(competition)
            self.stdout.write(f"  {competition.slug}: imported")
        if no_evaluate:
            return
        # Inline: arena pairs that a finished baseline schedules run here too, not in a worker.
        # Membership games are not: the boards open first, games fill them in afterwards.
        with override_settings(ARENA_EVALUATION_MODE="inline", ARENA_MEMBERSHIP_GAMES=False):
            self._evaluate_queued()
        if games:
            self._play_games()
        else:
            self.stdout.write("Membership games are left to the server: it plays them after every other job, "
                              "and the boards fill in as they finish (or run load_demo --games).")

    def _play_games(self) -> None:
        from evaluation import membership_games

        defenses = membership_games.game_defenses()
        for number, submission in enumerate(defenses, start=1):
            self.stdout.write(f"  [{number}/{len(defenses)}] membership game of '{submission.baseline_name}' …", ending="")
            self.stdout.flush()
            started = time.monotonic()
            membership_games.membership_game_play(submission_id=submission.pk)
            self.stdout.write(f" done ({time.monotonic() - started:.0f} s)")

    def _evaluate_queued(self) -> None:
        """Score every queued baseline here and now, so the demo opens on filled leaderboards."""
        from evaluation import services

        queued = list(Submission.objects.filter(status=Submission.QUEUED).order_by("created").values_list("pk", "baseline_name"))
        total = len(queued)
        for number, (pk, name) in enumerate(queued, start=1):
            self.stdout.write(f"  [{number}/{total}] scoring baseline '{name}' …", ending="")
            self.stdout.flush()
            started = time.monotonic()
            services.submission_evaluate(submission_id=pk)
            submission = Submission.objects.get(pk=pk)
            outcome = submission.status if not submission.error else f"{submission.status}: {submission.error}"
            self.stdout.write(f" {outcome} ({time.monotonic() - started:.1f} s)")
