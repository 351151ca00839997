"""Allocation: balance, conflicts, reproducibility, explanations, top-up, CSV import, hand edits."""

from __future__ import annotations

import random
from collections import Counter, defaultdict

import pytest
from sqlalchemy import delete, select

from judging_panel import build_panel
from workbench.allocation import (
    add_assignment,
    allocate,
    explain,
    import_allocation,
    judge_loads,
    nominations_short_of_judges,
    remove_assignment,
)
from workbench.errors import NotAllowed
from workbench.panel import add_nomination
from workbench.scoring import record_score, score_history
from workbench.store import Assignment, AuditEvent, Conflict, session_scope

pytestmark = pytest.mark.usefixtures("db_url")


def _pairs(session, round_):
    return sorted(session.execute(select(Assignment.judge_id, Assignment.nomination_id, Assignment.position)
                                  .where(Assignment.round_id == round_.id, Assignment.status == "active")).all())


def _add_conflicts(session, pairs):
    for judge_id, nomination_id in pairs:
        session.add(Conflict(judge_id=judge_id, nomination_id=nomination_id, source="organiser", reason="test"))
    session.flush()


def test_each_nomination_gets_k_distinct_judges_and_loads_are_within_one(db_url):
    with session_scope(db_url) as s:
        panel = build_panel(s, judges=5, nominations=12, k=3)
        result = allocate(s, round_=panel.round, seed=11)
        per_nomination = Counter(n for _, n, _ in _pairs(s, panel.round))
        assert (result.created, result.kept, result.moved) == (36, 0, 0)
        assert per_nomination == dict.fromkeys(panel.nomination_ids, 3)
        assert sorted(result.loads.values()) == [7, 7, 7, 7, 8]
        assert (result.spread, result.balanced, result.shortfalls) == (1, True, [])
        assert judge_loads(s, round_=panel.round) == result.loads


def test_conflicted_pairs_are_never_assigned_and_balance_holds(db_url):
    rng = random.Random(4)
    with session_scope(db_url) as s:
        panel = build_panel(s, judges=9, nominations=60, k=3)
        conflicts = {(j, n) for j in panel.judge_ids for n in panel.nomination_ids if rng.random() < 0.2}
        conflicts |= {(panel.judge_ids[0], n) for n in panel.nomination_ids[:30]}  # one judge conflicted a lot
        _add_conflicts(s, sorted(conflicts))
        result = allocate(s, round_=panel.round, seed=3)
        pairs = {(j, n) for j, n, _ in _pairs(s, panel.round)}
        assert pairs & conflicts == set()
        assert Counter(n for _, n in pairs) == dict.fromkeys(panel.nomination_ids, 3)
        assert result.balanced and sorted(result.loads.values()) == [20] * 9


def test_when_conflicts_make_balance_impossible_the_rest_stay_within_one_and_it_is_said(db_url):
    with session_scope(db_url) as s:
        panel = build_panel(s, judges=5, nominations=20, k=2)
        j1 = panel.judge_ids[0]
        _add_conflicts(s, [(j1, n) for n in panel.nomination_ids[:18]])  # judge 1 can take only 2
        result = allocate(s, round_=panel.round, seed=3)
    assert result.loads[j1] == 2
    assert sorted(v for j, v in result.loads.items() if j != j1) == [9, 9, 10, 10]
    assert not result.balanced
    assert result.notes == ["Loads could not be balanced to within one (2 to 10): the least busy judges have "
                            "conflicts with every nomination the busier ones could give up."]


def test_same_seed_gives_the_same_allocation_and_another_seed_a_different_one(db_url):
    with session_scope(db_url) as s:
        panel = build_panel(s, judges=6, nominations=20, k=3)
        allocate(s, round_=panel.round, seed=7)
        first = _pairs(s, panel.round)
        s.execute(delete(Assignment))
        allocate(s, round_=panel.round, seed=7)
        again = _pairs(s, panel.round)
        s.execute(delete(Assignment))
        allocate(s, round_=panel.round, seed=8)
        other = _pairs(s, panel.round)
    assert first == again
    assert first != other


def test_review_order_is_a_shuffled_permutation_per_judge(db_url):
    with session_scope(db_url) as s:
        panel = build_panel(s, judges=4, nominations=10, k=4)
        allocate(s, round_=panel.round, seed=2)
        orders = defaultdict(list)
        for judge_id, nomination_id, position in _pairs(s, panel.round):
            orders[judge_id].append((position, nomination_id))
    sequences = {j: [n for _, n in sorted(o)] for j, o in orders.items()}
    assert all(sorted(p for p, _ in o) == list(range(1, 11)) for o in orders.values())
    assert len({tuple(seq) for seq in sequences.values()}) == 4  # every judge reads in a different order
    assert all(seq != sorted(seq) for seq in sequences.values())


def test_reasons_explain_each_choice(db_url):
    with session_scope(db_url) as s:
        panel = build_panel(s, judges=3, nominations=1, k=1)
        j1, j2, j3 = panel.judge_ids
        n1 = panel.nomination_ids[0]
        _add_conflicts(s, [(j1, n1)])
        allocate(s, round_=panel.round, seed=5)
        assignment = s.scalar(select(Assignment))
        chosen = assignment.judge_id
        other = ({j2, j3} - {chosen}).pop()
        assert chosen in (j2, j3)
        assert assignment.reason == (
            "Lowest load (0 nominations at the time) among the 2 of 3 judges who could take N0001 (1 left out for "
            "a conflict of interest); tied with 1 other judge(s), chosen by the seeded draw (seed 5).")
        assert explain(s, round_=panel.round, judge_id=chosen, nomination_id=n1) == (
            f"Judge Number{chosen - j1 + 1} has N0001: {assignment.reason}")
        assert explain(s, round_=panel.round, judge_id=j1, nomination_id=n1) == (
            "Judge Number1 does not have N0001: conflict of interest (organiser). test")
        assert explain(s, round_=panel.round, judge_id=other, nomination_id=n1) == (
            f"Judge Number{other - j1 + 1} does not have N0001: it went to the judges with lower loads "
            "(see their reasons).")


def test_allocating_again_only_fills_gaps_for_new_nominations(db_url):
    with session_scope(db_url) as s:
        panel = build_panel(s, judges=4, nominations=6, k=2)
        allocate(s, round_=panel.round, seed=1)
        before = _pairs(s, panel.round)
        late = add_nomination(s, round_=panel.round, source_key="late", answers={"Q1": "Late answer."})
        result = allocate(s, round_=panel.round, seed=1)
        after = _pairs(s, panel.round)
    assert (result.created, result.kept) == (2, 12)
    assert set(before) <= set(after)
    assert sorted(n for _, n, _ in set(after) - set(before)) == [late.id, late.id]
    assert result.balanced and sorted(result.loads.values()) == [3, 3, 4, 4]


def test_a_nomination_without_enough_free_judges_is_reported(db_url):
    with session_scope(db_url) as s:
        panel = build_panel(s, judges=3, nominations=2, k=3)
        _add_conflicts(s, [(panel.judge_ids[0], panel.nomination_ids[1])])
        result = allocate(s, round_=panel.round, seed=1)
        short = nominations_short_of_judges(s, round_=panel.round)
    assert [s.to_dict() for s in result.shortfalls] == [{
        "nomination_id": panel.nomination_ids[1], "reference": "N0002", "judges": 2, "wanted": 3,
        "reason": "Only 2 judge(s) can take it: 1 of 3 have a conflict of interest. Add judges or lower k, then run "
                  "`workbench allocate` again."}]
    assert short == [{"nomination_id": panel.nomination_ids[1], "reference": "N0002", "judges": 2, "wanted": 3}]
    assert "N0002: 2 of 3 judges." in result.describe()


def test_loads_are_rebalanced_when_greedy_choices_leave_them_two_apart(db_url):
    # With these conflicts and this seed the lowest-load choices leave Judge Number1 with 2 and
    # Judge Number2 (who may take only N0003) with none; the repair step moves N0003 across.
    with session_scope(db_url) as s:
        panel = build_panel(s, judges=4, nominations=5, k=1)
        j, n = panel.judge_ids, panel.nomination_ids
        _add_conflicts(s, [(j[1], n[0]), (j[1], n[1]), (j[1], n[3]), (j[1], n[4]), (j[2], n[3]), (j[3], n[0]),
                           (j[3], n[2])])
        result = allocate(s, round_=panel.round, seed=158)
        moved = s.scalar(select(Assignment).where(Assignment.nomination_id == n[2]))
    assert (result.moved, result.balanced, sorted(result.loads.values())) == (1, True, [1, 1, 1, 2])
    assert moved.judge_id == j[1]
    assert moved.reason == ("Moved from Judge Number1 (2 nominations) to Judge Number2 (0) to keep loads within one; "
                            "Judge Number2 has no conflict with N0003.")


def test_import_allocation_applies_good_rows_and_reports_each_bad_one(db_url, tmp_path):
    with session_scope(db_url) as s:
        panel = build_panel(s, judges=3, nominations=3, k=2)
        j1, j2, j3 = panel.judge_ids
        n1, n2, n3 = panel.nomination_ids
        _add_conflicts(s, [(j3, n3)])
        add_assignment(s, round_=panel.round, judge_id=j2, nomination_id=n2, actor="organiser")
        path = tmp_path / "allocation.csv"
        path.write_text(
            "Nomination,Judge\n"
            "N0001,judge1@panel.example\n"        # 2: added
            "N0009,judge1@panel.example\n"        # 3: unknown nomination
            "N0002,nobody@panel.example\n"        # 4: unknown judge
            "N0003,judge3@panel.example\n"        # 5: conflict
            "n0001,JUDGE1@panel.example\n"        # 6: same pair again
            "N0002,judge2@panel.example\n"        # 7: already assigned
            ",\n"                                 # 8: blank, ignored
            f"{n3},{j1}\n",                       # 9: ids work too
            encoding="utf-8")
        report = import_allocation(s, round_=panel.round, path=path, actor="organiser")
        pairs = {(j, n) for j, n, _ in _pairs(s, panel.round)}
    assert (report.rows_read, report.added, report.already) == (7, 2, 1)
    assert [str(p) for p in report.problems] == [
        "row 3, column 'nomination': no nomination 'N0009' in round 'Test round'; use a reference such as N0001.",
        "row 4, column 'judge': no judge 'nobody@panel.example'; use the judge's email as listed by "
        "`workbench judges list`.",
        "row 5: Judge Number3 has a conflict of interest with N0003 (organiser: test) and cannot be assigned it.",
        "row 6: the same pair (n0001, JUDGE1@panel.example) is on an earlier row; this row was ignored.",
    ]
    assert pairs == {(j1, n1), (j2, n2), (j1, n3)}


def test_hand_edits_refuse_conflicts_and_keep_withdrawn_scores_in_history(db_url):
    with session_scope(db_url) as s:
        panel = build_panel(s, judges=2, nominations=2, k=1)
        j1, j2 = panel.judge_ids
        n1, n2 = panel.nomination_ids
        _add_conflicts(s, [(j2, n1)])
        with pytest.raises(NotAllowed, match="Judge Number2 has a conflict of interest with N0001"):
            add_assignment(s, round_=panel.round, judge_id=j2, nomination_id=n1, actor="organiser")
        add_assignment(s, round_=panel.round, judge_id=j1, nomination_id=n1, actor="organiser", reason="expert")
        add_assignment(s, round_=panel.round, judge_id=j1, nomination_id=n2, actor="organiser")
        record_score(s, round_=panel.round, judge_id=j1, nomination_id=n1, criterion_id="Q1", value=4,
                     check_rubric_file=False)
        scored = remove_assignment(s, round_=panel.round, judge_id=j1, nomination_id=n1, actor="organiser",
                                   reason="wrong judge")
        unscored = remove_assignment(s, round_=panel.round, judge_id=j1, nomination_id=n2, actor="organiser",
                                     reason="wrong judge")
        history = score_history(s, round_=panel.round)
        actions = [a.action for a in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]
        remaining = s.execute(select(Assignment.nomination_id, Assignment.status)).all()
    assert scored == f"N0001 removed from judge {j1}; 1 score(s) withdrawn and kept in the history."
    assert unscored == f"N0002 removed from judge {j1} (no scores had been given)."
    assert list(zip(history["kind"], history["score"].fillna(-1))) == [("score", 4.0), ("withdrawn", -1)]
    assert remaining == [(n1, "withdrawn")]
    assert actions == ["assignment-added", "assignment-added", "assignment-removed", "assignment-removed"]


def test_default_pool_leaves_out_people_who_only_mark_units(sqlite_url):
    from workbench.marking import build_unit_demo
    from workbench.panel import add_judge, add_nomination, create_round
    from workbench.rubric import load_rubric
    from workbench.store import Assignment, session_scope

    build_unit_demo(url=sqlite_url)  # assessors and an IQA, with unit-marking assignments
    with session_scope(sqlite_url) as s:
        round_ = create_round(s, name="Award", rubric=load_rubric("inclusive-leader"), judges_per_nomination=1)
        judge = add_judge(s, name="Award Judge", email="award@example.org")
        for i in range(3):
            add_nomination(s, round_=round_, source_key=str(i), answers={"Q1": "..."})
        allocate(s, round_=round_, seed=1)
        assigned = set(s.scalars(select(Assignment.judge_id).where(Assignment.round_id == round_.id)))
    assert assigned == {judge.id}
