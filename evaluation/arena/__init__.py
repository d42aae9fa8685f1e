"""The arena: defenses and attacks scored against each other (DESIGN.md, "Arena").

The package along its seams: :mod:`.metric_rows` (the derived metrics and their common
scale), :mod:`.scheduling` (columns, rows, the pair cache, the fair order), :mod:`.pair_run`
(one pair's run, composed of :mod:`evaluation.pipeline`'s blocks, and reaping) and
:mod:`.derived_scores` (each side's scores from its pairs).

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
:func:`~evaluation.arena.metric_rows.arena_metric_specs`)
    Defense, per split:
      * ``worst_<attack task>`` (e.g. ``worst_membership_inference``, ``worst_reidentification``,
        ``worst_attribute_inference``): the strongest finished attack of that task against this
        defense, measured by the task's primary metric (the competition's choice; by default
        TPR at FPR 0.1, re-identification rate, inference risk), with its confidence interval;
        ``detail`` names the attack. Lower is better for the defense.
      * ``arena_privacy`` = 1 − max over attack tasks of the strongest attack's *normalised
        success* (:func:`~evaluation.arena.metric_rows.normalised_success`: 0 = no better than guessing, 1 = complete
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

from .derived_scores import attack_success_scores, defense_privacy_scores
from .metric_rows import (
    ARENA_PRIVACY,
    SUCCESS_MAX,
    SUCCESS_TEAMS,
    DerivedMetric,
    arena_metric_specs,
    normalised_success,
    primary_metric,
    worst_key,
)
from .pair_run import arena_pair_evaluate, arena_pairs_reap, orphaned_pairs_requeue
from .scheduling import (
    PAIR_JOB,
    arena_attack_start,
    arena_schedule_for,
    check_passed_before,
    check_target,
    fair_order,
    is_arena_row_open,
    team_key,
)

__all__ = [
    "ARENA_PRIVACY",
    "PAIR_JOB",
    "SUCCESS_MAX",
    "SUCCESS_TEAMS",
    "DerivedMetric",
    "arena_attack_start",
    "arena_metric_specs",
    "arena_pair_evaluate",
    "arena_pairs_reap",
    "arena_schedule_for",
    "attack_success_scores",
    "check_passed_before",
    "check_target",
    "defense_privacy_scores",
    "fair_order",
    "is_arena_row_open",
    "normalised_success",
    "orphaned_pairs_requeue",
    "primary_metric",
    "team_key",
    "worst_key",
]
