"""A synthetic German-style health region: residents, a population register, discharges.

The region is invented, but its structure follows public German statistics closely enough
to show the classic danger of "anonymous" hospital data: birth date, sex and postcode
single out almost every resident, and a named register with the same three fields turns a
nameless discharge table into a list of named diagnoses.
"""
