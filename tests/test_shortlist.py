"""The shortlist: aggregation, weighted totals, the tie rules and the robustness check."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from sqlalchemy import select

from scored_panel import scored_round, weighted_rubric
from workbench.errors import WorkbenchError
from workbench.moderation import record_decision
from workbench.rubric import load_rubric
from workbench.shortlist import aggregate, build_shortlist, record_winners, shortlist_for_round, winner_ids
from workbench.store import AuditEvent, session_scope

RUBRIC = load_rubric("inclusive-leader")


def _scores(spec: dict[str, dict[str, object]], rubric=RUBRIC) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Long scores and a nominations table from {nomination: {judge: value or [values]}}."""
    rows = []
    for nomination, per in spec.items():
        for judge, given in per.items():
            values = given if isinstance(given, list) else [given] * len(rubric.criteria)
            rows += [(nomination, judge, c, math.nan if v is None else float(v))
                     for c, v in zip(rubric.criterion_ids, values)]
    scores = pd.DataFrame(rows, columns=["nomination", "judge", "criterion", "score"])
    nominations = pd.DataFrame({"nomination": list(spec), "reference": list(spec)})
    return scores, nominations


def _order(shortlist) -> list[tuple]:
    return [(r.reference, r.rank_label, r.shortlisted) for r in shortlist.ranking.itertuples()]


def test_aggregations_on_one_criterion():
    five = pd.DataFrame({"nomination": 1, "criterion": "Q1", "value": [0.0, 2.0, 3.0, 3.0, 5.0]})
    two = pd.DataFrame({"nomination": 1, "criterion": "Q1", "value": [1.0, 4.0]})
    assert [aggregate(five, aggregation=a)["value"].item() for a in ("mean", "median", "trimmed")] == \
        [2.6, 3.0, pytest.approx(8 / 3)]
    assert [aggregate(two, aggregation=a)["value"].item() for a in ("mean", "median", "trimmed")] == [2.5, 2.5, 2.5]


def test_weighted_totals_follow_the_rubric_weights():
    rubric = weighted_rubric({"C1": 2, "C2": 1})
    scores, nominations = _scores({"A": {"Ann": [5, 0], "Bo": [5, 0]}, "B": {"Ann": [0, 5], "Bo": [1, 5]}}, rubric)
    shortlist = build_shortlist(scores=scores, rubric=rubric, nominations=nominations, top=1, robustness=False)
    table = shortlist.ranking
    assert table[["reference", "total", "C1", "C2", "rank_label", "shortlisted"]].values.tolist() == [
        ["A", 10.0, 5.0, 0.0, "1", True], ["B", 6.0, 0.5, 5.0, "2", False]]
    assert table["percent"].round(4).tolist() == [66.6667, 40.0]


def test_a_criterion_nobody_scored_means_no_total_never_zero():
    scores, nominations = _scores({"A": {"Ann": [1, 1, 1, 1]}, "B": {"Ann": [5, 5, 5, None], "Bo": [5, 5, 5, None]}})
    shortlist = build_shortlist(scores=scores, rubric=RUBRIC, nominations=nominations, top=2)
    assert _order(shortlist) == [("A", "1", True), ("B", "not ranked", False)]
    assert shortlist.ranking["total"].isna().tolist() == [False, True]
    assert shortlist.excluded == [{"reference": "B", "reason": "Not ranked: nobody scored Q4."}]
    assert math.isnan(shortlist.ranking["stability"].iloc[1])


def test_inactive_nominations_are_left_out_and_listed():
    scores, nominations = _scores({"A": {"Ann": 3}, "B": {"Ann": 5}})
    nominations["status"] = ["active", "duplicate"]
    shortlist = build_shortlist(scores=scores, rubric=RUBRIC, nominations=nominations, top=1, robustness=False)
    assert _order(shortlist) == [("A", "1", True)]
    assert shortlist.excluded == [{"reference": "B", "reason": "Not active (status: duplicate)."}]


@pytest.mark.parametrize(("spec", "expected", "note"), [
    # Rule 2: the same total, but one judge did not score everything on B.
    ({"A": {"Ann": 3, "Bo": 3, "Cy": 3}, "B": {"Ann": 3, "Bo": 3, "Cy": [3, 3, 3, None]}},
     [("A", "1", True), ("B", "2", False)],
     "Level on total with B; placed above it by rule 2 (more complete scores)."),
    # Rule 3: totals 12 each; judges' totals 4, 16, 16 (median 16) against 8, 12, 16 (median 12).
    ({"G": {"Ann": 2, "Bo": 3, "Cy": 4}, "H": {"Ann": 1, "Bo": 4, "Cy": 4}},
     [("H", "1", True), ("G", "2", False)],
     "Level on total with G; placed above it by rule 3 (a higher median of the judges' totals)."),
    # Rule 4: the same total and median, J's judges disagree more.
    ({"I": {"Ann": 3, "Bo": 3, "Cy": 3}, "J": {"Ann": 2, "Bo": 3, "Cy": 4}},
     [("I", "1", True), ("J", "2", False)],
     "Level on total with J; placed above it by rule 4 (a smaller spread of the judges' totals)."),
])
def test_each_tie_rule_decides_in_order(spec, expected, note):
    scores, nominations = _scores(spec)
    shortlist = build_shortlist(scores=scores, rubric=RUBRIC, nominations=nominations, top=1, robustness=False)
    assert _order(shortlist) == expected
    assert shortlist.ranking["note"].tolist() == [note, ""]
    assert shortlist.ties == []


def test_a_tie_on_every_rule_shares_the_rank_and_crosses_the_cut_off():
    scores, nominations = _scores({"A": {"Ann": 5, "Bo": 4}, "B": {"Ann": 3, "Bo": 4}, "C": {"Ann": 4, "Bo": 3},
                                   "D": {"Ann": 1, "Bo": 1}})
    shortlist = build_shortlist(scores=scores, rubric=RUBRIC, nominations=nominations, top=2, robustness=False)
    assert _order(shortlist) == [("A", "1", True), ("B", "2=", True), ("C", "2=", True), ("D", "4", False)]
    assert shortlist.ties == ["B and C tie for place 2 on every rule (total 14). The tie crosses the cut-off of 2, "
                              "so all 2 are on the shortlist; the panel should decide between them."]
    assert shortlist.ranking["note"].tolist()[1:3] == ["Tied with C on every rule.", "Tied with B on every rule."]


def test_threshold_and_top_n_per_category():
    scores, nominations = _scores({"A": {"Ann": 5}, "B": {"Ann": 4}, "C": {"Ann": 3}, "D": {"Ann": 2},
                                   "E": {"Ann": 1}})
    nominations["category"] = ["Team", "Individual", "Team", "Individual", None]
    by_category = build_shortlist(scores=scores, rubric=RUBRIC, nominations=nominations, top=1, by="category",
                                  robustness=False)
    assert [(r.group, r.reference, r.rank_label, r.shortlisted) for r in by_category.ranking.itertuples()] == [
        ("(no category)", "E", "1", True), ("Individual", "B", "1", True), ("Individual", "D", "2", False),
        ("Team", "A", "1", True), ("Team", "C", "2", False)]
    assert by_category.rule() == "The top 1 in each category (more when a tie crosses the cut-off)."
    threshold = build_shortlist(scores=scores, rubric=RUBRIC, nominations=nominations, threshold=12,
                                robustness=False)
    assert threshold.shortlisted["reference"].tolist() == ["A", "B", "C"]
    assert threshold.rule() == "Every nomination in the round with a total of 12 or more."


def test_robustness_shows_one_judge_decides_the_shortlist():
    # Cy alone puts B above C: without Cy, C (4, 3) beats B (3, 3).
    scores, nominations = _scores({"A": {"Ann": 4, "Bo": 4, "Cy": 4}, "B": {"Ann": 3, "Bo": 3, "Cy": 5},
                                   "C": {"Ann": 4, "Bo": 3, "Cy": 3}, "D": {"Ann": 2, "Bo": 2, "Cy": 2}})
    shortlist = build_shortlist(scores=scores, rubric=RUBRIC, nominations=nominations, top=2,
                                judge_labels={"Ann": "Ann", "Bo": "Bo", "Cy": "Cy"})
    assert _order(shortlist) == [("A", "1", True), ("B", "2", True), ("C", "3", False), ("D", "4", False)]
    assert [s.name for s in shortlist.scenarios] == [
        "mean, normalised", "median, raw", "median, normalised", "trimmed, raw", "trimmed, normalised",
        "without Ann", "without Bo", "without Cy"]
    robust = shortlist.robustness.loc[["A", "B", "C", "D"]]
    # The median (and the trimmed mean, which is the median for three judges) sets B and C level on 12;
    # C's judges agree more (rule 4), so C goes through. Leaving Cy out drops B as well.
    assert robust.loc["B"].tolist() == [True, False, False, False, False, True, True, False]
    assert robust.loc["C"].tolist() == [False, True, True, True, True, False, False, True]
    assert robust.loc["A"].all() and not robust.loc["D"].any()
    assert shortlist.ranking.set_index("reference")["stability"].to_dict() == {"A": 1.0, "B": 0.375, "C": 0.625,
                                                                               "D": 0.0}


def test_normalised_scores_undo_a_harsh_judge():
    # Ann scores 3 points below the others; she judged A (with Bo) and C (with Cy), never B.
    scores, nominations = _scores({"A": {"Ann": 2, "Bo": 5}, "B": {"Bo": 4, "Cy": 4}, "C": {"Cy": 3, "Ann": 0}})
    raw = build_shortlist(scores=scores, rubric=RUBRIC, nominations=nominations, top=1, robustness=False)
    normalised = build_shortlist(scores=scores, rubric=RUBRIC, nominations=nominations, top=1, source="normalised",
                                 robustness=False)
    assert raw.ranking[["reference", "total"]].values.tolist() == [["B", 16.0], ["A", 14.0], ["C", 6.0]]
    assert normalised.ranking["reference"].tolist() == ["A", "B", "C"]
    assert normalised.ranking["total"].round(6).tolist() == [16.0, 12.0, 8.0]


def test_moderated_scores_replace_the_aggregate_and_no_change_keeps_it():
    scores, nominations = _scores({"A": {"Ann": 4, "Bo": 4}, "B": {"Ann": 1, "Bo": 5}})
    moderated = pd.DataFrame({"nomination": ["B", "A"], "criterion": ["Q1", "Q2"], "after": [5.0, 1.0],
                              "no_change": [False, True]})
    shortlist = build_shortlist(scores=scores, rubric=RUBRIC, nominations=nominations, moderated=moderated,
                                source="moderated", top=1)
    assert shortlist.ranking[["reference", "Q1", "Q2", "total"]].values.tolist() == [
        ["B", 5.0, 3.0, 14.0], ["A", 4.0, 4.0, 16.0]][::-1]
    assert [s.name for s in shortlist.scenarios][:2] == ["mean, normalised, moderated", "median, raw, moderated"]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"aggregation": "average", "top": 1}, "The aggregation 'average' is not available; choose one of: mean, "
                                           "median, trimmed."),
    ({"source": "adjusted", "top": 1}, "The score source 'adjusted' is not available; choose one of: raw, "
                                       "normalised, moderated."),
    ({"top": 3, "threshold": 10.0}, "Choose how to shortlist: either the top N (e.g. top 10) or a threshold total "
                                    "(e.g. 14), not both and not neither."),
    ({"top": 0}, "The number to shortlist must be a whole number, 1 or more; got 0."),
])
def test_choices_that_do_not_exist_are_refused(kwargs, message):
    scores, nominations = _scores({"A": {"Ann": 4}})
    with pytest.raises(WorkbenchError) as error:
        build_shortlist(scores=scores, rubric=RUBRIC, nominations=nominations, **kwargs)
    assert str(error.value) == message


def test_shortlist_for_round_uses_moderation_from_the_database(db_url):
    with session_scope(db_url) as s:
        built = scored_round(s, scores={"A": {"Ann": 4, "Bo": 4, "Cy": 4}, "B": {"Ann": [1, 4, 4, 4], "Bo": 4,
                                                                                 "Cy": 4}})
        raw = shortlist_for_round(s, round_=built.round, top=1, robustness=False)
        record_decision(s, round_=built.round, nomination_id=built.nominations["B"], criterion_id="Q1", after=5,
                        reason_code="evidence-overlooked", rationale="Ann missed the co-production evidence.",
                        moderator="Mo")
        moderated = shortlist_for_round(s, round_=built.round, top=1, source="moderated")
        ids = record_winners(s, round_=built.round, references=["n0002"], actor="Olu")
        audit = s.scalars(select(AuditEvent).where(AuditEvent.action == "winners-recorded")).one()
        winners = winner_ids(built.round)
    assert raw.ranking[["reference", "total"]].values.tolist() == [["N0001", 16.0], ["N0002", 15.0]]
    assert moderated.ranking[["reference", "Q1", "total", "shortlisted"]].values.tolist() == [
        ["N0002", 5.0, 17.0, True], ["N0001", 4.0, 16.0, False]]
    assert ids == winners == [built.nominations["B"]]
    assert (audit.actor, audit.detail) == ("Olu", {"before": [], "after": ids})
