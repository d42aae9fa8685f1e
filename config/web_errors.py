"""Error pages. A refused page is recorded in the audit log; no error page ever shows a trace."""

from __future__ import annotations

from django.views import defaults

from audit.services import audit_denied

from .api_errors import competition_slug_of


def permission_denied(request, exception):
    match = getattr(request, "resolver_match", None)
    audit_denied(actor=getattr(request, "user", None), competition_slug=competition_slug_of(match.kwargs if match else {}),
                 target=f"{request.method} {request.path}", reason=str(exception))
    return defaults.permission_denied(request, exception)
