"""The arena in a real browser: the attack × defense matrix fills in live as a team's defense and
attack are evaluated, and a team reaches its defense's identifiability report from the board.

The competition is the 3-task arena bundle of tests/factories/arena.py, imported into the
running server over the API by its organizer; every submission is a real program evaluated by
the server's own sandbox.
"""

from __future__ import annotations

import io
import time
import zipfile

import pytest
import requests
from playwright.sync_api import expect

from tests.factories.arena import GENERALISING_DEFENSE, MATCHING_AIA, arena_bundle, program_zip

from .conftest import ORGANIZER, log_in

pytestmark = pytest.mark.browser
EVALUATION = 120_000  # ms: a code defense runs its check, its release and one pair per attack
# When the page scrolls sideways: the elements reaching past the window's right edge, outside any
# scrolling frame (an SVG clips its own text).
WIDER_THAN_SCREEN = """() => document.documentElement.scrollWidth <= window.innerWidth ? [] :
  Array.from(document.querySelectorAll("body *"))
  .filter((node) => !node.closest(".table-scroll, svg") && node.getBoundingClientRect().right > window.innerWidth + 1)
  .map((node) => node.tagName.toLowerCase() + (node.id ? "#" + node.id : "") + (node.className ? "." + String(node.className).replace(/ /g, ".") : ""))"""


def _zip_folder(folder) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


@pytest.fixture(scope="module")
def arena_slug(arena_server, tmp_path_factory):
    server = arena_server
    token = requests.post(server.api("auth/token/"), json={"username": ORGANIZER[0], "password": ORGANIZER[1]}, timeout=10).json()["token"]
    bundle = _zip_folder(arena_bundle(tmp_path_factory.mktemp("arena-bundle")))
    response = requests.post(server.api("competitions/import/"), files={"file": ("arena.zip", bundle)},
                             headers={"Authorization": f"Token {token}"}, timeout=60)
    assert response.status_code == 201, response.text
    slug = response.json()["slug"]
    deadline = time.monotonic() + EVALUATION / 1000
    matrix = {}
    while time.monotonic() < deadline:  # the baselines: one defense, two attacks
        matrix = requests.get(server.api(f"competitions/{slug}/arena/matrix/"), timeout=10).json()
        if matrix["counts"] == {"pairs": 2, "finished": 2, "pending": 0, "failed": 0} and len(matrix["rows"]) == 2:
            return slug
        time.sleep(0.5)
    log = [line for line in server.log.read_text(errors="replace").splitlines() if "/arena/matrix/" not in line]
    raise AssertionError(f"the arena's baselines did not finish: {matrix.get('counts')}; server log:\n" + "\n".join(log[-40:]))


def _submit(server, slug: str, token: str, source: str, task: str) -> dict:
    response = requests.post(server.api(f"competitions/{slug}/submissions/"), data={"task": task},
                             files={"file": ("program.zip", program_zip(source))},
                             headers={"Authorization": f"Token {token}"}, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()


def test_the_matrix_fills_in_live_and_a_team_opens_its_report(arena_server, arena_slug, browser, screenshot):
    server, slug = arena_server, arena_slug
    token = requests.post(server.api("auth/register/"), json={"username": "vera", "password": "a-long-pass-4321",
                                                               "email": "vera@example.org"}, timeout=10).json()["token"]
    requests.post(server.api(f"competitions/{slug}/teams/"), json={"name": "Vera Lab"},
                  headers={"Authorization": f"Token {token}"}, timeout=10).raise_for_status()

    spectator = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
    spectator.goto(f"{server.url}/competitions/{slug}/leaderboard/")
    expect(spectator.locator("#live-status")).to_have_text("Live", timeout=15_000)
    matrix = spectator.locator("#matrix table.matrix")
    expect(matrix.locator("thead th.defense")).to_have_count(1)
    expect(matrix.locator("td.cell")).to_have_count(2)
    expect(matrix.locator("caption")).to_contain_text("2 of 2 runs finished")

    defense = _submit(server, slug, token, GENERALISING_DEFENSE, "tabular-anonymization")
    # A new column, without reloading: the team's defense against both baseline attacks.
    expect(matrix.locator("thead th.defense")).to_have_count(2, timeout=EVALUATION)
    expect(matrix.locator("thead")).to_contain_text("Vera Lab")
    expect(matrix.locator("caption")).to_contain_text("4 of 4 runs finished", timeout=EVALUATION)
    # Every column links its defense's public report, for spectators too.
    expect(matrix.locator("thead a.report-link")).to_have_count(2)

    # The team, signed in, watches its board too.
    team = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
    log_in(team, server, "vera", "a-long-pass-4321")
    team.goto(f"{server.url}/competitions/{slug}/leaderboard/")
    expect(team.locator("#live-status")).to_have_text("Live", timeout=15_000)

    _submit(server, slug, token, MATCHING_AIA, "attribute-inference")
    # A new row of two cells, each with its result in words, and the strongest attack marked.
    expect(matrix.locator("tbody tr[data-attack]")).to_have_count(3, timeout=EVALUATION)
    expect(matrix.locator("td.cell")).to_have_count(6)
    expect(matrix.locator("caption")).to_contain_text("6 of 6 runs finished", timeout=EVALUATION)
    expect(matrix.locator("tbody[data-task='attribute-inference']")).to_contain_text("Vera Lab")
    expect(matrix.locator("td.cell.strongest").first).to_contain_text("strongest attack on this defense")
    spectator.locator("#matrix-panel").scroll_into_view_if_needed()
    screenshot(spectator, "arena-matrix")

    # Rows redrawn live link their public reports, for the spectator and the team alike (the
    # team's row changed: the new attack is now its worst case).
    expect(spectator.locator("#board-public a.report-link")).to_have_count(2)
    row = team.locator(f"#board-public tr.flash[data-submission='{defense['id']}']")
    expect(row.locator("a.report-link")).to_have_count(1, timeout=EVALUATION)
    expect(team.locator("#board-public a.report-link")).to_have_count(2)
    # The team follows the link, with the keyboard, to its defense's report.
    row.get_by_role("link", name="Identifiability report").focus()
    team.keyboard.press("Enter")
    team.wait_for_url(f"**/submissions/{defense['id']}/report/")
    expect(team.get_by_role("heading", name="The three ways people can be identified")).to_be_visible()
    for criterion in ("Singling out", "Linkability", "Inference"):
        expect(team.locator("#criteria").get_by_role("rowheader", name=criterion)).to_be_visible()
    expect(team.locator("#thresholds")).to_contain_text("0.09")
    expect(team.locator("#strongest-attacks")).to_contain_text("Vera Lab")
    expect(team.get_by_role("heading", name="Not legal advice")).to_be_visible()
    screenshot(team, "identifiability-report")

    # Once the organizers reveal the private split, the matrix follows the spectator's tab.
    organizer = requests.post(server.api("auth/token/"), json={"username": ORGANIZER[0], "password": ORGANIZER[1]},
                              timeout=10).json()["token"]
    phase = spectator.evaluate("() => JSON.parse(document.getElementById('leaderboard-data').textContent).phase")
    requests.post(server.api(f"competitions/{slug}/phases/{phase}/reveal/"),
                  headers={"Authorization": f"Token {organizer}"}, timeout=10).raise_for_status()
    expect(spectator.locator("#tab-private .lock")).to_have_count(0, timeout=15_000)  # revealed live
    spectator.get_by_role("tab", name="Private").click()
    expect(matrix.locator("caption")).to_contain_text("private split: 6 of 6 runs finished")
    expect(spectator.locator("#matrix-split")).to_have_text("private")
    expect(matrix.locator("td.cell")).to_have_count(6)
    # Private reports are the teams' own: a spectator's columns link only the baseline's.
    expect(matrix.locator("thead a.report-link")).to_have_count(1)
    spectator.get_by_role("tab", name="Public").click()
    expect(matrix.locator("caption")).to_contain_text("public split: 6 of 6 runs finished")
    expect(matrix.locator("thead a.report-link")).to_have_count(2)

    # On a phone the wide tables scroll inside their own frames; the page itself does not.
    team.set_viewport_size({"width": 390, "height": 844})
    assert team.evaluate(WIDER_THAN_SCREEN) == []
    screenshot(team, "identifiability-report-phone")
    spectator.set_viewport_size({"width": 390, "height": 844})
    assert spectator.evaluate(WIDER_THAN_SCREEN) == []
