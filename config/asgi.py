"""ASGI entry point: HTTP through Django, websockets through Channels.

With Redis, anonymous leaderboard reads that Django already answered are served from the cache
in front of it (competitions/leaderboards/reads.py).
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
# Server processes pool their PostgreSQL connections (config/settings/base.py). The switch is
# set only while the settings load, so processes started from this one (evaluation workers)
# do not inherit it.
_pool_chosen = "ARENA_DB_POOL" in os.environ
os.environ.setdefault("ARENA_DB_POOL", "1")
django_asgi_app = get_asgi_application()
if not _pool_chosen:
    del os.environ["ARENA_DB_POOL"]

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from competitions.leaderboards.reads import CachedLeaderboardReads  # noqa: E402
from config.ws_auth import OriginCheck, TokenAuthMiddleware  # noqa: E402
from config.ws_routing import websocket_urlpatterns  # noqa: E402
from evaluation.queue import embedded_worker_start  # noqa: E402

http_application = CachedLeaderboardReads(django_asgi_app) if settings.ARENA_LEADERBOARD_FAST_READS else django_asgi_app

application = ProtocolTypeRouter(
    {
        "http": http_application,
        "websocket": OriginCheck(AuthMiddlewareStack(TokenAuthMiddleware(URLRouter(websocket_urlpatterns)))),
    }
)

if os.environ.get("ARENA_START_EMBEDDED_WORKER", "1") == "1":
    embedded_worker_start()
