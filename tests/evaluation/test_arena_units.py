"""Arena pieces that need no sandbox: fair ordering of pair jobs and the success scale."""

from __future__ import annotations

import math

import pytest
from django.utils import timezone

pytestmark = pytest.mark.django_db


def _submission(competition, phase, *, team=None, role, task, n, baseline=False):
    from submissions.models import Submission

    return Submission.objects.create(
        competition=competition, phase=phase, team=team, role=role, task=task, kind=Submission.CODE,
        storage_path=f"x/{n}", original_filename="a.zip", sha256=f"{n:064x}", size=1, status=Submission.FINISHED,
        is_baseline=baseline, baseline_name="Baseline" if baseline else "", release_sha256=f"{n:064x}" if role == "defense" else "",
    )


def test_a_column_is_interleaved_round_robin_by_attacking_team():
    from competitions.models import Competition, Phase, Team
    from evaluation import arena
    from evaluation.models import ArenaResult

    competition = Competition.objects.create(slug="fair", title="Fair", task="tabular-anonymization",
                                             attack_tasks=["membership-inference"], schema={})
    phase = Phase.objects.create(competition=competition, name="open", start=timezone.now())
    a, b = (Team.objects.create(competition=competition, name=name) for name in ("A", "B"))
    defense = _submission(competition, phase, team=b, role="defense", task="tabular-anonymization", n=1)
    attacks = [
        _submission(competition, phase, team=a, role="attack", task="membership-inference", n=10 + i) for i in range(3)
    ] + [
        _submission(competition, phase, team=b, role="attack", task="membership-inference", n=20),
        _submission(competition, phase, role="attack", task="membership-inference", n=30, baseline=True),
    ]
    results = [ArenaResult.objects.create(attack=x, defense=defense, attack_task=x.task, attack_sha256=x.sha256,
                                          release_sha256=defense.release_sha256) for x in attacks]
    ordered = arena.fair_order(results, by="attack")
    teams = [arena.team_key(r.attack) for r in ordered]
    assert sorted(r.pk for r in ordered) == sorted(r.pk for r in results)
    assert len(set(teams[:3])) == 3  # every team's first pair before anyone's second
    assert teams[3:] == [f"team-{a.pk}"] * 2

    # A team with pairs already waiting goes after the teams with none.
    other_defense = _submission(competition, phase, team=b, role="defense", task="tabular-anonymization", n=2)
    for x in attacks[:3]:
        ArenaResult.objects.create(attack=x, defense=other_defense, attack_task=x.task, attack_sha256=x.sha256,
                                   release_sha256=other_defense.release_sha256)
    assert arena.team_key(arena.fair_order(results, by="attack")[-1].attack) == f"team-{a.pk}"
    assert arena.team_key(arena.fair_order(results, by="attack")[0].attack) != f"team-{a.pk}"


@pytest.mark.parametrize("metric, value, expected", [
    ("tpr_at_fpr_0_1", 0.1, 0.0),  # a random guess
    ("tpr_at_fpr_0_1", 1.0, 1.0),
    ("tpr_at_fpr_0_1", 0.55, 0.5),
    ("tpr_at_fpr_0_1", 0.05, 0.0),  # worse than guessing is simply unsuccessful
    ("auc", 0.75, 0.5),
    ("reidentification_rate", 0.3, 0.3),
    ("inference_risk", -0.2, 0.0),
    ("epsilon_lower_bound", math.log(3), 0.5),  # (e^ε − 1) / (e^ε + 1)
    ("tpr_at_fpr_0_1", None, None),
])
def test_normalised_success(metric, value, expected):
    from evaluation.arena import normalised_success

    result = normalised_success(metric, value)
    assert result == (None if expected is None else pytest.approx(expected))
