"""Realtime pushes for submission status, fired only after the change is committed.

Services call these in the same function that changes the state (see DESIGN.md); nothing
else talks to the channel layer for submissions.
"""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from config.formats import iso

log = logging.getLogger(__name__)


def submission_group(submission_id: int) -> str:
    return f"submission-{submission_id}"


def submission_payload(submission) -> dict:
    return {
        "id": submission.pk,
        "status": submission.status,
        "failure_class": submission.failure_class or None,
        "error": submission.error or None,
        "created": iso(submission.created),
        "started": iso(submission.started),
        "finished": iso(submission.finished),
    }


def _send(group: str, message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:  # a push is best effort: the state is committed and readable over the API
        log.exception("push to %s failed", group)


def submission_changed(submission) -> None:
    payload = submission_payload(submission)
    # Best effort after the commit (robust): a push that fails never fails the status change.
    transaction.on_commit(lambda: _send(submission_group(submission.pk), {"type": "submission.status", "submission": payload}),
                          robust=True)


def leaderboard_changed(phase) -> None:
    from competitions.leaderboards import push

    push.leaderboard_changed(phase)
