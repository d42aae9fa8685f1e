"""Request-wide middleware: a request id for every request, carried into the audit log."""

from __future__ import annotations

import re
import uuid

from audit.context import Origin, origin_set

# A request id a proxy set is kept when it looks like one; anything else is replaced, so a
# client cannot write arbitrary text into the audit log through this header.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.META.get("HTTP_X_REQUEST_ID", "")
        request.request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        origin_set(Origin(request_id=request.request_id, ip=request.META.get("REMOTE_ADDR") or None))
        try:
            response = self.get_response(request)
        finally:
            origin_set(Origin())
        response["X-Request-ID"] = request.request_id
        return response
