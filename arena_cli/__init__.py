"""``arena``: the participant command line of AnoMed Arena, speaking only the REST API v1."""

__version__ = "0.1.0"
