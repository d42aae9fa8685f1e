"""Reads are cheap: bounded queries however many submissions, a cached board, invalidated on change."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from competitions.leaderboards.selectors import leaderboard_snapshot
from competitions.models import Phase
from evaluation.services import scores_save
from evaluation.task_types.base import ScoreValue
from submissions.models import Score, Submission
from tests.factories.records import competition_make, minutes_ago, submission_make, team_make

pytestmark = pytest.mark.django_db


def crowded_competition(teams: int = 30, per_team: int = 5):
    c = competition_make()
    for t in range(teams):
        team = team_make(c, f"Team {t:02d}")
        for s in range(per_team):
            value = round(((t * 7 + s * 13) % 97) / 100, 4)
            submission_make(competition=c, team=team, public={"tpr_at_fpr_0_1": value, "auc": 0.5 + value / 2},
                            private={"tpr_at_fpr_0_1": value / 2, "auc": 0.5}, created=minutes_ago(t + s), selected=s == 0)
    submission_make(competition=c, baseline="Baseline", public={"tpr_at_fpr_0_1": 0.3}, private={"tpr_at_fpr_0_1": 0.3})
    return c


def fresh_phase(c) -> Phase:
    return Phase.objects.select_related("competition").prefetch_related("competition__metrics").get(competition=c)


@pytest.mark.parametrize("split", [Score.PUBLIC, Score.PRIVATE])
def test_computing_a_board_takes_a_fixed_number_of_queries(split, django_assert_max_num_queries):
    c = crowded_competition()
    phase = fresh_phase(c)
    with django_assert_max_num_queries(6):
        board = leaderboard_snapshot(phase=phase, split=split)
    assert len(board["rows"]) == 31


def test_query_count_does_not_grow_with_the_number_of_submissions(django_assert_num_queries):
    small, large = crowded_competition(teams=3, per_team=2), crowded_competition(teams=40, per_team=6)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for c in (small, large):
        phase = fresh_phase(c)
        with CaptureQueriesContext(connection) as captured:
            leaderboard_snapshot(phase=phase, split=Score.PUBLIC)
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1]


def test_a_cached_board_is_served_without_touching_the_database(django_assert_num_queries):
    c = crowded_competition(teams=5)
    phase = fresh_phase(c)
    first = leaderboard_snapshot(phase=phase, split=Score.PUBLIC)
    with django_assert_num_queries(0):
        again = leaderboard_snapshot(phase=phase, split=Score.PUBLIC)
    assert again == first


def test_an_api_read_of_a_cached_board_is_one_query_and_the_cached_bytes(api_client, django_assert_num_queries):
    c = crowded_competition(teams=10)
    url = reverse("api-leaderboard", kwargs={"slug": c.slug})
    first = api_client.get(url)
    with django_assert_num_queries(1):  # the phase and its competition; the board comes from the cache as it is
        again = api_client.get(url)
    assert again.status_code == 200 and again["Content-Type"] == "application/json"
    assert again.content == first.content and len(again.json()["rows"]) == 11


def test_a_new_score_invalidates_the_cached_board_on_commit(django_capture_on_commit_callbacks):
    c = competition_make()
    team = team_make(c, "Newcomer")
    phase = fresh_phase(c)
    assert leaderboard_snapshot(phase=phase, split=Score.PUBLIC)["rows"] == []
    submission = submission_make(competition=c, team=team, status=Submission.SCORING)

    with django_capture_on_commit_callbacks(execute=True):
        scores_save(submission=submission, scores={
            "public": {"tpr_at_fpr_0_1": ScoreValue(0.42), "auc": ScoreValue(0.7)},
            "private": {"tpr_at_fpr_0_1": ScoreValue(0.40), "auc": ScoreValue(0.69)},
        })

    rows = leaderboard_snapshot(phase=fresh_phase(c), split=Score.PUBLIC)["rows"]
    assert [(r["team"], r["scores"]["tpr_at_fpr_0_1"]["value"]) for r in rows] == [("Newcomer", 0.42)]


def test_selecting_a_final_invalidates_the_private_board(django_capture_on_commit_callbacks):
    from submissions.services import submission_select

    c = competition_make(max_final_selections=1)
    team = team_make(c, "A")
    submission_make(competition=c, team=team, public={"tpr_at_fpr_0_1": 0.9}, private={"tpr_at_fpr_0_1": 0.1})
    other = submission_make(competition=c, team=team, public={"tpr_at_fpr_0_1": 0.2}, private={"tpr_at_fpr_0_1": 0.8})
    assert leaderboard_snapshot(phase=fresh_phase(c), split=Score.PRIVATE)["rows"][0]["scores"]["tpr_at_fpr_0_1"]["value"] == 0.1

    with django_capture_on_commit_callbacks(execute=True):
        submission_select(submission=Submission.objects.select_related("phase").get(pk=other.pk))

    assert leaderboard_snapshot(phase=fresh_phase(c), split=Score.PRIVATE)["rows"][0]["scores"]["tpr_at_fpr_0_1"]["value"] == 0.8


def test_a_rolled_back_change_leaves_the_cached_board_alone(django_capture_on_commit_callbacks):
    from django.db import transaction

    c = competition_make()
    team = team_make(c, "A")
    submission = submission_make(competition=c, team=team, status=Submission.SCORING)
    before = leaderboard_snapshot(phase=fresh_phase(c), split=Score.PUBLIC)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                scores_save(submission=submission, scores={"public": {"tpr_at_fpr_0_1": ScoreValue(0.9)}, "private": {}})
                raise RuntimeError("the worker died before commit")
    assert callbacks == []
    assert leaderboard_snapshot(phase=fresh_phase(c), split=Score.PUBLIC) == before


def test_leaderboard_page_reads_are_bounded(client, django_assert_max_num_queries):
    c = crowded_competition(teams=30)
    url = reverse("competition-leaderboard", kwargs={"slug": c.slug})
    with django_assert_max_num_queries(16):
        assert client.get(url).status_code == 200
    with django_assert_max_num_queries(8):  # the board and the history come from the cache now
        assert client.get(url).status_code == 200


def test_csv_export_has_ranks_teams_baselines_and_intervals(client):
    c = competition_make()
    team_make_and_score = [("Alpha", 0.7), ("=HYPERLINK(\"x\")", 0.5)]
    for name, value in team_make_and_score:
        submission_make(competition=c, team=team_make(c, name), public={"tpr_at_fpr_0_1": (value, value - 0.1, value + 0.1)})
    submission_make(competition=c, baseline="Reference", public={"tpr_at_fpr_0_1": 0.6})

    response = client.get(reverse("competition-leaderboard-csv", kwargs={"slug": c.slug}))

    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:8] == ["rank", "team", "baseline", "submission", "submitted", "tpr_at_fpr_0_1", "tpr_at_fpr_0_1_ci_low", "tpr_at_fpr_0_1_ci_high"]
    assert [(r[0], r[1], r[2], r[5], r[6]) for r in rows[1:]] == [
        ("1", "Alpha", "no", "0.7", "0.6"),
        ("", "Reference", "yes", "0.6", ""),
        ("2", "'=HYPERLINK(\"x\")", "no", "0.5", "0.4"),
    ]


def test_private_csv_is_refused_before_the_reveal_except_to_organizers(client, make_user):
    c = competition_make()
    submission_make(competition=c, team=team_make(c, "A"), public={"tpr_at_fpr_0_1": 0.5}, private={"tpr_at_fpr_0_1": 0.123})
    url = reverse("competition-leaderboard-csv", kwargs={"slug": c.slug}) + "?split=private"

    refused = client.get(url)
    assert refused.status_code == 403 and b"0.123" not in refused.content

    organizer = make_user("org")
    c.organizers.add(organizer)
    client.force_login(organizer)
    assert b"0.123" in client.get(url).content
