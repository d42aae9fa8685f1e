"""pycanon's datasets (``data/pycanon/``) with the quasi-identifiers and sensitive
attributes pycanon's own examples and tests use for them."""

STUDENTS = (["Teacher", "Gender", "Ethnic", "Freeredu", "wesson"], ["Score"])
ADULT = (["age", "education", "occupation", "relationship", "sex", "native-country"], ["salary-class"])
AIRLINE = (
    [
        "Gender",
        "Customer Type",
        "Age",
        "Type of Travel",
        "Class",
        "Flight Distance",
        "Departure Delay in Minutes",
        "Arrival Delay in Minutes",
    ],
    ["Departure/Arrival time convenient", "On-board service", "satisfaction"],
)
DRUGS = (["Age", "Sex", "BP", "Cholesterol", "Na_to_K"], ["Drug"])
HOSPITAL = (["name", "age", "gender", "city"], ["religion", "disease"])
STROKE = (
    ["gender", "age", "hypertension", "heart_disease", "ever_married", "work_type", "Residence_type", "smoking_status"],
    ["stroke"],
)


def _family(name: str):
    for prefix, case in (
        ("StudentsMath", STUDENTS),
        ("adult", ADULT),
        ("airline", AIRLINE),
        ("drug", DRUGS),
        ("hospital", HOSPITAL),
        ("stroke", STROKE),
        ("healthcare-dataset-stroke", STROKE),
    ):
        if name.split("__", 1)[1].startswith(prefix):
            return case
    raise KeyError(name)


NAMES = [
    "l_diversity__StudentsMath_Score_k2_anonymized_l3",
    "l_diversity__StudentsMath_Score_k5_anonymized_l5",
    "l_diversity__StudentsMath_Score_k7_anonymized_l7",
    "l_diversity__StudentsMath_Score_l3",
    "l_diversity__adult_k10_anonymized_l2",
    "l_diversity__adult_k20_anonymized_l2",
    "l_diversity__adult_k3_anonymized_l2",
    "l_diversity__airline_passenger_sat_k10_anonymized_l2",
    "l_diversity__airline_passenger_sat_k20_anonymized_l2",
    "l_diversity__airline_passenger_sat_k2_anonymized_l2",
    "l_diversity__airline_passenger_sat_k5_anonymized_l2",
    "l_diversity__drugs_k5_anonymized_l3",
    "l_diversity__healthcare-dataset-stroke-data_l2",
    "l_diversity__stroke_k10_anonymized_l2",
    "l_diversity__stroke_k15_anonymized_l2",
    "l_diversity__stroke_k19_anonymized_l2",
    "l_diversity__stroke_k20_anonymized_l2",
    "l_diversity__stroke_k22_anonymized_l2",
    "l_diversity__stroke_k25_anonymized_l2",
    "l_diversity__stroke_k2_anonymized_l2",
    "l_diversity__stroke_k5_anonymized_l2",
    "processed__StudentsMath_Score",
    "processed__StudentsMath_Score_k2",
    "processed__StudentsMath_Score_k5",
    "processed__StudentsMath_Score_k7",
    "processed__adult_anonymized_10",
    "processed__adult_anonymized_20",
    "processed__adult_anonymized_3",
    "processed__airline_passenger_sat_k10",
    "processed__airline_passenger_sat_k2",
    "processed__airline_passenger_sat_k20",
    "processed__airline_passenger_sat_k5",
    "processed__drug_type",
    "processed__drugs_k5",
    "processed__healthcare-dataset-stroke-data",
    "processed__hospital_anonymized",
    "processed__stroke_k10",
    "processed__stroke_k15",
    "processed__stroke_k19",
    "processed__stroke_k2",
    "processed__stroke_k20",
    "processed__stroke_k22",
    "processed__stroke_k25",
    "processed__stroke_k5",
]
CASES = {name: _family(name) for name in NAMES}
