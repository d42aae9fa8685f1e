"""Embedded defaults for a laptop demo: a generated secret key kept in VAR_DIR.

DEBUG stays off unless ``DJANGO_DEBUG=1``: the demo is served to people who type into its
forms, and Django's debug page would show them settings and code for any input that fails.
"""

import os
import secrets
import tempfile

from .base import *  # noqa: F401,F403
from .base import SECRET_KEY, VAR_DIR, env

DEBUG = env.bool("DJANGO_DEBUG", default=False)
WHITENOISE_USE_FINDERS = True  # static files straight from the tree, also with DEBUG off


def _secret_key_file(path) -> str:
    """The key in ``path``, created on first use readable by this user only, from its first byte:
    written to a private temporary file (0600 from creation) and published with a hard link,
    which fails rather than overwrite when another process got there first."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".secret-", dir=path.parent)
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(50))
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass  # another process created it: use theirs
        finally:
            os.unlink(tmp)
    return path.read_text().strip()


if not SECRET_KEY:
    SECRET_KEY = _secret_key_file(VAR_DIR / "secret.key")
