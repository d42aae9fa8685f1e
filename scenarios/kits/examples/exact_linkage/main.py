"""Example attack (reidentification): exact linkage on the quasi-identifiers.

Every release row whose birth date, sex and postcode (the schema's quasi-identifiers)
equal those of register entries is linked to one of them; the confidence is one over the
number of entries that fit. Generalised values ('*', intervals, sets) match nothing here:
handling them is a good first improvement.
"""

import json
import os
from pathlib import Path

import pandas as pd

inp = Path(os.environ.get("ARENA_INPUT", "/input"))
out = Path(os.environ.get("ARENA_OUTPUT", "/output"))

schema = json.loads((inp / "schema.json").read_text())
# Read every cell as text: postcodes keep their leading zeros.
release = pd.read_csv(inp / "release.csv", dtype=str, keep_default_na=False)
register = pd.read_csv(inp / "register.csv", dtype=str, keep_default_na=False)
qis = [q for q in schema["quasi_identifiers"] if q in release.columns and q in register.columns]

people = register.groupby(qis)["identity_id"].agg(sorted)
links = release[["release_id"] + qis].join(people, on=qis, how="inner")
links["confidence"] = 1.0 / links["identity_id"].str.len()
links["identity_id"] = links["identity_id"].str[0]
links[["release_id", "identity_id", "confidence"]].to_csv(out / "links.csv", index=False)
