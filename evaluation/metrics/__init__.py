"""Privacy and utility metrics for anonymised and synthetic tabular data.

A self-contained library (numpy, pandas, scipy, scikit-learn only): functions take
DataFrames or arrays and return numbers or frozen dataclasses, with confidence
intervals where the metric is an estimate. Each function's docstring gives its
definition and its source; the test-suite checks each against a reference
implementation (pycanon, anonymeter, scikit-learn) or hand-computed examples.

Conventions: numeric and date columns are ordered, every other column is
categorical; a missing value is a value of its own.
"""

from .anonymity import entropy_l_diversity, k_anonymity, l_diversity, t_closeness
from .distance import DistanceToClosestRecord, distance_to_closest_record
from .intervals import clopper_pearson_interval, wilson_interval
from .membership import MembershipInferenceScores, membership_inference_scores
from .reidentification import ReidentificationRisk, reidentification_risk
from .risks import PrivacyRisk, SuccessRate, inference_risk, linkability_risk, singling_out_risk
from .utility import MLUtility, correlation_difference, marginal_fidelity, ml_utility

__all__ = [
    "DistanceToClosestRecord",
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
