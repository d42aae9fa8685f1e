"""How values leave the project: times as ISO 8601 text, numbers only when finite.

A leaf module (the standard library only), so every layer may use it: services, selectors,
events and the evaluation pipeline alike.
"""

from __future__ import annotations

import math


def iso(moment) -> str | None:
    """``moment`` as ISO 8601 text with ``Z`` for UTC; ``None`` for no time."""
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def finite(value) -> float | None:
    """``value`` as a float, or ``None`` where it is missing, NaN or infinite (JSON has no such numbers)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


# What a score tells anyone but the organizers: no more of the stored float than the metric's
# precision. A release or a prediction file scored against hidden data steers every bit of its
# score, so the digits past the precision would be a channel out of the hidden data
# (docs/security.md, "Channels that remain").
SHOWN_DIGITS = 4


def rounded(value, digits: int | None = SHOWN_DIGITS) -> float | None:
    """:func:`finite` ``value`` rounded to ``digits`` decimals (``None`` digits: unrounded)."""
    value = finite(value)
    return value if value is None or digits is None else round(value, digits)


def rounded_all(data, digits: int = SHOWN_DIGITS):
    """``data`` (dicts, lists, numbers, text) with every float rounded to ``digits`` decimals."""
    if isinstance(data, float):
        return rounded(data, digits)
    if isinstance(data, dict):
        return {k: rounded_all(v, digits) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [rounded_all(v, digits) for v in data]
    return data
