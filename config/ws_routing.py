from django.urls import path

from competitions.leaderboards.consumers import LeaderboardConsumer
from submissions.consumers import SubmissionStatusConsumer

websocket_urlpatterns = [
    path("ws/competitions/<slug:slug>/leaderboard/", LeaderboardConsumer.as_asgi()),
    path("ws/submissions/<int:submission_id>/", SubmissionStatusConsumer.as_asgi()),
]
