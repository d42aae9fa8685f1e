"""Writes for competitions: import and export bundles, teams, reveals."""

from __future__ import annotations

import io
import tempfile
import unicodedata
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import yaml
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import audit_denied, audit_record
from config.errors import Conflict, InvalidInput, NotAllowed, NotFound
from config.formats import iso
from sandbox import archive

from . import access, filestore
from .bundles import BundleInvalid, BundleSpec, bundle_read, file_stem, hierarchy_files_write
from .leaderboards import push
from .models import Competition, Dataset, Metric, Phase, StartingKit, Team, TeamMembership


@contextmanager
def bundle_folder(path: Path) -> Iterator[Path]:
    """A bundle as a folder: the folder itself, or a zip / tar.gz unpacked safely into a temp dir."""
    path = Path(path)
    if path.is_dir():
        yield path
        return
    if not path.is_file():
        raise BundleInvalid([("bundle", f"{path} is neither a folder nor an archive")])
    with tempfile.TemporaryDirectory(prefix="arena-bundle-") as tmp:
        try:
            archive.unpack_archive(
                path,
                Path(tmp),
                limits=archive.ArchiveLimits(max_bytes=settings.ARENA_MAX_UNPACKED_BYTES, max_files=settings.ARENA_MAX_ARCHIVE_FILES),
            )
        except archive.SubmissionArchiveInvalid as exc:
            raise BundleInvalid([("bundle", str(exc))]) from exc
        root = Path(tmp)
        entries = [p for p in root.iterdir()]
        if not (root / "competition.yaml").exists() and len(entries) == 1 and entries[0].is_dir():
            root = entries[0]  # a zip of the bundle folder rather than of its contents
        yield root


def competition_import(*, path: Path, user=None, replace: bool = False, discard_submissions: bool = False) -> Competition:
    """Check a bundle completely, then store it in one transaction. Nothing is stored if it is bad.

    ``user`` is who imports (API, page, a command's ``--organizer``); None is the operator at
    the command line. Who may replace an existing competition is decided here, on the slug of
    the bundle as parsed, whatever the archive's format or the entry point: its organizers or
    staff (:func:`competitions.access.may_replace`). Replacing deletes the competition's teams
    and their submissions, so where there are any the caller must say ``discard_submissions``.
    """
    if user is not None and not access.may_create_competitions(user=user):
        raise NotAllowed("Only organizers can import competitions.")
    with bundle_folder(path) as root:
        spec = bundle_read(root)
        _check_task_data(spec)
        existing = Competition.objects.filter(slug=spec.slug).first()
        if existing and not replace:
            raise BundleInvalid([("slug", f"a competition '{spec.slug}' already exists")])
        if existing and user is not None and not access.may_replace(competition=existing, user=user):
            audit_record(action=AuditEvent.DENIED, actor=user, competition_slug=spec.slug, target=f"competition:{spec.slug}",
                         detail={"attempted": AuditEvent.REPLACE})
            who = "its organizers" if existing.organizers.exists() else "staff (no one organizes it)"
            raise NotAllowed(f"slug: a competition '{spec.slug}' exists and only {who} may replace it.")
        stored: list[str] = []
        try:
            with transaction.atomic():
                discarded: dict[str, int] = {}
                organizers = []
                if existing:
                    existing = Competition.objects.select_for_update().get(pk=existing.pk)
                    discarded = _submissions_to_discard(existing, confirmed=discard_submissions)
                    organizers = list(existing.organizers.all())
                    competition_delete(competition=existing)
                competition = _create_from_spec(spec, stored=stored)
                competition.organizers.add(*organizers)
                importer_is_new = user is not None and user.is_authenticated and user not in organizers
                if importer_is_new:
                    competition.organizers.add(user)
                audit_record(
                    action=AuditEvent.REPLACE if existing else AuditEvent.IMPORT, actor=user, competition_slug=spec.slug,
                    target=f"competition:{spec.slug}",
                    detail={"title": spec.title, "hidden_files": [d.file for d in spec.data if d.visibility == Dataset.HIDDEN],
                            **({"discarded": discarded} if existing else {})},
                )
                if importer_is_new:
                    audit_record(action=AuditEvent.ORGANIZER_ADD, actor=user, competition_slug=spec.slug,
                                 target=f"user:{user.get_username()}", detail={"by": "import"})
        except BaseException:
            for stored_path in stored:  # the rows were rolled back: remove their files too
                filestore.delete(stored_path)
            raise
    return competition


def _submissions_to_discard(competition: Competition, *, confirmed: bool) -> dict[str, int]:
    """What replacing ``competition`` deletes of its teams' work; refused unless ``confirmed``."""
    from submissions.models import Submission

    team_submissions = Submission.objects.filter(competition=competition, team__isnull=False)
    counts = {"submissions": team_submissions.count(), "teams": competition.teams.count()}
    if counts["submissions"] and not confirmed:
        raise Conflict(
            f"slug: competition '{competition.slug}' has {counts['submissions']} team submission(s) from "
            f"{counts['teams']} team(s); replacing it deletes them. Confirm with discard_submissions=true "
            "(command line: --discard-submissions) if that is what you want.",
            detail=counts,
        )
    return counts


def _check_task_data(spec: BundleSpec) -> None:
    """Let each task type check that the organizer's files can serve it."""
    from evaluation.task_types import get_task
    from evaluation.task_types.base import Schema, TaskData, TaskDataInvalid

    data = TaskData(
        files={d.name: spec.root / d.file for d in spec.data},
        schema=Schema.from_json(spec.schema),
        options=spec.options,
    )
    errors = []
    for task in [spec.task, *spec.attack_tasks]:
        arena_attack = bool(spec.attack_tasks) and task != spec.task  # inputs come from defense releases
        try:
            if arena_attack:
                get_task(task).check_data(data, arena=True)
            else:
                get_task(task).check_data(data)
        except TaskDataInvalid as exc:
            errors.append(("data", f"{task}: {exc}"))
    if errors:
        raise BundleInvalid(errors)


def _create_from_spec(spec: BundleSpec, *, stored: list[str]) -> Competition:
    from submissions.services import baseline_create

    competition = Competition.objects.create(
        slug=spec.slug, title=spec.title, description=spec.description, scenario=spec.scenario, task=spec.task,
        attack_tasks=spec.attack_tasks, options=spec.options, schema=spec.schema, published=spec.published,
    )
    for order, p in enumerate(spec.phases):
        Phase.objects.create(
            competition=competition, name=p.name, order=order, start=p.start, end=p.end,
            max_submissions_per_day=p.max_submissions_per_day, max_submissions_total=p.max_submissions_total,
            max_final_selections=p.max_final_selections, max_team_size=p.max_team_size,
            public_fraction=p.public_fraction, check_run=p.check_run, limits=p.limits,
        )
    for order, m in enumerate(spec.metrics):
        Metric.objects.create(
            competition=competition, task=m.task, key=m.key, label=m.label, direction=m.direction,
            precision=m.precision, primary=m.primary, order=order, description=m.description,
        )
    _arena_metrics_create(competition, spec)
    for d in spec.data:
        hidden = d.visibility == Dataset.HIDDEN
        folder = f"hidden/{spec.slug}" if hidden else f"public/{spec.slug}"
        saved = filestore.store_path(spec.root / d.file, folder=folder, encrypt=hidden)
        stored.append(saved.path)
        Dataset.objects.create(
            competition=competition, name=d.name, visibility=d.visibility, description=d.description,
            filename=d.file, storage_path=saved.path, sha256=saved.sha256, size=saved.size, encrypted=hidden,
        )
    if spec.starting_kit:
        with tempfile.TemporaryDirectory() as tmp:
            kit_zip = Path(tmp) / "starting_kit.zip"
            _zip_folder(spec.root / spec.starting_kit, kit_zip, prefix="starting_kit")
            saved = filestore.store_path(kit_zip, folder=f"public/{spec.slug}", encrypt=False)
        stored.append(saved.path)
        StartingKit.objects.create(competition=competition, storage_path=saved.path, sha256=saved.sha256, size=saved.size)
    for phase in competition.phases.all():
        for b in spec.baselines:
            source = spec.root / b.path
            with tempfile.TemporaryDirectory() as tmp:
                if source.is_dir():
                    packed = Path(tmp) / f"{source.name}.zip"
                    _zip_folder(source, packed, prefix="")
                    source = packed
                submission = baseline_create(
                    competition=competition, phase=phase, name=b.name, role=b.role, task=b.task,
                    path=source, description=b.description,
                )
            stored.append(submission.storage_path)
    return competition


def _arena_metrics_create(competition: Competition, spec: BundleSpec) -> None:
    """Arena competitions also rank by the scores attacks and defenses earn against each other
    (defined in :mod:`evaluation.arena.metric_rows`), and a competition with a membership game
    by its figures (:mod:`evaluation.games.config`): add their metric rows after the bundle's own."""
    from evaluation.games.config import GAME_METRICS, OPTION

    if OPTION in spec.options:
        first = len(spec.metrics) + 100  # after the bundle's rows and the arena's
        for order, (key, label, direction, description) in enumerate(GAME_METRICS, start=first):
            Metric.objects.create(competition=competition, task=spec.task, key=key, label=label, direction=direction,
                                  precision=2, primary=False, order=order, description=description)
    if not spec.attack_tasks:
        return
    from evaluation.arena.metric_rows import arena_metric_specs

    primaries = {
        task: next((m.key, m.label) for m in spec.metrics if m.task == task and m.primary) for task in spec.attack_tasks
    }
    for order, m in enumerate(arena_metric_specs(defense_task=spec.task, attack_primaries=primaries), start=len(spec.metrics)):
        Metric.objects.create(
            competition=competition, task=m.task, key=m.key, label=m.label, direction=m.direction,
            precision=m.precision, primary=False, order=order, description=m.description,
        )


def _arena_metric_keys(competition: Competition) -> set[tuple[str, str]]:
    """The metric rows import adds (arena and game), which an export leaves out."""
    from evaluation.arena.metric_rows import arena_metric_specs
    from evaluation.games.config import GAME_METRICS, OPTION

    game = {(competition.task, key) for key, *_ in GAME_METRICS} if OPTION in (competition.options or {}) else set()
    if not competition.attack_tasks:
        return game
    primaries = {task: ("", "") for task in competition.attack_tasks}
    return game | {(m.task, m.key) for m in arena_metric_specs(defense_task=competition.task, attack_primaries=primaries)}


def _zip_folder(folder: Path, dest: Path, *, prefix: str) -> None:
    """Zip ``folder`` reproducibly: the same files give the same bytes (and sha256), whenever and
    wherever they were written, so re-importing a bundle gives the same starting kit."""
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                name = path.relative_to(folder).as_posix()
                info = zipfile.ZipInfo(f"{prefix}/{name}" if prefix else name, date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = (0o100755 if path.stat().st_mode & 0o111 else 0o100644) << 16
                zf.writestr(info, path.read_bytes())


def competition_export(*, competition: Competition, dest: Path, actor=None) -> Path:
    """Write the competition back as a bundle folder that imports to the same competition.

    The folder holds the hidden files in clear: the export is recorded in the audit log."""
    from submissions.models import Submission

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "description.md").write_text(competition.description, encoding="utf-8")
    data = []
    for d in competition.datasets.all():
        target = dest / d.filename
        filestore.copy_to(d.storage_path, target, encrypted=d.encrypted, sha256=d.sha256)
        data.append({"name": d.name, "file": d.filename, "visibility": d.visibility, "description": d.description})
    phases = []
    for p in competition.phases.all():
        phases.append({
            "name": p.name, "start": iso(p.start), "end": iso(p.end) if p.end else None,
            "max_submissions_per_day": p.max_submissions_per_day, "max_submissions_total": p.max_submissions_total,
            "max_final_selections": p.max_final_selections, "max_team_size": p.max_team_size,
            "public_fraction": p.public_fraction, "check_run": p.check_run, "limits": p.limits,
        })
    derived = _arena_metric_keys(competition)  # recreated at import, not part of the bundle
    metrics = [
        {"task": m.task, "key": m.key, "label": m.label, "direction": m.direction, "precision": m.precision,
         "primary": m.primary, "description": m.description}
        for m in competition.metrics.all() if (m.task, m.key) not in derived
    ]
    baselines = []
    first_phase = competition.phases.first()
    for b in Submission.objects.filter(competition=competition, phase=first_phase, is_baseline=True).order_by("id"):
        safe = file_stem(b.baseline_name.lower())
        suffix = "" if b.kind == Submission.FILE else Path(b.original_filename).suffix or ".zip"
        relative = f"baselines/{safe}{suffix}" if suffix else f"baselines/{safe}-{b.original_filename}"
        filestore.copy_to(b.storage_path, dest / relative, encrypted=False, sha256=b.sha256)
        baselines.append({"name": b.baseline_name, "role": b.role, "task": b.task, "path": relative, "description": b.description})
    manifest = {
        "slug": competition.slug, "title": competition.title, "description": "description.md",
        "scenario": competition.scenario or None, "task": competition.task, "attack_tasks": competition.attack_tasks,
        "published": competition.published, "options": competition.options, "schema": hierarchy_files_write(competition.schema, dest),
        "data": data, "phases": phases, "metrics": metrics, "baselines": baselines,
    }
    kit = StartingKit.objects.filter(competition=competition).first()
    if kit is not None:
        with filestore.open_clear(kit.storage_path) as fh, zipfile.ZipFile(io.BytesIO(fh.read())) as zf:
            for member in zf.infolist():
                if member.filename.startswith("starting_kit/") and not member.is_dir():
                    out = dest / member.filename
                    out.parent.mkdir(parents=True, exist_ok=True)
                    out.write_bytes(zf.read(member))
        manifest["starting_kit"] = "starting_kit"
    manifest = {k: v for k, v in manifest.items() if v is not None}
    (dest / "competition.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True), encoding="utf-8")
    audit_record(action=AuditEvent.EXPORT, actor=actor, competition_slug=competition.slug, target=f"competition:{competition.slug}",
                 detail={"hidden_files": [d["file"] for d in data if d["visibility"] == Dataset.HIDDEN], "dest": str(dest)})
    return dest


def competition_delete(*, competition: Competition) -> None:
    from submissions.models import Submission

    paths = [d.storage_path for d in competition.datasets.all()]
    paths += list(Submission.objects.filter(competition=competition).values_list("storage_path", flat=True))
    kit = StartingKit.objects.filter(competition=competition).first()
    if kit:
        paths.append(kit.storage_path)
    competition.delete()  # its cached leaderboard reads go with it (competitions/signals.py)

    def delete_files() -> None:
        for path in paths:
            filestore.delete(path)

    transaction.on_commit(delete_files)


def team_create(*, competition: Competition, user, name: str) -> Team:
    name = " ".join((name or "").split())  # one space between words: no look-alikes made of spacing
    if not name:
        raise InvalidInput("name: a team needs a name.")
    if len(name) > 80:
        raise InvalidInput("name: at most 80 characters.")
    invisible = [ch for ch in name if unicodedata.category(ch).startswith("C")]
    if invisible:
        raise InvalidInput(f"name: invisible or control characters are not allowed (found U+{ord(invisible[0]):04X}).")
    if TeamMembership.objects.filter(user=user, competition=competition).exists():
        raise Conflict(f"You are already in a team of '{competition.slug}'; one team per person per competition.")
    taken = Team.objects.filter(competition=competition, name__iexact=name).values_list("name", flat=True).first()
    if taken is not None:
        raise Conflict(f"name: a team called {taken!r} already exists in this competition (names ignore case).")
    try:
        with transaction.atomic():
            team = Team.objects.create(competition=competition, name=name, created_by=user)
            TeamMembership.objects.create(team=team, user=user, competition=competition)
    except IntegrityError as exc:
        raise Conflict(f"name: a team called {name!r} already exists in this competition (names ignore case).") from exc
    return team


def team_join(*, team: Team, user, invite_code: str) -> Team:
    import hmac

    if not hmac.compare_digest((invite_code or "").encode(), team.invite_code.encode()):
        reason = "invite_code: this is not the team's invite code."
        audit_denied(actor=user, competition_slug=team.competition.slug, target=f"team:{team.pk}", reason=reason)
        raise NotAllowed(reason)
    competition = team.competition
    with transaction.atomic():
        Team.objects.select_for_update().get(pk=team.pk)
        if TeamMembership.objects.filter(user=user, competition=competition).exists():
            raise Conflict(f"You are already in a team of '{competition.slug}'; one team per person per competition.")
        phase_limits = [p.max_team_size for p in competition.phases.all()]
        limit = min(phase_limits) if phase_limits else None
        if limit is not None and team.memberships.count() >= limit:
            raise Conflict(f"Team {team.name!r} is full: at most {limit} members.")
        TeamMembership.objects.create(team=team, user=user, competition=competition)
    return team


def phase_reveal(*, phase: Phase, actor=None) -> Phase:
    """Make the private leaderboard visible to everyone, and push it to watchers."""
    with transaction.atomic():
        if phase.private_revealed_at is None:
            phase.private_revealed_at = timezone.now()
            Phase.objects.filter(pk=phase.pk).update(private_revealed_at=phase.private_revealed_at)
            audit_record(action=AuditEvent.REVEAL, actor=actor, competition_slug=phase.competition.slug,
                         target=f"phase:{phase.name}")
        push.leaderboard_changed(phase)
    return phase


def competition_update(*, competition: Competition, title: str | None = None, description: str | None = None,
                       published: bool | None = None, actor=None) -> Competition:
    fields = {k: v for k, v in {"title": title, "description": description, "published": published}.items() if v is not None}
    if fields:
        changes = {key: {"from": getattr(competition, key), "to": value} for key, value in fields.items()
                   if getattr(competition, key) != value}
        if changes:
            audit_record(action=AuditEvent.UPDATE, actor=actor, competition_slug=competition.slug,
                         target=f"competition:{competition.slug}", detail=changes)
        for key, value in fields.items():
            setattr(competition, key, value)
        competition.save(update_fields=list(fields))  # e.g. unpublished: its cached reads go (competitions/signals.py)
    return competition


def competition_organizer_add(*, competition: Competition, username: str, actor=None) -> list:
    """Make an existing user an organizer of ``competition``; the grant goes to the audit log."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(username__iexact=(username or "").strip()).first()
    if user is None:
        raise NotFound(f"username: no user {username!r}.")
    if not competition.organizers.filter(pk=user.pk).exists():
        with transaction.atomic():
            competition.organizers.add(user)
            audit_record(action=AuditEvent.ORGANIZER_ADD, actor=actor, competition_slug=competition.slug,
                         target=f"user:{user.get_username()}")
    return list(competition.organizers.order_by("username"))


def competition_organizer_remove(*, competition: Competition, username: str, actor=None) -> list:
    """Take organizer rights away. The last organizer stays: a competition nobody organizes is
    the site's, and only staff could act on it again."""
    user = competition.organizers.filter(username__iexact=(username or "").strip()).first()
    if user is None:
        raise NotFound(f"username: {username!r} does not organize '{competition.slug}'.")
    with transaction.atomic():
        Competition.objects.select_for_update().get(pk=competition.pk)
        if competition.organizers.count() == 1:
            raise Conflict(f"username: {user.get_username()!r} is the last organizer of '{competition.slug}'; add another first.")
        competition.organizers.remove(user)
        audit_record(action=AuditEvent.ORGANIZER_REMOVE, actor=actor, competition_slug=competition.slug,
                     target=f"user:{user.get_username()}")
    return list(competition.organizers.order_by("username"))
