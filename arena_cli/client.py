"""The REST API v1 seen from the participant's side: one session, one error shape."""

from __future__ import annotations

import socket
from typing import Any

import requests

from . import __version__
from .multipart import MultipartEncoder

TIMEOUT = (10, 120)  # (connect, read) seconds; uploads and downloads stream, so reads only wait per block


class ApiError(Exception):
    """The server answered with an error; ``message`` is its own wording."""

    def __init__(self, message: str, *, status: int, detail: Any = None, retry_after: str | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.detail = detail
        self.retry_after = retry_after


class Unreachable(Exception):
    """No answer from the server at all (refused, DNS, TLS, timeout)."""

    def __init__(self, server: str, reason: str):
        super().__init__(f"Could not reach the server at {server}: {reason}")
        self.server = server


def _reason(exc: requests.RequestException) -> str:
    chain: list[BaseException] = []
    inner: BaseException | None = exc
    while inner is not None and len(chain) < 12:
        chain.append(inner)
        inner = inner.__cause__ or inner.__context__
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return "connection refused."
    if any(isinstance(e, socket.gaierror) for e in chain):
        return "the host name could not be resolved."
    if isinstance(exc, requests.Timeout):
        return "no answer in time."
    if isinstance(exc, requests.exceptions.SSLError):
        return "the TLS handshake failed."
    if isinstance(exc, requests.exceptions.InvalidURL) or isinstance(exc, requests.exceptions.MissingSchema):
        return "the server address is not a valid URL."
    return f"{type(exc).__name__}: {exc}."


class Client:
    def __init__(self, server: str, token: str | None = None):
        self.server = server.rstrip("/")
        self.token = token
        self.session = requests.Session()
        self.session.headers["User-Agent"] = f"arena-cli/{__version__}"
        self.session.headers["Accept"] = "application/json"
        if token:
            self.session.headers["Authorization"] = f"Token {token}"

    def url(self, path: str) -> str:
        return f"{self.server}/api/v1/{path.lstrip('/')}"

    def request(self, method: str, path: str, *, stream: bool = False, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", TIMEOUT)
        try:
            response = self.session.request(method, self.url(path), stream=stream, **kwargs)
        except requests.RequestException as exc:
            raise Unreachable(self.server, _reason(exc)) from exc
        if response.status_code >= 400:
            raise self._error(response)
        return response

    def _error(self, response: requests.Response) -> ApiError:
        retry_after = response.headers.get("Retry-After")
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            return ApiError(body["error"], status=response.status_code, detail=body.get("detail"), retry_after=retry_after)
        reason = response.reason or "error"
        return ApiError(f"The server at {self.server} answered {response.status_code} {reason} for {response.request.method} "
                        f"{response.url}.", status=response.status_code, retry_after=retry_after)

    def get(self, path: str, **kwargs) -> Any:
        return self.request("GET", path, **kwargs).json()

    def post(self, path: str, json: Any = None) -> Any:
        return self.request("POST", path, json=json if json is not None else {}).json()

    def upload(self, path: str, *, body: MultipartEncoder) -> Any:
        """POST a streamed multipart body; the server may only answer once it has stored and checked it all."""
        return self.request("POST", path, data=body, headers={"Content-Type": body.content_type},
                            timeout=(TIMEOUT[0], 600)).json()
