"""Task types: for each role, what a run sees, what it writes, how that is checked and scored.

``get_task(name)`` returns the task type registered under a bundle's ``task:`` name.
"""

from __future__ import annotations

from .attribute_inference import AttributeInference
from .base import (
    MetricSpec,
    OutputInvalid,
    Prepared,
    Schema,
    ScoreValue,
    SplitAssigner,
    Target,
    TaskData,
    TaskDataInvalid,
    TaskType,
)
from .membership_inference import MembershipInference
from .reidentification import Reidentification
from .tabular_anonymization import TabularAnonymization

TASK_TYPES: dict[str, type[TaskType]] = {
    task.name: task for task in (TabularAnonymization, MembershipInference, Reidentification, AttributeInference)
}


def get_task(name: str) -> TaskType:
    """A task type by its name, e.g. ``get_task("membership-inference")``."""
    try:
        return TASK_TYPES[name]()
    except KeyError:
        raise KeyError(f"unknown task type {name!r}; known: {', '.join(sorted(TASK_TYPES))}") from None


__all__ = [
    "TASK_TYPES",
    "MetricSpec",
    "OutputInvalid",
    "Prepared",
    "Schema",
    "ScoreValue",
    "SplitAssigner",
    "Target",
    "TaskData",
    "TaskDataInvalid",
    "TaskType",
    "get_task",
]
