"""The judge's scoring app in real headless Chromium against a real Voilà server and database."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from workbench.allocation import add_assignment
from workbench.panel import add_judge, add_nomination, create_round, get_round
from workbench.rubric import load_rubric
from workbench.scoring import record_score, score_history, submit_assignment
from workbench.serve import issue_judge_token, issue_organiser_token
from workbench.store import Assignment, Conflict, session_scope

pytestmark = pytest.mark.browser

IDENTITY = {"name": "Perpetua Vanstone-Achebe", "email": "perpetua@quillfeather.example",
            "organisation": "Quillfeather NHS Foundation Trust", "job_title": "Matron for Inclusion",
            "nominator_name": "Ignatius Marlow", "nominator_email": "ignatius@quillfeather.example"}
EQUALITY = {"ethnicity": "Equality-Value-Sentinel", "religion": "Second-Equality-Sentinel"}
BOB_COMMENT = "Bob private comment on"


def _answers(reference: str) -> dict[str, str]:
    return {q: f"Answer text for {reference} {q}: ran listening events with carers. They co-designed the diabetes "
               "service with the local Somali community and with groups representing disabled people."
            for q in ("Q1", "Q2", "Q3", "Q4")}


@pytest.fixture(scope="module")
def panel(tmp_path_factory):
    """Alice has N0001-N0004, Bob has N0001 (submitted) and N0005, Dave has N0004; Carol is spare."""
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'judging.db'}"
    with session_scope(url) as s:
        round_ = create_round(s, name="Browser round", rubric=load_rubric("inclusive-leader"),
                              judges_per_nomination=2, blind=True, show_panel_after_submit=True)
        alice = add_judge(s, name="Alice Example", email="alice@panel.example", organisation="Org A")
        bob = add_judge(s, name="Bob Example", email="bob@panel.example", organisation="Org B")
        carol = add_judge(s, name="Carol Example", email="carol@panel.example", organisation="Org C")
        dave = add_judge(s, name="Dave Example", email="dave@panel.example", organisation="Org D")
        ids = {}
        for i in range(1, 6):
            reference = f"N{i:04d}"
            nomination = add_nomination(s, round_=round_, source_key=reference, answers=_answers(reference),
                                        nominee={**IDENTITY, "name": f"{IDENTITY['name']} {i}"}, equality=EQUALITY)
            ids[reference] = nomination.id
        for judge, refs in ((alice, ["N0001", "N0002", "N0003", "N0004"]), (bob, ["N0001", "N0005"]),
                            (dave, ["N0004"])):
            for reference in refs:
                add_assignment(s, round_=round_, judge_id=judge.id, nomination_id=ids[reference], actor="test")
        for q, value in (("Q1", 1), ("Q2", 2), ("Q3", 1), ("Q4", 2)):
            record_score(s, round_=round_, judge_id=bob.id, nomination_id=ids["N0001"], criterion_id=q, value=value,
                         comment=f"{BOB_COMMENT} {q}", check_rubric_file=False)
        submit_assignment(s, round_=round_, judge_id=bob.id, nomination_id=ids["N0001"])
        tokens = {judge.email.split("@")[0]: issue_judge_token(s, judge=judge) for judge in (alice, bob, carol, dave)}
        tokens["organiser"] = issue_organiser_token(s)
        judge_ids = {"alice": alice.id, "bob": bob.id, "carol": carol.id, "dave": dave.id}
    return {"url": url, "tokens": tokens, "ids": ids, "judges": judge_ids}


@pytest.fixture(scope="module")
def server(voila_server, panel):
    return voila_server(db_url=panel["url"])


def _open_app(page, server, token: str, **query: str):
    page.goto(server.link("judge.ipynb", token, **query))
    chooser = page.get_by_label("Your nominations")
    chooser.wait_for(state="visible", timeout=60_000)
    return chooser


def _references(chooser) -> list[str]:
    return [text.split()[0] for text in chooser.locator("option").all_inner_texts()]


def _open_nomination(page, chooser, reference: str) -> None:
    index = _references(chooser).index(reference)
    chooser.select_option(index=index)
    page.get_by_role("heading", name=reference, exact=True).wait_for()


def _radio_group(page, criterion: str, reference: str):
    return page.locator(".widget-radio").filter(has_text=f"Score for {criterion} ({reference})")


def _score(page, criterion: str, reference: str, value: int, label: str) -> None:
    _radio_group(page, criterion, reference).get_by_label(re.compile(rf"^{value}\W+{label}$")).check()
    page.get_by_text(f"Saved: Score {value} for {criterion}").wait_for()


def test_scores_are_saved_as_you_go_and_kept_after_reload(server, panel, browser_page):
    page = browser_page
    chooser = _open_app(page, server, panel["tokens"]["alice"])
    _open_nomination(page, chooser, "N0002")
    _score(page, "Q1", "N0002", 3, "Good")
    comment = page.get_by_label("Comment on Q1 (optional)")
    comment.fill("Clear figures before and after.")
    comment.press("Tab")
    page.get_by_text("Saved: Score 3 for Q1").wait_for()
    _score(page, "Q2", "N0002", 5, "Outstanding")
    labels = [text.replace("\xa0", " ") for text in chooser.locator("option").all_inner_texts()]
    assert "N0002 – In progress: 2 of 4 scored" in labels

    page.reload()
    chooser = page.get_by_label("Your nominations")
    chooser.wait_for(state="visible", timeout=60_000)
    _open_nomination(page, chooser, "N0002")
    q1 = _radio_group(page, "Q1", "N0002")
    assert q1.get_by_label(re.compile(r"^3\W+Good$")).is_checked()
    assert _radio_group(page, "Q2", "N0002").get_by_label(re.compile(r"^5\W+Outstanding$")).is_checked()
    assert page.get_by_label("Comment on Q1 (optional)").input_value() == "Clear figures before and after."
    with session_scope(panel["url"]) as s:
        history = score_history(s, round_=get_round(s, "Browser round"), nomination_id=panel["ids"]["N0002"])
    assert list(zip(history["criterion"], history["score"], history["comment"])) == [
        ("Q1", 3.0, ""), ("Q1", 3.0, "Clear figures before and after."), ("Q2", 5.0, "")]


def test_other_judges_scores_stay_hidden_until_own_submit(server, panel, browser_page):
    page = browser_page
    chooser = _open_app(page, server, panel["tokens"]["alice"])
    _open_nomination(page, chooser, "N0001")
    assert BOB_COMMENT not in page.content()
    assert page.get_by_text("Other judges' submitted scores").count() == 0
    for criterion, value, label in (("Q1", 2, "Some"), ("Q2", 3, "Good"), ("Q3", 4, "Strong"), ("Q4", 2, "Some")):
        _score(page, criterion, "N0001", value, label)
        assert BOB_COMMENT not in page.content()
    page.get_by_role("button", name="Submit my scores for N0001").click()
    page.get_by_text("Your scores for N0001 are submitted and locked.").wait_for()
    table = page.locator("table", has_text="Other judges' submitted scores")
    table.wait_for()
    rows = [row.split("\t") for row in table.locator("tbody tr").all_inner_texts()]
    assert rows == [["Judge A", "Q1", "1", f"{BOB_COMMENT} Q1"], ["Judge A", "Q2", "2", f"{BOB_COMMENT} Q2"],
                    ["Judge A", "Q3", "1", f"{BOB_COMMENT} Q3"], ["Judge A", "Q4", "2", f"{BOB_COMMENT} Q4"]]
    assert _radio_group(page, "Q1", "N0001").get_by_label(re.compile(r"^2\W+Some$")).is_disabled()


def test_a_nomination_not_assigned_cannot_be_opened_even_by_editing_the_url(server, panel, browser_page):
    page = browser_page
    alice, bob, organiser = (panel["tokens"][k] for k in ("alice", "bob", "organiser"))
    chooser = _open_app(page, server, alice, nomination=str(panel["ids"]["N0005"]), judge=str(panel["judges"]["bob"]),
                        WORKBENCH_JUDGE_ID=str(panel["judges"]["bob"]))
    assert _references(chooser) == ["N0001", "N0002", "N0003", "N0004"]
    assert "Alice Example" in page.get_by_role("heading", name="Score nominations").locator("..").inner_text()
    assert "Answer text for N0005" not in page.content()
    # Other apps, other people's links, no link, a made-up link: all refused by the server.
    assert server.status(server.link("overview.ipynb", alice)) == 403
    assert server.status(server.link("judge.ipynb", organiser)) == 403
    assert server.status(server.link("judge.ipynb")) == 403
    assert server.status(server.link("judge.ipynb", "made-up-secret")) == 403
    assert server.status(server.link("judge.ipynb", bob)) == 200
    response = page.goto(server.link("overview.ipynb"))  # the cookie from Alice's link is still only Alice's
    assert response.status == 403


def test_a_declared_conflict_removes_the_nomination_from_the_list(server, panel, browser_page):
    page = browser_page
    chooser = _open_app(page, server, panel["tokens"]["alice"])
    _open_nomination(page, chooser, "N0003")
    page.get_by_role("button", name="Declare a conflict of interest").click()
    page.get_by_label(re.compile("Why can you not judge this nomination")).fill("The nominee is my neighbour.")
    page.get_by_role("button", name="Confirm the conflict for N0003").click()
    page.get_by_text("Conflict of interest recorded: N0003 is no longer on your list.").wait_for()
    expect(chooser.locator("option", has_text="N0003")).to_have_count(0)
    assert _references(chooser) == ["N0001", "N0002", "N0004"]
    page.reload()
    chooser = page.get_by_label("Your nominations")
    chooser.wait_for(state="visible", timeout=60_000)
    assert "N0003" not in _references(chooser)
    with session_scope(panel["url"]) as s:
        conflict = s.scalar(select(Conflict).where(Conflict.nomination_id == panel["ids"]["N0003"]))
        status = s.scalar(select(Assignment.status).where(Assignment.nomination_id == panel["ids"]["N0003"],
                                                          Assignment.judge_id == panel["judges"]["alice"]))
    assert (conflict.judge_id, conflict.source, conflict.reason, status) == (
        panel["judges"]["alice"], "declared", "The nominee is my neighbour.", "withdrawn")


def test_blind_mode_hides_the_nominees_identity_and_equality_answers(server, panel, browser_page):
    page = browser_page
    chooser = _open_app(page, server, panel["tokens"]["alice"])
    _open_nomination(page, chooser, "N0004")
    page.get_by_text("Shown blind: the nominee's name, organisation and equality information are hidden.").wait_for()
    assert "Answer text for N0004 Q1" in page.content()
    html = page.content()
    for secret in ("Perpetua", "Vanstone", "quillfeather", "Quillfeather", "Matron for Inclusion", "Ignatius",
                   "Equality-Value-Sentinel", "Second-Equality-Sentinel"):
        assert secret not in html


def test_scoring_works_with_the_keyboard_alone(server, panel, browser_page):
    page = browser_page
    _open_app(page, server, panel["tokens"]["dave"])
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.tagName") == "SELECT":
            break
    page.keyboard.press("ArrowDown")
    page.get_by_role("heading", name="N0004", exact=True).wait_for()
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.type") == "radio":
            break
    page.keyboard.press("Space")
    page.get_by_text("Saved: Score 0 for Q1").wait_for()
    page.keyboard.press("ArrowDown")
    page.get_by_text("Saved: Score 1 for Q1").wait_for()
    with session_scope(panel["url"]) as s:
        history = score_history(s, round_=get_round(s, "Browser round"), nomination_id=panel["ids"]["N0004"])
    dave = history[history["judge"] == panel["judges"]["dave"]]
    assert list(zip(dave["criterion"], dave["score"])) == [("Q1", 0.0), ("Q1", 1.0)]


def test_axe_finds_no_serious_or_critical_violations(server, panel, browser_page, axe_serious):
    page = browser_page
    chooser = _open_app(page, server, panel["tokens"]["alice"])
    assert axe_serious(page) == []
    _open_nomination(page, chooser, "N0004")
    page.get_by_role("button", name="Declare a conflict of interest").click()
    page.get_by_role("button", name="Cancel").wait_for()
    assert axe_serious(page) == []


def test_the_evidence_aid_highlights_supporting_sentences_and_never_scores(server, panel, browser_page):
    page = browser_page
    chooser = _open_app(page, server, panel["tokens"]["alice"])
    _open_nomination(page, chooser, "N0004")
    page.get_by_role("button", name="Show evidence aid for Q1").click()
    aid = page.locator(".workbench-evidence-panel").first
    aid.get_by_text("Reading aid, not a score.").wait_for()
    expect(aid.locator("mark").filter(has_text="co-designed the diabetes service")).to_have_count(1)
    expect(aid).to_contain_text("Q1a")
    expect(aid).to_contain_text("disabled people (protected characteristic: disability)")
    assert "suggested score" not in aid.inner_text().lower()
    # The aid changes nothing: no score was saved by opening it.
    with session_scope(panel["url"]) as s:
        history = score_history(s, round_=get_round(s, "Browser round"), nomination_id=panel["ids"]["N0004"])
    assert history[history["judge"] == panel["judges"]["alice"]].empty
    page.get_by_role("button", name="Hide evidence aid for Q1").click()
    expect(aid.locator("mark")).to_have_count(0)
