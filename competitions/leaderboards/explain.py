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


# --------------------------------------------------------------------------- glossary

# One sentence per term, shown where the term appears (on hover and on keyboard focus) and on the
# glossary page. ``keys`` are the metric keys the entry explains; a key measured by more than one
# task with different meanings is qualified by its task ("task:key", checked first).
GLOSSARY = (
    {"slug": "arena-privacy", "term": "Arena privacy", "keys": ["arena_privacy"],
     "text": "1 minus the success of the strongest attack of any kind run against a release: 1 means no attack did "
             "better than guessing, 0 means an attack fully succeeded."},
    {"slug": "normalised-success", "term": "Normalised success", "keys": [],
     "text": "An attack's result on a common scale: 0% is no better than guessing, 100% is complete success, so "
             "different kinds of attack can be compared."},
    {"slug": "strongest-attack", "term": "Strongest attack", "keys": ["worst_membership_inference", "worst_reidentification",
                                                                       "worst_attribute_inference"],
     "text": "The best result any finished attack of this kind reached against the release: a defense is only as "
             "private as its strongest attack."},
    {"slug": "tpr-at-fpr", "term": "TPR at FPR 0.1 (0.01, 0.001)", "keys": ["tpr_at_fpr_0_1", "tpr_at_fpr_0_01", "tpr_at_fpr_0_001"],
     "text": "The share of people in the data that a membership attack spots while wrongly flagging at most 10% "
             "(1%, 0.1%) of people who were not in it."},
    {"slug": "auc", "term": "ROC AUC", "keys": ["auc"],
     "text": "The chance that the attack ranks a person who was in the data above one who was not: 0.5 is a coin "
             "toss, 1 is always right."},
    {"slug": "roc-curve", "term": "ROC curve", "keys": [],
     "text": "For every threshold of an attack, the share of true members it finds (true positive rate) against the "
             "share of non-members it wrongly flags (false positive rate); drawn on log axes because the low-error "
             "corner matters most for privacy."},
    {"slug": "membership-advantage", "term": "Membership advantage", "keys": ["membership_advantage"],
     "text": "The attack's best true positive rate minus its false positive rate: 0 is guessing, 1 is a perfect "
             "attack."},
    {"slug": "epsilon-lower-bound", "term": "Empirical ε lower bound", "keys": ["epsilon_lower_bound"],
     "text": "The smallest differential-privacy ε that is consistent with what the attack achieved (95% "
             "confidence): the release is at best this private, and a larger ε means more leakage."},
    {"slug": "reidentification-rate", "term": "Re-identification rate", "keys": ["reidentification_rate",
                                                                             "confident_reidentification_rate"],
     "text": "The share of released records the attack linked to the right named person in an outside register "
             "(the confident variant counts only links claimed with confidence at least 0.5)."},
    {"slug": "precision", "term": "Precision (of links)", "keys": ["precision", "confident_precision"],
     "text": "Of the links the attack claimed between released records and named people, the share that were right."},
    {"slug": "member-accuracy", "term": "Accuracy on members", "keys": ["member_accuracy"],
     "text": "The share of people in the data whose secret attribute (such as a diagnosis) the attack guessed "
             "right."},
    {"slug": "control-accuracy", "term": "Accuracy on controls", "keys": ["control_accuracy"],
     "text": "The same guess for people outside the data: what the release reveals about the population in "
             "general rather than about its patients."},
    {"slug": "baseline-accuracy", "term": "Baseline accuracy", "keys": ["baseline_accuracy"],
     "text": "How often always guessing the release's most common value would be right: the floor any attack "
             "must beat."},
    {"slug": "attack-inference-risk", "term": "Attribute-inference risk (of an attack)",
     "keys": ["attribute-inference:inference_risk"],
     "text": "How much better a submitted attribute-inference attack guesses the secret of people in the data than "
             "of people outside it, from 0 (no better) to 1 (always right); it is the attack's own result and is "
             "what the attack × defense matrix shows."},
    {"slug": "builtin-inference-risk", "term": "Inference risk (built-in check)",
     "keys": ["tabular-anonymization:inference_risk"],
     "text": "The platform's own inference check on a release: a simple guesser tries to deduce the first sensitive "
             "column from the other columns, for people in the data against people outside it; it is measured "
             "on every release, separately from the submitted attacks in the matrix."},
    {"slug": "singling-out-risk", "term": "Singling-out risk", "keys": ["singling_out_risk"],
     "text": "How often a guess like \"the only 87-year-old woman in this postcode\" picked out exactly one real "
             "patient, beyond what data about other people allows."},
    {"slug": "linkability-risk", "term": "Linkability risk", "keys": ["linkability_risk"],
     "text": "How often two separate pieces of a patient's record could be joined back together through the "
             "release, beyond what data about other people allows."},
    {"slug": "k-anonymity", "term": "k-anonymity", "keys": ["k_anonymity"],
     "text": "Every released row shares its quasi-identifiers (age, sex, postcode…) with at least k − 1 other rows, "
             "so it hides in a group of at least k."},
    {"slug": "t-closeness", "term": "t-closeness", "keys": ["t_closeness"],
     "text": "How much more a group of look-alike rows tells about a sensitive column (a diagnosis) than the whole "
             "release does: 0 means every group looks like everyone, 1 that a group gives the value away. Diagnoses in "
             "the same chapter of the classification count as closer than unrelated ones."},
    {"slug": "quasi-identifier", "term": "Quasi-identifier", "keys": [],
     "text": "A fact that is not a name but, combined with others (age, sex, postcode, dates), can point to one "
             "person."},
    {"slug": "prosecutor-risk", "term": "Highest re-identification risk (prosecutor)", "keys": ["prosecutor_risk"],
     "text": "1 divided by the size of the smallest group of look-alike rows: the chance that an attacker who knows "
             "a person is in the data picks their row."},
    {"slug": "records-at-risk", "term": "Records at risk", "keys": ["records_at_risk"],
     "text": "The share of released rows whose group of look-alikes is smaller than 12 (a re-identification chance "
             "above 0.09, the threshold for public release of clinical data); k = 5 rows are still at risk by this "
             "measure."},
    {"slug": "marginal-fidelity", "term": "Two-way (one-way) marginal fidelity",
     "keys": ["marginal_fidelity_2way", "marginal_fidelity_1way"],
     "text": "How closely the release reproduces how often each pair of values (each value) occurs in the real "
             "data: 1 is identical, 0 shares nothing."},
    {"slug": "correlation-difference", "term": "Correlation difference", "keys": ["correlation_difference"],
     "text": "How far the associations between columns in the release are from those in the real data: 0 is "
             "identical, larger is worse."},
    {"slug": "ml-utility", "term": "ML utility", "keys": ["ml_utility"],
     "text": "How well a model trained on the release predicts real patients it never saw (ROC AUC, accuracy or R²): "
             "the research value the release keeps."},
    {"slug": "dcr", "term": "DCR: share closer to the records", "keys": ["distance_to_closest_record"],
     "text": "The share of released rows that sit closer to a real training patient than to an unseen one: 0.5 is "
             "ideal, 1 means the rows were copied."},
    {"slug": "arena-success", "term": "Attack success, teams' defenses / best single defense",
     "keys": ["arena_success_teams", "arena_success_max"],
     "text": "An attack's average result over the teams' defenses (baselines left out), and its best result "
             "against any one defense."},
    {"slug": "pareto-front", "term": "Pareto front", "keys": [],
     "text": "The defenses that no other defense beats on both privacy and utility at once: the best trade-offs "
             "on offer."},
    {"slug": "confidence-interval", "term": "95% confidence interval", "keys": [],
     "text": "The range in brackets under a score: with another sample of the same size, the score would most "
             "likely fall inside it."},
    {"slug": "public-private-split", "term": "Public and private split", "keys": [],
     "text": "The hidden records are divided in two: the public share ranks the live board, the private share "
             "decides the final ranking and stays hidden until the reveal, so nobody can tune to it."},
    {"slug": "baseline", "term": "Baseline", "keys": [],
     "text": "A reference method run by the organizers (for example no protection at all), shown for comparison "
             "and never ranked."},
    {"slug": "shake-up", "term": "Shake-up", "keys": [],
     "text": "How far each team moved between the public ranking and the final private one: a large move means "
             "the public score did not predict the final one."},
)

_GLOSSARY_BY_KEY = {key: entry for entry in GLOSSARY for key in entry["keys"]}
_GLOSSARY_BY_SLUG = {entry["slug"]: entry for entry in GLOSSARY}


def glossary_entry(*, key: str, task: str | None = None) -> dict | None:
    """The glossary entry explaining a metric key (as measured in ``task``), or a term's slug."""
    return (_GLOSSARY_BY_KEY.get(f"{task}:{key}") or _GLOSSARY_BY_KEY.get(key)
            or _GLOSSARY_BY_SLUG.get(key))


def metric_explanation(*, key: str, task: str | None = None, fallback: str = "") -> str:
    """One sentence explaining a metric where it is shown; the bundle's description when no entry exists."""
    entry = glossary_entry(key=key, task=task)
    return entry["text"] if entry else fallback


def glossary_for(*, task: str, metrics: list[dict]) -> dict[str, dict]:
    """``{metric key: {"text", "slug"}}`` for a board's metrics (what the live pages put in their tooltips)."""
    out = {}
    for m in metrics:
        entry = glossary_entry(key=m["key"], task=task)
        out[m["key"]] = {"text": entry["text"] if entry else (m.get("description") or ""), "slug": entry["slug"] if entry else None}
    return out


def matrix_explanations(*, matrix: dict | None) -> dict[str, str]:
    """``{"task:key": sentence}`` for the attack metrics of an arena matrix, and its arena privacy."""
    if not matrix:
        return {}
    out = {f"{t['task']}:{t['metric']['key']}": metric_explanation(key=t["metric"]["key"], task=t["task"])
           for t in matrix["attack_tasks"]}
    out["arena_privacy"] = metric_explanation(key="arena_privacy")
    if matrix["defenses"]:
        utility = matrix["defenses"][0]["utility"]
        out["utility"] = metric_explanation(key=utility["key"], task=matrix["defense_task"])
    return out


LIMIT_WORDS = {
    "wall_seconds": ("{} seconds of running time", "{} second of running time"),
    "cpu_seconds": ("{} seconds of processor time", "{} second of processor time"),
    "memory_mb": ("{} MB of memory", "{} MB of memory"),
    "cpus": ("{} processors", "{} processor"),
    "pids": ("{} processes", "{} process"),
    "open_files": ("{} open files", "{} open file"),
    "output_mb": ("{} MB of output", "{} MB of output"),
    "output_files": ("{} output files", "{} output file"),
    "tmp_mb": ("{} MB of scratch space", "{} MB of scratch space"),
    "log_bytes": ("{} bytes of log per stream", "{} byte of log per stream"),
    "gpus": ("{} GPUs", "{} GPU"),
}


def limits_in_words(limits: dict | None) -> str:
    """A phase's per-run limits as a sentence fragment: "at most 30 seconds of running time and 512 MB of memory"."""
    if not limits:
        return "the platform's default limits"
    parts = []
    order = list(LIMIT_WORDS)  # the same order on every page, whatever order the database keeps
    for key, value in sorted(limits.items(), key=lambda kv: (order.index(kv[0]) if kv[0] in order else len(order), kv[0])):
        words = LIMIT_WORDS.get(key)
        number = f"{value:g}" if isinstance(value, float) else str(value)
        if words is None:
            parts.append(f"{key.replace('_', ' ')} {number}")
        else:
            parts.append((words[1] if value == 1 else words[0]).format(number))
    text = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return "at most " + text + " per run"


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
            return (f"{value * 100:.0f}% of released rows sit in groups of fewer than 12 look-alike rows, where an "
                    f"attacker's chance to pick a person's row is above 9% (the threshold for public release of "
                    f"clinical data; a group of 5 is safe from exact singling-out but not below that threshold).")
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
                    findings.append({"key": m["key"], "label": m["label"], "value": value, "precision": m["precision"],
                                     "primary": m["primary"], "sentence": sentence})
            story["baselines"].append({"name": row["team"], "submission": row["submission"], "findings": findings,
                                       "scores": row["scores"]})
        teams = [r for r in board["rows"] if not r["baseline"]]
        story["best_team"] = teams[0] if teams else None
        story["primary"] = next((m for m in board["metrics"] if m["primary"]), None)
        if story["best_team"] and story["primary"]:
            value = story["best_team"]["scores"].get(story["primary"]["key"], {}).get("value")
            story["best_sentence"] = reading(task=board["task"], metric=story["primary"]["key"], value=value)
        stories.append(story)
    return stories
