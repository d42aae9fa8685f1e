"""One row per thing done to a competition or its hidden data: who, what, when, from where.

Append-only: the app has no code path that changes or deletes a row (no service, no API, a
read-only admin), and on PostgreSQL a trigger refuses UPDATE and DELETE outright. The row
names its competition by slug and its actor by id and username, not by foreign keys, so it
outlives both: a replaced competition's history stays with its slug, a deleted user's
actions stay attributed.
"""

from __future__ import annotations

from django.db import models


class AuditEvent(models.Model):
    IMPORT = "competition.import"
    REPLACE = "competition.replace"
    UPDATE = "competition.update"
    EXPORT = "competition.export"
    REVEAL = "phase.reveal"
    RERUN = "submission.rerun"
    CANCEL = "submission.cancel"
    HIDDEN_READ = "hidden.read"
    ORGANIZER_ADD = "organizer.add"
    ORGANIZER_REMOVE = "organizer.remove"
    DENIED = "permission.denied"
    ACTIONS = [
        (IMPORT, "imported a competition"),
        (REPLACE, "replaced a competition"),
        (UPDATE, "edited a competition"),
        (EXPORT, "exported a competition with its hidden files"),
        (REVEAL, "revealed a private leaderboard"),
        (RERUN, "re-ran a submission"),
        (CANCEL, "cancelled a submission"),
        (HIDDEN_READ, "read hidden data"),
        (ORGANIZER_ADD, "made someone an organizer"),
        (ORGANIZER_REMOVE, "removed an organizer"),
        (DENIED, "was refused"),
    ]

    created = models.DateTimeField(auto_now_add=True, db_index=True)
    action = models.CharField(max_length=40, choices=ACTIONS)
    actor_id = models.BigIntegerField(null=True, blank=True)  # None: the system (a command line, a job)
    actor_username = models.CharField(max_length=150, blank=True)
    competition_slug = models.CharField(max_length=80, blank=True, db_index=True)
    target = models.CharField(max_length=120, blank=True, help_text="What was acted on, e.g. submission:12.")
    detail = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        who = self.actor_username or "system"
        return f"{self.created:%Y-%m-%d %H:%M:%S} {who} {self.action} {self.competition_slug} {self.target}".strip()
