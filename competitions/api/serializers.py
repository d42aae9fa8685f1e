"""Input and output shapes of the competition API."""

from __future__ import annotations

from rest_framework import serializers

from competitions.models import Competition, Dataset, Metric, Phase, Team


class PhaseOut(serializers.ModelSerializer):
    is_open = serializers.SerializerMethodField()
    private_visible = serializers.SerializerMethodField()

    class Meta:
        model = Phase
        fields = [
            "name", "start", "end", "is_open", "max_submissions_per_day", "max_submissions_total",
            "max_final_selections", "max_team_size", "public_fraction", "check_run", "limits", "private_visible",
        ]

    def get_is_open(self, phase: Phase) -> bool:
        return phase.is_open()

    def get_private_visible(self, phase: Phase) -> bool:
        return phase.private_visible()


class MetricOut(serializers.ModelSerializer):
    class Meta:
        model = Metric
        fields = ["task", "key", "label", "direction", "precision", "primary", "description"]


class DatasetOut(serializers.ModelSerializer):
    class Meta:
        model = Dataset
        fields = ["name", "visibility", "filename", "description", "size", "sha256"]

    def to_representation(self, dataset: Dataset):
        data = super().to_representation(dataset)
        if dataset.visibility == Dataset.HIDDEN:
            # Hidden data is named so teams know it exists; its file, size and hash stay private.
            data.update(filename=None, size=None, sha256=None)
        return data


class CompetitionListOut(serializers.ModelSerializer):
    class Meta:
        model = Competition
        fields = ["slug", "title", "scenario", "task", "attack_tasks", "published", "created"]


class CompetitionOut(serializers.ModelSerializer):
    phases = PhaseOut(many=True)
    metrics = MetricOut(many=True)
    datasets = DatasetOut(many=True)

    class Meta:
        model = Competition
        fields = [
            "slug", "title", "description", "scenario", "task", "attack_tasks", "published", "schema", "options",
            "phases", "metrics", "datasets", "created",
        ]


class CompetitionUpdateIn(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    published = serializers.BooleanField(required=False)


class TeamIn(serializers.Serializer):
    name = serializers.CharField(max_length=80)


class TeamOut(serializers.ModelSerializer):
    competition: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    members = serializers.SerializerMethodField()

    class Meta:
        model = Team
        fields = ["id", "name", "competition", "invite_code", "members", "created"]

    def get_members(self, team: Team) -> list[str]:
        return [m.user.username for m in team.memberships.select_related("user").order_by("joined")]


class JoinIn(serializers.Serializer):
    invite_code = serializers.CharField(max_length=64)


class ImportIn(serializers.Serializer):
    file = serializers.FileField(help_text="The bundle as a zip or tar.gz")
    replace = serializers.BooleanField(default=False, help_text="Replace the competition with the bundle's slug (its organizers or staff only)")
    discard_submissions = serializers.BooleanField(
        default=False, help_text="Confirm that replacing deletes the competition's teams and their submissions")


class ScoreCellOut(serializers.Serializer):
    value = serializers.FloatField(allow_null=True)
    ci_low = serializers.FloatField(allow_null=True)
    ci_high = serializers.FloatField(allow_null=True)


class LeaderboardRowOut(serializers.Serializer):
    rank = serializers.IntegerField(allow_null=True, help_text="None for a baseline (a reference row)")
    team = serializers.CharField(allow_null=True)
    team_id = serializers.IntegerField(allow_null=True)
    submission = serializers.IntegerField()
    baseline = serializers.BooleanField()
    created = serializers.DateTimeField()
    scores = serializers.DictField(child=ScoreCellOut(), help_text="By metric key")
    roc = serializers.ListField(child=serializers.ListField(child=serializers.FloatField()), required=False,
                                help_text="Thinned ROC curve as [fpr, tpr] points, where the task reports one")


class LeaderboardMetricOut(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a declared field: DRF's metaclass takes it off the class, so Field.label is untouched
    direction = serializers.ChoiceField(choices=["higher", "lower"])
    precision = serializers.IntegerField()
    primary = serializers.BooleanField()
    description = serializers.CharField()


class LeaderboardOut(serializers.Serializer):
    """Documents the board for the schema; the view sends the cached JSON without serializing it again."""

    competition = serializers.CharField()
    phase = serializers.CharField()
    split = serializers.ChoiceField(choices=["public", "private"])
    task = serializers.CharField()
    metrics = LeaderboardMetricOut(many=True)
    rows = LeaderboardRowOut(many=True)
