"""The identifiability report as a page: the same selector and access rules as
``GET /api/v1/submissions/{id}/report/`` (:mod:`evaluation.api`), worded for a doctor or a
data-protection officer."""

from __future__ import annotations

from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse

from competitions import access
from competitions.views import competition_context
from submissions.models import Score
from submissions.services import submission_hidden_detail_read

from . import charts, identifiability, selectors


def submission_report(request, submission_id: int):
    """A finished defense's report, readable as ``identifiability.report_defense_get`` says.

    ``?split=private`` shows to the defense's team once the phase's private leaderboard is
    visible (organizers: always); otherwise the page says why with 403 and shows no value.
    """
    defense, reader = identifiability.report_defense_get(submission_id=submission_id, user=request.user)
    split = request.GET.get("split", Score.PUBLIC)
    if split not in selectors.SPLITS:
        raise Http404(f"No split {split!r}: choose public or private.")
    context = competition_context(request, defense.competition.slug)
    private_allowed = access.may_read_report(phase=defense.phase, split=Score.PRIVATE, organizer=reader == "organizer",
                                             own=reader == "team")
    context.update(
        defense=defense,
        split=split,
        reader=reader,
        private_allowed=private_allowed,
        leaderboard_url=reverse("competition-leaderboard", kwargs={"slug": defense.competition.slug})
        + "?" + urlencode({"phase": defense.phase.name, "task": defense.task, "split": split}),
        json_url=reverse("api-submission-report", kwargs={"submission_id": defense.pk}) + "?" + urlencode({"split": split}),
    )
    try:
        identifiability.report_split_allowed(defense=defense, split=split, reader=reader)
    except PermissionDenied as exc:
        return render(request, "evaluation/report.html", {**context, "report": None, "hidden_reason": str(exc)}, status=403)
    context["report"] = identifiability.identifiability_report(defense=defense, split=split, organizer=reader == "organizer")
    if reader == "organizer":  # the organizers' view quotes what the release's scoring found in hidden data
        submission_hidden_detail_read(submission=defense, actor=request.user, via="report page")
    context["roc_curves"] = charts.defense_roc_curves(defense=defense, split=split)
    context["unlinkable"] = charts.release_unlinkable(defense=defense, split=split)
    return render(request, "evaluation/report.html", context)
