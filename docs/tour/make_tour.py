"""Write docs/tour.md and its screenshots from a running demo, so that the tour stays true.

    python docs/tour/make_tour.py             # starts its own demo (as `make demo` does) in a temporary folder
    python docs/tour/make_tour.py --base DIR  # the same, keeping the demo in DIR to reuse on the next run
    python docs/tour/make_tour.py --url URL   # a demo that is already running (spectator and participant only)

With its own demo the script does what `make demo` does (migrate, collectstatic, load_demo,
daphne, on SQLite in a temporary folder), adds one organizer of the arena, then drives Chromium
through what a spectator, a participant and an organizer see. The figures the text quotes are
read from the pages it photographs. Screenshots are PNGs of the visible window, small enough to
commit (about 150 KB each). Chromium is Debian's (/usr/bin/chromium, or PLAYWRIGHT_CHROMIUM_EXECUTABLE).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "tour"
ARENA = "discharge-arena"
MIA = "breast-cancer-membership"
ORGANIZER = ("tour-organizer", "Quiet-ward-rounds-7391")
PARTICIPANT = ("tour-participant", "Walk-the-wards-4821")
CHROMIUM = os.environ.get("PLAYWRIGHT_CHROMIUM_EXECUTABLE", "/usr/bin/chromium")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with code {process.returncode}")
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.3)
    raise RuntimeError(f"the server did not answer at {url} within {timeout} s")


@contextmanager
def demo_server(base: Path, *, organizer: tuple[str, str] | None = ORGANIZER, log=sys.stderr):
    """The demo as `make demo` serves it, in ``base`` (SQLite, in-process evaluation); yields its URL."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "ARENA_", "DATABASE_URL", "REDIS_URL"))},
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "ARENA_VAR_DIR": str(base / "var"),
        "DATABASE_URL": f"sqlite:///{base / 'arena.sqlite3'}",
        "ARENA_EVALUATION_MODE": "thread",
        "ARENA_START_EMBEDDED_WORKER": "1",
        "PYTHONUNBUFFERED": "1",
    }

    def manage(*args: str, timeout: float = 120) -> None:
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, timeout=timeout,
                       stdout=log, stderr=subprocess.STDOUT)

    manage("migrate", "--noinput", "-v0")
    manage("collectstatic", "--noinput", "-v0")
    manage("load_demo", "--out", str(base / "scenarios"), timeout=3600)  # a demo already loaded in base stays
    if organizer:
        manage("shell", "-c", (
            "from django.contrib.auth import get_user_model; from competitions.models import Competition;"
            f"u = get_user_model().objects.filter(username={organizer[0]!r}).first() or get_user_model().objects.create_user("
            f"{organizer[0]!r}, 'organizer@example.org', {organizer[1]!r});"
            f"Competition.objects.get(slug={ARENA!r}).organizers.add(u)"
        ))
    port = _free_port()
    with open(base / "daphne.log", "wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"],
                                  cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_for(url + "/", server)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


# --------------------------------------------------------------------------- the tour


class Tour:
    def __init__(self, browser, url: str):
        self.browser, self.url = browser, url
        self.sections: list[str] = []
        OUT.mkdir(parents=True, exist_ok=True)

    def page(self, width: int = 1200, height: int = 760):
        return self.browser.new_context(viewport={"width": width, "height": height}).new_page()

    def shot(self, page, name: str, *, selector: str | None = None) -> str:
        path = OUT / f"{name}.png"
        if selector:
            page.locator(selector).first.scroll_into_view_if_needed()
            page.locator(selector).first.screenshot(path=str(path))
        else:
            page.screenshot(path=str(path))
        return f"tour/{name}.png"

    def add(self, title: str, image: str, text: str) -> None:
        self.sections.append(f"### {title}\n\n{text.strip()}\n\n![{title}]({image})\n")

    def heading(self, title: str, text: str = "") -> None:
        self.sections.append(f"## {title}\n\n{text.strip()}\n" if text else f"## {title}\n")


def _pareto_points(page) -> dict[str, tuple[float, float]]:
    """``{defense: (privacy, utility)}`` as the chart draws them."""
    return page.evaluate("""() => Object.fromEntries(Array.from(document.querySelectorAll('#chart-pareto .point'))
        .map((p) => [p.getAttribute('data-name'), [parseFloat(p.getAttribute('data-x')), parseFloat(p.getAttribute('data-y'))]]))""")


def spectator(tour: Tour) -> None:
    tour.heading("What a spectator sees", "A doctor, a data-protection officer or any citizen, without an account.")
    page = tour.page()
    page.goto(f"{tour.url}/")
    cards = page.locator(".cards > li").count()
    tour.add("The competitions", tour.shot(page, "01-home"),
             f"The home page lists the demo's {cards} medical scenarios and a live feed of finished submissions.")

    page.goto(f"{tour.url}/competitions/{ARENA}/leaderboard/")
    page.wait_for_selector("#chart-pareto svg")
    rows = page.locator("#board-public tbody tr").count()
    tour.add("The arena's leaderboard", tour.shot(page, "02-arena-board"),
             f"The discharge-records arena ranks anonymizers by the research value they keep. Its board lists {rows} "
             "defenses (here the organizers' baselines). Rank, team and the primary score stay in view while the other "
             "columns scroll; every metric label explains itself when pointed at or reached with the Tab key.")

    points = _pareto_points(page)
    dp = next((v for k, v in points.items() if k.startswith("DP marginals")), None)
    raw = points.get("No protection")
    most = max(points, key=lambda k: points[k][0]) if points else None
    figures = ""
    if dp is not None and raw is not None:
        figures = (f"Publishing the records unchanged scores an arena privacy of {raw[0]:.2f} (an attack fully "
                   f"succeeded) and keeps a two-way marginal fidelity of {raw[1]:.3f}; the differentially private "
                   f"synthesizer (ε = 1) scores {dp[0]:.2f} at the private end and keeps {dp[1]:.3f}.")
        if most and not most.startswith("DP marginals"):
            figures += f" On this run the most private point is {most}, at {points[most][0]:.2f}."
    tour.add("Privacy against utility", tour.shot(page, "03-arena-pareto", selector="#chart-pareto"),
             "Each defense is placed by its arena privacy (1 minus the success of the strongest attack run against it) "
             "and the utility it keeps; the dashed line is the Pareto front. " + figures)

    page.locator("#matrix-panel").scroll_into_view_if_needed()
    tour.add("Attacks against defenses", tour.shot(page, "04-arena-matrix", selector="#matrix-panel"),
             "Every attack runs against every defense. Each cell shows the attack's own score and, below it, its "
             "normalised success (0% guessing, 100% complete); ★ marks the strongest attack on each defense.")

    page.goto(f"{tour.url}/competitions/{ARENA}/scenario/")
    tour.add("What the attacks mean", tour.shot(page, "05-arena-exposure", selector="#exposure"),
             "The scenario page turns the matrix into people: out of 100 patients, how many each kind of attack "
             "re-identified, spotted or exposed for each way of releasing the data, beside the research value kept.")

    report = page.evaluate("""() => { const a = document.querySelector('#exposure tr[data-defense]:last-child');
        return a ? a.getAttribute('data-defense') : null; }""")
    if report:
        page.goto(f"{tour.url}/submissions/{report}/report/")
        name = page.locator("#report-heading").inner_text().split(":", 1)[-1].split(" baseline")[0].strip()
        tour.add("An identifiability report", tour.shot(page, "06-report"),
                 f"Each defense has a report for a doctor or a data-protection officer; this one is {name}'s. It covers "
                 "singling out, linkability and the built-in inference check (named apart from the inference attacks), "
                 "k-anonymity against release thresholds, the strongest attacks, and a plain-words summary.")
        if page.locator("#chart-roc svg").count():
            tour.add("ROC curves in the report", tour.shot(page, "07-report-roc", selector=".report-roc"),
                     "The membership attacks run against the release, drawn as the membership-inference literature "
                     "draws them: true against false positive rate on logarithmic axes, the diagonal being guessing.")

    phone = tour.page(390, 844)
    phone.goto(f"{tour.url}/competitions/{MIA}/leaderboard/")
    tour.add("On a phone", tour.shot(phone, "08-phone-board"),
             "At 390 px the board keeps rank, team and the primary score; the rest scrolls sideways inside the table.")
    phone.goto(f"{tour.url}/glossary/")
    tour.add("The glossary", tour.shot(phone, "09-phone-glossary"),
             "Every term the pages use, in one sentence each; the explanations on the pages link here.")
    page.context.close()
    phone.context.close()


def _predictions(url: str) -> bytes:
    """A valid predictions file for the membership competition: every candidate scored 0.5."""
    data = requests.get(f"{url}/api/v1/competitions/{MIA}/data/", timeout=30)
    data.raise_for_status()
    with zipfile.ZipFile(io.BytesIO(data.content)) as zf:
        name = next(n for n in zf.namelist() if n.endswith("candidates.csv"))
        rows = list(csv.DictReader(io.TextIOWrapper(zf.open(name), encoding="utf-8")))
    return ("candidate_id,score\n" + "".join(f"{r['candidate_id']},0.5\n" for r in rows)).encode()


def participant(tour: Tour) -> None:
    tour.heading("What a participant sees", "A team that submits an attack to the membership-inference competition.")
    page = tour.page()
    existing = requests.post(f"{tour.url}/api/v1/auth/token/", json={"username": PARTICIPANT[0], "password": PARTICIPANT[1]}, timeout=10)
    if existing.status_code == 200:  # a demo kept from an earlier run (--base)
        page.goto(f"{tour.url}/accounts/login/?next=/competitions/{MIA}/team/")
        page.get_by_label("Username").fill(PARTICIPANT[0])
        page.get_by_label("Password").fill(PARTICIPANT[1])
        page.get_by_role("button", name="Log in").click()
    else:
        page.goto(f"{tour.url}/accounts/register/?next=/competitions/{MIA}/team/")
        page.get_by_label("Username").fill(PARTICIPANT[0])
        page.get_by_label("Email address").fill("participant@example.org")
        page.get_by_label("Password", exact=True).fill(PARTICIPANT[1])
        page.get_by_label("Password confirmation").fill(PARTICIPANT[1])
        page.get_by_role("button", name="Create account").click()
    page.wait_for_url("**/team/")
    if page.get_by_label("Team name").count():
        page.get_by_label("Team name").fill("Tour Team")
        page.get_by_role("button", name="Create team").click()
    page.wait_for_selector("#invite-code")
    tour.add("A team", tour.shot(page, "10-team"), "Registering and creating a team takes one page each; teammates join with the invite code.")

    page.goto(f"{tour.url}/competitions/{MIA}/submit/")
    page.get_by_label("File").set_input_files({"name": "predictions.csv", "mimeType": "text/csv", "buffer": _predictions(tour.url)})
    page.get_by_role("button", name="Submit").click()
    page.wait_for_selector("#public-scores", timeout=60_000)
    page.wait_for_function("() => !/\\b0 of/.test(document.getElementById('quota-box').textContent)")
    tour.add("Submitting", tour.shot(page, "11-submit", selector="main .columns"),
             "The upload is checked at once; the status follows the run live. The result panel names each metric by "
             "its label, primary metric first, at the competition's precision, and the quota box counts the submission.")
    page.context.close()


def organizer(tour: Tour) -> None:
    tour.heading("What an organizer sees", "An organizer of the arena (the tour adds one to the demo).")
    page = tour.page()
    page.goto(f"{tour.url}/accounts/login/")
    page.get_by_label("Username").fill(ORGANIZER[0])
    page.get_by_label("Password").fill(ORGANIZER[1])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{tour.url}/")
    page.goto(f"{tour.url}/competitions/{ARENA}/organize/")
    tour.add("Organizing", tour.shot(page, "12-organize"),
             "Organizers see every submission and its state, can rerun or cancel runs, preview the private board and "
             "reveal it. Only organizers are offered this page in the navigation.")
    page.context.close()


INTRO = """# A tour of the demo

What each kind of user sees after `make demo`. This page and its screenshots are written by
`docs/tour/make_tour.py` from a running demo (`python docs/tour/make_tour.py`), so the figures
quoted here are the demo's own; run it again after changing the pages.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--url", help="a running demo; by default the script starts its own")
    parser.add_argument("--base", type=Path, help="keep the script's own demo in this folder and reuse it next time")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    for old in OUT.glob("*.png"):  # every image is written anew; none outlives the page that showed it
        old.unlink()
    with tempfile.TemporaryDirectory(prefix="arena-tour-") as tmp:
        base = args.base or Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        with demo_server(base) if args.url is None else _running(args.url) as url:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
                tour = Tour(browser, url)
                spectator(tour)
                participant(tour)
                if args.url is None:
                    organizer(tour)
                browser.close()
    (ROOT / "docs" / "tour.md").write_text(INTRO + "\n" + "\n".join(tour.sections), encoding="utf-8")
    total = sum(p.stat().st_size for p in OUT.glob("*.png"))
    print(f"wrote docs/tour.md and {len(list(OUT.glob('*.png')))} screenshots ({total / 1e6:.1f} MB)")


@contextmanager
def _running(url: str):
    yield url.rstrip("/")


if __name__ == "__main__":
    main()
