from importlib import import_module

from django.apps import AppConfig
from django.conf import settings


class CompetitionsConfig(AppConfig):
    name = "competitions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import signals  # noqa: F401 - connects the model signals
        # Load the channel layer's code now (the Redis layer pulls in its asyncio client: about
        # 0.2 s) rather than in the first leaderboard push of each process (a server, an
        # evaluation worker), which would otherwise reach its watchers that much later.
        backend = (getattr(settings, "CHANNEL_LAYERS", {}).get("default") or {}).get("BACKEND")
        if backend:
            import_module(backend.rsplit(".", 1)[0])
