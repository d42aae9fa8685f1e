"""Server-rendered pages (templates/). Every page reads and writes through the same selectors
and services as the REST API; live parts subscribe to the websockets in config/ws_routing.py."""

from django.contrib.auth import views as auth_views
from django.urls import path

from audit import views as audit_views
from competitions import views as c
from config.ratelimit import throttle_page
from evaluation import views as e
from submissions import views as s

urlpatterns = [
    path("", c.home, name="home"),
    path("accounts/login/", throttle_page("login")(auth_views.LoginView.as_view(redirect_authenticated_user=True)), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/register/", throttle_page("register")(c.register), name="register"),
    path("organize/", c.organize_index, name="organize"),
    path("glossary/", c.glossary, name="glossary"),
    path("competitions/<slug:slug>/", c.competition_detail, name="competition"),
    path("competitions/<slug:slug>/leaderboard/", c.competition_leaderboard, name="competition-leaderboard"),
    path("competitions/<slug:slug>/leaderboard.csv", c.competition_leaderboard_csv, name="competition-leaderboard-csv"),
    path("competitions/<slug:slug>/scenario/", c.competition_scenario, name="competition-scenario"),
    path("competitions/<slug:slug>/team/", c.competition_team, name="competition-team"),
    path("competitions/<slug:slug>/submit/", s.submission_submit, name="submission-submit"),
    path("competitions/<slug:slug>/submissions/", s.submission_list, name="submission-list"),
    path("competitions/<slug:slug>/organize/", c.organize_competition, name="organize-competition"),
    path("competitions/<slug:slug>/organize/audit/", audit_views.competition_audit, name="organize-audit"),
    path("competitions/<slug:slug>/organize/action/", c.organize_action, name="organize-action"),
    path("submissions/<int:submission_id>/", s.submission_detail, name="submission-detail"),
    path("submissions/<int:submission_id>/select/", s.submission_select_view, name="submission-select"),
    path("submissions/<int:submission_id>/report/", e.submission_report, name="submission-report"),
]
