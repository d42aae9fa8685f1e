"""Where the CLI keeps its server address and API token, and how it reads them back.

The file is ``$ARENA_CONFIG`` when set, else ``$XDG_CONFIG_HOME/anomed-arena/credentials.json``
(``~/.config/anomed-arena/credentials.json`` without XDG_CONFIG_HOME). It is written with
mode 0600 inside a folder created with mode 0700, and replaced atomically so a crash never
leaves a half-written token behind. ``ARENA_SERVER`` and ``ARENA_TOKEN`` override what is
stored, which suits CI jobs that should not write a file at all.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

DEFAULT_SERVER = "http://localhost:8000"


def credentials_path() -> Path:
    override = os.environ.get("ARENA_CONFIG")
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base).expanduser() / "anomed-arena" / "credentials.json"


@dataclass
class Credentials:
    server: str
    token: str | None
    username: str | None = None


class CredentialsUnreadable(Exception):
    """The credentials file exists but is not what this CLI wrote."""


def normalize_server(url: str) -> str:
    url = url.strip()
    if "://" not in url:
        url = "http://" + url
    return url.rstrip("/")


def _stored() -> dict:
    path = credentials_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise CredentialsUnreadable(f"Cannot read {path}: {exc.strerror}.") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CredentialsUnreadable(f"{path} is not valid JSON ({exc.msg}); run `arena login` again.") from exc
    if not isinstance(data, dict):
        raise CredentialsUnreadable(f"{path} does not hold a JSON object; run `arena login` again.")
    return data


def load(*, server: str | None = None) -> Credentials:
    """The credentials in effect: command-line server, then environment, then the stored file."""
    stored = _stored()
    chosen_server = normalize_server(server or os.environ.get("ARENA_SERVER") or stored.get("server") or DEFAULT_SERVER)
    token = os.environ.get("ARENA_TOKEN") or None
    if token is None and stored.get("token") and normalize_server(stored.get("server") or DEFAULT_SERVER) == chosen_server:
        token = stored["token"]  # a token is only ever sent to the server that issued it
    return Credentials(server=chosen_server, token=token, username=stored.get("username"))


def save(credentials: Credentials) -> Path:
    path = credentials_path()
    folder = path.parent
    if not folder.exists():
        folder.mkdir(mode=0o700, parents=True)
        os.chmod(folder, 0o700)  # mkdir's mode is filtered by the umask
    payload = json.dumps({"server": credentials.server, "token": credentials.token, "username": credentials.username}, indent=2)
    fd, tmp = tempfile.mkstemp(prefix=".credentials-", dir=folder)  # mkstemp creates the file with mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            os.fchmod(fh.fileno(), 0o600)
            fh.write(payload + "\n")
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def forget() -> Path | None:
    """Remove the stored credentials; the path removed, or None when there was nothing."""
    path = credentials_path()
    try:
        path.unlink()
    except FileNotFoundError:
        return None
    return path
