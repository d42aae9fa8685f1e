"""Input and output shapes of the submission API."""

from __future__ import annotations

from rest_framework import serializers

from submissions.models import Run, Submission


class SubmissionIn(serializers.Serializer):
    file = serializers.FileField()
    role = serializers.ChoiceField(choices=["defense", "attack"], required=False)
    task = serializers.CharField(required=False, max_length=60)
    description = serializers.CharField(required=False, allow_blank=True, max_length=500)
    phase = serializers.CharField(required=False, max_length=80)


class RunOut(serializers.ModelSerializer):
    stdout = serializers.SerializerMethodField()
    stderr = serializers.SerializerMethodField()
    logs_visible = serializers.SerializerMethodField()
    target = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = Run
        fields = ["id", "purpose", "target", "backend", "started", "finished", "wall_seconds", "peak_memory_bytes",
                  "exit_code", "failure_class", "logs_visible", "stdout", "stderr", "logs_truncated"]

    def _visible(self, run: Run) -> bool:
        return run.logs_visible_to_team or self.context.get("organizer", False)

    def get_logs_visible(self, run: Run) -> bool:
        return self._visible(run)

    def get_stdout(self, run: Run):
        return run.stdout if self._visible(run) else None

    def get_stderr(self, run: Run):
        return run.stderr if self._visible(run) else None


class SubmissionOut(serializers.ModelSerializer):
    competition = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    phase = serializers.SlugRelatedField(slug_field="name", read_only=True)
    team = serializers.SerializerMethodField()
    public_scores = serializers.SerializerMethodField()
    private_scores = serializers.SerializerMethodField()
    failure_class = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()
    runs = serializers.SerializerMethodField()
    queue_position = serializers.SerializerMethodField(
        help_text="While queued: how many jobs the workers take before this one (fair order); null otherwise.")
    estimated_start = serializers.SerializerMethodField(help_text="While queued: when it should start (an estimate).")

    class Meta:
        model = Submission
        fields = ["id", "competition", "phase", "team", "status", "role", "task", "kind", "description",
                  "original_filename", "sha256", "size", "selected", "is_baseline", "public_scores", "private_scores",
                  "failure_class", "error", "created", "started", "finished", "queue_position", "estimated_start", "runs"]

    def _queue(self, sub: Submission):
        from evaluation.waiting import queue_position

        cache = self.context.setdefault("queue_positions", {})
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
        return {
            score.metric: {"value": score.value, "ci_low": score.ci_low, "ci_high": score.ci_high}
            for score in sub.scores.all() if score.split == split
        }

    def get_public_scores(self, sub: Submission) -> dict:
        return self._scores(sub, "public")

    def get_private_scores(self, sub: Submission) -> dict | None:
        """Hidden (null) until the phase's private leaderboard is revealed, except to organizers."""
        if self.context.get("organizer") or sub.phase.private_visible():
            return self._scores(sub, "private")
        return None

    def get_failure_class(self, sub: Submission):
        return sub.failure_class or None

    def get_error(self, sub: Submission):
        return sub.error or None

    def get_runs(self, sub: Submission):
        return RunOut(sub.runs.all(), many=True, context=self.context).data
