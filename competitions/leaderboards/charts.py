"""Data for the pages' charts, read from what the boards and the arena matrix already hold.

Every function takes the dicts the leaderboard and matrix selectors return (so a chart can
never disagree with the table beside it) and returns plain dicts for a template or a script.
"""

from __future__ import annotations

from .explain import TASK_STORIES, baseline_stories, reading

# What a figure means in people, per attack task's primary metric: the verb for "N of 100 people …".
PEOPLE_VERBS = {
    "reidentification_rate": "re-identified by name",
    "tpr_at_fpr_0_1": "spotted as in the data",
    "inference_risk": "had their secret exposed",
    "member_accuracy": "had their secret guessed",
}
# The condition under which the figure holds, and what guessing achieves, per metric.
PEOPLE_NOTES = {
    "tpr_at_fpr_0_1": "while 10 of 100 outsiders are wrongly flagged; guessing spots 10",
    "inference_risk": "beyond what the release reveals about people outside the data",
}


def attacker_needs(*, competition, task: str) -> dict:
    """Which columns an attacker must know about a person for ``task``, from the competition's schema."""
    schema = competition.schema or {}
    columns = [c["name"] if isinstance(c, dict) else str(c) for c in schema.get("columns") or []]
    qis = list(schema.get("quasi_identifiers") or [])
    sensitive = list(schema.get("sensitive") or [])
    options = competition.options or {}
    if task == "membership-inference":
        return {"knows": columns, "source": "the person's full record (every column)",
                "learns": "whether the person's record was in the hospital's data"}
    if task == "reidentification":
        return {"knows": qis, "source": "a register with names, such as a voter or insurance list, that holds these columns",
                "learns": "which released record belongs to which named person"}
    if task == "attribute-inference":
        secret = options.get("secret") or (sensitive[0] if sensitive else "the secret column")
        known = [c for c in (options.get("known_columns") or qis) if c != secret]
        return {"knows": known, "source": "facts about the person that are easy to learn",
                "learns": f"the person's {secret.replace('_', ' ')}"}
    return {"knows": qis, "source": "", "learns": ""}


def _strongest(matrix: dict, column: int, task: str) -> dict | None:
    """The column's strongest cell of one attack task; ``{"undefined": True}`` where attacks finished
    but the metric is undefined for the release (the matrix's "n/a"); None where none finished."""
    best = None
    for row in matrix["rows"]:
        if row["attack"]["task"] != task:
            continue
        cell = row["cells"][column]
        if cell["status"] == "finished" and cell["value"] is None and best is None:
            best = {"undefined": True, "normalised_success": -1.0}
            continue
        if cell["value"] is None or cell["normalised_success"] is None:
            continue
        if best is None or cell["normalised_success"] > best["normalised_success"]:
            best = {"value": cell["value"], "normalised_success": cell["normalised_success"], "level": cell["level"],
                    "attack": row["attack"]["team"], "baseline": row["attack"]["baseline"]}
    return best


def arena_exposure(*, matrix: dict) -> dict:
    """Per defense of the arena matrix: the strongest attack of each kind and the utility kept.

    Returns ``{"tasks": [{task, title, metric, verb}], "rows": [{defense, cells: [strongest | None],
    utility, arena_privacy, least_protected}], "least_protected": defense | None}``; the values are
    the matrix's own cells. The least protected defense is the baseline with the lowest arena
    privacy (in the demo, the one that publishes the records unchanged).
    """
    tasks = [{**t, "title": TASK_STORIES.get(t["task"], {}).get("title", t["task"]),
              "verb": PEOPLE_VERBS.get(t["metric"]["key"], ""), "note": PEOPLE_NOTES.get(t["metric"]["key"], "")}
             for t in matrix["attack_tasks"]]
    measured = [d for d in matrix["defenses"] if d["baseline"] and d["arena_privacy"] is not None]
    least = min(measured, key=lambda d: d["arena_privacy"], default=None)
    rows = []
    for column, defense in enumerate(matrix["defenses"]):
        rows.append({
            "defense": defense,
            "cells": [_strongest(matrix, column, t["task"]) for t in tasks],
            "utility": defense["utility"],
            "arena_privacy": defense["arena_privacy"],
            "least_protected": least is not None and defense["submission"] == least["submission"],
        })
    return {"tasks": tasks, "rows": rows, "least_protected": least}


def attack_value_against(*, matrix: dict, attack_submission: int, defense_submission: int) -> float | None:
    """One cell of the matrix: what an attack reached against one defense."""
    columns = [d["submission"] for d in matrix["defenses"]]
    if defense_submission not in columns:
        return None
    for row in matrix["rows"]:
        if row["attack"]["submission"] == attack_submission:
            return row["cells"][columns.index(defense_submission)]["value"]
    return None


def board_bars(*, board: dict, limit: int = 8) -> dict | None:
    """The primary metric of every baseline and the best teams of a board, for a bar chart."""
    primary = next((m for m in board["metrics"] if m["primary"]), None)
    if primary is None:
        return None
    rows, teams = [], 0
    for row in board["rows"]:
        value = row["scores"].get(primary["key"], {}).get("value")
        if value is None:
            continue
        if not row["baseline"]:
            teams += 1
            if teams > limit:
                continue
        rows.append({"name": row["team"], "baseline": row["baseline"], "rank": row["rank"], "value": value})
    return {"metric": primary, "rows": rows, "verb": PEOPLE_VERBS.get(primary["key"], "")}



def scenario_page(*, competition, boards: list[dict], roles: dict[str, str], matrix: dict | None) -> dict:
    """Everything the scenario page draws: per-task stories with what an attacker needs and a bar
    chart of the board, and, in an arena, each defense's exposure against its utility. ``roles``
    maps each board's task to its role ("attack" or "defense").

    In an arena an attack's board score is its mean over every defense it ran against: such a
    story is marked ``averaged``, and each baseline attack's primary finding carries its own
    result against the least protected defense (``against``), read from the matrix.
    """
    exposure = arena_exposure(matrix=matrix) if matrix and matrix["defenses"] and matrix["rows"] else None
    least = exposure["least_protected"] if exposure else None
    stories = baseline_stories(competition=competition, boards=boards)
    for story, board in zip(stories, boards, strict=True):
        role = roles[board["task"]]
        story["averaged"] = exposure is not None and role == "attack"
        story["least_protected"] = least if story["averaged"] else None
        for baseline in story["baselines"]:
            for finding in baseline["findings"]:
                finding["averaged"] = story["averaged"]
                if story["averaged"] and least is not None and matrix is not None and finding["primary"]:
                    against = attack_value_against(matrix=matrix, attack_submission=baseline["submission"],
                                                   defense_submission=least["submission"])
                    if against is not None:
                        finding["against"] = {"value": against, "defense": least["team"],
                                              "sentence": reading(task=board["task"], metric=finding["key"], value=against)}
        story["needs"] = attacker_needs(competition=competition, task=board["task"]) if role == "attack" else None
        # Bars for a fixed competition's attacks; an arena's are drawn per defense in the exposure
        # chart (their board is an average), and a defense board's primary metric is utility.
        story["bars"] = board_bars(board=board) if role == "attack" and not story["averaged"] else None
    return {"stories": stories, "exposure": exposure}
