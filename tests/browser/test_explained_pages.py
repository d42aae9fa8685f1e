"""The pages for spectators and participants at a laptop's width (1,400 px) and a phone's (390 px):
boards keep rank, team and the primary score in view, metric labels explain themselves on focus,
the result panel speaks in labels, the quota box follows submissions, the quota error is said
once, the shake-up view appears after the reveal, and only organizers are offered the organizers'
area. Screenshots go to test-artifacts/screenshots/ (kept by CI)."""

from __future__ import annotations

import io
import random
import re
import zipfile

import pytest
import requests
from playwright.sync_api import expect

from tests.factories import bundle_membership

from .conftest import ORGANIZER, log_in

pytestmark = pytest.mark.browser
LIVE = 15_000
WIDTHS = {"laptop": 1400, "phone": 390}
# Elements that reach past the window's right edge outside a scrolling frame (an SVG clips its own text).
WIDER_THAN_SCREEN = """() => document.documentElement.scrollWidth <= window.innerWidth ? [] :
  Array.from(document.querySelectorAll("body *"))
  .filter((node) => !node.closest(".table-scroll, svg") && node.getBoundingClientRect().right > window.innerWidth + 1)
  .map((node) => node.tagName.toLowerCase() + (node.id ? "#" + node.id : "") + (node.className ? "." + String(node.className).replace(/ /g, ".") : ""))
  .concat(["page is " + document.documentElement.scrollWidth + " px wide"])"""
# The first body row's rank, team and primary-score cells: where they are on the screen.
FIRST_ROW_BOXES = """(selector) => Array.from(document.querySelector(selector + " tbody tr").children).slice(0, 3)
  .map((cell) => { const r = cell.getBoundingClientRect(); return [r.left, r.right]; })"""


def _page(browser, width: int):
    return browser.new_context(viewport={"width": width, "height": 900}).new_page()


def _good(server) -> bytes:
    """Predictions right for four candidates in five and undecided (0.5) on the rest: a good score
    below a perfect one, so that these tests never tie with the other modules' perfect teams on
    the shared server."""
    lines = server.predictions(perfect=True).decode().splitlines()
    return ("\n".join([lines[0]] + [line if i % 5 else line.split(",")[0] + ",0.5" for i, line in enumerate(lines[1:])]) + "\n").encode()


@pytest.fixture(scope="module")
def scored_board(arena_server):
    """Three teams on the membership board, so that it has ranks to show."""
    server = arena_server
    server.submit(server.participant("wren", "Wren Lab"), _good(server))
    server.submit(server.participant("yusuf", "Yusuf and the Long Team Name Group"), server.predictions(perfect=False))
    return server


@pytest.mark.parametrize("size", WIDTHS)
def test_the_board_keeps_rank_team_and_primary_score_in_view(scored_board, browser, screenshot, size):
    server = scored_board
    page = _page(browser, WIDTHS[size])
    page.goto(f"{server.url}/competitions/{server.slug}/leaderboard/")
    expect(page.locator("#board-public")).to_contain_text("Wren Lab", timeout=LIVE)
    assert page.evaluate(WIDER_THAN_SCREEN) == []
    header = page.locator("#board-public thead th")
    expect(header.nth(0)).to_have_text("Rank")
    expect(header.nth(2)).to_contain_text("TPR at FPR 0.1")  # the primary metric, third
    # Scrolled to its far right, the board still shows rank, team and primary score.
    page.locator("#board-public .table-scroll").evaluate("(node) => { node.scrollLeft = node.scrollWidth; }")
    for left, right in page.evaluate(FIRST_ROW_BOXES, "#board-public"):
        assert 0 <= left and right <= WIDTHS[size] + 1, (left, right)
    expect(page.locator("#board-public tbody tr").first.locator("td").first).to_be_visible()
    page.locator("#board-public .table-scroll").evaluate("(node) => { node.scrollLeft = 0; }")
    # The score history says what it shows: this board has no baselines, so teams only.
    expect(page.locator("#history-note")).to_have_text("Teams only: no organizer baseline has a score on this board.")
    expect(page.locator("#chart-history")).to_contain_text("Wren Lab")
    screenshot(page, f"leaderboard-{size}")
    page.context.close()


@pytest.mark.parametrize("size", WIDTHS)
def test_metric_labels_explain_themselves_on_keyboard_focus(scored_board, browser, screenshot, size):
    server = scored_board
    page = _page(browser, WIDTHS[size])
    page.goto(f"{server.url}/competitions/{server.slug}/leaderboard/")
    label = page.locator("#board-public thead .term-label").first
    expect(label).to_have_text("TPR at FPR 0.1")
    tip = page.locator("#" + label.get_attribute("aria-describedby"))
    expect(tip).to_be_hidden()
    page.locator("#board-public thead").scroll_into_view_if_needed()
    page.keyboard.press("Tab")  # from the document: keep tabbing until the label has the focus
    for _ in range(60):
        if page.evaluate("() => document.activeElement && document.activeElement.classList.contains('term-label')"):
            break
        page.keyboard.press("Tab")
    focused = page.evaluate("() => document.activeElement.getAttribute('aria-describedby')")
    expect(page.locator("#" + focused)).to_be_visible()
    expect(page.locator("#" + focused)).to_contain_text("wrongly flagging")
    box = page.locator("#" + focused).bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= WIDTHS[size]
    screenshot(page, f"tooltip-{size}")
    page.keyboard.press("Escape")
    expect(page.locator("#" + focused)).to_be_hidden()

    # Pointing at a label shows its explanation too.
    second = page.locator("#board-public thead .term-label").nth(1)
    second.hover()
    expect(page.locator("#" + second.get_attribute("aria-describedby"))).to_be_visible()
    page.goto(f"{server.url}/glossary/")
    expect(page.get_by_role("heading", name="Glossary")).to_be_visible()
    expect(page.locator("#tpr-at-fpr")).to_be_visible()
    assert page.evaluate(WIDER_THAN_SCREEN) == []
    screenshot(page, f"glossary-{size}")
    page.context.close()


@pytest.mark.parametrize("size", WIDTHS)
def test_scenario_page_shows_what_an_attacker_needs_and_how_often_attacks_succeed(scored_board, browser, screenshot, size):
    server = scored_board
    page = _page(browser, WIDTHS[size])
    page.goto(f"{server.url}/competitions/{server.slug}/scenario/")
    expect(page.get_by_role("heading", name="What an attacker needs")).to_be_visible()
    expect(page.get_by_role("heading", name="How often the attacks succeed")).to_be_visible()
    expect(page.locator(".exposure-table").first).to_contain_text("Wren Lab")
    assert page.evaluate(WIDER_THAN_SCREEN) == []
    screenshot(page, f"scenario-{size}")
    page.context.close()


def test_result_panel_quota_box_and_a_quota_error_said_once(arena_server, browser, screenshot):
    server = arena_server
    token = server.participant("quinn", "Quota Team")
    limit = 20  # the browser competition's submissions a day
    for _ in range(limit - 1):
        server.submit(token, server.predictions(perfect=False))
    page = _page(browser, WIDTHS["laptop"])
    log_in(page, server, "quinn", "a-long-pass-4321")
    page.goto(f"{server.url}/competitions/{server.slug}/submit/")
    expect(page.locator("#quota-box")).to_contain_text(f"{limit - 1} of {limit} submissions used today")
    page.get_by_label("File").set_input_files({"name": "predictions.csv", "mimeType": "text/csv", "buffer": _good(server)})
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#status-text")).to_have_text("finished", timeout=LIVE)
    # The panel names metrics by their labels, the primary first, at the configured precision.
    rows = page.locator("#public-scores tbody tr")
    expect(rows.first.locator("th")).to_contain_text("TPR at FPR 0.1")
    expect(rows.first.locator("th")).to_contain_text("primary")
    expect(rows.first.locator("td")).to_have_text(re.compile(r"^0\.\d{4}(\[|$)"))  # precision 4
    expect(page.locator("#public-scores")).to_contain_text("Empirical ε lower bound")
    expect(page.locator("#public-scores")).not_to_contain_text("tpr_at_fpr_0_1")
    epsilon = page.locator("#public-scores tr[data-metric='epsilon_lower_bound'] td")
    expect(epsilon).to_have_text(re.compile(r"^\d+\.\d{3}(\[|$)"))  # precision 3
    # The quota box counts the new submission without a reload.
    expect(page.locator("#quota-box")).to_contain_text(f"{limit} of {limit} submissions used today")
    expect(page.locator("#quota-box")).to_contain_text("next submission is allowed at")
    screenshot(page, "submit-result")

    page.get_by_label("File").set_input_files({"name": "predictions.csv", "mimeType": "text/csv", "buffer": _good(server)})
    page.get_by_role("button", name="Submit").click()
    error = page.locator("#submit-error")
    expect(error).to_be_visible(timeout=LIVE)
    text = error.inner_text().lower()
    assert text.count("allowed at") == 1, text
    assert "does not count" in text
    screenshot(page, "submit-quota-error")
    page.context.close()


def test_the_organize_link_shows_only_to_organizers(arena_server, browser):
    server = arena_server
    server.participant("olga", "Olga's Team")
    participant = _page(browser, WIDTHS["laptop"])
    log_in(participant, server, "olga", "a-long-pass-4321")
    expect(participant.get_by_role("navigation", name="Main").get_by_role("link", name="Organize")).to_have_count(0)
    expect(participant.get_by_role("navigation", name="Main").get_by_role("link", name="Glossary")).to_be_visible()
    organizer = _page(browser, WIDTHS["laptop"])
    log_in(organizer, server, *ORGANIZER)
    expect(organizer.get_by_role("navigation", name="Main").get_by_role("link", name="Organize")).to_be_visible()
    participant.context.close()
    organizer.context.close()


def _zip(folder) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


@pytest.mark.parametrize("size", WIDTHS)
def test_after_the_reveal_the_shake_up_shows_each_teams_rank_change(arena_server, browser, screenshot, tmp_path_factory, size):
    server = arena_server
    slug = f"browser-shakeup-{size}"
    organizer = requests.post(server.api("auth/token/"), json={"username": ORGANIZER[0], "password": ORGANIZER[1]}, timeout=10).json()["token"]
    bundle = bundle_membership(tmp_path_factory.mktemp(slug), slug=slug, candidates=200)
    response = requests.post(server.api("competitions/import/"), files={"file": ("bundle.zip", _zip(bundle))},
                             headers={"Authorization": f"Token {organizer}"}, timeout=60)
    assert response.status_code == 201, response.text
    with open(bundle / "hidden" / "membership.csv", encoding="utf-8") as fh:
        answers = [line.strip().split(",") for line in fh.readlines()[1:]]
    rng = random.Random(size)
    for n in range(4):  # each team knows the truth for a random share of the candidates, guesses the rest
        known = set(rng.sample(range(len(answers)), k=40 + 30 * n))
        lines = ["candidate_id,score"] + [f"{cid},{member if i in known else rng.random()}" for i, (cid, member) in enumerate(answers)]
        token = requests.post(server.api("auth/register/"), json={"username": f"shake{size}{n}", "password": "a-long-pass-4321",
                                                                  "email": f"shake{size}{n}@example.org"}, timeout=10).json()["token"]
        headers = {"Authorization": f"Token {token}"}
        requests.post(server.api(f"competitions/{slug}/teams/"), json={"name": f"Shaker {n}"}, headers=headers, timeout=10).raise_for_status()
        requests.post(server.api(f"competitions/{slug}/submissions/"), files={"file": ("predictions.csv", ("\n".join(lines) + "\n").encode())},
                      headers=headers, timeout=30).raise_for_status()

    page = _page(browser, WIDTHS[size])
    page.goto(f"{server.url}/competitions/{slug}/leaderboard/")
    expect(page.locator("#board-public tbody tr:not(.baseline)")).to_have_count(4, timeout=LIVE)
    expect(page.locator("#shakeup")).to_be_hidden()  # nothing to compare before the reveal
    requests.post(server.api(f"competitions/{slug}/phases/development/reveal/"),
                  headers={"Authorization": f"Token {organizer}"}, timeout=10).raise_for_status()
    expect(page.locator("#shakeup")).to_be_visible(timeout=LIVE)  # live, without a reload
    boards = {split: requests.get(server.api(f"competitions/{slug}/leaderboard/"), params={"split": split}, timeout=10).json()
              for split in ("public", "private")}
    public = {r["team"]: r["rank"] for r in boards["public"]["rows"] if not r["baseline"]}
    for row in boards["private"]["rows"]:
        if row["baseline"]:
            continue
        cells = page.locator(f"#shakeup tr[data-team='{row['team_id']}'] > *")
        expect(cells.nth(0)).to_have_text(str(row["rank"]))
        expect(cells.nth(2)).to_have_text(str(public[row["team"]]))
        change = public[row["team"]] - row["rank"]
        words = "unchanged" if change == 0 else f"up {change}" if change > 0 else f"down {-change}"
        expect(cells.nth(3)).to_contain_text(words)
    assert page.evaluate(WIDER_THAN_SCREEN) == []
    page.locator("#shakeup").scroll_into_view_if_needed()
    screenshot(page, f"shake-up-{size}")
    page.context.close()
