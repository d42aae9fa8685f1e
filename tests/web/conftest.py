"""The arena's pages are tested on the arena that tests/evaluation/test_arena.py builds."""

from tests.evaluation.test_arena import arena as arena  # the fixture, shared with the pages' tests
