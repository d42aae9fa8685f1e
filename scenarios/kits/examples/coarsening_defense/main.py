"""Example defense (tabular anonymization): global recoding of the quasi-identifiers.

Birth dates (any date quasi-identifier) become the calendar year as an interval, numbers
a band of ten, and postcode-like codes the set of codes sharing their first three digits.
Everything else is released as it is, with the id column. Coarsening everyone the same way
is simple and predictable, but it guarantees nothing: people in sparse cells stay unique.
"""

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

inp = Path(os.environ.get("ARENA_INPUT", "/input"))
out = Path(os.environ.get("ARENA_OUTPUT", "/output"))

schema = json.loads((inp / "schema.json").read_text())
types = {c["name"]: c["type"] for c in schema["columns"]}
records = pd.read_csv(inp / "records.csv", dtype=str, keep_default_na=False)
release = records.copy()

for q in schema["quasi_identifiers"]:
    if types[q] == "date":
        year = records[q].str[:4]
        release[q] = "[" + year + "-01-01, " + year + "-12-31]"
    elif types[q] == "numeric":
        low = np.floor(pd.to_numeric(records[q]) / 10) * 10
        release[q] = [f"[{lo:g}, {lo + 10:g})" for lo in low]
    elif records[q].str.fullmatch(r"\d{4,}").all():
        prefix = records[q].str[:3]
        groups = records.groupby(prefix)[q].agg(lambda s: sorted(set(s)))
        sets = prefix.map(lambda p, groups=groups: groups[p][0] if len(groups[p]) == 1 else "{" + "|".join(groups[p]) + "}")
        release[q] = sets

release.to_csv(out / "release.csv", index=False)
