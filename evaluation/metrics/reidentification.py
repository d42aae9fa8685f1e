"""Re-identification risk under the prosecutor and journalist attacker models.

Definitions follow El Emam (2013), *Guide to the De-Identification of Personal
Health Information* (CRC Press), El Emam & Dankar (2008), "Protecting privacy
using k-anonymity", JAMIA 15(5):627–637, and the ARX Data Anonymization Tool's
risk analysis (Prasser et al., "Flexible data anonymization using ARX", 2020;
``RiskModelSampleSummary`` of ARX 3.9), whose formulas are used here; the peer
suite checks them on ARX's own test values.

Let the *sample* (the released table) be split into equivalence classes over the
quasi-identifiers, class j holding ``f_j`` of the ``n`` records.

Prosecutor model (the attacker knows the target is in the sample):

* record risk ``r = 1 / f_j`` for each record of class j;
* highest risk ``max r = 1 / min_j f_j`` (= 1/k); lowest ``1 / max_j f_j``;
* average risk ``(1/n) Σ_records r = (number of classes) / n``, which is also
  the prosecutor's *marketer* risk (the expected share of records a marketer
  matching every record re-identifies);
* records at risk: the share of records with ``r > threshold``. The default
  threshold 0.09 is El Emam's for releases to researchers under a data-sharing
  agreement (it is ARX's default too);
* sample uniqueness: the share of records alone in their class (``f_j = 1``).

Journalist model (the attacker matches against a population register ``F``
containing the sample, e.g. a voter list): with ``F_j`` the number of population
records sharing class j's quasi-identifiers,

* record risk ``1 / F_j``; highest ``1 / min_j F_j``; lowest ``1 / max_j F_j``;
  records at risk: share with ``1 / F_j > threshold``;
* average risk ``max(J / Σ_j F_j, (1/n) Σ_j f_j / F_j)`` over the J classes of
  the sample, as ARX computes it: the first term is the success rate of an
  attacker who picks a population record in a random class, the second that
  of one who picks a random sample record;
* marketer risk ``(1/n) Σ_j f_j / F_j`` (ARX's marketer risk).

The population is assumed to contain the sample's individuals (the journalist
model's premise); a class found fewer times in the population than in the sample
has its ``F_j`` raised to ``f_j``, since the sample's own records are in it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._columns import apply_column_types, as_column_list, check_columns, group_codes

__all__ = ["ReidentificationRisk", "reidentification_risk"]


@dataclass(frozen=True)
class ReidentificationRisk:
    """Re-identification risk of a table; see the module docstring for definitions.

    The journalist fields are None unless a population table was given.
    """

    prosecutor_highest_risk: float
    prosecutor_average_risk: float
    prosecutor_records_at_risk: float
    sample_uniqueness: float
    threshold: float
    n_records: int
    n_classes: int
    prosecutor_lowest_risk: float = 0.0
    marketer_risk: float = 0.0  # the journalist model's when a population is given
    journalist_highest_risk: float | None = None
    journalist_average_risk: float | None = None
    journalist_records_at_risk: float | None = None
    journalist_lowest_risk: float | None = None


def reidentification_risk(
    df: pd.DataFrame,
    quasi_identifiers: str | Sequence[str],
    threshold: float = 0.09,
    population: pd.DataFrame | None = None,
    *,
    column_types: Mapping[str, str] | None = None,
) -> ReidentificationRisk:
    """Prosecutor (and, given ``population``, journalist) re-identification risk.

    Definitions: El Emam 2013 (Guide to the De-Identification of Personal Health
    Information) and El Emam & Dankar 2008 (JAMIA 15(5)); the same as ARX's
    risk analysis. See the module docstring for the formulas. Equivalence classes
    are formed over the quasi-identifiers with missing values as a value of their
    own. Runs in well under a second on 10⁶ records.
    """
    qis = as_column_list(quasi_identifiers)
    check_columns(df, qis, "table")
    n = len(df)
    if n == 0:
        raise ValueError("the table is empty")
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must lie in [0, 1], got {threshold}")

    df = apply_column_types(df, column_types)
    classes, n_classes = group_codes(df, qis)
    class_sizes = np.bincount(classes, minlength=n_classes)
    record_class_sizes = class_sizes[classes]
    journalist = {}
    if population is not None:
        check_columns(population, qis, "population table")
        population = apply_column_types(population, column_types, "population table")
        # Classes of the sample and of the population in one shared coding.
        both = pd.concat([df[qis], population[qis]], ignore_index=True)
        joint_classes, n_joint = group_codes(both, qis)
        sample_part, population_part = joint_classes[:n], joint_classes[n:]
        population_sizes = np.bincount(population_part, minlength=n_joint)
        sample_sizes = np.bincount(sample_part, minlength=n_joint)
        population_sizes = np.maximum(population_sizes, sample_sizes)
        record_population_sizes = population_sizes[sample_part]
        present = np.flatnonzero(sample_sizes)  # the sample's classes
        marketer = float(np.sum(sample_sizes[present] / population_sizes[present]) / n)
        journalist = dict(
            marketer_risk=marketer,
            journalist_highest_risk=float(1.0 / record_population_sizes.min()),
            journalist_lowest_risk=float(1.0 / population_sizes[present].max()),
            journalist_average_risk=max(float(len(present) / population_sizes[present].sum()), marketer),
            journalist_records_at_risk=float(np.mean(1.0 / record_population_sizes > threshold)),
        )
    return ReidentificationRisk(
        prosecutor_highest_risk=float(1.0 / class_sizes.min()),
        prosecutor_average_risk=n_classes / n,
        prosecutor_lowest_risk=float(1.0 / class_sizes.max()),
        prosecutor_records_at_risk=float(np.mean(1.0 / record_class_sizes > threshold)),
        sample_uniqueness=float(np.mean(record_class_sizes == 1)),
        threshold=threshold,
        n_records=n,
        n_classes=n_classes,
        **{"marketer_risk": n_classes / n, **journalist},
    )
