"""Confidence intervals for binomial proportions.

Attack success rates are Bernoulli proportions: ``successes`` out of ``n`` trials.
Two intervals are used in this package:

* the Wilson score interval (Wilson 1927), which anonymeter uses for the
  singling-out, linkability and inference success rates;
* the Clopper–Pearson "exact" interval (Clopper & Pearson 1934), which the
  empirical differential-privacy audits (Jagielski et al. 2020; the MICO
  competition; TAPAS) use for false-positive and false-negative rates, because it
  never under-covers.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["clopper_pearson_interval", "wilson_interval", "wilson_center"]


def z_score(confidence: float) -> float:
    # confidence 0 is legal: a zero-width interval at the point estimate (z = 0),
    # as anonymeter allows; 1 would need an infinite z
    if not 0.0 <= confidence < 1.0:
        raise ValueError(f"confidence must lie in [0, 1), got {confidence}")
    return float(stats.norm.ppf(0.5 * (1.0 + confidence)))


def wilson_center(successes: float, n: int, confidence: float = 0.95) -> float:
    """Centre of the Wilson score interval, ``(x + z²/2) / (n + z²)``.

    anonymeter reports this (not ``x / n``) as its point estimate of a success
    rate and builds its normalised risk from it; :mod:`.risks` does the same so
    that its risks are the ones anonymeter would compute from the same counts.
    """
    if n <= 0:
        return float("nan")
    z2 = z_score(confidence) ** 2
    return (successes + 0.5 * z2) / (n + z2)


def wilson_interval(successes: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion.

    Definition (Wilson 1927, "Probable inference, the law of succession, and
    statistical inference", JASA 22:209–212)::

        centre = (x + z²/2) / (n + z²)
        half   = z / (n + z²) · sqrt(x (n − x) / n + z² / 4)
        [max(0, centre − half), min(1, centre + half)]

    with ``z`` the two-sided standard-normal quantile for ``confidence``. This is
    the interval ``anonymeter.stats.confidence.success_rate`` computes.
    ``successes`` may be fractional (anonymeter's size-corrected singling-out
    control count). With ``n == 0`` nothing is known and ``(0, 1)`` is returned.
    """
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    if n == 0:
        return (0.0, 1.0)
    z = z_score(confidence)
    z2 = z * z
    denominator = n + z2
    centre = (successes + 0.5 * z2) / denominator
    half = (z / denominator) * np.sqrt(successes * (n - successes) / n + 0.25 * z2)
    return (float(max(0.0, centre - half)), float(min(1.0, centre + half)))


def clopper_pearson_interval(successes, n, confidence: float = 0.95):
    """Clopper–Pearson ("exact") two-sided interval for a binomial proportion.

    Definition (Clopper & Pearson 1934, Biometrika 26:404–413), with
    ``α = 1 − confidence``::

        lower = Beta⁻¹(α/2;     x,     n − x + 1)   (0 when x = 0)
        upper = Beta⁻¹(1 − α/2; x + 1, n − x)       (1 when x = n)

    ``successes`` and ``n`` may be scalars or arrays of the same shape (the
    membership-inference ε bound evaluates it at every ROC threshold at once).
    Returns ``(lower, upper)`` as floats for scalar input, arrays otherwise.
    """
    alpha = 1.0 - confidence
    if not 0.0 < alpha <= 1.0:
        raise ValueError(f"confidence must lie in [0, 1), got {confidence}")
    x = np.asarray(successes, dtype=float)
    total = np.asarray(n, dtype=float)
    if np.any(total <= 0) or np.any(x < 0) or np.any(x > total):
        raise ValueError("need 0 <= successes <= n and n > 0")
    with np.errstate(invalid="ignore", divide="ignore"):
        lower = np.where(x > 0, stats.beta.ppf(alpha / 2, x, total - x + 1), 0.0)
        upper = np.where(x < total, stats.beta.ppf(1 - alpha / 2, x + 1, total - x), 1.0)
    if lower.ndim == 0:
        return (float(lower), float(upper))
    return (lower, upper)
