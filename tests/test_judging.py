"""The judging service: blind views, own nominations only, panel scores after submit, concurrent saves."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from judging_panel import build_panel
from workbench.allocation import add_assignment
from workbench.errors import NotAllowed, StaleWrite
from workbench.judging import (
    NOT_YOURS,
    JudgeDesk,
    judge_id_from_env,
    judge_queue,
    nomination_view,
    panel_scores,
    save_score,
    submit,
)
from workbench.rubric import ScoreError
from workbench.scoring import current_scores, score_history
from workbench.store import Assignment, session_scope

FULL = {"Q1": 3, "Q2": 4, "Q3": 2, "Q4": 5}


def _two_judges_one_nomination(session, **kwargs):
    panel = build_panel(session, judges=3, nominations=2, k=2, **kwargs)
    j1, j2, _ = panel.judge_ids
    n1, n2 = panel.nomination_ids
    for judge_id in (j1, j2):
        add_assignment(session, round_=panel.round, judge_id=judge_id, nomination_id=n1, actor="organiser")
    return panel, j1, j2, n1, n2


def _score_all(session, round_, judge_id, nomination_id, scores=FULL):
    for criterion, value in scores.items():
        save_score(session, round_=round_, judge_id=judge_id, nomination_id=nomination_id, criterion_id=criterion,
                   value=value, comment=f"{criterion} note")


def test_blind_view_shows_answers_and_rubric_but_no_identity_or_equality(db_url):
    with session_scope(db_url) as s:
        panel, j1, _, n1, _ = _two_judges_one_nomination(s)
        view = nomination_view(s, round_=panel.round, judge_id=j1, nomination_id=n1)
    text = repr(view)
    assert (view.reference, view.blind, view.identity, view.submitted, view.panel) == ("N0001", True, None, False, None)
    assert [q.criterion_id for q in view.questions] == ["Q1", "Q2", "Q3", "Q4"]
    assert view.questions[0].answer.startswith("Set up a co-production group with young carers")
    assert [level.label for level in view.questions[0].levels] == ["No evidence", "Limited", "Some", "Good", "Strong",
                                                                   "Outstanding"]
    assert view.questions[0].indicators[1] == "Evidence of a reduction in health inequalities"
    for secret in ("Nominee Person1", "nominee1@nhs.example", "Nominee Org 0", "Nominator Person1", "Female", "35-44"):
        assert secret not in text


def test_non_blind_round_shows_name_and_organisation_only(db_url):
    with session_scope(db_url) as s:
        panel, j1, _, n1, _ = _two_judges_one_nomination(s, blind=False)
        view = nomination_view(s, round_=panel.round, judge_id=j1, nomination_id=n1)
    assert view.identity == {"name": "Nominee Person1", "organisation": "Nominee Org 0"}
    assert "Female" not in repr(view) and "nominee1@nhs.example" not in repr(view)


def test_a_nomination_not_assigned_or_withdrawn_cannot_be_opened_or_scored(db_url):
    with session_scope(db_url) as s:
        panel, j1, _, n1, n2 = _two_judges_one_nomination(s)
        with pytest.raises(NotAllowed, match=NOT_YOURS):
            nomination_view(s, round_=panel.round, judge_id=j1, nomination_id=n2)
        with pytest.raises(NotAllowed, match=NOT_YOURS):
            nomination_view(s, round_=panel.round, judge_id=j1, nomination_id=99999)
        with pytest.raises(NotAllowed, match=NOT_YOURS):
            save_score(s, round_=panel.round, judge_id=j1, nomination_id=n2, criterion_id="Q1", value=3)
        s.scalar(select(Assignment).where(Assignment.judge_id == j1)).status = "withdrawn"
        s.flush()
        with pytest.raises(NotAllowed, match=NOT_YOURS):
            nomination_view(s, round_=panel.round, judge_id=j1, nomination_id=n1)


def test_queue_shows_progress_per_nomination(db_url):
    with session_scope(db_url) as s:
        panel = build_panel(s, judges=1, nominations=3, k=1)
        (j1,), (n1, n2, n3) = panel.judge_ids, panel.nomination_ids
        for n in (n1, n2, n3):
            add_assignment(s, round_=panel.round, judge_id=j1, nomination_id=n, actor="organiser")
        _score_all(s, panel.round, j1, n1)
        submit(s, round_=panel.round, judge_id=j1, nomination_id=n1)
        save_score(s, round_=panel.round, judge_id=j1, nomination_id=n2, criterion_id="Q2", value=1)
        queue = judge_queue(s, round_=panel.round, judge_id=j1)
    assert [(i.reference, i.status) for i in queue.items] == [
        ("N0001", "Submitted"), ("N0002", "In progress: 1 of 4 scored"), ("N0003", "Not started")]
    assert (queue.submitted, queue.total, queue.describe()) == (1, 3, "1 of 3 nominations submitted")


def test_other_judges_scores_are_hidden_until_own_submit(db_url):
    with session_scope(db_url) as s:
        panel, j1, j2, n1, _ = _two_judges_one_nomination(s, show_panel=True)
        _score_all(s, panel.round, j2, n1, {"Q1": 1, "Q2": 1, "Q3": 1, "Q4": 1})
        submit(s, round_=panel.round, judge_id=j2, nomination_id=n1)
        _score_all(s, panel.round, j1, n1)
        before = nomination_view(s, round_=panel.round, judge_id=j1, nomination_id=n1)
        with pytest.raises(NotAllowed, match="only after you submit your own"):
            panel_scores(s, round_=panel.round, judge_id=j1, nomination_id=n1)
        after = submit(s, round_=panel.round, judge_id=j1, nomination_id=n1)
    assert before.panel is None
    assert "1 note" not in repr(before.panel)
    assert [(p.judge, p.criterion_id, p.value, p.comment) for p in after.panel] == [
        ("Judge A", "Q1", 1.0, "Q1 note"), ("Judge A", "Q2", 1.0, "Q2 note"), ("Judge A", "Q3", 1.0, "Q3 note"),
        ("Judge A", "Q4", 1.0, "Q4 note")]


def test_panel_stays_hidden_after_submit_when_the_round_says_so(db_url):
    with session_scope(db_url) as s:
        panel, j1, j2, n1, _ = _two_judges_one_nomination(s, show_panel=False)
        for judge_id in (j2, j1):
            _score_all(s, panel.round, judge_id, n1)
            view = submit(s, round_=panel.round, judge_id=judge_id, nomination_id=n1)
        with pytest.raises(NotAllowed, match="not shown to judges"):
            panel_scores(s, round_=panel.round, judge_id=j1, nomination_id=n1)
    assert (view.submitted, view.panel) == (True, None)


def test_submitted_scores_are_locked_and_bad_scores_refused(db_url):
    with session_scope(db_url) as s:
        panel, j1, _, n1, _ = _two_judges_one_nomination(s)
        with pytest.raises(ScoreError, match="7 for Q1 is not on the scale"):
            save_score(s, round_=panel.round, judge_id=j1, nomination_id=n1, criterion_id="Q1", value=7)
        with pytest.raises(NotAllowed, match="Still to score: Q1, Q2, Q3, Q4"):
            submit(s, round_=panel.round, judge_id=j1, nomination_id=n1)
        _score_all(s, panel.round, j1, n1)
        submit(s, round_=panel.round, judge_id=j1, nomination_id=n1)
        with pytest.raises(NotAllowed, match="submitted and locked"):
            save_score(s, round_=panel.round, judge_id=j1, nomination_id=n1, criterion_id="Q1", value=1)


def test_two_tabs_saving_the_same_score_last_wins_and_both_are_kept(db_url):
    with session_scope(db_url) as s:
        panel, j1, _, n1, _ = _two_judges_one_nomination(s)
    tab_a = JudgeDesk(url=db_url, judge_id=j1)
    tab_b = JudgeDesk(url=db_url, judge_id=j1)
    seen_by_a = tab_a.save(nomination_id=n1, criterion_id="Q1", value=2).event_id
    tab_b.save(nomination_id=n1, criterion_id="Q1", value=3)
    last = tab_a.save(nomination_id=n1, criterion_id="Q1", value=4)  # no expectation: last write wins
    with pytest.raises(StaleWrite, match="Q1 was changed in another window \\(now 4\\)"):
        tab_b.save(nomination_id=n1, criterion_id="Q1", value=5, expected_event_id=seen_by_a)
    with session_scope(db_url) as s:
        history = score_history(s, round_=panel.round)
        current = current_scores(s, round_=panel.round)
    assert list(history["score"]) == [2.0, 3.0, 4.0]
    assert current[["criterion", "score", "event_id"]].values.tolist() == [["Q1", 4.0, last.event_id]]


def test_concurrent_saves_from_threads_lose_nothing(db_url):
    threads, saves = 8, 20
    with session_scope(db_url) as s:
        panel = build_panel(s, judges=threads, nominations=1, k=1)
        for judge_id in panel.judge_ids:
            add_assignment(s, round_=panel.round, judge_id=judge_id, nomination_id=panel.nomination_ids[0],
                           actor="organiser")
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def judge_saving(judge_id: int) -> None:
        desk = JudgeDesk(url=db_url, judge_id=judge_id)
        try:
            start.wait()
            for i in range(saves):
                desk.save(nomination_id=panel.nomination_ids[0], criterion_id=f"Q{i % 4 + 1}", value=(judge_id + i) % 6)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    workers = [threading.Thread(target=judge_saving, args=(j,)) for j in panel.judge_ids]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    with session_scope(db_url) as s:
        history = score_history(s, round_=panel.round)
        current = current_scores(s, round_=panel.round)
    assert errors == []
    assert len(history) == threads * saves
    assert history.groupby("judge").size().to_dict() == dict.fromkeys(panel.judge_ids, saves)
    expected = {(j, f"Q{i % 4 + 1}"): float((j + i) % 6) for j in panel.judge_ids for i in range(saves)}
    assert dict(zip(zip(current["judge"], current["criterion"]), current["score"])) == expected


def test_judge_id_comes_only_from_the_server_set_environment():
    assert judge_id_from_env({"WORKBENCH_JUDGE_ID": "12", "WORKBENCH_ROLE": "judge"}) == 12
    assert judge_id_from_env({"WORKBENCH_JUDGE_ID": "12", "WORKBENCH_ROLE": "organiser"}) is None
    assert judge_id_from_env({"QUERY_STRING": "judge=12"}) is None
    assert judge_id_from_env({"WORKBENCH_JUDGE_ID": "12; drop"}) is None


def test_declaring_a_conflict_takes_the_nomination_off_the_queue(db_url):
    with session_scope(db_url) as s:
        panel, j1, _, n1, _ = _two_judges_one_nomination(s)
    desk = JudgeDesk(url=db_url, judge_id=j1)
    outcome = desk.declare_conflict(nomination_id=n1, reason="She is my sister-in-law.")
    assert [item.reference for item in desk.queue().items] == []
    assert outcome.was_assigned and outcome.replacement_judge_id == panel.judge_ids[2]
    with pytest.raises(NotAllowed, match=NOT_YOURS):
        desk.view(n1)
