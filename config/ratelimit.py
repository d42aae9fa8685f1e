"""Rate limits for the endpoints an attacker hammers: login, token, registration, submissions.

Two well-kept limiters, each doing what it is made for:

- REST framework's throttles count requests per client and period (``ARENA_RATE_LIMITS``),
  for the API views (:class:`ScopedThrottle`) and, through :func:`throttle_page`, for the
  pages that are not API views (the login and registration forms).
- The login-attempt limiter (``axes``, ``AXES_*`` settings) counts *failed* logins per
  username and address on every path that authenticates with a password, and refuses that
  pair, even with the right password, until the cool-off has passed
  (:func:`lockout_response`).

Both answer 429 with ``Retry-After``. The client is its address (``REMOTE_ADDR``, or the
address the trusted proxies in front report, ``ARENA_TRUSTED_PROXIES``), or its user id once
logged in.
"""

from __future__ import annotations

import functools
import logging
import math

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from redis.exceptions import RedisError
from rest_framework.throttling import SimpleRateThrottle

log = logging.getLogger(__name__)


class ScopedThrottle(SimpleRateThrottle):
    """A throttle whose rate is read from ``settings.ARENA_RATE_LIMITS[scope]`` at each request,
    so the limits follow the environment (and a test's settings) rather than import time."""

    scope = ""

    def __init__(self, scope: str | None = None):
        if scope:
            self.scope = scope
        super().__init__()

    def get_rate(self) -> str | None:
        return settings.ARENA_RATE_LIMITS.get(self.scope)

    def allow_request(self, request, view) -> bool:
        """Let the request through, logged, when the cache that keeps the counts does not answer
        (Redis away). An upload accepted during an outage must be a 201, not a 500; what protects
        the data is counted elsewhere meanwhile: submission quotas in the database, failed logins
        by the login-attempt limiter in the database."""
        try:
            return super().allow_request(request, view)
        except (RedisError, OSError) as exc:
            log.warning("rate limit %r not checked: its cache does not answer (%s)", self.scope, exc)
            return True

    def get_cache_key(self, request, view) -> str:
        user = getattr(request, "user", None)
        ident = f"user-{user.pk}" if user is not None and user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class LoginThrottle(ScopedThrottle):
    scope = "login"


class RegisterThrottle(ScopedThrottle):
    scope = "register"


class SubmitThrottle(ScopedThrottle):
    scope = "submit"


def _too_many(request, *, message: str, retry_after: int) -> HttpResponse:
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"error": message, "detail": {"retry_after": retry_after}}, status=429)
    else:
        response = HttpResponse(render_to_string("429.html", {"message": message}, request=request), status=429)
    response["Retry-After"] = str(retry_after)
    return response


def throttle_page(scope: str):
    """Throttle a page's POSTs (a form submission) like an API view of the same scope."""

    def decorate(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method == "POST":
                throttle = ScopedThrottle(scope)
                if not throttle.allow_request(request, None):
                    wait = max(1, math.ceil(throttle.wait() or 1))
                    return _too_many(request, message=f"Too many attempts; try again in {wait} seconds.", retry_after=wait)
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


def lockout_response(request, *args, **kwargs) -> HttpResponse:
    """The login-attempt limiter's answer: 429, how long to wait, and no hint whether the
    password was right."""
    from axes.helpers import get_cool_off

    cool_off = get_cool_off(request)
    wait = max(1, int(cool_off.total_seconds())) if cool_off else 24 * 3600
    minutes = math.ceil(wait / 60)
    return _too_many(request, message=f"Too many failed logins for this account from this address; "
                                      f"try again in {minutes} minute{'s' if minutes != 1 else ''}.", retry_after=wait)
