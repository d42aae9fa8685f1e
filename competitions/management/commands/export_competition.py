from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from competitions.models import Competition
from competitions.services import competition_export


class Command(BaseCommand):
    help = "Write a competition back as a bundle folder (hidden files included, in clear: keep it safe)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("dest", type=Path)

    def handle(self, *args, slug: str, dest: Path, **options):
        competition = Competition.objects.filter(slug=slug).first()
        if competition is None:
            raise CommandError(f"No competition '{slug}'.")
        if dest.exists() and any(dest.iterdir()):
            raise CommandError(f"{dest} is not empty.")
        competition_export(competition=competition, dest=dest)
        self.stdout.write(self.style.SUCCESS(f"Exported '{slug}' to {dest}."))
