from __future__ import annotations

from django.db.models import QuerySet

from .models import AuditEvent


def audit_events_of_competition(*, slug: str, limit: int = 500) -> QuerySet[AuditEvent]:
    """Newest first. Who may read them is the caller's question (organizers and staff)."""
    return AuditEvent.objects.filter(competition_slug=slug).order_by("-created", "-id")[:limit]
