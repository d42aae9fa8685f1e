"""Input and output shapes of the submission API."""

from __future__ import annotations

from typing import cast

from rest_framework import serializers

from competitions import access
from config.formats import SHOWN_DIGITS, iso, rounded
from submissions import disclosure
from submissions.models import Run, Submission


class SubmissionIn(serializers.Serializer):
    file = serializers.FileField()
    role = serializers.ChoiceField(choices=["defense", "attack"], required=False)
    task = serializers.CharField(required=False, max_length=60)
    description = serializers.CharField(required=False, allow_blank=True, max_length=500)
    phase = serializers.CharField(required=False, max_length=80)


class RunOut(serializers.Serializer):
    """A run as :func:`submissions.disclosure.run_view` lets the viewer see it (``organizer`` in the context).

    For a team, a run that saw hidden data carries its purpose, target, backend, failure class
    and rule only: its times, memory, exit status, message and logs are null.
    """

    id = serializers.IntegerField()
    purpose = serializers.CharField()
    target = serializers.IntegerField(allow_null=True)
    backend = serializers.CharField()
    saw_hidden_data = serializers.BooleanField()
    failure_class = serializers.CharField(allow_null=True)
    rule = serializers.CharField(allow_null=True, help_text="The output rule broken (see RULES), for an invalid output.")
    logs_visible = serializers.BooleanField(help_text="Whether the run's logs, times, exit status and message are shown.")
    started = serializers.CharField(allow_null=True)
    finished = serializers.CharField(allow_null=True)
    wall_seconds = serializers.FloatField(allow_null=True)
    peak_memory_bytes = serializers.IntegerField(allow_null=True)
    exit_code = serializers.IntegerField(allow_null=True)
    message = serializers.CharField(allow_null=True)
    stdout = serializers.CharField(allow_null=True)
    stderr = serializers.CharField(allow_null=True)
    logs_truncated = serializers.BooleanField(allow_null=True)

    def to_representation(self, run: Run) -> dict:
        view = disclosure.run_view(run=run, organizer=self.context.get("organizer", False))
        view["logs_visible"] = view.pop("detail_visible")
        view["started"], view["finished"] = iso(view["started"]), iso(view["finished"])
        return view


class SubmissionOut(serializers.ModelSerializer):
    competition: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    phase: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="name", read_only=True)
    team = serializers.SerializerMethodField()
    public_scores = serializers.SerializerMethodField()
    private_scores = serializers.SerializerMethodField()
    failure_class = serializers.CharField(allow_null=True, read_only=True)
    rule = serializers.CharField(allow_null=True, read_only=True)
    error = serializers.CharField(allow_null=True, read_only=True)
    error_detail = serializers.CharField(allow_null=True, read_only=True, help_text="The full error: organizers only.")
    created = serializers.CharField(read_only=True)
    started = serializers.CharField(allow_null=True, read_only=True)
    finished = serializers.CharField(allow_null=True, read_only=True)
    runs = serializers.SerializerMethodField()
    queue_position = serializers.SerializerMethodField(
        help_text="While queued: how many jobs the workers take before this one (fair order); null otherwise.")
    estimated_start = serializers.SerializerMethodField(help_text="While queued: when it should start (an estimate).")

    class Meta:
        model = Submission
        fields = ["id", "competition", "phase", "team", "status", "role", "task", "kind", "description",
                  "original_filename", "sha256", "size", "selected", "is_baseline", "public_scores", "private_scores",
                  "failure_class", "rule", "error", "error_detail", "created", "started", "finished", "queue_position",
                  "estimated_start", "runs"]

    def to_representation(self, sub: Submission) -> dict:
        data = super().to_representation(sub)
        view = disclosure.submission_view(
            submission=sub, saw_hidden_data=disclosure.submission_saw_hidden_data(runs=sub.runs.all()),
            organizer=self.context.get("organizer", False),
        )
        for name, value in view.items():  # failure, error and times: as the disclosure rule says
            data[name] = iso(value) if name in ("created", "started", "finished") else value
        return data

    def _queue(self, sub: Submission):
        from evaluation.waiting import queue_position

        cache = cast(dict, self.context).setdefault("queue_positions", {})  # one lookup per submission, shared by a list
        if sub.pk not in cache:
            cache[sub.pk] = queue_position(submission=sub)
        return cache[sub.pk]

    def get_queue_position(self, sub: Submission) -> int | None:
        position = self._queue(sub)
        return position.ahead if position else None

    def get_estimated_start(self, sub: Submission) -> str | None:
        position = self._queue(sub)
        return position.estimated_start.isoformat().replace("+00:00", "Z") if position else None

    def get_team(self, sub: Submission):
        return sub.baseline_name if sub.is_baseline else (sub.team.name if sub.team else None)

    def _scores(self, sub: Submission, split: str) -> dict:
        """Organizers get the stored floats; everyone else each to its metric's precision."""
        organizer = bool(self.context.get("organizer"))
        precisions = cast(dict, self.context).setdefault("precisions", {})  # one query per competition
        if not organizer and sub.competition_id not in precisions:
            precisions[sub.competition_id] = {(m.task, m.key): m.precision for m in sub.competition.metrics.all()}

        def digits(metric: str) -> int | None:
            return None if organizer else precisions[sub.competition_id].get((sub.task, metric), SHOWN_DIGITS)

        return {
            score.metric: {name: rounded(getattr(score, name), digits(score.metric)) for name in ("value", "ci_low", "ci_high")}
            for score in sub.scores.all() if score.split == split
        }

    def get_public_scores(self, sub: Submission) -> dict:
        return self._scores(sub, "public")

    def get_private_scores(self, sub: Submission) -> dict | None:
        """Hidden (null) until the phase's private leaderboard is revealed, except to organizers."""
        if access.may_see_private(phase=sub.phase, organizer=bool(self.context.get("organizer"))):
            return self._scores(sub, "private")
        return None

    def get_runs(self, sub: Submission):
        return RunOut(sub.runs.all(), many=True, context=self.context).data
