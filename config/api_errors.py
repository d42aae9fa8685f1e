"""One error shape for the whole API: ``{"error": "...", "detail": ...}`` with the right status."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import ArenaError, status_code


class ApiError(exceptions.APIException):
    """An error a service raises for the API to report as it is."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"

    def __init__(self, message: str, *, detail=None, status_code: int | None = None, headers: dict | None = None):
        super().__init__(message)
        self.message = message
        self.extra = detail
        self.headers = headers or {}
        if status_code is not None:
            self.status_code = status_code


def exception_handler(exc, context):
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or "You do not have permission to do this.")

    if isinstance(exc, ArenaError):
        response = Response({"error": exc.message, "detail": exc.detail}, status=status_code(exc))
        if exc.retry_after is not None:
            response["Retry-After"] = str(exc.retry_after)
        return response

    if isinstance(exc, ApiError):
        response = Response({"error": exc.message, "detail": exc.extra}, status=exc.status_code)
        for name, value in exc.headers.items():
            response[name] = value
        if response.status_code == 403:
            _denied_record(context, exc.message)
        return response

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(exc, exceptions.ValidationError):
        message = _first_message(data)
        response.data = {"error": message, "detail": data}
    else:
        message = data.get("detail") if isinstance(data, dict) else str(data)
        response.data = {"error": str(message), "detail": None}
    if isinstance(exc, exceptions.NotAuthenticated):
        response.status_code = status.HTTP_401_UNAUTHORIZED
    if response.status_code == 403:
        _denied_record(context, response.data["error"])
    return response


def _denied_record(context, reason: str) -> None:
    """A refusal of the API's own checks goes to the audit log (services record theirs)."""
    from audit.services import audit_denied

    request = context.get("request")
    kwargs = context.get("kwargs") or {}
    if request is None:
        return
    audit_denied(actor=request.user, competition_slug=competition_slug_of(kwargs),
                 target=f"{request.method} {request.path}", reason=reason)


def competition_slug_of(kwargs: dict) -> str:
    """The competition a URL names, by its slug or through a submission or team id."""
    if kwargs.get("slug"):
        return str(kwargs["slug"])[:80]
    if kwargs.get("submission_id"):
        from submissions.models import Submission

        return Submission.objects.filter(pk=kwargs["submission_id"]).values_list("competition__slug", flat=True).first() or ""
    if kwargs.get("team_id"):
        from competitions.models import Team

        return Team.objects.filter(pk=kwargs["team_id"]).values_list("competition__slug", flat=True).first() or ""
    return ""


def _first_message(data) -> str:
    """A one-line summary naming the first field that was wrong."""
    if isinstance(data, dict):
        for field, value in data.items():
            inner = _first_message(value)
            return inner if field == "non_field_errors" else f"{field}: {inner}"
    if isinstance(data, list) and data:
        return _first_message(data[0])
    return str(data)
