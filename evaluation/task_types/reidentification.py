"""``reidentification``: link the rows of a de-identified release to named people.

The attack sees the release and an identified register (identity ids with a name and the
quasi-identifiers) and claims links ``release_id → identity_id`` with a confidence. A
release row without a claim is no claim; only rows whose person is in the register can be
re-identified, and every claimed link on any other row is wrong.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from . import pair_inputs
from .base import MetricSpec, Prepared, ScoreValue, SplitAssigner, Target, TaskData, TaskDataInvalid, TaskType
from .csvio import (
    Problems,
    check_ids,
    parse_unit_scores,
    read_ids,
    read_output,
    read_schema,
    require_columns,
    require_files,
    require_unique_ids,
    write_schema,
    write_table,
)
from .scoring import rate, split_masks

RELEASE_ID = "release_id"
IDENTITY_ID = "identity_id"
CONFIDENT = 0.5  # links at or above this confidence are the attack's firm claims
_CURVE_THRESHOLDS = np.round(np.linspace(0.0, 1.0, 21), 2)


class Reidentification(TaskType):
    name = "reidentification"
    role = "attack"
    output_name = "links.csv"
    accepts_file = True
    data_names = {"release": "public", "register": "public", "truth": "hidden"}
    arena_data_names = {"identities": "hidden", "register": "public", "sample": "public"}
    metrics = (
        MetricSpec(
            "reidentification_rate",
            "Re-identification rate",
            "higher",
            primary=True,
            description="Correct links over the release rows whose person is in the register.",
        ),
        MetricSpec("precision", "Precision", "higher", description="Correct links over all claimed links."),
        MetricSpec(
            "confident_precision",
            "Precision (confidence ≥ 0.5)",
            "higher",
            description="Correct links over the links claimed with confidence at least 0.5.",
        ),
        MetricSpec(
            "confident_reidentification_rate",
            "Re-identification rate (confidence ≥ 0.5)",
            "higher",
            description="Correct links with confidence at least 0.5 over the re-identifiable rows.",
        ),
    )

    # ------------------------------------------------------------------ data

    def check_data(self, data: TaskData, *, arena: bool = False) -> None:
        schema = data.schema
        qis = list(schema.quasi_identifiers)
        if not qis:
            raise TaskDataInvalid("task reidentification needs quasi-identifiers in the schema (schema.quasi_identifiers)")
        if arena:
            tables = require_files(data, self.arena_data_names, task=self.name)
            require_columns(tables["identities"], [schema.id_column, IDENTITY_ID], dataset="identities")
            require_unique_ids(tables["identities"], schema.id_column, dataset="identities")
            register_ids = self._check_register(tables["register"], qis)
            unknown = ~tables["identities"][IDENTITY_ID].str.strip().isin(register_ids)
            if unknown.any():
                raise TaskDataInvalid(
                    f"dataset 'identities': identity_id {tables['identities'][IDENTITY_ID][unknown].iloc[0]!r} "
                    "is not in the register"
                )
            require_columns(tables["sample"], list(schema.columns), dataset="sample")
            return
        tables = require_files(data, self.data_names, task=self.name)
        release, truth = tables["release"], tables["truth"]
        require_columns(release, [RELEASE_ID, *qis], dataset="release")
        require_unique_ids(release, RELEASE_ID, dataset="release")
        register_ids = self._check_register(tables["register"], qis)
        require_columns(truth, [RELEASE_ID, IDENTITY_ID], dataset="truth")
        require_unique_ids(truth, RELEASE_ID, dataset="truth")
        unknown_rows = ~truth[RELEASE_ID].str.strip().isin(set(release[RELEASE_ID].str.strip()))
        if unknown_rows.any():
            raise TaskDataInvalid(f"dataset 'truth': release_id {truth[RELEASE_ID][unknown_rows].iloc[0]!r} is not in the release")
        unknown_people = ~truth[IDENTITY_ID].str.strip().isin(register_ids)
        if unknown_people.any():
            raise TaskDataInvalid(
                f"dataset 'truth': identity_id {truth[IDENTITY_ID][unknown_people].iloc[0]!r} is not in the register"
            )
        if truth.empty:
            raise TaskDataInvalid("dataset 'truth' is empty: at least one release row must belong to someone in the register")

    @staticmethod
    def _check_register(register: pd.DataFrame, qis: list[str]) -> set[str]:
        require_columns(register, [IDENTITY_ID, *qis], dataset="register")
        require_unique_ids(register, IDENTITY_ID, dataset="register")
        return set(register[IDENTITY_ID].str.strip())

    def sees_hidden_data(self, *, check: bool, arena: bool = False) -> bool:
        return arena and not check

    # ------------------------------------------------------------------ prepare

    def prepare(self, *, data: TaskData, dest: Path, check: bool, seed: int, target: Target | None = None) -> Prepared:
        dest = Path(dest)
        dest.mkdir(parents=True, exist_ok=True)
        write_schema(data.schema, dest)
        if target is None:
            shutil.copyfile(data.files["release"], dest / "release.csv")
            shutil.copyfile(data.files["register"], dest / "register.csv")
            tables = require_files(data, ["release", "truth"], task=self.name)
            rows = pd.DataFrame({RELEASE_ID: tables["release"][RELEASE_ID].str.strip()})
            truth = tables["truth"].assign(
                **{RELEASE_ID: lambda t: t[RELEASE_ID].str.strip(), IDENTITY_ID: lambda t: t[IDENTITY_ID].str.strip()}
            )
            rows = rows.merge(truth[[RELEASE_ID, IDENTITY_ID]], on=RELEASE_ID, how="left")
            rows["split_key"] = rows[RELEASE_ID]
        else:
            rows = self._prepare_arena(data=data, dest=dest, check=check, seed=seed, target=target)
        rows[IDENTITY_ID] = rows[IDENTITY_ID].astype(object).where(rows[IDENTITY_ID].notna(), None)
        prepared = self.prepared_from_input(dest)
        prepared.answers = {"rows": rows}
        return prepared

    def _prepare_arena(self, *, data: TaskData, dest: Path, check: bool, seed: int, target: Target) -> pd.DataFrame:
        schema = data.schema
        columns = list(schema.columns)
        rng = pair_inputs.pair_rng(self.name, target, seed)
        shutil.copyfile(data.files["register"], dest / "register.csv")
        if check:
            # Public data only: the sample, unprotected, stands in for a release. Its people
            # are not known to be in the register, so a check run has nothing to score.
            release = require_files(data, ["sample"], task=self.name)["sample"]
            identities = pd.DataFrame({schema.id_column: [], IDENTITY_ID: []}, dtype=object)
        else:
            release = pair_inputs.read_target_release(target, schema)
            identities = require_files(data, ["identities"], task=self.name)["identities"]
        release = pair_inputs.shuffled(release, rng)
        release_ids = pair_inputs.fresh_ids(rng, len(release), "r")
        record_ids = (
            release[schema.id_column].astype(str).str.strip()
            if schema.id_column in release
            else pd.Series([""] * len(release), dtype=object)
        )
        out = release[columns].copy()
        out.insert(0, RELEASE_ID, release_ids)
        write_table(out, dest / "release.csv")
        identity_of = dict(zip(identities[schema.id_column].str.strip(), identities[IDENTITY_ID].str.strip()))
        return pd.DataFrame(
            {
                RELEASE_ID: release_ids,
                IDENTITY_ID: [identity_of.get(r) if r else None for r in record_ids],
                # a row derived from a hidden record splits with that record, whichever defense
                "split_key": [r if r else i for r, i in zip(record_ids, release_ids)],
            }
        )

    def prepared_from_input(self, input_dir: Path) -> Prepared:
        input_dir = Path(input_dir)
        return Prepared(
            input_dir=input_dir,
            expected_ids=read_ids(input_dir / "release.csv", RELEASE_ID),
            context={
                "schema": read_schema(input_dir),
                "identity_ids": frozenset(read_ids(input_dir / "register.csv", IDENTITY_ID)),
            },
        )

    # ------------------------------------------------------------------ validate

    def validate(self, *, path: Path, prepared: Prepared) -> pd.DataFrame:
        release_ids = prepared.expected_ids or []
        frame = read_output(Path(path), required=[RELEASE_ID, IDENTITY_ID, "confidence"], max_rows=len(release_ids))
        problems = Problems(Path(path).name)
        check_ids(frame, RELEASE_ID, problems, known=frozenset(release_ids), known_what="release.csv")
        check_ids(
            frame, IDENTITY_ID, problems, known=prepared.context["identity_ids"], known_what="register.csv", unique=False
        )
        confidence = parse_unit_scores(frame, "confidence", problems)
        problems.raise_if_any()
        return pd.DataFrame({RELEASE_ID: frame[RELEASE_ID], IDENTITY_ID: frame[IDENTITY_ID], "confidence": confidence})

    # ------------------------------------------------------------------ score

    def score(self, *, output: pd.DataFrame, prepared: Prepared, splits: SplitAssigner) -> dict[str, dict[str, ScoreValue]]:
        rows = prepared.answers.get("rows")
        if rows is None:
            raise ValueError("this preparation holds no answers")
        claims = output.rename(columns={IDENTITY_ID: "claimed"})
        joined = rows.merge(claims, on=RELEASE_ID, how="left", validate="one_to_one")
        joined["claimed_any"] = joined["claimed"].notna()
        joined["correct"] = joined["claimed_any"] & joined[IDENTITY_ID].notna() & (joined["claimed"] == joined[IDENTITY_ID])
        joined["identifiable"] = joined[IDENTITY_ID].notna()
        result = {}
        for split, mask in split_masks(joined["split_key"], splits).items():
            part = joined[mask]
            identifiable = int(part["identifiable"].sum())
            claimed = part[part["claimed_any"]]
            confident = claimed[claimed["confidence"] >= CONFIDENT]
            result[split] = {
                "reidentification_rate": rate(
                    int(part["correct"].sum()), identifiable, curve=self._curve(claimed, identifiable)
                ),
                "precision": rate(int(claimed["correct"].sum()), len(claimed)),
                "confident_precision": rate(int(confident["correct"].sum()), len(confident)),
                "confident_reidentification_rate": rate(int(confident["correct"].sum()), identifiable),
            }
        return result

    @staticmethod
    def _curve(claimed: pd.DataFrame, identifiable: int) -> list[dict[str, float | None]]:
        """Precision and rate of the links kept at each confidence threshold, for plotting."""
        confidence = claimed["confidence"].to_numpy()
        correct = claimed["correct"].to_numpy()
        points = []
        for threshold in _CURVE_THRESHOLDS:
            kept = confidence >= threshold
            n_kept, n_correct = int(kept.sum()), int(correct[kept].sum())
            points.append(
                {
                    "threshold": float(threshold),
                    "links": n_kept,
                    "precision": n_correct / n_kept if n_kept else None,
                    "rate": n_correct / identifiable if identifiable else None,
                }
            )
        return points
