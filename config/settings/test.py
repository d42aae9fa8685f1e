"""Test settings: fast hashing, in-memory email, data under a temporary folder.

``DATABASE_URL`` and ``REDIS_URL`` are honoured as in production, so CI runs the suite against
real PostgreSQL and Redis.
"""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("ARENA_VAR_DIR", tempfile.mkdtemp(prefix="arena-test-"))

from .base import *  # noqa: E402,F401,F403
from .base import env  # noqa: E402

SECRET_KEY = "test-secret-key-not-for-production"
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
ARENA_DATA_KEYS = ["dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktdGVzdC0="]
ALLOWED_HOSTS = ["*"]
STATIC_ROOT = Path(os.environ["ARENA_VAR_DIR"]) / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
# Tests decide per case whether evaluation runs inline; nothing runs behind their back.
ARENA_EVALUATION_MODE = env("ARENA_EVALUATION_MODE", default="manual")
# The suite logs in, registers and submits far more often than a person: limits high enough
# that no test trips them by accident. Tests of the limiters set low limits themselves.
ARENA_RATE_LIMITS = {"login": "10000/minute", "register": "10000/minute", "submit": "10000/minute"}
AXES_FAILURE_LIMIT = 1000
