"""Reads for the arena pages and API: the attack × defense matrix and the privacy–utility
Pareto front of the defenses (a defense's identifiability report: :mod:`evaluation.identifiability`).

Every function returns plain dicts and lists (JSON-ready: numbers, strings, booleans, None;
times as ISO 8601 strings) whose shape is documented in its docstring. They apply no access
rules of their own except where named (``report_defense_get``): callers decide whether the
viewer may see a split (the private split as ``competitions.access.may_see_private`` says, as
for leaderboards).
"""

from __future__ import annotations

from typing import Any

from django.core.cache import cache

from competitions.leaderboards.generations import cache_generation
from competitions.models import Metric, Phase
from config.formats import iso, rounded
from submissions.models import Score, Submission

from .arena import metric_rows
from .games.config import AVERAGE, EPSILON, OPTION, TOP_DECILE, WORST
from .identifiability import risk_level, split_check
from .models import ArenaResult

SPLITS = (Score.PUBLIC, Score.PRIVATE)
MATRIX_CACHE_SECONDS = 30


def _who(submission: Submission) -> dict:
    return {
        "submission": submission.pk,
        "team": submission.display_name,
        "team_id": submission.team_id,
        "baseline": submission.is_baseline,
        "created": iso(submission.created),
    }


def _metric(competition, task: str, key: str) -> dict:
    row = Metric.objects.filter(competition=competition, task=task, key=key).first()
    if row is not None:
        return {"key": row.key, "label": row.label, "direction": row.direction, "precision": row.precision}
    return {"key": key, "label": key.replace("_", " "), "direction": Metric.HIGHER, "precision": 4}


def _scores_of(submission_ids, split: str, keys) -> dict[int, dict[str, Score]]:
    out: dict[int, dict[str, Score]] = {pk: {} for pk in submission_ids}
    for score in Score.objects.filter(submission_id__in=list(submission_ids), split=split, metric__in=list(keys)):
        out[score.submission_id][score.metric] = score
    return out


def _arena_defenses(phase: Phase) -> list[Submission]:
    return list(
        Submission.objects.filter(phase=phase, role=Submission.DEFENSE, task=phase.competition.task, status=Submission.FINISHED)
        .exclude(release_sha256="").select_related("team").order_by("-is_baseline", "created", "id")
    )


# --------------------------------------------------------------------------- the matrix


def arena_matrix(*, phase: Phase, split: str = Score.PUBLIC, attack_task: str | None = None) -> dict:
    """The attack × defense matrix of an arena phase: rows are attacks, columns defenses.

    Columns are the phase's finished defenses (baselines first, then oldest first); rows the
    attacks in or past their row (status ``scoring`` or ``finished``), of ``attack_task`` only
    when given, grouped by task, baselines first. Each cell is the pair's primary metric of
    the attack's task (higher = stronger attack) and its status. Returns::

        {
          "competition": "slug", "phase": "name", "split": "public",
          "defense_task": "tabular-anonymization",
          "attack_tasks": [{"task": "membership-inference",
                            "metric": {"key", "label", "direction", "precision"}}, …],
          "defenses": [                                   # the columns, in order
            {"submission": 12, "team": "Team A" | baseline name, "team_id": 3 | None,
             "baseline": bool, "created": iso,
             "arena_privacy": float | None,               # 1 − strongest normalised attack success
             "utility": {"key", "label", "direction", "value": float | None}},  # the defense task's primary metric
            …],
          "rows": [                                       # one per attack
            {"attack": {"submission", "team", "team_id", "baseline", "created", "task", "status"},
             "metric": {"key", "label", "direction", "precision"},
             "cells": [                                   # aligned with "defenses"
               {"defense": 12,
                "status": "queued" | "running" | "finished" | "failed" | None,   # None: no pair (yet)
                "value": float | None, "ci_low": float | None, "ci_high": float | None,
                "normalised_success": float | None,       # 0 = guessing … 1 = complete success
                "level": "negligible" | "low" | "moderate" | "high" | None,  # band of normalised_success
                "strongest": bool,                        # the column's strongest attack (ties: all)
                "failure_class": str | None, "reused": bool},  # reused: answered by the cache
               …]},
            …],
          "counts": {"pairs": n, "finished": n, "pending": n, "failed": n},
        }

    ``strongest`` marks, in each defense's column, the cell(s) with the highest normalised
    success above zero: the attack that sets the defense's arena privacy (its worst case).
    """
    split_check(split)
    competition = phase.competition
    tasks = [t for t in competition.attack_tasks if attack_task in (None, t)]
    primaries = {t: metric_rows.primary_metric(competition=competition, task=t) for t in tasks}
    metas = {t: _metric(competition, t, primaries[t][0]) for t in tasks}  # once per task, not per row
    defenses = _arena_defenses(phase)
    utility_key, _, _ = metric_rows.primary_metric(competition=competition, task=competition.task)
    utility_meta = _metric(competition, competition.task, utility_key)
    defense_scores = _scores_of([d.pk for d in defenses], split, [utility_key, metric_rows.ARENA_PRIVACY])

    attacks = list(
        Submission.objects.filter(
            phase=phase, role=Submission.ATTACK, task__in=tasks, status__in=[Submission.SCORING, Submission.FINISHED]
        ).select_related("team").order_by("-is_baseline", "created", "id")
    )
    attacks.sort(key=lambda a: tasks.index(a.task))  # stable: keeps baselines-first, oldest-first per task
    results = {
        (r.attack_id, r.defense_id): r
        for r in ArenaResult.objects.filter(attack__in=attacks, defense__in=defenses)
    }
    counts = {"pairs": len(results), "finished": 0, "pending": 0, "failed": 0}
    for pair in results.values():
        counts["pending" if pair.status in ArenaResult.PENDING else pair.status] += 1

    columns = []
    for d in defenses:
        scores = defense_scores[d.pk]
        privacy = scores.get(metric_rows.ARENA_PRIVACY)
        utility = scores.get(utility_key)
        columns.append({
            **_who(d),
            "arena_privacy": rounded(privacy.value) if privacy else None,
            "utility": {**{k: utility_meta[k] for k in ("key", "label", "direction")},
                        "value": rounded(utility.value, utility_meta["precision"]) if utility else None},
        })

    rows: list[dict[str, Any]] = []
    for a in attacks:
        key, label, direction = primaries[a.task]
        cells = []
        for d in defenses:
            r = results.get((a.pk, d.pk))
            cell = ((r.scores or {}).get(split) or {}).get(key, {}) if r else {}
            success = metric_rows.normalised_success(key, cell.get("value"), direction)
            cells.append({
                "defense": d.pk,
                "status": r.status if r else None,
                "value": rounded(cell.get("value"), metas[a.task]["precision"]),
                "ci_low": rounded(cell.get("ci_low"), metas[a.task]["precision"]),
                "ci_high": rounded(cell.get("ci_high"), metas[a.task]["precision"]),
                "normalised_success": rounded(success),
                "level": risk_level(success),
                "strongest": False,
                "failure_class": (r.failure_class or None) if r else None,
                "reused": bool(r and r.reused_from_id),
            })
        rows.append({
            "attack": {**_who(a), "task": a.task, "status": a.status},
            "metric": metas[a.task],
            "cells": cells,
        })

    for column in range(len(defenses)):
        successes = [row["cells"][column]["normalised_success"] for row in rows]
        strongest = max((s for s in successes if s is not None), default=0.0)
        if strongest > 0:
            for row in rows:
                row["cells"][column]["strongest"] = row["cells"][column]["normalised_success"] == strongest

    return {
        "competition": competition.slug,
        "phase": phase.name,
        "split": split,
        "defense_task": competition.task,
        "attack_tasks": [{"task": t, "metric": metas[t]} for t in tasks],
        "defenses": columns,
        "rows": rows,
        "counts": counts,
    }


def arena_matrix_shared(*, phase: Phase, split: str = Score.PUBLIC) -> dict:
    """:func:`arena_matrix` from the shared cache, for the leaderboard page and its live refetches.

    Keyed by the phase's leaderboard generation, which every pushed change bumps: after a push
    each watcher refetches the matrix, and all of them get the one computed first. A row that
    starts or a pair that starts running pushes nothing; the short lifetime bounds how long the
    page may show such a pair as still queued.
    """
    split_check(split)
    key = f"arena-matrix:{phase.pk}:{cache_generation(phase=phase)}:{split}"
    matrix = cache.get(key)
    if matrix is None:
        matrix = arena_matrix(phase=phase, split=split)
        cache.set(key, matrix, MATRIX_CACHE_SECONDS)
    return matrix


# --------------------------------------------------------------------------- Pareto front


def arena_pareto_front(*, phase: Phase, split: str = Score.PUBLIC, utility_metric: str | None = None) -> dict:
    """The privacy–utility trade-off of the phase's finished defenses and its Pareto front.

    Privacy is ``arena_privacy`` (higher is more private); utility is ``utility_metric`` or the
    defense task's primary metric, with that metric's direction. A defense is on the front when
    no other defense is at least as good on both and better on one. Defenses with no privacy
    value yet (no attack finished against them) or no utility value are listed but never on
    the front. Returns::

        {
          "competition": "slug", "phase": "name", "split": "public",
          "utility_metric": {"key", "label", "direction", "precision"},
          "privacy_metric": {"key": "arena_privacy", "label", "direction": "higher", "precision"},
          "points": [
            {"submission": 12, "team": str, "team_id": int | None, "baseline": bool, "created": iso,
             "utility": float | None, "privacy": float | None, "on_front": bool},
            …],                                  # every finished defense, baselines included
          "front": [12, 7, …],                   # submission ids on the front, from most private to most useful
        }
    """
    split_check(split)
    competition = phase.competition
    if utility_metric is None:
        utility_metric, _, _ = metric_rows.primary_metric(competition=competition, task=competition.task)
    utility_meta = _metric(competition, competition.task, utility_metric)
    privacy_meta = _metric(competition, competition.task, metric_rows.ARENA_PRIVACY)
    privacy_meta["direction"] = Metric.HIGHER
    defenses = _arena_defenses(phase)
    scores = _scores_of([d.pk for d in defenses], split, [utility_metric, metric_rows.ARENA_PRIVACY])
    sign = 1 if utility_meta["direction"] == Metric.HIGHER else -1

    points = []
    for d in defenses:
        u = scores[d.pk].get(utility_metric)
        p = scores[d.pk].get(metric_rows.ARENA_PRIVACY)
        points.append({**_who(d), "utility": rounded(u.value, utility_meta["precision"]) if u else None,
                       "privacy": rounded(p.value) if p else None,
                       "on_front": False})

    complete = [pt for pt in points if pt["utility"] is not None and pt["privacy"] is not None]

    def dominates(a: dict, b: dict) -> bool:
        ua, ub = sign * a["utility"], sign * b["utility"]
        return ua >= ub and a["privacy"] >= b["privacy"] and (ua > ub or a["privacy"] > b["privacy"])

    for pt in complete:
        pt["on_front"] = not any(dominates(other, pt) for other in complete if other is not pt)
    front = sorted((pt for pt in complete if pt["on_front"]), key=lambda pt: (-pt["privacy"], -sign * pt["utility"]))
    return {
        "competition": competition.slug,
        "phase": phase.name,
        "split": split,
        "utility_metric": utility_meta,
        "privacy_metric": privacy_meta,
        "points": points,
        "front": [pt["submission"] for pt in front],
    }


def membership_game_overview(*, phase: Phase, split: str = Score.PUBLIC) -> dict | None:
    """The membership game's figures for the phase's finished defense baselines, or None where
    the competition has no game (:mod:`evaluation.membership_games`).

    Shape: ``{"defenses": [{submission, team, team_id, baseline, created, "played": bool,
    "worst" / "top_decile" / "average" / "epsilon": {value, ci_low, ci_high} | None,
    "sentences": {"average": str, "worst": str} | None}], "worst_case": [team, …],
    "average_case": [team, …]}`` — the two rankings, most private first, of the defenses
    whose game is played. A game still running shows ``played: false``.
    """
    split_check(split)
    if OPTION not in (phase.competition.options or {}):
        return None
    defenses = list(Submission.objects.filter(phase=phase, role=Submission.DEFENSE, is_baseline=True,
                                              status=Submission.FINISHED).order_by("pk"))
    keys = (WORST, TOP_DECILE, AVERAGE, EPSILON)
    scores = _scores_of([d.pk for d in defenses], split, keys)

    def figure(score: Score | None) -> dict | None:
        if score is None or score.value is None:
            return None
        return {"value": rounded(score.value), "ci_low": rounded(score.ci_low), "ci_high": rounded(score.ci_high)}

    rows = []
    for defense in defenses:
        found = scores.get(defense.pk, {})
        worst = found.get(WORST)
        rows.append({
            **_who(defense),
            "played": worst is not None and worst.value is not None,
            "worst": figure(worst), "top_decile": figure(found.get(TOP_DECILE)),
            "average": figure(found.get(AVERAGE)), "epsilon": figure(found.get(EPSILON)),
            "sentences": (worst.detail or {}).get("sentences") if worst is not None else None,
        })
    played = [r for r in rows if r["played"]]
    return {
        "defenses": rows,
        "worst_case": [r["team"] for r in sorted(played, key=lambda r: (r["worst"]["value"], r["submission"]))],
        "average_case": [r["team"] for r in sorted(played, key=lambda r: (r["average"]["value"], r["submission"]))],
    }
