"""The three re-identification risks of the Article 29 Working Party (Opinion
05/2014 on anonymisation techniques): singling out, linkability and inference,
measured by attacks as in anonymeter (Giomi et al. 2023, PoPETs)."""

from ._results import PrivacyRisk, SuccessRate, attack_rate_risk, normalised_risk
from .inference import inference_risk
from .linkability import linkability_risk
from .singling_out import singling_out_risk

__all__ = [
    "PrivacyRisk",
    "SuccessRate",
    "attack_rate_risk",
    "inference_risk",
    "linkability_risk",
    "normalised_risk",
    "singling_out_risk",
]
