"""Row checks, word limits and nominated-more-than-once detection, with exact report lines."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.errors import WorkbenchError
from workbench.intake.mapping import NominationRow
from workbench.intake.validation import (
    DuplicateFinder,
    RowChecker,
    duplicate_statuses,
    is_placeholder,
    normalise_name,
    over_limit,
    skipped_blank_rows,
    word_count,
)
from workbench.rubric import rubric_from_document

SMALL_RUBRIC = {
    "schema_version": 1, "id": "small", "title": "Small award", "kind": "award", "word_limit": 5,
    "scales": {"s": {"levels": [{"value": 0, "label": "No"}, {"value": 1, "label": "Yes"}]}},
    "criteria": [{"id": "Q1", "text": "Do they include everyone?", "scale": "s"},
                 {"id": "Q2", "text": "Do they speak up?", "scale": "s"}],
}


def nominee(name="Ann Lee", org="Trust", email="", nominator="Bo", nominator_email="", team=""):
    return {"name": name, "email": email, "job_title": "", "organisation": org, "team": team,
            "nominator_name": nominator, "nominator_email": nominator_email}


def row(number, q1="Yes they do.", q2="Yes.", **who):
    return NominationRow(row=number, answers={"Q1": q1, "Q2": q2}, nominee=nominee(**who), equality={}, extra={})


@pytest.fixture
def checker():
    rubric = rubric_from_document(SMALL_RUBRIC)
    return RowChecker(rubric=rubric, columns={"Q1": "Question 1", "Q2": "Question 2", "nominee.name": "Nominee",
                                               "nominee.email": "Nominee email"})


@pytest.mark.parametrize("text", ["-", "--", "—", ".", "n/a", "N/A", "NA", " none ", "None.", "TBC", "tba",
                                  "See above", "as above", "?"])
def test_placeholders_are_recognised(text):
    assert is_placeholder(text)


@pytest.mark.parametrize("text", ["No", "Yes", "None of the staff felt excluded after the change.", "=SUM(A1)",
                                  "@all", "+44 7700 900123", "N/A – see the attached survey results for 2025"])
def test_real_answers_are_not_placeholders(text):
    assert not is_placeholder(text)


def test_word_limit_counts_words_only_when_it_could_matter():
    assert over_limit("one two three four five", 5) is None
    assert over_limit("one two three four five six", 5) == 6
    assert over_limit("a\tb\nc\r\nd e\tf", 5) == 6  # tabs and line breaks separate words
    assert over_limit("a\u00a0b\u00a0c\u00a0d\u00a0e\u00a0f", 5) is None  # a non-breaking space joins them
    assert over_limit("x" * 10_000, 5) is None  # one very long word
    assert over_limit("word " * 600, 500) == 600



@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab \n\t\r\u00a0’", min_size=0, max_size=40), st.integers(1, 8))
def test_the_fast_word_limit_check_agrees_with_an_exact_count(text, limit):
    # The shortcuts (length, separator counts from the first line break) must never clear an answer
    # that is over the limit, nor flag one that is not; the row check calls it.
    # An answer of spaces only (non-breaking ones included) is reported as missing instead.
    words = word_count(text)
    assert over_limit(text, limit) == (words if words > limit else None)
    rubric = rubric_from_document({**SMALL_RUBRIC, "word_limit": limit})
    flagged = [i for i in RowChecker(rubric=rubric, columns={"Q1": "Question 1"}).check(row(2, q1=text))
               if i.code == "over_word_limit"]
    assert len(flagged) == (words > limit and not text.isspace())


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="ab \n\t\r\x0b\x0c\x1c\x85\u00a0\u2003\u3000é😀", min_size=0, max_size=40))
def test_word_count_is_the_documented_rule_whichever_way_it_counts(text):
    # Words are separated by spaces, tabs and line feeds only; a piece that is only CRs is not
    # a word. word_count() takes a faster way when CR, VT and FF are absent.
    expected = len([w for w in re.split(r"[ \t\n]+", text) if w.strip("\r")])
    assert word_count(text) == expected


def test_every_problem_in_a_row_is_reported_with_row_column_criterion_and_reason(checker):
    issues = checker.check(row(7, q1="n/a", q2="one two three four five six", name="", org="", email="ann@"))

    assert [(i.row, i.column, i.criterion, i.code) for i in issues] == [
        (7, "Question 1", "Q1", "placeholder_answer"),
        (7, "Question 2", "Q2", "over_word_limit"),
        (7, "Nominee email", None, "invalid_email"),
    ]
    assert issues[0].message == ("Q1 only says 'n/a', which is not an answer. Ask the nominator for one, or import it "
                                 "as it is: judges will score what is there.")
    assert issues[1].message.startswith("Q2 has 6 words; the limit is 5.")


def test_missing_answer_and_missing_nominee(checker):
    issues = checker.check(row(3, q1="   ", name="", org=""))

    assert [(i.row, i.column, i.criterion, i.code) for i in issues] == [
        (3, "Question 1", "Q1", "missing_answer"), (3, "Nominee", None, "missing_nominee")]


def test_blank_rows_collapse_into_runs():
    assert [s.to_dict() for s in skipped_blank_rows([5, 9, 10, 11, 20])] == [
        {"row": 5, "reason": "blank row", "code": "blank_row"},
        {"row": 9, "reason": "blank rows 9–11 (3 rows)", "code": "blank_row", "to_row": 11},
        {"row": 20, "reason": "blank row", "code": "blank_row"},
    ]


def finder_with(*entries):
    finder = DuplicateFinder()
    for number, key, who, when in entries:
        finder.add(row=number, source_key=key, nominee=nominee(**who), submitted_at=when)
    return finder


def test_resubmission_by_the_same_nominator_names_the_newer_row():
    finder = finder_with(
        (2, "k2", dict(name="Zoë Ní Bhriain", nominator_email="al@x.org"), datetime(2026, 3, 2, 9, 0)),
        (5, "k5", dict(name="Other Person"), None),
        (9, "k9", dict(name="dr zoe ni bhriain", nominator_email="AL@x.org"), datetime(2026, 3, 1, 9, 0)),
    )

    [group] = finder.groups()

    assert (group.kind, group.rows, group.newest.row) == ("resubmission", [2, 9], 2)
    assert group.message == (
        "Zoë Ní Bhriain is nominated in row 2 and row 9, by the same nominator (a resubmission or an edit). "
        "Row 2 is the newest (by time submitted). Nothing was merged: choose which to keep (the newer, the older, "
        "or both).")


def test_second_nominator_matched_by_email_and_ordered_by_row_without_times():
    finder = finder_with(
        (4, "k4", dict(name="Kwame Mensah", email="k.mensah@nhs.example", org="Riverside", nominator="Bea"), None),
        (6, "k6", dict(name="K. Mensah", email="K.Mensah@nhs.example", org="", nominator="Cal"), None),
    )

    [group] = finder.groups()

    assert (group.kind, group.rows, group.newest.row) == ("second_nominator", [4, 6], 6)
    assert "by different nominators. Row 6 is the newest (by position in the file)." in group.message


def test_same_name_in_different_organisations_is_not_a_duplicate():
    finder = finder_with((2, "a", dict(name="Sam Patel", org="Trust A"), None),
                         (3, "b", dict(name="Sam Patel", org="Trust B"), None))

    assert finder.groups() == []


def test_duplicate_choices_never_delete_and_default_to_pending():
    def groups():
        return finder_with((2, "a", dict(nominator="Al"), datetime(2026, 1, 1)),
                           (3, "b", dict(nominator="Al"), datetime(2026, 1, 2)),
                           (7, "c", dict(name="Kim", nominator="Bo"), None),
                           (8, "d", dict(name="Kim", nominator="Cy"), None)).groups()

    first = groups()
    assert duplicate_statuses(first, None) == {"a": "duplicate-pending", "b": "duplicate-pending",
                                               "c": "duplicate-pending", "d": "duplicate-pending"}
    assert [g.decision for g in first] == ["pending", "pending"]
    assert duplicate_statuses(groups(), {"keep": "newer"}) == {"a": "superseded", "b": "active",
                                                               "c": "superseded", "d": "active"}
    assert duplicate_statuses(groups(), {"keep": "both"}) == {"a": "active", "b": "active", "c": "active",
                                                              "d": "active"}
    chosen = groups()
    assert duplicate_statuses(chosen, {"keep": {"7": 7, chosen[0].id: "older"}}) == {
        "a": "active", "b": "superseded", "c": "active", "d": "superseded"}
    assert [g.decision for g in chosen] == ["older", "row 7"]
    with pytest.raises(WorkbenchError, match="Row 9 is not in duplicate group"):
        duplicate_statuses(groups(), {"keep": {"7": 9}})
    with pytest.raises(WorkbenchError, match="keep='latest' is not one of"):
        duplicate_statuses(groups(), {"keep": "latest"})


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([*"Ann O'Bé-ryż’`_ 1\u00a0\t.", "Dr ", "mx ", "Prof. ", "Zoë", "José", "ﬁ", "😀"]),
                max_size=12).map("".join))
def test_a_name_for_matching_keeps_its_words_only(text):
    # The rule: accents, case, apostrophes and leading titles go; the other runs of word characters stay.
    folded = text.lower() if text.isascii() else "".join(
        ch for ch in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(ch))
    words = [w for w in re.split(r"\W+", re.sub(r"['’`]", "", folded)) if w]
    while words and words[0] in {"dr", "mr", "mrs", "ms", "miss", "mx", "prof", "professor", "sir", "dame", "rev",
                                 "cllr"}:
        words.pop(0)

    assert normalise_name(text) == " ".join(words)
