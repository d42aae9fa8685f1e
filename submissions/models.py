"""Submissions, their scores per split and metric, and the sandbox runs behind them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Submission(models.Model):
    QUEUED = "queued"
    RUNNING = "running"
    SCORING = "scoring"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"
    STATUSES = [(s, s) for s in (QUEUED, RUNNING, SCORING, FINISHED, FAILED, CANCELLED)]
    ACTIVE_STATUSES = (QUEUED, RUNNING, SCORING)

    DEFENSE = "defense"
    ATTACK = "attack"
    ROLES = [(DEFENSE, "defense"), (ATTACK, "attack")]

    FILE = "file"  # a predictions file standing in for a run's output
    CODE = "code"  # an archive with main.py or submission.yaml
    IMAGE = "image"  # a `docker save` archive
    KINDS = [(FILE, "file"), (CODE, "code"), (IMAGE, "image")]

    # Failure classes (see sandbox.spec.FailureClass).
    TIMEOUT = "timeout"
    OUT_OF_MEMORY = "out_of_memory"
    EXIT_CODE = "exit_code"
    INVALID_OUTPUT = "invalid_output"
    INFRASTRUCTURE = "infrastructure"
    FAILURE_CLASSES = [(f, f) for f in (TIMEOUT, OUT_OF_MEMORY, EXIT_CODE, INVALID_OUTPUT, INFRASTRUCTURE)]

    competition = models.ForeignKey("competitions.Competition", on_delete=models.CASCADE, related_name="submissions")
    phase = models.ForeignKey("competitions.Phase", on_delete=models.CASCADE, related_name="submissions")
    team = models.ForeignKey("competitions.Team", on_delete=models.CASCADE, null=True, blank=True, related_name="submissions")
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    role = models.CharField(max_length=10, choices=ROLES)
    task = models.CharField(max_length=60)
    kind = models.CharField(max_length=10, choices=KINDS)
    description = models.CharField(max_length=500, blank=True)

    storage_path = models.CharField(max_length=500, editable=False)
    original_filename = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64, db_index=True)
    size = models.BigIntegerField()

    status = models.CharField(max_length=10, choices=STATUSES, default=QUEUED, db_index=True)
    failure_class = models.CharField(max_length=20, choices=FAILURE_CLASSES, blank=True)
    # What went wrong, stored twice (see submissions/disclosure.py): ``error`` is what the team
    # may read (for a run on hidden data: its failure class and ``rule`` only), ``error_detail``
    # the full text for the organizers (lines, values, exit status, the sandbox's message).
    error = models.TextField(blank=True, help_text="What went wrong, worded for the team.")
    error_detail = models.TextField(blank=True, help_text="What went wrong in full, for the organizers only.")
    rule = models.CharField(max_length=40, blank=True, help_text="The output rule broken, for an invalid output.")
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    started = models.DateTimeField(null=True, blank=True)
    scoring_started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # The current attempt (evaluation.attempts): its identity, the worker that runs it and its
    # heartbeat. ``started`` above is the current attempt's start. ``retry_at``: a retry after an
    # infrastructure fault is queued again no earlier than this (backoff).
    attempt_id = models.UUIDField(null=True, blank=True, editable=False)
    worker = models.CharField(max_length=200, blank=True, editable=False)
    heartbeat = models.DateTimeField(null=True, blank=True, editable=False)
    retry_at = models.DateTimeField(null=True, blank=True, editable=False)

    selected = models.BooleanField(default=False, help_text="Chosen by the team for the private leaderboard.")
    is_baseline = models.BooleanField(default=False)
    baseline_name = models.CharField(max_length=120, blank=True)

    # For defenses: the release the run wrote (an arena target), in private storage.
    release_path = models.CharField(max_length=500, blank=True, editable=False)
    release_sha256 = models.CharField(max_length=64, blank=True, db_index=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["phase", "team", "created"]), models.Index(fields=["phase", "status"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(is_baseline=True) | models.Q(team__isnull=False), name="team_unless_baseline"
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.task} ({self.status})"

    @property
    def counts_against_quota(self) -> bool:
        """Infrastructure failures and cancellations before running do not use up quota."""
        if self.status == self.FAILED and self.failure_class == self.INFRASTRUCTURE:
            return False
        if self.status == self.CANCELLED and self.started is None:
            return False
        return True

    @property
    def display_name(self) -> str:
        return self.baseline_name if self.is_baseline else (self.team.name if self.team else "")


class Score(models.Model):
    PUBLIC = "public"
    PRIVATE = "private"
    SPLITS = [(PUBLIC, "public"), (PRIVATE, "private")]

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="scores")
    split = models.CharField(max_length=7, choices=SPLITS)
    metric = models.CharField(max_length=80)
    value = models.FloatField(null=True)
    ci_low = models.FloatField(null=True, blank=True)
    ci_high = models.FloatField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["submission", "split", "metric"], name="one_score_per_metric")]
        indexes = [models.Index(fields=["split", "metric", "value"])]

    def __str__(self) -> str:
        return f"#{self.submission_id} {self.split} {self.metric}={self.value}"


class Run(models.Model):
    """One sandboxed execution of a submission: a check run, the evaluation run, or an arena pair."""

    CHECK = "check"
    EVALUATION = "evaluation"
    ARENA = "arena"
    GAME = "game"
    PURPOSES = [(CHECK, "check run on the public sample"), (EVALUATION, "evaluation"), (ARENA, "arena pair"),
                (GAME, "membership game")]

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="runs")
    purpose = models.CharField(max_length=12, choices=PURPOSES)
    target = models.ForeignKey(Submission, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    backend = models.CharField(max_length=20, blank=True)
    started = models.DateTimeField(default=timezone.now)
    finished = models.DateTimeField(null=True, blank=True)
    wall_seconds = models.FloatField(null=True)
    peak_memory_bytes = models.BigIntegerField(null=True)
    exit_code = models.IntegerField(null=True)
    failure_class = models.CharField(max_length=20, blank=True)
    rule = models.CharField(max_length=40, blank=True, help_text="The output rule broken, for an invalid output.")
    message = models.TextField(blank=True, help_text="The full message (sandbox, output check): organizers only on hidden data.")
    # A run that saw hidden data keeps its logs, times, exit status and message for organizers
    # only: its team sees ``failure_class`` and ``rule`` (see submissions/disclosure.py).
    saw_hidden_data = models.BooleanField(default=True)
    stdout = models.TextField(blank=True)
    stderr = models.TextField(blank=True)
    logs_truncated = models.BooleanField(default=False)

    class Meta:
        ordering = ["started", "id"]

    def __str__(self) -> str:
        return f"#{self.submission_id} {self.purpose} run ({self.failure_class or 'ok'})"
