"""The equality check: counts and rates by group, small numbers suppressed, the four-fifths flag."""

from __future__ import annotations

import inspect

import pandas as pd

from scored_panel import scored_round
from workbench.equality import equality_check, equality_for_round
from workbench.shortlist import record_winners
from workbench.store import session_scope


def _answers(groups: dict[str, int], characteristic: str = "sex") -> tuple[pd.DataFrame, dict[str, list[int]]]:
    """Answers for consecutive nomination ids, and the ids in each group."""
    rows, ids, n = [], {}, 0
    for group, count in groups.items():
        ids[group] = list(range(n + 1, n + count + 1))
        rows += [(i, characteristic, group) for i in ids[group]]
        n += count
    return pd.DataFrame(rows, columns=["nomination", "characteristic", "value"]), ids


def _rows(check, *columns):
    return check.table[list(columns)].astype(object).where(check.table[list(columns)].notna(), None).values.tolist()


def test_counts_and_rates_by_group_with_the_four_fifths_flag():
    answers, ids = _answers({"Female": 20, "Male": 10})
    shortlisted = ids["Female"][:10] + ids["Male"][:5]  # 50% and 50%
    check = equality_check(answers=answers, nominated=range(1, 31), shortlisted=shortlisted,
                           winners=ids["Female"][:5] + ids["Male"][:1])
    # One man among 6 winners: shown as "<5"; then 5 women would give it away (6 - 5), so that is hidden too.
    assert _rows(check, "label", "group", "nominated", "shortlisted", "shortlist_rate", "shortlist_ratio",
                 "winners", "win_rate", "win_ratio", "flag") == [
        ["Sex", "Female", 20, 10, 0.5, 1.0, "hidden", None, None, ""],
        ["Sex", "Male", 10, 5, 0.5, 1.0, "<5", None, None, "win rate below four-fifths"],
        ["Sex", "All", 30, 15, 0.5, None, 6, 0.4, None, ""]]
    assert check.flags == ['Sex: the win rate for "Male" is below four-fifths of the rate for "Female" (exact '
                           'figures withheld because the numbers are small).']
    assert check.winners_recorded


def test_four_fifths_flag_with_figures_and_the_boundary():
    answers, ids = _answers({"Asian British": 20, "Black British": 20, "White British": 20}, "race")
    # Rates 50%, 40% (ratio 0.8: not flagged) and 35% (ratio 0.7: flagged).
    shortlisted = ids["Asian British"][:10] + ids["Black British"][:8] + ids["White British"][:7]
    check = equality_check(answers=answers, nominated=range(1, 61), shortlisted=shortlisted)
    assert _rows(check, "group", "shortlisted", "shortlist_rate", "shortlist_ratio", "flag") == [
        ["Asian British", 10, 0.5, 1.0, ""], ["Black British", 8, 0.4, 0.8, ""],
        ["White British", 7, 0.35, 0.7, "shortlisting rate below four-fifths"], ["All", 25, 25 / 60, None, ""]]
    assert check.flags == ['Race: the shortlisting rate for "White British" is 35%, against 50% for "Asian British" '
                           '(ratio 0.70, below four-fifths).']


def test_small_groups_are_shown_as_under_five_and_protected_against_subtraction():
    answers, ids = _answers({"No": 12, "Yes": 9, "Prefer not to say": 3}, "disability")
    shortlisted = ids["No"][:6] + ids["Yes"][:5] + ids["Prefer not to say"][:1]
    check = equality_check(answers=answers, nominated=range(1, 25), shortlisted=shortlisted)
    assert _rows(check, "group", "nominated", "shortlisted", "shortlist_rate") == [
        ["No", 12, 6, 0.5],
        # 3 "Prefer not to say" could be worked out as 24 - 12 - 9: the 9 is hidden too.
        # Shortlisted: the "<5" (1) alone would be 12 - 6 - 5; the next smallest (Yes, 5) is hidden as well.
        ["Yes", "hidden", "hidden", None],
        ["Prefer not to say", "<5", "<5", None],
        ["All", 24, 12, 0.5]]
    assert check.flags == []
    assert check.notes[1] == ('Groups with fewer than 5 nominations, and any count from 1 to 4, are shown as "<5" so '
                              'that nobody can be identified.')


def test_prefer_not_to_say_and_unanswered_are_never_the_comparison():
    answers, ids = _answers({"Female": 10, "Male": 10, "Prefer not to say": 10})
    shortlisted = ids["Female"][:5] + ids["Male"][:5] + ids["Prefer not to say"]
    check = equality_check(answers=answers, nominated=range(1, 36), shortlisted=shortlisted)
    # Nominations 31-35 gave no answer.
    assert _rows(check, "group", "nominated", "shortlisted", "shortlist_ratio", "flag") == [
        ["Female", 10, 5, 1.0, ""], ["Male", 10, 5, 1.0, ""], ["Prefer not to say", 10, 10, None, ""],
        ["Not answered", 5, 0, None, ""], ["All", 35, 20, None, ""]]
    assert check.flags == []


def test_no_equality_answers_says_so():
    empty = pd.DataFrame(columns=["nomination", "characteristic", "value"])
    check = equality_check(answers=empty, nominated=[1, 2], shortlisted=[1])
    assert check.empty
    assert check.notes[:2] == [
        "No winners are recorded yet, so the winner columns are all zero.",
        "The nomination forms did not collect equality-monitoring answers, so there is nothing to check."]


def test_equality_for_round_reads_answers_and_recorded_winners(db_url):
    scores = {key: {"Ann": 3} for key in "ABCDEFGHIJ"}
    equality = {key: {"sex": "Female" if i < 5 else "Male", "age": "35-44"} for i, key in enumerate("ABCDEFGHIJ")}
    with session_scope(db_url) as s:
        built = scored_round(s, scores=scores, equality=equality)
        record_winners(s, round_=built.round, references=[built.references["A"]], actor="Olu")
        check = equality_for_round(s, round_=built.round,
                                   shortlisted=[built.nominations[k] for k in "ABCDEFG"])
    assert _rows(check, "label", "group", "nominated", "shortlisted", "winners") == [
        ["Age", "35-44", 10, 7, "<5"], ["Age", "All", 10, 7, 1],
        ["Sex", "Female", 5, "hidden", "<5"], ["Sex", "Male", 5, "<5", "<5"], ["Sex", "All", 10, 7, 1]]


def test_judges_and_moderators_never_read_equality_answers():
    import workbench.judging
    import workbench.moderation

    for module in (workbench.judging, workbench.moderation):
        source = inspect.getsource(module)
        assert "EqualityAnswer" not in source and "workbench.equality" not in source, module.__name__
