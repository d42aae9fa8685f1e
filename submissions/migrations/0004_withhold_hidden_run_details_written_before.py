"""Rows written before the team's text was stored apart from the organizers' detail.

A failed submission whose failing run saw hidden data (an evaluation run or an arena pair)
kept the sandbox's message, the lines and counts of its invalid output, in ``error``, which
its team reads. Its text moves to ``error_detail`` (organizers) and ``error`` becomes the
fixed text for its failure class. A metric that could not be computed on a release kept the
library's message as its ``reason`` (shown in the identifiability report to everyone): a
reason that is not one of the fixed texts moves to ``error`` (organizers only).

The texts are frozen here, as they were when this migration was written.
"""

import re

from django.db import migrations

WITHHELD = (" This run saw hidden data: its logs, exit status, times, memory and the place of the problem "
            "are shown to the organizers only.")
TEAM_TEXT = {
    "timeout": "The run went past the phase's time limit." + WITHHELD,
    "out_of_memory": "The run went past the phase's memory limit." + WITHHELD,
    "exit_code": "The program ended with an error." + WITHHELD,
    "invalid_output": "The output breaks the rule output-format: the output breaks the task's format." + WITHHELD,
}
FIXED_REASONS = re.compile("|".join((
    r"no .+ attack has finished against this defense yet",
    r"no attack has finished against this defense yet",
    r"no finished run against (a|a team's) defense yet",
    r"the release has no values of the secret column",
    r"the schema has a single column",
    r"the schema names no target column",
    r"linkability needs quasi-identifiers and at least one other column",
    r"the schema lists no sensitive column",
    r"no holdout records in this split",
    r"fewer than \d+ holdout records in this split to serve as controls",
    r"no rows to count in this split",
    r"no targets or no controls in this split",
    r"this split has \d+ members and \d+ non-members; both are needed",
    r"the release cannot support this metric \(for example, a column it needs is suppressed entirely\)",
)))
UNSUPPORTED = "the release cannot support this metric (for example, a column it needs is suppressed entirely)"


def withhold(apps, schema_editor):
    Submission = apps.get_model("submissions", "Submission")
    Run = apps.get_model("submissions", "Run")
    Score = apps.get_model("submissions", "Score")
    hidden_runs = Run.objects.filter(saw_hidden_data=True, purpose__in=["evaluation", "arena"])
    failed = Submission.objects.filter(status="failed", failure_class__in=list(TEAM_TEXT), error_detail="").exclude(error="")
    for submission in failed.filter(pk__in=hidden_runs.values("submission_id")).iterator():
        if submission.error.startswith("Check run on the public sample"):
            continue
        submission.error_detail = submission.error
        submission.error = TEAM_TEXT[submission.failure_class]
        if submission.failure_class == "invalid_output":
            submission.rule = "output-format"
        submission.save(update_fields=["error", "error_detail", "rule"])
    for score in Score.objects.filter(value__isnull=True, detail__has_key="reason").exclude(detail__has_key="error").iterator():
        reason = str(score.detail.get("reason") or "")
        if reason and not FIXED_REASONS.fullmatch(reason):
            score.detail = {**score.detail, "reason": UNSUPPORTED, "error": reason}
            score.save(update_fields=["detail"])


class Migration(migrations.Migration):
    dependencies = [("submissions", "0003_error_apart_from_its_detail")]

    operations = [migrations.RunPython(withhold, migrations.RunPython.noop)]
