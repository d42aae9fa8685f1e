"""Competition API: thin views over the services and selectors."""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

from django.contrib.auth import authenticate, get_user_model, password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.http import FileResponse, Http404, HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import permissions, serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from competitions import filestore, selectors, services
from competitions.bundles import BundleInvalid
from competitions.leaderboards.reads import route_remember
from competitions.leaderboards.selectors import leaderboard_json
from competitions.models import Dataset, StartingKit, Team
from config.api_errors import ApiError
from submissions.models import Score

from . import serializers as s


class RegisterIn(serializers.Serializer):
    username = serializers.RegexField(r"^[\w.@+-]{3,150}$", error_messages={"invalid": "3–150 letters, digits and @/./+/-/_ only."})
    password = serializers.CharField(write_only=True)
    email = serializers.EmailField()


class RegisterView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(request=RegisterIn, responses={201: inline_serializer("Registered", {"id": serializers.IntegerField(), "username": serializers.CharField(), "token": serializers.CharField()})})
    def post(self, request):
        data = RegisterIn(data=request.data)
        data.is_valid(raise_exception=True)
        User = get_user_model()
        candidate = User(username=data.validated_data["username"], email=data.validated_data["email"])
        try:
            password_validation.validate_password(data.validated_data["password"], candidate)
        except DjangoValidationError as exc:
            raise ApiError("password: " + " ".join(exc.messages), detail={"password": exc.messages}) from exc
        try:
            with transaction.atomic():
                if User.objects.filter(username__iexact=candidate.username).exists():
                    raise IntegrityError
                candidate.set_password(data.validated_data["password"])
                candidate.save()
        except IntegrityError as exc:
            raise ApiError(f"username: {candidate.username!r} is taken.", status_code=409) from exc
        token, _ = Token.objects.get_or_create(user=candidate)
        return Response({"id": candidate.pk, "username": candidate.username, "token": token.key}, status=status.HTTP_201_CREATED)


class TokenIn(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(write_only=True)


class TokenView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(request=TokenIn, responses={200: inline_serializer("TokenOut", {"token": serializers.CharField()})})
    def post(self, request):
        data = TokenIn(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(request, username=data.validated_data["username"], password=data.validated_data["password"])
        if user is None:
            raise ApiError("The username or password is wrong.", status_code=400)
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class CompetitionListView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(responses=s.CompetitionListOut(many=True))
    def get(self, request):
        competitions = selectors.competitions_visible(user=request.user)
        return Response(s.CompetitionListOut(competitions, many=True).data)


class CanOrganize(permissions.BasePermission):
    message = "Only organizers can create competitions."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and (user.is_staff or user.has_perm("competitions.add_competition")))


class CompetitionImportView(APIView):
    permission_classes = [CanOrganize]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request=s.ImportIn, responses={201: s.CompetitionOut})
    def post(self, request):
        data = s.ImportIn(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        from django.conf import settings

        if upload.size > settings.ARENA_MAX_BUNDLE_BYTES:
            raise ApiError(f"file: the bundle is larger than {settings.ARENA_MAX_BUNDLE_BYTES:,} bytes.", status_code=413)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "bundle"
            with open(path, "wb") as out:
                for chunk in upload.chunks():
                    out.write(chunk)
            if data.validated_data["replace"]:
                existing = services.Competition.objects.filter(slug=_peek_slug(path)).first()
                if existing and not selectors.is_organizer(competition=existing, user=request.user):
                    raise ApiError("Only the competition's organizers can replace it.", status_code=403)
            try:
                competition = services.competition_import(path=path, user=request.user, replace=data.validated_data["replace"])
            except BundleInvalid as exc:
                raise ApiError(f"The bundle is invalid: {exc.errors[0][0]}: {exc.errors[0][1]}", detail=exc.as_dict()) from exc
        return Response(s.CompetitionOut(competition).data, status=status.HTTP_201_CREATED)


def _peek_slug(path: Path) -> str | None:
    import yaml

    try:
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if n.endswith("competition.yaml") and n.count("/") <= 1]
            return (yaml.safe_load(zf.read(names[0])) or {}).get("slug") if names else None
    except Exception:
        return None


class CompetitionDetailView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(responses=s.CompetitionOut)
    def get(self, request, slug: str):
        competition = selectors.competition_get(slug=slug, user=request.user)
        return Response(s.CompetitionOut(competition).data)

    @extend_schema(request=s.CompetitionUpdateIn, responses=s.CompetitionOut)
    def patch(self, request, slug: str):
        if not request.user.is_authenticated:
            raise ApiError("Log in to edit a competition.", status_code=401)
        competition = selectors.competition_get(slug=slug, user=request.user)
        if not selectors.is_organizer(competition=competition, user=request.user):
            raise ApiError("Only the competition's organizers can edit it.", status_code=403)
        data = s.CompetitionUpdateIn(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        competition = services.competition_update(competition=competition, **data.validated_data)
        return Response(s.CompetitionOut(competition).data)


class CompetitionDataView(APIView):
    """The public files (and the starting kit) as one zip. Hidden files are never part of it."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(responses={(200, "application/zip"): bytes})
    def get(self, request, slug: str):
        competition = selectors.competition_get(slug=slug, user=request.user)
        spool = tempfile.TemporaryFile()
        with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for dataset in competition.datasets.filter(visibility=Dataset.PUBLIC):
                with filestore.open_clear(dataset.storage_path) as source, zf.open(dataset.filename, "w") as target:
                    for block in iter(lambda: source.read(1024 * 1024), b""):
                        target.write(block)
            kit = StartingKit.objects.filter(competition=competition).first()
            if kit is not None:
                with filestore.open_clear(kit.storage_path) as source, zipfile.ZipFile(source) as kit_zip:
                    for member in kit_zip.infolist():
                        if not member.is_dir():
                            zf.writestr(member.filename, kit_zip.read(member))
        spool.seek(0)
        return FileResponse(spool, as_attachment=True, filename=f"{competition.slug}-data.zip", content_type="application/zip")


class TeamCreateView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=s.TeamIn, responses={201: s.TeamOut})
    def post(self, request, slug: str):
        competition = selectors.competition_get(slug=slug, user=request.user)
        data = s.TeamIn(data=request.data)
        data.is_valid(raise_exception=True)
        team = services.team_create(competition=competition, user=request.user, name=data.validated_data["name"])
        return Response(s.TeamOut(team).data, status=status.HTTP_201_CREATED)


def _team_get(*, team_id: int, user) -> Team:
    team = Team.objects.select_related("competition").filter(pk=team_id).first()
    if team is None or not selectors.competitions_visible(user=user).filter(pk=team.competition_id).exists():
        raise Http404(f"No team {team_id}.")
    return team


class TeamJoinView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=s.JoinIn, responses=s.TeamOut)
    def post(self, request, team_id: int):
        team = _team_get(team_id=team_id, user=request.user)
        data = s.JoinIn(data=request.data)
        data.is_valid(raise_exception=True)
        team = services.team_join(team=team, user=request.user, invite_code=data.validated_data["invite_code"])
        return Response(s.TeamOut(team).data)


class TeamDetailView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=s.TeamOut)
    def get(self, request, team_id: int):
        team = _team_get(team_id=team_id, user=request.user)
        is_member = team.memberships.filter(user=request.user).exists()
        if not is_member and not selectors.is_organizer(competition=team.competition, user=request.user):
            raise Http404(f"No team {team_id}.")  # a team's invite code is for its members only
        return Response(s.TeamOut(team).data)


class LeaderboardView(APIView):
    """The hot read: one query for the phase, then the board's cached JSON bytes as they are."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(parameters=[
        OpenApiParameter("phase", str, description="Phase name (default: the open phase)"),
        OpenApiParameter("split", str, enum=["public", "private"]),
        OpenApiParameter("task", str, description="Task type (arenas have one board per task)"),
    ], responses={200: s.LeaderboardOut})
    def get(self, request, slug: str):
        phases = selectors.competition_phases(slug=slug, user=request.user)
        if phases is None:
            raise Http404(f"No competition '{slug}'.")
        phase = selectors.phase_choose_among(phases=phases, slug=slug, name=request.query_params.get("phase"))
        competition = phase.competition
        split = request.query_params.get("split", Score.PUBLIC)
        if split not in (Score.PUBLIC, Score.PRIVATE):
            raise ApiError(f"split: expected public or private, got {split!r}.")
        task = request.query_params.get("task") or competition.task
        if task not in [competition.task, *competition.attack_tasks]:
            raise Http404(f"Competition '{slug}' has no task {task!r}.")
        if split == Score.PRIVATE and not phase.private_visible() and not selectors.is_organizer(competition=competition, user=request.user):
            raise ApiError(f"The private leaderboard of phase {phase.name!r} is hidden until the organizers reveal it"
                           + (f" or the phase ends ({phase.end.isoformat()})." if phase.end else "."), status_code=403)
        body = leaderboard_json(phase=phase, split=split, task=task)
        if not request.user.is_authenticated:  # the next anonymous request like this one is answered from the cache
            route_remember(slug=slug, query_string=request.META.get("QUERY_STRING", ""), phase=phase, split=split,
                           task=task, phases=phases)
        return HttpResponse(body, content_type="application/json")


class PhaseRevealView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses=s.PhaseOut)
    def post(self, request, slug: str, phase_name: str):
        competition = selectors.competition_get(slug=slug, user=request.user)
        if not selectors.is_organizer(competition=competition, user=request.user):
            raise ApiError("Only the competition's organizers can reveal the private leaderboard.", status_code=403)
        phase = selectors.phase_choose(competition=competition, name=phase_name)
        return Response(s.PhaseOut(services.phase_reveal(phase=phase)).data)
