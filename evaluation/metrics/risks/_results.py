"""Result types and the risk normalisation shared by the three Article 29 risks."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from .._columns import apply_column_types, check_columns
from ..intervals import wilson_center, wilson_interval, z_score

RATE_ESTIMATES = ("observed", "wilson_center")


@dataclass(frozen=True)
class SuccessRate:
    """Success rate of one attack: ``value = n_successes / n_attacks`` (or, with
    ``rate_estimate="wilson_center"``, the Wilson centre ``(x + z²/2)/(n + z²)``
    that anonymeter reports) with its Wilson score interval ``ci``.
    ``n_successes`` can be fractional for the size-corrected singling-out
    control rate. With ``n_attacks == 0`` the value is NaN and the interval (0, 1)."""

    value: float
    ci: tuple[float, float]
    n_attacks: int
    n_successes: float

    @classmethod
    def from_counts(
        cls, n_successes: float, n_attacks: int, confidence: float, estimate: str = "observed"
    ) -> "SuccessRate":
        if estimate not in RATE_ESTIMATES:
            raise ValueError(f"rate_estimate must be one of {RATE_ESTIMATES}, got {estimate!r}")
        if not n_attacks:
            value = float("nan")
        elif estimate == "observed":
            value = n_successes / n_attacks
        else:
            value = wilson_center(n_successes, n_attacks, confidence)
        return cls(value, wilson_interval(n_successes, n_attacks, confidence), n_attacks, n_successes)


@dataclass(frozen=True)
class PrivacyRisk:
    """A singling-out, linkability or inference risk.

    ``value`` and ``ci`` are the risk normalised as anonymeter does (see
    :func:`normalised_risk`); ``attack_rate`` is the attack's success on the
    records behind the release, ``control_rate`` the same attack's success on
    control records that were not (None when no control table was given: the
    risk is then the attack rate's Wilson centre and interval, as anonymeter
    reports it), ``baseline_rate`` a random-guess attacker's success.
    ``n_attacks``/``n_successes`` are those of the main attack; ``warnings``
    says when the estimate deserves caution.

    When the risk is undefined (the control attack succeeded on every control
    record, so nothing is left to normalise by), ``value`` and ``ci`` are NaN and
    ``reason`` says why; a risk function never raises on a legal input.

    ``groups`` (inference risk with ``per_group=True``): the risk among the
    targets of each secret value, keyed by the value. ``queries`` (singling
    out): the attack's queries that singled out a record of the original table,
    readable and in ``DataFrame.query`` syntax — derived from hidden data where
    the original is hidden.
    """

    value: float
    ci: tuple[float, float]
    attack_rate: SuccessRate
    control_rate: SuccessRate | None
    baseline_rate: SuccessRate
    n_attacks: int
    n_successes: float
    warnings: list[str] = field(default_factory=list)
    reason: str | None = None
    groups: dict = field(default_factory=dict)
    queries: tuple[str, ...] = ()


def normalised_risk(
    attack: SuccessRate, control: SuccessRate, confidence: float
) -> tuple[float, tuple[float, float]]:
    """Risk ``(a − c) / (1 − c)`` with its confidence interval, exactly as
    anonymeter 1.x computes it (``anonymeter.stats.confidence.residual_success``).

    ``a`` and ``c`` are the Wilson centres (``(x + z²/2)/(n + z²)``) of the
    attack and control rates and the error is propagated to first order::

        err = sqrt( (e_a / (1 − c))² + (e_c · (a − 1) / (1 − c)²)² )

    with ``e_a``, ``e_c`` the Wilson half-widths; the value and the interval
    ``value ± err`` are then clipped to [0, 1]. The normalisation (Giomi et al.
    2023, "A unified framework for quantifying privacy risk in synthetic data",
    PoPETs) measures how much better the attack does on the records behind the
    release than on records it never saw — the part of its success that the
    release, not the population, explains. When a rate has no attacks behind it
    the risk is reported as 0 with the uninformative interval (0, 1). When the
    control's centre is 1 (every control attack succeeded, at a confidence
    low enough for the interval to shrink onto it) the risk is undefined: NaN.
    """
    if attack.n_attacks == 0 or control.n_attacks == 0:
        return 0.0, (0.0, 1.0)
    z = z_score(confidence)

    def centre_and_error(rate: SuccessRate) -> tuple[float, float]:
        n, x = rate.n_attacks, rate.n_successes
        centre = wilson_center(x, n, confidence)
        error = (z / (n + z * z)) * math.sqrt(x * (n - x) / n + 0.25 * z * z)
        return centre, error

    a, e_a = centre_and_error(attack)
    c, e_c = centre_and_error(control)
    if c >= 1.0:
        return float("nan"), (float("nan"), float("nan"))
    residual = (a - c) / (1.0 - c)
    error = math.sqrt((e_a / (1.0 - c)) ** 2 + (e_c * (a - 1.0) / (1.0 - c) ** 2) ** 2)

    def clip(v: float) -> float:
        return min(max(v, 0.0), 1.0)

    return clip(residual), (clip(residual - error), clip(residual + error))


def attack_rate_risk(attack: SuccessRate, confidence: float) -> tuple[float, tuple[float, float]]:
    """The risk without a control table, as anonymeter reports it: the attack
    rate's Wilson centre with ``centre ± half-width``, clipped to [0, 1]."""
    if attack.n_attacks == 0:
        return 0.0, (0.0, 1.0)
    z = z_score(confidence)
    n, x = attack.n_attacks, attack.n_successes
    centre = wilson_center(x, n, confidence)
    error = (z / (n + z * z)) * math.sqrt(x * (n - x) / n + 0.25 * z * z)

    def clip(v: float) -> float:
        return min(max(v, 0.0), 1.0)

    return clip(centre), (clip(centre - error), clip(centre + error))


def build_risk(
    attack: SuccessRate,
    control: SuccessRate | None,
    baseline: SuccessRate,
    confidence: float,
    warnings: list[str],
    **extra,
) -> PrivacyRisk:
    warnings = list(warnings)
    if attack.n_attacks and baseline.n_attacks and baseline.n_successes / baseline.n_attacks >= attack.n_successes / attack.n_attacks:
        warnings.append(
            f"the attack succeeds no more often than random guessing (attack {attack.value:.3f}, "
            f"baseline {baseline.value:.3f}): the attack is too weak for its risk to mean much"
        )
    reason = None
    if control is None:
        value, ci = attack_rate_risk(attack, confidence)
    else:
        value, ci = normalised_risk(attack, control, confidence)
        if math.isnan(value):
            reason = (
                f"the attack succeeded on all {control.n_attacks} control records: with no unsuccessful "
                "control attack left, the risk normalised by the control has no value"
            )
    return PrivacyRisk(
        value=value,
        ci=ci,
        attack_rate=attack,
        control_rate=control,
        baseline_rate=baseline,
        n_attacks=attack.n_attacks,
        n_successes=attack.n_successes,
        warnings=warnings,
        reason=reason,
        **extra,
    )


def check_tables(original: pd.DataFrame, release: pd.DataFrame, control: pd.DataFrame | None, columns) -> None:
    for name, table in (("original", original), ("release", release), ("control", control)):
        if table is None:
            continue
        check_columns(table, columns, f"{name} table")
        if len(table) == 0:
            raise ValueError(f"the {name} table is empty")


def typed_tables(tables, column_types):
    """The tables with ``column_types`` applied (None stays None)."""
    names = ("original", "release", "control")
    return [None if t is None else apply_column_types(t, column_types, f"{n} table") for t, n in zip(tables, names, strict=False)]  # without a control, two tables


def target_count(requested: int | None, available: int, what: str, warnings: list[str]) -> int:
    """Number of targets to attack: ``requested``, every record when None, and
    at most the records there are (with a warning)."""
    if requested is None:
        return available
    if requested < 1:
        raise ValueError(f"n_attacks must be positive, got {requested}")
    if available < requested:
        warnings.append(
            f"only {available} {what} records to attack, fewer than the {requested} requested; "
            f"{available} attacks were run"
        )
        return available
    return requested
