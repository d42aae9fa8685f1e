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
