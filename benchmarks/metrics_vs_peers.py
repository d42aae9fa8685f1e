"""Metric computation time and agreement, side by side with the reference
libraries (pycanon, anonymeter) on the same generated patient records.

    python benchmarks/metrics_vs_peers.py --sizes 10000 100000 1000000

For each size: k-anonymity, (α,k)-anonymity, l-diversity, entropy l-diversity,
recursive (c,l)-diversity, basic and enhanced β-likeness, δ-disclosure privacy,
t-closeness (ordered, equal and hierarchical distance), prosecutor
re-identification risk and the three anonymeter-style risks, ours and the
reference's, with the median time over repeats (small sizes are repeated),
the time ratio and whether the results agree (equal values for pycanon, with the
project's pycanon-compatible options where its defaults differ; pycanon has no
hierarchical t-closeness, so that row is timed against pycanon's equal-distance
t-closeness and checked to stay below it; for
anonymeter, overlapping confidence intervals of the risks under fixed seeds). A
reference is skipped at a size where its measured or extrapolated time would
exceed --reference-budget seconds, and the table says so.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evaluation import metrics  # noqa: E402

QUASI_IDENTIFIERS = ["age", "sex", "postcode"]
DIAGNOSES = ["I10", "E11", "J45", "C50", "F32", "K21", "M54", "N39", "I25", "J44"]
# ICD-10 chapters above the codes: a generalisation hierarchy of height 2
DIAGNOSIS_HIERARCHY = [[code, {"I": "circulatory", "E": "endocrine", "J": "respiratory", "C": "neoplasms", "F": "mental",
                               "K": "digestive", "M": "musculoskeletal", "N": "genitourinary"}[code[0]], "*"] for code in DIAGNOSES]


def patients(n: int, seed: int) -> pd.DataFrame:
    """Hospital episodes: age, sex, 3-digit postcode area, diagnosis (depends on
    age), length of stay (depends on age and diagnosis), admission date, weight."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 96, n)
    old = age > 65
    weights = np.where(
        old[:, None],
        [0.25, 0.2, 0.02, 0.08, 0.03, 0.07, 0.07, 0.05, 0.15, 0.08],
        [0.05, 0.05, 0.25, 0.05, 0.25, 0.1, 0.15, 0.05, 0.03, 0.02],
    )
    weights = weights / weights.sum(axis=1, keepdims=True)
    diagnosis = np.array(DIAGNOSES)[(weights.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)]
    return pd.DataFrame(
        {
            "age": age,
            "sex": rng.choice(["F", "M"], n),
            "postcode": rng.choice([f"{p:03d}" for p in range(100, 160)], n),
            "diagnosis": diagnosis,
            "length_of_stay": np.round(rng.gamma(2.0, 1.5, n) + age / 15 + (diagnosis == "C50") * 6).astype(int),
            "admitted": pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D"),
            "weight": rng.normal(78, 14, n).round(1),
        }
    )


def timed(function, repeats: int):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


class Table:
    def __init__(self):
        self.rows = []

    def add(self, size, metric, ours_s, ours_value, ref_name, ref_s, ref_value, agree):
        ratio = f"{ref_s / ours_s:,.0f}x" if ref_s is not None and ours_s > 0 else "-"
        self.rows.append(
            (
                f"{size:,}",
                metric,
                f"{ours_s * 1000:,.1f} ms",
                ours_value,
                ref_name,
                f"{ref_s:,.2f} s" if ref_s is not None else "skipped",
                ref_value,
                ratio,
                agree,
            )
        )
        print(" | ".join(self.rows[-1]), flush=True)

    def print(self):
        header = ("rows", "metric", "ours (median)", "ours value", "reference", "reference (median)", "ref value", "speed-up", "agree")
        widths = [max(len(str(r[i])) for r in [header] + self.rows) for i in range(len(header))]
        line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True))  # noqa: E731
        print()
        print(line(header))
        print(line(["-" * w for w in widths]))
        for row in self.rows:
            print(line(row))


def fmt(value) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(fmt(v) for v in value) + ")"
    if isinstance(value, (float, np.floating)):
        return f"{value:.4g}"
    return str(value)


def run_syntactic(table: Table, df: pd.DataFrame, size: int, repeats: int, budget: float, estimates: dict, skip_reference: bool):
    from pycanon import anonymity as pycanon

    sensitive_numeric, sensitive_categorical = "length_of_stay", "diagnosis"
    qis, sa = QUASI_IDENTIFIERS, [sensitive_categorical]
    close = lambda ours, ref: math.isclose(ours, ref, rel_tol=1e-9, abs_tol=1e-12)  # noqa: E731

    def same_pair(ours, ref):
        return all((math.isnan(a) and math.isnan(b)) or close(a, b) for a, b in zip(ours, ref, strict=True))

    cases = [
        ("k-anonymity", lambda: metrics.k_anonymity(df, qis), lambda: pycanon.k_anonymity(df, qis), None),
        (
            "(alpha,k)-anonymity",
            lambda: tuple(metrics.alpha_k_anonymity(df, qis, sa)),
            lambda: pycanon.alpha_k_anonymity(df, qis, sa),
            same_pair,
        ),
        ("l-diversity", lambda: metrics.l_diversity(df, qis, sa), lambda: pycanon.l_diversity(df, qis, sa), None),
        (
            "entropy l-diversity",
            lambda: metrics.entropy_l_diversity(df, qis, sa, rounding="truncate"),
            lambda: pycanon.entropy_l_diversity(df, qis, sa),
            None,
        ),
        (
            "recursive (c,l)-diversity",
            lambda: tuple(metrics.recursive_c_l_diversity(df, qis, sa, order="ascending"))[:2],
            lambda: pycanon.recursive_c_l_diversity(df, qis, sa),
            same_pair,
        ),
        ("basic beta-likeness", lambda: metrics.basic_beta_likeness(df, qis, sa), lambda: pycanon.basic_beta_likeness(df, qis, sa), close),
        (
            "enhanced beta-likeness",
            lambda: metrics.enhanced_beta_likeness(df, qis, sa),
            lambda: pycanon.enhanced_beta_likeness(df, qis, sa),
            close,
        ),
        ("delta-disclosure", lambda: metrics.delta_disclosure(df, qis, sa), lambda: pycanon.delta_disclosure(df, qis, sa), close),
        (
            "t-closeness (numeric)",
            lambda: metrics.t_closeness(df, qis, sensitive_numeric),
            lambda: pycanon.t_closeness(df, qis, [sensitive_numeric]),
            close,
        ),
        ("t-closeness (categorical)", lambda: metrics.t_closeness(df, qis, sa), lambda: pycanon.t_closeness(df, qis, sa), close),
        (
            "t-closeness (hierarchical)",
            lambda: metrics.t_closeness(df, qis, sa, hierarchies={sensitive_categorical: DIAGNOSIS_HIERARCHY}),
            lambda: pycanon.t_closeness(df, qis, sa),  # no hierarchical distance in pycanon: its equal distance
            lambda ours, ref: ours <= ref + 1e-12,
        ),
    ]
    for name, ours, reference, same in cases:
        ours_s, ours_value = timed(ours, repeats)
        # pycanon's time grows linearly with rows (one pass per class, classes
        # bounded by the quasi-identifier domain here); extrapolate from the last size.
        previous = estimates.get(name)
        projected = previous[1] * size / previous[0] if previous else 0.0
        ref_name = "pycanon (equal distance)" if "hierarchical" in name else "pycanon"
        if skip_reference or projected > budget:
            why = "(not requested)" if skip_reference else f"(est. {projected:,.0f} s > budget)"
            table.add(size, name, ours_s, fmt(ours_value), ref_name, None, why, "-")
            continue
        # the reference runs once: at these speeds its run-to-run spread is irrelevant
        ref_s, ref_value = timed(reference, 1)
        estimates[name] = (size, ref_s)
        agree = same(ours_value, ref_value) if same else ours_value == ref_value
        table.add(size, name, ours_s, fmt(ours_value), ref_name, ref_s, fmt(ref_value), "yes" if agree else "NO")


def run_reidentification(table: Table, df: pd.DataFrame, size: int, repeats: int):
    ours_s, risk = timed(lambda: metrics.reidentification_risk(df, QUASI_IDENTIFIERS), repeats)
    # no reference library computes it on a DataFrame; a plain pandas groupby checks the value
    ref_s, sizes = timed(lambda: df.groupby(QUASI_IDENTIFIERS).size(), repeats)
    expected_highest = 1 / sizes.min()
    agree = "yes" if math.isclose(risk.prosecutor_highest_risk, expected_highest) else "NO"
    value = f"max {risk.prosecutor_highest_risk:.3g}, avg {risk.prosecutor_average_risk:.3g}"
    table.add(size, "re-identification risk", ours_s, value, "pandas groupby", ref_s, f"max {expected_highest:.3g}", agree)


def run_risks(table: Table, df: pd.DataFrame, size: int, n_attacks: int, repeats: int, with_reference: bool, budget: float, estimates: dict):
    from anonymeter.evaluators import InferenceEvaluator, LinkabilityEvaluator, SinglingOutEvaluator

    half = len(df) // 2
    original = df.iloc[:half].reset_index(drop=True)
    control = df.iloc[half:].reset_index(drop=True)
    # a lightly perturbed release: ages jittered by up to two years, weights by 1 kg
    rng = np.random.default_rng(1)
    release = original.assign(
        age=original["age"] + rng.integers(-2, 3, half), weight=(original["weight"] + rng.normal(0, 1, half)).round(1)
    )
    columns = ["age", "sex", "postcode", "diagnosis", "length_of_stay", "weight"]
    original, release, control = original[columns], release[columns], control[columns]
    link_aux = (["age", "sex", "weight"], ["postcode", "diagnosis", "length_of_stay"])
    inference_aux = ["age", "sex", "postcode", "weight"]

    def anonymeter_singling():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return SinglingOutEvaluator(original, release, n_attacks=n_attacks, n_cols=3, control=control, seed=0).evaluate(mode="multivariate").results()

    def anonymeter_linkability():
        np.random.seed(0)
        return LinkabilityEvaluator(original, release, aux_cols=link_aux, n_attacks=n_attacks, control=control).evaluate(n_jobs=-1).results()

    def anonymeter_inference():
        np.random.seed(0)
        return InferenceEvaluator(original, release, aux_cols=inference_aux, secret="diagnosis", n_attacks=n_attacks, control=control).evaluate(n_jobs=-1).results()

    cases = [
        ("singling-out risk", lambda: metrics.singling_out_risk(original, release, control, n_attacks=n_attacks, n_cols=3, seed=0), anonymeter_singling),
        ("linkability risk", lambda: metrics.linkability_risk(original, release, control, aux_cols=link_aux, n_attacks=n_attacks, seed=0), anonymeter_linkability),
        ("inference risk", lambda: metrics.inference_risk(original, release, control, aux_cols=inference_aux, secret="diagnosis", n_attacks=n_attacks, seed=0), anonymeter_inference),
    ]
    if with_reference:
        # numba compiles anonymeter's distance kernels on first use; keep that out of the timings
        warm = original.iloc[:50]
        LinkabilityEvaluator(warm, warm, aux_cols=link_aux, n_attacks=5, control=warm).evaluate(n_jobs=1)
    for name, ours, reference in cases:
        ours_s, risk = timed(ours, repeats)
        value = f"{risk.value:.3f} [{risk.ci[0]:.3f}, {risk.ci[1]:.3f}]"
        previous = estimates.get(name)
        projected = previous[1] * size / previous[0] if previous else 0.0
        if not with_reference or projected > budget:
            why = f"(est. {projected:,.0f} s > budget)" if with_reference else "(not requested)"
            table.add(size, f"{name} ({n_attacks} attacks)", ours_s, value, "anonymeter", None, why, "-")
            continue
        ref_s, results = timed(reference, 1)
        estimates[name] = (size, ref_s)
        ref_risk = results.risk()
        agree = risk.ci[0] <= ref_risk.ci[1] and ref_risk.ci[0] <= risk.ci[1]
        ref_value = f"{ref_risk.value:.3f} [{ref_risk.ci[0]:.3f}, {ref_risk.ci[1]:.3f}]"
        table.add(size, f"{name} ({n_attacks} attacks)", ours_s, value, "anonymeter", ref_s, ref_value, "yes (CIs overlap)" if agree else "NO")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--n-attacks", type=int, default=1000)
    parser.add_argument("--reference-budget", type=float, default=180.0, help="skip a reference whose time would exceed this (s)")
    parser.add_argument("--no-risks", action="store_true", help="skip the anonymeter-style risks")
    parser.add_argument("--no-pycanon", action="store_true", help="time pycanon nowhere (it takes minutes at 10^4)")
    parser.add_argument("--risk-max-size", type=int, default=100_000, help="largest size at which to run the attack-based risks")
    args = parser.parse_args()

    table = Table()
    estimates: dict = {}
    for size in sorted(args.sizes):
        df = patients(size, seed=size)
        repeats = 5 if size <= 10_000 else 3 if size <= 100_000 else 1
        run_syntactic(table, df, size, repeats, args.reference_budget, estimates, args.no_pycanon)
        run_reidentification(table, df, size, repeats)
        if not args.no_risks and size <= args.risk_max_size:
            run_risks(table, df, size, args.n_attacks, 3 if size <= 10_000 else 1, size <= 10_000, args.reference_budget, estimates)
    table.print()


if __name__ == "__main__":
    main()
