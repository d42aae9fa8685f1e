"""``tabular-anonymization``: publish a useful release of hidden medical records, safely.

The defense reads the raw records and writes a release with the schema's columns: the
records anonymised (generalised, suppressed, perturbed) or synthetic ones. It is scored on

* utility, against real records it never saw (the holdout, split by leaderboard):
  a model trained on the release and tested on the holdout, one- and two-way marginal
  fidelity and the difference of the correlation matrices;
* privacy: k-anonymity and prosecutor re-identification risk of the release over the
  quasi-identifiers (properties of the whole release, the same on both splits), the
  singling-out, linkability and inference risks of anonymeter-style attacks with the
  holdout split as control, and the distance to the closest record.

Generalised values are converted as :mod:`evaluation.task_types.values` explains: classes of
generalised text for k-anonymity and prosecutor risk, one plain value per cell (interval
midpoint; ``*`` missing; set: its most frequent member) for everything else.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from threadpoolctl import threadpool_limits

from evaluation import metrics

from .base import MetricSpec, Prepared, Schema, ScoreValue, SplitAssigner, Target, TaskData, TaskDataInvalid, TaskType
from .csvio import (
    Problems,
    check_ids,
    read_ids,
    read_output,
    read_schema,
    require_columns,
    require_files,
    require_unique_ids,
    write_schema,
    write_table,
)
from .scoring import number, split_masks
from .values import parse_dates, parse_release, typed

DEFAULT_N_ATTACKS = 500
MIN_ROWS_CAP = 10_000  # a release may hold more rows than the records (synthetic data) ...
ROWS_PER_RECORD = 10  # ... up to this many per record, or MIN_ROWS_CAP, whichever is more
MIN_CONTROLS = 10  # fewer holdout records in a split than this give no attack-based risk
QUERIES_KEPT = 100  # singling-out queries that succeeded, kept for the organizers' report


class TabularAnonymization(TaskType):
    name = "tabular-anonymization"
    role = "defense"
    output_name = "release.csv"
    accepts_file = False
    data_names = {"train": "hidden", "holdout": "hidden", "sample": "public"}
    metrics = (
        MetricSpec(
            "marginal_fidelity_2way",
            "Two-way marginal fidelity",
            "higher",
            primary=True,
            description="How closely the release reproduces the holdout's distribution of every pair of columns.",
        ),
        MetricSpec(
            "marginal_fidelity_1way",
            "One-way marginal fidelity",
            "higher",
            description="How closely the release reproduces the holdout's distribution of every column.",
        ),
        MetricSpec(
            "correlation_difference",
            "Correlation difference",
            "lower",
            description="How far the release's column associations are from the holdout's.",
        ),
        MetricSpec(
            "ml_utility",
            "ML utility",
            "higher",
            description=(
                "Score on the holdout of a model trained on the release to predict the schema's target "
                "(ROC AUC for two classes, accuracy for more, R² for numbers)."
            ),
        ),
        MetricSpec(
            "k_anonymity",
            "k-anonymity",
            "higher",
            precision=0,
            description="Size of the smallest group of release rows sharing their quasi-identifiers.",
        ),
        MetricSpec(
            "prosecutor_risk",
            "Highest re-identification risk",
            "lower",
            description="1 / size of the smallest quasi-identifier group (prosecutor model).",
        ),
        MetricSpec(
            "records_at_risk",
            "Records at risk",
            "lower",
            description="Share of release rows whose prosecutor risk exceeds 0.09.",
        ),
        MetricSpec(
            "t_closeness",
            "t-closeness",
            "lower",
            description=(
                "Largest distance between a quasi-identifier group's distribution of a sensitive column and the "
                "whole release's (Earth Mover's Distance: ordered for numbers and dates, along the schema's "
                "hierarchy where the column has one, else equal distance); 0 means no group tells more."
            ),
        ),
        MetricSpec("singling_out_risk", "Singling-out risk", "lower", description="anonymeter-style, holdout as control."),
        MetricSpec("linkability_risk", "Linkability risk", "lower", description="anonymeter-style, holdout as control."),
        MetricSpec("inference_risk", "Inference risk", "lower", description="anonymeter-style, on the first sensitive column."),
        MetricSpec(
            "distance_to_closest_record",
            "DCR: share closer to the records",
            "lower",
            description=(
                "Share of release rows whose closest real record is a training record rather than a holdout "
                "one; 0.5 is ideal, 1 means copied records."
            ),
        ),
    )

    # ------------------------------------------------------------------ data

    def check_data(self, data: TaskData, *, arena: bool = False) -> None:
        schema = data.schema
        _check_schema(schema)
        tables = require_files(data, self.data_names, task=self.name)
        for name, table in tables.items():
            require_columns(table, [schema.id_column, *schema.columns], dataset=name)
            require_unique_ids(table, schema.id_column, dataset=name)
            if table.empty:
                raise TaskDataInvalid(f"dataset {name!r} has no records")
            for column, kind in schema.columns.items():
                unreadable = _unreadable(table[column], kind)
                if len(unreadable):
                    raise TaskDataInvalid(
                        f"dataset {name!r}, column {column} ({kind}): {unreadable.iloc[0]!r} on line "
                        f"{unreadable.index[0] + 2} is not a {'number' if kind == 'numeric' else 'ISO date (YYYY-MM-DD)'}"
                    )
            for column in schema.hierarchies:
                hierarchy = schema.hierarchy(column)
                assert hierarchy is not None
                text = table[column].str.strip()
                outside = text[text.ne("") & ~text.isin(list(hierarchy.leaves))]
                if len(outside):
                    raise TaskDataInvalid(
                        f"dataset {name!r}, column {column}: {outside.iloc[0]!r} on line {outside.index[0] + 2} is not "
                        f"one of the values of the column's hierarchy ({len(outside)} such cells)"
                    )

    def sees_hidden_data(self, *, check: bool, arena: bool = False) -> bool:
        return not check

    # ------------------------------------------------------------------ prepare

    def prepare(self, *, data: TaskData, dest: Path, check: bool, seed: int, target: Target | None = None) -> Prepared:
        if target is not None:
            raise ValueError("a defense is not run against a target")
        schema = data.schema
        dest = Path(dest)
        dest.mkdir(parents=True, exist_ok=True)
        write_schema(schema, dest)
        columns = [schema.id_column, *schema.columns]
        if check:
            records = require_files(data, ["sample"], task=self.name)["sample"]
            answers: dict[str, Any] = {}
        else:
            tables = require_files(data, ["train", "holdout"], task=self.name)
            records = tables["train"]
            answers = {"train": tables["train"][columns], "holdout": tables["holdout"][columns], "seed": int(seed)}
        write_table(records[columns], dest / "records.csv")
        prepared = self.prepared_from_input(dest)
        prepared.answers = answers
        return prepared

    def prepared_from_input(self, input_dir: Path) -> Prepared:
        input_dir = Path(input_dir)
        schema = read_schema(input_dir)
        record_ids = read_ids(input_dir / "records.csv", schema.id_column)
        return Prepared(
            input_dir=input_dir,
            expected_ids=None,
            context={
                "schema": schema,
                "record_ids": frozenset(record_ids),
                "max_rows": max(MIN_ROWS_CAP, ROWS_PER_RECORD * len(record_ids)),
            },
        )

    # ------------------------------------------------------------------ validate

    def validate(self, *, path: Path, prepared: Prepared) -> pd.DataFrame:
        schema: Schema = prepared.context["schema"]
        frame = read_output(
            Path(path),
            required=list(schema.columns),
            optional=[schema.id_column],
            max_rows=prepared.context["max_rows"],
            min_rows=1,
        )
        problems = Problems(Path(path).name)
        if schema.id_column in frame:
            check_ids(
                frame, schema.id_column, problems, known=prepared.context["record_ids"], known_what="records.csv", allow_empty=True
            )
        parse_release(frame, schema, problems)
        problems.raise_if_any()
        return frame

    # ------------------------------------------------------------------ score

    def score(self, *, output: pd.DataFrame, prepared: Prepared, splits: SplitAssigner) -> dict[str, dict[str, ScoreValue]]:
        if "train" not in prepared.answers:
            raise ValueError("a check run is not scored: this preparation holds no hidden records")
        schema: Schema = prepared.context["schema"]
        qis = list(schema.quasi_identifiers)
        release = parse_release(output, schema, Problems(self.output_name))
        values = release.values.reset_index(drop=True)
        train = typed(prepared.answers["train"], schema)
        holdout_text = prepared.answers["holdout"]
        holdout = typed(holdout_text, schema)
        seed = prepared.answers["seed"]
        detail = {"rows": len(values), "generalised": release.generalised}

        release_wide: dict[str, ScoreValue] = {}
        classes = release.classes.reset_index(drop=True)
        release_wide["k_anonymity"] = _measure(lambda: ScoreValue(float(metrics.k_anonymity(classes, qis)), detail=detail))
        release_wide.update(_prosecutor(classes, qis))
        release_wide["t_closeness"] = _measure(lambda: _t_closeness(classes, values, schema))

        result = {}
        for split, mask in split_masks(holdout_text[schema.id_column].str.strip(), splits).items():
            control = holdout[mask].reset_index(drop=True)
            scores = dict(release_wide)
            scores.update(self._utility(values, train, control, schema, seed=seed))
            scores.update(self._privacy(values, train, control, schema, seed=seed))
            result[split] = scores
        return result

    def _utility(
        self, release: pd.DataFrame, train: pd.DataFrame, holdout: pd.DataFrame, schema: Schema, *, seed: int
    ) -> dict[str, ScoreValue]:
        columns = list(schema.columns)
        if holdout.empty:
            return _none(["ml_utility", "marginal_fidelity_1way", "marginal_fidelity_2way", "correlation_difference"], "no holdout records in this split")
        out = {
            "marginal_fidelity_1way": _measure(lambda: _value(metrics.marginal_fidelity(holdout, release, columns, way=1))),
            "marginal_fidelity_2way": _measure(
                lambda: _value(metrics.marginal_fidelity(holdout, release, columns, way=2))
                if len(columns) > 1
                else ScoreValue(None, detail={"reason": "the schema has a single column"})
            ),
            "correlation_difference": _measure(lambda: _value(metrics.correlation_difference(holdout, release, columns))),
        }
        if schema.target:
            out["ml_utility"] = _measure(lambda: _ml_utility(release, train, holdout, schema, seed=seed))
        else:
            out["ml_utility"] = ScoreValue(None, detail={"reason": "the schema names no target column"})
        return out

    def _privacy(
        self, release: pd.DataFrame, train: pd.DataFrame, control: pd.DataFrame, schema: Schema, *, seed: int
    ) -> dict[str, ScoreValue]:
        columns = list(schema.columns)
        keys = ["singling_out_risk", "linkability_risk", "inference_risk", "distance_to_closest_record"]
        if len(control) < MIN_CONTROLS:
            return _none(keys, f"fewer than {MIN_CONTROLS} holdout records in this split to serve as controls")
        n_attacks = min(DEFAULT_N_ATTACKS, len(control), len(train))
        qis = list(schema.quasi_identifiers)
        rest = [c for c in columns if c not in qis]
        out = {
            "singling_out_risk": _measure(
                lambda: _risk(metrics.singling_out_risk(train, release, control, n_attacks=n_attacks, seed=seed), queries=True)
            ),
            "distance_to_closest_record": _measure(
                lambda: _value(metrics.distance_to_closest_record(release, train, control, columns, seed=seed))
            ),
        }
        if qis and rest:
            out["linkability_risk"] = _measure(
                lambda: _risk(
                    metrics.linkability_risk(train, release, control, aux_cols=(qis, rest), n_attacks=n_attacks, seed=seed)
                )
            )
        else:
            out["linkability_risk"] = ScoreValue(
                None, detail={"reason": "linkability needs quasi-identifiers and at least one other column"}
            )
        if schema.sensitive:
            secret = schema.sensitive[0]
            known = [c for c in columns if c != secret]
            out["inference_risk"] = _measure(
                lambda: _risk(
                    metrics.inference_risk(
                        train, release, control, aux_cols=known, secret=secret, n_attacks=n_attacks, seed=seed
                    )
                )
            )
        else:
            out["inference_risk"] = ScoreValue(None, detail={"reason": "the schema lists no sensitive column"})
        return out


# --------------------------------------------------------------------------- helpers


def _check_schema(schema: Schema) -> None:
    odd = {c: t for c, t in schema.columns.items() if t not in ("numeric", "categorical", "date")}
    if odd:
        raise TaskDataInvalid(f"schema column types must be numeric, categorical or date: {odd}")
    if not schema.quasi_identifiers:
        raise TaskDataInvalid("task tabular-anonymization needs quasi-identifiers in the schema")
    for field_name, names in (
        ("quasi_identifiers", schema.quasi_identifiers),
        ("sensitive", schema.sensitive),
        ("target", (schema.target,) if schema.target else ()),
    ):
        unknown = [n for n in names if n not in schema.columns]
        if unknown:
            raise TaskDataInvalid(f"schema.{field_name} names columns not in schema.columns: {', '.join(unknown)}")


def _unreadable(text: pd.Series, kind: str) -> pd.Series:
    text = text.str.strip()
    present = text[text.ne("")]
    if kind == "numeric":
        return present[pd.to_numeric(present, errors="coerce").isna()]
    if kind == "date":
        return present[parse_dates(present).isna()]
    return present.iloc[0:0]


def _none(keys: list[str], reason: str) -> dict[str, ScoreValue]:
    return {key: ScoreValue(None, detail={"reason": reason}) for key in keys}


# Why a metric has no value when computing it on the release failed. The release derives from
# hidden data and a library's message can quote its values, so the reason is this fixed text
# and the message is kept as ``error``, which only organizers read (evaluation/identifiability.py).
UNSUPPORTED = "the release cannot support this metric (for example, a column it needs is suppressed entirely)"


def _unsupported(keys: list[str], exc: Exception) -> dict[str, ScoreValue]:
    return {key: ScoreValue(None, detail={"reason": UNSUPPORTED, "error": str(exc)}) for key in keys}


def _measure(compute: Callable[[], ScoreValue]) -> ScoreValue:
    """A metric's value, or no value with the reason when the release cannot support it
    (e.g. a column suppressed entirely); one metric failing never hides the others."""
    try:
        return compute()
    except ValueError as exc:
        return _unsupported(["metric"], exc)["metric"]


def _prosecutor(classes: pd.DataFrame, qis: list[str]) -> dict[str, ScoreValue]:
    try:
        risk = metrics.reidentification_risk(classes, qis)
    except ValueError as exc:
        return _unsupported(["prosecutor_risk", "records_at_risk"], exc)
    detail = {
        "average_risk": risk.prosecutor_average_risk,
        "sample_uniqueness": risk.sample_uniqueness,
        "classes": risk.n_classes,
        "rows": risk.n_records,
        "threshold": risk.threshold,
    }
    return {
        "prosecutor_risk": ScoreValue(risk.prosecutor_highest_risk, detail=detail),
        "records_at_risk": ScoreValue(risk.prosecutor_records_at_risk, detail=detail),
    }


def _t_closeness(classes: pd.DataFrame, values: pd.DataFrame, schema: Schema) -> ScoreValue:
    """t over the schema's sensitive columns (the strictest), in the release's classes of
    generalised quasi-identifiers. A column with a hierarchy is measured along it, on the
    rows whose value the release gives (a group's label counts as its most frequent value,
    as everywhere; a withheld value is no value of the hierarchy)."""
    if not schema.sensitive:
        return ScoreValue(None, detail={"reason": "the schema lists no sensitive column"})
    qis = list(schema.quasi_identifiers)
    per_column: dict[str, float] = {}
    detail: dict[str, Any] = {"distance": {}, "rows_without_value": {}}
    for column in schema.sensitive:
        if column in qis:
            continue
        table = pd.concat([classes[qis], values[[column]]], axis=1)
        hierarchy = schema.hierarchy(column)
        kind = schema.columns[column]
        if hierarchy is not None:
            present = table[column].notna()
            detail["rows_without_value"][column] = int((~present).sum())
            table = table[present]
            if table.empty:
                continue
            per_column[column] = metrics.t_closeness(table, qis, column, hierarchies={column: hierarchy})
            detail["distance"][column] = f"hierarchical (height {hierarchy.height})"
        else:
            types = {column: kind} | {q: "categorical" for q in qis}
            per_column[column] = metrics.t_closeness(table, qis, column, column_types=types)
            detail["distance"][column] = "equal" if kind == "categorical" else "ordered"
    if not per_column:
        return ScoreValue(None, detail={"reason": "no sensitive column outside the quasi-identifiers has a value in the release"})
    detail["per_column"] = {c: number(v) for c, v in per_column.items()}
    return ScoreValue(number(max(per_column.values())), detail=detail)


def _risk(found, *, queries: bool = False) -> ScoreValue:
    """A :class:`metrics.PrivacyRisk` as a score: the normalised risk, its interval, the rates.

    ``queries``: keep (up to :data:`QUERIES_KEPT` of) the singling-out queries that singled
    out a training record, as ``succeeded_queries``. Which queries did so is a fact about
    the hidden records: only organizers read them (evaluation/identifiability.py)."""
    rates = {
        name: {"value": number(r.value), "ci": [number(r.ci[0]), number(r.ci[1])], "attacks": r.n_attacks}
        for name, r in (("attack", found.attack_rate), ("control", found.control_rate), ("baseline", found.baseline_rate))
    }
    return ScoreValue(
        number(found.value),
        number(found.ci[0]),
        number(found.ci[1]),
        {
            "rates": rates,
            "attacks": found.n_attacks,
            "warnings": list(found.warnings),
            **({"reason": found.reason} if found.reason else {}),
            **(
                {"succeeded_queries": list(found.queries[:QUERIES_KEPT]), "succeeded_queries_total": len(found.queries)}
                if queries
                else {}
            ),
        },
    )


def _ml_utility(release: pd.DataFrame, train: pd.DataFrame, holdout: pd.DataFrame, schema: Schema, *, seed: int) -> ScoreValue:
    # Gradient boosting's OpenMP threads busy-wait: on a scoring host shared by several
    # workers they slow a fit down by an order of magnitude. One thread per worker scales
    # by adding workers instead, and keeps results independent of the host's core count.
    assert schema.target is not None  # scored only for a schema with a target
    with threadpool_limits(limits=1, user_api="openmp"):
        found = metrics.ml_utility(release, train, holdout, target=schema.target, seed=seed)
    return ScoreValue(
        number(found.release_score),
        detail={
            "metric": found.metric,
            "task": found.task,
            "real_score": number(found.real_score),
            "ratio": number(found.ratio),
            "test_rows": found.n_test,
        },
    )


def _value(found) -> ScoreValue:
    """A metric result as a score: a plain number, or a result object with ``value``."""
    if isinstance(found, (int, float)):
        return ScoreValue(number(found))
    value = found.value
    ci = getattr(found, "ci", None)
    detail = {}
    if is_dataclass(found) and not isinstance(found, type):
        detail = {k: v for k, v in asdict(found).items() if k not in ("value", "ci") and _plain(v)}
    return ScoreValue(number(value), number(ci[0]) if ci else None, number(ci[1]) if ci else None, detail)


def _plain(v: Any) -> bool:
    if isinstance(v, float):
        return not math.isnan(v)
    return isinstance(v, (int, str, bool, type(None), list, tuple, dict))
