"""The demo's own numbers on its pages: the discharge arena's privacy–utility chart puts the
differentially private synthesizer at the private end and the unprotected release at the other,
with readable labels; the scenario page and a report draw the same figures. The demo is started
exactly as the tour script starts it (docs/tour/make_tour.py: `make demo`'s steps on SQLite), so it
scores every baseline for real: this module takes minutes. ARENA_DEMO_DIR names a folder to keep
the demo in and reuse on the next run (as `make_tour.py --base` does).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from .conftest import CHROMIUM

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(2400)]
ROOT = Path(__file__).resolve().parents[2]
WIDTHS = {"laptop": 1400, "phone": 390}
ARENA = "discharge-arena"
# Every point of the Pareto chart and the box of every label, in the SVG's own units.
CHART = """() => {
  const svg = document.querySelector('#chart-pareto svg');
  const [x0, y0, w, h] = svg.getAttribute('viewBox').split(' ').map(Number);
  const points = Array.from(svg.querySelectorAll('.point')).map((p) => ({name: p.getAttribute('data-name'),
    x: parseFloat(p.getAttribute('data-x')), y: parseFloat(p.getAttribute('data-y')),
    px: p.tagName === 'circle' ? +p.getAttribute('cx') : +p.getAttribute('x') + 5, front: p.classList.contains('on-front')}));
  const labels = Array.from(svg.querySelectorAll('text.point-label')).map((t) => { const b = t.getBBox();
    return {text: t.textContent, x: b.x, y: b.y, w: b.width, h: b.height}; });
  const axis = Array.from(svg.querySelectorAll('line.axis')).map((l) => [+l.getAttribute('x1'), +l.getAttribute('x2')]);
  return {width: w, height: h, points, labels, left: Math.min(...axis.map((a) => Math.min(...a))), right: Math.max(...axis.map((a) => Math.max(...a)))};
}"""


def _tour():
    spec = importlib.util.spec_from_file_location("make_tour", ROOT / "docs" / "tour" / "make_tour.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    base = Path(os.environ["ARENA_DEMO_DIR"]) if os.environ.get("ARENA_DEMO_DIR") else tmp_path_factory.mktemp("demo")
    base.mkdir(parents=True, exist_ok=True)
    with open(base / "setup.log", "w") as log, _tour().demo_server(base, organizer=None, log=log) as url:
        yield url


@pytest.mark.parametrize("size", WIDTHS)
def test_the_pareto_chart_puts_dp_at_the_private_end_and_no_protection_at_the_other(demo, browser, screenshot, size):
    page = browser.new_context(viewport={"width": WIDTHS[size], "height": 900}).new_page()
    page.goto(f"{demo}/competitions/{ARENA}/leaderboard/")
    page.wait_for_selector("#chart-pareto svg .point")
    chart = page.evaluate(CHART)
    points = {p["name"]: p for p in chart["points"]}
    assert len(points) == 5, points  # the demo's five defense baselines
    dp = next(p for name, p in points.items() if name.startswith("DP marginals"))
    raw = points["No protection"]
    # Privacy runs left (an attack fully succeeded) to right (no attack beat guessing).
    assert raw["x"] == min(p["x"] for p in points.values()) and raw["x"] <= 0.05
    assert dp["x"] >= 0.8 and dp["x"] >= max(points[n]["x"] for n in points if "k=5" in n) + 0.5
    plot = chart["right"] - chart["left"]
    assert raw["px"] - chart["left"] <= 0.05 * plot  # at the left edge
    assert dp["px"] - chart["left"] >= 0.8 * plot  # at the private end
    # The numbers are the board's: the chart draws what the table says.
    board = requests.get(f"{demo}/api/v1/competitions/{ARENA}/leaderboard/", timeout=10).json()
    for row in board["rows"]:
        assert points[row["team"]]["x"] == row["scores"]["arena_privacy"]["value"]
        assert points[row["team"]]["y"] == row["scores"]["marginal_fidelity_2way"]["value"]
    # Labels: every defense named, none overlapping another, none past the drawing's edges.
    labels = chart["labels"]
    named = {label["text"] for label in labels}
    notes = page.locator("#chart-pareto .chart-notes").all_inner_texts()
    for name in points:
        assert any(name.startswith(t.rstrip("…")) for t in named) or any(name in n for n in notes), name
    for i, a in enumerate(labels):
        assert a["x"] >= 0 and a["y"] >= 0 and a["x"] + a["w"] <= chart["width"] and a["y"] + a["h"] <= chart["height"], a
        for b in labels[i + 1:]:
            apart = a["x"] + a["w"] <= b["x"] or b["x"] + b["w"] <= a["x"] or a["y"] + a["h"] <= b["y"] or b["y"] + b["h"] <= a["y"]
            assert apart, (a, b)
    # The score history marks the baselines.
    expect(page.locator("#chart-history")).to_contain_text("Baselines (dashed):")
    page.locator("#chart-pareto").scroll_into_view_if_needed()
    screenshot(page, f"demo-pareto-{size}")
    page.context.close()


@pytest.mark.parametrize("size", WIDTHS)
def test_the_demo_scenario_page_and_report_draw_the_matrix_figures(demo, browser, screenshot, size):
    page = browser.new_context(viewport={"width": WIDTHS[size], "height": 900}).new_page()
    matrix = requests.get(f"{demo}/api/v1/competitions/{ARENA}/arena/matrix/", timeout=10).json()
    page.goto(f"{demo}/competitions/{ARENA}/scenario/")
    exposure = page.locator("#exposure")
    expect(exposure.locator("tr.least-protected")).to_contain_text("No protection")
    for column, defense in enumerate(matrix["defenses"]):
        row = exposure.locator(f"tr[data-defense='{defense['submission']}']")
        expect(row.locator("td.num")).to_have_text(f"{defense['arena_privacy']:.4f}")
        linkage = [r["cells"][column]["value"] for r in matrix["rows"] if r["attack"]["task"] == "reidentification"]
        if all(v is not None for v in linkage):
            expect(row.locator("td.bar-cell").first.locator(".bar-value")).to_have_attribute("data-value", f"{max(linkage):.4f}")
    expect(page.locator(".averaged-note").first).to_contain_text("average over all the defenses")
    screenshot(page, f"demo-scenario-{size}")

    dp = next(d for d in matrix["defenses"] if d["team"].startswith("DP marginals"))
    page.goto(f"{demo}/submissions/{dp['submission']}/report/")
    expect(page.locator("#chart-roc svg")).to_be_visible()
    expect(page.locator("#synthetic-note")).to_be_visible()
    expect(page.locator("#criteria")).to_contain_text("Inference (built-in check)")
    page.locator("#chart-roc").scroll_into_view_if_needed()
    screenshot(page, f"demo-report-roc-{size}")
    page.context.close()
