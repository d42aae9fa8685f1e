"""Privacy and utility metrics for anonymised and synthetic tabular data.

A self-contained library (numpy, pandas, scipy, scikit-learn only): functions take
DataFrames or arrays and return numbers or frozen dataclasses, with confidence
intervals where the metric is an estimate. Each function's docstring gives its
definition and its source; the test-suite checks each against a reference
implementation (pycanon, anonymeter, scikit-learn) or hand-computed examples.

Conventions: numeric and date columns are ordered, every other column is
categorical (``column_types`` overrides the detection in every metric); a
missing value is a value of its own. A metric raises ``ValueError`` only on bad
input (a missing column, an empty table, an unknown option); a legal input whose
value is undefined yields NaN with the reason in the result. Definitions,
sources and every deviation from the reference tools, with the option that
removes it: ``docs/metrics.md``.
"""

from ._columns import COLUMN_TYPES, apply_column_types
from .anonymity import (
    AlphaKAnonymity,
    RecursiveDiversity,
    alpha_k_anonymity,
    basic_beta_likeness,
    delta_disclosure,
    enhanced_beta_likeness,
    entropy_l_diversity,
    k_anonymity,
    l_diversity,
    recursive_c_l_diversity,
    t_closeness,
)
from .distance import DistanceToClosestRecord, closest_record_distances, distance_to_closest_record
from .hierarchy import Hierarchy, hierarchy_csv, hierarchy_from_csv, hierarchy_read
from .intervals import clopper_pearson_interval, wilson_interval
from .membership import DEFAULT_FPR_LEVELS, MembershipInferenceScores, membership_inference_scores
from .reidentification import ReidentificationRisk, reidentification_risk
from .risks import PrivacyRisk, SuccessRate, inference_risk, linkability_risk, singling_out_risk
from .utility import MLUtility, correlation_difference, marginal_fidelity, ml_utility

__all__ = [
    "AlphaKAnonymity",
    "COLUMN_TYPES",
    "DEFAULT_FPR_LEVELS",
    "RecursiveDiversity",
    "alpha_k_anonymity",
    "apply_column_types",
    "basic_beta_likeness",
    "closest_record_distances",
    "delta_disclosure",
    "enhanced_beta_likeness",
    "hierarchy_csv",
    "hierarchy_from_csv",
    "hierarchy_read",
    "recursive_c_l_diversity",
    "DistanceToClosestRecord",
    "Hierarchy",
    "MLUtility",
    "MembershipInferenceScores",
    "PrivacyRisk",
    "ReidentificationRisk",
    "SuccessRate",
    "clopper_pearson_interval",
    "correlation_difference",
    "distance_to_closest_record",
    "entropy_l_diversity",
    "inference_risk",
    "k_anonymity",
    "l_diversity",
    "linkability_risk",
    "marginal_fidelity",
    "membership_inference_scores",
    "ml_utility",
    "reidentification_risk",
    "singling_out_risk",
    "t_closeness",
    "wilson_interval",
]
