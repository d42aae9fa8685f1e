"""Who meets whom in the arena: a defense's column, an attack's row, the pair cache, the fair
order of the pair jobs, and settling an attack whose row is done (see :mod:`evaluation.arena`).
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from pathlib import Path

from django.db import IntegrityError, transaction
from django.utils import timezone

from competitions.leaderboards import push
from competitions.models import Competition, Phase
from evaluation import pipeline, queue
from evaluation.task_types.base import Target
from submissions import services as submission_services
from submissions.models import Run, Submission

from ..models import ArenaResult
from .derived_scores import attack_scores_update, attack_success_scores, defense_scores_update

PAIR_JOB = "evaluation.jobs.evaluate_arena_pair"


def _arena_attacks(phase: Phase):
    competition = phase.competition
    return Submission.objects.filter(
        phase=phase, role=Submission.ATTACK, task__in=competition.attack_tasks,
        status__in=[Submission.SCORING, Submission.FINISHED],
    ).select_related("team").order_by("created", "id")


def _arena_defenses(phase: Phase):
    return Submission.objects.filter(
        phase=phase, role=Submission.DEFENSE, task=phase.competition.task, status=Submission.FINISHED,
    ).exclude(release_sha256="").select_related("team").order_by("created", "id")


def pair_seed(*, competition: Competition, attack: Submission, release_sha256: str) -> int:
    return pipeline.run_seed(competition=competition, purpose=f"arena-pair:{attack.task}:{attack.sha256}:{release_sha256}")


def pair_cached(result: ArenaResult, phase: Phase) -> ArenaResult | None:
    """A finished pair with the same attack code and release, whose scores this pair may reuse."""
    return (
        ArenaResult.objects.filter(
            status=ArenaResult.FINISHED, attack_task=result.attack_task, attack_sha256=result.attack_sha256,
            release_sha256=result.release_sha256, defense__competition_id=phase.competition_id,
            defense__phase__public_fraction=phase.public_fraction,
        )
        .exclude(pk=result.pk)
        .order_by("finished", "id")
        .first()
    )


def pair_reuse(result: ArenaResult, source: ArenaResult) -> bool:
    """Finish a pending pair with a cached pair's scores; False when another worker got to it first."""
    now = timezone.now()
    fields = {
        "status": ArenaResult.FINISHED, "scores": source.scores, "reused_from_id": source.reused_from_id or source.pk,
        "failure_class": "", "message": "", "started": result.started or now, "finished": now,
    }
    if not ArenaResult.objects.filter(pk=result.pk, status__in=ArenaResult.PENDING).update(**fields):
        return False
    for name, value in fields.items():
        setattr(result, name, value)
    return True


def _pair_get_or_create(attack: Submission, defense: Submission) -> tuple[ArenaResult, bool]:
    defaults = {
        "attack_task": attack.task, "attack_sha256": attack.sha256, "release_sha256": defense.release_sha256,
        "seed": pair_seed(competition=attack.competition, attack=attack, release_sha256=defense.release_sha256),
    }
    try:
        with transaction.atomic():
            return ArenaResult.objects.get_or_create(attack=attack, defense=defense, defaults=defaults)
    except IntegrityError:  # created by a concurrent scheduler in the meantime
        return ArenaResult.objects.get(attack=attack, defense=defense), False


def _pair_reset(result: ArenaResult, defense: Submission) -> None:
    fields: dict[str, object] = {
        "release_sha256": defense.release_sha256, "status": ArenaResult.QUEUED, "scores": {}, "failure_class": "",
        "message": "", "run": None, "reused_from": None, "started": None, "finished": None, "attempts": 0,
        "seed": pair_seed(competition=defense.competition, attack=result.attack, release_sha256=defense.release_sha256),
    }
    for name, value in fields.items():
        setattr(result, name, value)
    result.save(update_fields=list(fields))


def team_key(submission: Submission) -> str:
    return "organizer" if submission.is_baseline else f"team-{submission.team_id}"


def fair_order(results: list[ArenaResult], *, by: str) -> list[ArenaResult]:
    """Interleave ``results`` round-robin by the team of their ``by`` side ("attack"/"defense").

    Teams with fewer pairs already waiting in the queue go first; within a team, older
    submissions first.
    """
    if not results:
        return []
    groups: OrderedDict[str, list[ArenaResult]] = OrderedDict()
    for result in sorted(results, key=lambda r: (getattr(r, by).created, getattr(r, by).pk)):
        groups.setdefault(team_key(getattr(result, by)), []).append(result)
    phase_id = results[0].attack.phase_id
    waiting: dict[str, int] = defaultdict(int)
    pending = ArenaResult.objects.filter(status__in=ArenaResult.PENDING, attack__phase_id=phase_id).exclude(
        pk__in=[r.pk for r in results]
    )
    for attack_team, attack_baseline, defense_team, defense_baseline in pending.values_list(
        "attack__team_id", "attack__is_baseline", "defense__team_id", "defense__is_baseline"
    ):
        waiting["organizer" if attack_baseline else f"team-{attack_team}"] += 1
        waiting["organizer" if defense_baseline else f"team-{defense_team}"] += 1
    order = sorted(groups, key=lambda team: waiting[team])  # stable: first appearance breaks ties
    queues = [list(groups[team]) for team in order]
    ordered = []
    while any(queues):
        for queue_ in queues:
            if queue_:
                ordered.append(queue_.pop(0))
    return ordered


def pairs_enqueue(results: list[ArenaResult], phase: Phase) -> None:
    """Send the pairs' jobs now, each to the fair queue of its attack's team."""
    jobs = [(r.attack_id, r.defense_id) for r in results]
    teams = dict(Submission.objects.filter(pk__in={a for a, _ in jobs}, is_baseline=False).values_list("pk", "team_id"))
    for attack_id, defense_id in jobs:
        queue.job_enqueue(function=PAIR_JOB, args=(attack_id, defense_id), phase=phase,
                          key=f"arena-pair-{attack_id}-{defense_id}", team_id=teams.get(attack_id))


def pairs_enqueue_on_commit(results: list[ArenaResult], phase: Phase) -> None:
    """Send the pairs' jobs once the transaction that queued them commits. A queue that is away
    must not fail what committed: a pair left without its job is queued again by the reaper
    (:func:`~evaluation.arena.pair_run.orphaned_pairs_requeue`)."""
    if results:
        transaction.on_commit(lambda: pairs_enqueue(results, phase), robust=True)


def arena_schedule_for(*, submission: Submission) -> list[ArenaResult]:
    """Create the pairs a newly finished defense (its column) or arena attack (its row) needs.

    Called inside the transaction that finished the defense or started the attack's row.
    Pairs the cache can answer finish at once; the others are queued, fairly ordered, when
    the transaction commits. Returns the pairs of the column or row.
    """
    competition = submission.competition
    if not competition.is_arena:
        return []
    with transaction.atomic():
        phase = Phase.objects.select_for_update(of=("self",)).select_related("competition").get(pk=submission.phase_id)
        if submission.role == Submission.DEFENSE:
            if submission.status != Submission.FINISHED or not submission.release_sha256 or submission.task != competition.task:
                return []
            pairs = [(attack, submission) for attack in _arena_attacks(phase)]
            by = "attack"
        else:
            if submission.status not in (Submission.SCORING, Submission.FINISHED) or submission.task not in competition.attack_tasks:
                return []
            pairs = [(submission, defense) for defense in _arena_defenses(phase)]
            by = "defense"

        results, reused = [], []
        for attack, defense in pairs:
            result, _ = _pair_get_or_create(attack, defense)
            result.attack, result.defense = attack, defense
            if result.release_sha256 != defense.release_sha256 and result.status not in ArenaResult.PENDING:
                _pair_reset(result, defense)  # the defense was evaluated again and wrote another release
            if result.status == ArenaResult.QUEUED:
                source = pair_cached(result, phase)
                if source is not None and pair_reuse(result, source):
                    reused.append(result)
            results.append(result)

        if submission.role == Submission.DEFENSE:
            defense_scores_update(submission)
            for result in reused:
                if result.attack.status == Submission.FINISHED:
                    attack_scores_update(result.attack)
        else:
            for result in reused:
                defense_scores_update(result.defense)
            if submission.status == Submission.FINISHED:
                attack_scores_update(submission)
        if reused:
            push.leaderboard_changed(phase)
        pairs_enqueue_on_commit(fair_order([r for r in results if r.status == ArenaResult.QUEUED], by=by), phase)
    return results


def arena_attack_start(*, submission: Submission) -> None:
    """An arena attack passed its check run: it turns ``scoring`` and its row is scheduled.

    With no defense to run against, or every pair answered by the cache, it finishes at once.
    """
    with transaction.atomic():
        submission_services.submission_set_status(submission=submission, status=Submission.SCORING)
        arena_schedule_for(submission=submission)
        attack_settle(submission.pk)


def check_passed_before(*, submission: Submission) -> bool:
    """Whether byte-identical code of the same task already passed a check run in this competition.

    Its check run would run the same program on the same public sample: skipping it is what
    lets an identical resubmission cost no sandbox run at all.
    """
    return Run.objects.filter(
        purpose=Run.CHECK, failure_class="", exit_code=0,
        submission__competition_id=submission.competition_id, submission__task=submission.task,
        submission__sha256=submission.sha256,
        submission__status__in=[Submission.RUNNING, Submission.SCORING, Submission.FINISHED],
    ).exists()


def check_target(scratch: Path) -> Target:
    """The target of an attack's check run: public data only, no release is read."""
    return Target(release=scratch / "no-release-in-a-check-run.csv", key="check-run")



def attack_settle(attack_id: int) -> bool:
    """Finish an attack whose row is done (or fail it when every pair failed); True when it did."""
    attack = Submission.objects.select_for_update(of=("self",)).select_related("competition", "phase", "team").get(pk=attack_id)
    if attack.status != Submission.SCORING:
        return False
    results = list(ArenaResult.objects.filter(attack=attack))
    if any(r.status in ArenaResult.PENDING for r in results):
        return False
    if results and not any(r.status == ArenaResult.FINISHED for r in results):
        first = next((r for r in results if r.failure_class != Submission.CANCELLED), results[0])
        failure = first.failure_class if first.failure_class in dict(Submission.FAILURE_CLASSES) else Submission.INFRASTRUCTURE
        told = f"The attack failed against all {len(results)} defense(s). The first failure: "
        detail = first.run.message if first.run_id and first.run else ""
        submission_services.submission_set_status(
            submission=attack, status=Submission.FAILED, failure_class=failure, rule=first.run.rule if first.run_id and first.run else "",
            error=told + first.message, error_detail=told + (detail or first.message),
        )
        return True
    with transaction.atomic():
        pipeline.submission_finish(submission=attack, scores=attack_success_scores(attack))
        arena_schedule_for(submission=attack)
    return True



def is_arena_row_open(submission: Submission) -> bool:
    """An arena attack whose row is running: its liveness is its pairs', not its own start time."""
    return (
        submission.role == Submission.ATTACK
        and submission.status == Submission.SCORING
        and submission.competition.is_arena
    )

