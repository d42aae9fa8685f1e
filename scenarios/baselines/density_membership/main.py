"""Density-ratio membership inference (after DOMIAS, van Breugel et al. 2023).

A generator overfits where its release is denser than the population it was drawn from. The
attack fits one Gaussian mixture to the release and one to the auxiliary population (the
same features: standardised numbers and dates, one-hot categories, projected on the
population's principal components) and scores each candidate by the log ratio of the two
densities, turned into a probability with the logistic function: the posterior of
membership under equal priors if both densities were exact. Generalised release cells are
replaced by a value drawn inside them (a set member, a point of the interval, a population
value for '*'), so k-anonymous releases are read as the distributions they describe.
"""

from __future__ import annotations

import os

# The sandbox grants one CPU: more BLAS/OpenMP threads than that only contend for it.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.mixture import GaussianMixture

import arena_tables as at

MAX_DIMENSIONS = 10
MAX_COMPONENTS = 12
ROWS_PER_COMPONENT = 150


def mixture(x: np.ndarray, seed: int) -> GaussianMixture:
    k = int(np.clip(len(x) // ROWS_PER_COMPONENT, 1, MAX_COMPONENTS))
    return GaussianMixture(n_components=k, covariance_type="full", reg_covar=1e-3, random_state=seed).fit(x)


def scores(release: pd.DataFrame, candidates: pd.DataFrame, population: pd.DataFrame, schema: dict, seed: int) -> np.ndarray:
    types = schema["types"]
    columns = [c for c in types if c in release.columns and c in candidates.columns and not at.id_like(c, schema)]
    reference = population if len(population) >= 2 else candidates
    rng = np.random.default_rng(seed)
    plain_release = at.sample_within(release, columns, types, reference, rng)
    ref_x, rel_x, cand_x = at.encode_plain([reference, plain_release, candidates], columns, types)
    dims = int(min(MAX_DIMENSIONS, ref_x.shape[1], len(ref_x) - 1))
    if dims < 1:
        return np.full(len(candidates), 0.5)
    pca = PCA(n_components=dims, random_state=seed).fit(ref_x)
    ref_z, rel_z, cand_z = (pca.transform(x) for x in (ref_x, rel_x, cand_x))
    log_ratio = mixture(rel_z, seed).score_samples(cand_z) - mixture(ref_z, seed).score_samples(cand_z)
    return 1.0 / (1.0 + np.exp(-np.clip(log_ratio, -50, 50)))


def main() -> None:
    env = at.env()
    schema = at.read_schema(env.input)
    release = at.read_table(env.input / "release.csv")
    candidates = at.read_table(env.input / "candidates.csv")
    population = at.read_table(env.input / "population.csv")
    s = scores(release, candidates, population, schema, env.seed)
    pd.DataFrame({"candidate_id": candidates["candidate_id"], "score": np.round(s, 6)}).to_csv(
        env.output / "predictions.csv", index=False, lineterminator="\n"
    )


if __name__ == "__main__":
    main()
