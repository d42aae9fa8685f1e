"""Realtime pushes for submission status, fired only after the change is committed.

Services call these in the same function that changes the state (see DESIGN.md); nothing
else talks to the channel layer for submissions.
"""

from __future__ import annotations

import logging
from functools import partial

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from config.formats import iso

from . import disclosure

log = logging.getLogger(__name__)


def submission_group(submission_id: int, *, organizer: bool = False) -> str:
    """The watchers of one submission: its team's group, and its organizers' (who get the full detail)."""
    return f"submission-{submission_id}" + ("-organizers" if organizer else "")


def submission_payload(submission, *, organizer: bool) -> dict:
    """A status event as :func:`submissions.disclosure.submission_view` lets the watcher see it."""
    view = disclosure.submission_view(
        # a fresh read: a prefetched list of runs may predate the run that just ended
        submission=submission, saw_hidden_data=submission.runs.filter(saw_hidden_data=True).exists(), organizer=organizer,
    )
    payload = {"id": submission.pk, "status": submission.status, "failure_class": view["failure_class"],
               "rule": view["rule"], "error": view["error"],
               "created": iso(view["created"]), "started": iso(view["started"]), "finished": iso(view["finished"])}
    if organizer:
        payload["error_detail"] = view["error_detail"]
    return payload


def _send(group: str, message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:  # a push is best effort: the state is committed and readable over the API
        log.exception("push to %s failed", group)


def submission_changed(submission) -> None:
    for organizer in (False, True):
        payload = submission_payload(submission, organizer=organizer)
        group = submission_group(submission.pk, organizer=organizer)
        # Best effort after the commit (robust): a push that fails never fails the status change.
        transaction.on_commit(partial(_send, group, {"type": "submission.status", "submission": payload}), robust=True)


def leaderboard_changed(phase) -> None:
    from competitions.leaderboards import push

    push.leaderboard_changed(phase)
