"""Moderation: the queue rules, decisions as append-only events, and the audit trail."""

from __future__ import annotations

import csv
import json

import pandas as pd
import pytest
from sqlalchemy import func, select

from scored_panel import scored_round
from workbench.cli import main
from workbench.conflicts import declare_conflict
from workbench.errors import WorkbenchError
from workbench.moderation import (
    QueueRules,
    audit_trail,
    find_flags,
    moderated_scores,
    moderation_queue,
    nomination_for_moderation,
    queue_rules,
    record_decision,
    set_queue_rules,
)
from workbench.rubric import load_rubric
from workbench.scoring import record_score
from workbench.store import AuditEvent, ModerationEvent, ScoreEvent, session_scope

RUBRIC = load_rubric("inclusive-leader")
COLUMNS = ["nomination", "judge", "criterion", "score"]


def _table(scores: dict[int, dict[str, list]]) -> pd.DataFrame:
    rows = [(n, j, c, v) for n, per in scores.items() for j, values in per.items()
            for c, v in zip(RUBRIC.criterion_ids, values)]
    return pd.DataFrame(rows, columns=COLUMNS)


def _reasons(flags, rule):
    return [f.reason for f in flags if f.rule == rule]


def test_range_rule_flags_a_spread_at_the_threshold_and_not_below():
    table = _table({1: {"Ann": [1, 2, 3, 3], "Bo": [3, 3, 3, 3], "Cy": [2, 3, 3, 3]},
                    2: {"Ann": [2, 3, 3, 3], "Bo": [3, 3, 3, 3], "Cy": [3, 3, 3, 3]}})
    flags = find_flags(table, rubric=RUBRIC, rules=QueueRules(sd_limit=None, outlier_share=None, min_complete=3))
    assert list(flags) == [1]
    assert [(f.rule, f.criterion, f.reason) for f in flags[1]] == [
        ("range", "Q1", "Q1: the scores run from 1 to 3, a spread of 2 points; the limit is 2.")]


def test_range_threshold_comes_from_the_round_settings():
    table = _table({1: {"Ann": [1, 3, 3, 3], "Bo": [3, 3, 3, 3], "Cy": [3, 3, 3, 3]}})
    rules = QueueRules.from_settings({"moderation": {"range_threshold": 3, "sd_limit": None}},
                                     judges_per_nomination=3)
    assert find_flags(table, rubric=RUBRIC, rules=rules) == {}


def test_sd_rule_flags_only_above_the_limit():
    # Q1 scores 0, 2, 4: standard deviation 2.0; Q2 scores 1, 2, 3: 1.0.
    table = _table({1: {"Ann": [0, 1, 3, 3], "Bo": [2, 2, 3, 3], "Cy": [4, 3, 3, 3]}})
    flags = find_flags(table, rubric=RUBRIC, rules=QueueRules(range_threshold=None, sd_limit=1.5,
                                                              outlier_share=None, min_complete=3))
    assert [(f.rule, f.criterion) for f in flags[1]] == [("sd", "Q1")]
    assert _reasons(flags[1], "sd") == [
        "Q1: the judges' scores vary widely (standard deviation 2.00, above the limit of 1.5)."]


def test_outlier_rule_names_the_judge_far_from_the_median():
    # Totals 8, 9 and 16 (median 9): Cy is 7 points above; the limit is 25% of 0-20 = 5 points.
    table = _table({1: {"Ann": [2, 2, 2, 2], "Bo": [2, 2, 2, 3], "Cy": [4, 4, 4, 4]}})
    flags = find_flags(table, rubric=RUBRIC, rules=QueueRules(range_threshold=None, sd_limit=None, min_complete=3),
                       judge_names={"Cy": "Cyrus Long"})
    assert [(f.rule, f.criterion, f.reason) for f in flags[1]] == [(
        "outlier", None,
        "Cyrus Long's total is 16 of 20, 7 points above the median of the judges' totals (9); the limit is 5 points.")]


def test_outlier_rule_needs_three_complete_judges():
    table = _table({1: {"Ann": [0, 0, 0, 0], "Bo": [5, 5, 5, 5], "Cy": [5, 5, 5, None]}})
    flags = find_flags(table, rubric=RUBRIC, rules=QueueRules(range_threshold=None, sd_limit=None, min_complete=1))
    assert flags == {}


def test_too_few_complete_scores_counts_judges_who_scored_everything():
    table = _table({1: {"Ann": [3, 3, 3, 3], "Bo": [3, 3, 3, None], "Cy": [3, 3, 3, 3]},
                    2: {"Ann": [3, 3, 3, 3], "Bo": [3, 3, 3, 3], "Cy": [3, 3, 3, 3]}})
    flags = find_flags(table, rubric=RUBRIC, rules=QueueRules(min_complete=3))
    assert {n: [(f.rule, f.reason) for f in fl] for n, fl in flags.items()} == {
        1: [("too-few", "Only 2 of the 3 judges needed scored every criterion.")]}


def test_rules_that_make_no_sense_are_refused_with_the_fix():
    with pytest.raises(WorkbenchError) as error:
        QueueRules.from_settings({"moderation": {"range_threshold": -1, "outlier_share": 2, "min_complete": 0}},
                                 judges_per_nomination=3)
    assert str(error.value) == (
        "The moderation rules are not valid: range_threshold must be a positive number or None (off); got -1; "
        "outlier_share is a share of the possible range, from 0 to 1 (e.g. 0.25); got 2; min_complete must be a "
        "whole number of judges, 1 or more; got 0.")
    with pytest.raises(WorkbenchError, match="Unknown moderation setting.*range_treshold"):
        QueueRules.from_settings({"moderation": {"range_treshold": 2}}, judges_per_nomination=3)


def test_queue_uses_the_rules_stored_on_the_round(db_url):
    with session_scope(db_url) as s:
        built = scored_round(s, scores={"A": {"Ann": [1, 3, 3, 3], "Bo": 3, "Cy": 3},
                                        "B": {"Ann": 3, "Bo": 3, "Cy": 3}})
        before = [item.reference for item in moderation_queue(s, round_=built.round)]
        rules = set_queue_rules(s, round_=built.round, rules=QueueRules(range_threshold=3), actor="Olu Organiser")
        after = [item.reference for item in moderation_queue(s, round_=built.round)]
        audit = s.scalars(select(AuditEvent).where(AuditEvent.action == "moderation-rules-set")).one()
        stored = queue_rules(built.round)
    assert (before, after) == (["N0001"], [])
    assert rules == stored == QueueRules(range_threshold=3.0, sd_limit=1.5, outlier_share=0.25, min_complete=3)
    assert (audit.actor, audit.detail["after"]["range_threshold"]) == ("Olu Organiser", 3.0)


def test_withdrawn_conflict_flags_the_nomination(db_url):
    with session_scope(db_url) as s:
        built = scored_round(s, scores={"A": {"Ann": 3, "Bo": 3, "Cy": 3}, "B": {"Ann": 3, "Bo": 3, "Cy": 3}})
        declare_conflict(s, round_=built.round, judge_id=built.judges["Bo"], nomination_id=built.nominations["A"],
                         reason="I line-manage the nominee.", actor="Bo", reassign=False)
        queue = moderation_queue(s, round_=built.round)
        withdrawn_at = s.scalar(select(func.min(ScoreEvent.created_at)).where(ScoreEvent.kind == "withdrawn"))
    assert [(i.reference, [(f.rule, f.reason) for f in i.flags]) for i in queue] == [
        ("N0001", [("too-few", "Only 2 of the 3 judges needed scored every criterion."),
                   ("withdrawn", f"Bo's scores were withdrawn on {withdrawn_at:%d %b %Y} because of a conflict of "
                                 "interest.")])]


def test_decisions_are_appended_with_before_after_who_when_and_why(db_url):
    with session_scope(db_url) as s:
        built = scored_round(s, scores={"A": {"Ann": [1, 3, 3, 3], "Bo": [4, 3, 3, 3], "Cy": [4, 3, 3, 3]}})
        nomination = built.nominations["A"]
        first = record_decision(s, round_=built.round, nomination_id=nomination, criterion_id="Q1", after=3,
                                reason_code="outlying-judge", rationale="Ann missed the evidence in paragraph two.",
                                moderator="Mo Moderator")
        second = record_decision(s, round_=built.round, nomination_id=nomination, criterion_id="Q1", after="Strong",
                                 reason_code="panel-agreed", rationale="Panel call on 3 October agreed Strong.",
                                 moderator="Pat Chair")
        third = record_decision(s, round_=built.round, nomination_id=nomination, criterion_id="Q2", no_change=True,
                                reason_code="scores-stand", rationale="All three judges agree; nothing to change.",
                                moderator="Mo Moderator")
        trail = audit_trail(s, round_=built.round)
        current = moderated_scores(s, round_=built.round)
        events = s.scalar(select(func.count()).select_from(ModerationEvent))
    assert events == 3
    assert trail[["reference", "criterion", "before", "after", "no_change", "reason_code", "moderator"]] \
        .values.tolist() == [
        ["N0001", "Q1", 3.0, 3.0, False, "outlying-judge", "Mo Moderator"],
        ["N0001", "Q1", 3.0, 4.0, False, "panel-agreed", "Pat Chair"],
        ["N0001", "Q2", 3.0, 3.0, True, "scores-stand", "Mo Moderator"]]
    assert trail["rationale"].tolist()[1] == "Panel call on 3 October agreed Strong."
    assert trail["reason"].tolist()[2] == "The judges' scores reflect a genuine difference of view and stand as given."
    assert trail["at"].is_monotonic_increasing and trail["at"].iloc[0] == first.at
    assert trail["rubric_hash"].unique().tolist() == [RUBRIC.hash]
    assert current[["criterion", "after", "no_change", "decision_id"]].values.tolist() == [
        ["Q1", 4.0, False, second.id], ["Q2", 3.0, True, third.id]]
    assert second.describe() == "N0001 Q1: 3 → 4, recorded by Pat Chair."
    assert third.describe() == "N0001 Q2: no change (3 stands), recorded by Mo Moderator."


def test_a_decision_with_problems_lists_them_all_and_stores_nothing(db_url):
    with session_scope(db_url) as s:
        built = scored_round(s, scores={"A": {"Ann": 3, "Bo": 3, "Cy": 3}})
        with pytest.raises(WorkbenchError) as error:
            record_decision(s, round_=built.round, nomination_id=built.nominations["A"], criterion_id="Q1", after=7,
                            reason_code="because", rationale="ok", moderator=" ")
        with pytest.raises(WorkbenchError) as both:
            record_decision(s, round_=built.round, nomination_id=built.nominations["A"], criterion_id="Q1", after=2,
                            no_change=True, reason_code="panel-agreed", rationale="Agreed at the panel meeting.",
                            moderator="Mo")
        count = s.scalar(select(func.count()).select_from(ModerationEvent))
    assert str(error.value) == (
        "The decision was not recorded: 7 for Q1 is not on the scale. Use a whole number from 0 to 5 (0 = No "
        "evidence, 1 = Limited, 2 = Some, 3 = Good, 4 = Strong, 5 = Outstanding); the reason code 'because' is not "
        "one of: panel-agreed, evidence-overlooked, descriptor-misapplied, outlying-judge, conflict-withdrawn, "
        "too-few-scores, entry-error, scores-stand; write a rationale of at least a sentence saying why (it goes in "
        "the audit trail); say who is recording the decision (the moderator's name).")
    assert str(both.value) == ("The decision was not recorded: choose either a moderated score or 'no change', "
                               "not both.")
    assert count == 0


def test_decisions_resolve_flags_and_a_new_score_reopens_them(db_url):
    with session_scope(db_url) as s:
        built = scored_round(s, scores={"A": {"Ann": [1, 1, 3, 3], "Bo": [3, 3, 3, 3], "Cy": [3, 3, 3, 3]}})
        round_, nomination = built.round, built.nominations["A"]
        record_decision(s, round_=round_, nomination_id=nomination, criterion_id="Q1", after=3,
                        reason_code="panel-agreed", rationale="Agreed 3 at the panel meeting.", moderator="Mo")
        half = moderation_queue(s, round_=round_)
        record_decision(s, round_=round_, nomination_id=nomination, criterion_id="Q2", no_change=True,
                        reason_code="scores-stand", rationale="A real difference of view; scores stand.",
                        moderator="Mo")
        open_after = moderation_queue(s, round_=round_)
        resolved = moderation_queue(s, round_=round_, include_resolved=True)
        record_score(s, round_=round_, judge_id=built.judges["Cy"], nomination_id=nomination, criterion_id="Q1",
                     value=2, check_rubric_file=False)
        reopened = moderation_queue(s, round_=round_)
    assert [[f.criterion for f in i.open_flags] for i in half] == [["Q2"]]
    assert open_after == []
    assert [(i.reference, i.resolved, len(i.flags)) for i in resolved] == [("N0001", True, 2)]
    assert [[f.criterion for f in i.open_flags] for i in reopened] == [["Q1"]]


def test_moderator_view_shows_answers_scores_and_comments_side_by_side_without_identity(db_url):
    with session_scope(db_url) as s:
        built = scored_round(
            s, scores={"A": {"Ann": [2, 3, 3, 3], "Bo": [4, 3, 3, 3], "Cy": [4, 3, 3, 3]}},
            nominees={"A": {"name": "Priya Raman", "organisation": "Eastmoor Trust"}},
            equality={"A": {"sex": "Female"}}, comments={("A", "Ann", "Q1"): "No figures given."})
        view = nomination_for_moderation(s, round_=built.round, nomination_id=built.nominations["A"])
    q1 = view["criteria"][0]
    assert (view["reference"], [f.rule for f in view["flags"]]) == ("N0001", ["range"])
    assert q1["answer"].startswith("Ran listening events with Priya Raman's team")
    assert [(g["judge"], g["score"], g["comment"]) for g in q1["scores"]] == [
        ("Ann", 2.0, "No figures given."), ("Bo", 4.0, ""), ("Cy", 4.0, "")]
    assert (round(q1["mean"], 4), q1["moderated"], q1["decision"]) == (3.3333, None, None)
    assert "Eastmoor Trust" not in repr(view) and "Female" not in repr(view) and "sex" not in view


def test_cli_queue_decide_and_log(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    with session_scope(url) as s:
        scored_round(s, scores={"A": {"Ann": [2, 3, 3, 3], "Bo": [4, 3, 3, 3], "Cy": [4, 3, 3, 3]},
                                "B": {"Ann": 3, "Bo": 3, "Cy": 3}})
    assert main(["moderation", "queue", "--db", url, "--json"]) == 0
    queue = json.loads(capsys.readouterr().out)
    assert [(i["reference"], [f["rule"] for f in i["open_flags"]]) for i in queue["items"]] == [("N0001", ["range"])]
    assert main(["moderation", "decide", "--db", url, "--nomination", "n0001", "--criterion", "Q1", "--score", "3",
                 "--reason", "outlying-judge", "--rationale", "=Ann overlooked the survey figures.",
                 "--moderator", "Mo Moderator"]) == 0
    assert capsys.readouterr().out == "Recorded: N0001 Q1: 3.33 → 3, recorded by Mo Moderator.\n"
    assert main(["moderation", "queue", "--db", url]) == 0
    assert capsys.readouterr().out == "Nothing to moderate in 'Test round': no open flags.\n"
    out = tmp_path / "log.csv"
    assert main(["moderation", "log", "--db", url, "--out", str(out)]) == 0
    with open(out, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["Decision", "Nomination", "Criterion", "Before", "After", "Change", "No change", "Reason code",
                       "Reason", "Rationale", "Moderator", "Recorded at (UTC)", "Rubric version"]
    assert rows[1][:8] == ["1", "N0001", "Q1", "3.333333", "3.0", "-0.333333", "No", "outlying-judge"]
    assert rows[1][9:11] == ["'=Ann overlooked the survey figures.", "Mo Moderator"]
    assert main(["moderation", "log", "--db", url, "--out", str(out), "--anonymise"]) == 0
    with open(out, encoding="utf-8-sig", newline="") as handle:
        assert list(csv.reader(handle))[1][10] == "Moderator A"


def test_cli_decide_unknown_nomination_says_what_to_use(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    with session_scope(url) as s:
        scored_round(s, scores={"A": {"Ann": 3}})
    assert main(["moderation", "decide", "--db", url, "--nomination", "N0099", "--criterion", "Q1", "--no-change",
                 "--reason", "scores-stand", "--rationale", "Scores stand as given.", "--moderator", "Mo"]) == 1
    assert capsys.readouterr().err == ("error: No nomination 'N0099' in round 'Test round'. Use a reference such as "
                                       "N0001 (see `workbench moderation queue`).\n")
