"""The synthetic region: large enough, realistic in structure, and dangerously unique."""

from __future__ import annotations

import numpy as np
import pandas as pd

from scenarios.region import discharges, icd10, population
from scenarios.tables import uniqueness

QIS = ["birth_date", "sex", "postcode"]


def read(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_discharge_population_is_large_and_mostly_unique(bundles):
    root = bundles / "discharge-linkage"
    release, register = read(root / "data/release.csv"), read(root / "data/register.csv")
    assert len(release) >= 20_000 and len(register) >= 20_000
    assert uniqueness(register, QIS) > 0.8
    # Most discharge records point at exactly one named register entry.
    matches = register.groupby(QIS).size().rename("n")
    per_row = release[QIS].join(matches, on=QIS)["n"].fillna(0)
    assert (per_row == 1).mean() > 0.8
    assert release["postcode"].str.fullmatch(r"\d{5}").all()  # leading zeros survive
    assert release["postcode"].str.startswith("0").all()


def test_register_is_a_superset_with_realistic_flaws(bundles):
    root = bundles / "discharge-linkage"
    release, register, truth = (read(root / f) for f in ("data/release.csv", "data/register.csv", "hidden/truth.csv"))
    assert len(register) > 3 * len(release)
    assert 0.9 < len(truth) / len(release) < 1.0  # a few patients are missing from the register
    joined = truth.merge(release, on="release_id").merge(register, on="identity_id", suffixes=("", "_reg"))
    assert (joined["birth_date"] == joined["birth_date_reg"]).all() and (joined["sex"] == joined["sex_reg"]).all()
    moved = (joined["postcode"] != joined["postcode_reg"]).mean()
    assert 0.005 < moved < 0.08  # some are registered at an old address


def test_diagnoses_follow_age_and_sex():
    region = population.region(5, 30_000)
    d = discharges.discharges(region.residents, 6, 9_000)
    born = pd.to_datetime(d["birth_date"])
    admitted, left = pd.to_datetime(d["admission_date"]), pd.to_datetime(d["discharge_date"])
    age = (admitted - born).dt.days / 365.25
    assert (admitted >= born).all()
    assert ((left - admitted).dt.days == d["length_of_stay"]).all() and (d["length_of_stay"] >= 1).all()
    delivery = d["diagnosis"].isin(["O80", "O82"])
    assert (d.loc[delivery, "sex"] == "F").all() and age[delivery].between(14, 46).all()
    assert (d.loc[d["diagnosis"] == "C61", "sex"] == "M").all()
    newborn = d["diagnosis"] == "Z38.0"
    assert newborn.any() and (d.loc[newborn, "admission_date"] == d.loc[newborn, "birth_date"]).all()
    assert age[d["diagnosis"] == "S72.0"].median() > 70  # hip fractures are a disease of the old
    # Psychiatric stays are long, chest-pain observations short.
    los = d.groupby("diagnosis")["length_of_stay"].median()
    assert los["F32.2"] > 5 * los["R07.4"]
    assert set(d["diagnosis"]) <= {x.code for x in icd10.DIAGNOSES}
    assert 0.3 < (age >= 65).mean() < 0.55


def test_generation_is_seeded():
    a = population.region(11, 5_000).register
    b = population.region(11, 5_000).register
    c = population.region(12, 5_000).register
    assert a.equals(b) and not a.equals(c)
    assert np.unique(a["identity_id"]).size == len(a)
