"""A defense's identifiability report: its strongest attacks read against the European
criteria (singling out, linkability, inference) and against the re-identification risk
thresholds used for releasing health data, with the texts that explain them.

``report_defense_get`` and ``report_split_allowed`` are the report's access rules; the
matrix shares the risk levels (:func:`risk_level`).
"""

from __future__ import annotations

import math
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from competitions import access
from config.formats import finite, iso, rounded, rounded_all
from submissions.models import Score, Submission

from .arena import metric_rows
from .games.config import AVERAGE as GAME_AVERAGE
from .games.config import OPTION as GAME_OPTION
from .games.config import TOP_DECILE as GAME_TOP_DECILE
from .games.config import WORST as GAME_WORST
from .models import ArenaResult

SPLITS = (Score.PUBLIC, Score.PRIVATE)


def split_check(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")


# Maximum re-identification risk thresholds used as reference points for releasing health data.
# They are guidance from regulators and the de-identification literature, not legal limits.
RISK_THRESHOLDS: tuple[dict[str, Any], ...] = (
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


def risk_level(value: float | None) -> str | None:
    if value is None:
        return None
    for limit, name in RISK_BANDS:
        if value < limit:
            return name
    return RISK_BANDS[-1][1]


def _pct(value: float | None) -> str:
    return "unknown" if value is None else f"{100 * value:.1f}%"


def _criterion(name: str, key: str, label: str, meaning: str, score: Score | None, *, organizer: bool) -> dict:
    value = finite(score.value) if score else None
    low = finite(score.ci_low) if score else None
    high = finite(score.ci_high) if score else None
    detail = score.detail if score else {}
    error = None
    if value is None:
        reason = (detail or {}).get("reason") or "it was not measured for this release"
        explanation = f"{label}: not measured ({reason})."
        # The metric's own error ran on a release derived from hidden data: organizers only.
        error = (detail or {}).get("error") if organizer else None
        if error:
            explanation += f" The metric's error (organizers only): {error}"
    else:
        band = risk_level(max(0.0, value))
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
        "level": risk_level(max(0.0, value)) if value is not None else None,
        "available": value is not None,
        "rates": (detail or {}).get("rates"),
        "explanation": explanation,
        "error": error,
        # singling out: the queries that singled out a training record. Which did is a fact
        # about the hidden records, so organizers only
        "queries": (detail or {}).get("succeeded_queries") if organizer else None,
        "queries_total": (detail or {}).get("succeeded_queries_total") if organizer else None,
    }


def identifiability_report(*, defense: Submission, split: str = Score.PUBLIC, organizer: bool = False) -> dict:
    """How identifiable the people behind a finished defense's release are, for a doctor or a DPO.

    Built from the defense's stored scores on ``split`` (the tabular-anonymization task computes
    the criteria; the arena adds its worst-case attack results). A metric that could not be
    computed says why in fixed words; the error a library raised on the release (which derives
    from hidden data) is given to ``organizer`` readers only. Returns::

        {
          "submission": 12, "team": str, "baseline": bool, "competition": "slug", "phase": "name",
          "task": "tabular-anonymization", "split": "public", "generated": iso, "release_sha256": hex,
          "criteria": [                         # the three risks of Article 29 WP Opinion 05/2014
            {"criterion": "singling_out" | "linkability" | "inference", "metric": key, "label": str,
             "value": float | None, "ci_low": float | None, "ci_high": float | None,
             "level": "negligible" | "low" | "moderate" | "high" | None, "available": bool,
             "rates": {"attack": {...}, "control": {...}, "baseline": {...}} | None,
             "explanation": str, "error": str | None,   # error: organizers only
             "queries": [str] | None, "queries_total": int | None},   # singling out, organizers only
            …],
          "risk_bands": [{"below": 0.05, "level": "negligible"}, …],
          "k_anonymity": {
            "k": float | None,                  # smallest group of rows sharing their quasi-identifiers
            "quasi_identifiers": [column, …],
            "prosecutor_risk": float | None,    # highest re-identification risk = 1 / k
            "average_risk": float | None, "records_at_risk": float | None,  # share above 0.09
            "t_closeness": float | None,        # of the sensitive columns in those groups
            "t_closeness_distance": {column: "ordered" | "equal" | "hierarchical (height H)"},
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
          "membership_game": None | {"played": false, "explanation"} | {   # where the competition plays one
            "played": true, "worst": {"value", "ci_low", "ci_high", "trait", "tpr", "fpr"},
            "top_decile": float, "average": float, "targets": int,
            "worst_sentence": str, "average_sentence": str, "explanation": str},
          "summary": str,                       # plain-language paragraph
          "disclaimer": str,                    # technical assessment, not legal advice
        }
    """
    split_check(split)
    competition = defense.competition
    scores = {s.metric: s for s in Score.objects.filter(submission=defense, split=split)}
    if not organizer:
        # the scores behind it derive from hidden data: anyone but the organizers reads them to
        # the digits a score has on the boards, and every sentence is written from those digits
        for stored in scores.values():
            stored.value, stored.ci_low, stored.ci_high = (rounded(v) for v in (stored.value, stored.ci_low, stored.ci_high))
            stored.detail = rounded_all(stored.detail or {})

    criteria = [_criterion(name, key, label, meaning, scores.get(key), organizer=organizer) for name, key, label, meaning in CRITERIA]

    k_score, prosecutor = scores.get("k_anonymity"), scores.get("prosecutor_risk")
    k = finite(k_score.value) if k_score else None
    max_risk = finite(prosecutor.value) if prosecutor else None
    average = finite((prosecutor.detail or {}).get("average_risk")) if prosecutor else None
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
    t_score = scores.get("t_closeness")
    t_value = finite(t_score.value) if t_score else None
    t_distance = ((t_score.detail or {}).get("distance") or {}) if t_score and t_value is not None else {}
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
        key, label, _direction = metric_rows.primary_metric(competition=competition, task=task)
        score = scores.get(metric_rows.worst_key(task))
        value = finite(score.value) if score else None
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
            "ci_low": finite(score.ci_low) if score else None,
            "ci_high": finite(score.ci_high) if score else None,
            "normalised_success": detail.get("normalised_success"),
            "attack": {k_: attack[k_] for k_ in ("submission", "team", "baseline")} if attack else None,
            "attacks_finished": detail.get("attacks_finished", 0),
            "explanation": text,
        })
    privacy_score = scores.get(metric_rows.ARENA_PRIVACY)
    privacy = finite(privacy_score.value) if privacy_score else None
    game = _membership_game(competition, scores)

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
    if game and game["played"]:
        summary_parts.append(f"{game['average_sentence']} {game['worst_sentence']}")

    report = {
        "submission": defense.pk,
        "team": defense.display_name,
        "baseline": defense.is_baseline,
        "competition": competition.slug,
        "phase": defense.phase.name,
        "task": defense.task,
        "split": split,
        "generated": iso(timezone.now()),
        "release_sha256": defense.release_sha256 or None,
        "criteria": criteria,
        "risk_bands": risk_bands(),
        "k_anonymity": {
            "k": k,
            "quasi_identifiers": qis,
            "prosecutor_risk": max_risk,
            "average_risk": average,
            "records_at_risk": finite(at_risk.value) if at_risk else None,
            "thresholds": thresholds,
            "explanation": k_text,
            "t_closeness": t_value,
            "t_closeness_distance": t_distance,
        },
        "strongest_attacks": strongest,
        "arena_privacy": privacy,
        "membership_game": game,
        "summary": " ".join(summary_parts),
        "disclaimer": DISCLAIMER,
    }
    return report if organizer else rounded_all(report)  # and what was computed from them, too


def _membership_game(competition, scores: dict) -> dict | None:
    """The most exposed patient beside the average one, from the defense's game scores; None
    where the competition plays no game (:mod:`evaluation.membership_games`)."""
    if GAME_OPTION not in (competition.options or {}):
        return None
    worst, average = scores.get(GAME_WORST), scores.get(GAME_AVERAGE)
    if worst is None or worst.value is None:
        return {"played": False, "explanation": "The membership game of this release is still being played (it runs "
                                                "after the ordinary evaluations); its results will appear here."}
    detail = worst.detail or {}
    sentences = detail.get("sentences") or {}
    return {
        "played": True,
        "worst": {"value": finite(worst.value), "ci_low": finite(worst.ci_low), "ci_high": finite(worst.ci_high),
                  "trait": (detail.get("worst") or {}).get("trait", ""), "tpr": (detail.get("worst") or {}).get("tpr"),
                  "fpr": (detail.get("worst") or {}).get("fpr")},
        "top_decile": finite(scores[GAME_TOP_DECILE].value) if GAME_TOP_DECILE in scores else None,
        "average": finite(average.value) if average else None,
        "targets": len(detail.get("targets") or []),
        "worst_sentence": sentences.get("worst", ""),
        "average_sentence": sentences.get("average", ""),
        "explanation": (
            "The defense was run many times on training data with and without each of several patients — the most "
            "unusual ones and some drawn at random — and an attack guessed from each release whether the patient was "
            "in. The membership advantage is the share of releases with the patient that the attack recognised minus "
            "the share without the patient that it wrongly flagged: 0 is guessing, 1 is always right."),
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
    if access.may_organize(competition=submission.competition, user=user):
        reader = "organizer"
    elif (submission.is_baseline and published) or access.is_member(team=submission.team, user=user):
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
    split_check(split)
    if access.may_read_report(phase=defense.phase, split=split, organizer=reader == "organizer", own=reader == "team"):
        return
    if reader != "team":
        raise PermissionDenied("The private split's report is for the defense's team and the organizers.")
    raise PermissionDenied("The private split stays hidden until the organizers reveal it or the phase ends.")
