from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from competitions.views import organizer_context

from .selectors import audit_events_of_competition


@login_required
def competition_audit(request, slug: str):
    context = organizer_context(request, slug)
    context.update(tab="organize", events=audit_events_of_competition(slug=context["competition"].slug))
    return render(request, "organize/audit.html", context)
