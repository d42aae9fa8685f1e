"""Competitions, their phases, data, metrics and teams.

Models hold data and small derived properties only; every write goes through
``competitions.services`` and every read that needs rules through ``competitions.selectors``.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone


def _split_key() -> str:
    return secrets.token_hex(32)


def _invite_code() -> str:
    return secrets.token_urlsafe(12)


class Competition(models.Model):
    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="Markdown shown on the competition page.")
    scenario = models.CharField(max_length=80, blank=True)
    task = models.CharField(max_length=60, help_text="Task type of the competition's main role.")
    attack_tasks = models.JSONField(default=list, blank=True, help_text="Arena: attack task types paired with the defense task.")
    options = models.JSONField(default=dict, blank=True)
    schema = models.JSONField(default=dict)
    published = models.BooleanField(default=False)
    organizers = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="organized_competitions", blank=True)
    # Key of the keyed hash that assigns hidden ids to the public or private split. Never shown.
    split_key = models.CharField(max_length=64, default=_split_key, editable=False)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "slug"]

    def __str__(self) -> str:
        return self.title

    @property
    def is_arena(self) -> bool:
        return bool(self.attack_tasks)

    def task_for_role(self, role: str) -> list[str]:
        """Task types a submission of ``role`` may target."""
        from evaluation.task_types import get_task

        tasks = [self.task, *self.attack_tasks]
        return [t for t in tasks if get_task(t).role == role]


class Phase(models.Model):
    competition = models.ForeignKey(Competition, on_delete=models.CASCADE, related_name="phases")
    name = models.CharField(max_length=80)
    order = models.PositiveIntegerField(default=0)
    start = models.DateTimeField()
    end = models.DateTimeField(null=True, blank=True)
    max_submissions_per_day = models.PositiveIntegerField(default=5)
    max_submissions_total = models.PositiveIntegerField(null=True, blank=True)
    max_final_selections = models.PositiveIntegerField(default=2)
    max_team_size = models.PositiveIntegerField(default=5)
    public_fraction = models.FloatField(default=0.5)
    check_run = models.BooleanField(default=True)
    limits = models.JSONField(default=dict, blank=True, help_text="wall_seconds, memory_mb, cpus, gpus, output_mb")
    private_revealed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["competition", "order", "start"]
        constraints = [models.UniqueConstraint(fields=["competition", "name"], name="unique_phase_name")]

    def __str__(self) -> str:
        return f"{self.competition.slug}/{self.name}"

    def is_open(self, at=None) -> bool:
        at = at or timezone.now()
        return self.start <= at and (self.end is None or at < self.end)

    def private_visible(self, at=None) -> bool:
        """The private leaderboard shows once revealed or once the phase has ended."""
        at = at or timezone.now()
        return self.private_revealed_at is not None or (self.end is not None and at >= self.end)

    @property
    def needs_gpu(self) -> bool:
        return int(self.limits.get("gpus", 0) or 0) != 0


class Dataset(models.Model):
    PUBLIC = "public"
    HIDDEN = "hidden"
    VISIBILITIES = [(PUBLIC, "public"), (HIDDEN, "hidden")]

    competition = models.ForeignKey(Competition, on_delete=models.CASCADE, related_name="datasets")
    name = models.CharField(max_length=80)
    visibility = models.CharField(max_length=10, choices=VISIBILITIES)
    description = models.TextField(blank=True)
    filename = models.CharField(max_length=255, help_text="File name as in the bundle.")
    # Path inside the private storage. Hidden files are stored encrypted; sha256 is of the clear text.
    storage_path = models.CharField(max_length=500, editable=False)
    sha256 = models.CharField(max_length=64, editable=False)
    size = models.BigIntegerField(editable=False)
    encrypted = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ["competition", "name"]
        constraints = [models.UniqueConstraint(fields=["competition", "name"], name="unique_dataset_name")]

    def __str__(self) -> str:
        return f"{self.competition.slug}:{self.name} ({self.visibility})"


class StartingKit(models.Model):
    competition = models.OneToOneField(Competition, on_delete=models.CASCADE, related_name="starting_kit")
    storage_path = models.CharField(max_length=500, editable=False)  # a zip in private storage
    sha256 = models.CharField(max_length=64, editable=False)
    size = models.BigIntegerField(editable=False)


class Metric(models.Model):
    HIGHER = "higher"
    LOWER = "lower"

    competition = models.ForeignKey(Competition, on_delete=models.CASCADE, related_name="metrics")
    task = models.CharField(max_length=60)
    key = models.CharField(max_length=80)
    label = models.CharField(max_length=120)
    direction = models.CharField(max_length=6, choices=[(HIGHER, "higher is better"), (LOWER, "lower is better")])
    precision = models.PositiveSmallIntegerField(default=4)
    primary = models.BooleanField(default=False)
    order = models.PositiveIntegerField(default=0)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["competition", "task", "order"]
        constraints = [models.UniqueConstraint(fields=["competition", "task", "key"], name="unique_metric_key")]

    def __str__(self) -> str:
        return f"{self.task}:{self.key}"


class Team(models.Model):
    competition = models.ForeignKey(Competition, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(max_length=80)
    invite_code = models.CharField(max_length=32, default=_invite_code, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["competition", "name"]
        constraints = [models.UniqueConstraint(fields=["competition", "name"], name="unique_team_name")]

    def __str__(self) -> str:
        return self.name


class TeamMembership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_memberships")
    # Repeated from the team so the database itself holds "one team per user per competition".
    competition = models.ForeignKey(Competition, on_delete=models.CASCADE, related_name="+")
    joined = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "competition"], name="one_team_per_competition")]
