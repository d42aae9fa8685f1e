"""The arena: defenses and attacks scored against each other (DESIGN.md, "Arena").

An arena competition pairs a defense task with attack tasks. Within a phase, every finished
defense (organizer baselines included) is a target and every arena attack is run against
every target; each (attack, defense) pair is one :class:`~evaluation.models.ArenaResult`.

Scheduling
    * A defense that finishes gets its *column*: one pair with every attack of the phase that
      is in or past its row (status ``scoring`` or ``finished``).
    * An attack has no fixed release to be scored on. After its check run on the public sample
      it turns ``scoring`` and gets its *row*: one pair with every finished defense. It stays
      ``scoring`` while its row runs and finishes, with its scores aggregated over the row, when
      the last pair of the row is done (it fails only when every pair failed). Defenses that
      finish later add pairs to finished attacks; their scores follow.
    * Both paths lock the phase row before reading the other side, and each sets its own
      status before taking the lock, so a defense and an attack finishing at the same moment
      cannot miss each other.

Caching
    A pair's result depends only on the attack's code, the release, the competition's data and
    the split assignment. Pairs are therefore cached by (attack task, attack sha256, release
    sha256) within the competition and among phases with the same public fraction: a pair
    that matches a finished one copies its scores (``reused_from``) and costs no sandbox run.
    The pair's seed is derived from the same key, so a re-run would draw the same inputs.

Fairness
    Pair jobs go to the evaluation queue (RQ, or the embedded worker) in the order they are
    scheduled. Within one column or row the pairs are interleaved round-robin by the team on
    the other side (the attacking teams for a column, the defending teams for a row; all
    baselines count as one organizer team), and teams with fewer pairs already waiting go
    first. So one team with many submissions cannot push another team's first pair to the end
    of a batch. Between batches the queue is first come, first served.

Derived scores (``Score`` rows; metric rows are added at bundle import, see
:func:`arena_metric_specs`)
    Defense, per split:
      * ``worst_<attack task>`` (e.g. ``worst_membership_inference``, ``worst_reidentification``,
        ``worst_attribute_inference``): the strongest finished attack of that task against this
        defense, measured by the task's primary metric (the competition's choice; by default
        TPR at FPR 0.1, re-identification rate, inference risk), with its confidence interval;
        ``detail`` names the attack. Lower is better for the defense.
      * ``arena_privacy`` = 1 − max over attack tasks of the strongest attack's *normalised
        success* (:func:`normalised_success`: 0 = no better than guessing, 1 = complete
        success). 1 means no attack did better than chance; no value until an attack finished.
    Attack, per split:
      * each metric of the attack's task (e.g. ``tpr_at_fpr_0_1``): the mean over all finished
        defenses it ran against, baselines included (what the attack leaderboard ranks by);
      * ``arena_success_teams``: the mean primary metric over the teams' defenses only
        (baselines left out: breaking an unprotected baseline is easy);
      * ``arena_success_max``: the best primary metric against any single defense.

Security: an attack run's /input holds only what the attack task's ``prepare`` writes from the
defense's release and the competition's data (fresh ids, no hidden file, no hidden id). The
competition's decrypted data and the decrypted release live in sibling folders of the run's
scratch folder that are never mounted.
"""

from __future__ import annotations

import logging
import math
from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from competitions import filestore
from competitions.leaderboards import push
from competitions.models import Competition, Metric, Phase
from evaluation.tasks import get_task
from evaluation.tasks.base import OutputInvalid, ScoreValue, Target
from sandbox import ImageArchiveInvalid, archive
from sandbox.spec import FailureClass
from submissions import services as submission_services
from submissions.models import Run, Score, Submission

from .models import ArenaResult

log = logging.getLogger(__name__)

SPLITS = (Score.PUBLIC, Score.PRIVATE)
PAIR_JOB = "evaluation.jobs.evaluate_arena_pair"
ARENA_PRIVACY = "arena_privacy"
SUCCESS_TEAMS = "arena_success_teams"
SUCCESS_MAX = "arena_success_max"

# What guessing achieves on an attack metric: normalised success is measured from here.
CHANCE_LEVEL = {"tpr_at_fpr_0_1": 0.1, "tpr_at_fpr_0_01": 0.01, "tpr_at_fpr_0_001": 0.001, "auc": 0.5}


def worst_key(attack_task: str) -> str:
    """The defense's metric key for its strongest attack of ``attack_task``."""
    return "worst_" + attack_task.replace("-", "_")


def normalised_success(metric: str, value: float | None, direction: str = Metric.HIGHER) -> float | None:
    """An attack metric on a common scale: 0 = no better than guessing, 1 = complete success.

    * TPR at a fixed FPR and ROC AUC: ``(value − chance) / (1 − chance)``, chance being the
      FPR (TPR of a random guess) or 0.5 (AUC);
    * the empirical ε lower bound: ``tanh(ε / 2) = (e^ε − 1) / (e^ε + 1)``, the largest
      membership advantage (TPR − FPR) an ε-differentially-private release allows;
    * rates, precisions, membership advantage and the anonymeter-style inference risk are
      already 0 at chance and 1 at full success.

    Values are clipped to [0, 1] (an attack worse than guessing is simply unsuccessful).
    A metric where lower means a stronger attack is turned around first.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    value = float(value)
    if metric == "epsilon_lower_bound":
        success = math.tanh(max(0.0, value) / 2)
    else:
        chance = CHANCE_LEVEL.get(metric, 0.0)
        success = (value - chance) / (1 - chance)
    if direction == Metric.LOWER:
        success = 1 - success
    return min(1.0, max(0.0, success))


# --------------------------------------------------------------------------- metric rows


@dataclass(frozen=True)
class ArenaMetric:
    task: str
    key: str
    label: str
    direction: str
    precision: int
    description: str


def arena_metric_specs(*, defense_task: str, attack_primaries: dict[str, tuple[str, str]]) -> list[ArenaMetric]:
    """The derived metrics an arena competition ranks by, for :class:`competitions.models.Metric`.

    ``attack_primaries`` maps each attack task to its primary metric's (key, label) as the
    competition defines it. None of these is primary: each board keeps ranking by its task's
    own primary metric (utility for defenses, mean success for attacks) and shows these next to it.
    """
    specs = []
    for task, (key, label) in attack_primaries.items():
        specs.append(ArenaMetric(
            defense_task, worst_key(task), f"Strongest {task} attack ({label})", Metric.LOWER, 4,
            f"The highest {label} any finished {task} attack reached against this defense; "
            "a defense is only as private as its strongest attack.",
        ))
    if attack_primaries:
        specs.append(ArenaMetric(
            defense_task, ARENA_PRIVACY, "Arena privacy", Metric.HIGHER, 4,
            "1 − the normalised success of the strongest attack of any type (0 = an attack fully succeeded, "
            "1 = no attack did better than guessing).",
        ))
    for task, (key, label) in attack_primaries.items():
        specs.append(ArenaMetric(
            task, SUCCESS_TEAMS, f"{label}, teams' defenses", Metric.HIGHER, 4,
            f"Mean {label} over the teams' defenses only (organizer baselines left out).",
        ))
        specs.append(ArenaMetric(
            task, SUCCESS_MAX, f"{label}, best single defense", Metric.HIGHER, 4,
            f"The highest {label} this attack reached against any one defense.",
        ))
    return specs


def primary_metric(*, competition: Competition, task: str) -> tuple[str, str, str]:
    """(key, label, direction) of ``task``'s primary metric in ``competition``."""
    metric = Metric.objects.filter(competition=competition, task=task, primary=True).first()
    if metric is not None:
        return metric.key, metric.label, metric.direction
    spec = get_task(task).primary_metric
    return spec.key, spec.label, spec.direction


# --------------------------------------------------------------------------- who meets whom


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
    from .services import run_seed

    return run_seed(competition=competition, purpose=f"arena-pair:{attack.task}:{attack.sha256}:{release_sha256}")


def _cached(result: ArenaResult, phase: Phase) -> ArenaResult | None:
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


def _reuse(result: ArenaResult, source: ArenaResult) -> bool:
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
    fields = {
        "release_sha256": defense.release_sha256, "status": ArenaResult.QUEUED, "scores": {}, "failure_class": "",
        "message": "", "run": None, "reused_from": None, "started": None, "finished": None, "attempts": 0,
        "seed": pair_seed(competition=defense.competition, attack=result.attack, release_sha256=defense.release_sha256),
    }
    for name, value in fields.items():
        setattr(result, name, value)
    result.save(update_fields=list(fields))


def _team_key(submission: Submission) -> str:
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
        groups.setdefault(_team_key(getattr(result, by)), []).append(result)
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


def _enqueue_on_commit(results: list[ArenaResult], phase: Phase) -> None:
    from . import queue

    jobs = [(r.attack_id, r.defense_id) for r in results]

    def send() -> None:
        for attack_id, defense_id in jobs:
            queue.job_enqueue(function=PAIR_JOB, args=(attack_id, defense_id), phase=phase,
                              key=f"arena-pair-{attack_id}-{defense_id}")

    if jobs:
        transaction.on_commit(send)


# --------------------------------------------------------------------------- scheduling


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
                source = _cached(result, phase)
                if source is not None and _reuse(result, source):
                    reused.append(result)
            results.append(result)

        if submission.role == Submission.DEFENSE:
            _defense_scores_update(submission)
            for result in reused:
                if result.attack.status == Submission.FINISHED:
                    _attack_scores_update(result.attack)
        else:
            for result in reused:
                _defense_scores_update(result.defense)
            if submission.status == Submission.FINISHED:
                _attack_scores_update(submission)
        if reused:
            push.leaderboard_changed(phase)
        _enqueue_on_commit(fair_order([r for r in results if r.status == ArenaResult.QUEUED], by=by), phase)
    return results


def arena_attack_start(*, submission: Submission) -> None:
    """An arena attack passed its check run: it turns ``scoring`` and its row is scheduled.

    With no defense to run against, or every pair answered by the cache, it finishes at once.
    """
    with transaction.atomic():
        submission_services.submission_set_status(submission=submission, status=Submission.SCORING)
        arena_schedule_for(submission=submission)
        _attack_settle(submission.pk)


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


# --------------------------------------------------------------------------- one pair


@dataclass
class _Outcome:
    scores: dict | None = None
    failure_class: str = ""
    message: str = ""
    run: Run | None = None


def arena_pair_evaluate(*, attack_id: int, defense_id: int) -> None:
    """Run one attack against one defense's release, score it and update both sides' scores.

    Safe to call twice: only a queued (or interrupted) pair runs, and a pair the cache can
    answer runs nothing.
    """
    with transaction.atomic():
        result = (
            ArenaResult.objects.select_for_update(of=("self",))
            .select_related("attack__competition", "attack__phase__competition", "attack__team", "defense__team")
            .filter(attack_id=attack_id, defense_id=defense_id)
            .first()
        )
        if result is None or result.status not in ArenaResult.PENDING:
            return
        attack, defense = result.attack, result.defense
        phase = attack.phase
        if (attack.status not in (Submission.SCORING, Submission.FINISHED) or defense.status != Submission.FINISHED
                or defense.release_sha256 != result.release_sha256):
            _finish(result, _Outcome(failure_class=Submission.CANCELLED,
                                     message="The attack or the defense left the arena before this pair ran."))
            return
        source = _cached(result, phase)
        if source is not None and _reuse(result, source):
            _after_pair(result)
            return
        ArenaResult.objects.filter(pk=result.pk).update(
            status=ArenaResult.RUNNING, started=timezone.now(), attempts=result.attempts + 1
        )
        result.status, result.attempts = ArenaResult.RUNNING, result.attempts + 1

    from .services import InfrastructureFault

    try:
        outcome = _pair_run(result, attack, defense)
    except InfrastructureFault as exc:
        _pair_infrastructure_failure(result, str(exc))
        return
    except Exception as exc:  # a platform bug: never blamed on either team
        log.exception("arena pair attack %s × defense %s failed", attack_id, defense_id)
        _pair_infrastructure_failure(result, f"{type(exc).__name__}: {exc}", retry=False)
        return
    with transaction.atomic():
        _finish(result, outcome)


def _pair_run(result: ArenaResult, attack: Submission, defense: Submission) -> _Outcome:
    from . import services

    task = get_task(attack.task)
    competition = attack.competition
    with services.scratch_dir(f"arena-pair-{attack.pk}-{defense.pk}-") as scratch:
        # Hidden data and the clear release stay in these host-only folders; only
        # scratch/input, written by the attack task from them, is mounted into the run.
        data = services.task_data_materialize(competition=competition, dest=scratch / "data")
        (scratch / "target").mkdir(mode=0o700)
        try:
            release = filestore.copy_to(defense.release_path, scratch / "target" / get_task(defense.task).output_name, encrypted=True,
                                        sha256=defense.release_sha256)
        except filestore.StoredFileCorrupt as exc:
            raise services.InfrastructureFault(str(exc)) from exc
        try:
            workspace = services.workspace_open(submission=attack, scratch=scratch)
        except (archive.SubmissionArchiveInvalid, ImageArchiveInvalid) as exc:
            return _Outcome(failure_class=Submission.EXIT_CODE, message=f"The archive cannot be run: {exc}")
        try:
            prepared = task.prepare(data=data, dest=scratch / "input", check=False, seed=result.seed,
                                    target=Target(release=release, key=defense.release_sha256))
            services._make_readable(prepared.input_dir)
            spec = services.run_spec_build(
                submission=attack, task=task, submission_dir=workspace.submission_dir, input_dir=prepared.input_dir,
                command=workspace.command, image=workspace.image, seed=result.seed, purpose=Run.ARENA,
            )
            started = timezone.now()
            run_result = services.sandbox_run(spec=spec, output_dir=scratch / "output")
        finally:
            workspace.close()
        if run_result.failure is FailureClass.INFRASTRUCTURE:
            raise services.InfrastructureFault(run_result.message)
        # The input derives from hidden data (the release, challenge records): logs for organizers only.
        run = services.run_record(submission=attack, purpose=Run.ARENA, result=run_result, saw_hidden_data=True,
                                  target=defense, started=started)
        if not run_result.ok:
            return _Outcome(failure_class=run_result.failure.value, run=run,
                            message=run_result.message + " (Logs of arena runs are shown to organizers only.)")
        try:
            output = task.validate(path=scratch / "output" / task.output_name, prepared=prepared)
        except OutputInvalid as exc:
            Run.objects.filter(pk=run.pk).update(message=str(exc))
            return _Outcome(failure_class=Submission.INVALID_OUTPUT, run=run,
                            message=services.participant_message(error=exc, saw_hidden_data=True))
        scores = task.score(output=output, prepared=prepared, splits=services.splits_for(phase=attack.phase))
        return _Outcome(scores=_scores_json(scores), run=run)


def _scores_json(scores: dict[str, dict[str, ScoreValue]]) -> dict:
    from .services import _finite

    def entry(v: ScoreValue) -> dict:
        out = {"value": _finite(v.value), "ci_low": _finite(v.ci_low), "ci_high": _finite(v.ci_high)}
        if (v.detail or {}).get("roc"):  # the pair's ROC curve, drawn on the attack's page and in the report
            out["roc"] = v.detail["roc"]
        return out

    return {split: {key: entry(v) for key, v in metrics.items()} for split, metrics in scores.items()}


def _finish(result: ArenaResult, outcome: _Outcome) -> None:
    """Save the pair's outcome and update everything derived from it, in the caller's transaction."""
    result.status = ArenaResult.FINISHED if outcome.scores is not None else ArenaResult.FAILED
    result.scores = outcome.scores or {}
    result.failure_class = outcome.failure_class
    result.message = outcome.message
    result.run = outcome.run
    result.finished = timezone.now()
    result.save(update_fields=["status", "scores", "failure_class", "message", "run", "finished"])
    _after_pair(result)


def _after_pair(result: ArenaResult) -> None:
    # Attack first, then defense: the order in which an attack's row start takes them.
    attack = Submission.objects.select_for_update(of=("self",)).select_related("competition", "phase", "team").get(pk=result.attack_id)
    defense = Submission.objects.select_for_update(of=("self",)).select_related("competition", "phase", "team").get(pk=result.defense_id)
    _defense_scores_update(defense)
    if attack.status == Submission.FINISHED:
        _attack_scores_update(attack)
    elif _attack_settle(attack.pk):
        return  # the attack's status change pushed the boards already
    push.leaderboard_changed(defense.phase)


def _pair_infrastructure_failure(result: ArenaResult, detail: str, *, retry: bool = True) -> None:
    """The platform failed this pair: queue it again, or give up after the retries (never the teams' fault)."""
    with transaction.atomic():
        result = ArenaResult.objects.select_for_update(of=("self",)).select_related("attack__phase").get(pk=result.pk)
        if retry and result.attempts <= settings.ARENA_MAX_INFRA_RETRIES:
            ArenaResult.objects.filter(pk=result.pk).update(status=ArenaResult.QUEUED, message="")
            result.status = ArenaResult.QUEUED
            _enqueue_on_commit([result], result.attack.phase)
            log.warning("arena pair %s requeued after an infrastructure fault: %s", result.pk, detail)
            return
        log.error("arena pair %s failed for good: %s", result.pk, detail)
        _finish(result, _Outcome(
            failure_class=Submission.INFRASTRUCTURE,
            message="The platform could not run this attack against this defense (an infrastructure fault).",
        ))


# --------------------------------------------------------------------------- derived scores


def _scores_replace(submission: Submission, scores: dict[str, dict[str, ScoreValue]], *, keys: set[str] | None) -> None:
    """Replace ``submission``'s Score rows for ``keys`` (all rows when None) by ``scores``."""
    from .services import _finite

    existing = Score.objects.filter(submission=submission)
    if keys is not None:
        existing = existing.filter(metric__in=keys)
    existing.delete()
    Score.objects.bulk_create([
        Score(submission=submission, split=split, metric=key, value=_finite(v.value), ci_low=_finite(v.ci_low),
              ci_high=_finite(v.ci_high), detail=v.detail or {})
        for split, metrics in scores.items()
        for key, v in metrics.items()
    ])


def _who(submission: Submission) -> dict:
    return {
        "submission": submission.pk,
        "team": submission.display_name,
        "baseline": submission.is_baseline,
    }


def defense_privacy_scores(defense: Submission) -> dict[str, dict[str, ScoreValue]]:
    """The defense's worst case over the finished attacks, per split (see the module docstring)."""
    competition = defense.competition
    results = list(
        ArenaResult.objects.filter(defense=defense, status=ArenaResult.FINISHED).select_related("attack__team").order_by("finished", "id")
    )
    primaries = {task: primary_metric(competition=competition, task=task) for task in competition.attack_tasks}
    out: dict[str, dict[str, ScoreValue]] = {}
    for split in SPLITS:
        scores: dict[str, ScoreValue] = {}
        strongest: tuple[float, str, ArenaResult, float | None, float | None] | None = None
        for task, (key, label, direction) in primaries.items():
            best: ArenaResult | None = None
            ran = 0
            for result in results:
                if result.attack_task != task or result.value(split, key) is None:
                    continue
                ran += 1
                value = result.value(split, key)
                if best is None or (value > best.value(split, key) if direction == Metric.HIGHER else value < best.value(split, key)):
                    best = result
            if best is None:
                scores[worst_key(task)] = ScoreValue(None, detail={"reason": f"no {task} attack has finished against this defense yet"})
                continue
            cell = best.scores[split][key]
            success = normalised_success(key, cell["value"], direction)
            scores[worst_key(task)] = ScoreValue(cell["value"], cell.get("ci_low"), cell.get("ci_high"), detail={
                "attack": _who(best.attack), "task": task, "metric": key, "metric_label": label,
                "normalised_success": success, "attacks_finished": ran,
            })
            if success is not None and (strongest is None or success > strongest[0]):
                low = normalised_success(key, cell.get("ci_low"), direction)
                high = normalised_success(key, cell.get("ci_high"), direction)
                strongest = (success, task, best, low, high)
        if strongest is None:
            scores[ARENA_PRIVACY] = ScoreValue(None, detail={"reason": "no attack has finished against this defense yet"})
        else:
            success, task, best, low, high = strongest
            scores[ARENA_PRIVACY] = ScoreValue(
                1 - success, None if high is None else 1 - high, None if low is None else 1 - low,
                detail={"strongest_task": task, "attack": _who(best.attack), "normalised_success": success},
            )
        out[split] = scores
    return out


def _derived_defense_keys(competition: Competition) -> set[str]:
    return {worst_key(task) for task in competition.attack_tasks} | {ARENA_PRIVACY}


def _defense_scores_update(defense: Submission) -> None:
    if defense.status != Submission.FINISHED:
        return
    _scores_replace(defense, defense_privacy_scores(defense), keys=_derived_defense_keys(defense.competition))


def attack_success_scores(attack: Submission) -> dict[str, dict[str, ScoreValue]]:
    """The attack's success across the defenses it ran against, per split (see the module docstring)."""
    task = get_task(attack.task)
    key, label, direction = primary_metric(competition=attack.competition, task=attack.task)
    results = list(
        ArenaResult.objects.filter(attack=attack, status=ArenaResult.FINISHED).select_related("defense__team").order_by("defense__created", "defense_id")
    )
    out: dict[str, dict[str, ScoreValue]] = {}
    for split in SPLITS:
        scores: dict[str, ScoreValue] = {}
        for spec in task.metrics:
            values = [r.value(split, spec.key) for r in results if r.value(split, spec.key) is not None]
            if values:
                scores[spec.key] = ScoreValue(sum(values) / len(values), detail={
                    "aggregate": "mean over defenses", "defenses": len(values), "min": min(values), "max": max(values)})
            else:
                scores[spec.key] = ScoreValue(None, detail={"reason": "no finished run against a defense yet"})
        teams = [r.value(split, key) for r in results if not r.defense.is_baseline and r.value(split, key) is not None]
        scores[SUCCESS_TEAMS] = (
            ScoreValue(sum(teams) / len(teams), detail={"metric": key, "defenses": len(teams)}) if teams
            else ScoreValue(None, detail={"reason": "no finished run against a team's defense yet"})
        )
        best = None
        for result in results:
            value = result.value(split, key)
            if value is not None and (best is None or (value > best[0] if direction == Metric.HIGHER else value < best[0])):
                best = (value, result)
        scores[SUCCESS_MAX] = (
            ScoreValue(best[0], best[1].scores[split][key].get("ci_low"), best[1].scores[split][key].get("ci_high"),
                       detail={"metric": key, "defense": _who(best[1].defense)}) if best
            else ScoreValue(None, detail={"reason": "no finished run against a defense yet"})
        )
        out[split] = scores
    return out


def _attack_scores_update(attack: Submission) -> None:
    """A finished attack's scores follow its row: all its Score rows are arena aggregates."""
    _scores_replace(attack, attack_success_scores(attack), keys=None)


def _attack_settle(attack_id: int) -> bool:
    """Finish an attack whose row is done (or fail it when every pair failed); True when it did."""
    from . import services

    attack = Submission.objects.select_for_update(of=("self",)).select_related("competition", "phase", "team").get(pk=attack_id)
    if attack.status != Submission.SCORING:
        return False
    results = list(ArenaResult.objects.filter(attack=attack))
    if any(r.status in ArenaResult.PENDING for r in results):
        return False
    if results and not any(r.status == ArenaResult.FINISHED for r in results):
        first = next((r for r in results if r.failure_class != Submission.CANCELLED), results[0])
        failure = first.failure_class if first.failure_class in dict(Submission.FAILURE_CLASSES) else Submission.INFRASTRUCTURE
        submission_services.submission_set_status(
            submission=attack, status=Submission.FAILED, failure_class=failure,
            error=f"The attack failed against all {len(results)} defense(s). The first failure: {first.message}",
        )
        return True
    services.scores_save(submission=attack, scores=attack_success_scores(attack))
    return True


# --------------------------------------------------------------------------- reaping


def arena_pairs_reap(*, now=None) -> int:
    """Requeue pairs whose worker stopped answering past their time limit; settle rows left open."""
    now = now or timezone.now()
    reaped = 0
    for result in ArenaResult.objects.filter(status=ArenaResult.RUNNING).select_related("attack__phase"):
        allowed = float(result.attack.phase.limits.get("wall_seconds", 600)) + settings.ARENA_RUN_MARGIN_SECONDS
        if result.started and (now - result.started).total_seconds() > allowed:
            _pair_infrastructure_failure(result, "the worker stopped answering (killed or restarted) past the time limit")
            reaped += 1
    open_rows = Submission.objects.filter(status=Submission.SCORING, role=Submission.ATTACK).exclude(competition__attack_tasks=[])
    for attack_id in open_rows.exclude(arena_results_as_attack__status__in=ArenaResult.PENDING).values_list("pk", flat=True):
        with transaction.atomic():
            _attack_settle(attack_id)
    return reaped


def is_arena_row_open(submission: Submission) -> bool:
    """An arena attack whose row is running: its liveness is its pairs', not its own start time."""
    return (
        submission.role == Submission.ATTACK
        and submission.status == Submission.SCORING
        and submission.competition.is_arena
    )


__all__ = [
    "ARENA_PRIVACY",
    "SUCCESS_MAX",
    "SUCCESS_TEAMS",
    "arena_attack_start",
    "arena_metric_specs",
    "arena_pair_evaluate",
    "arena_pairs_reap",
    "arena_schedule_for",
    "attack_success_scores",
    "check_passed_before",
    "defense_privacy_scores",
    "fair_order",
    "normalised_success",
    "worst_key",
]
