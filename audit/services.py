"""The one write of the audit log. Services that import, replace, edit, reveal, re-run, cancel
or export call it themselves (no signals), so each record says what the service did."""

from __future__ import annotations

from .context import origin_get
from .models import AuditEvent


def audit_record(*, action: str, actor=None, competition_slug: str = "", target: str = "", detail: dict | None = None) -> AuditEvent:
    """Append one event, with the request id and client address of the current request if any."""
    origin = origin_get()
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    return AuditEvent.objects.create(
        action=action,
        actor_id=actor.pk if authenticated else None,
        actor_username=actor.get_username() if authenticated else "",
        competition_slug=competition_slug,
        target=target[:120],
        detail=detail or {},
        request_id=origin.request_id,
        ip=origin.ip,
    )


def audit_denied(*, actor, competition_slug: str = "", target: str = "", reason: str = "") -> AuditEvent | None:
    """A failed permission check of a logged-in user. Anonymous refusals are not recorded: they
    name no one and would let anyone fill the log."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None
    return audit_record(action=AuditEvent.DENIED, actor=actor, competition_slug=competition_slug, target=target,
                        detail={"reason": reason[:500]} if reason else {})
