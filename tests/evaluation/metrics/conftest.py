import numpy as np
import pandas as pd
import pytest

DIAGNOSES = ["I10", "E11", "J45", "C50", "F32", "K21", "M54", "N39"]


def make_patients(n: int, seed: int) -> pd.DataFrame:
    """Patient records with realistic dependencies: diagnosis depends on age and
    sex, length of stay on age and diagnosis."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 95, n)
    sex = rng.choice(["F", "M"], n)
    postcode = rng.choice([f"{p:05d}" for p in np.random.default_rng(0).integers(10000, 99999, 40)], n)
    old = age > 65
    weights = np.where(old[:, None], [0.35, 0.25, 0.02, 0.1, 0.03, 0.1, 0.1, 0.05], [0.05, 0.05, 0.3, 0.05, 0.3, 0.1, 0.1, 0.05])
    weights = weights / weights.sum(axis=1, keepdims=True)
    diagnosis = np.array(DIAGNOSES)[(weights.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)]
    length_of_stay = np.round(rng.gamma(2.0, 1.5, n) + age / 15 + (diagnosis == "C50") * 6).astype(int)
    admitted = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    return pd.DataFrame(
        {
            "age": age,
            "sex": sex,
            "postcode": postcode,
            "diagnosis": diagnosis,
            "length_of_stay": length_of_stay,
            "admitted": admitted,
        }
    )


@pytest.fixture(scope="session")
def patients():
    return make_patients
