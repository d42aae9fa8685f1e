"""Every task type end to end: upload code, run it in a real container, validate and score.

For each of the four task types a small competition is imported and a code submission is
uploaded through the API; evaluation runs inline (the job an RQ worker would run) with the
Docker backend. One program per task type writes a correct output, or the same output broken
in one way (``DEFECT``): a correct one scores the values the data allow, each broken one fails
as ``invalid_output`` with a message naming the file, the line or column, and the rule.

The defense's run sees the hidden records, so its output is derived from hidden data: the team
is told where and which rule, never a value from the file, while organizers see it whole.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.html import escape

from competitions.services import competition_import, team_create
from evaluation import pipeline
from evaluation.task_types.scoring import normalised_risk, split_masks
from submissions.models import Run, Submission
from tests.factories import (
    bundle_attribute_inference,
    bundle_membership,
    bundle_reidentification,
    bundle_tabular,
    code_archive,
)

# Appended to each program: writes its rows, broken as DEFECT says (None writes them correctly).
WRITE = '''

def write(name, header, rows, value_column, out_of_range):
    column = header.index(value_column)
    if DEFECT == "missing_file":
        name = "output.csv"
    elif DEFECT == "wrong_columns":
        header = header[:column] + ["prediction"] + header[column + 1:]
    elif DEFECT == "missing_rows":
        rows = rows[:-1]
    elif DEFECT == "no_rows":
        rows = []
    elif DEFECT == "too_many_rows":
        rows = rows * 40
    elif DEFECT == "duplicate_id":
        rows[3][0] = rows[1][0]
    elif DEFECT is not None:
        rows[2][column] = {"nan": "nan", "out_of_range": out_of_range, "empty_value": ""}[DEFECT]
    with open(os.path.join(OUTPUT, name), "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(header)
        out.writerows(rows)
    print("wrote", name, len(rows), "rows")
'''

PRELUDE = '''
import csv, os
INPUT, OUTPUT = os.environ["ARENA_INPUT"], os.environ["ARENA_OUTPUT"]

def read(name):
    with open(os.path.join(INPUT, name), newline="") as fh:
        return list(csv.DictReader(fh))

def qis(row):
    return (row["age"], row["sex"], row["postcode"])
'''

# Flags a candidate as a member when its quasi-identifiers are in the release: every member is
# (the release holds the members unchanged), no non-member is unless a member shares its QIs.
MEMBERSHIP = '''
release = {qis(r) for r in read("release.csv")}
rows = [[c["candidate_id"], 1.0 if qis(c) in release else 0.0] for c in read("candidates.csv")]
write("predictions.csv", ["candidate_id", "score"], rows, "score", "1.5")
'''

# Links each release row to the registered person with the same quasi-identifiers (unique here).
REIDENTIFICATION = '''
person = {qis(p): p["identity_id"] for p in read("register.csv")}
rows = [[r["release_id"], person[qis(r)], 1.0] for r in read("release.csv") if qis(r) in person]
write("links.csv", ["release_id", "identity_id", "confidence"], rows, "confidence", "1.5")
'''

# Looks members' diagnoses up in the release; a control, not in it, gets a guess that is never right.
ATTRIBUTE = '''
diagnosis = {qis(r): r["diagnosis"] for r in read("release.csv")}
rows = [[t["target_id"], diagnosis.get(qis(t), "unknown")] for t in read("targets.csv")]
write("guesses.csv", ["target_id", "guess"], rows, "guess", "?")
'''

# Breaks a defense's output only on the hidden records (the check run's public sample is smaller).
ONLY_ON_HIDDEN_RECORDS = '''
if len(records) <= 150:
    DEFECT = None
'''

# Generalises age to decades and suppresses the postcode.
DEFENSE = '''
records = read("records.csv")
''' + ONLY_ON_HIDDEN_RECORDS + '''
rows = [[r["record_id"], "[%d, %d)" % (int(r["age"]) // 10 * 10, int(r["age"]) // 10 * 10 + 10), r["sex"], "*", r["diagnosis"]]
        for r in records]
write("release.csv", ["record_id", "age", "sex", "postcode", "diagnosis"], rows, "age", "[40, 30]")
'''


def program(body: str, defect: str | None) -> str:
    return f"DEFECT = {defect!r}\n" + PRELUDE + WRITE + body


@pytest.fixture
def inline_docker(settings, docker_ready):
    settings.ARENA_EVALUATION_MODE = "inline"
    settings.ARENA_SANDBOX_BACKEND = "docker"
    yield
    from sandbox.runner import backend_instance

    backend_instance("docker").wait_for_cleanup()  # containers are removed in the background: leave none behind


@pytest.fixture
def competition_team(inline_docker, tmp_path, make_user, client_for):
    """Import a bundle, make a team, and submit code through the API; evaluation runs inline."""

    class Team:
        def __init__(self, bundle):
            self.competition = competition_import(path=bundle(tmp_path / "bundle"))
            self.user, self.organizer = make_user(), make_user()
            self.competition.organizers.add(self.organizer)
            team_create(competition=self.competition, user=self.user, name="Testers")
            self.client = client_for(self.user)

        def submit(self, body: str, defect: str | None) -> dict:
            archive = code_archive(tmp_path / "code.zip", program(body, defect))
            response = self.client.post(f"/api/v1/competitions/{self.competition.slug}/submissions/",
                                        {"file": SimpleUploadedFile("code.zip", archive.read_bytes())}, format="multipart")
            assert response.status_code == 201, response.json()
            detail = self.client.get(f"/api/v1/submissions/{response.json()['id']}/").json()
            assert detail["kind"] == "code" and detail["runs"], detail
            faults = Run.objects.filter(submission_id=detail["id"], failure_class=Submission.INFRASTRUCTURE)
            assert not faults.exists(), list(faults.values_list("message", flat=True))
            assert {run["backend"] for run in detail["runs"]} == {"docker"}, detail["runs"]
            return detail

    return Team


ATTACKS = {
    "membership-inference": (bundle_membership, MEMBERSHIP),
    "reidentification": (bundle_reidentification, REIDENTIFICATION),
    "attribute-inference": (bundle_attribute_inference, ATTRIBUTE),
}

# (task, defect, what the team is told): attacks see only public data, so the message quotes the value.
ATTACK_DEFECTS = [
    ("membership-inference", "missing_file",
     "predictions.csv: file not found: the program must write predictions.csv (header: candidate_id,score)"),
    ("membership-inference", "wrong_columns",
     "predictions.csv line 1: the header misses the column score; has unknown column prediction"),
    ("membership-inference", "missing_rows",
     "predictions.csv, column candidate_id: has no row for 1 of the 60 candidates: 'c0059'"),
    ("membership-inference", "too_many_rows", "predictions.csv line 62: too many rows: at most 60 data rows"),
    ("membership-inference", "nan", "predictions.csv line 4, column score: 'nan' is not a number in [0, 1]"),
    ("membership-inference", "out_of_range", "predictions.csv line 4, column score: '1.5' is not a number in [0, 1]"),
    ("membership-inference", "duplicate_id",
     "line 5, column candidate_id: 'c0001' appears again (first on line 3); one row per id"),
    ("reidentification", "missing_file",
     "links.csv: file not found: the program must write links.csv (header: release_id,identity_id,confidence)"),
    ("reidentification", "wrong_columns",
     "links.csv line 1: the header misses the column confidence; has unknown column prediction"),
    ("reidentification", "too_many_rows", "links.csv line 42: too many rows: at most 40 data rows"),
    ("reidentification", "nan", "links.csv line 4, column confidence: 'nan' is not a number in [0, 1]"),
    ("reidentification", "out_of_range", "links.csv line 4, column confidence: '1.5' is not a number in [0, 1]"),
    ("reidentification", "duplicate_id",
     "links.csv line 5, column release_id: 'r0011' appears again (first on line 3); one row per id"),
    ("attribute-inference", "missing_file",
     "guesses.csv: file not found: the program must write guesses.csv (header: target_id,guess)"),
    ("attribute-inference", "wrong_columns",
     "guesses.csv line 1: the header misses the column guess; has unknown column prediction"),
    ("attribute-inference", "missing_rows",
     "guesses.csv, column target_id: has no row for 1 of the 40 targets: 't0039'"),
    ("attribute-inference", "too_many_rows", "guesses.csv line 42: too many rows: at most 40 data rows"),
    ("attribute-inference", "empty_value", "guesses.csv line 4, column guess: is empty; guess a value of diagnosis"),
    ("attribute-inference", "duplicate_id",
     "line 5, column target_id: 't0001' appears again (first on line 3); one row per id"),
]

# (defect, what the team is told, what organizers see besides): the defense's output derives
# from hidden records, so the team's message names place and rule but quotes nothing of the file.
# (defect, the rule its team is told, where the organizers read it is, what only they read)
DEFENSE_DEFECTS = [
    ("missing_file", "file-missing", "release.csv: file not found", None),
    ("wrong_columns", "missing-column", "release.csv line 1: the header misses the column age",
     "has unknown column prediction"),
    ("no_rows", "too-few-rows", "release.csv line 1: has 0 data rows", None),
    ("too_many_rows", "too-many-rows", "release.csv line 10002: too many rows", None),
    ("nan", "not-a-number", "release.csv line 4, column age", "'nan' is not a number"),
    ("out_of_range", "bad-interval", "release.csv line 4, column age",
     "'[40, 30]' has its lower bound 40 above its upper bound 30"),
    ("duplicate_id", "duplicate-id", "release.csv line 5, column record_id", "'r00001' appears again (first on line 3)"),
]


def _table(competition, name: str) -> pd.DataFrame:
    """One of the competition's datasets, hidden ones decrypted, as text."""
    with tempfile.TemporaryDirectory() as tmp:
        data = pipeline.task_data_materialize(competition=competition, dest=Path(tmp) / "data")
        return pd.read_csv(data.files[name], dtype=str)


def _public_split(competition, keys):
    return split_masks(keys, pipeline.splits_for(phase=competition.phases.get()))["public"]


@pytest.mark.django_db(transaction=True)
def test_membership_inference_exact_attack_scores(competition_team):
    team = competition_team(bundle_membership)
    detail = team.submit(MEMBERSHIP, None)
    assert detail["status"] == "finished", detail
    scores = detail["public_scores"]
    # The release holds every member's quasi-identifiers and no non-member shares them here.
    for key in ("tpr_at_fpr_0_1", "tpr_at_fpr_0_01", "tpr_at_fpr_0_001", "auc", "membership_advantage"):
        assert scores[key]["value"] == 1.0, (key, scores)
    assert detail["runs"][0]["logs_visible"] and "wrote predictions.csv 60 rows" in detail["runs"][0]["stdout"]


@pytest.mark.django_db(transaction=True)
def test_reidentification_perfect_linkage_scores_one(competition_team):
    team = competition_team(bundle_reidentification)
    detail = team.submit(REIDENTIFICATION, None)
    assert detail["status"] == "finished", detail
    scores = detail["public_scores"]
    for key in ("reidentification_rate", "precision", "confident_precision", "confident_reidentification_rate"):
        assert scores[key]["value"] == 1.0, (key, scores)


@pytest.mark.django_db(transaction=True)
def test_attribute_inference_lookup_attack_scores_the_anonymeter_risk(competition_team):
    team = competition_team(bundle_attribute_inference)
    detail = team.submit(ATTRIBUTE, None)
    assert detail["status"] == "finished", detail
    scores = detail["public_scores"]
    assert scores["member_accuracy"]["value"] == 1.0 and scores["control_accuracy"]["value"] == 0.0
    # Every public member right, every public control wrong: the risk anonymeter would report.
    expected = normalised_risk(*_members_and_controls(team.competition))
    # the team reads it to the metric's precision (4 decimals), never the stored float
    assert scores["inference_risk"]["value"] == round(expected.value, 4)


def _members_and_controls(competition) -> tuple[int, int, int, int]:
    """(member hits, members, control hits, controls) on the public split for the lookup attack."""
    secrets = _table(competition, "secrets")
    public = secrets[_public_split(competition, secrets["target_id"])]
    members = int((public["group"] == "member").sum())
    return members, members, 0, len(public) - members


@pytest.mark.django_db(transaction=True)
def test_defense_release_scores_on_the_holdout(competition_team):
    team = competition_team(bundle_tabular)
    detail = team.submit(DEFENSE, None)
    assert detail["status"] == "finished", detail
    scores = detail["public_scores"]
    # Rows share their quasi-identifiers when they share decade and sex (the postcode is suppressed).
    train = _table(team.competition, "train")
    k = int(train.groupby([train["age"].astype(int) // 10, train["sex"]]).size().min())
    assert scores["k_anonymity"]["value"] == k and scores["prosecutor_risk"]["value"] == round(1 / k, 4)
    assert 0 < scores["marginal_fidelity_1way"]["value"] <= 1
    runs = {run["purpose"]: run for run in detail["runs"]}
    assert "wrote release.csv 100 rows" in runs["check"]["stdout"] and runs["evaluation"]["stdout"] is None


@pytest.mark.parametrize(("task", "defect", "message"), ATTACK_DEFECTS, ids=[f"{t}-{d}" for t, d, _ in ATTACK_DEFECTS])
@pytest.mark.django_db(transaction=True)
def test_attack_output_defect_fails_naming_the_problem(competition_team, task, defect, message):
    bundle, body = ATTACKS[task]
    team = competition_team(bundle)
    detail = team.submit(body, defect)
    assert detail["status"] == "failed" and detail["failure_class"] == "invalid_output", detail
    assert message in detail["error"], detail["error"]
    # The run saw only public data: its logs and the validation message are the team's.
    run = detail["runs"][0]
    assert run["logs_visible"] and run["purpose"] == "evaluation" and "wrote" in run["stdout"]
    assert message in Run.objects.get(pk=run["id"]).message


@pytest.mark.parametrize(("defect", "rule", "place", "organizer_only"), DEFENSE_DEFECTS, ids=[d[0] for d in DEFENSE_DEFECTS])
@pytest.mark.django_db(transaction=True)
def test_defense_output_defect_on_hidden_data_names_the_rule_only(competition_team, client, defect, rule, place,
                                                                  organizer_only):
    team = competition_team(bundle_tabular)
    detail = team.submit(DEFENSE, defect)
    assert detail["status"] == "failed" and detail["failure_class"] == "invalid_output", detail
    error = detail["error"]
    assert detail["rule"] == rule and error.startswith(f"The output breaks the rule {rule}: "), error
    assert "organizers only" in error and "line" not in error and "column age" not in error
    assert "r000" not in error and "nan" not in error and "prediction" not in error
    runs = {run["purpose"]: run for run in detail["runs"]}
    assert runs["check"]["logs_visible"] and not runs["check"]["failure_class"]
    assert runs["evaluation"]["logs_visible"] is False and runs["evaluation"]["stdout"] is None
    # Organizers see the whole message, values included, on their competition page.
    organizer_message = Run.objects.get(pk=runs["evaluation"]["id"]).message
    assert organizer_message.startswith(place) and runs["evaluation"]["rule"] == rule
    if organizer_only:
        assert organizer_only in organizer_message and organizer_only not in error
    client.force_login(team.organizer)
    page = client.get(f"/competitions/{team.competition.slug}/organize/").content.decode()
    assert escape(organizer_message) in page


@pytest.mark.django_db(transaction=True)
def test_defense_output_defect_on_the_public_sample_is_shown_whole(competition_team):
    team = competition_team(bundle_tabular)
    detail = team.submit(DEFENSE.replace(ONLY_ON_HIDDEN_RECORDS, ""), "nan")
    assert detail["status"] == "failed" and detail["failure_class"] == "invalid_output", detail
    assert detail["error"].startswith("Check run on the public sample: release.csv line 4, column age: 'nan' is not a number")
    assert [run["purpose"] for run in detail["runs"]] == ["check"] and detail["runs"][0]["logs_visible"]
    assert Submission.objects.get(pk=detail["id"]).scores.count() == 0
