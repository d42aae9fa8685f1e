"""diabetes-attribute: what does a k-anonymous release say about a person's prognosis?

The diabetes study of Efron et al. (2004) (442 patients: age, sex, body-mass index, blood
pressure, six blood-serum measurements and a quantitative measure of disease progression
one year later; it ships with scikit-learn) is split into members and controls. The
organizer's release is the members' records made 5-anonymous on age, sex, BMI and blood
pressure by the Mondrian baseline — the very code that runs as a defense in the arena —
with the serum values and the progression released as they are. The attacker knows the
four quasi-identifiers of each target and guesses its progression (numeric; a guess counts
within 10 % of the true value).
"""

from __future__ import annotations

from pathlib import Path
from string import Template

import numpy as np
import pandas as pd
from sklearn.datasets import load_diabetes

from scenarios import baselines, kits
from scenarios.bundle import Baseline, Bundle, Table, schema_json, write
from scenarios.tables import as_text, fresh_ids

SLUG = "diabetes-attribute"
SEED = 20260202
K = 5
MEMBERS = 292  # the other 150 patients are the controls
TARGET_MEMBERS = 150
TOLERANCE = 0.10
NAMES = {
    "s1": "total_cholesterol", "s2": "ldl", "s3": "hdl", "s4": "cholesterol_hdl_ratio",
    "s5": "log_triglycerides", "s6": "glucose", "target": "progression",
}
QUASI_IDENTIFIERS = ["age", "sex", "bmi", "bp"]


def load() -> tuple[pd.DataFrame, dict]:
    raw = load_diabetes(scaled=False, as_frame=True).frame.rename(columns=NAMES)
    frame = as_text(raw)
    columns = [{"name": c, "type": "categorical" if c == "sex" else "numeric"} for c in frame.columns]
    schema = {
        "id_column": "record_id",
        "columns": columns,
        "quasi_identifiers": QUASI_IDENTIFIERS,
        "sensitive": ["progression"],
    }
    return frame, schema


def bundle() -> tuple[Bundle, dict]:
    frame, schema = load()
    types = {c["name"]: c["type"] for c in schema["columns"]}
    rng = np.random.default_rng(SEED)
    order = rng.permutation(len(frame))
    members = frame.iloc[order[:MEMBERS]].reset_index(drop=True)
    controls = frame.iloc[order[MEMBERS:]].reset_index(drop=True)

    mondrian = baselines.load("mondrian_k_anonymity")
    release = mondrian.anonymize(members, {**schema, "types": types}, K)
    release = release.iloc[rng.permutation(len(release))].reset_index(drop=True)

    picked = members.iloc[rng.choice(len(members), size=TARGET_MEMBERS, replace=False)]
    chosen = pd.concat([picked.assign(group="member"), controls.assign(group="control")], ignore_index=True)
    chosen = chosen.iloc[rng.permutation(len(chosen))].reset_index(drop=True)
    ids = fresh_ids(rng, len(chosen), "T", 5)
    targets = pd.concat([pd.Series(ids, name="target_id"), chosen[QUASI_IDENTIFIERS]], axis=1)
    secrets = pd.DataFrame({"target_id": ids, "secret": chosen["progression"], "group": chosen["group"]})

    classes = release.groupby(QUASI_IDENTIFIERS, sort=False).size()
    stats = {
        "patients": len(frame), "members": len(members), "controls": len(controls),
        "targets": len(targets), "target_members": TARGET_MEMBERS, "k": K,
        "classes": len(classes), "largest": int(classes.max()),
        "tolerance_pct": int(round(TOLERANCE * 100)),
    }
    text = Template((Path(__file__).parent / "description.md").read_text(encoding="utf-8")).substitute(stats)
    b = Bundle(
        slug=SLUG,
        title="Inferring diabetes progression from a k-anonymous release",
        scenario="diabetes",
        task="attribute-inference",
        description=text,
        schema=schema,
        options={"secret": "progression", "tolerance": TOLERANCE},
        tables=[
            Table("release", release, "public", f"The members' records, {K}-anonymous on age, sex, BMI and blood pressure (Mondrian)."),
            Table("targets", targets, "public", "target_id and the four quasi-identifiers of members and controls, without progression."),
            Table("secrets", secrets, "hidden", "target_id, the true progression and whether the target is a member or a control."),
        ],
        baselines=[
            Baseline("Nearest neighbours", "attack", "nn_attribute",
                     "Median progression of the release rows closest to the target (its equivalence class when it fits one)."),
        ],
        check_run=False,
    )
    return b, stats


def build(dest: Path) -> dict:
    b, stats = bundle()
    write(b, dest, kit=lambda folder: kits.write_kit(
        folder, slug=b.slug, title=b.title, task=b.task, attack_tasks=[], schema=schema_json(b.schema),
        inputs={b.task: {"release.csv": "data/release.csv", "targets.csv": "data/targets.csv"}},
        accepts_file=True,
        task_files={b.task: {"task.json": {"secret": "progression", "type": "numeric", "tolerance": TOLERANCE}}}))
    return stats
