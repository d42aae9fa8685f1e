"""First names and surnames for the register, written for this project.

First names depend on the birth cohort, as they do in real registers: a woman born in
1940 is far more likely an Ursula than a Mia. Each list is ordered from most to least
common; :func:`zipf_weights` turns that order into frequencies, which is the shape real
name frequencies follow.
"""

from __future__ import annotations

import numpy as np

# Cohorts by birth year: [start, end) and first names (female, male), most common first.
COHORTS: tuple[tuple[int, int, tuple[str, ...], tuple[str, ...]], ...] = (
    (1900, 1950,
     ("Ursula", "Helga", "Gisela", "Ingrid", "Renate", "Karin", "Gertrud", "Erika",
      "Hildegard", "Elisabeth", "Christa", "Brigitte", "Irmgard", "Margarete", "Edith",
      "Ilse", "Waltraud", "Anneliese", "Lieselotte", "Inge", "Hannelore", "Rosemarie"),
     ("Hans", "Karl", "Werner", "Heinz", "Günter", "Horst", "Gerhard", "Helmut", "Walter",
      "Kurt", "Klaus", "Manfred", "Dieter", "Rudolf", "Wolfgang", "Herbert", "Erich",
      "Siegfried", "Joachim", "Friedrich", "Lothar", "Gottfried")),
    (1950, 1975,
     ("Sabine", "Petra", "Monika", "Andrea", "Birgit", "Martina", "Susanne", "Gabriele",
      "Claudia", "Heike", "Angelika", "Kerstin", "Ute", "Anja", "Silke", "Cornelia",
      "Barbara", "Marion", "Doris", "Elke", "Jutta", "Bärbel"),
     ("Thomas", "Michael", "Andreas", "Peter", "Frank", "Uwe", "Jürgen", "Bernd", "Ralf",
      "Stefan", "Matthias", "Jörg", "Rainer", "Holger", "Detlef", "Volker", "Lutz",
      "Gerd", "Torsten", "Dirk", "Axel", "Steffen")),
    (1975, 2000,
     ("Julia", "Katharina", "Stefanie", "Christina", "Anna", "Sarah", "Nicole", "Melanie",
      "Sandra", "Daniela", "Jessica", "Franziska", "Laura", "Lisa", "Nadine", "Jana",
      "Maria", "Sophie", "Annika", "Vanessa", "Aylin", "Natalia"),
     ("Christian", "Daniel", "Sebastian", "Alexander", "Tobias", "Florian", "Jan", "Martin",
      "Philipp", "Markus", "Dennis", "Tim", "Patrick", "Benjamin", "Marcel", "Kevin",
      "David", "Felix", "Lukas", "Robert", "Murat", "Piotr")),
    (2000, 2100,
     ("Mia", "Emma", "Hannah", "Sofia", "Emilia", "Lina", "Marie", "Lea", "Mila", "Clara",
      "Ella", "Leonie", "Amelie", "Lena", "Johanna", "Luisa", "Ida", "Frieda", "Lara",
      "Elif", "Zoe", "Maja"),
     ("Noah", "Ben", "Leon", "Paul", "Finn", "Elias", "Jonas", "Luis", "Felix", "Henry",
      "Emil", "Matteo", "Theo", "Luca", "Maximilian", "Anton", "Jakob", "Moritz", "Oskar",
      "Milan", "Yusuf", "Karl")),
)

SURNAMES: tuple[str, ...] = (
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
    "Schulz", "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf",
    "Schröder", "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann",
    "Hartmann", "Lange", "Schmitt", "Werner", "Schmitz", "Krause", "Meier", "Lehmann",
    "Schmid", "Schulze", "Maier", "Köhler", "Herrmann", "König", "Walter", "Mayer",
    "Huber", "Kaiser", "Fuchs", "Peters", "Lang", "Scholz", "Möller", "Weiß", "Jung",
    "Hahn", "Schubert", "Vogel", "Friedrich", "Keller", "Günther", "Frank", "Berger",
    "Winkler", "Roth", "Beck", "Lorenz", "Baumann", "Franke", "Albrecht", "Schuster",
    "Simon", "Ludwig", "Böhm", "Winter", "Kraus", "Martin", "Schumacher", "Krämer",
    "Vogt", "Stein", "Jäger", "Otto", "Sommer", "Groß", "Seidel", "Heinrich", "Brandt",
    "Haas", "Schreiber", "Graf", "Schulte", "Dietrich", "Ziegler", "Kuhn", "Kühn",
    "Pohl", "Engel", "Horn", "Busch", "Bergmann", "Thomas", "Voigt", "Sauer", "Arnold",
    "Wolff", "Pfeiffer", "Kretschmer", "Uhlig", "Böttcher", "Seifert", "Ebert",
    "Nowak", "Kowalski", "Wójcik", "Yılmaz", "Kaya", "Demir", "Şahin", "Nguyen",
    "Popescu", "Ivanova", "Petrović", "Rossi", "Hoxha", "Haddad", "Novák",
)


def zipf_weights(n: int, exponent: float = 0.9) -> np.ndarray:
    """Frequencies for a list ordered from most to least common."""
    w = 1.0 / np.arange(1, n + 1) ** exponent
    return w / w.sum()


def draw_first_names(rng: np.random.Generator, birth_years: np.ndarray, sex: np.ndarray) -> np.ndarray:
    """One first name per person, from the lists of their birth cohort and sex ('F'/'M')."""
    out = np.empty(len(birth_years), dtype=object)
    for start, end, female, male in COHORTS:
        for code, names in (("F", female), ("M", male)):
            idx = np.flatnonzero((birth_years >= start) & (birth_years < end) & (sex == code))
            if idx.size:
                out[idx] = rng.choice(np.array(names, dtype=object), size=idx.size, p=zipf_weights(len(names)))
    return out


def draw_surnames(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.choice(np.array(SURNAMES, dtype=object), size=n, p=zipf_weights(len(SURNAMES), 0.7))
