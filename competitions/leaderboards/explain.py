"""Plain-language readings of attack and defense scores, for doctors and citizens.

The scenario page takes the finished organizer baselines of a phase (public split only) and
turns each score into a sentence about people rather than about metrics. The wording is
tied to the metric definitions in evaluation/metrics; a metric without a reading here is
shown with its label and value only.
"""

from __future__ import annotations

TASK_STORIES = {
    "membership-inference": {
        "title": "Was my record used?",
        "question": "An attacker holds a person's record and asks whether it was part of the data behind the release. "
                    "Being in a hospital's dataset can itself reveal a diagnosis.",
    },
    "reidentification": {
        "title": "Which record is mine?",
        "question": "An attacker links released records without names to a register that has names, using what both "
                    "share (age, sex, postcode, dates).",
    },
    "attribute-inference": {
        "title": "What is my diagnosis?",
        "question": "An attacker knows some facts about a person and uses the release to guess a sensitive one, "
                    "such as a diagnosis.",
    },
    "tabular-anonymization": {
        "title": "How well is the data protected?",
        "question": "A defense turns patient records into a release that researchers can use. It should keep the "
                    "statistics and hide the individuals.",
    },
}


def _people(value: float, out_of: int = 100) -> str:
    return f"{round(value * out_of):d} of {out_of}"


def reading(*, task: str, metric: str, value: float | None) -> str | None:  # noqa: C901 - a flat table: one sentence per (task, metric)
    """One sentence about people for one score, or None where none fits."""
    if value is None:
        return None
    if task == "membership-inference":
        if metric == "tpr_at_fpr_0_1":
            return (f"Of 100 people whose records were used, the attack spots {round(value * 100):d} "
                    f"while wrongly accusing at most 10 of 100 people whose records were not used.")
        if metric == "auc":
            return (f"Shown one person who was in the data and one who was not, the attack picks the right one "
                    f"{value * 100:.0f}% of the time (50% is a coin toss).")
        if metric == "epsilon_lower_bound":
            return (f"The data behaves no better than differential privacy with ε ≥ {value:.2f}; "
                    f"smaller is more private.")
    if task == "reidentification":
        if metric == "reidentification_rate":
            return f"{_people(value)} released records were linked to the right name."
        if metric == "precision":
            return f"When the attack claimed a match, it was right {value * 100:.0f}% of the time."
    if task == "attribute-inference":
        if metric == "member_accuracy":
            return f"The attack guessed the secret attribute right for {_people(value)} people in the data."
        if metric in ("risk", "inference_risk"):
            return f"Beyond what the general population reveals, the release gives away the secret for {_people(value)} people."
    if task == "tabular-anonymization":
        if metric == "k_anonymity":
            if int(value) <= 1:
                return "Some released rows are unique on the facts an attacker may know: nothing hides them in a crowd."
            return (f"Every released row looks the same as at least {int(value) - 1} other rows on the facts an "
                    f"attacker may know.")
        if metric == "prosecutor_risk":
            return f"An attacker who knows a person is in the data has at most a {value * 100:.0f}% chance to pick their row."
        if metric == "records_at_risk":
            return f"{value * 100:.0f}% of released rows sit in groups small enough to re-identify a person."
        if metric == "ml_utility":
            return (f"A model trained on the release predicts real patients with a score of {value:.2f} "
                    f"(1 is perfect; the closer to a model trained on the real records, the more research value kept).")
        if metric == "marginal_fidelity_2way":
            return f"The release keeps {value * 100:.0f}% of the real data's pairwise statistics."
    return None


def baseline_stories(*, competition, boards: list[dict]) -> list[dict]:
    """For each task's public board: what the task means and what each baseline achieved."""
    stories = []
    for board in boards:
        story = dict(TASK_STORIES.get(board["task"], {"title": board["task"], "question": ""}))
        story["task"] = board["task"]
        story["baselines"] = []
        for row in board["rows"]:
            if not row["baseline"]:
                continue
            findings = []
            for m in board["metrics"]:
                value = row["scores"].get(m["key"], {}).get("value")
                sentence = reading(task=board["task"], metric=m["key"], value=value)
                if sentence:
                    findings.append({"label": m["label"], "value": value, "precision": m["precision"], "sentence": sentence})
            story["baselines"].append({"name": row["team"], "findings": findings, "scores": row["scores"]})
        teams = [r for r in board["rows"] if not r["baseline"]]
        story["best_team"] = teams[0] if teams else None
        story["primary"] = next((m for m in board["metrics"] if m["primary"]), None)
        if story["best_team"] and story["primary"]:
            value = story["best_team"]["scores"].get(story["primary"]["key"], {}).get("value")
            story["best_sentence"] = reading(task=board["task"], metric=story["primary"]["key"], value=value)
        stories.append(story)
    return stories
