"""The arena end to end: defenses and attacks scored against each other, on tiny generated data.

Every submission here is a real program run by the ``process`` sandbox backend (stdlib-only
Python), evaluated inline by the real pipeline; the arena they run in is built by
:mod:`tests.factories.arena` (the ``arena`` fixture).
"""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

import pytest

from tests.factories.arena import (
    CRASHING_MIA,
    EXACT_MATCH_MIA,
    IDENTITY_DEFENSE,
    build_three_by_three,
    scores_of,
)

pytestmark = pytest.mark.django_db(transaction=True)


# --------------------------------------------------------------------------- tests


def test_matrix_row_column_caching_and_no_hidden_file_in_attack_inputs(arena):
    from evaluation import selectors
    from evaluation.models import ArenaResult
    from submissions.models import Run, Submission

    d1, d2, a1 = build_three_by_three(arena)
    submissions = Submission.objects.filter(competition=arena.competition)
    assert set(submissions.values_list("status", flat=True)) == {Submission.FINISHED}, [
        (s.pk, s.status, s.error, [(r.stdout, r.stderr) for r in s.runs.all()]) for s in submissions]

    # 3 defenses × 3 attacks, baselines counted: 9 pairs, all run once in the sandbox.
    assert ArenaResult.objects.count() == 9
    assert set(ArenaResult.objects.values_list("status", flat=True)) == {ArenaResult.FINISHED}
    assert arena.recorder.count("arena") == 9
    assert Run.objects.filter(purpose=Run.ARENA, saw_hidden_data=True).count() == 9
    matrix = selectors.arena_matrix(phase=arena.phase)
    assert len(matrix["defenses"]) == 3 and len(matrix["rows"]) == 3
    assert matrix["counts"] == {"pairs": 9, "finished": 9, "pending": 0, "failed": 0}
    assert all(cell["status"] == "finished" for row in matrix["rows"] for cell in row["cells"])
    for row in matrix["rows"]:
        for cell, column in zip(row["cells"], matrix["defenses"], strict=True):
            # Only a release that keeps the record ids says which row is whose: a generalised or
            # synthetic release without them has no re-identifiable row, so that rate is undefined.
            linkable = column["baseline"]
            assert (cell["value"] is not None) is (linkable or row["attack"]["task"] != "reidentification"), (row, cell)
    assert [d["baseline"] for d in matrix["defenses"]] == [True, False, False]

    # A fourth attack is one new row: exactly 3 pair runs (plus its check run on the public sample).
    before = arena.recorder.count()
    a4 = arena.submit("delta", EXACT_MATCH_MIA, task="membership-inference")
    a4.refresh_from_db()
    assert a4.status == Submission.FINISHED
    assert arena.recorder.count() - before == 4
    assert arena.recorder.purposes()[before:].count("arena") == 3
    assert ArenaResult.objects.filter(attack=a4, status=ArenaResult.FINISHED).count() == 3

    # An identical resubmission reuses every cached pair and its passed check: no sandbox run at all.
    before = arena.recorder.count()
    again = arena.submit("delta", EXACT_MATCH_MIA, task="membership-inference")
    again.refresh_from_db()
    assert again.status == Submission.FINISHED
    assert arena.recorder.count() == before
    reused = ArenaResult.objects.filter(attack=again)
    assert reused.count() == 3 and all(r.reused_from_id and r.run_id is None for r in reused)
    for r in reused:
        assert r.scores == ArenaResult.objects.get(attack=a4, defense=r.defense).scores
    assert scores_of(again)["tpr_at_fpr_0_1"].value == scores_of(a4)["tpr_at_fpr_0_1"].value

    # Every attack run's /input held only what the attack task wrote: no hidden file, no hidden id.
    hidden_hashes = {hashlib.sha256(content).hexdigest() for content in arena.hidden.values()}
    hidden_ids = set()
    for name in ("train", "holdout", "identities"):
        for row in csv.DictReader(io.StringIO(arena.hidden[name].decode())):
            hidden_ids.add(row["record_id"])
    attack_runs = [(spec, files) for spec, files in zip(arena.recorder.specs, arena.recorder.inputs, strict=True)
                   if spec.env["ARENA_ROLE"] == "attack"]
    assert len(attack_runs) == 12 + 4  # 12 pairs; check runs of the 2 attack baselines, a1 and a4
    for spec, files in attack_runs:
        data_dir = Path(spec.input_dir).parent / "data"
        assert not Path(spec.input_dir).resolve().is_relative_to(data_dir.resolve())
        for name, content in files.items():
            assert Path(name).stem not in {"train", "holdout", "identities", "membership", "truth", "secrets"}, name
            assert hashlib.sha256(content).hexdigest() not in hidden_hashes, name
            text = content.decode("utf-8")
            leaked = [i for i in hidden_ids if i in text]
            assert not leaked, f"{name} of a {spec.env['ARENA_TASK']} run holds hidden ids {leaked[:3]}"
            assert "trn-secret-" not in text and "hld-secret-" not in text


def test_defense_privacy_is_its_worst_attack_and_a_stronger_attack_is_pushed(arena, monkeypatch):
    from competitions.leaderboards import push
    from evaluation import arena as arena_module
    from evaluation import selectors
    from evaluation.models import ArenaResult
    from submissions.models import Submission

    build_three_by_three(arena)
    baseline = Submission.objects.get(competition=arena.competition, role="defense", is_baseline=True)

    def check_worst_case(defense):
        scores = scores_of(defense)
        strongest = []
        for task in arena.competition.attack_tasks:
            key, _label, _direction = arena_module.primary_metric(competition=arena.competition, task=task)
            values = [r.value("public", key) for r in ArenaResult.objects.filter(defense=defense, attack_task=task, status="finished")]
            values = [v for v in values if v is not None]
            worst = scores[arena_module.worst_key(task)]
            if values:
                assert worst.value == pytest.approx(max(values))
                strongest.append(arena_module.normalised_success(key, max(values)))
            else:
                assert worst.value is None
        assert scores["arena_privacy"].value == pytest.approx(1 - max(strongest))
        return scores

    before = check_worst_case(baseline)
    # Only the coin-flip membership attack so far: TPR at FPR 0.1 is at chance on the unprotected release.
    assert before["worst_membership_inference"].value <= 0.5

    messages = []

    class RecordingLayer:
        """Records each push with the board its watchers get: the one the pusher just cached."""

        async def group_send(self, group, message):
            from asgiref.sync import sync_to_async

            from competitions.leaderboards.selectors import leaderboard_snapshot

            board = message.get("leaderboard")
            if board is None:
                board = await sync_to_async(leaderboard_snapshot)(
                    phase=arena.phase, split=message["split"], task=message["task"])
            messages.append((group, {**message, "leaderboard": board}))

    monkeypatch.setattr(push, "get_channel_layer", lambda: RecordingLayer())
    strong = arena.submit("delta", EXACT_MATCH_MIA, task="membership-inference")
    after = check_worst_case(baseline)
    assert after["worst_membership_inference"].value > before["worst_membership_inference"].value
    assert after["worst_membership_inference"].detail["attack"]["submission"] == strong.pk
    assert after["arena_privacy"].value < before["arena_privacy"].value

    # The defense leaderboard was pushed with the new worst case and privacy.
    boards = [m["leaderboard"] for group, m in messages
              if group == "leaderboard-arena-test" and m["leaderboard"]["task"] == "tabular-anonymization"
              and m["leaderboard"]["split"] == "public"]
    assert boards, "no defense leaderboard push"
    row = next(r for r in boards[-1]["rows"] if r["submission"] == baseline.pk)
    assert row["scores"]["worst_membership_inference"]["value"] == pytest.approx(after["worst_membership_inference"].value, abs=1e-4)
    assert row["scores"]["arena_privacy"]["value"] == pytest.approx(after["arena_privacy"].value, abs=1e-4)
    metric_keys = {m["key"] for m in boards[-1]["metrics"]}
    assert {"worst_membership_inference", "worst_reidentification", "worst_attribute_inference", "arena_privacy"} <= metric_keys

    # The attack's own scores: mean over all defenses, over the teams' only, and its best.
    results = list(ArenaResult.objects.filter(attack=strong, status="finished").select_related("defense"))
    values = [r.value("public", "tpr_at_fpr_0_1") for r in results]
    strong_scores = scores_of(strong)
    assert strong_scores["tpr_at_fpr_0_1"].value == pytest.approx(sum(values) / len(values))
    teams = [r.value("public", "tpr_at_fpr_0_1") for r in results if not r.defense.is_baseline]
    assert strong_scores["arena_success_teams"].value == pytest.approx(sum(teams) / len(teams))
    assert strong_scores["arena_success_max"].value == pytest.approx(max(values))
    attack_boards = [m["leaderboard"] for _, m in messages if m["leaderboard"]["task"] == "membership-inference"]
    assert any(r["submission"] == strong.pk for r in attack_boards[-1]["rows"])

    # An attack that fails against every defense fails itself; the defenses' worst case is unchanged.
    crashing = arena.submit("beta", CRASHING_MIA, task="membership-inference")
    crashing.refresh_from_db()
    assert crashing.status == Submission.FAILED and crashing.failure_class == "exit_code"
    assert "all 3 defense(s)" in crashing.error
    assert set(ArenaResult.objects.filter(attack=crashing).values_list("status", flat=True)) == {"failed"}
    assert scores_of(baseline)["worst_membership_inference"].value == after["worst_membership_inference"].value
    assert crashing.pk not in [row["attack"]["submission"] for row in selectors.arena_matrix(phase=arena.phase)["rows"]]

    # Pareto front: every defense has a privacy value; the front is non-dominated.
    front = selectors.arena_pareto_front(phase=arena.phase)
    points = {p["submission"]: p for p in front["points"]}
    assert len(points) == 3 and all(p["privacy"] is not None and p["utility"] is not None for p in points.values())
    on_front = [points[i] for i in front["front"]]
    assert on_front and all(p["on_front"] for p in on_front)
    for p in points.values():
        dominated = any(q["utility"] >= p["utility"] and q["privacy"] >= p["privacy"]
                        and (q["utility"] > p["utility"] or q["privacy"] > p["privacy"]) for q in points.values())
        assert p["on_front"] is (not dominated)


def test_identifiability_report_for_every_finished_defense_and_arena_metric_rows(arena, client_for, api_client,
                                                                                 django_user_model, tmp_path):
    from evaluation import identifiability
    from submissions.models import Submission

    d1, d2, _ = build_three_by_three(arena)
    defenses = Submission.objects.filter(competition=arena.competition, role="defense", status="finished")
    assert defenses.count() == 3
    for defense in defenses:
        report = identifiability.identifiability_report(defense=defense)
        assert [c["criterion"] for c in report["criteria"]] == ["singling_out", "linkability", "inference"]
        for criterion in report["criteria"]:
            assert criterion["explanation"]
            if criterion["available"]:
                assert criterion["ci_low"] is not None and criterion["ci_high"] is not None
                assert criterion["ci_low"] <= criterion["value"] <= criterion["ci_high"] + 1e-9
        thresholds = {t["threshold"]: t for t in report["k_anonymity"]["thresholds"]}
        assert set(thresholds) == {0.05, 0.09, 0.2}
        assert "European Medicines Agency" in thresholds[0.09]["source"] and "Health Canada" in thresholds[0.09]["source"]
        assert thresholds[0.09]["k_needed"] == 12 and thresholds[0.05]["k_needed"] == 20 and thresholds[0.2]["k_needed"] == 5
        k, risk = report["k_anonymity"]["k"], report["k_anonymity"]["prosecutor_risk"]
        assert risk == pytest.approx(1 / k)
        for t in thresholds.values():
            assert t["max_risk_within"] is (risk <= t["threshold"])
        assert {s["task"] for s in report["strongest_attacks"]} == set(arena.competition.attack_tasks)
        assert "not legal advice" in report["disclaimer"]
        assert report["summary"]
    # the unprotected baseline copies the records: k = 1, every record is at risk
    baseline = defenses.get(is_baseline=True)
    report = identifiability.identifiability_report(defense=baseline)
    assert report["k_anonymity"]["k"] == 1 and not any(t["max_risk_within"] for t in report["k_anonymity"]["thresholds"])
    mia = next(s for s in report["strongest_attacks"] if s["task"] == "membership-inference")
    assert mia["attack"]["baseline"] is True and mia["value"] is not None

    # The API: the public split of every finished defense for everyone; the private split for
    # the team after the reveal, and for organizers.
    url = f"/api/v1/submissions/{d1.pk}/report/"
    assert client_for(arena.users["alpha"]).get(url).status_code == 200
    assert client_for(arena.users["beta"]).get(url).status_code == 200
    assert api_client.get(url).status_code == 200
    assert client_for(arena.users["beta"]).get(url + "?split=private").status_code == 403
    response = api_client.get(f"/api/v1/submissions/{baseline.pk}/report/")
    assert response.status_code == 200 and response.json()["baseline"] is True
    hidden = client_for(arena.users["alpha"]).get(url + "?split=private")
    assert hidden.status_code == 403 and hidden.json()["error"]
    organizer = django_user_model.objects.create_user(username="organizer", password="a-long-test-password")
    arena.competition.organizers.add(organizer)
    assert client_for(organizer).get(url + "?split=private").status_code == 200
    attack = Submission.objects.filter(competition=arena.competition, role="attack").first()
    assert client_for(organizer).get(f"/api/v1/submissions/{attack.pk}/report/").status_code == 404


    # The derived metrics are ranked like the others (rows made at import) and left out of exports.
    from competitions.bundles import bundle_read
    from competitions.models import Metric
    from competitions.services import competition_export

    keys = set(Metric.objects.filter(competition=arena.competition).values_list("task", "key"))
    assert {("tabular-anonymization", "worst_membership_inference"), ("tabular-anonymization", "worst_reidentification"),
            ("tabular-anonymization", "worst_attribute_inference"), ("tabular-anonymization", "arena_privacy"),
            ("membership-inference", "arena_success_teams"), ("reidentification", "arena_success_max")} <= keys
    assert not Metric.objects.filter(competition=arena.competition, primary=True, key__startswith="arena_").exists()
    spec = bundle_read(competition_export(competition=arena.competition, dest=tmp_path / "exported"))
    assert not any(m.key.startswith(("worst_", "arena_")) for m in spec.metrics)


# An attack that reads another team's release in its pair runs and tries to carry it out:
# its exit status is the first release row's age; on the public check run it behaves.
RELEASE_READING_MIA = """
import csv, os, sys
inp = os.environ["ARENA_INPUT"]
with open(os.path.join(inp, "candidates.csv")) as fh:
    ids = [r["candidate_id"] for r in csv.DictReader(fh)]
if len(ids) > 40:
    with open(os.path.join(inp, "release.csv")) as fh:
        first = next(csv.DictReader(fh))
    print("RELEASE", first, file=sys.stderr)
    sys.exit(int(first["age"].strip("[]() ").split(",")[0]))
with open(os.path.join(os.environ["ARENA_OUTPUT"], "predictions.csv"), "w", newline="") as fh:
    w = csv.writer(fh)
    w.writerow(["candidate_id", "score"])
    for i in ids:
        w.writerow([i, 0.5])
"""


def test_an_attack_reading_a_release_in_its_pair_runs_learns_the_failure_class_only(arena, client_for, django_user_model):
    from django.test import Client

    from submissions.models import Run

    defense = arena.submit("alpha", IDENTITY_DEFENSE, task="tabular-anonymization")
    defense.refresh_from_db()
    assert defense.status == "finished"
    attack = arena.submit("beta", RELEASE_READING_MIA, task="membership-inference")
    exit_codes = set(Run.objects.filter(submission=attack, purpose=Run.ARENA).values_list("exit_code", flat=True))
    assert exit_codes and None not in exit_codes  # each pair exited with a value read from a release

    seen = client_for(arena.users["beta"]).get(f"/api/v1/submissions/{attack.pk}/").json()
    assert seen["status"] == "failed" and seen["failure_class"] == "exit_code" and seen["error_detail"] is None
    pairs = [r for r in seen["runs"] if r["purpose"] == "arena"]
    assert pairs and all(r["exit_code"] is None and r["stderr"] is None and r["wall_seconds"] is None
                         and r["failure_class"] == "exit_code" for r in pairs)
    browser = Client()
    browser.force_login(arena.users["beta"])
    page = browser.get(f"/submissions/{attack.pk}/").content.decode()
    listing = client_for(arena.users["beta"]).get(f"/api/v1/competitions/{arena.competition.slug}/submissions/").json()
    for code in exit_codes:
        for text in (seen["error"], page, str(listing)):
            assert f"status {code}" not in text and f"exit code {code}" not in text
    assert "RELEASE" not in page and "RELEASE" not in str(seen)

    organizer = django_user_model.objects.create_user(username="organizer", password="a-long-test-password")
    arena.competition.organizers.add(organizer)
    full = client_for(organizer).get(f"/api/v1/submissions/{attack.pk}/").json()
    assert {r["exit_code"] for r in full["runs"] if r["purpose"] == "arena"} == exit_codes
    assert any("RELEASE" in (r["stderr"] or "") for r in full["runs"])
    assert any(f"status {code}" in full["error_detail"] for code in exit_codes)
