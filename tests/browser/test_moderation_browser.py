"""A moderator resolves a flagged nomination in the real Voilà app, and the organiser's export shows it."""

from __future__ import annotations

import base64
import io
import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect
from sqlalchemy import select

from scored_panel import scored_round
from workbench.moderation import REASON_CODES
from workbench.shortlist import SOURCES
from workbench.serve import issue_judge_token, issue_organiser_token
from workbench.store import Judge, ModerationEvent, session_scope

pytestmark = pytest.mark.browser

RATIONALE = "Ann's reading matches the descriptor: the answer gives no figures for Q1."


@pytest.fixture(scope="module")
def panel(tmp_path_factory):
    """N0001 is flagged on Q1 (scores 2, 4, 4: mean 3.33) and leads N0002 (all 3s) by a third of a point."""
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'moderation.db'}"
    with session_scope(url) as s:
        built = scored_round(
            s, name="Browser moderation round",
            scores={"A": {"Ann": [2, 3, 3, 3], "Bo": [4, 3, 3, 3], "Cy": [4, 3, 3, 3]},
                    "B": {"Ann": 3, "Bo": 3, "Cy": 3}},
            nominees={"A": {"name": "Zebedee Quill-Harrow", "organisation": "Farthing Trust"},
                      "B": {"name": "Ottoline Marsh", "organisation": "Wold Trust"}},
            comments={("A", "Ann", "Q1"): "No figures at all."})
        organiser = issue_organiser_token(s)
        judge = issue_judge_token(s, judge=s.scalar(select(Judge).where(Judge.name == "Ann")))
    return {"url": url, "organiser": organiser, "judge": judge, "ids": built.nominations}


@pytest.fixture(scope="module")
def server(voila_server, panel):
    return voila_server(db_url=panel["url"])


def test_moderator_resolves_a_flag_and_the_export_reflects_it(server, panel, browser_page, axe_serious):
    page = browser_page
    page.goto(server.link("moderate.ipynb", panel["organiser"]))
    queue = page.get_by_label("Flagged nominations", exact=True)
    queue.wait_for(state="visible", timeout=60_000)
    assert [t.replace("\xa0", " ") for t in queue.locator("option").all_inner_texts()] == [
        "N0001: 1 flag(s), 1 open"]
    page.get_by_text("Q1: the scores run from 2 to 4, a spread of 2 points; the limit is 2.").wait_for()
    assert "No figures at all." in page.content()
    assert "Farthing" not in page.content()  # the nominee's organisation is never shown to moderators
    assert axe_serious(page) == []

    page.get_by_label("Question", exact=True).select_option(
        label="Q1. Services that meet the needs of all communities")
    page.get_by_label("Moderated score", exact=True).select_option(label="2 – Some")
    page.get_by_label("Reason", exact=True).select_option(
        label=f"descriptor-misapplied: {REASON_CODES['descriptor-misapplied']}")
    page.get_by_label("Rationale", exact=True).fill(RATIONALE)
    page.get_by_label("Your name (moderator)", exact=True).fill("Mo Moderator")
    page.get_by_role("button", name="Record decision").click()
    page.get_by_text("Decision recorded: N0001 Q1: 3.33 → 2, recorded by Mo Moderator.").wait_for()
    expect(queue.locator("option")).to_have_count(0)  # resolved, so no longer in the queue
    trail = page.locator("table", has_text="Every moderation decision")
    assert [row.split("\t")[:8] for row in trail.locator("tbody tr").all_inner_texts()][0][:6] == [
        "1", "N0001", "Q1", "3.33", "2", "Mo Moderator"]
    with session_scope(panel["url"]) as s:
        event = s.scalar(select(ModerationEvent))
    assert (event.nomination_id, event.criterion_id, round(event.before, 4), event.after, event.reason_code,
            event.rationale, event.moderator) == (panel["ids"]["A"], "Q1", 3.3333, 2.0, "descriptor-misapplied",
                                                  RATIONALE, "Mo Moderator")

    # The organiser builds the shortlist from moderated scores and downloads the workbook.
    page.goto(server.link("shortlist.ipynb", panel["organiser"]))
    page.get_by_label("Scores", exact=True).wait_for(state="visible", timeout=60_000)
    page.get_by_text("Shortlist built: 2 of 2 nominations.").wait_for(timeout=60_000)
    page.get_by_label("Scores", exact=True).select_option(label=f"moderated: {SOURCES['moderated']}")
    page.get_by_label("N (how many)", exact=True).fill("1")
    page.get_by_label("N (how many)", exact=True).press("Tab")
    page.get_by_role("button", name="Build shortlist").click()
    page.get_by_text("Shortlist built: 1 of 2 nominations.").wait_for(timeout=60_000)
    assert axe_serious(page) == []
    link = page.get_by_role("link", name="Download the Excel workbook")
    assert link.get_attribute("download") == "shortlist-browser-moderation-round.xlsx"
    data = base64.b64decode(link.get_attribute("href").split("base64,", 1)[1])
    workbook = load_workbook(io.BytesIO(data))
    shortlist = list(workbook["Shortlist"].iter_rows(min_row=1, max_row=2, values_only=True))
    assert shortlist[1][:3] == ("1", "N0002", "Ottoline Marsh")  # moderation moved N0001 (now 11) below N0002 (12)
    log = list(workbook["Moderation log"].iter_rows(min_row=2, max_row=2, values_only=True))[0]
    assert (log[1], log[2], round(log[3], 4), log[4], log[7], log[9], log[10]) == (
        "N0001", "Q1", 3.3333, 2.0, "descriptor-misapplied", RATIONALE, "Mo Moderator")
    method = {row[0]: row[1] for row in workbook["Method"].iter_rows(min_row=2, values_only=True)}
    assert method["Scores used"].startswith("moderated:")


def test_judges_cannot_open_the_moderation_or_shortlist_apps(server, panel):
    for notebook in ("moderate.ipynb", "shortlist.ipynb"):
        assert server.status(server.link(notebook, panel["judge"])) == 403
        assert server.status(server.link(notebook)) == 403
