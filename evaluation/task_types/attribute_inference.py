"""``attribute-inference``: guess a secret column of target records from a release.

Targets are records whose other columns the attacker knows. Some are members of the data
behind the release, the rest are controls from the same population that are not. Guessing
the controls' secrets right measures what the release teaches about the population; doing
better on the members than on the controls is what the release leaks about the people in
it, so the risk is normalised by the control accuracy as in anonymeter (Giomi et al. 2023,
"A Unified Framework for Quantifying Privacy Risk in Synthetic Data", PoPETs).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from . import pair_inputs
from .base import MetricSpec, Prepared, Schema, ScoreValue, SplitAssigner, Target, TaskData, TaskDataInvalid, TaskType
from .csvio import (
    Problems,
    check_covers,
    check_ids,
    parse_numbers,
    quote,
    read_ids,
    read_output,
    read_schema,
    require_columns,
    require_files,
    require_unique_ids,
    write_schema,
    write_table,
)
from .scoring import normalised_risk, rate, split_masks
from .values import parse_dates, parse_release

TARGET_ID = "target_id"
GROUPS = ("member", "control")
DEFAULT_TOLERANCE = 0.05
DEFAULT_TARGETS_PER_GROUP = 500


def secret_column(schema: Schema, options: dict) -> str:
    """``options.secret``, else the schema's first sensitive column."""
    secret = options.get("secret") or (schema.sensitive[0] if schema.sensitive else None)
    if not secret:
        raise TaskDataInvalid(
            "task attribute-inference needs a secret column: set options.secret or list it under schema.sensitive"
        )
    if secret not in schema.columns:
        raise TaskDataInvalid(f"the secret column {secret!r} is not one of the schema's columns")
    return secret


def known_columns(schema: Schema, options: dict, secret: str) -> list[str]:
    """The columns an attacker knows of a target: ``options.known_columns``, else the quasi-identifiers."""
    known = list(options.get("known_columns") or schema.quasi_identifiers)
    unknown = [c for c in known if c not in schema.columns]
    if unknown:
        raise TaskDataInvalid(f"options.known_columns names columns not in the schema: {', '.join(unknown)}")
    known = [c for c in known if c != secret]
    if not known:
        raise TaskDataInvalid("attribute-inference targets need known columns besides the secret (options.known_columns)")
    return known


class AttributeInference(TaskType):
    name = "attribute-inference"
    role = "attack"
    output_name = "guesses.csv"
    accepts_file = True
    data_names = {"release": "public", "targets": "public", "secrets": "hidden"}
    arena_data_names = {"train": "hidden", "holdout": "hidden", "sample": "public"}
    metrics = (
        MetricSpec(
            "inference_risk",
            "Inference risk",
            "higher",
            primary=True,
            description="(member accuracy − control accuracy) / (1 − control accuracy), bound to [0, 1], as in anonymeter.",
        ),
        MetricSpec("member_accuracy", "Accuracy on members", "higher", description="Share of members' secrets guessed right."),
        MetricSpec(
            "control_accuracy",
            "Accuracy on controls",
            "higher",
            description="Share of controls' secrets guessed right: what the release says about the population.",
        ),
        MetricSpec(
            "baseline_accuracy",
            "Baseline accuracy",
            "higher",
            description="Accuracy on members of always guessing the release's most common value (median for numbers and dates).",
        ),
    )

    # ------------------------------------------------------------------ data

    def check_data(self, data: TaskData, *, arena: bool = False) -> None:
        schema = data.schema
        secret = secret_column(schema, data.options)
        tolerance = data.options.get("tolerance", DEFAULT_TOLERANCE)
        if not isinstance(tolerance, (int, float)) or not 0 <= tolerance < 1:
            raise TaskDataInvalid(f"options.tolerance must be a number in [0, 1), got {tolerance!r}")
        if arena:
            known_columns(schema, data.options, secret)
            tables = require_files(data, self.arena_data_names, task=self.name)
            for name, table in tables.items():
                require_columns(table, [schema.id_column, *schema.columns], dataset=name)
                require_unique_ids(table, schema.id_column, dataset=name)
            return
        tables = require_files(data, self.data_names, task=self.name)
        require_columns(tables["release"], [secret], dataset="release")
        targets, secrets = tables["targets"], tables["secrets"]
        require_columns(targets, [TARGET_ID], dataset="targets")
        if secret in targets.columns:
            raise TaskDataInvalid(f"dataset 'targets' must not contain the secret column {secret!r}")
        require_unique_ids(targets, TARGET_ID, dataset="targets")
        require_columns(secrets, [TARGET_ID, "secret", "group"], dataset="secrets")
        require_unique_ids(secrets, TARGET_ID, dataset="secrets")
        groups = secrets["group"].str.strip()
        odd = groups[~groups.isin(GROUPS)]
        if len(odd):
            raise TaskDataInvalid(f"dataset 'secrets': group must be member or control, found {odd.iloc[0]!r}")
        if set(groups) != set(GROUPS):
            raise TaskDataInvalid("dataset 'secrets' needs both member and control targets")
        if set(targets[TARGET_ID].str.strip()) != set(secrets[TARGET_ID].str.strip()):
            raise TaskDataInvalid("datasets 'targets' and 'secrets' must list the same target_ids")

    def sees_hidden_data(self, *, check: bool, arena: bool = False) -> bool:
        return arena and not check

    # ------------------------------------------------------------------ prepare

    def prepare(self, *, data: TaskData, dest: Path, check: bool, seed: int, target: Target | None = None) -> Prepared:
        dest = Path(dest)
        dest.mkdir(parents=True, exist_ok=True)
        schema = data.schema
        secret = secret_column(schema, data.options)
        write_schema(schema, dest)
        if target is None:
            shutil.copyfile(data.files["release"], dest / "release.csv")
            shutil.copyfile(data.files["targets"], dest / "targets.csv")
            tables = require_files(data, ["release", "secrets"], task=self.name)
            secrets = tables["secrets"]
            answers = pd.DataFrame(
                {
                    TARGET_ID: secrets[TARGET_ID].str.strip(),
                    "secret": secrets["secret"].str.strip(),
                    "group": secrets["group"].str.strip(),
                }
            )
            answers["split_key"] = answers[TARGET_ID]
            release = tables["release"]
        else:
            answers, release = self._prepare_arena(data=data, dest=dest, check=check, seed=seed, target=target)
        tolerance = float(data.options.get("tolerance", DEFAULT_TOLERANCE))
        (dest / "task.json").write_text(
            json.dumps({"secret": secret, "type": schema.columns[secret], "tolerance": tolerance}, indent=2) + "\n",
            encoding="utf-8",
        )
        prepared = self.prepared_from_input(dest)
        prepared.answers = {
            "secrets": answers,
            "baseline": self._baseline_guess(release, schema, secret),
            "tolerance": tolerance,
        }
        return prepared

    def _prepare_arena(self, *, data: TaskData, dest: Path, check: bool, seed: int, target: Target):
        schema = data.schema
        columns = list(schema.columns)
        secret = secret_column(schema, data.options)
        known = known_columns(schema, data.options, secret)
        rng = pair_inputs.pair_rng(self.name, target, seed)
        per_group = int(data.options.get("targets_per_group", DEFAULT_TARGETS_PER_GROUP))
        if check:
            # Public data only: halves of the sample stand in for members (released
            # unprotected) and controls.
            sample = pair_inputs.shuffled(require_files(data, ["sample"], task=self.name)["sample"], rng)
            half = max(1, len(sample) // 2)
            members_pool, controls_pool = sample[:half], sample[half:]
            release = members_pool[columns]
        else:
            tables = require_files(data, ["train", "holdout"], task=self.name)
            members_pool, controls_pool = tables["train"], tables["holdout"]
            release = pair_inputs.read_target_release(target, schema).drop(columns=[schema.id_column], errors="ignore")
        per_group = min(per_group, len(members_pool), len(controls_pool))
        targets = pd.concat(
            [
                pair_inputs.draw(members_pool, per_group, rng).assign(group="member"),
                pair_inputs.draw(controls_pool, per_group, rng).assign(group="control"),
            ],
            ignore_index=True,
        )
        targets = pair_inputs.shuffled(targets, rng)
        targets.insert(0, TARGET_ID, pair_inputs.fresh_ids(rng, len(targets), "t"))
        write_table(release[columns], dest / "release.csv")
        write_table(targets[[TARGET_ID, *known]], dest / "targets.csv")
        answers = pd.DataFrame(
            {
                TARGET_ID: targets[TARGET_ID],
                "secret": targets[secret].astype(str).str.strip(),
                "group": targets["group"],
                "split_key": targets[schema.id_column].astype(str).str.strip(),
            }
        )
        return answers, release

    @staticmethod
    def _baseline_guess(release: pd.DataFrame, schema: Schema, secret: str) -> str | None:
        """The guess of an attacker who ignores the targets: the release's most common secret
        (the median for numbers and dates, where a most common value is rarely close)."""
        kind = schema.columns[secret]
        sub_schema = Schema(id_column=schema.id_column, columns={secret: kind}, quasi_identifiers=())
        frame = release[[secret]].astype(str).apply(lambda s: s.str.strip())
        values = parse_release(frame, sub_schema, Problems("release.csv")).values[secret].dropna()
        if values.empty:
            return None
        if kind == "numeric":
            return repr(float(values.median()))
        if kind == "date":
            return pd.Timestamp(values.median()).strftime("%Y-%m-%d")
        counts = values.value_counts(sort=False)
        return str(counts.idxmax())

    def prepared_from_input(self, input_dir: Path) -> Prepared:
        input_dir = Path(input_dir)
        schema = read_schema(input_dir)
        return Prepared(
            input_dir=input_dir,
            expected_ids=read_ids(input_dir / "targets.csv", TARGET_ID),
            context={"schema": schema, "secret": self._secret_from_inputs(input_dir, schema)},
        )

    @staticmethod
    def _secret_from_inputs(input_dir: Path, schema: Schema) -> str:
        """The secret named in ``task.json``; without one, the schema's first sensitive column."""
        path = input_dir / "task.json"
        if path.exists():
            return json.loads(path.read_text(encoding="utf-8"))["secret"]
        if schema.sensitive:
            return schema.sensitive[0]
        raise ValueError(f"{input_dir} has no task.json naming the secret column and the schema lists no sensitive column")

    # ------------------------------------------------------------------ validate

    def validate(self, *, path: Path, prepared: Prepared) -> pd.DataFrame:
        expected = prepared.expected_ids or []
        frame = read_output(Path(path), required=[TARGET_ID, "guess"], max_rows=len(expected))
        problems = Problems(Path(path).name)
        check_ids(frame, TARGET_ID, problems, known=frozenset(expected), known_what="targets.csv")
        schema: Schema = prepared.context["schema"]
        secret = prepared.context["secret"]
        kind = schema.columns[secret]
        guesses = frame["guess"]
        if kind == "numeric":
            guesses = parse_numbers(frame, "guess", problems).map(repr)
        elif kind == "date":
            dates = parse_dates(frame["guess"])
            problems.add_rows(
                frame,
                dates.isna().to_numpy(),
                "guess",
                lambda v: f"{quote(v)} is not an ISO date (YYYY-MM-DD) for {secret}",
                f"is not an ISO date (YYYY-MM-DD) for {secret}",
            )
            guesses = dates.dt.strftime("%Y-%m-%d")
        else:
            empty = f"is empty; guess a value of {secret}"
            problems.add_rows(frame, frame["guess"].eq("").to_numpy(), "guess", lambda v: empty, empty)
        check_covers(frame, TARGET_ID, expected, problems, what="targets")
        problems.raise_if_any()
        return pd.DataFrame({TARGET_ID: frame[TARGET_ID], "guess": guesses})

    # ------------------------------------------------------------------ score

    def score(self, *, output: pd.DataFrame, prepared: Prepared, splits: SplitAssigner) -> dict[str, dict[str, ScoreValue]]:
        answers = prepared.answers.get("secrets")
        if answers is None:
            raise ValueError("this preparation holds no answers")
        schema: Schema = prepared.context["schema"]
        kind = schema.columns[prepared.context["secret"]]
        tolerance = prepared.answers["tolerance"]
        joined = answers.merge(output, on=TARGET_ID, how="left", validate="one_to_one")
        joined["correct"] = correct_guesses(joined["guess"], joined["secret"], kind=kind, tolerance=tolerance)
        baseline = prepared.answers["baseline"]
        joined["baseline_correct"] = correct_guesses(
            pd.Series([baseline] * len(joined), index=joined.index, dtype=object), joined["secret"], kind=kind, tolerance=tolerance
        ) if baseline is not None else False
        result = {}
        for split, mask in split_masks(joined["split_key"], splits).items():
            part = joined[mask]
            members = part[part["group"] == "member"]
            controls = part[part["group"] == "control"]
            hits_members, hits_controls = int(members["correct"].sum()), int(controls["correct"].sum())
            result[split] = {
                "inference_risk": normalised_risk(hits_members, len(members), hits_controls, len(controls)),
                "member_accuracy": rate(hits_members, len(members)),
                "control_accuracy": rate(hits_controls, len(controls)),
                "baseline_accuracy": (
                    rate(int(members["baseline_correct"].sum()), len(members), guess=baseline)
                    if baseline is not None
                    else ScoreValue(None, detail={"reason": "the release has no values of the secret column"})
                ),
            }
        return result


def correct_guesses(guess: pd.Series, secret: pd.Series, *, kind: str, tolerance: float) -> np.ndarray:
    """Whether each guess hits its secret.

    Categories and dates must match exactly. A number counts as right when
    ``|guess − secret| ≤ tolerance · |secret|`` (relative tolerance, as anonymeter's
    regression mode); a missing secret is never guessed right.
    """
    if kind == "numeric":
        g = pd.to_numeric(guess, errors="coerce").to_numpy(dtype=float)
        s = pd.to_numeric(secret, errors="coerce").to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            return np.abs(g - s) <= tolerance * np.abs(s)
    if kind == "date":
        g, s = parse_dates(guess.astype(object)), parse_dates(secret.astype(object))
        return ((g == s) & s.notna()).to_numpy()
    g, s = guess.astype(object), secret.astype(object)
    return (g.notna() & s.notna() & s.ne("") & (g.astype(str) == s.astype(str))).to_numpy()
