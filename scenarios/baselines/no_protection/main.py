"""No protection: publish the raw records unchanged.

The reference point every other defense is measured against: perfect utility, and
whatever the attacks achieve here is the risk of publishing the data as it is.
"""

import os

# The sandbox grants one CPU: more BLAS/OpenMP threads than that only contend for it.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import shutil

import arena_tables as at


def main() -> None:
    env = at.env()
    shutil.copyfile(env.input / "records.csv", env.output / "release.csv")


if __name__ == "__main__":
    main()
