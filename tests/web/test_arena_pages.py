"""The arena's pages: the identifiability report of each finished defense and the attack × defense
matrix on the leaderboard, built on the real 3 × 3 arena of tests/factories/arena.py (real
programs in the process sandbox, evaluated inline)."""

from __future__ import annotations

import html
import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories.arena import EXACT_MATCH_MIA, IDENTITY_DEFENSE, SYNTHETIC_DEFENSE, build_three_by_three

pytestmark = pytest.mark.django_db(transaction=True)

FAILING_DEFENSE = """
import sys
sys.exit("this defense gives up")
"""


def _report_url(submission, split: str | None = None) -> str:
    url = reverse("submission-report", kwargs={"submission_id": submission.pk})
    return url + (f"?split={split}" if split else "")


def _leaderboard(client, arena) -> str:
    response = client.get(reverse("competition-leaderboard", kwargs={"slug": arena.competition.slug}))
    assert response.status_code == 200
    return response.content.decode()


def _section(page: str, start: str, end: str) -> str:
    return page[page.index(start):page.index(end, page.index(start))]


def _text(markup: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", markup))).strip()


def _cells(row: str) -> list[str]:
    return [_text(cell) for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]


def _pct(value: float) -> str:
    return f"{100 * max(0.0, value):.1f}%"


# --------------------------------------------------------------------------- the report page


def test_report_page_shows_the_three_criteria_the_thresholds_and_the_strongest_attack(arena, client):
    from evaluation import identifiability
    from submissions.models import Submission

    d1, _d2, _a1 = build_three_by_three(arena)
    defenses = Submission.objects.filter(competition=arena.competition, role="defense", status="finished")
    organizer = arena.users["delta"]
    arena.competition.organizers.add(organizer)
    client.force_login(organizer)
    for defense in defenses:  # every finished defense has its page
        response = client.get(_report_url(defense))
        assert response.status_code == 200, defense
        page = response.content.decode()
        text = _text(page)
        report = identifiability.identifiability_report(defense=defense, organizer=True)  # the page's reader

        criteria = _section(page, 'id="criteria"', "</table>")
        for criterion in report["criteria"]:
            row = _text(_section(criteria, f'data-criterion="{criterion["criterion"]}"', "</tr>"))
            assert criterion["label"] in row
            if criterion["available"]:
                assert _pct(criterion["value"]) in row and criterion["level"] in row
                assert f"{_pct(criterion['ci_low'])} to {_pct(criterion['ci_high'])}" in row
            else:
                assert "not measured" in row
        assert [m for m in re.findall(r'data-criterion="(\w+)"', criteria)] == ["singling_out", "linkability", "inference"]

        thresholds = _section(page, 'id="thresholds"', "</table>")
        assert len(report["k_anonymity"]["thresholds"]) == 3
        for t in report["k_anonymity"]["thresholds"]:
            threshold, used_for, k_needed, highest, average, source = _cells(
                _section(thresholds, f'data-threshold="{t["threshold"]}"', "</tr>"))
            assert (threshold, used_for, k_needed) == (str(t["threshold"]), t["label"], str(t["k_needed"]))
            assert highest == ("✓ within" if t["max_risk_within"] else "✗ exceeds")
            assert average == ("✓ within" if t["average_risk_within"] else "✗ exceeds")
            assert source == t["source"]
        assert "European Medicines Agency" in thresholds and "Health Canada" in thresholds
        assert f"{report['k_anonymity']['k']:g}" in _text(_section(page, 'id="k-anonymity"', "</dl>"))

        attacks = _text(_section(page, 'id="strongest-attacks"', "</table>"))
        for strongest in report["strongest_attacks"]:
            assert strongest["task"] in attacks and strongest["explanation"] in attacks
            if strongest["attack"]:
                assert f"{strongest['attack']['team']} #{strongest['attack']['submission']}" in attacks

        assert report["summary"] in text
        assert "Not legal advice" in text and "It is not legal advice" in text
        assert f'href="/api/v1/submissions/{defense.pk}/report/?split=public"' in page

    # A release without record ids leaves the re-identification rate undefined: the report says the
    # attack ran but measured nothing, not that no attack has run.
    reid = next(a for a in identifiability.identifiability_report(defense=d1)["strongest_attacks"] if a["task"] == "reidentification")
    assert reid["value"] is None
    assert "1 reidentification attack(s) finished against this release, but" in reid["explanation"]

    # The unprotected baseline copies the records (k = 1): its highest risk exceeds every threshold.
    baseline = defenses.get(is_baseline=True)
    client.logout()
    page = client.get(_report_url(baseline)).content.decode()  # a published baseline: for everyone
    rows = re.findall(r"<tr data-threshold=.*?</tr>", _section(page, 'id="thresholds"', "</table>"), re.S)
    assert [_cells(row)[3] for row in rows] == ["✗ exceeds"] * 3
    # a spectator reads the figures to four decimals, and the page's sentences agree with them
    public = identifiability.identifiability_report(defense=baseline)
    criteria = _section(page, 'id="criteria"', "</table>")
    for criterion in public["criteria"]:
        if criterion["available"]:
            assert criterion["value"] == round(criterion["value"], 4)
            row = _text(_section(criteria, f'data-criterion="{criterion["criterion"]}"', "</tr>"))
            assert _pct(criterion["value"]) in row and criterion["explanation"] in row
    assert public["summary"] in _text(page)


def test_who_may_read_which_report(arena, client):
    """Public split: everyone, for every finished defense of a published competition (its public
    scores already stand in the matrix). Private split: its team after the reveal, organizers."""
    from competitions.services import phase_reveal
    from submissions.models import Submission

    d1, _d2, a1 = build_three_by_three(arena)
    failed = arena.submit("alpha", FAILING_DEFENSE, task="tabular-anonymization")
    failed.refresh_from_db()
    assert failed.status == Submission.FAILED
    baseline = Submission.objects.get(competition=arena.competition, role="defense", is_baseline=True)

    for defense in (d1, baseline):  # spectators
        assert client.get(_report_url(defense)).status_code == 200
    assert client.get(_report_url(failed)).status_code == 404
    client.force_login(arena.users["beta"])
    assert client.get(_report_url(d1)).status_code == 200  # another team's finished defense
    response = client.get(_report_url(failed))  # another team's failed one
    assert response.status_code == 404 and b"Singling out" not in response.content
    client.force_login(arena.users["alpha"])
    assert client.get(_report_url(d1)).status_code == 200
    assert client.get(_report_url(failed)).status_code == 404  # its own, but not a finished defense
    assert client.get(_report_url(d1, "everything")).status_code == 404
    client.force_login(arena.users["gamma"])
    assert client.get(_report_url(a1)).status_code == 404  # an attack has no report

    # The private split, even once revealed, is for the team (and, for a baseline, everyone).
    phase_reveal(phase=arena.phase)
    for user in (None, arena.users["beta"]):
        client.logout() if user is None else client.force_login(user)
        hidden = client.get(_report_url(d1, "private"))
        assert hidden.status_code == 403 and "for the defense's team and the organizers" in hidden.content.decode()
        assert client.get(_report_url(baseline, "private")).status_code == 200
    client.force_login(arena.users["alpha"])
    assert client.get(_report_url(d1, "private")).status_code == 200

    # An unpublished competition's reports are for its teams and organizers only.
    arena.competition.published = False
    arena.competition.save(update_fields=["published"])
    client.logout()
    for defense in (d1, baseline):
        assert client.get(_report_url(defense)).status_code == 404


def test_private_split_values_never_appear_before_the_reveal(arena, client, django_user_model):
    from competitions.services import phase_reveal
    from submissions.models import Score

    d1, _d2, _a1 = build_three_by_three(arena)
    # Sentinel private values, so that any leak of them is unmistakable.
    Score.objects.filter(submission=d1, split=Score.PRIVATE, metric="singling_out_risk").update(
        value=0.97531, ci_low=0.96421, ci_high=0.98642)
    Score.objects.filter(submission=d1, split=Score.PRIVATE, metric="k_anonymity").update(value=7919)
    sentinels = ["97.5%", "96.4%", "98.6%", "7919"]

    client.force_login(arena.users["alpha"])
    public = client.get(_report_url(d1)).content.decode()
    assert "Singling out" in public
    assert not [s for s in sentinels if s in public]
    assert 'href="?split=private"' not in public and "hidden until the reveal" in public
    hidden = client.get(_report_url(d1, "private"))
    assert hidden.status_code == 403
    assert "stays hidden until the organizers reveal it" in hidden.content.decode()
    assert not [s for s in sentinels if s in hidden.content.decode()]
    assert not [s for s in sentinels if s in client.get(reverse("submission-detail", args=[d1.pk])).content.decode()]
    assert "?split=private" not in client.get(reverse("submission-detail", args=[d1.pk])).content.decode()

    organizer = django_user_model.objects.create_user(username="organizer", password="a-long-test-password")
    arena.competition.organizers.add(organizer)
    client.force_login(organizer)
    preview = client.get(_report_url(d1, "private"))
    assert preview.status_code == 200 and all(s in preview.content.decode() for s in sentinels)

    phase_reveal(phase=arena.phase)
    client.force_login(arena.users["alpha"])
    revealed = client.get(_report_url(d1, "private")).content.decode()
    assert all(s in revealed for s in sentinels)
    assert f'href="{_report_url(d1)}?split=private"' in client.get(reverse("submission-detail", args=[d1.pk])).content.decode()


# --------------------------------------------------------------------------- links to the report


def test_leaderboard_and_submission_page_link_each_readable_defense_to_its_report(arena, client, django_user_model):
    from submissions.models import Submission

    d1, d2, _a1 = build_three_by_three(arena)
    baseline = Submission.objects.get(competition=arena.competition, role="defense", is_baseline=True)

    def board_links(page: str) -> set[int]:
        board = _section(page, 'id="board-public"', 'id="panel-private"')
        return {int(pk) for pk in re.findall(r'href="/submissions/(\d+)/report/"', board)}

    # The public board links every defense's public report, whoever reads it.
    assert board_links(_leaderboard(client, arena)) == {baseline.pk, d1.pk, d2.pk}
    client.force_login(arena.users["alpha"])
    page = _leaderboard(client, arena)
    assert board_links(page) == {baseline.pk, d1.pk, d2.pk}
    assert '"reportUrl": "/submissions/{id}/report/"' in page and '"defenseBoard": true' in page
    organizer = django_user_model.objects.create_user(username="organizer", password="a-long-test-password")
    arena.competition.organizers.add(organizer)
    client.force_login(organizer)
    assert board_links(_leaderboard(client, arena)) == {baseline.pk, d1.pk, d2.pk}

    # Every link leads to a report its reader may open.
    for pk in (baseline.pk, d1.pk, d2.pk):
        assert client.get(f"/submissions/{pk}/report/").status_code == 200

    # Attack boards link to no report; the submission page of a finished defense does.
    attack_board = client.get(reverse("competition-leaderboard", kwargs={"slug": arena.competition.slug}) + "?task=membership-inference")
    assert re.search(r'href="/submissions/\d+/report/"', _section(attack_board.content.decode(), 'id="board-public"', 'id="panel-private"')) is None
    client.force_login(arena.users["alpha"])
    assert f'href="{_report_url(d1)}"' in client.get(reverse("submission-detail", args=[d1.pk])).content.decode()


# --------------------------------------------------------------------------- the matrix


def test_matrix_on_the_leaderboard_of_a_three_by_three_arena(arena, client):
    from evaluation import selectors

    build_three_by_three(arena)
    matrix = selectors.arena_matrix(phase=arena.phase)
    page = _leaderboard(client, arena)
    table = _section(page, '<table class="matrix"', "</table>")

    assert "<caption>" in table and "9 of 9 runs finished" in table
    assert len(re.findall(r'<th scope="col" class="defense', table)) == 3
    assert len(re.findall(r"<tr [^>]*data-attack=", table)) == 3
    assert len(re.findall(r'<td class="cell', table)) == 9
    assert len(re.findall(r'scope="rowgroup"', table)) == 3  # one group per attack task
    assert len(re.findall(r'<th scope="col" class="defense baseline"', table)) == 1
    assert len(re.findall(r'<tr class="baseline" data-attack=', table)) == 2

    # Each cell writes its value and its level in words, not only in colour.
    for row in matrix["rows"]:
        tr = _section(table, f'data-attack="{row["attack"]["submission"]}"', "</tr>")
        for cell in row["cells"]:
            classes, td = re.search(rf'<td class="([^"]*)" data-defense="{cell["defense"]}"[^>]*>(.*?)</td>', tr, re.S).groups()
            if cell["value"] is not None:
                assert f'{cell["value"]:.{row["metric"]["precision"]}f}' in td
                assert f"level-{cell['level']}" in classes.split() and f"% {cell['level']}" in _text(td)
            else:
                assert "n/a" in td

    # The strongest attack of each defense is marked, and it is the one setting its arena privacy.
    for column, defense in enumerate(matrix["defenses"]):
        cells = [row["cells"][column] for row in matrix["rows"]]
        marked = [c for c in cells if c["strongest"]]
        best = max((c["normalised_success"] for c in cells if c["normalised_success"] is not None), default=0)
        assert bool(marked) is (best > 0)
        for c in marked:
            assert c["normalised_success"] == best
            assert defense["arena_privacy"] == pytest.approx(1 - best)
    assert table.count('class="strongest-mark"') == sum(c["strongest"] for r in matrix["rows"] for c in r["cells"]) >= 1

    # The same matrix over the API, which the page refetches on every pushed change.
    api = client.get(reverse("api-arena-matrix", kwargs={"slug": arena.competition.slug}))
    assert api.status_code == 200 and api.json()["rows"] == matrix["rows"]
    assert '"matrixUrl": "/api/v1/competitions/arena-test/arena/matrix/?phase=open"' in page
    private = client.get(reverse("api-arena-matrix", kwargs={"slug": arena.competition.slug}) + "?split=private")
    assert private.status_code == 403 and "hidden until the organizers reveal it" in private.json()["error"]


def test_matrix_follows_the_private_tab_once_that_split_may_be_read(arena, client, django_user_model):
    from competitions.services import phase_reveal
    from evaluation import selectors
    from submissions.models import Submission

    d1, _d2, _a1 = build_three_by_three(arena)
    baseline = Submission.objects.get(competition=arena.competition, role="defense", is_baseline=True)
    url = reverse("competition-leaderboard", kwargs={"slug": arena.competition.slug}) + "?split=private"

    def matrix_of(page: str) -> tuple[str, str]:
        table = _section(page, '<table class="matrix"', "</table>")
        split = re.search(r'data-split="(\w+)"', table)
        assert split, "the matrix names no split"
        return split.group(1), _section(page, 'id="matrix-panel"', "</table>")

    def values(split: str) -> list[str]:
        matrix = selectors.arena_matrix(phase=arena.phase, split=split)
        return [f'{c["value"]:.{r["metric"]["precision"]}f}' for r in matrix["rows"] for c in r["cells"] if c["value"] is not None]

    assert values("private") and values("public")
    # Before the reveal a spectator asking for the private tab keeps the public matrix, and is told so.
    page = client.get(url).content.decode()
    split, panel = matrix_of(page)
    assert split == "public" and 'result on the <span id="matrix-split">public</span> split' in panel
    assert '"matrixSplit": "public"' in page and '"split": "private"' in page

    # Organizers see the private split of the matrix before anyone else.
    organizer = django_user_model.objects.create_user(username="organizer", password="a-long-test-password")
    arena.competition.organizers.add(organizer)
    client.force_login(organizer)
    page = client.get(url).content.decode()
    split, panel = matrix_of(page)
    assert split == "private" and "private split" in panel and '"matrixSplit": "private"' in page
    assert all(value in panel for value in values("private"))
    assert f'href="{_report_url(d1, "private")}"' in panel  # organizers read every private report

    # Once revealed, everyone gets it; the private report links only where the reader may open them.
    phase_reveal(phase=arena.phase)
    client.logout()
    split, panel = matrix_of(client.get(url).content.decode())
    assert split == "private" and all(value in panel for value in values("private"))
    assert f'href="{_report_url(baseline, "private")}"' in panel
    assert _report_url(d1) not in panel
    split, panel = matrix_of(_leaderboard(client, arena))  # the public tab keeps the public matrix
    assert split == "public" and f'href="{_report_url(d1)}"' in panel
    client.force_login(arena.users["alpha"])  # d1's team
    split, panel = matrix_of(client.get(url).content.decode())
    assert f'href="{_report_url(d1, "private")}"' in panel


def test_matrix_api_is_404_for_a_competition_without_attacks(client):
    from tests.factories.records import competition_make

    plain = competition_make()
    response = client.get(reverse("api-arena-matrix", kwargs={"slug": plain.slug}))
    assert response.status_code == 404 and "not an arena" in response.json()["error"]
    page = client.get(reverse("competition-leaderboard", kwargs={"slug": plain.slug})).content.decode()
    assert 'id="matrix-panel"' not in page and '"matrixUrl": null' in page


# --------------------------------------------------------------------------- query counts


def test_matrix_and_report_cost_a_fixed_number_of_queries_however_many_submissions(arena, client):
    d1, _d2, _a1 = build_three_by_three(arena)
    client.force_login(arena.users["alpha"])
    slug = arena.competition.slug
    urls = {
        "report": _report_url(d1),
        "matrix": reverse("api-arena-matrix", kwargs={"slug": slug}),
        "leaderboard": reverse("competition-leaderboard", kwargs={"slug": slug}),
    }

    def count() -> dict[str, int]:
        counts = {}
        for name, url in urls.items():
            cache.clear()  # measure the work, not the cache
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200
            counts[name] = len(queries)
        return counts

    small = count()
    # One more attack and one more defense: a 4 × 4 matrix, and one more attack on d1's report.
    arena.submit("delta", EXACT_MATCH_MIA, task="membership-inference")
    arena.submit("delta", SYNTHETIC_DEFENSE + "# the same generator, another team's archive\n", task="tabular-anonymization")
    from evaluation import selectors

    matrix = selectors.arena_matrix(phase=arena.phase)
    assert len(matrix["defenses"]) == 4 and len(matrix["rows"]) == 4
    assert count() == small


def test_the_singling_out_queries_that_succeeded_are_for_the_organizers_only(arena, client):
    """Which of the release's queries single out a hidden training record is a fact about
    the hidden records: the organizers read the queries in the report (page and API, each
    read in the audit log); the defense's own team, other teams and spectators do not."""
    from audit.models import AuditEvent
    from submissions.models import Submission

    copied = arena.submit("alpha", IDENTITY_DEFENSE, task="tabular-anonymization")  # every record copied
    copied.refresh_from_db()
    assert copied.status == Submission.FINISHED
    api = reverse("api-submission-report", kwargs={"submission_id": copied.pk})
    organizer = arena.users["delta"]
    arena.competition.organizers.add(organizer)

    client.force_login(organizer)
    report = client.get(api).json()
    singling_out = next(c for c in report["criteria"] if c["criterion"] == "singling_out")
    queries = singling_out["queries"]
    assert queries and all(isinstance(q, str) and q for q in queries)
    assert singling_out["queries_total"] >= len(queries)
    assert any("==" in q for q in queries)  # readable DataFrame.query syntax, e.g. postcode == '10122'
    # t-closeness stands beside k for everyone: the copied release's groups are single rows
    assert report["k_anonymity"]["t_closeness"] > 0.5
    assert report["k_anonymity"]["t_closeness_distance"] == {"diagnosis": "equal"}
    page = client.get(_report_url(copied)).content.decode()
    assert "Queries that singled out a training record (organizers only" in page
    assert html.escape(queries[0], quote=True) in page
    reads = AuditEvent.objects.filter(action=AuditEvent.HIDDEN_READ, target=f"submission:{copied.pk}")
    assert sorted(e.detail["via"] for e in reads) == ["report api", "report page"]

    for user in (arena.users["alpha"], arena.users["beta"], None):
        client.logout() if user is None else client.force_login(user)
        report = client.get(api).json()
        singling_out = next(c for c in report["criteria"] if c["criterion"] == "singling_out")
        assert singling_out["queries"] is None and singling_out["queries_total"] is None
        assert singling_out["value"] is not None  # the risk itself stays public
        page = client.get(_report_url(copied)).content.decode()
        assert "data-queries" not in page and "Queries that singled out" not in page
        assert "(diagnosis: equal distance)" in _text(_section(page, 'id="t-closeness"', "</dd>"))
        for query in queries[:20]:
            assert query not in str(report) and html.escape(query, quote=True) not in page
    assert AuditEvent.objects.filter(action=AuditEvent.HIDDEN_READ, target=f"submission:{copied.pk}").count() == 2
