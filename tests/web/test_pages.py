"""Pages render for the people who may see them, and show nothing they may not."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.urls import reverse

from competitions.models import Competition, TeamMembership
from submissions.models import Run, Submission
from tests.factories import bundle_membership
from tests.factories.records import competition_make, submission_make, team_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def board():
    c = competition_make(description="# Welcome\n\nFind the **members**.\n\n<script>alert(1)</script>")
    alpha = team_make(c, "Alpha")
    submission_make(competition=c, team=alpha, public={"tpr_at_fpr_0_1": 0.61, "auc": 0.8}, private={"tpr_at_fpr_0_1": 0.4321})
    submission_make(competition=c, baseline="Loss threshold", public={"tpr_at_fpr_0_1": 0.35, "auc": 0.71, "epsilon_lower_bound": 1.2})
    return c


def test_home_lists_published_competitions_and_recent_scores(client, board):
    hidden = competition_make(published=False)
    page = client.get("/").content.decode()
    assert board.title in page and hidden.title not in page
    assert "Live activity" in page and 'aria-live="polite"' in page
    assert "0.61" in page  # Alpha's public score in the activity feed
    assert "0.4321" not in page


def test_competition_page_renders_the_description_safely_and_links_the_data(client, board):
    page = client.get(reverse("competition", kwargs={"slug": board.slug})).content.decode()
    assert "<h2>Welcome</h2>" in page and "<strong>members</strong>" in page
    assert "<script>alert(1)</script>" not in page
    assert f"/api/v1/competitions/{board.slug}/data/" in page
    assert "development" in page  # the phase in the timeline and rules


def test_unpublished_competition_pages_are_404_for_spectators(client):
    c = competition_make(published=False)
    for name in ("competition", "competition-leaderboard", "competition-scenario", "competition-leaderboard-csv"):
        assert client.get(reverse(name, kwargs={"slug": c.slug})).status_code == 404


def test_leaderboard_page_shows_public_scores_marks_baselines_and_hides_private(client, board):
    page = client.get(reverse("competition-leaderboard", kwargs={"slug": board.slug})).content.decode()
    assert "Alpha" in page and "0.6100" in page
    assert "Loss threshold" in page and 'class="baseline' in page
    assert "hidden until the organizers reveal it" in page
    assert "0.4321" not in page  # not in the table, not in the page data for the scripts


def test_organizers_preview_the_private_board_and_everyone_sees_it_after_the_reveal(client, board, make_user):
    organizer = make_user("org")
    board.organizers.add(organizer)
    url = reverse("competition-leaderboard", kwargs={"slug": board.slug})
    client.force_login(organizer)
    preview = client.get(url).content.decode()
    assert "0.4321" in preview and "Preview for organizers" in preview

    client.post(reverse("organize-action", kwargs={"slug": board.slug}), {"action": "reveal", "phase": "development"})
    client.logout()
    assert "0.4321" in client.get(url).content.decode()


def test_scenario_page_explains_what_the_baseline_attack_achieved(client, board):
    page = client.get(reverse("competition-scenario", kwargs={"slug": board.slug})).content.decode()
    assert "Was my record used?" in page
    assert "Loss threshold" in page
    assert "the attack spots 35" in page
    assert "71% of the time" in page


def test_team_page_creates_a_team_and_a_teammate_joins_with_the_invite_code(client, board, make_user):
    founder, teammate = make_user("founder"), make_user("mate")
    url = reverse("competition-team", kwargs={"slug": board.slug})
    assert client.get(url).status_code == 302  # log in first

    client.force_login(founder)
    client.post(url, {"action": "create", "name": "Gamma"})
    team = TeamMembership.objects.get(user=founder).team
    assert team.invite_code in client.get(url).content.decode()

    client.force_login(teammate)
    wrong = client.post(url, {"action": "join", "invite_code": "not-the-code"})
    assert wrong.status_code == 404 and "no team of this competition has this invite code" in wrong.content.decode()
    client.post(url, {"action": "join", "invite_code": team.invite_code})
    assert TeamMembership.objects.get(user=teammate).team == team


def test_invite_codes_are_for_members_only(client, board, make_user):
    outsider = make_user("outsider")
    alpha = board.teams.get(name="Alpha")
    client.force_login(outsider)
    assert alpha.invite_code not in client.get(reverse("competition-team", kwargs={"slug": board.slug})).content.decode()


def test_submit_page_needs_a_team_and_offers_the_upload_form(client, board, make_user):
    user = make_user("someone")
    client.force_login(user)
    url = reverse("submission-submit", kwargs={"slug": board.slug})
    assert "Create or join a team" in client.get(url).content.decode()
    team_make(board, "Delta", user)
    page = client.get(url).content.decode()
    assert 'id="submit-form"' in page and f'action="/api/v1/competitions/{board.slug}/submissions/"' in page
    assert "<progress" in page and "predictions.csv" in page


def test_my_submissions_lists_only_my_teams_and_hides_private_scores(client, board, make_user):
    me = make_user("me")
    mine = team_make(board, "Mine", me)
    own = submission_make(competition=board, team=mine, public={"tpr_at_fpr_0_1": 0.2468}, private={"tpr_at_fpr_0_1": 0.9753})
    client.force_login(me)
    page = client.get(reverse("submission-list", kwargs={"slug": board.slug})).content.decode()
    assert f"#{own.pk}" in page and "0.2468" in page
    assert "0.9753" not in page and "hidden" in page
    alpha_submission = Submission.objects.get(team__name="Alpha")
    assert f'data-submission="{alpha_submission.pk}"' not in page


def test_another_teams_submission_is_404(client, board, make_user):
    client.force_login(make_user("nosy"))
    other = Submission.objects.get(team__name="Alpha")
    assert client.get(reverse("submission-detail", kwargs={"submission_id": other.pk})).status_code == 404


def test_run_logs_show_to_the_team_only_for_runs_without_hidden_data(client, board, make_user):
    me, organizer = make_user("me"), make_user("org")
    board.organizers.add(organizer)
    sub = submission_make(competition=board, team=team_make(board, "Mine", me), public={"tpr_at_fpr_0_1": 0.2})
    Run.objects.create(submission=sub, purpose=Run.CHECK, saw_hidden_data=False, stdout="check-run-output")
    Run.objects.create(submission=sub, purpose=Run.EVALUATION, saw_hidden_data=True, stdout="hidden-run-output")
    url = reverse("submission-detail", kwargs={"submission_id": sub.pk})

    client.force_login(me)
    page = client.get(url).content.decode()
    assert "check-run-output" in page and "hidden-run-output" not in page
    assert "logs are shown to organizers only" in page

    client.force_login(organizer)
    assert "hidden-run-output" in client.get(url).content.decode()


def test_choosing_a_final_submission(client, board, make_user):
    me = make_user("me")
    sub = submission_make(competition=board, team=team_make(board, "Mine", me), public={"tpr_at_fpr_0_1": 0.2})
    client.force_login(me)
    client.post(reverse("submission-select", kwargs={"submission_id": sub.pk}), {"selected": "true"})
    assert Submission.objects.get(pk=sub.pk).selected
    client.post(reverse("submission-select", kwargs={"submission_id": sub.pk}), {"selected": "false"})
    assert not Submission.objects.get(pk=sub.pk).selected


def test_organizer_pages_are_for_organizers(client, board, make_user):
    client.force_login(make_user("participant"))
    assert client.get(reverse("organize-competition", kwargs={"slug": board.slug})).status_code == 404
    assert client.post(reverse("organize-action", kwargs={"slug": board.slug}), {"action": "reveal"}).status_code == 404


def test_organizer_sees_the_queue_and_reruns_a_submission(client, board, make_user, django_capture_on_commit_callbacks):
    organizer = make_user("org")
    board.organizers.add(organizer)
    client.force_login(organizer)
    page = client.get(reverse("organize-competition", kwargs={"slug": board.slug})).content.decode()
    assert "Queue and runs" in page and "Loss threshold" in page and "Alpha" in page

    sub = Submission.objects.get(team__name="Alpha")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("organize-action", kwargs={"slug": board.slug}), {"action": "rerun", "submission": sub.pk})
    sub.refresh_from_db()
    assert sub.status == Submission.QUEUED and not sub.scores.exists()


def test_organizer_publishes_and_unpublishes(client, make_user):
    c = competition_make(published=False)
    organizer = make_user("org")
    c.organizers.add(organizer)
    client.force_login(organizer)
    client.post(reverse("organize-action", kwargs={"slug": c.slug}), {"action": "publish"})
    assert Competition.objects.get(pk=c.pk).published


def _zipped(folder) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder).as_posix())
    buffer.seek(0)
    buffer.name = "bundle.zip"
    return buffer


def test_organizer_creates_a_competition_from_a_bundle_upload(client, make_user, tmp_path):
    organizer = make_user("org", organizer=True)
    client.force_login(organizer)
    response = client.post(reverse("organize"), {"bundle": _zipped(bundle_membership(tmp_path / "b", slug="from-upload"))})
    assert response.status_code == 302 and response["Location"] == reverse("organize-competition", kwargs={"slug": "from-upload"})
    assert Competition.objects.get(slug="from-upload").organizers.filter(pk=organizer.pk).exists()


def test_a_bad_bundle_lists_its_mistakes_and_stores_nothing(client, make_user, tmp_path):
    client.force_login(make_user("org", organizer=True))
    bundle = bundle_membership(tmp_path / "b", slug="Bad Slug!")
    response = client.post(reverse("organize"), {"bundle": _zipped(bundle)})
    assert response.status_code == 400 and "slug" in response.content.decode()
    assert not Competition.objects.filter(title="Membership inference test").exists()


def test_participants_cannot_create_competitions(client, make_user, tmp_path):
    client.force_login(make_user("participant"))
    response = client.post(reverse("organize"), {"bundle": _zipped(bundle_membership(tmp_path / "b"))})
    assert response.status_code == 403


def test_registration_creates_an_account_and_logs_in(client):
    response = client.post(reverse("register"), {
        "username": "newcomer", "email": "new@example.org",
        "password1": "a-long-test-password", "password2": "a-long-test-password", "next": "/competitions/x/",
    })
    assert response.status_code == 302 and response["Location"] == "/competitions/x/"
    assert "newcomer" in client.get("/").content.decode()


def test_registration_explains_what_is_wrong(client):
    response = client.post(reverse("register"), {"username": "x", "email": "", "password1": "a", "password2": "b"})
    assert response.status_code == 400
    assert "This field is required" in response.content.decode()


def test_registration_does_not_redirect_offsite(client):
    response = client.post(reverse("register"), {
        "username": "careful", "email": "c@example.org",
        "password1": "a-long-test-password", "password2": "a-long-test-password", "next": "//evil.example/",
    })
    assert response["Location"] == "/"


def test_login_page_renders(client):
    page = client.get(reverse("login")).content.decode()
    assert 'autocomplete="current-password"' in page and "Register" in page
