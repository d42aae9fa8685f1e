"""``membership-inference``: tell the records behind a release from others of the same population.

The attack scores every candidate record (higher: more likely a member of the data the
release was made from). Fixed competitions provide the release, candidates and answers;
in an arena, candidates are drawn afresh for every (attack, defense) pair from the
defense's training records (members) and the holdout (non-members).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from evaluation import metrics

from . import pair_inputs
from .base import MetricSpec, Prepared, ScoreValue, SplitAssigner, Target, TaskData, TaskDataInvalid, TaskType
from .csvio import (
    Problems,
    check_covers,
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
from .scoring import split_masks, unavailable

CANDIDATE_ID = "candidate_id"
DEFAULT_CANDIDATES_PER_GROUP = 500


class MembershipInference(TaskType):
    name = "membership-inference"
    role = "attack"
    output_name = "predictions.csv"
    accepts_file = True
    data_names = {"release": "public", "candidates": "public", "population": "public", "membership": "hidden"}
    arena_data_names = {"train": "hidden", "holdout": "hidden", "sample": "public"}
    metrics = (
        MetricSpec(
            "tpr_at_fpr_0_1",
            "TPR at FPR 0.1",
            "higher",
            primary=True,
            description="Share of members flagged at a threshold that flags at most 10% of non-members.",
        ),
        MetricSpec("tpr_at_fpr_0_01", "TPR at FPR 0.01", "higher", description="The same at 1% false positives."),
        MetricSpec("tpr_at_fpr_0_001", "TPR at FPR 0.001", "higher", description="The same at 0.1% false positives."),
        MetricSpec("auc", "ROC AUC", "higher", description="Area under the ROC curve; 0.5 is guessing."),
        MetricSpec(
            "membership_advantage",
            "Membership advantage",
            "higher",
            description="Best TPR − FPR over thresholds (Yeom et al. 2018).",
        ),
        MetricSpec(
            "epsilon_lower_bound",
            "Empirical ε lower bound",
            "higher",
            precision=3,
            description="The smallest ε of (ε, 1e-5)-differential privacy consistent with this attack, at 95% confidence.",
        ),
    )

    # ------------------------------------------------------------------ data

    def check_data(self, data: TaskData, *, arena: bool = False) -> None:
        schema = data.schema
        columns = list(schema.columns)
        if arena:
            tables = require_files(data, self.arena_data_names, task=self.name)
            for name, table in tables.items():
                require_columns(table, [schema.id_column, *columns], dataset=name)
                require_unique_ids(table, schema.id_column, dataset=name)
            for name in ("train", "holdout"):
                if len(tables[name]) < 2:
                    raise TaskDataInvalid(f"dataset {name!r} needs at least 2 records to draw candidates from")
            return
        tables = require_files(data, self.data_names, task=self.name)
        require_columns(tables["release"], columns, dataset="release")
        require_columns(tables["candidates"], [CANDIDATE_ID, *columns], dataset="candidates")
        require_columns(tables["population"], columns, dataset="population")
        require_columns(tables["membership"], [CANDIDATE_ID, "is_member"], dataset="membership")
        require_unique_ids(tables["candidates"], CANDIDATE_ID, dataset="candidates")
        require_unique_ids(tables["membership"], CANDIDATE_ID, dataset="membership")
        membership = tables["membership"]
        labels = membership["is_member"].str.strip()
        bad = labels[~labels.isin(["0", "1"])]
        if len(bad):
            raise TaskDataInvalid(
                f"dataset 'membership': is_member must be 0 or 1, found {bad.iloc[0]!r} "
                f"(row {bad.index[0] + 2})"
            )
        if labels.nunique() < 2:
            raise TaskDataInvalid("dataset 'membership' needs both members (1) and non-members (0)")
        candidate_ids = set(tables["candidates"][CANDIDATE_ID].str.strip())
        answered = set(membership[CANDIDATE_ID].str.strip())
        if candidate_ids != answered:
            missing, extra = sorted(candidate_ids - answered), sorted(answered - candidate_ids)
            raise TaskDataInvalid(
                "datasets 'candidates' and 'membership' must list the same candidate_ids: "
                + "; ".join(
                    part
                    for part in (
                        f"{len(missing)} candidates have no answer (e.g. {missing[0]!r})" if missing else "",
                        f"{len(extra)} answers are not candidates (e.g. {extra[0]!r})" if extra else "",
                    )
                    if part
                )
            )

    def sees_hidden_data(self, *, check: bool, arena: bool = False) -> bool:
        return arena and not check

    # ------------------------------------------------------------------ prepare

    def prepare(self, *, data: TaskData, dest: Path, check: bool, seed: int, target: Target | None = None) -> Prepared:
        dest = Path(dest)
        dest.mkdir(parents=True, exist_ok=True)
        write_schema(data.schema, dest)
        if target is None:
            for name in ("release", "candidates", "population"):
                shutil.copyfile(data.files[name], dest / f"{name}.csv")
            membership = require_files(data, ["membership"], task=self.name)["membership"]
            answers = pd.DataFrame(
                {
                    CANDIDATE_ID: membership[CANDIDATE_ID].str.strip(),
                    "is_member": membership["is_member"].str.strip().astype(int),
                }
            )
            answers["split_key"] = answers[CANDIDATE_ID]
        else:
            answers = self._prepare_arena(data=data, dest=dest, check=check, seed=seed, target=target)
        prepared = self.prepared_from_input(dest)
        prepared.answers = {"membership": answers}
        return prepared

    def _prepare_arena(self, *, data: TaskData, dest: Path, check: bool, seed: int, target: Target) -> pd.DataFrame | None:
        schema = data.schema
        columns = list(schema.columns)
        rng = pair_inputs.pair_rng(self.name, target, seed)
        per_group = int(data.options.get("candidates_per_group", DEFAULT_CANDIDATES_PER_GROUP))
        if check:
            # A check run sees only public data: the sample stands in for members,
            # non-members and population, and an unprotected copy of the members for the release.
            sample = require_files(data, ["sample"], task=self.name)["sample"]
            sample = pair_inputs.shuffled(sample, rng)
            third = max(1, len(sample) // 3)
            members, non_members, population = sample[:third], sample[third : 2 * third], sample[2 * third :]
            release = members[columns]
        else:
            tables = require_files(data, ["train", "holdout", "sample"], task=self.name)
            population = tables["sample"]
            release = pair_inputs.read_target_release(target, schema).drop(columns=[schema.id_column], errors="ignore")
            per_group = min(per_group, len(tables["train"]), len(tables["holdout"]))
            members = pair_inputs.draw(tables["train"], per_group, rng)
            non_members = pair_inputs.draw(tables["holdout"], per_group, rng)
        candidates = pd.concat(
            [members.assign(is_member=1), non_members.assign(is_member=0)], ignore_index=True
        )
        candidates = pair_inputs.shuffled(candidates, rng)
        candidates.insert(0, CANDIDATE_ID, pair_inputs.fresh_ids(rng, len(candidates), "c"))
        write_table(release[columns], dest / "release.csv")
        write_table(candidates[[CANDIDATE_ID, *columns]], dest / "candidates.csv")
        write_table(population[columns], dest / "population.csv")
        return pd.DataFrame(
            {
                CANDIDATE_ID: candidates[CANDIDATE_ID],
                "is_member": candidates["is_member"].astype(int),
                # the hidden record's own id: a record counts on the same leaderboard
                # split whichever defense it was drawn against
                "split_key": candidates[schema.id_column].astype(str).str.strip(),
            }
        )

    def prepared_from_input(self, input_dir: Path) -> Prepared:
        input_dir = Path(input_dir)
        return Prepared(
            input_dir=input_dir,
            expected_ids=read_ids(input_dir / "candidates.csv", CANDIDATE_ID),
            context={"schema": read_schema(input_dir)},
        )

    # ------------------------------------------------------------------ validate

    def validate(self, *, path: Path, prepared: Prepared) -> pd.DataFrame:
        expected = prepared.expected_ids or []
        frame = read_output(Path(path), required=[CANDIDATE_ID, "score"], max_rows=len(expected))
        problems = Problems(Path(path).name)
        check_ids(frame, CANDIDATE_ID, problems, known=frozenset(expected), known_what="candidates.csv")
        scores = parse_unit_scores(frame, "score", problems)
        check_covers(frame, CANDIDATE_ID, expected, problems, what="candidates")
        problems.raise_if_any()
        return pd.DataFrame({CANDIDATE_ID: frame[CANDIDATE_ID], "score": scores})

    # ------------------------------------------------------------------ score

    def score(self, *, output: pd.DataFrame, prepared: Prepared, splits: SplitAssigner) -> dict[str, dict[str, ScoreValue]]:
        answers = prepared.answers.get("membership")
        if answers is None:
            raise ValueError("this preparation holds no answers (a check run is not scored)")
        joined = answers.merge(output[[CANDIDATE_ID, "score"]], on=CANDIDATE_ID, how="left", validate="one_to_one")
        if joined["score"].isna().any():
            raise ValueError("the output has no score for some candidates; validate it before scoring")
        result = {}
        for split, mask in split_masks(joined["split_key"], splits).items():
            part = joined[mask]
            labels = part["is_member"].to_numpy()
            if labels.sum() == 0 or labels.sum() == len(labels):
                result[split] = unavailable(
                    self.metrics, f"this split has {int(labels.sum())} members and {int(len(labels) - labels.sum())} non-members; both are needed"
                )
                continue
            found = metrics.membership_inference_scores(labels, part["score"].to_numpy())
            counts = {"members": found.n_members, "non_members": found.n_non_members}
            result[split] = {
                "tpr_at_fpr_0_1": ScoreValue(found.tpr_at_fpr_0_1, detail=counts),
                "tpr_at_fpr_0_01": ScoreValue(found.tpr_at_fpr_0_01, detail=counts),
                "tpr_at_fpr_0_001": ScoreValue(found.tpr_at_fpr_0_001, detail=counts),
                "auc": ScoreValue(found.auc, detail={**counts, "roc": [list(p) for p in found.roc_curve]}),
                "membership_advantage": ScoreValue(found.membership_advantage, detail=counts),
                "epsilon_lower_bound": ScoreValue(
                    found.epsilon_lower_bound, detail={**counts, "delta": found.delta, "confidence": found.confidence}
                ),
            }
        return result
