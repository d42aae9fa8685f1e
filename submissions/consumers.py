"""Websocket for one submission's status: only its team (and organizers) may listen, each hearing
what :mod:`submissions.disclosure` lets them see."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.http import Http404

from . import selectors
from .events import submission_group, submission_payload


@database_sync_to_async
def _payload(submission_id: int, user):
    if user is None or not user.is_authenticated:
        return None
    try:
        submission, organizer = selectors.submission_get(submission_id=submission_id, user=user)
    except Http404:
        return None
    return submission_payload(submission, organizer=organizer), organizer


class SubmissionStatusConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.submission_id = int(self.scope["url_route"]["kwargs"]["submission_id"])
        found = await _payload(self.submission_id, self.scope.get("user"))
        if found is None:
            await self.close(code=4404)
            return
        payload, organizer = found
        self.group = submission_group(self.submission_id, organizer=organizer)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "status", "submission": payload})

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def submission_status(self, event):
        await self.send_json({"type": "status", "submission": event["submission"]})
