"""Result types and the risk normalisation shared by the three Article 29 risks."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from .._columns import check_columns
from ..intervals import _z, wilson_center, wilson_interval


@dataclass(frozen=True)
class SuccessRate:
    """Success rate of one attack: ``value = n_successes / n_attacks`` with its
    Wilson score interval ``ci``. ``n_successes`` can be fractional for the
    size-corrected singling-out control rate. With ``n_attacks == 0`` the value
    is NaN and the interval (0, 1)."""

    value: float
    ci: tuple[float, float]
    n_attacks: int
    n_successes: float

    @classmethod
    def from_counts(cls, n_successes: float, n_attacks: int, confidence: float) -> "SuccessRate":
        value = n_successes / n_attacks if n_attacks else float("nan")
        return cls(value, wilson_interval(n_successes, n_attacks, confidence), n_attacks, n_successes)


@dataclass(frozen=True)
class PrivacyRisk:
    """A singling-out, linkability or inference risk.

    ``value`` and ``ci`` are the risk normalised as anonymeter does (see
    :func:`normalised_risk`); ``attack_rate`` is the attack's success on the
    records behind the release, ``control_rate`` the same attack's success on
    control records that were not, ``baseline_rate`` a random-guess attacker's
    success. ``n_attacks``/``n_successes`` are those of the main attack;
    ``warnings`` says when the estimate deserves caution.
    """

    value: float
    ci: tuple[float, float]
    attack_rate: SuccessRate
    control_rate: SuccessRate
    baseline_rate: SuccessRate
    n_attacks: int
    n_successes: float
    warnings: list[str] = field(default_factory=list)


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
    the risk is reported as 0 with the uninformative interval (0, 1).
    """
    if attack.n_attacks == 0 or control.n_attacks == 0:
        return 0.0, (0.0, 1.0)
    z = _z(confidence)

    def centre_and_error(rate: SuccessRate) -> tuple[float, float]:
        n, x = rate.n_attacks, rate.n_successes
        centre = wilson_center(x, n, confidence)
        error = (z / (n + z * z)) * math.sqrt(x * (n - x) / n + 0.25 * z * z)
        return centre, error

    a, e_a = centre_and_error(attack)
    c, e_c = centre_and_error(control)
    residual = (a - c) / (1.0 - c)
    error = math.sqrt((e_a / (1.0 - c)) ** 2 + (e_c * (a - 1.0) / (1.0 - c) ** 2) ** 2)

    def clip(v: float) -> float:
        return min(max(v, 0.0), 1.0)

    return clip(residual), (clip(residual - error), clip(residual + error))


def build_risk(
    attack: SuccessRate, control: SuccessRate, baseline: SuccessRate, confidence: float, warnings: list[str]
) -> PrivacyRisk:
    warnings = list(warnings)
    if attack.n_attacks and baseline.n_attacks and baseline.value >= attack.value:
        warnings.append(
            f"the attack succeeds no more often than random guessing (attack {attack.value:.3f}, "
            f"baseline {baseline.value:.3f}): the attack is too weak for its risk to mean much"
        )
    value, ci = normalised_risk(attack, control, confidence)
    return PrivacyRisk(
        value=value,
        ci=ci,
        attack_rate=attack,
        control_rate=control,
        baseline_rate=baseline,
        n_attacks=attack.n_attacks,
        n_successes=attack.n_successes,
        warnings=warnings,
    )


def check_tables(original: pd.DataFrame, release: pd.DataFrame, control: pd.DataFrame, columns) -> None:
    for name, table in (("original", original), ("release", release), ("control", control)):
        check_columns(table, columns, f"{name} table")
        if len(table) == 0:
            raise ValueError(f"the {name} table is empty")


def target_count(requested: int, available: int, what: str, warnings: list[str]) -> int:
    if requested < 1:
        raise ValueError(f"n_attacks must be positive, got {requested}")
    if available < requested:
        warnings.append(
            f"only {available} {what} records to attack, fewer than the {requested} requested; "
            f"{available} attacks were run"
        )
        return available
    return requested
