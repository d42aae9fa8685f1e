"""Acceptance scenarios in a real browser against a real ASGI server (see conftest.py)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import ORGANIZER, log_in

pytestmark = pytest.mark.browser
LIVE = 15_000  # ms a live change may take to show, with real evaluation in between


def test_participant_registers_creates_a_team_submits_and_watches_it_score_live(arena_server, browser, screenshot):
    server = arena_server
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()

    page.goto(f"{server.url}/")
    screenshot(page, "home")
    page.goto(f"{server.url}/competitions/{server.slug}/")
    screenshot(page, "competition")

    page.goto(f"{server.url}/accounts/register/?next=/competitions/{server.slug}/team/")
    screenshot(page, "register")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Email address").fill("ada@example.org")
    page.get_by_label("Password", exact=True).fill("a-long-pass-4321")
    page.get_by_label("Password confirmation").fill("a-long-pass-4321")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(re.compile(r"/team/$"))

    page.get_by_label("Team name").fill("Lovelace Lab")
    page.get_by_role("button", name="Create team").click()
    expect(page.get_by_role("heading", name="Team Lovelace Lab")).to_be_visible()
    screenshot(page, "team")

    board = context.new_page()
    board.goto(f"{server.url}/competitions/{server.slug}/leaderboard/")
    expect(board.locator("#live-status")).to_have_text("Live", timeout=LIVE)
    expect(board.locator("#board-public")).not_to_contain_text("Lovelace Lab")

    page.goto(f"{server.url}/competitions/{server.slug}/submit/")
    page.get_by_label("File").set_input_files({"name": "predictions.csv", "mimeType": "text/csv", "buffer": server.predictions(perfect=True)})
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#status-box")).to_be_visible()
    expect(page.locator("#status-text")).to_have_text("finished", timeout=LIVE)
    expect(page.locator("#public-scores")).to_contain_text("TPR at FPR 0.1")  # labels, not keys
    screenshot(page, "submit")

    # The leaderboard page, never reloaded, now shows the team on top.
    first_row = board.locator("#board-public tbody tr").first
    expect(first_row).to_contain_text("Lovelace Lab", timeout=LIVE)
    expect(first_row).to_contain_text("1.0000")
    screenshot(board, "leaderboard")

    page.goto(f"{server.url}/competitions/{server.slug}/submissions/")
    expect(page.locator("#my-submissions")).to_contain_text("finished")
    screenshot(page, "my-submissions")
    context.close()


def test_a_bad_upload_is_explained_on_the_page(arena_server, browser):
    server = arena_server
    server.participant("grace", "Hopper Group")
    context = browser.new_context()
    page = context.new_page()
    log_in(page, server, "grace", "a-long-pass-4321")
    page.goto(f"{server.url}/competitions/{server.slug}/submit/")
    page.get_by_label("File").set_input_files({"name": "predictions.csv", "mimeType": "text/csv", "buffer": b"\x00\x01binary"})
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#submit-error")).to_contain_text("predictions.csv", timeout=LIVE)
    expect(page.locator("#submit-error")).to_contain_text("nothing was stored")
    context.close()


def test_a_spectator_without_an_account_sees_a_new_score_appear_live(arena_server, browser, screenshot):
    server = arena_server
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    board = context.new_page()
    board.goto(f"{server.url}/competitions/{server.slug}/leaderboard/")
    expect(board.locator("#live-status")).to_have_text("Live", timeout=LIVE)
    home = context.new_page()
    home.goto(f"{server.url}/")
    expect(home.locator("#activity-status")).to_have_class(re.compile("live"), timeout=LIVE)

    token = server.participant("spectated", "Watched Team")
    server.submit(token, server.predictions(perfect=False))

    expect(board.locator("#board-public")).to_contain_text("Watched Team", timeout=LIVE)
    expect(board.locator("#announcer")).to_contain_text("Watched Team")
    expect(home.locator("#activity")).to_contain_text("Watched Team", timeout=LIVE)
    screenshot(home, "home-live")
    context.close()


def test_an_organizer_reveals_the_private_board_and_participants_see_it(arena_server, browser, screenshot):
    server = arena_server
    token = server.participant("finalist", "Final Team")
    server.submit(token, server.predictions(perfect=True))

    participant = browser.new_context().new_page()
    participant.goto(f"{server.url}/competitions/{server.slug}/leaderboard/?split=private")
    expect(participant.locator("#live-status")).to_have_text("Live", timeout=LIVE)
    expect(participant.locator("#panel-private")).to_contain_text("hidden until the organizers reveal it")
    expect(participant.locator("#board-private")).to_be_empty()

    organizer = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    log_in(organizer, server, *ORGANIZER)
    organizer.goto(f"{server.url}/competitions/{server.slug}/organize/")
    expect(organizer.locator("#queue")).to_contain_text("Final Team", timeout=LIVE)
    screenshot(organizer, "organizer")
    organizer.get_by_role("button", name="Reveal development").click()
    expect(organizer.locator(".messages")).to_contain_text("now public")

    expect(participant.locator("#board-private")).to_contain_text("Final Team", timeout=LIVE)
    expect(participant.locator("#private-csv")).to_be_visible()
    expect(participant.locator("#tab-private .lock")).to_have_count(0)
    screenshot(participant, "leaderboard-private")

    scenario = organizer.context.new_page()
    scenario.goto(f"{server.url}/competitions/{server.slug}/scenario/")
    expect(scenario.get_by_role("heading", name="Was my record used?")).to_be_visible()
    screenshot(scenario, "scenario")
