"""Arena results: one attack run against one defense's release.

An arena competition pairs a defense task with attack tasks; every finished attack is run
against every finished defense of the same phase (organizer baselines included). Each pair
is one :class:`ArenaResult`. Results are cached by (attack sha256, release sha256): a pair
whose attack code and target release are byte-identical to an already finished pair reuses
that pair's scores (``reused_from``) and costs no sandbox run.

Writes go through :mod:`evaluation.arena`; reads through :mod:`evaluation.selectors`.
"""

from __future__ import annotations

from django.db import models


class ArenaResult(models.Model):
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    STATUSES = [(s, s) for s in (QUEUED, RUNNING, FINISHED, FAILED)]
    PENDING = (QUEUED, RUNNING)

    attack = models.ForeignKey("submissions.Submission", on_delete=models.CASCADE, related_name="arena_results_as_attack")
    # Any finished defense of the phase, organizer baselines included.
    defense = models.ForeignKey("submissions.Submission", on_delete=models.CASCADE, related_name="arena_results_as_defense")
    attack_task = models.CharField(max_length=60)
    attack_sha256 = models.CharField(max_length=64)
    release_sha256 = models.CharField(max_length=64)
    # The pair's own seed: derived from the competition's secret, the attack task, the attack's
    # sha256 and the release's sha256, so identical pairs get identical inputs (what makes the
    # cache valid) and different pairs draw different challenge records and fresh ids.
    seed = models.BigIntegerField(null=True, blank=True)

    status = models.CharField(max_length=10, choices=STATUSES, default=QUEUED, db_index=True)
    failure_class = models.CharField(max_length=20, blank=True)
    message = models.TextField(blank=True, help_text="What went wrong, worded for the attack's team (no hidden values).")
    # {"public": {"<metric>": {"value": float|None, "ci_low": …, "ci_high": …}, …}, "private": {…}}
    scores = models.JSONField(default=dict, blank=True)
    run = models.ForeignKey("submissions.Run", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    reused_from = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    attempts = models.PositiveSmallIntegerField(default=0)

    created = models.DateTimeField(auto_now_add=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created", "id"]
        constraints = [models.UniqueConstraint(fields=["attack", "defense"], name="one_arena_result_per_pair")]
        indexes = [
            models.Index(fields=["attack_task", "attack_sha256", "release_sha256", "status"], name="arena_cache_lookup"),
            models.Index(fields=["defense", "status"], name="arena_defense_status"),
        ]

    def __str__(self) -> str:
        return f"attack #{self.attack_id} × defense #{self.defense_id} ({self.status})"

    def value(self, split: str, metric: str) -> float | None:
        return ((self.scores or {}).get(split) or {}).get(metric, {}).get("value")
