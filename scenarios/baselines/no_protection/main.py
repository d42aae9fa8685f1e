"""No protection: publish the raw records unchanged.

The reference point every other defense is measured against: perfect utility, and
whatever the attacks achieve here is the risk of publishing the data as it is.
"""

import shutil

import arena_tables as at


def main() -> None:
    env = at.env()
    shutil.copyfile(env.input / "records.csv", env.output / "release.csv")


if __name__ == "__main__":
    main()
