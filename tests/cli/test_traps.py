"""The CLI's former traps, each through the real server: codes that look like options, a submission
whose kind the server would have to guess, and uploads that could only fail later."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.factories.cli import code_zip, predictions, write_arena_bundle, write_bundle

# ---------------------------------------------------------------------------- invite codes


def test_an_invite_code_starting_with_a_dash_joins(arena, live_server, competition, logged_in, django_user_model):
    """Codes made before codes avoided a leading "-" keep working, typed as printed."""
    from competitions.models import Team
    from competitions.services import team_create

    comp, _ = competition
    alice = django_user_model.objects.create_user(username="alice", password="x")
    team = team_create(competition=comp, user=alice, name="Dashers")
    Team.objects.filter(pk=team.pk).update(invite_code="-DwkEh4mo0vJOubU")
    logged_in("bob")

    joined = arena("team", "join", team.pk, "-DwkEh4mo0vJOubU")
    assert joined.code == 0, joined
    assert "Dashers" in joined.out and "alice, bob" in joined.out

    logged_in("carol")  # an option after the code is still an option
    as_json = arena("team", "join", team.pk, "-DwkEh4mo0vJOubU", "--json")
    assert as_json.code == 0, as_json
    assert json.loads(as_json.out)["members"] == ["alice", "bob", "carol"]


def test_new_invite_codes_never_start_with_a_dash(arena, live_server, competition, logged_in, monkeypatch):
    """A leading "-" comes from the random source about once in 64 codes; here it comes first."""
    import secrets

    drawn = iter(["-startsWithDash1", "Fine_code_0123ab"])
    monkeypatch.setattr(secrets, "token_urlsafe", lambda n: next(drawn))
    logged_in("alice")

    created = arena("team", "create", "mia-cli", "Careful")

    assert created.code == 0, created
    assert "Invite code: Fine_code_0123ab" in created.out
    assert "arena team join" in created.out and "-startsWithDash1" not in created.out


# ---------------------------------------------------------------------------- which kind of submission


@pytest.fixture
def arena_competition(live_server, settings, tmp_path):
    from competitions.services import competition_import

    settings.ARENA_EVALUATION_MODE = "manual"  # nothing here needs a run
    return competition_import(path=write_arena_bundle(tmp_path / "arena-bundle"))


def test_an_arena_submission_without_role_is_refused_before_uploading(arena, arena_competition, logged_in, tmp_path):
    from submissions.models import Submission

    logged_in("alice")
    assert arena("team", "create", "arena-cli", "Breakers").code == 0
    attack = code_zip(tmp_path / "mia.zip", "print('attack')\n")

    result = arena("submit", "arena-cli", attack)

    assert result.code == 2, result
    assert "arena-cli takes several kinds of submission" in result.err
    assert f"arena submit arena-cli {attack} --role defense --task tabular-anonymization" in result.err
    assert f"arena submit arena-cli {attack} --role attack --task membership-inference" in result.err
    assert "--role attack --task attribute-inference" in result.err
    assert "Nothing was uploaded." in result.err

    only_role = arena("submit", "arena-cli", attack, "--role", "attack")  # two attack tasks: still ambiguous
    assert only_role.code == 2 and "--role defense" not in only_role.err
    assert "--role attack --task membership-inference" in only_role.err
    assert not Submission.objects.exists()

    named = arena("submit", "arena-cli", attack, "--role", "attack", "--task", "membership-inference")
    assert named.code == 0, named
    assert Submission.objects.get().task == "membership-inference"


def test_the_api_refuses_a_submission_without_role_and_lists_the_choices(arena_competition, user, client, tmp_path):
    """Other clients meet the same rule on the server: a 400 with the choices, no row, no quota used."""
    from competitions.services import team_create
    from submissions.models import Submission

    alice = user("alice")
    team_create(competition=arena_competition, user=alice, name="Scripted")
    client.force_login(alice)
    with open(code_zip(tmp_path / "a.zip", "print(1)\n"), "rb") as fh:
        response = client.post("/api/v1/competitions/arena-cli/submissions/", {"file": fh})

    assert response.status_code == 400
    body = response.json()
    assert "takes several kinds of submission" in body["error"]
    assert "role=attack task=membership-inference" in body["error"] and "no quota was used" in body["error"]
    assert body["detail"]["choices"] == [
        {"role": "defense", "task": "tabular-anonymization"},
        {"role": "attack", "task": "membership-inference"},
        {"role": "attack", "task": "attribute-inference"},
    ]
    assert not Submission.objects.exists()


def test_an_arena_attack_as_a_predictions_file_is_refused_at_upload(arena, arena_competition, logged_in, tmp_path):
    from submissions.models import Submission
    from submissions.uploads import ARENA_ATTACK_FILE

    logged_in("alice")
    assert arena("team", "create", "arena-cli", "Filers").code == 0
    file = tmp_path / "predictions.csv"
    file.write_text("candidate_id,score\nc1,0.5\n", encoding="utf-8")

    result = arena("submit", "arena-cli", file, "--role", "attack", "--task", "membership-inference")

    assert result.code == 1
    assert result.err.strip() == ARENA_ATTACK_FILE
    assert not Submission.objects.exists()


# ---------------------------------------------------------------------------- files checked at upload


@pytest.fixture
def tight(live_server, inline, tmp_path):
    """A competition with one submission a day: a refused upload must not spend it."""
    from competitions.services import competition_import

    answers = write_bundle(tmp_path / "tight", slug="mia-tight", per_day=1)
    competition_import(path=tmp_path / "tight")
    return answers, tmp_path / "tight"


def _validation_message(bundle, file, tmp_path) -> str:
    """What the task type's own validation says of ``file``, run here on the public files."""
    from submissions.uploads import task_types  # the task types' package, named in one place

    inputs = tmp_path / "inputs"
    inputs.mkdir(exist_ok=True)
    (inputs / "schema.json").write_text(json.dumps({"id_column": "record_id", "columns": []}), encoding="utf-8")
    shutil.copyfile(bundle / "data/candidates.csv", inputs / "candidates.csv")
    output = tmp_path / "as-evaluated" / "predictions.csv"
    output.parent.mkdir(exist_ok=True)
    shutil.copyfile(file, output)
    task = task_types.get_task("membership-inference")
    with pytest.raises(task_types.OutputInvalid) as caught:
        task.validate(path=output, prepared=task.prepared_from_input(inputs))
    return str(caught.value)


@pytest.mark.parametrize("content, expected", [
    ("id,probability\nc0000,0.5\n", "candidate_id"),  # wrong header
    ("candidate_id,score\nc0000,2.5\nnobody,0.1\n", "line 2"),  # out of [0, 1], unknown id, most candidates missing
])
def test_a_malformed_predictions_file_is_refused_at_upload_free_of_quota(arena, tight, logged_in, tmp_path, content, expected):
    from submissions.models import Submission

    answers, bundle = tight
    logged_in("alice")
    assert arena("team", "create", "mia-tight", "Sloppy").code == 0
    bad = tmp_path / "mine.csv"
    bad.write_text(content, encoding="utf-8")

    refused = arena("submit", "mia-tight", bad, "--wait")

    assert refused.code == 1
    assert refused.err.strip() == _validation_message(bundle, bad, tmp_path)  # the evaluation's own words
    assert refused.err.startswith("predictions.csv") and expected in refused.err
    assert not Submission.objects.filter(is_baseline=False).exists()

    good = arena("submit", "mia-tight", predictions(answers, tmp_path / "predictions.csv"), "--wait")
    assert good.code == 0, good  # the day's only slot was still free
    assert Submission.objects.get(is_baseline=False).status == "finished"


def test_a_code_archive_without_main_py_is_refused_at_upload(arena, tight, logged_in, tmp_path):
    import zipfile

    from submissions.models import Submission

    logged_in("alice")
    assert arena("team", "create", "mia-tight", "Forgetful").code == 0
    archive = tmp_path / "attack.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("attack/run.py", "print(1)\n")

    result = arena("submit", "mia-tight", archive)

    assert result.code == 1
    assert "no main.py and no submission.yaml" in result.err
    assert not Submission.objects.filter(is_baseline=False).exists()


def test_the_competition_page_documents_what_to_submit(arena_competition, client):
    page = client.get("/competitions/arena-cli/")
    assert page.status_code == 200
    text = page.content.decode()
    for fact in ("What to submit", "main.py", "submission.yaml", "docker save", "arena submit arena-cli FILE --wait",
                 "--role attack --task membership-inference"):
        assert fact in text, fact


def test_guesses_are_checked_at_upload_against_the_secret_the_competition_names(arena, live_server, inline, logged_in,
                                                                                 tmp_path):
    """Attribute inference: the column to guess comes from the bundle's options (task.json in /input),
    not from the schema, so the check at upload must build that file as the evaluation does."""
    from competitions.services import competition_import
    from submissions.models import Submission
    from tests.factories import bundle_attribute_inference, patient_schema

    competition_import(path=bundle_attribute_inference(tmp_path / "aia", slug="aia-cli", schema=patient_schema(sensitive=[]),
                                                       options={"secret": "diagnosis"}))
    logged_in("alice")
    assert arena("team", "create", "aia-cli", "Guessers").code == 0
    targets = (tmp_path / "aia/data/targets.csv").read_text().splitlines()[1:]
    guesses = tmp_path / "guesses.csv"
    guesses.write_text("target_id,guess\n" + "".join(f"{line.split(',')[0]},\n" for line in targets), encoding="utf-8")

    refused = arena("submit", "aia-cli", guesses)

    assert refused.code == 1
    assert refused.err.startswith("guesses.csv") and "is empty; guess a value of diagnosis" in refused.err
    assert not Submission.objects.filter(is_baseline=False).exists()

    guesses.write_text("target_id,guess\n" + "".join(f"{line.split(',')[0]},I10\n" for line in targets), encoding="utf-8")
    accepted = arena("submit", "aia-cli", guesses, "--wait")
    assert accepted.code == 0, accepted
