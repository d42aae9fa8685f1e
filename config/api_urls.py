"""REST API v1 (DESIGN.md, "Interfaces")."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from audit import api as audit_api
from competitions.api import views as c
from evaluation import api as e
from submissions.api import views as s

urlpatterns = [
    path("auth/register/", c.RegisterView.as_view(), name="api-register"),
    path("auth/token/", c.TokenView.as_view(), name="api-token"),
    path("competitions/", c.CompetitionListView.as_view(), name="api-competitions"),
    path("competitions/import/", c.CompetitionImportView.as_view(), name="api-competition-import"),
    path("competitions/<slug:slug>/", c.CompetitionDetailView.as_view(), name="api-competition"),
    path("competitions/<slug:slug>/data/", c.CompetitionDataView.as_view(), name="api-competition-data"),
    path("competitions/<slug:slug>/teams/", c.TeamCreateView.as_view(), name="api-team-create"),
    path("competitions/<slug:slug>/submissions/", s.SubmissionListCreateView.as_view(), name="api-submissions"),
    path("competitions/<slug:slug>/leaderboard/", c.LeaderboardView.as_view(), name="api-leaderboard"),
    path("competitions/<slug:slug>/phases/<str:phase_name>/reveal/", c.PhaseRevealView.as_view(), name="api-phase-reveal"),
    path("competitions/<slug:slug>/organizers/", c.OrganizersView.as_view(), name="api-competition-organizers"),
    path("competitions/<slug:slug>/organizers/<str:username>/", c.OrganizerDetailView.as_view(), name="api-competition-organizer"),
    path("competitions/<slug:slug>/audit/", audit_api.CompetitionAuditView.as_view(), name="api-competition-audit"),
    path("competitions/<slug:slug>/arena/matrix/", e.ArenaMatrixView.as_view(), name="api-arena-matrix"),
    path("teams/<int:team_id>/", c.TeamDetailView.as_view(), name="api-team"),
    path("teams/<int:team_id>/join/", c.TeamJoinView.as_view(), name="api-team-join"),
    path("submissions/<int:submission_id>/", s.SubmissionDetailView.as_view(), name="api-submission"),
    path("submissions/<int:submission_id>/select/", s.SubmissionSelectView.as_view(), name="api-submission-select"),
    path("submissions/<int:submission_id>/cancel/", s.SubmissionCancelView.as_view(), name="api-submission-cancel"),
    path("submissions/<int:submission_id>/rerun/", s.SubmissionRerunView.as_view(), name="api-submission-rerun"),
    path("submissions/<int:submission_id>/report/", e.SubmissionReportView.as_view(), name="api-submission-report"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
]
