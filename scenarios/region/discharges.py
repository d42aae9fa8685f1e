"""One hospital discharge record per patient of the reporting year.

Who becomes a patient and with which main diagnosis both follow the admission rates in
:mod:`scenarios.region.icd10`: a resident's chance of a stay is the sum of their rates,
and the diagnosis is drawn in proportion to them. Lengths of stay are log-normal around
each diagnosis' median and grow with age; admissions are rarer at weekends.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scenarios.region import icd10, postcodes
from scenarios.region.population import SNAPSHOT

YEAR_START = pd.Timestamp("2025-01-01")
WEEKDAY_WEIGHT = np.array([1.15, 1.1, 1.05, 1.05, 1.0, 0.55, 0.5])  # Monday first
INSURANCE = (("statutory", 0.875), ("private", 0.11), ("self-pay", 0.015))

# Each column's public domain (docs/bundles.md): what anyone knows before seeing a record —
# the region's postcodes, the code list, a plausible range — never the records' extremes.
COLUMNS = [
    {"name": "birth_date", "type": "date", "min": "1900-01-01", "max": SNAPSHOT.strftime("%Y-%m-%d")},
    {"name": "sex", "type": "categorical", "categories": ["F", "M"]},
    {"name": "postcode", "type": "categorical", "categories": sorted(str(c) for c in postcodes.codes())},
    {"name": "admission_date", "type": "date", "min": YEAR_START.strftime("%Y-%m-%d"), "max": SNAPSHOT.strftime("%Y-%m-%d")},
    {"name": "discharge_date", "type": "date", "min": YEAR_START.strftime("%Y-%m-%d"), "max": "2026-12-31"},
    {"name": "length_of_stay", "type": "numeric", "min": 0, "max": 365},
    {"name": "diagnosis", "type": "categorical", "categories": sorted(d.code for d in icd10.DIAGNOSES),
     "hierarchy": icd10.hierarchy()},
    {"name": "insurance", "type": "categorical", "categories": [name for name, _ in INSURANCE]},
]
QUASI_IDENTIFIERS = ["birth_date", "sex", "postcode"]


def schema() -> dict:
    return {
        "id_column": "record_id",
        "columns": COLUMNS,
        "quasi_identifiers": QUASI_IDENTIFIERS,
        "sensitive": ["diagnosis"],
        "target": "diagnosis",
    }


def _admission_days(rng: np.random.Generator, earliest: np.ndarray) -> np.ndarray:
    """Day offsets from YEAR_START, weekday-weighted, not before ``earliest`` (an offset)."""
    days = np.arange((SNAPSHOT - YEAR_START).days + 1)
    weekday = ((YEAR_START + pd.to_timedelta(days, unit="D")).dayofweek).to_numpy()
    w = WEEKDAY_WEIGHT[weekday]
    cdf = np.cumsum(w) / w.sum()
    # Draw from the part of the year after ``earliest``: inverse CDF on [cdf(earliest-1), 1].
    lo = np.where(earliest > 0, cdf[np.clip(earliest - 1, 0, None)], 0.0)
    u = lo + rng.random(len(earliest)) * (1.0 - lo)
    return np.minimum(np.searchsorted(cdf, u, side="left"), days[-1])


def discharges(people: pd.DataFrame, seed: int, n_patients: int) -> pd.DataFrame:
    """``n_patients`` discharge records with a ``person`` column pointing into ``people``."""
    rng = np.random.default_rng(seed)
    age = ((SNAPSHOT - people["birth_date"]).dt.days // 365.25).to_numpy().astype(int)
    rates = icd10.rate_matrix(age, people["sex"].to_numpy())
    propensity = rates.sum(axis=1)
    chosen = np.sort(rng.choice(len(people), size=n_patients, replace=False, p=propensity / propensity.sum()))
    p = people.iloc[chosen].reset_index(drop=True)
    r = rates[chosen]

    # Diagnosis in proportion to the patient's rates (inverse CDF per row).
    cdf = np.cumsum(r, axis=1) / r.sum(axis=1, keepdims=True)
    dx = (cdf < rng.random(len(p))[:, None]).sum(axis=1)
    diag = [icd10.DIAGNOSES[i] for i in dx]

    birth_offset = (p["birth_date"] - YEAR_START).dt.days.to_numpy()
    at_birth = np.array([d.at_birth for d in diag])
    admit = _admission_days(rng, np.maximum(birth_offset, 0))
    admit = np.where(at_birth, birth_offset, admit)

    median = np.array([d.los_median for d in diag])
    sigma = np.array([d.los_sigma for d in diag])
    age_p = age[chosen]
    older = np.clip(age_p - 60, 0, None) * 0.012  # about +12 % per decade over sixty
    los = np.maximum(1, np.round(np.exp(np.log(median) + older + sigma * rng.standard_normal(len(p))))).astype(int)

    admission = YEAR_START + pd.to_timedelta(admit, unit="D")
    discharge = admission + pd.to_timedelta(los, unit="D")
    names_, shares = zip(*INSURANCE, strict=True)
    # Private cover is commoner among working-age adults (civil servants, self-employed).
    private_boost = np.where((age_p >= 30) & (age_p < 65), 1.3, 0.85)
    ins_p = np.array(shares)[None, :] * np.stack([np.ones(len(p)), private_boost, np.ones(len(p))], axis=1)
    ins_cdf = np.cumsum(ins_p, axis=1) / ins_p.sum(axis=1, keepdims=True)
    ins = np.array(names_)[(ins_cdf < rng.random(len(p))[:, None]).sum(axis=1)]

    return pd.DataFrame(
        {
            "person": p["person"].to_numpy(),
            "birth_date": p["birth_date"].dt.strftime("%Y-%m-%d").to_numpy(),
            "sex": p["sex"].to_numpy(),
            "postcode": p["postcode"].to_numpy(),
            "admission_date": admission.strftime("%Y-%m-%d"),
            "discharge_date": discharge.strftime("%Y-%m-%d"),
            "length_of_stay": los,
            "diagnosis": [d.code for d in diag],
            "insurance": ins,
        }
    )
