"""discharge-arena: anonymize discharge records, then face the attacks.

A second synthetic region (another seed than discharge-linkage, so the public records of
that competition say nothing about this one's hidden ones) yields 22,000 discharge records,
split at random into the defense's training records (hidden), a holdout of the same
population (hidden: utility test set and attack controls) and a public sample. The named
register of the region is public; ``identities`` (hidden) says which register entry each
training and holdout record belongs to, for scoring re-identification.
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

SLUG = "discharge-arena"
SEED = 47_000
RESIDENTS = 100_000
TRAIN, HOLDOUT, SAMPLE = 12_000, 6_000, 4_000
ATTACK_TASKS = ["reidentification", "membership-inference", "attribute-inference"]
# The targeted membership game (docs/arena.md): each defense replayed on training sets of 1,000
# drawn from the hidden records, with and without each of 10 patients (5 outliers, 5 at random).
MEMBERSHIP_GAME = {
    "runs": 50, "targets": 10, "rule": "outliers", "training_size": 1000, "pool": ["train", "holdout"],
    "attacks": ["Shadow-model membership attack", "Column-extreme membership attack"],
}

DEFENSES = [
    Baseline("No protection", "defense", "no_protection",
             "Publishes the training records unchanged: the reference for utility and for risk."),
    Baseline("Mondrian k-anonymity (k=5)", "defense", "mondrian_k_anonymity",
             "Generalises birth date, sex and postcode to intervals, sets or '*' until every combination is shared by at least 5 rows."),
    Baseline("MDAV microaggregation (k=5)", "defense", "mdav_microaggregation",
             "Replaces the quasi-identifiers of each group of at least 5 similar records by the group's mean or most common value."),
    Baseline("Gaussian copula synthesizer", "defense", "gaussian_copula",
             "Synthetic records from a Gaussian copula over all columns; empirical marginals, Gaussian dependence."),
    Baseline("DP marginals on a tree (ε=1)", "defense", "dp_marginals",
             "ε = 1 differentially private synthetic data (adding or removing one patient; 2ε for replacing one): "
             "Laplace-noised 2-way marginals on a privately chosen tree, over the columns' public domains from the schema."),
]
ATTACKS = [
    Baseline("Quasi-identifier linkage", "attack", "qi_linkage",
             "Links each release row to the register entries compatible with its (possibly generalised) birth date, sex and postcode.",
             task="reidentification"),
    Baseline("Distance to closest record", "attack", "dcr_membership",
             "Scores candidates by how much closer they lie to the release than the public sample does.",
             task="membership-inference"),
    Baseline("Density-ratio membership attack", "attack", "density_membership",
             "Gaussian mixtures on release and public sample; score is the logistic of their log density ratio.",
             task="membership-inference"),
    Baseline("Shadow-model membership attack", "attack", "shadow_membership",
             "A random forest learns membership from features of a record against a release (nearest-row distance, "
             "close rows, how extreme the record is and whether the release reaches it), trained on stand-in releases of the public sample.",
             task="membership-inference"),
    Baseline("Column-extreme membership attack", "attack", "extreme_membership",
             "One statistic: a candidate extreme in the population on some column is a member when the release holds a value close to its own there.",
             task="membership-inference"),
    Baseline("Nearest neighbours", "attack", "nn_attribute",
             "Guesses a target's diagnosis as the most common one among the release rows closest on its known columns.",
             task="attribute-inference"),
]


def bundle() -> tuple[Bundle, dict]:
    region = population.region(SEED, RESIDENTS)
    people = region.residents.set_index("person")
    records = discharges.discharges(region.residents, SEED + 2, TRAIN + HOLDOUT + SAMPLE)
    rng = np.random.default_rng(SEED + 3)
    records = records.iloc[rng.permutation(len(records))].reset_index(drop=True)
    records.insert(0, "record_id", fresh_ids(rng, len(records), "D"))
    train = records.iloc[:TRAIN]
    holdout = records.iloc[TRAIN:TRAIN + HOLDOUT]
    sample = records.iloc[TRAIN + HOLDOUT:]

    scored = pd.concat([train, holdout])
    who = people.loc[scored["person"]]
    listed = who["in_register"].to_numpy()
    identities = pd.DataFrame({"record_id": scored["record_id"][listed].to_numpy(),
                               "identity_id": who["identity_id"][listed].to_numpy()})
    plain = {name: t.drop(columns=["person"]).reset_index(drop=True) for name, t in
             (("train", train), ("holdout", holdout), ("sample", sample))}
    qis = discharges.QUASI_IDENTIFIERS
    stats = {
        "residents": RESIDENTS, "register_rows": len(region.register), "train": TRAIN, "holdout": HOLDOUT,
        "sample": SAMPLE, "identities": len(identities),
        "register_unique_pct": round(100 * uniqueness(region.register, qis), 1),
    }
    text = Template((Path(__file__).parent / "description.md").read_text(encoding="utf-8")).substitute(stats)
    b = Bundle(
        slug=SLUG,
        title="Discharge-records arena: anonymizers against attackers",
        scenario="discharge",
        task="tabular-anonymization",
        attack_tasks=ATTACK_TASKS,
        description=text,
        schema=discharges.schema(),
        tables=[
            Table("train", plain["train"], "hidden", "The discharge records a defense anonymizes."),
            Table("holdout", plain["holdout"], "hidden", "Records of the same population the defense never sees: utility test set, attack controls."),
            Table("sample", plain["sample"], "public", "Public records of the same shape, disjoint from both: check runs, starting kit, attackers' auxiliary data."),
            Table("register", region.register, "public", "The named population register of the region."),
            Table("identities", identities, "hidden", "record_id, identity_id for training and holdout records whose patient is in the register."),
        ],
        baselines=DEFENSES + ATTACKS,
        options={"membership_game": MEMBERSHIP_GAME},
        check_run=True,
    )
    return b, stats


def build(dest: Path) -> dict:
    b, stats = bundle()
    write(b, dest, kit=lambda folder: kits.write_kit(
        folder, slug=b.slug, title=b.title, task=b.task, attack_tasks=ATTACK_TASKS, schema=schema_json(b.schema),
        inputs={"tabular-anonymization": {"records.csv": "data/sample.csv"},
                "reidentification": {"register.csv": "data/register.csv"}},
        accepts_file=False,
        task_files={"attribute-inference": {"task.json": {"secret": "diagnosis", "type": "categorical", "tolerance": 0.05}}}))
    return stats
