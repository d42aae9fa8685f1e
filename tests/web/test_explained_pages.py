"""Pages that explain themselves: every metric label carries a one-sentence explanation that a
keyboard reaches, the glossary lists them all, run limits read as words, the defense board plots
arena privacy (not a count of small groups), the submit page knows each metric's label and
precision, and only organizers are offered the organizers' area."""

from __future__ import annotations

import html
import json
import re

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from competitions.leaderboards import explain
from competitions.leaderboards.selectors import pareto_axes
from evaluation import arena as arena_module
from evaluation.task_types import TASK_TYPES, get_task
from tests.factories.arena import EXACT_MATCH_MIA, build_three_by_three
from tests.factories.records import competition_make, submission_make, team_make

pytestmark = pytest.mark.django_db


def _text(markup: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", markup))).strip()


def _tips(page: str) -> dict[str, str]:
    """``{label: tooltip text}`` for every explained label on a page, checking that each names its tooltip."""
    tips = {}
    for tip_id, label in re.findall(r'<span class="term-label" tabindex="0" aria-describedby="([^"]+)">(.*?)</span>', page):
        match = re.search(rf'<span class="tip" role="tooltip" id="{tip_id}">(.*?)</span></span>', page, re.DOTALL)
        assert match, f"label {label!r} names tooltip {tip_id}, which is not on the page"
        tips[_text(label)] = _text(match.group(1))
    return tips


def test_every_metric_of_every_task_and_of_the_arena_has_a_glossary_sentence():
    missing = []
    for name in TASK_TYPES:
        for spec in get_task(name).metrics:
            if explain.glossary_entry(key=spec.key, task=name) is None:
                missing.append(f"{name}:{spec.key}")
    for key in ("arena_privacy", arena_module.SUCCESS_TEAMS, arena_module.SUCCESS_MAX,
                *(arena_module.worst_key(t) for t in ("membership-inference", "reidentification", "attribute-inference"))):
        if explain.glossary_entry(key=key) is None:
            missing.append(key)
    assert not missing, f"metrics without an explanation: {missing}"


def test_the_two_inference_risks_are_explained_apart():
    attack = explain.glossary_entry(key="inference_risk", task="attribute-inference")
    builtin = explain.glossary_entry(key="inference_risk", task="tabular-anonymization")
    assert attack["slug"] != builtin["slug"]
    assert "attack" in attack["term"].lower() and "built-in" in builtin["term"].lower()


def test_board_metric_labels_explain_themselves_on_hover_and_focus(client):
    c = competition_make()
    submission_make(competition=c, team=team_make(c, "Alpha"), public={"tpr_at_fpr_0_1": 0.61, "auc": 0.8})
    page = client.get(reverse("competition-leaderboard", kwargs={"slug": c.slug})).content.decode()
    tips = _tips(page)
    for label, key in (("TPR at FPR 0.1", "tpr_at_fpr_0_1"), ("ROC AUC", "auc"), ("Empirical ε lower bound", "epsilon_lower_bound")):
        assert tips[label].startswith(explain.metric_explanation(key=key, task=c.task)), label
    # The live script renders the same explanations when it redraws the board.
    data = json.loads(re.search(r'<script id="leaderboard-data" type="application/json">(.*?)</script>', page, re.DOTALL).group(1))
    assert data["explanations"]["auc"]["text"] == explain.metric_explanation(key="auc")
    assert data["explanations"]["auc"]["slug"] == "auc"


def test_glossary_page_lists_every_term_with_an_anchor_the_tooltips_link_to(client):
    page = client.get(reverse("glossary")).content.decode()
    for entry in explain.GLOSSARY:
        assert f'id="{entry["slug"]}"' in page
        assert html.escape(entry["text"]) in page or entry["text"] in html.unescape(page)
    c = competition_make()
    board = client.get(reverse("competition-leaderboard", kwargs={"slug": c.slug})).content.decode()
    assert 'href="/glossary/#tpr-at-fpr"' in board


def test_run_limits_and_metrics_read_as_words_on_the_overview(client):
    c = competition_make()
    c.phases.update(limits={"wall_seconds": 30, "memory_mb": 512, "cpus": 1})
    page = _text(client.get(reverse("competition", kwargs={"slug": c.slug})).content.decode())
    assert "At most 30 seconds of running time, 512 MB of memory and 1 processor per run" in page
    assert "wall_seconds" not in page and "memory_mb" not in page
    c.phases.update(limits={})
    page = _text(client.get(reverse("competition", kwargs={"slug": c.slug})).content.decode())
    assert "The platform's default limits" in page


def test_a_k_anonymous_release_is_described_consistently():
    k5 = explain.reading(task="tabular-anonymization", metric="k_anonymity", value=5)
    at_risk = explain.reading(task="tabular-anonymization", metric="records_at_risk", value=1.0)
    assert "at least 4 other rows" in k5
    # "every row looks like 4 others" and "100% of rows at risk" hold together once the threshold is named.
    assert "100%" in at_risk and "fewer than 12" in at_risk and "9%" in at_risk


def test_the_defense_board_plots_arena_privacy_against_the_primary_utility():
    metrics = [
        {"key": "marginal_fidelity_2way", "primary": True}, {"key": "k_anonymity", "primary": False},
        {"key": "records_at_risk", "primary": False}, {"key": "prosecutor_risk", "primary": False},
        {"key": "worst_membership_inference", "primary": False}, {"key": "arena_privacy", "primary": False},
    ]
    c = competition_make(task="tabular-anonymization", metrics=[("marginal_fidelity_2way", "Two-way", "higher", 4, True)])
    assert pareto_axes(competition=c, metrics=metrics) == {"utility": "marginal_fidelity_2way", "privacy": "arena_privacy"}
    # Outside an arena: a measured attack risk, never a count of rows in small groups.
    plain = [m for m in metrics if m["key"] not in ("arena_privacy", "worst_membership_inference")]
    assert pareto_axes(competition=c, metrics=plain)["privacy"] == "prosecutor_risk"
    assert pareto_axes(competition=c, metrics=[m for m in plain if m["key"] != "prosecutor_risk"]) is None


def test_defense_leaderboard_page_hands_the_chart_arena_privacy_with_its_interval(client):
    c = competition_make(task="tabular-anonymization", metrics=[
        ("marginal_fidelity_2way", "Two-way marginal fidelity", "higher", 4, True),
        ("records_at_risk", "Records at risk", "lower", 4, False),
        ("arena_privacy", "Arena privacy", "higher", 4, False),
    ])
    submission_make(competition=c, baseline="No protection", task="tabular-anonymization",
                    public={"marginal_fidelity_2way": 0.91, "records_at_risk": 1.0, "arena_privacy": 0.0})
    submission_make(competition=c, baseline="DP marginals", task="tabular-anonymization",
                    public={"marginal_fidelity_2way": 0.79, "records_at_risk": 1.0, "arena_privacy": (0.93, 0.90, 0.96)})
    from submissions.models import Submission

    Submission.objects.filter(competition=c).update(role="defense")
    page = client.get(reverse("competition-leaderboard", kwargs={"slug": c.slug})).content.decode()
    data = json.loads(re.search(r'<script id="leaderboard-data" type="application/json">(.*?)</script>', page, re.DOTALL).group(1))
    assert data["pareto"] == {"utility": "marginal_fidelity_2way", "privacy": "arena_privacy"}
    dp = next(r for r in data["public"]["rows"] if r["team"] == "DP marginals")
    assert dp["scores"]["arena_privacy"] == {"value": 0.93, "ci_low": 0.9, "ci_high": 0.96}
    assert "Pareto front" in _tips(page)


def test_submit_page_gives_the_result_panel_labels_precision_and_the_primary_first(client, make_user):
    c = competition_make()
    user = make_user("sam")
    team_make(c, "Sam's team", user)
    client.force_login(user)
    page = client.get(reverse("submission-submit", kwargs={"slug": c.slug})).content.decode()
    meta = json.loads(re.search(r'<script id="metric-meta" type="application/json">(.*?)</script>', page, re.DOTALL).group(1))
    assert [(m["key"], m["label"], m["precision"], m["primary"]) for m in meta] == [
        ("tpr_at_fpr_0_1", "TPR at FPR 0.1", 4, True), ("auc", "ROC AUC", 4, False),
        ("epsilon_lower_bound", "Empirical ε lower bound", 3, False)]
    assert 'id="quota-box"' in page and "0 of 100 submissions used today" in _text(page)


def test_the_organize_link_shows_only_to_organizers(client, make_user):
    organize = f'href="{reverse("organize")}"'
    assert organize not in client.get("/").content.decode()
    participant = make_user("pat")
    client.force_login(participant)
    assert organize not in client.get("/").content.decode()
    creator = make_user("cora")
    creator.user_permissions.add(Permission.objects.get(codename="add_competition"))
    client.force_login(creator)
    assert organize in client.get("/").content.decode()
    organizer = make_user("otto")
    competition_make().organizers.add(organizer)
    client.force_login(organizer)
    assert organize in client.get("/").content.decode()


def test_an_attacks_page_draws_its_stored_roc_curve(client, make_user):
    c = competition_make()
    user = make_user("rhea")
    team = team_make(c, "Rhea's team", user)
    curve = [[0.0, 0.0], [0.001, 0.05], [0.01, 0.2], [0.1, 0.6], [1.0, 1.0]]
    sub = submission_make(competition=c, team=team, public={"tpr_at_fpr_0_1": 0.6, "auc": 0.81}, details={"auc": {"roc": curve}})
    client.force_login(user)
    page = client.get(reverse("submission-detail", kwargs={"submission_id": sub.pk})).content.decode()
    curves = json.loads(re.search(r'<script id="roc-data" type="application/json">(.*?)</script>', page, re.DOTALL).group(1))
    assert curves == [{"name": "Rhea's team", "points": curve, "baseline": False}]
    assert "js/roc.js" in page and "logarithmic axes" in page



# --------------------------------------------------------------------------- the arena's scenario and report


@pytest.mark.django_db(transaction=True)
def test_arena_scenario_page_draws_the_matrix_figures_and_says_where_it_averages(arena, client):
    from evaluation import selectors

    build_three_by_three(arena)
    slug = arena.competition.slug
    page = client.get(reverse("competition-scenario", kwargs={"slug": slug})).content.decode()
    matrix = selectors.arena_matrix(phase=arena.phase)
    exposure = page[page.index('id="exposure"'):page.index("</table>", page.index('id="exposure"'))]
    tasks = [t["task"] for t in matrix["attack_tasks"]]
    for column, defense in enumerate(matrix["defenses"]):
        row = exposure[exposure.index(f'data-defense="{defense["submission"]}"'):]
        row = row[:row.index("</tr>")]
        cells = re.findall(r'<td class="bar-cell">(.*?)</td>', row, re.DOTALL)
        for task, cell in zip(tasks, cells, strict=False):  # the row has a bar cell per attack task, then others
            measured = [r["cells"][column] for r in matrix["rows"] if r["attack"]["task"] == task and r["cells"][column]["value"] is not None]
            if not measured:
                assert "n/a" in cell or "no finished attack" in cell
                continue
            strongest = max(measured, key=lambda c: c["normalised_success"])
            precision = next(t["metric"]["precision"] for t in matrix["attack_tasks"] if t["task"] == task)
            assert f'data-value="{strongest["value"]:.{precision}f}"' in cell, (defense["team"], task)
        assert _text(row).endswith(f'{defense["arena_privacy"]:.4f}')
    text = _text(page)
    # The attack boards of an arena are averages over the defenses: the page says so and shows
    # each baseline attack's own result against the least protected release beside it.
    assert "average over all the defenses" in text
    least = min((d for d in matrix["defenses"] if d["baseline"] and d["arena_privacy"] is not None), key=lambda d: d["arena_privacy"])
    assert f"Against {least['team']}:" in text
    assert "What an attacker needs" in text


@pytest.mark.django_db(transaction=True)
def test_report_names_the_built_in_inference_check_apart_from_the_inference_attacks(arena, client):
    from submissions.models import Submission

    d1, _d2, _a1 = build_three_by_three(arena)
    defense = Submission.objects.get(pk=d1.pk)
    page = client.get(reverse("submission-report", kwargs={"submission_id": defense.pk})).content.decode()
    tips = _tips(page)
    assert "own inference check" in tips["Inference (built-in check)"]
    text = _text(page)
    assert "Not the same measure as the attribute-inference attacks" in text
    assert "submitted attacks, not the built-in inference check above" in text
    assert tips["Arena privacy"] == _text(explain.glossary_entry(key="arena_privacy")["text"]) + " Glossary"
    # A release without record ids: k counts released rows, which the page says beside it.
    assert "Re-identification is undefined for this release" in text



@pytest.mark.django_db(transaction=True)
def test_membership_attacks_roc_curves_show_in_the_report_and_on_the_attacks_page(arena, client):
    from submissions.models import Submission

    d1, _d2, _a1 = build_three_by_three(arena)
    attack = arena.submit("delta", EXACT_MATCH_MIA, task="membership-inference")
    attack = Submission.objects.get(pk=attack.pk)
    assert attack.status == Submission.FINISHED

    page = client.get(reverse("submission-report", kwargs={"submission_id": d1.pk})).content.decode()
    curves = json.loads(re.search(r'<script id="roc-data" type="application/json">(.*?)</script>', page, re.DOTALL).group(1))
    membership = Submission.objects.filter(competition=arena.competition, role="attack", task="membership-inference",
                                           status=Submission.FINISHED).order_by("-is_baseline", "created", "id")
    assert [c["name"] for c in curves] == [f"{a.display_name} #{a.pk}" for a in membership]  # the baseline's and delta's
    assert f"{attack.display_name} #{attack.pk}" in [c["name"] for c in curves]
    assert all(c["points"][-1] == [1.0, 1.0] for c in curves)

    client.force_login(arena.users["delta"])
    page = client.get(reverse("submission-detail", kwargs={"submission_id": attack.pk})).content.decode()
    curves = json.loads(re.search(r'<script id="roc-data" type="application/json">(.*?)</script>', page, re.DOTALL).group(1))
    defenses = Submission.objects.filter(competition=arena.competition, role="defense", status="finished")
    assert len(curves) == defenses.count()  # one per defense the attack ran against
    assert all(c["name"].startswith("against ") for c in curves)
