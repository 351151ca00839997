"""Conflict rules: organisation names, nominators, nominees, declared conflicts after assignment."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from judging_panel import build_panel
from workbench.allocation import allocate, judge_loads, nominations_short_of_judges
from workbench.conflicts import declare_conflict, detect_conflicts, list_conflicts, organisation_key
from workbench.errors import WorkbenchError
from workbench.panel import add_judge
from workbench.scoring import current_scores, record_score, score_history, submit_assignment
from workbench.store import Assignment, AuditEvent, Conflict, Nominee, session_scope


@pytest.mark.parametrize(("a", "b", "same"), [
    ("Northshire NHS Foundation Trust", "Northshire Trust", True),
    ("Northshire NHS Foundation Trust", "Northshire NHS Trust", True),
    ("northshire nhs ft", "NORTHSHIRE NHS TRUST", True),
    ("The Royal Wolds Hospitals NHS Trust", "Royal Wolds Hospitals", True),
    ("Lowmoor PCN", "Lowmoor Primary Care Network", True),
    ("Kingsbridge & Wold ICB", "Kingsbridge and Wold Integrated Care Board", True),
    ("St. Mary’s Hospice", "Saint Marys Hospice", True),
    ("Ysbyty Gwynedd (Betsi Cadwaladr)", "ysbyty gwynedd betsi cadwaladr", True),
    ("Zoë Care Ltd", "Zoe Care Limited", True),
    ("Northshire NHS Foundation Trust", "Northshire Council", False),
    ("Northshire NHS Foundation Trust", "Southshire NHS Foundation Trust", False),
    ("Eastmoor Mental Health NHS Foundation Trust", "Eastmoor NHS Foundation Trust", False),
    ("Lowmoor PCN", "Lowmoor Hospital", False),
])
def test_organisation_names_match_after_normalising(a, b, same):
    assert (organisation_key(a) == organisation_key(b)) is same


def test_empty_and_generic_only_names_never_match_a_real_one():
    assert organisation_key("") == ""
    assert organisation_key("NHS Trust") == "nhs trust"
    assert organisation_key("NHS Trust") != organisation_key("Northshire NHS Trust")


def test_detects_same_organisation_nominator_and_nominee_and_nothing_else(db_url):
    with session_scope(db_url) as s:
        panel = build_panel(s, judges=4, nominations=4, k=2,
                            organisations=["Northshire NHS Trust", "Lowmoor PCN", "Independent", ""],
                            nominee_organisations=["Northshire NHS Foundation Trust", "Lowmoor Primary Care Network",
                                                   "Harbourside Council", "Greyfriars Children's Services"])
        j1, j2, j3, j4 = panel.judge_ids
        n1, n2, n3, n4 = panel.nomination_ids
        third = s.scalar(select(Nominee).where(Nominee.nomination_id == n3))
        third.nominator_name, third.nominator_email = "Dr  judge number3", "someone.else@nhs.example"  # by name
        fourth = s.scalar(select(Nominee).where(Nominee.nomination_id == n4))
        fourth.nominator_email = "JUDGE4@panel.example"  # by email
        fourth.email = "judge3@panel.example"  # judge 3 is the nominee
        s.flush()
        found = detect_conflicts(s, round_=panel.round)
        again = detect_conflicts(s, round_=panel.round)
        stored = list_conflicts(s, round_=panel.round)
    assert [(c.judge_id, c.nomination_id, c.source, c.new) for c in found] == [
        (j1, n1, "organisation", True), (j2, n2, "organisation", True), (j3, n3, "nominator", True),
        (j3, n4, "nominee", True), (j4, n4, "nominator", True)]
    assert found[0].reason == ("Judge Number1 works at 'Northshire NHS Trust', the same organisation as the nominee "
                               "of N0001 ('Northshire NHS Foundation Trust').")
    assert [c.reason for c in found[2:]] == ["Judge Number3 nominated N0003.", "Judge Number3 is the nominee of N0004.",
                                             "Judge Number4 nominated N0004."]
    assert [c.new for c in again] == [False] * 5
    assert [(c["judge_id"], c["nomination"], c["source"]) for c in stored] == [
        (j1, "N0001", "organisation"), (j2, "N0002", "organisation"), (j3, "N0003", "nominator"),
        (j3, "N0004", "nominee"), (j4, "N0004", "nominator")]


def test_allocation_after_detection_avoids_every_conflict(db_url):
    with session_scope(db_url) as s:
        panel = build_panel(s, judges=4, nominations=8, k=2,
                            organisations=["Northshire NHS Trust", "B", "C", "D"],
                            nominee_organisations=["Northshire Trust"] * 4 + ["X"] * 4)
        detect_conflicts(s, round_=panel.round)
        result = allocate(s, round_=panel.round, seed=1)
        given = {n for j, n in s.execute(select(Assignment.judge_id, Assignment.nomination_id))
                 if j == panel.judge_ids[0]}
    assert given == set(panel.nomination_ids[4:])
    assert result.balanced and sorted(result.loads.values()) == [4, 4, 4, 4]


def test_declared_after_scoring_withdraws_scores_keeps_history_and_reassigns_with_balance(db_url):
    with session_scope(db_url) as s:
        panel = build_panel(s, judges=4, nominations=4, k=2)
        allocate(s, round_=panel.round, seed=5)
        loads_before = judge_loads(s, round_=panel.round)
        assignment = s.scalar(select(Assignment).order_by(Assignment.id).limit(1))
        judge_id, nomination_id = assignment.judge_id, assignment.nomination_id
        for criterion, value in (("Q1", 3), ("Q2", 4), ("Q3", 2), ("Q4", 5)):
            record_score(s, round_=panel.round, judge_id=judge_id, nomination_id=nomination_id, criterion_id=criterion,
                         value=value, check_rubric_file=False)
        submit_assignment(s, round_=panel.round, judge_id=judge_id, nomination_id=nomination_id)
        outcome = declare_conflict(s, round_=panel.round, judge_id=judge_id, nomination_id=nomination_id,
                                   reason="I line-manage the nominee's partner.", actor="judge@panel.example")
        history = score_history(s, round_=panel.round, nomination_id=nomination_id)
        current = current_scores(s, round_=panel.round)
        active = sorted(j for j, in s.execute(select(Assignment.judge_id).where(
            Assignment.nomination_id == nomination_id, Assignment.status == "active")))
        loads_after = judge_loads(s, round_=panel.round)
        audit = [(a.action, a.detail.get("judge_id")) for a in s.scalars(select(AuditEvent).order_by(AuditEvent.id))
                 if a.action != "allocated"]
        short = nominations_short_of_judges(s, round_=panel.round)
        status = s.get(Assignment, assignment.id).status
    assert (outcome.was_assigned, outcome.withdrawn_scores, outcome.needs_reassignment) == (True, 4, False)
    assert outcome.replacement_judge_id is not None and outcome.replacement_judge_id != judge_id
    reference = f"N000{nomination_id - panel.nomination_ids[0] + 1}"
    assert outcome.message.startswith(f"Conflict of interest recorded: {reference} is no longer assigned to Judge Number")
    assert "4 score(s) were withdrawn (kept in the history). It was given to Judge Number" in outcome.message
    assert status == "withdrawn"
    assert list(history.loc[history["judge"] == judge_id, "kind"]) == ["score"] * 4 + ["withdrawn"] * 4
    assert list(history.loc[history["kind"] == "score", "score"]) == [3.0, 4.0, 2.0, 5.0]
    assert judge_id not in set(current.loc[current["nomination"] == nomination_id, "judge"])
    assert len(active) == 2 and judge_id not in active
    assert sum(loads_after.values()) == sum(loads_before.values())
    assert max(loads_after.values()) - min(loads_after.values()) <= 1
    assert [action for action, _ in audit] == ["conflict-withdrawal", "reassigned", "assignment-moved",
                                               "conflict-recorded"]
    assert audit[1] == ("reassigned", outcome.replacement_judge_id)
    assert short == []


def test_declared_conflict_with_nobody_free_flags_the_nomination(db_url):
    with session_scope(db_url) as s:
        panel = build_panel(s, judges=2, nominations=1, k=2)
        allocate(s, round_=panel.round, seed=1)
        outcome = declare_conflict(s, round_=panel.round, judge_id=panel.judge_ids[0],
                                   nomination_id=panel.nomination_ids[0], reason="Former colleague.",
                                   actor="organiser", source="organiser")
        short = nominations_short_of_judges(s, round_=panel.round)
    assert (outcome.replacement_judge_id, outcome.needs_reassignment) == (None, True)
    assert outcome.message == ("Conflict of interest recorded: N0001 is no longer assigned to Judge Number1. No other "
                               "judge without a conflict was free, so it is flagged for reassignment: add a judge, "
                               "then run `workbench allocate` again.")
    assert short == [{"nomination_id": panel.nomination_ids[0], "reference": "N0001", "judges": 1, "wanted": 2}]


def test_adding_a_judge_later_fills_the_flagged_gap(db_url):
    with session_scope(db_url) as s:
        panel = build_panel(s, judges=2, nominations=1, k=2)
        allocate(s, round_=panel.round, seed=1)
        declare_conflict(s, round_=panel.round, judge_id=panel.judge_ids[0], nomination_id=panel.nomination_ids[0],
                         reason="Former colleague.", actor="organiser", source="organiser")
        late = add_judge(s, name="Late Judge", email="late@panel.example")
        result = allocate(s, round_=panel.round, seed=1)
        short = nominations_short_of_judges(s, round_=panel.round)
    assert (result.created, result.loads[late.id], short) == (1, 1, [])


def test_detected_conflict_on_an_assigned_pair_is_acted_on(db_url):
    with session_scope(db_url) as s:
        panel = build_panel(s, judges=3, nominations=3, k=1)
        allocate(s, round_=panel.round, seed=2)
        assignment = s.scalar(select(Assignment).order_by(Assignment.id).limit(1))
        nominee = s.scalar(select(Nominee).where(Nominee.nomination_id == assignment.nomination_id))
        nominee.nominator_email = f"judge{assignment.judge_id - panel.judge_ids[0] + 1}@panel.example"
        s.flush()
        found = detect_conflicts(s, round_=panel.round)
        now = s.scalars(select(Assignment.judge_id).where(Assignment.nomination_id == assignment.nomination_id,
                                                          Assignment.status == "active")).all()
    assert [(c.judge_id, c.source, c.new) for c in found] == [(assignment.judge_id, "nominator", True)]
    assert len(now) == 1 and now[0] != assignment.judge_id


def test_a_conflict_needs_a_reason_and_a_known_source(db_url):
    with session_scope(db_url) as s:
        panel = build_panel(s, judges=1, nominations=1, k=1)
        with pytest.raises(WorkbenchError, match="Say briefly why"):
            declare_conflict(s, round_=panel.round, judge_id=panel.judge_ids[0],
                             nomination_id=panel.nomination_ids[0], reason="  ", actor="x")
        with pytest.raises(WorkbenchError, match="Unknown conflict source 'gut-feeling'"):
            declare_conflict(s, round_=panel.round, judge_id=panel.judge_ids[0],
                             nomination_id=panel.nomination_ids[0], reason="r", actor="x", source="gut-feeling")
        assert s.scalar(select(Conflict)) is None


def test_a_conflict_never_reshuffles_a_spread_the_organiser_chose(db_url):
    from workbench.allocation import add_assignment

    with session_scope(db_url) as s:
        panel = build_panel(s, judges=3, nominations=4, k=1)
        j1, j2, j3 = panel.judge_ids
        for n in panel.nomination_ids:  # all four to judge 1 by hand; judges 2 and 3 have none
            add_assignment(s, round_=panel.round, judge_id=j1, nomination_id=n, actor="organiser")
        outcome = declare_conflict(s, round_=panel.round, judge_id=j1, nomination_id=panel.nomination_ids[0],
                                   reason="Neighbour.", actor="judge")
        loads = judge_loads(s, round_=panel.round)
        moved = s.scalars(select(AuditEvent.action).where(AuditEvent.action == "assignment-moved")).all()
    assert outcome.replacement_judge_id in (j2, j3)
    assert (loads[j1], moved) == (3, [])  # the hand-made spread stays; only the conflicted one moved
