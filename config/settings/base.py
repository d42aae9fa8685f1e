"""Settings shared by every environment. Everything configurable comes from the environment.

With nothing set the server runs on embedded defaults: SQLite, an in-memory channel layer, an
in-process evaluation thread and the best sandbox backend available. ``DATABASE_URL`` and
``REDIS_URL`` switch to PostgreSQL and to RQ plus the Redis channel layer.
"""

import tempfile
from pathlib import Path

import environ

from sandbox.spec import RUNTIME_IMAGE

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

# Where the server keeps its state when nothing else is configured (database, files, keys).
VAR_DIR = Path(env("ARENA_VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "axes",
    "audit",
    "competitions",
    "submissions",
    "evaluation",
]

MIDDLEWARE = [
    "config.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a locked-out login into a 429
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'arena.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Several threads or processes (web, evaluation workers) write: wait for the lock instead of
    # failing at once. IMMEDIATE takes the write lock when a transaction begins; a deferred one
    # that read first and then writes can meet another writer in a deadlock, which SQLite
    # reports as "database is locked" at once, without waiting.
    DATABASES["default"].setdefault("OPTIONS", {}).update(timeout=20, transaction_mode="IMMEDIATE")
elif DATABASES["default"]["ENGINE"].endswith("postgresql") and env.bool("ARENA_DB_POOL", default=False):
    # Server processes (config.asgi switches this on): under ASGI each request's sync code
    # runs in a thread of its own, so connections cannot persist per thread, and without a
    # pool every request would open a PostgreSQL connection (several milliseconds, more than
    # a cached leaderboard read costs in all). One pool per server process; a request takes a
    # connection and gives it back at its end. Evaluation workers keep plain connections (one
    # per job, closed after it), and a pool's connections and threads must not cross a fork.
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("ARENA_DB_POOL_MIN", default=2),
        "max_size": env.int("ARENA_DB_POOL_MAX", default=20),
        "timeout": env.float("ARENA_DB_POOL_TIMEOUT", default=30),
    }
    # The pool checks a connection before it hands it out: after a PostgreSQL restart its old
    # connections are dead, and a request must get a fresh one, not a 500.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Failed logins (web page, token endpoint, admin) are counted per username and client address;
# past the limit that pair is refused with a 429 until the cool-off has passed.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("ARENA_LOGIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = env.float("ARENA_LOGIN_COOLOFF_MINUTES", default=15) / 60  # hours, as the limiter counts them
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "config.ratelimit.lockout_response"
AXES_VERBOSE = False

# Requests per client (per user once logged in, else per address) and period, for the
# endpoints an attacker would hammer: "N/second|minute|hour|day". See config/ratelimit.py.
ARENA_RATE_LIMITS = {
    "login": env("ARENA_RATE_LOGIN", default="20/minute"),
    "register": env("ARENA_RATE_REGISTER", default="10/hour"),
    "submit": env("ARENA_RATE_SUBMIT", default="60/hour"),
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]

# All files (uploads, public data, hidden data, run outputs) live in private storage: none of
# it is served by a media URL. Public data reaches users through the API's data endpoint only;
# hidden data is encrypted before it is written and never served at all.
ARENA_STORAGE_ROOT = Path(env("ARENA_STORAGE_ROOT", default=str(VAR_DIR / "storage")))
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(ARENA_STORAGE_ROOT), "base_url": None},
    },
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Fernet key(s) for hidden data at rest, comma separated, newest first (rotation). Without one
# the embedded default creates a key file in VAR_DIR readable only by this user.
ARENA_DATA_KEYS = env.list("ARENA_DATA_KEYS", default=[])
ARENA_DATA_KEY_FILE = Path(env("ARENA_DATA_KEY_FILE", default=str(VAR_DIR / "data.key")))

# Upload limits, checked before anything is stored.
ARENA_MAX_UPLOAD_BYTES = env.int("ARENA_MAX_UPLOAD_BYTES", default=200 * 1024 * 1024)
ARENA_MAX_BUNDLE_BYTES = env.int("ARENA_MAX_BUNDLE_BYTES", default=1024 * 1024 * 1024)
ARENA_MAX_UNPACKED_BYTES = env.int("ARENA_MAX_UNPACKED_BYTES", default=1024 * 1024 * 1024)
ARENA_MAX_ARCHIVE_FILES = env.int("ARENA_MAX_ARCHIVE_FILES", default=10_000)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# Evaluation: RQ when REDIS_URL is set, else an in-process worker thread.
REDIS_URL = env("REDIS_URL", default="")
ARENA_SANDBOX_BACKEND = env("ARENA_SANDBOX_BACKEND", default="")  # "", "docker" or "process"
ARENA_RUNTIME_IMAGE = env("ARENA_RUNTIME_IMAGE", default=RUNTIME_IMAGE)
ARENA_RUN_MARGIN_SECONDS = env.int("ARENA_RUN_MARGIN_SECONDS", default=120)
ARENA_MAX_INFRA_RETRIES = env.int("ARENA_MAX_INFRA_RETRIES", default=2)
# Each worker keeps its scratch (decrypted hidden data included) in a folder of its own here,
# emptied when it starts and removed by the reaper once its process is gone.
ARENA_SCRATCH_ROOT = Path(env("ARENA_SCRATCH_ROOT", default=str(Path(tempfile.gettempdir()) / "arena-scratch")))
# "rq": jobs go to the RQ queues "cpu" and "gpu"; "thread": an in-process worker thread runs
# the same job function; "manual": jobs are only recorded (tests drive them explicitly).
ARENA_EVALUATION_MODE = env("ARENA_EVALUATION_MODE", default="rq" if REDIS_URL else "thread")
# Play a competition's membership game (options.membership_game) for each finished defense, on a
# low-priority queue; off, games are not queued (load_demo plays them itself with --games).
ARENA_MEMBERSHIP_GAMES = env.bool("ARENA_MEMBERSHIP_GAMES", default=True)

if REDIS_URL:
    # Pub/sub: a group message is published once and reaches each server process once, which
    # hands it to its own watchers; a thousand watchers in one process cost one Redis message,
    # not a thousand queued copies. Pushes are live notifications, not a durable queue: a
    # process that was not subscribed at that moment misses them, and its watchers' next
    # snapshot (on reconnect) is current anyway.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "arena",
            "OPTIONS": {"pool_class": "config.redis_pool.SharedConnectionPool"},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Anonymous leaderboard GETs answered from the Redis cache in front of Django once Django has
# served the same request (competitions/leaderboards/reads.py). Needs the Redis cache.
ARENA_LEADERBOARD_FAST_READS = bool(REDIS_URL) and env.bool("ARENA_LEADERBOARD_FAST_READS", default=True)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.api_errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # How many proxies in front set X-Forwarded-For: 0 trusts none, so a client cannot dodge
    # the rate limits by sending the header itself.
    "NUM_PROXIES": env.int("ARENA_TRUSTED_PROXIES", default=0),
}
AXES_IPWARE_PROXY_COUNT = env.int("ARENA_TRUSTED_PROXIES", default=0) or None
AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if env.int("ARENA_TRUSTED_PROXIES", default=0) else ["REMOTE_ADDR"]

SPECTACULAR_SETTINGS = {
    "TITLE": "AnoMed Arena API",
    "DESCRIPTION": "Competitions on hidden medical data: defenses, attacks, live leaderboards.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}
