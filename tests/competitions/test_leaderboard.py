"""Leaderboard ranking: best per team, direction, precision, ties, baselines, private finals."""

from __future__ import annotations

import pytest

from competitions.leaderboards.selectors import leaderboard_rows, leaderboard_snapshot, score_history, team_history
from submissions.models import Score, Submission
from tests.factories.records import competition_make, minutes_ago, submission_make, team_make

pytestmark = pytest.mark.django_db


def ranked(competition, split=Score.PUBLIC):
    return [(r.rank, r.team) for r in leaderboard_rows(phase=competition.phases.first(), split=split)]


def test_each_team_ranks_by_its_best_submission_and_baselines_are_unranked_reference_rows():
    c = competition_make()
    a, b = team_make(c, "Alpha"), team_make(c, "Beta")
    submission_make(competition=c, team=a, public={"tpr_at_fpr_0_1": 0.30})
    submission_make(competition=c, team=a, public={"tpr_at_fpr_0_1": 0.70})
    submission_make(competition=c, team=b, public={"tpr_at_fpr_0_1": 0.50})
    submission_make(competition=c, baseline="Loss threshold", public={"tpr_at_fpr_0_1": 0.60})

    rows = leaderboard_rows(phase=c.phases.first(), split=Score.PUBLIC)

    assert [(r.rank, r.team, r.baseline) for r in rows] == [
        (1, "Alpha", False), (None, "Loss threshold", True), (2, "Beta", False),
    ]
    assert rows[0].scores["tpr_at_fpr_0_1"]["value"] == 0.70


def test_unfinished_and_failed_submissions_are_not_on_the_board():
    c = competition_make()
    a = team_make(c, "Alpha")
    submission_make(competition=c, team=a, public={"tpr_at_fpr_0_1": 0.9}, status=Submission.FAILED)
    submission_make(competition=c, team=a, public={"tpr_at_fpr_0_1": 0.9}, status=Submission.SCORING)
    submission_make(competition=c, team=a, public={"tpr_at_fpr_0_1": 0.2})

    rows = leaderboard_rows(phase=c.phases.first(), split=Score.PUBLIC)

    assert [r.scores["tpr_at_fpr_0_1"]["value"] for r in rows] == [0.2]


def test_lower_is_better_metrics_rank_ascending():
    c = competition_make(task="tabular-anonymization", metrics=[("records_at_risk", "Records at risk", "lower", 4, True)])
    for name, value in [("High", 0.4), ("Low", 0.1), ("Mid", 0.2)]:
        t = team_make(c, name)
        submission_make(competition=c, team=t, public={"records_at_risk": value}, task="tabular-anonymization")
        submission_make(competition=c, team=t, public={"records_at_risk": value + 0.5}, task="tabular-anonymization")

    assert ranked(c) == [(1, "Low"), (2, "Mid"), (3, "High")]


def test_ties_break_by_secondary_metrics_in_order_then_by_the_earlier_submission():
    c = competition_make()
    late, early, better_auc = team_make(c, "Late"), team_make(c, "Early"), team_make(c, "BetterAuc")
    submission_make(competition=c, team=late, public={"tpr_at_fpr_0_1": 0.5, "auc": 0.6}, created=minutes_ago(1))
    submission_make(competition=c, team=early, public={"tpr_at_fpr_0_1": 0.5, "auc": 0.6}, created=minutes_ago(30))
    submission_make(competition=c, team=better_auc, public={"tpr_at_fpr_0_1": 0.5, "auc": 0.8}, created=minutes_ago(2))

    assert ranked(c) == [(1, "BetterAuc"), (2, "Early"), (3, "Late")]


def test_values_are_compared_at_the_metrics_precision_so_equal_looking_scores_tie():
    c = competition_make()
    a, b = team_make(c, "A"), team_make(c, "B")
    # 0.50004 and 0.50001 both show as 0.5000: the secondary metric must decide, not the hidden digits.
    submission_make(competition=c, team=a, public={"tpr_at_fpr_0_1": 0.50004, "auc": 0.55})
    submission_make(competition=c, team=b, public={"tpr_at_fpr_0_1": 0.50001, "auc": 0.75})

    rows = leaderboard_rows(phase=c.phases.first(), split=Score.PUBLIC)

    assert [r.team for r in rows] == ["B", "A"]
    assert rows[0].scores["tpr_at_fpr_0_1"]["value"] == 0.5


def test_a_teams_best_submission_is_chosen_with_the_same_tie_breaks():
    c = competition_make()
    a = team_make(c, "A")
    submission_make(competition=c, team=a, public={"tpr_at_fpr_0_1": 0.5, "auc": 0.6}, created=minutes_ago(20))
    best = submission_make(competition=c, team=a, public={"tpr_at_fpr_0_1": 0.5, "auc": 0.9}, created=minutes_ago(10))

    assert [r.submission for r in leaderboard_rows(phase=c.phases.first(), split=Score.PUBLIC)] == [best.pk]


def test_a_teams_own_submissions_are_compared_at_the_metrics_precision_too():
    c = competition_make()
    a = team_make(c, "A")
    submission_make(competition=c, team=a, public={"tpr_at_fpr_0_1": 0.50004, "auc": 0.55})
    # 0.49996 shows as 0.5000 like the raw best: the better AUC wins. 0.49994 shows as 0.4999: a worse score.
    shown_equal = submission_make(competition=c, team=a, public={"tpr_at_fpr_0_1": 0.49996, "auc": 0.75})
    submission_make(competition=c, team=a, public={"tpr_at_fpr_0_1": 0.49994, "auc": 0.99})
    b = team_make(c, "B")
    submission_make(competition=c, team=b, public={"tpr_at_fpr_0_1": None, "auc": 0.9})
    only_missing = submission_make(competition=c, team=b, public={"tpr_at_fpr_0_1": None, "auc": 0.95})

    rows = leaderboard_rows(phase=c.phases.first(), split=Score.PUBLIC)

    assert [(r.team, r.submission) for r in rows] == [("A", shown_equal.pk), ("B", only_missing.pk)]


def test_a_missing_value_ranks_after_every_number():
    c = competition_make()
    a, b = team_make(c, "Missing"), team_make(c, "Present")
    submission_make(competition=c, team=a, public={"tpr_at_fpr_0_1": None, "auc": 0.99}, created=minutes_ago(50))
    submission_make(competition=c, team=b, public={"tpr_at_fpr_0_1": 0.01})

    assert ranked(c) == [(1, "Present"), (2, "Missing")]


def test_confidence_intervals_come_with_the_values_rounded_to_precision():
    c = competition_make()
    a = team_make(c, "A")
    submission_make(competition=c, team=a, public={"tpr_at_fpr_0_1": (0.512345, 0.4123456, 0.6198765)})

    score = leaderboard_rows(phase=c.phases.first(), split=Score.PUBLIC)[0].scores["tpr_at_fpr_0_1"]

    assert score == {"value": 0.5123, "ci_low": 0.4123, "ci_high": 0.6199}


def test_private_board_ranks_selected_finals_on_the_private_split():
    c = competition_make(max_final_selections=1)
    a, b = team_make(c, "A"), team_make(c, "B")
    # A's best public submission is not its selected final: the private board must use the final.
    submission_make(competition=c, team=a, public={"tpr_at_fpr_0_1": 0.9}, private={"tpr_at_fpr_0_1": 0.95})
    final = submission_make(competition=c, team=a, public={"tpr_at_fpr_0_1": 0.4}, private={"tpr_at_fpr_0_1": 0.3}, selected=True)
    submission_make(competition=c, team=b, public={"tpr_at_fpr_0_1": 0.5}, private={"tpr_at_fpr_0_1": 0.6})

    rows = leaderboard_rows(phase=c.phases.first(), split=Score.PRIVATE)

    assert [(r.rank, r.team, r.scores["tpr_at_fpr_0_1"]["value"]) for r in rows] == [(1, "B", 0.6), (2, "A", 0.3)]
    assert rows[1].submission == final.pk


def test_a_team_without_selection_is_represented_by_its_best_public_submissions():
    c = competition_make(max_final_selections=2)
    a = team_make(c, "A")
    submission_make(competition=c, team=a, public={"tpr_at_fpr_0_1": 0.1}, private={"tpr_at_fpr_0_1": 0.99})  # third best public
    second = submission_make(competition=c, team=a, public={"tpr_at_fpr_0_1": 0.5}, private={"tpr_at_fpr_0_1": 0.7})
    submission_make(competition=c, team=a, public={"tpr_at_fpr_0_1": 0.6}, private={"tpr_at_fpr_0_1": 0.2})

    rows = leaderboard_rows(phase=c.phases.first(), split=Score.PRIVATE)

    # The best two public ones compete on private; the third, however good privately, does not.
    assert [(r.submission, r.scores["tpr_at_fpr_0_1"]["value"]) for r in rows] == [(second.pk, 0.7)]


def test_a_selected_submission_that_is_not_finished_does_not_count():
    c = competition_make()
    a = team_make(c, "A")
    submission_make(competition=c, team=a, public={"tpr_at_fpr_0_1": 0.5}, private={"tpr_at_fpr_0_1": 0.4})
    submission_make(competition=c, team=a, status=Submission.RUNNING, selected=True)

    assert [r.scores["tpr_at_fpr_0_1"]["value"] for r in leaderboard_rows(phase=c.phases.first(), split=Score.PRIVATE)] == [0.4]


def test_roc_curves_from_score_detail_are_thinned_for_the_board():
    c = competition_make()
    a = team_make(c, "A")
    curve = [[i / 199, min(1.0, (i / 199) ** 0.5)] for i in range(200)]
    submission_make(competition=c, team=a, public={"tpr_at_fpr_0_1": 0.5, "auc": 0.8}, details={"auc": {"roc": curve}})

    row = leaderboard_snapshot(phase=c.phases.first(), split=Score.PUBLIC)["rows"][0]

    assert 2 < len(row["roc"]) <= 64
    assert row["roc"][0] == [0.0, 0.0] and row["roc"][-1] == [1.0, 1.0]


def test_score_history_keeps_each_teams_improvements_and_only_public_scores():
    c = competition_make()
    a = team_make(c, "A")
    submission_make(competition=c, team=a, public={"tpr_at_fpr_0_1": 0.3}, private={"tpr_at_fpr_0_1": 0.9}, created=minutes_ago(30))
    submission_make(competition=c, team=a, public={"tpr_at_fpr_0_1": 0.2}, created=minutes_ago(20))  # not an improvement
    submission_make(competition=c, team=a, public={"tpr_at_fpr_0_1": 0.6}, created=minutes_ago(10))

    history = score_history(phase=c.phases.first())

    assert [p["value"] for p in history["teams"][0]["points"]] == [0.3, 0.6]
    assert 0.9 not in _numbers(history)  # the private score appears nowhere


def _numbers(value) -> list[float]:
    """Every number inside nested dicts and lists (timestamps are strings and are left out)."""
    if isinstance(value, dict):
        return [n for v in value.values() for n in _numbers(v)]
    if isinstance(value, (list, tuple)):
        return [n for v in value for n in _numbers(v)]
    return [value] if isinstance(value, (int, float)) and not isinstance(value, bool) else []


def test_team_history_lists_every_finished_submission_and_private_only_on_request():
    c = competition_make()
    a = team_make(c, "A")
    submission_make(competition=c, team=a, public={"tpr_at_fpr_0_1": 0.3}, private={"tpr_at_fpr_0_1": 0.9}, created=minutes_ago(30))
    submission_make(competition=c, team=a, public={"tpr_at_fpr_0_1": 0.2}, created=minutes_ago(20))

    hidden = team_history(phase=c.phases.first(), team_id=a.pk)
    shown = team_history(phase=c.phases.first(), team_id=a.pk, include_private=True)

    assert [p.get("public") for p in hidden] == [0.3, 0.2] and all("private" not in p for p in hidden)
    assert shown[0]["private"] == 0.9
