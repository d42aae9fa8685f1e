"""Template helpers for the pages: Markdown, score and percentage formatting, byte sizes."""

from __future__ import annotations

from django import template
from django.utils.safestring import mark_safe

from competitions.markdown import render_markdown

register = template.Library()


@register.filter
def markdown(source: str) -> str:
    return mark_safe(render_markdown(source))  # render_markdown escapes everything it does not build


@register.filter
def score(entry, precision=4) -> str:
    """A score cell's value at the metric's precision, or an em dash when there is none."""
    value = entry.get("value") if isinstance(entry, dict) else entry
    if value is None:
        return "—"
    return f"{value:.{int(precision)}f}"


@register.filter
def interval(entry, precision=4) -> str:
    if not isinstance(entry, dict) or entry.get("ci_low") is None or entry.get("ci_high") is None:
        return ""
    p = int(precision)
    return f"[{entry['ci_low']:.{p}f}, {entry['ci_high']:.{p}f}]"


@register.filter
def get(mapping, key):
    return mapping.get(key) if isinstance(mapping, dict) else None


@register.filter
def filesize(size) -> str:
    if size is None:
        return ""
    size = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


@register.filter
def percent(value, digits=1) -> str:
    """A share in [0, 1] as a percentage; a risk below zero (an attack doing worse than its control) reads as 0%."""
    if value is None:
        return "—"
    return f"{100 * max(0.0, float(value)):.{int(digits)}f}%"
