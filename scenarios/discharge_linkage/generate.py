"""discharge-linkage: put names back on "anonymous" hospital discharge records.

A synthetic region of 100,000 residents (scenarios.region) yields 24,000 discharge records
of the reporting year, released without names but with birth date, sex and postcode, and
a named register listing 97 % of the residents (a few under an old postcode). The truth
links each release row whose patient is in the register to the register entry.
"""

from __future__ import annotations

from pathlib import Path
from string import Template

import numpy as np
import pandas as pd

from scenarios import kits
from scenarios.bundle import Baseline, Bundle, Table, schema_json, write
from scenarios.region import discharges, population
from scenarios.tables import fresh_ids, uniqueness

SLUG = "discharge-linkage"
SEED = 31_000
RESIDENTS = 100_000
PATIENTS = 24_000
QIS = discharges.QUASI_IDENTIFIERS


def linkage_figures(release: pd.DataFrame, register: pd.DataFrame) -> dict:
    """How exposed the release is before anyone attacks it: uniqueness and exact matches."""
    matches = register.groupby(QIS).size().rename("matches")
    per_row = release[QIS].join(matches, on=QIS)["matches"].fillna(0)
    return {
        "register_unique_pct": round(100 * uniqueness(register, QIS), 1),
        "release_unique_pct": round(100 * uniqueness(release, QIS), 1),
        "one_match_pct": round(100 * float((per_row == 1).mean()), 1),
    }


def bundle() -> tuple[Bundle, dict]:
    region = population.region(SEED, RESIDENTS)
    people = region.residents.set_index("person")
    records = discharges.discharges(region.residents, SEED + 2, PATIENTS)
    rng = np.random.default_rng(SEED + 3)
    records = records.iloc[rng.permutation(len(records))].reset_index(drop=True)
    records.insert(0, "release_id", fresh_ids(rng, len(records), "R"))

    who = people.loc[records["person"]]
    listed = who["in_register"].to_numpy()
    truth = pd.DataFrame({"release_id": records["release_id"][listed].to_numpy(),
                          "identity_id": who["identity_id"][listed].to_numpy()})
    release = records.drop(columns=["person"])

    stats = {
        "residents": RESIDENTS, "register_rows": len(region.register), "patients": len(release),
        "truth_rows": len(truth), **linkage_figures(release, region.register),
        "postcodes": region.residents["postcode"].nunique(),
    }
    text = Template((Path(__file__).parent / "description.md").read_text(encoding="utf-8")).substitute(stats)
    schema = discharges.schema()
    b = Bundle(
        slug=SLUG,
        title="Re-identifying hospital discharge records",
        scenario="discharge",
        task="reidentification",
        description=text,
        schema=schema,
        tables=[
            Table("release", release, "public", "The discharge records of the year: no names, but birth date, sex and postcode."),
            Table("register", region.register, "public", "A named population register of the region: identity_id, names, birth date, sex, postcode."),
            Table("truth", truth, "hidden", "release_id, identity_id for every release row whose patient is in the register."),
        ],
        baselines=[
            Baseline("Quasi-identifier linkage", "attack", "qi_linkage",
                     "Exact match on birth date, sex and postcode, else the nearest match on all but one; confidence 1/matches."),
        ],
        check_run=False,
    )
    return b, stats


def build(dest: Path) -> dict:
    b, stats = bundle()
    write(b, dest, kit=lambda folder: kits.write_kit(
        folder, slug=b.slug, title=b.title, task=b.task, attack_tasks=[], schema=schema_json(b.schema),
        inputs={b.task: {"release.csv": "data/release.csv", "register.csv": "data/register.csv"}},
        accepts_file=True))
    return stats
