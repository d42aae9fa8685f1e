from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from competitions.bundles import BundleInvalid
from competitions.services import competition_import
from config.errors import ArenaError


class Command(BaseCommand):
    help = "Import a competition bundle (a folder or a zip/tar.gz with competition.yaml)."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--replace", action="store_true", help="Replace a competition with the same slug.")
        parser.add_argument("--organizer", help="Import as this user: they become its organizer, and a replace is "
                                                "allowed only if they may replace it. Without it, as the operator.")
        parser.add_argument("--discard-submissions", action="store_true",
                            help="Confirm that --replace deletes the competition's teams and their submissions.")

    def handle(self, *args, path: Path, replace: bool, organizer: str | None, discard_submissions: bool, **options):
        user = None
        if organizer:
            from django.contrib.auth import get_user_model

            user = get_user_model().objects.filter(username=organizer).first()
            if user is None:
                raise CommandError(f"No user {organizer!r}.")
        try:
            competition = competition_import(path=path, user=user, replace=replace, discard_submissions=discard_submissions)
        except ArenaError as exc:
            raise CommandError(f"{exc.message} Nothing was stored.") from exc
        except BundleInvalid as exc:
            lines = "\n".join(f"  {field}: {message}" for field, message in exc.errors)
            raise CommandError(f"The bundle at {path} is invalid; nothing was stored:\n{lines}") from exc
        self.stdout.write(self.style.SUCCESS(f"Imported '{competition.slug}' ({competition.title})."))
