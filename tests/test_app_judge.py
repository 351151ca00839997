"""The judge's widget app without a browser: autosave feedback, errors on screen, submit, conflicts."""

from __future__ import annotations

import pytest
from judging_panel import build_panel
from IPython.display import HTML

from workbench.allocation import add_assignment
from workbench.app.judge import NO_LINK, JudgeApp, judge_app
from workbench.judging import JudgeDesk
from workbench.panel import get_round
from workbench.scoring import score_history
from workbench.store import session_scope


@pytest.fixture
def app(sqlite_url):
    with session_scope(sqlite_url) as s:
        panel = build_panel(s, judges=3, nominations=2, k=1)
        j1 = panel.judge_ids[0]
        for n in panel.nomination_ids:
            add_assignment(s, round_=panel.round, judge_id=j1, nomination_id=n, actor="test")
    view = JudgeApp(desk=JudgeDesk(url=sqlite_url, judge_id=j1))
    view.chooser.value = panel.nomination_ids[0]
    return view, sqlite_url, panel


def _history(url):
    with session_scope(url) as s:
        frame = score_history(s, round_=get_round(s, "Test round"))
    return list(zip(frame["criterion"], frame["score"], frame["comment"]))


def test_without_a_server_set_identity_the_page_asks_for_the_personal_link():
    for environ in ({}, {"QUERY_STRING": "judge=1"}, {"WORKBENCH_JUDGE_ID": "1", "WORKBENCH_ROLE": "organiser"}):
        shown = judge_app(environ)
        assert isinstance(shown, HTML) and shown.data == NO_LINK


def test_the_list_shows_progress_and_opening_shows_the_questions(app):
    view, _, _ = app
    assert [label for label, _ in view.chooser.options] == ["N0001 – Not started", "N0002 – Not started"]
    assert (view.progress.value, view.progress.max) == (0, 2)
    assert list(view.blocks) == ["Q1", "Q2", "Q3", "Q4"]
    assert view.blocks["Q1"].score.description == "Score for Q1 (N0001)"
    assert view.blocks["Q1"].comment.description == "Comment on Q1 (optional)"
    assert "Shown blind" in view.nomination.children[0].value


def test_a_change_is_saved_at_once_and_says_so(app):
    view, url, _ = app
    block = view.blocks["Q1"]
    block.score.value = 4
    assert block.status.value.startswith("<span role='status' class='workbench-save-status' style='color:#0f5132'>"
                                         "Saved: Score 4 for Q1, at ")
    block.comment.value = "Several examples with figures."
    view.blocks["Q2"].score.value = 2
    assert _history(url) == [("Q1", 4.0, ""), ("Q1", 4.0, "Several examples with figures."), ("Q2", 2.0, "")]
    assert view.chooser.options[0][0] == "N0001 – In progress: 2 of 4 scored"
    block.clear.click()
    assert "Saved: Score cleared for Q1" in block.status.value and block.score.value is None


def test_a_refused_save_is_shown_on_screen_never_swallowed(app):
    view, url, panel = app
    for criterion in ("Q1", "Q2", "Q3", "Q4"):
        view.blocks[criterion].score.value = 3
    view.submit()
    assert view.alert.text == "Submitted: your scores for N0001 are locked. Thank you."
    assert view.blocks["Q1"].score.disabled and view.submit_button.disabled
    assert view.panel.value == ""  # this round does not show the panel's scores to judges
    view.save(view.blocks["Q1"], 5)  # as if a stale page still sent a change
    assert (view.alert.kind, view.alert.text) == ("error", "Your scores for this nomination are submitted and locked.")
    assert "Not saved – see the message at the top of the page." in view.blocks["Q1"].status.value
    assert "role='alert'" in view.blocks["Q1"].status.value
    assert [value for _, value, _ in _history(url)] == [3.0] * 4


def test_a_save_from_a_stale_window_shows_the_other_value(app):
    view, url, panel = app
    view.blocks["Q1"].score.value = 2
    other_tab = JudgeDesk(url=url, judge_id=panel.judge_ids[0])
    latest = other_tab.view(panel.nomination_ids[0]).questions[0].event_id
    other_tab.save(nomination_id=panel.nomination_ids[0], criterion_id="Q1", value=5, expected_event_id=latest)
    view.blocks["Q1"].score.value = 3
    assert view.alert.text == ("Q1 was changed in another window (now 5). Your value was not saved; check the score "
                               "and save again.")
    assert view.blocks["Q1"].score.value == 5
    assert "changed in another window" in view.blocks["Q1"].status.value
    assert [value for _, value, _ in _history(url)] == [2.0, 5.0]


def test_an_unexpected_failure_is_shown_and_still_raised(app, monkeypatch):
    view, _, _ = app

    def broken(**_kwargs):
        raise ConnectionError("database went away")

    monkeypatch.setattr(view.desk, "save", broken)
    with pytest.raises(ConnectionError):
        view.save(view.blocks["Q1"], 1)
    assert view.alert.text.startswith("Something went wrong (ConnectionError): database went away.")
    assert "Not saved" in view.blocks["Q1"].status.value


def test_submitting_too_early_says_what_is_missing(app):
    view, _, _ = app
    view.blocks["Q1"].score.value = 3
    view.submit()
    assert view.alert.text == "Score every question before submitting. Still to score: Q2, Q3, Q4."
    assert not view.blocks["Q2"].score.disabled


def test_declaring_a_conflict_takes_the_nomination_off_the_list(app):
    view, _, _ = app
    view.conflict_button.click()
    view.conflict_reason.value = "I supervised the nominee's PhD."
    confirm = view.conflict_box.children[1].children[0]
    assert confirm.description == "Confirm the conflict for N0001"
    confirm.click()
    assert [label for label, _ in view.chooser.options] == ["N0002 – Not started"]
    assert view.alert.text == ("Conflict of interest recorded: N0001 is no longer on your list. The organisers have "
                               "been told. Thank you.")
    assert view.nomination.children == ()
