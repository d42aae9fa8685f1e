"""Bundle import, export and the errors a malformed bundle gets."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import yaml

from competitions import filestore
from competitions.bundles import BundleInvalid
from competitions.models import Competition, Dataset
from competitions.services import competition_export, competition_import
from submissions.models import Submission
from tests.factories import bundle_membership, bundle_tabular

pytestmark = pytest.mark.django_db


def _edit(bundle: Path, change) -> Path:
    manifest = yaml.safe_load((bundle / "competition.yaml").read_text())
    change(manifest)
    (bundle / "competition.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    return bundle


def _import_errors(bundle: Path) -> dict[str, str]:
    with pytest.raises(BundleInvalid) as caught:
        competition_import(path=bundle)
    assert Competition.objects.count() == 0, "a rejected bundle must store nothing"
    return caught.value.as_dict()


def _snapshot(competition: Competition) -> dict:
    """Everything that makes a competition what it is, without ids and timestamps of the import."""
    return {
        "fields": {f: getattr(competition, f) for f in ("slug", "title", "description", "scenario", "task", "attack_tasks",
                                                       "options", "schema", "published")},
        "phases": [(p.name, p.start, p.end, p.max_submissions_per_day, p.max_submissions_total, p.max_final_selections,
                    p.max_team_size, p.public_fraction, p.check_run, p.limits) for p in competition.phases.all()],
        "metrics": [(m.task, m.key, m.label, m.direction, m.precision, m.primary) for m in competition.metrics.all()],
        "data": sorted((d.name, d.visibility, d.filename, d.sha256, d.size, d.description) for d in competition.datasets.all()),
        "kit": competition.starting_kit.sha256 if hasattr(competition, "starting_kit") else None,
        "baselines": sorted((s.baseline_name, s.role, s.task, s.kind, s.sha256) for s in
                            Submission.objects.filter(competition=competition, is_baseline=True)),
    }


def test_import_export_import_gives_the_same_competition(tmp_path, settings):
    settings.ARENA_EVALUATION_MODE = "manual"
    bundle = bundle_membership(tmp_path / "bundle")
    (bundle / "baselines").mkdir()
    (bundle / "baselines/random.csv").write_text("candidate_id,score\nc0000,0.5\n")
    _edit(bundle, lambda m: m.update(baselines=[{"name": "Coin flip", "role": "attack", "path": "baselines/random.csv",
                                                  "description": "Random scores."}],
                                     metrics=[{"key": "auc", "primary": True, "precision": 3}]))
    first = competition_import(path=bundle)
    before = _snapshot(first)
    assert before["metrics"][3][1:] == ("auc", "ROC AUC", "higher", 3, True)

    exported = competition_export(competition=first, dest=tmp_path / "exported")
    assert (exported / "hidden/membership.csv").read_bytes() == (bundle / "hidden/membership.csv").read_bytes()
    Competition.objects.all().delete()
    second = competition_import(path=exported)
    assert _snapshot(second) == before

    # And as a zip, the way an organizer uploads it.
    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in exported.rglob("*"):
            if path.is_file():
                zf.write(path, f"mia-test/{path.relative_to(exported).as_posix()}")
    third = competition_import(path=archive, replace=True)
    assert _snapshot(third) == before


def test_hidden_files_are_encrypted_and_checked(tmp_path, _private_storage):
    competition = competition_import(path=bundle_membership(tmp_path / "b"))
    hidden = competition.datasets.get(visibility=Dataset.HIDDEN)
    public = competition.datasets.get(name="release")
    assert hidden.encrypted and not public.encrypted
    assert hidden.storage_path.startswith("hidden/") and public.storage_path.startswith("public/")
    raw = (_private_storage / hidden.storage_path).read_bytes()
    assert b"candidate_id" not in raw
    clear = filestore.copy_to(hidden.storage_path, tmp_path / "clear.csv", encrypted=True, sha256=hidden.sha256)
    assert clear.read_bytes() == (tmp_path / "b/hidden/membership.csv").read_bytes()

    tampered = bytearray(raw)
    tampered[-5] ^= 0xFF
    (_private_storage / hidden.storage_path).write_bytes(bytes(tampered))
    from competitions.crypto import DecryptionError

    with pytest.raises(DecryptionError):
        filestore.copy_to(hidden.storage_path, tmp_path / "again.csv", encrypted=True, sha256=hidden.sha256)


def test_missing_required_fields(tmp_path):
    bundle = _edit(bundle_membership(tmp_path / "b"), lambda m: [m.pop("title"), m.pop("phases"), m["schema"].pop("columns")])
    errors = _import_errors(bundle)
    assert errors["title"] == "is required"
    assert errors["phases"] == "expected at least one phase"
    assert errors["schema.columns"] == "is required"


def test_wrong_types_name_the_field_and_the_expectation(tmp_path):
    def change(m):
        m["phases"][0]["limits"]["memory_mb"] = "lots"
        m["phases"][0]["public_fraction"] = 1.5
        m["phases"][0]["max_submissions_per_day"] = 0
        m["published"] = "yes"
        m["phases"][0]["start"] = "next tuesday"

    errors = _import_errors(_edit(bundle_membership(tmp_path / "b"), change))
    assert errors["phases[0].limits.memory_mb"] == "expected an integer > 0, got 'lots'"
    assert errors["phases[0].public_fraction"] == "expected a number in (0.0, 1.0], got 1.5"
    assert errors["phases[0].max_submissions_per_day"] == "expected a positive integer, got 0"
    assert errors["published"] == "expected true or false, got 'yes'"
    assert "ISO 8601" in errors["phases[0].start"]


def test_a_columns_public_domain_is_checked_and_kept(tmp_path):
    def bad(m):
        columns = m["schema"]["columns"]
        columns[0].update({"min": 90, "max": 18})  # age: max below min
        columns[1].update({"categories": ["F", "F"], "min": 0})  # sex

    errors = _import_errors(_edit(bundle_membership(tmp_path / "b"), bad))
    assert errors["schema.columns[0].max"] == "must be greater than min (90), got 18"
    assert errors["schema.columns[1].categories"] == "lists a value twice"
    assert errors["schema.columns[1].min"] == "only numeric and date columns have bounds; list categories instead"

    def good(m):
        m["schema"]["columns"][0].update({"min": 0, "max": 120})
        m["schema"]["columns"][1]["categories"] = ["F", "M"]

    competition = competition_import(path=_edit(bundle_membership(tmp_path / "c"), good))
    assert competition.schema["columns"][0] == {"name": "age", "type": "numeric", "min": 0, "max": 120}
    assert competition.schema["columns"][1] == {"name": "sex", "type": "categorical", "categories": ["F", "M"]}


DIAGNOSIS_HIERARCHY = "I10;I00-I99;*\nE11;E00-E90;*\nJ45;J00-J99;*\n"


def _diagnosis(manifest: dict) -> dict:
    return next(c for c in manifest["schema"]["columns"] if c["name"] == "diagnosis")


def test_a_hierarchy_is_read_from_a_file_of_the_bundle_and_exported_back(tmp_path, settings):
    settings.ARENA_EVALUATION_MODE = "manual"
    bundle = bundle_tabular(tmp_path / "b")
    (bundle / "hierarchies").mkdir()
    (bundle / "hierarchies/diagnosis.csv").write_text(DIAGNOSIS_HIERARCHY)
    competition = competition_import(path=_edit(bundle, lambda m: _diagnosis(m).update(hierarchy="hierarchies/diagnosis.csv")))
    stored = next(c for c in competition.schema["columns"] if c["name"] == "diagnosis")
    assert stored["hierarchy"] == [["I10", "I00-I99", "*"], ["E11", "E00-E90", "*"], ["J45", "J00-J99", "*"]]
    assert competition.metrics.filter(key="t_closeness").exists()

    exported = competition_export(competition=competition, dest=tmp_path / "exported")
    manifest = yaml.safe_load((exported / "competition.yaml").read_text())
    assert _diagnosis(manifest)["hierarchy"] == "hierarchies/diagnosis.csv"
    assert (exported / "hierarchies/diagnosis.csv").read_text() == DIAGNOSIS_HIERARCHY
    before = _snapshot(competition)
    Competition.objects.all().delete()
    assert _snapshot(competition_import(path=exported)) == before


def test_a_hierarchy_may_be_given_inline(tmp_path):
    rows = [["I10", "circulatory", "any"], ["E11", "metabolic", "any"], ["J45", "respiratory", "any"]]
    competition = competition_import(path=_edit(bundle_tabular(tmp_path / "b"), lambda m: _diagnosis(m).update(hierarchy=rows)))
    assert next(c for c in competition.schema["columns"] if c["name"] == "diagnosis")["hierarchy"] == rows


def test_a_wrong_hierarchy_names_what_is_wrong(tmp_path):
    def bad(m):
        columns = m["schema"]["columns"]
        columns[0]["hierarchy"] = [["18", "young", "*"]]  # age: numeric
        columns[1].update({"categories": ["F", "M"], "hierarchy": [["F", "*"]]})  # sex: M has no row
        columns[2]["hierarchy"] = "hierarchies/zip.csv"  # not in the bundle
        _diagnosis(m)["hierarchy"] = [["I10", "I", "*"], ["E11", "E", "top"], ["J45", "J", "*"]]  # two roots
        columns[1]["hierachy"] = "typo"

    errors = _import_errors(_edit(bundle_tabular(tmp_path / "b"), bad))
    assert errors["schema.columns[0].hierarchy"].startswith("only categorical columns take a hierarchy; this one is numeric")
    assert errors["schema.columns[1].hierarchy"] == "the list has no row for the categories ['M']; every category needs one"
    assert errors["schema.columns[2].hierarchy"] == "file 'hierarchies/zip.csv' is not in the bundle"
    assert "must end in a single root, it has 2 top values: ['*', 'top']" in errors["schema.columns[3].hierarchy"]
    assert errors["schema.columns[1].hierachy"].startswith("unknown field (expected one of: name, type, min, max, categories, hierarchy")

    def ambiguous(m):
        _diagnosis(m)["hierarchy"] = [["I10", "I10", "*"], ["E11", "I10", "*"], ["J45", "J45", "*"]]

    errors = _import_errors(_edit(bundle_tabular(tmp_path / "c"), ambiguous))
    assert "['I10'] name(s) both a value and a group of other values" in errors["schema.columns[3].hierarchy"]

    def ragged(m):
        _diagnosis(m)["hierarchy"] = "hierarchies/diagnosis.csv"

    bundle = bundle_tabular(tmp_path / "d")
    (bundle / "hierarchies").mkdir()
    (bundle / "hierarchies/diagnosis.csv").write_text("I10;I00-I99;*\nE11;*\nJ45;J00-J99;*\n")
    errors = _import_errors(_edit(bundle, ragged))
    assert errors["schema.columns[3].hierarchy"].startswith("'hierarchies/diagnosis.csv': every row of the hierarchy of 'diagnosis' must hold")

    bundle = bundle_tabular(tmp_path / "e")
    (bundle / "hierarchies").mkdir()
    with open(bundle / "hierarchies/diagnosis.csv", "wb") as fh:  # sparse: claims 65 MiB, stores nothing
        fh.truncate(65 * 2**20)
    errors = _import_errors(_edit(bundle, ragged))
    assert errors["schema.columns[3].hierarchy"] == "'hierarchies/diagnosis.csv' is 65 MiB; a hierarchy file may hold at most 64 MiB"


def test_records_the_hierarchy_does_not_cover_are_refused(tmp_path):
    rows = [["I10", "circulatory", "*"], ["E11", "metabolic", "*"]]  # the records also hold J45
    errors = _import_errors(_edit(bundle_tabular(tmp_path / "b"), lambda m: _diagnosis(m).update(hierarchy=rows)))
    assert "column diagnosis: 'J45' on line" in errors["data"]
    assert "is not one of the values of the column's hierarchy" in errors["data"]


def test_unknown_task_metric_and_column(tmp_path):
    def change(m):
        m["task"] = "mind-reading"

    assert "unknown task type 'mind-reading'" in _import_errors(_edit(bundle_membership(tmp_path / "a"), change))["task"]

    def change2(m):
        m["metrics"] = [{"key": "accuracy"}]
        m["schema"]["quasi_identifiers"] = ["age", "shoe_size"]

    errors = _import_errors(_edit(bundle_membership(tmp_path / "b"), change2))
    assert errors["metrics[0].key"].startswith("task membership-inference computes no metric 'accuracy'")
    assert errors["schema.quasi_identifiers[1]"] == "'shoe_size' is not a column of schema.columns"


def test_files_missing_or_escaping_the_bundle(tmp_path):
    def change(m):
        m["data"][0]["file"] = "data/nowhere.csv"
        m["data"][1]["file"] = "../../etc/passwd"
        m["description"] = "/etc/hostname"

    errors = _import_errors(_edit(bundle_membership(tmp_path / "b"), change))
    assert errors["data[0].file"] == "file 'data/nowhere.csv' is not in the bundle"
    assert errors["data[1].file"] == "'../../etc/passwd' must be a relative path inside the bundle"
    assert errors["description"] == "'/etc/hostname' must be a relative path inside the bundle"


def test_task_data_requirements(tmp_path):
    def change(m):
        m["data"] = [d for d in m["data"] if d["name"] != "membership"]
        m["data"][0]["visibility"] = "hidden"

    errors = _import_errors(_edit(bundle_membership(tmp_path / "b"), change))
    assert "needs a dataset named 'membership' (hidden)" in errors["data"] or "must be public" in errors["data"]


def test_organizer_data_that_cannot_serve_the_task(tmp_path):
    bundle = bundle_membership(tmp_path / "b")
    (bundle / "hidden/membership.csv").write_text("candidate_id,is_member\nc0000,maybe\n")
    errors = _import_errors(bundle)
    assert errors["data"].startswith("membership-inference:")


def test_invalid_yaml_unknown_fields_and_duplicate_slug(tmp_path):
    bundle = bundle_membership(tmp_path / "b")
    (bundle / "competition.yaml").write_text("slug: [unclosed\n")
    assert "is not valid YAML" in _import_errors(bundle)["competition.yaml"]

    bundle = _edit(bundle_membership(tmp_path / "c"), lambda m: m.update(sponsor="ACME"))
    assert _import_errors(bundle)["sponsor"].startswith("unknown field")

    competition_import(path=bundle_membership(tmp_path / "d"))
    with pytest.raises(BundleInvalid) as caught:
        competition_import(path=bundle_membership(tmp_path / "e"))
    assert caught.value.as_dict() == {"slug": "a competition 'mia-test' already exists"}


def test_unsafe_bundle_archive_is_refused(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../escape.txt", "x")
    with pytest.raises(BundleInvalid) as caught:
        competition_import(path=archive)
    assert ".." in str(caught.value)
    assert not (tmp_path.parent / "escape.txt").exists()


def test_import_command(tmp_path, capsys):
    from django.core.management import CommandError, call_command

    call_command("import_competition", str(bundle_membership(tmp_path / "ok")))
    assert "Imported 'mia-test'" in capsys.readouterr().out
    bad = _edit(bundle_membership(tmp_path / "bad", slug="other"), lambda m: m.pop("task"))
    with pytest.raises(CommandError) as caught:
        call_command("import_competition", str(bad))
    assert "task: is required" in str(caught.value) and "nothing was stored" in str(caught.value)
