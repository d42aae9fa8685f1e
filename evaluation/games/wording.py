"""A game's result in words for a doctor, a data office or a patient.

"An average patient's membership is not revealed; a patient with a very high length of stay
is recognised in 96 of 100 releases made with their record (and wrongly in 4 of 100 made
without it)." The numbers are the measured rates of the attack's own guesses; what sets
the most exposed patient apart is said without any of their values.
"""

from __future__ import annotations

from collections.abc import Sequence

from .scoring import CONFIDENCE, TargetResult, advantage_interval, game_summary


def _per_hundred(rate: float) -> int:
    return int(round(100 * rate))


def exposure_sentences(results: Sequence[TargetResult], *, comparisons: int | None = None) -> dict[str, str]:
    """``{"average": …, "worst": …}``: the average patient (the random controls, else every
    target) and the most exposed one, "revealed" when the worst target's simultaneous
    interval excludes 0 (:func:`game_summary`)."""
    summary = game_summary(results, comparisons=comparisons)
    typical = [r for r in results if r.reason == "control"] or list(results)
    tpr = sum(r.tpr for r in typical) / len(typical)
    fpr = sum(r.fpr for r in typical) / len(typical)
    level = 1 - (1 - CONFIDENCE) / len(typical)  # simultaneous over the average patients shown
    revealed = [r for r in typical
                if advantage_interval(round(r.tpr * r.runs), r.runs, round(r.fpr * r.runs), r.runs, confidence=level)[0] > 0]
    if not revealed:
        average = (f"An average patient's membership is not revealed: the attack recognises them in {_per_hundred(tpr)} of "
                   f"100 releases made with their record and wrongly in {_per_hundred(fpr)} of 100 made without it, "
                   "no better than guessing.")
    else:
        average = (f"Even an average patient's membership shows: for {len(revealed)} of {len(typical)} patients drawn at random "
                   f"the attack does better than guessing (recognised in {_per_hundred(tpr)} of 100 releases made with "
                   f"their record, wrongly in {_per_hundred(fpr)} of 100 made without it, on average).")
    worst = summary.worst
    who = f"a patient with {worst.trait}" if worst.trait else "the most exposed patient"
    rates = (f"recognised in {_per_hundred(worst.tpr)} of 100 releases made with their record and wrongly in "
             f"{_per_hundred(worst.fpr)} of 100 made without it")
    if summary.worst_ci[0] > 0:
        text = f"{who[0].upper()}{who[1:]} is revealed: {rates}."
    else:
        text = f"Even for {who}, membership is not revealed beyond chance: {rates}."
    return {"average": average, "worst": text}
