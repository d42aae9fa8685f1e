"""Main diagnoses of hospital stays: ICD-10 codes, who gets them, how long they stay.

Each code carries an admission rate per 10,000 residents and year in eight age bands and
a factor per sex, and the median and log-spread of its length of stay. The figures are
rounded and illustrative but follow the shape of the German hospital diagnosis
statistics: births and neonatal conditions at age 0, appendicitis and tonsils in the
young, deliveries in women of 15-44, alcohol in men of working age, fractures of the hip
and heart failure in the very old. Psychiatric stays are long, observations short.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Age bands: [lower bound, next lower bound) in years.
AGE_BANDS = (0, 1, 15, 30, 45, 60, 75, 85)


@dataclass(frozen=True)
class Diagnosis:
    code: str
    label: str
    rates: tuple[float, ...]  # admissions per 10,000 residents per year, one per age band
    female: float  # multiplier for women
    male: float  # multiplier for men
    los_median: float  # days
    los_sigma: float  # spread of log length of stay
    at_birth: bool = False  # the stay starts on the day of birth


DIAGNOSES: tuple[Diagnosis, ...] = (
    Diagnosis("Z38.0", "Liveborn infant, born in hospital", (9000, 0, 0, 0, 0, 0, 0, 0), 1, 1, 3, 0.3, True),
    Diagnosis("P07.3", "Other preterm infant", (650, 0, 0, 0, 0, 0, 0, 0), 0.9, 1.1, 14, 0.7, True),
    Diagnosis("P59.9", "Neonatal jaundice", (450, 0, 0, 0, 0, 0, 0, 0), 0.9, 1.1, 4, 0.4, True),
    Diagnosis("J21.9", "Acute bronchiolitis", (300, 20, 0, 0, 0, 0, 0, 0), 0.9, 1.1, 4, 0.4),
    Diagnosis("A09.9", "Gastroenteritis and colitis of unspecified origin", (150, 60, 25, 20, 25, 40, 70, 100), 1, 1, 3, 0.5),
    Diagnosis("J35.0", "Chronic tonsillitis", (0, 45, 25, 8, 2, 0, 0, 0), 1, 1, 4, 0.3),
    Diagnosis("K35.8", "Acute appendicitis", (0, 25, 25, 12, 8, 6, 5, 4), 0.9, 1.1, 4, 0.4),
    Diagnosis("S06.0", "Concussion", (80, 60, 35, 15, 12, 15, 35, 80), 0.8, 1.3, 2, 0.5),
    Diagnosis("O80", "Single spontaneous delivery", (0, 0, 120, 140, 0, 0, 0, 0), 2, 0, 3, 0.3),
    Diagnosis("O82", "Single delivery by caesarean section", (0, 0, 45, 65, 0, 0, 0, 0), 2, 0, 4, 0.3),
    Diagnosis("F10.0", "Mental and behavioural disorders due to alcohol: acute intoxication", (0, 3, 40, 35, 40, 20, 6, 2), 0.6, 1.6, 1, 0.6),
    Diagnosis("F10.2", "Mental and behavioural disorders due to alcohol: dependence syndrome", (0, 0, 10, 35, 50, 25, 6, 1), 0.5, 1.5, 10, 0.6),
    Diagnosis("F32.2", "Severe depressive episode without psychotic symptoms", (0, 3, 25, 30, 30, 20, 20, 15), 1.3, 0.7, 40, 0.5),
    Diagnosis("F20.0", "Paranoid schizophrenia", (0, 0, 20, 20, 12, 6, 3, 1), 0.8, 1.2, 30, 0.6),
    Diagnosis("G40.9", "Epilepsy, unspecified", (10, 12, 10, 8, 8, 8, 10, 10), 0.9, 1.1, 4, 0.5),
    Diagnosis("S52.5", "Fracture of lower end of radius", (0, 8, 4, 4, 8, 14, 22, 30), 1.4, 0.6, 3, 0.5),
    Diagnosis("S72.0", "Fracture of neck of femur", (0, 0, 1, 1, 5, 25, 110, 300), 1.4, 0.6, 14, 0.4),
    Diagnosis("M16.1", "Other primary coxarthrosis", (0, 0, 0, 2, 25, 60, 45, 10), 1.1, 0.9, 9, 0.3),
    Diagnosis("M17.1", "Other primary gonarthrosis", (0, 0, 0, 2, 35, 70, 45, 8), 1.2, 0.8, 8, 0.3),
    Diagnosis("M54.4", "Lumbago with sciatica", (0, 0, 6, 18, 25, 22, 20, 18), 1, 1, 5, 0.6),
    Diagnosis("R07.4", "Chest pain, unspecified", (0, 1, 6, 14, 30, 35, 30, 20), 1, 1, 2, 0.5),
    Diagnosis("I10", "Essential (primary) hypertension", (0, 0, 1, 3, 15, 30, 45, 40), 1.1, 0.9, 3, 0.5),
    Diagnosis("I21.4", "Acute subendocardial myocardial infarction", (0, 0, 0, 3, 25, 60, 100, 130), 0.6, 1.5, 6, 0.5),
    Diagnosis("I48.0", "Paroxysmal atrial fibrillation", (0, 0, 1, 4, 20, 60, 90, 80), 0.9, 1.1, 3, 0.6),
    Diagnosis("I50.9", "Heart failure, unspecified", (0, 0, 0, 1, 12, 60, 220, 480), 1, 1, 9, 0.5),
    Diagnosis("I63.9", "Cerebral infarction, unspecified", (0, 0, 1, 3, 15, 50, 110, 160), 0.9, 1.1, 9, 0.5),
    Diagnosis("G45.9", "Transient cerebral ischaemic attack, unspecified", (0, 0, 0, 2, 8, 25, 40, 45), 1, 1, 3, 0.4),
    Diagnosis("I70.2", "Atherosclerosis of arteries of extremities", (0, 0, 0, 1, 10, 40, 50, 30), 0.6, 1.5, 7, 0.6),
    Diagnosis("J18.9", "Pneumonia, unspecified", (60, 25, 10, 12, 25, 70, 200, 420), 0.9, 1.1, 8, 0.5),
    Diagnosis("J44.1", "Chronic obstructive pulmonary disease with acute exacerbation", (0, 0, 0, 2, 25, 70, 110, 90), 0.8, 1.2, 8, 0.5),
    Diagnosis("C34.1", "Malignant neoplasm: upper lobe, bronchus or lung", (0, 0, 0, 2, 20, 50, 45, 15), 0.7, 1.4, 7, 0.6),
    Diagnosis("C50.4", "Malignant neoplasm: upper-outer quadrant of breast", (0, 0, 0, 10, 35, 35, 25, 12), 2, 0, 5, 0.5),
    Diagnosis("C18.7", "Malignant neoplasm: sigmoid colon", (0, 0, 0, 1, 8, 22, 30, 20), 0.9, 1.1, 11, 0.5),
    Diagnosis("C61", "Malignant neoplasm of prostate", (0, 0, 0, 0, 15, 50, 35, 15), 0, 2, 6, 0.5),
    Diagnosis("N39.0", "Urinary tract infection, site not specified", (15, 5, 5, 6, 8, 18, 60, 140), 1.4, 0.6, 6, 0.5),
    Diagnosis("N20.0", "Calculus of kidney", (0, 0, 8, 14, 18, 12, 6, 2), 0.7, 1.3, 3, 0.5),
    Diagnosis("K80.2", "Calculus of gallbladder without cholecystitis", (0, 0, 8, 18, 28, 32, 30, 20), 1.4, 0.6, 4, 0.5),
    Diagnosis("K57.3", "Diverticular disease of large intestine without perforation or abscess", (0, 0, 1, 4, 18, 30, 35, 25), 1, 1, 7, 0.4),
    Diagnosis("K40.9", "Unilateral inguinal hernia, without obstruction or gangrene", (10, 10, 3, 5, 12, 18, 14, 8), 0.3, 1.7, 2, 0.4),
    Diagnosis("E11.9", "Type 2 diabetes mellitus without complications", (0, 0, 1, 4, 12, 25, 35, 30), 0.9, 1.1, 7, 0.5),
    Diagnosis("E86", "Volume depletion", (5, 3, 1, 1, 2, 8, 40, 110), 1.1, 0.9, 6, 0.5),
)


# The chapters of ICD-10 that hold the codes above, by their code ranges (first letter and
# two digits, both ends included).
CHAPTERS: tuple[tuple[str, str], ...] = (
    ("A00", "B99"),  # I    certain infectious and parasitic diseases
    ("C00", "D48"),  # II   neoplasms
    ("E00", "E90"),  # IV   endocrine, nutritional and metabolic diseases
    ("F00", "F99"),  # V    mental and behavioural disorders
    ("G00", "G99"),  # VI   diseases of the nervous system
    ("I00", "I99"),  # IX   diseases of the circulatory system
    ("J00", "J99"),  # X    diseases of the respiratory system
    ("K00", "K93"),  # XI   diseases of the digestive system
    ("M00", "M99"),  # XIII diseases of the musculoskeletal system and connective tissue
    ("N00", "N99"),  # XIV  diseases of the genitourinary system
    ("O00", "O99"),  # XV   pregnancy, childbirth and the puerperium
    ("P00", "P96"),  # XVI  certain conditions originating in the perinatal period
    ("R00", "R99"),  # XVIII symptoms, signs and abnormal findings
    ("S00", "T98"),  # XIX  injury, poisoning and other consequences of external causes
    ("Z00", "Z99"),  # XXI  factors influencing health status and contact with health services
)


def chapter_of(code: str) -> str:
    """The chapter's code range (``I00-I99``) of an ICD-10 code."""
    category = code[:3]
    for first, last in CHAPTERS:
        if first <= category <= last:
            return f"{first}-{last}"
    raise ValueError(f"no chapter holds the code {code!r}")


def hierarchy() -> list[list[str]]:
    """The codes' generalisation hierarchy (docs/bundles.md): code, three-character
    category, chapter, everything — public knowledge, the classification itself."""
    return [[d.code, d.code[:3], chapter_of(d.code), "*"] for d in sorted(DIAGNOSES, key=lambda d: d.code)]


def band_of(age_years: np.ndarray) -> np.ndarray:
    """Index into AGE_BANDS for each age in whole years."""
    return np.searchsorted(np.array(AGE_BANDS), age_years, side="right") - 1


def rate_matrix(age_years: np.ndarray, sex: np.ndarray) -> np.ndarray:
    """Admission rates, shape (people, diagnoses), for ages in years and sex 'F'/'M'."""
    band = band_of(age_years)
    rates = np.array([d.rates for d in DIAGNOSES], dtype=float)  # (diagnoses, bands)
    by_sex = np.where(
        (sex == "F")[:, None],
        np.array([d.female for d in DIAGNOSES])[None, :],
        np.array([d.male for d in DIAGNOSES])[None, :],
    )
    return rates[:, band].T * by_sex
