"""Model signals: whatever changes a competition or a phase — the services, the Django admin, a
shell — drops the anonymous leaderboard reads cached for it (competitions/leaderboards/reads.py),
so an unpublished competition or a moved phase date is never served from the cache."""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .leaderboards.reads import routes_forget
from .models import Competition, Phase


def _forget_on_commit(slug: str) -> None:
    transaction.on_commit(lambda: routes_forget(slug=slug))


@receiver([post_save, post_delete], sender=Competition, dispatch_uid="competitions.competition_routes_forget")
def competition_changed(sender, instance: Competition, **kwargs) -> None:
    _forget_on_commit(instance.slug)


@receiver([post_save, post_delete], sender=Phase, dispatch_uid="competitions.phase_routes_forget")
def phase_changed(sender, instance: Phase, **kwargs) -> None:
    slug = Competition.objects.filter(pk=instance.competition_id).values_list("slug", flat=True).first()
    if slug:
        _forget_on_commit(slug)
