"""Column mapping: TF-IDF matches with confidences, one-to-one, overrides, saved mappings."""

from __future__ import annotations

from datetime import datetime

import pytest

from intake_files import FORMS_HEADER, Q1_TEXT
from workbench.errors import ValidationFailed, WorkbenchError
from workbench.intake.mapping import (
    RowParser,
    equality_targets,
    load_mapping,
    parse_timestamp,
    propose_mapping,
    save_mapping,
)
from workbench.intake.reading import Column, FormulaText, clean_header, column_kind
from workbench.vocabulary import Term, Vocabulary


def columns(headers):
    return [Column(i, clean_header(h), h, column_kind(clean_header(h))) for i, h in enumerate(headers)]


def targets(mapping):
    return {m.header: m.target for m in mapping.matches}


def test_microsoft_forms_export_maps_every_column(inclusive_leader):
    mapping = propose_mapping(columns(FORMS_HEADER), rubric=inclusive_leader)

    assert [m.target for m in mapping.matches] == [
        "submission.id", None, "submission.timestamp", "nominator.email", "nominator.name", "nominee.name",
        "nominee.job_title", "nominee.organisation", "nominee.email", "nominee.is_team", "Q1", "Q2", "Q3", "Q4",
        "equality.race", "equality.disability", None]
    assert mapping.missing() == []
    assert [m.header for m in mapping.unmapped] == ["Start time", "Anything else?"]
    assert all(0.5 <= m.confidence <= 1.0 for m in mapping.matches if m.target)


def test_question_headers_in_every_style_find_their_question(inclusive_leader):
    headers = ["Q1 Do they ensure that services are commissioned…", "Question 2 - promoting equality",
               "3. Being themselves", "Q4"]
    mapping = propose_mapping(columns(headers), rubric=inclusive_leader)

    assert [m.target for m in mapping.matches] == ["Q1", "Q2", "Q3", "Q4"]
    assert [m.alternatives[0][0] for m in mapping.matches] == ["Q1", "Q2", "Q3", "Q4"]


def test_long_question_text_without_a_number_matches_by_words(inclusive_leader):
    headers = [
        "Do they actively promote equality and celebrate difference, along with the benefits of why an inclusive "
        "workforce at all levels is vital to improved patient care and population health and wellbeing? Examples "
        "of this are: They take every opportunity to help others learn about difference",
        Q1_TEXT.removeprefix("Q1 "),
    ]
    mapping = propose_mapping(columns(headers), rubric=inclusive_leader)

    assert [(m.target, m.confidence > 0.8) for m in mapping.matches] == [("Q2", True), ("Q1", True)]


def test_mapping_is_one_to_one_and_leaves_weak_matches_unmapped(inclusive_leader):
    headers = ["Nominee name", "Name of nominee", "Favourite colour", "Phone number"]
    mapping = propose_mapping(columns(headers), rubric=inclusive_leader)

    assert [m.target for m in mapping.matches] == ["nominee.name", None, None, None]
    assert mapping.missing() == ["Q1", "Q2", "Q3", "Q4"]


def test_split_names_map_to_first_and_last_name(inclusive_leader):
    headers = ["Nominee first name", "Nominee surname", "First name", "Surname", "Nominee's role"]
    mapping = propose_mapping(columns(headers), rubric=inclusive_leader)

    assert [m.target for m in mapping.matches] == [
        "nominee.first_name", "nominee.last_name", None, None, "nominee.job_title"]


def test_bare_name_and_email_are_the_nominee_when_nothing_else_is(inclusive_leader):
    hand_made = propose_mapping(columns(["Name", "Email", "Organisation", "Q1", "Q2", "Q3", "Q4"]),
                                rubric=inclusive_leader)
    forms = propose_mapping(columns(["Name", "Email", "Nominee's name", "Q1"]), rubric=inclusive_leader)

    assert targets(hand_made)["Name"] == "nominee.name"
    assert targets(hand_made)["Email"] == "nominee.email"
    assert targets(forms) == {"Name": "nominator.name", "Email": "nominator.email", "Nominee's name": "nominee.name",
                              "Q1": "Q1"}


def test_override_moves_a_target_and_reports_every_mistake_at_once(inclusive_leader):
    mapping = propose_mapping(columns(["Nominee", "Trust", "Q1", "Notes"]), rubric=inclusive_leader)

    changed = mapping.override({"D": "nominee.organisation", "nominee": None})

    assert targets(changed) == {"Nominee": None, "Trust": None, "Q1": "Q1", "Notes": "nominee.organisation"}
    assert [(m.source, m.confidence) for m in changed.matches] == [
        ("organiser", 1.0), ("organiser", 0.0), ("auto", mapping.matches[2].confidence), ("organiser", 1.0)]
    with pytest.raises(ValidationFailed) as failed:
        mapping.override({"Z": "Q1", "Notes": "Q9", "Trust": "Q2", "Nominee": "Q2"})
    assert [(p.path, p.message.split(".")[0]) for p in failed.value.problems] == [
        ("Z", "No column 'Z' in this file"),
        ("Notes", "'Q9' is not something a column can hold"),
        ("Q2", "Q2 is given to more than one column; choose one"),
    ]


def test_confirm_marks_automatic_matches_as_checked(inclusive_leader):
    mapping = propose_mapping(columns(["Nominee", "Q1"]), rubric=inclusive_leader).confirm()

    assert [m.source for m in mapping.matches] == ["organiser", "organiser"]
    assert mapping.to_check == []


def test_saved_mapping_round_trips_and_is_reused_by_header(tmp_path, inclusive_leader):
    first = propose_mapping(columns(["Your name", "Nominee", "Trust", "Notes", "Q1"]), rubric=inclusive_leader)
    first = first.override({"Notes": "Q2"})
    path = save_mapping(first, tmp_path / "mapping.yaml")

    saved = load_mapping(path)
    # Next year: columns in another order, one new column.
    next_year = propose_mapping(columns(["Q1", "Notes", "Nominee", "Trust", "Your name", "Q3 being themselves"]),
                                rubric=inclusive_leader, saved=saved)

    assert saved.rubric == "inclusive-leader"
    assert saved.columns == {"Your name": "nominator.name", "Nominee": "nominee.name",
                             "Trust": "nominee.organisation", "Notes": "Q2", "Q1": "Q1"}
    assert [(m.header, m.target, m.source) for m in next_year.matches] == [
        ("Q1", "Q1", "saved"), ("Notes", "Q2", "saved"), ("Nominee", "nominee.name", "saved"),
        ("Trust", "nominee.organisation", "saved"), ("Your name", "nominator.name", "saved"),
        ("Q3 being themselves", "Q3", "auto")]
    assert path.read_text(encoding="utf-8").startswith("# Column mapping for `workbench import nominations")


def test_load_mapping_reports_every_problem(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("schema_version: 2\ncolumns: []\ncolour: blue\n", encoding="utf-8")

    with pytest.raises(ValidationFailed) as failed:
        load_mapping(path)
    assert [p.path for p in failed.value.problems] == ["schema_version", "rubric", "columns", "colour"]


def test_saved_mapping_with_an_unknown_target_is_refused(tmp_path, inclusive_leader):
    path = tmp_path / "m.yaml"
    path.write_text("rubric: inclusive-leader\ncolumns:\n  Nominee: nominee.nmae\n", encoding="utf-8")

    with pytest.raises(ValidationFailed, match="'nominee.nmae' is not something a column can hold"):
        propose_mapping(columns(["Nominee"]), rubric=inclusive_leader, saved=load_mapping(path))
    with pytest.raises(WorkbenchError, match="No mapping file at"):
        load_mapping(tmp_path / "missing.yaml")


def test_equality_columns_come_from_the_shared_vocabulary(inclusive_leader):
    shipped = equality_targets()
    custom = Vocabulary(terms=(
        Term("race", "protected_characteristic", "Race", "Race", (), ("Ethnic background (self-described)",)),
        Term("sex", "protected_characteristic", "Sex", "Sex", ("women",), ()),
        Term("direct", "discrimination_type", "Direct", "Direct", (), ()),
    ))
    empty = Vocabulary(terms=())

    assert [t.id for t in shipped] == [
        "equality.age", "equality.disability", "equality.gender-reassignment", "equality.marriage-civil-partnership",
        "equality.pregnancy-maternity", "equality.race", "equality.religion-belief", "equality.sex",
        "equality.sexual-orientation"]
    assert "what is your age" in shipped[0].phrases
    assert [(t.id, t.label, t.phrases) for t in equality_targets(custom)] == [
        ("equality.race", "Equality monitoring: Race", ("Ethnic background (self-described)",))]
    assert [t.id for t in equality_targets(empty)][:2] == ["equality.age", "equality.disability"]


def test_row_parser_joins_merged_columns_and_keeps_answers_verbatim(inclusive_leader):
    cols = [Column(0, "Nominee name", "Nominee name"), Column(1, "Nominee name", "Nominee name", merged_from=0),
            Column(2, "Q1", "Q1"), Column(3, "Is this a team nomination?", "Is this a team nomination?"),
            Column(4, "Timestamp", "Timestamp", kind="timestamp"), Column(5, "Notes", "Notes")]
    mapping = propose_mapping(cols, rubric=inclusive_leader)
    parse = RowParser(cols, mapping, inclusive_leader)

    row = parse(7, ["Ann ", " Lee", FormulaText("=SUM(A1)"), "Yes", "01/03/2024 09:30", "see me", "stray"])

    assert [(m.column, m.target, m.source) for m in mapping.matches[:2]] == [
        ("A", "nominee.name", "auto"), ("B", "nominee.name", "merged")]
    assert row.nominee["name"] == "Ann Lee"
    assert row.nominee["team"] == "Ann Lee"
    assert row.answers == {"Q1": "=SUM(A1)", "Q2": "", "Q3": "", "Q4": ""}
    assert row.submitted_at == datetime(2024, 3, 1, 9, 30)
    assert row.extra == {"Notes": "see me", "Column G (no header)": "stray"}
    assert row.formula_cells == [("Q1", "Q1")]
    assert row.beyond_header == ["Column G (no header)"]


@pytest.mark.parametrize("text, expected", [
    ("2024-03-01 09:30:00", datetime(2024, 3, 1, 9, 30)),
    ("01/03/2024 09:30:45", datetime(2024, 3, 1, 9, 30, 45)),
    ("3/13/2024 9:30:45 AM", datetime(2024, 3, 13, 9, 30, 45)),
    ("2024/03/01 9:30:45 pm GMT", datetime(2024, 3, 1, 21, 30, 45)),
    ("1 March 2024", datetime(2024, 3, 1)),
    ("sometime in March", None),
    ("", None),
])
def test_parse_timestamp(text, expected):
    assert parse_timestamp(text) == expected
