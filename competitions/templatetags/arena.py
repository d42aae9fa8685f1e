"""Template helpers for the pages: Markdown, score and percentage formatting, byte sizes, explained terms."""

from __future__ import annotations

import itertools

from django import template
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe

from competitions import selectors
from competitions.leaderboards import explain
from competitions.markdown import render_markdown
from evaluation.charts import attack_roc_curves

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


# --------------------------------------------------------------------------- explained terms

_tip_ids = itertools.count(1)


def _term_html(label: str, text: str, slug: str | None) -> str:
    """A label that explains itself on hover and on keyboard focus (static/js/terms.js shows the tip)."""
    if not text:
        return escape(label)
    tip = f"tip-{next(_tip_ids)}"
    more = f' <a href="/glossary/#{escape(slug)}">Glossary</a>' if slug else ""
    return format_html(
        '<span class="term"><span class="term-label" tabindex="0" aria-describedby="{}">{}</span>'
        '<span class="tip" role="tooltip" id="{}">{}{}</span></span>',
        tip, label, tip, text, mark_safe(more),
    )


@register.simple_tag
def metric_term(metric, task=None):
    """A metric's label (a board's metric dict or a Metric) with its one-sentence explanation."""
    get_ = metric.get if isinstance(metric, dict) else lambda k, d=None: getattr(metric, k, d)
    key, label = get_("key"), get_("label") or get_("key")
    task = task or get_("task")
    entry = explain.glossary_entry(key=key, task=task)
    text = entry["text"] if entry else (get_("description") or "")
    return _term_html(label, text, entry["slug"] if entry else None)


@register.simple_tag
def term(slug, label=None):
    """A glossary term by its slug, shown as ``label`` (the term's own name by default)."""
    entry = explain.glossary_entry(key=slug)
    if entry is None:
        raise template.TemplateSyntaxError(f"No glossary entry {slug!r}.")
    return _term_html(label or entry["term"], entry["text"], entry["slug"])


@register.filter
def limits_words(limits) -> str:
    """A phase's per-run limits in words."""
    return explain.limits_in_words(limits)


@register.simple_tag
def organizes_anything(user) -> bool:
    """Whether the navigation offers the organizers' area: users who may create or already organize competitions."""
    if not getattr(user, "is_authenticated", False):
        return False
    return selectors.can_create_competitions(user=user) or selectors.competitions_organized(user=user).exists()


@register.simple_tag
def metrics_json(competition) -> list[dict]:
    """Every metric of a competition as the pages' scripts need them: label, precision, primary first per task."""
    metrics = sorted(competition.metrics.all(), key=lambda m: (m.task, not m.primary, m.order, m.pk))
    return [{"task": m.task, "key": m.key, "label": m.label, "precision": m.precision, "primary": m.primary,
             "direction": m.direction} for m in metrics]


@register.filter
def index(sequence, position):
    """``sequence[position]``, or None past its end."""
    try:
        return sequence[int(position)]
    except (IndexError, TypeError, ValueError, KeyError):
        return None


@register.simple_tag
def attack_roc(submission) -> list[dict]:
    """The ROC curves of a finished attack on the public split (its own, or one per defense in an arena)."""
    if submission.role != "attack" or submission.status not in ("finished", "scoring"):
        return []
    return attack_roc_curves(attack=submission)


@register.simple_tag
def metric_explanation(metric) -> str:
    """A Metric's one-sentence explanation, with the bundle's own description after it where it adds one."""
    text = explain.metric_explanation(key=metric.key, task=metric.task)
    description = (metric.description or "").strip()
    if text and description and description not in text:
        return f"{text} ({description})"
    return text or description
