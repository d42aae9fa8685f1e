"""What a viewer may see of a submission and of its runs: the one place that decides it.

A run that saw hidden data (a defense's evaluation run, an arena attack's pair runs) could
hide records in anything it controls: its logs, its exit status, how long it ran, how much
memory it took, on which lines its output broke a rule and how many lines did. So its team
learns its failure class and the name of the rule its output broke, nothing else; the
organizers see everything. A run on the public sample (a check run) shows all of it to its
team. See docs/security.md, "What a team sees of a run on hidden data", for the table and
the channels that remain by nature.

The pipeline stores the team's text apart from the organizers' (``Submission.error`` and
``Submission.error_detail``; ``Run.rule`` and ``Run.message``), so a view that shows the
wrong field still shows nothing hidden; this module chooses which fields a viewer gets, and
the API, the pages, the websocket events and (through the API) the CLI all ask it.

It reads attributes of the objects it is given and writes nothing; whether a viewer may read a
run's detail is asked of :mod:`competitions.access`, where every access rule lives.
"""

from __future__ import annotations

from typing import Any

from competitions import access
from evaluation.task_types.base import RULES

# A run's fields that only organizers see when the run saw hidden data.
RUN_DETAIL_FIELDS = (
    "started", "finished", "wall_seconds", "peak_memory_bytes", "exit_code", "message", "stdout", "stderr",
    "logs_truncated",
)

# What the team of a run on hidden data is told, by failure class: fixed texts, nothing measured.
_TEAM_TEXT = {
    "timeout": "The run went past the phase's time limit.",
    "out_of_memory": "The run went past the phase's memory limit.",
    "exit_code": "The program ended with an error.",
    "invalid_output": "The output breaks the rule {rule}: {description}.",
    "infrastructure": "The platform could not evaluate this submission (an infrastructure fault). "
                      "It does not count against your quota; please submit it again.",
    "cancelled": "The run was cancelled.",
}
_WITHHELD = (" This run saw hidden data: its logs, exit status, times, memory and the place of the problem "
             "are shown to the organizers only.")


def team_error(*, failure_class: str, rule: str = "") -> str:
    """The team's text for a failure of a run on hidden data: its class and its rule's name, nothing more."""
    if failure_class == "invalid_output":
        rule = rule if rule in RULES else "output-format"
        text = _TEAM_TEXT["invalid_output"].format(rule=rule, description=RULES[rule])
    else:
        text = _TEAM_TEXT.get(failure_class, "The run failed.")
    return text if failure_class in ("infrastructure", "cancelled") else text + _WITHHELD


def run_detail_visible(*, run, organizer: bool) -> bool:
    """Whether ``run``'s logs, exit status, times, memory and message reach this viewer (the rule
    lives with every other access rule, in :mod:`competitions.access`)."""
    return access.may_read_run_logs(run=run, organizer=organizer)


def run_view(*, run, organizer: bool) -> dict[str, Any]:
    """The fields of ``run`` this viewer gets; withheld ones are ``None``."""
    visible = run_detail_visible(run=run, organizer=organizer)
    view: dict[str, Any] = {
        "id": run.pk,
        "purpose": run.purpose,
        "target": run.target_id,
        "backend": run.backend,
        "saw_hidden_data": run.saw_hidden_data,
        "failure_class": run.failure_class or None,
        "rule": run.rule or None,
        "detail_visible": visible,
    }
    for name in RUN_DETAIL_FIELDS:
        view[name] = getattr(run, name) if visible else None
    return view


def submission_saw_hidden_data(*, runs) -> bool:
    """Whether any run of a submission saw hidden data (then its end time would time that run)."""
    return any(run.saw_hidden_data for run in runs)


def submission_view(*, submission, saw_hidden_data: bool, organizer: bool) -> dict[str, Any]:
    """The failure and timing fields of ``submission`` this viewer gets.

    ``error`` is the team's text; ``error_detail`` (organizers only) the full one. The end
    time of a submission whose runs saw hidden data would time them: the team watches the
    status change instead (its resolution is the team's polling, see docs/security.md).
    """
    return {
        "failure_class": submission.failure_class or None,
        "rule": submission.rule or None,
        "error": submission.error or None,
        "error_detail": (submission.error_detail or submission.error or None) if organizer else None,
        "created": submission.created,
        "started": submission.started,
        "finished": submission.finished if organizer or not saw_hidden_data else None,
    }


def feed_time(moment):
    """A submission's end time as a feed shown to everyone gives it: to the minute, no finer.

    The exact end of a run on hidden data would time that run; to the minute it says no
    more than watching the status change does (docs/security.md).
    """
    return moment.replace(second=0, microsecond=0) if moment else None
