"""Reads for the arena pages and API: the attack × defense matrix, the privacy–utility Pareto
front of the defenses, and a defense's identifiability report.

Every function returns plain dicts and lists (JSON-ready: numbers, strings, booleans, None;
times as ISO 8601 strings) whose shape is documented in its docstring. They apply no access
rules of their own except where named (``report_defense_get``): callers decide whether the
viewer may see a split (the private split only once ``phase.private_visible()`` or for the
competition's organizers, as for leaderboards).
"""

from __future__ import annotations

import math

from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from competitions import selectors as competition_selectors
from competitions.leaderboards.selectors import cache_generation
from competitions.models import Metric, Phase
from submissions.models import Score, Submission

from . import arena
from .models import ArenaResult

SPLITS = (Score.PUBLIC, Score.PRIVATE)
MATRIX_CACHE_SECONDS = 30


def _iso(moment) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def _number(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _who(submission: Submission) -> dict:
    return {
        "submission": submission.pk,
        "team": submission.display_name,
        "team_id": submission.team_id,
        "baseline": submission.is_baseline,
        "created": _iso(submission.created),
    }


def _metric(competition, task: str, key: str) -> dict:
    row = Metric.objects.filter(competition=competition, task=task, key=key).first()
    if row is not None:
        return {"key": row.key, "label": row.label, "direction": row.direction, "precision": row.precision}
    return {"key": key, "label": key.replace("_", " "), "direction": Metric.HIGHER, "precision": 4}


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")


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
    _check_split(split)
    competition = phase.competition
    tasks = [t for t in competition.attack_tasks if attack_task in (None, t)]
    primaries = {t: arena.primary_metric(competition=competition, task=t) for t in tasks}
    metas = {t: _metric(competition, t, primaries[t][0]) for t in tasks}  # once per task, not per row
    defenses = _arena_defenses(phase)
    utility_key, _, _ = arena.primary_metric(competition=competition, task=competition.task)
    utility_meta = _metric(competition, competition.task, utility_key)
    defense_scores = _scores_of([d.pk for d in defenses], split, [utility_key, arena.ARENA_PRIVACY])

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
    for r in results.values():
        counts["pending" if r.status in ArenaResult.PENDING else r.status] += 1

    columns = []
    for d in defenses:
        scores = defense_scores[d.pk]
        privacy = scores.get(arena.ARENA_PRIVACY)
        utility = scores.get(utility_key)
        columns.append({
            **_who(d),
            "arena_privacy": _number(privacy.value) if privacy else None,
            "utility": {**{k: utility_meta[k] for k in ("key", "label", "direction")}, "value": _number(utility.value) if utility else None},
        })

    rows = []
    for a in attacks:
        key, label, direction = primaries[a.task]
        cells = []
        for d in defenses:
            r = results.get((a.pk, d.pk))
            cell = ((r.scores or {}).get(split) or {}).get(key, {}) if r else {}
            success = arena.normalised_success(key, cell.get("value"), direction)
            cells.append({
                "defense": d.pk,
                "status": r.status if r else None,
                "value": _number(cell.get("value")),
                "ci_low": _number(cell.get("ci_low")),
                "ci_high": _number(cell.get("ci_high")),
                "normalised_success": success,
                "level": _band(success),
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
    _check_split(split)
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
    _check_split(split)
    competition = phase.competition
    if utility_metric is None:
        utility_metric, _, _ = arena.primary_metric(competition=competition, task=competition.task)
    utility_meta = _metric(competition, competition.task, utility_metric)
    privacy_meta = _metric(competition, competition.task, arena.ARENA_PRIVACY)
    privacy_meta["direction"] = Metric.HIGHER
    defenses = _arena_defenses(phase)
    scores = _scores_of([d.pk for d in defenses], split, [utility_metric, arena.ARENA_PRIVACY])
    sign = 1 if utility_meta["direction"] == Metric.HIGHER else -1

    points = []
    for d in defenses:
        u = scores[d.pk].get(utility_metric)
        p = scores[d.pk].get(arena.ARENA_PRIVACY)
        points.append({**_who(d), "utility": _number(u.value) if u else None, "privacy": _number(p.value) if p else None,
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


# --------------------------------------------------------------------------- identifiability report

# Maximum re-identification risk thresholds used as reference points for releasing health data.
# They are guidance from regulators and the de-identification literature, not legal limits.
RISK_THRESHOLDS = (
    {
        "threshold": 0.05,
        "label": "strict",
        "source": "A stricter value used in the health-data de-identification literature for highly sensitive data "
                  "or less controlled releases (e.g. K. El Emam, Guide to the De-Identification of Personal Health "
                  "Information, 2013); corresponds to groups of at least 20.",
    },
    {
        "threshold": 0.09,
        "label": "public release of clinical data",
        "source": "The maximum risk named for public release of clinical-trial documents in the European Medicines "
                  "Agency's external guidance on Policy 0070 (EMA/90915/2016) and Health Canada's guidance on Public "
                  "Release of Clinical Information (2019); corresponds to groups of at least 12.",
    },
    {
        "threshold": 0.2,
        "label": "controlled sharing",
        "source": "A looser value commonly cited for data shared with a vetted recipient under contract and "
                  "security controls (e.g. El Emam, 2013); corresponds to groups of at least 5.",
    },
)

CRITERIA = (
    ("singling_out", "singling_out_risk", "Singling out",
     "whether someone could use the release to isolate one real patient's record, e.g. "
     "\"the only 87-year-old woman in postcode 10117 with this diagnosis\""),
    ("linkability", "linkability_risk", "Linkability",
     "whether records about the same patient in two separate data sets (here: two halves of the columns) could be "
     "linked to each other through the release"),
    ("inference", "inference_risk", "Inference",
     "whether the release lets someone deduce a patient's sensitive attribute (the first sensitive column) from "
     "the other facts they know about that patient, better than from people outside the data"),
)

# A reading aid for the normalised risks (0 = no better than guessing, 1 = always right).
RISK_BANDS = ((0.05, "negligible"), (0.2, "low"), (0.5, "moderate"), (math.inf, "high"))

DISCLAIMER = (
    "This report is a technical assessment of one data release against the attacks and metrics run on this "
    "platform. It is not legal advice and not a legal determination that the data are anonymous (for example under "
    "the GDPR). Risks were measured against the attacks available here; other attackers, other auxiliary data or "
    "later releases can change them. Decisions on releasing data belong with the data controller and their data-"
    "protection officer."
)


def risk_bands() -> list[dict]:
    """The reading aid's bands as ``[{"below": 0.05, "level": "negligible"}, …, {"below": None, "level": "high"}]``."""
    return [{"below": None if math.isinf(limit) else limit, "level": name} for limit, name in RISK_BANDS]


def _band(value: float | None) -> str | None:
    if value is None:
        return None
    for limit, name in RISK_BANDS:
        if value < limit:
            return name
    return RISK_BANDS[-1][1]


def _pct(value: float | None) -> str:
    return "unknown" if value is None else f"{100 * value:.1f}%"


def _criterion(name: str, key: str, label: str, meaning: str, score: Score | None) -> dict:
    value = _number(score.value) if score else None
    low = _number(score.ci_low) if score else None
    high = _number(score.ci_high) if score else None
    detail = score.detail if score else {}
    if value is None:
        reason = (detail or {}).get("reason") or "it was not measured for this release"
        explanation = f"{label}: not measured ({reason})."
    else:
        band = _band(max(0.0, value))
        interval = f" (95% confidence interval {_pct(low)} to {_pct(high)})" if low is not None and high is not None else ""
        explanation = (
            f"{label} checks {meaning}. Measured risk: {_pct(max(0.0, value))}{interval}, which reads as {band}. "
            "0% means the release helps an attacker no more than data about other people from the same population; "
            "100% means every attempt succeeds."
        )
    return {
        "criterion": name,
        "metric": key,
        "label": label,
        "value": value,
        "ci_low": low,
        "ci_high": high,
        "level": _band(max(0.0, value)) if value is not None else None,
        "available": value is not None,
        "rates": (detail or {}).get("rates"),
        "explanation": explanation,
    }


def identifiability_report(*, defense: Submission, split: str = Score.PUBLIC) -> dict:
    """How identifiable the people behind a finished defense's release are, for a doctor or a DPO.

    Built from the defense's stored scores on ``split`` (the tabular-anonymization task computes
    the criteria; the arena adds its worst-case attack results). Returns::

        {
          "submission": 12, "team": str, "baseline": bool, "competition": "slug", "phase": "name",
          "task": "tabular-anonymization", "split": "public", "generated": iso, "release_sha256": hex,
          "criteria": [                         # the three risks of Article 29 WP Opinion 05/2014
            {"criterion": "singling_out" | "linkability" | "inference", "metric": key, "label": str,
             "value": float | None, "ci_low": float | None, "ci_high": float | None,
             "level": "negligible" | "low" | "moderate" | "high" | None, "available": bool,
             "rates": {"attack": {...}, "control": {...}, "baseline": {...}} | None,
             "explanation": str},
            …],
          "risk_bands": [{"below": 0.05, "level": "negligible"}, …],
          "k_anonymity": {
            "k": float | None,                  # smallest group of rows sharing their quasi-identifiers
            "quasi_identifiers": [column, …],
            "prosecutor_risk": float | None,    # highest re-identification risk = 1 / k
            "average_risk": float | None, "records_at_risk": float | None,  # share above 0.09
            "thresholds": [
              {"threshold": 0.09, "label": str, "source": str, "k_needed": 12,
               "max_risk_within": bool | None, "average_risk_within": bool | None},
              …],
            "explanation": str},
          "strongest_attacks": [                # one per attack task of the arena
            {"task": str, "metric": {"key", "label"}, "value": float | None, "ci_low", "ci_high",
             "normalised_success": float | None, "attack": {"submission", "team", "baseline"} | None,
             "attacks_finished": int, "explanation": str},
            …],
          "arena_privacy": float | None,
          "summary": str,                       # plain-language paragraph
          "disclaimer": str,                    # technical assessment, not legal advice
        }
    """
    _check_split(split)
    competition = defense.competition
    scores = {s.metric: s for s in Score.objects.filter(submission=defense, split=split)}

    criteria = [_criterion(name, key, label, meaning, scores.get(key)) for name, key, label, meaning in CRITERIA]

    k_score, prosecutor = scores.get("k_anonymity"), scores.get("prosecutor_risk")
    k = _number(k_score.value) if k_score else None
    max_risk = _number(prosecutor.value) if prosecutor else None
    average = _number((prosecutor.detail or {}).get("average_risk")) if prosecutor else None
    at_risk = scores.get("records_at_risk")
    thresholds = [
        {
            **t,
            "k_needed": math.ceil(1 / t["threshold"] - 1e-9),
            "max_risk_within": None if max_risk is None else max_risk <= t["threshold"],
            "average_risk_within": None if average is None else average <= t["threshold"],
        }
        for t in RISK_THRESHOLDS
    ]
    qis = list(competition.schema.get("quasi_identifiers") or [])
    if k is None or max_risk is None:
        k_text = "k-anonymity and the prosecutor risk could not be measured for this release."
    else:
        met = [t for t in thresholds if t["max_risk_within"]]
        k_text = (
            f"Every combination of the quasi-identifiers ({', '.join(qis)}) is shared by at least {k:g} rows of the "
            f"release (k = {k:g}), so an attacker who knows someone is in the data and knows these facts picks the "
            f"right row with probability at most {_pct(max_risk)} (prosecutor model)"
            + (f"; on average {_pct(average)}" if average is not None else "")
            + ". "
            + (f"That is within the {', '.join(str(t['threshold']) for t in met)} reference threshold(s)."
               if met else "That exceeds all the reference thresholds (0.05, 0.09, 0.2).")
        )

    strongest = []
    # Pairs that finished without a value (a metric undefined for this release) are not "no attack yet".
    finished_pairs: dict[str, int] = {}
    if competition.attack_tasks:
        for task in ArenaResult.objects.filter(defense=defense, status=ArenaResult.FINISHED).values_list("attack_task", flat=True):
            finished_pairs[task] = finished_pairs.get(task, 0) + 1
    for task in competition.attack_tasks:
        key, label, _direction = arena.primary_metric(competition=competition, task=task)
        score = scores.get(arena.worst_key(task))
        value = _number(score.value) if score else None
        detail = (score.detail or {}) if score else {}
        attack = detail.get("attack")
        if value is None and finished_pairs.get(task):
            text = (f"{finished_pairs[task]} {task} attack(s) finished against this release, but {label} is undefined "
                    "for it (for example, a release without record ids has no row to re-identify), so none of them "
                    "measured a risk.")
        elif value is None:
            text = f"No {task} attack has finished against this release yet."
        else:
            who = attack.get("team") if attack else "an attack"
            text = (f"The strongest {task} attack (by {who}) reached {label} = {value:.3f}, a normalised success of "
                    f"{_pct(detail.get('normalised_success'))} (0% = guessing, 100% = complete success), "
                    f"over {detail.get('attacks_finished', 0)} finished attack(s).")
        strongest.append({
            "task": task,
            "metric": {"key": key, "label": label},
            "value": value,
            "ci_low": _number(score.ci_low) if score else None,
            "ci_high": _number(score.ci_high) if score else None,
            "normalised_success": detail.get("normalised_success"),
            "attack": {k_: attack[k_] for k_ in ("submission", "team", "baseline")} if attack else None,
            "attacks_finished": detail.get("attacks_finished", 0),
            "explanation": text,
        })
    privacy_score = scores.get(arena.ARENA_PRIVACY)
    privacy = _number(privacy_score.value) if privacy_score else None

    measured = [c for c in criteria if c["available"]]
    worst = max(measured, key=lambda c: c["value"], default=None)
    summary_parts = [
        "This release was checked for the three ways people can be identified from data that the European data-"
        "protection authorities name (Article 29 Working Party, Opinion 05/2014): singling out, linkability and "
        "inference."
    ]
    if worst is not None:
        summary_parts.append(f"The highest of these risks is {worst['label'].lower()} at {_pct(max(0.0, worst['value']))} ({worst['level']}).")
    summary_parts.append(k_text)
    if privacy is not None:
        summary_parts.append(
            f"Teams' and organizers' attacks were also run against the release: its arena privacy is {privacy:.3f} "
            "(1 = no attack did better than guessing, 0 = an attack fully succeeded)."
        )
    elif competition.is_arena:
        summary_parts.append("No attack has finished against the release yet; the attack results will appear here.")

    return {
        "submission": defense.pk,
        "team": defense.display_name,
        "baseline": defense.is_baseline,
        "competition": competition.slug,
        "phase": defense.phase.name,
        "task": defense.task,
        "split": split,
        "generated": _iso(timezone.now()),
        "release_sha256": defense.release_sha256 or None,
        "criteria": criteria,
        "risk_bands": risk_bands(),
        "k_anonymity": {
            "k": k,
            "quasi_identifiers": qis,
            "prosecutor_risk": max_risk,
            "average_risk": average,
            "records_at_risk": _number(at_risk.value) if at_risk else None,
            "thresholds": thresholds,
            "explanation": k_text,
        },
        "strongest_attacks": strongest,
        "arena_privacy": privacy,
        "summary": " ".join(summary_parts),
        "disclaimer": DISCLAIMER,
    }


def report_defense_get(*, submission_id: int, user) -> tuple[Submission, str]:
    """The finished defense whose report ``user`` may read, and as whom: ``"organizer"``,
    ``"team"`` (its team, or anyone for an organizer baseline) or ``"public"``.

    In a published competition everyone may read the public split's report of every finished
    defense: its public scores already stand in the arena matrix and on the board. Its team
    and the organizers (and, for a baseline, everyone) may also read the private split once
    it is revealed. Anyone else gets 404, as for any submission that is not theirs; a
    submission that is not a finished defense gets 404 too.
    """
    submission = (
        Submission.objects.select_related("competition", "phase", "team").filter(pk=submission_id).first()
    )
    if submission is None:
        raise Http404(f"No submission {submission_id}.")
    published = submission.competition.published
    if competition_selectors.is_organizer(competition=submission.competition, user=user):
        reader = "organizer"
    elif (submission.is_baseline and published) or (
        user is not None and user.is_authenticated and submission.team_id is not None
        and submission.team.memberships.filter(user=user).exists()
    ):
        reader = "team"
    elif published and submission.role == Submission.DEFENSE and submission.status == Submission.FINISHED:
        reader = "public"
    else:
        raise Http404(f"No submission {submission_id}.")
    if submission.role != Submission.DEFENSE or submission.status != Submission.FINISHED:
        raise Http404(f"Submission {submission_id} is not a finished defense; reports exist for finished defenses only.")
    return submission, reader


def report_split_allowed(*, defense: Submission, split: str, reader: str) -> None:
    """The private split's report shows to organizers, and to the defense's team once the
    phase's private leaderboard is visible; other readers see the public split only."""
    _check_split(split)
    if split != Score.PRIVATE or reader == "organizer":
        return
    if reader != "team":
        raise PermissionDenied("The private split's report is for the defense's team and the organizers.")
    if not defense.phase.private_visible():
        raise PermissionDenied("The private split stays hidden until the organizers reveal it or the phase ends.")
