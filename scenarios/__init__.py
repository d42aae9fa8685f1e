"""The built-in medical scenarios of AnoMed Arena, written as competition bundles.

``python -m scenarios.build`` writes one bundle folder per scenario (see docs/bundles.md).
Every generator is deterministic: fixed seeds, stable row order and number formatting,
so two builds produce byte-identical files and a bundle's sha256 means something.
"""
