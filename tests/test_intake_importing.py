"""Importing nominations: the messy cases, exact report lines, stored text, re-imports and the CLI."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from intake_files import (
    EMOJI_ANSWER,
    FORMS_HEADER,
    LONG_ANSWER,
    forms_row,
    write_csv,
    write_xlsx,
)
from workbench.cli import build_parser, main
from workbench.errors import WorkbenchError
from workbench.intake.importing import import_nominations, preview
from workbench.panel import create_round, get_round, list_nominations
from workbench.rubric import rubric_from_document
from workbench.store import EqualityAnswer, Nomination, Nominee, row_as_dict, session_scope

# Every Excel case runs twice: loaded by columns (fastexcel) and cell by cell (python-calamine).
pytestmark = pytest.mark.usefixtures("excel_lane")

AL = ("Al Jones", "al.jones@nhs.example")
BEA = ("Bea Khan", "bea.khan@nhs.example")
CAL = ("Cal Obi", "cal.obi@nhs.example")
TITLE = ["Inclusive Leader nominations 2026 (export)"]


def messy_rows(*, q3_for_102="-", org_for_105="Harbourside Adult Social Care", with_106=True):
    """A Microsoft Forms-like export with every messy case the issue lists."""
    rows = [
        TITLE,
        [],
        FORMS_HEADER,
        forms_row(101, datetime(2026, 3, 1, 9, 30), AL, "Zoë Ní Bhriain", email="zoe.nb@nhs.example",
                  q1=EMOJI_ANSWER, q2="=SUM(A1)", q4="+44 7700 900123", ethnicity="Irish", disability="No"),
        [],
        forms_row(102, datetime(2026, 3, 4, 17, 5), AL, "Zoe Ni Bhriain", email="ZOE.NB@nhs.example", q1="@all",
                  q3=q3_for_102),
        forms_row(103, datetime(2026, 3, 6, 8, 0), BEA, "Kwame Mensah", org="Riverside Community Health NHS Trust",
                  q4=LONG_ANSWER),
        forms_row(104, datetime(2026, 3, 2, 12, 0), CAL, "kwame mensah", org="Riverside Community Health NHS Trust"),
        forms_row(105, 46090.5, BEA, "The Maternity Voices team", job="", org=org_for_105, team="Yes"),
        [],
        [],
    ]
    if with_106:
        rows.append(forms_row(106, datetime(2026, 3, 9, 10, 0), CAL, "Priya Raman", q2="n/a", q3=""))
    rows.append([107, None, None, None, None, None, None, None, None, None, None, None, None, None, None, None,
                 "test row, please ignore"])
    return rows


@pytest.fixture
def messy_xlsx(tmp_path):
    return write_xlsx(tmp_path / "nominations.xlsx", messy_rows())


def report_lines(report):
    return [(w.row, w.column, w.criterion, w.code) for w in report.warnings]


Q1 = FORMS_HEADER[10]
Q2 = "Question 2 - promoting equality"
Q3 = FORMS_HEADER[12]
Q4 = FORMS_HEADER[13]

EXPECTED_WARNINGS = [
    (None, "Start time", None, "unmapped_column"),
    (None, "Anything else?", None, "unmapped_column"),
    (4, None, None, "duplicate_nominee"),
    (6, Q3, "Q3", "placeholder_answer"),
    (6, None, None, "duplicate_nominee"),
    (7, Q4, "Q4", "over_word_limit"),
    (7, None, None, "duplicate_nominee"),
    (8, None, None, "duplicate_nominee"),
    (12, Q2, "Q2", "placeholder_answer"),
    (12, Q3, "Q3", "missing_answer"),
]
EXPECTED_SKIPPED = [
    {"row": 1, "reason": "above the header row", "code": "above_header"},
    {"row": 2, "reason": "blank row", "code": "blank_row"},
    {"row": 5, "reason": "blank row", "code": "blank_row"},
    {"row": 10, "reason": "blank rows 10–11 (2 rows)", "code": "blank_row", "to_row": 11},
    {"row": 13, "reason": "no nominee and no answers (only: Anything else?); not a nomination",
     "code": "no_nomination"},
]


def test_import_messy_forms_export_reports_everything(messy_xlsx, db_url):
    report = import_nominations(path=messy_xlsx, rubric="inclusive-leader", url=db_url, round="IL 2026")

    data = json.loads(report.to_json())
    assert (data["imported"], data["updated"], data["unchanged"], data["rows_read"]) == (6, 0, 0, 7)
    assert data["skipped"] == EXPECTED_SKIPPED
    assert data["blank_rows"] == 4
    assert report_lines(report) == EXPECTED_WARNINGS
    assert set(data["warnings"][0]) == {"row", "column", "criterion", "code", "message"}
    assert data["unmapped_columns"] == [{"column": "B", "header": "Start time", "values": 6},
                                        {"column": "Q", "header": "Anything else?", "values": 1}]
    assert [(d["kind"], d["rows"], d["newer_row"], d["decision"]) for d in data["duplicates"]] == [
        ("resubmission", [4, 6], 6, "pending"), ("second_nominator", [7, 8], 7, "pending")]
    assert data["duplicates"][1]["message"] == (
        "Kwame Mensah is nominated in row 7 and row 8, by different nominators. Row 7 is the newest (by time "
        "submitted). Nothing was merged: choose which to keep (the newer, the older, or both).")
    assert data["mapping"]["columns"][10] == {"column": "K", "header": FORMS_HEADER[10], "target": "Q1",
                                              "confidence": data["mapping"]["columns"][10]["confidence"],
                                              "source": "auto"}
    assert data["missing_from_file"] == [] and data["changes"] == []


def test_stored_text_round_trips_byte_for_byte(messy_xlsx, db_url):
    import_nominations(path=messy_xlsx, rubric="inclusive-leader", url=db_url, round="IL 2026")

    with session_scope(db_url) as s:
        items = {n["reference"]: n for n in list_nominations(s, round_=get_round(s, "IL 2026"))}
        first = s.scalar(select(Nomination).where(Nomination.reference == "N0001"))
        equality = {e.characteristic: e.value for e in s.scalars(
            select(EqualityAnswer).where(EqualityAnswer.nomination_id == first.id))}
        statuses = [n.status for n in s.scalars(select(Nomination).order_by(Nomination.id))]
        row = (first.source_row, first.source_key, first.submitted_at, first.extra)
        team = s.scalar(select(Nominee).where(Nominee.name == "The Maternity Voices team"))
        team_time = team.nomination.submitted_at

    zoe = items["N0001"]
    assert zoe["answers"] == {"Q1": EMOJI_ANSWER, "Q2": "=SUM(A1)", "Q3": "Staff feel included.",
                              "Q4": "+44 7700 900123"}
    assert zoe["answers"]["Q1"].encode("utf-8") == EMOJI_ANSWER.encode("utf-8")
    assert zoe["nominee"] == {"name": "Zoë Ní Bhriain", "email": "zoe.nb@nhs.example",
                              "organisation": "Northshire NHS Foundation Trust", "team": ""}
    assert items["N0002"]["answers"]["Q1"] == "@all"
    assert items["N0002"]["answers"]["Q3"] == "-"
    assert items["N0003"]["answers"]["Q4"] == LONG_ANSWER
    assert equality == {"race": "Irish", "disability": "No"}
    assert row == (4, "id:101", datetime(2026, 3, 1, 9, 30, tzinfo=timezone.utc),
                   {"unmapped": {"Start time": "2026-03-01 09:30:00"}})
    assert (team.team, team_time) == ("The Maternity Voices team", datetime(2026, 3, 9, 12, 0, tzinfo=timezone.utc))
    assert statuses == ["duplicate-pending"] * 4 + ["active", "active"]


def dump(url):
    with session_scope(url) as s:
        nominations = [row_as_dict(n) for n in s.scalars(select(Nomination).order_by(Nomination.id))]
        nominees = [row_as_dict(n) for n in s.scalars(select(Nominee).order_by(Nominee.id))]
        equality = [row_as_dict(e) for e in s.scalars(select(EqualityAnswer).order_by(EqualityAnswer.id))]
        answers = [n["answers"] for n in list_nominations(s, round_=get_round(s, None))]
    return nominations, nominees, equality, answers


def test_importing_the_same_file_again_changes_nothing(messy_xlsx, sqlite_url):
    import_nominations(path=messy_xlsx, rubric="inclusive-leader", url=sqlite_url, round="IL 2026")
    before = dump(sqlite_url)

    again = import_nominations(path=messy_xlsx, rubric="inclusive-leader", url=sqlite_url, round="IL 2026")

    assert (again.imported, again.updated, again.unchanged, again.changes) == (0, 0, 6, [])
    assert report_lines(again) == EXPECTED_WARNINGS
    assert dump(sqlite_url) == before


def test_importing_a_corrected_file_updates_only_what_changed(tmp_path, messy_xlsx, db_url):
    import_nominations(path=messy_xlsx, rubric="inclusive-leader", url=db_url, round="IL 2026")
    folder = tmp_path / "corrected"
    folder.mkdir()
    corrected = write_xlsx(folder / "nominations.xlsx",
                           messy_rows(q3_for_102="Her staff survey scores rose from 61% to 84%.",
                                      org_for_105="Harbourside Adult Social Care (Eastmoor)", with_106=False))

    report = import_nominations(path=corrected, rubric="inclusive-leader", url=db_url, round="IL 2026")

    assert (report.imported, report.updated, report.unchanged) == (0, 2, 3)
    assert [c.to_dict() for c in report.changes] == [
        {"nomination": "N0002", "row": 6, "field": "answers.Q3", "before": "1 word", "after": "9 words"},
        {"nomination": "N0005", "row": 9, "field": "nominee.organisation",
         "before": "Harbourside Adult Social Care", "after": "Harbourside Adult Social Care (Eastmoor)"},
    ]
    assert report.missing_from_file == [{"nomination": "N0006", "row": 12}]
    with session_scope(db_url) as s:
        items = {n["reference"]: n for n in list_nominations(s, round_=get_round(s, "IL 2026"))}
    assert items["N0002"]["answers"]["Q3"] == "Her staff survey scores rose from 61% to 84%."
    assert items["N0006"]["answers"]["Q2"] == "n/a"  # kept, never deleted


def test_duplicate_choice_keeps_the_newer_and_supersedes_the_other(messy_xlsx, sqlite_url):
    import_nominations(path=messy_xlsx, rubric="inclusive-leader", url=sqlite_url, round="IL 2026")

    report = import_nominations(path=messy_xlsx, rubric="inclusive-leader", url=sqlite_url, round="IL 2026",
                                duplicates={"keep": "newer"})

    assert [(c.nomination, c.row, c.field, c.before, c.after) for c in report.changes] == [
        ("N0001", 4, "status", "duplicate-pending", "superseded"),
        ("N0002", 6, "status", "duplicate-pending", "active"),
        ("N0003", 7, "status", "duplicate-pending", "active"),
        ("N0004", 8, "status", "duplicate-pending", "superseded"),
    ]
    assert [d.decision for d in report.duplicates] == ["newer", "newer"]
    with session_scope(sqlite_url) as s:
        assert [(n.reference, n.status) for n in s.scalars(select(Nomination).order_by(Nomination.id))] == [
            ("N0001", "superseded"), ("N0002", "active"), ("N0003", "active"), ("N0004", "superseded"),
            ("N0005", "active"), ("N0006", "active")]
    # Once decided, a plain re-import leaves the decision alone.
    again = import_nominations(path=messy_xlsx, rubric="inclusive-leader", url=sqlite_url, round="IL 2026")
    assert again.changes == []


CSV_ROWS = [
    ["Timestamp", "Your name", "Nominee name", "Organisation", "Q1", "Q2", "Q3", "Q4"],
    ["01/03/2026 09:30:00", "Al Jones", "Siobhán O’Neill", "Northshire NHS Foundation Trust", "=HYPERLINK(\"x\")",
     "+44 7700 900123", "-", "Raised £2,000 – and €300 — for the café"],
    ["02/03/2026 10:00:00", "Bea Khan", "Tomasz Nowak", "Riverside", "@all", "Ran “Proud to Care”.", "Yes", "Yes"],
]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_csv_in_each_encoding_imports_the_same_text(tmp_path, sqlite_url, encoding):
    path = write_csv(tmp_path / "google.csv", CSV_ROWS, encoding=encoding)

    report = import_nominations(path=path, rubric="inclusive-leader", url=sqlite_url)
    again = import_nominations(path=path, rubric="inclusive-leader", url=sqlite_url)

    with session_scope(sqlite_url) as s:
        items = list_nominations(s, round_=get_round(s, "inclusive-leader"))
    assert (report.imported, again.imported, again.unchanged) == (2, 0, 2)
    assert [[i["nominee"]["name"], *i["answers"].values()] for i in items] == [
        [r[2], *r[4:]] for r in CSV_ROWS[1:]]
    assert report_lines(report) == [(2, "Q3", "Q3", "placeholder_answer")]


def test_word_limit_comes_from_the_rubric(tmp_path, sqlite_url):
    document = {"schema_version": 1, "id": "short-answers", "title": "Short", "kind": "award", "word_limit": 3,
                "scales": {"s": {"levels": [{"value": 0, "label": "No"}, {"value": 1, "label": "Yes"}]}},
                "criteria": [{"id": "Q1", "text": "Do they include everyone?", "scale": "s"}]}
    path = write_csv(tmp_path / "f.csv", [["Nominee", "Q1 include everyone"], ["Ann", "one two three four"]])

    report = import_nominations(path=path, rubric=rubric_from_document(document), url=sqlite_url)

    assert [(w.row, w.code, w.message.split(".")[0]) for w in report.warnings] == [
        (2, "over_word_limit", "Q1 has 4 words; the limit is 3")]


def test_preview_shows_mapping_first_rows_and_report_without_importing(messy_xlsx, sqlite_url):
    result = preview(messy_xlsx, rubric="inclusive-leader", rows=2)

    assert (result.sheet, result.header_row) == ("Form1", 3)
    assert [r["row"] for r in result.rows] == [4, 6]
    assert result.rows[0]["values"]["Nominee's name"] == "Zoë Ní Bhriain"
    assert result.report.dry_run and result.report.nominations == 6
    assert report_lines(result.report) == EXPECTED_WARNINGS
    with session_scope(sqlite_url) as s:
        assert s.scalars(select(Nomination)).all() == []


def test_mapping_override_from_preview_is_used_by_the_import(messy_xlsx, sqlite_url):
    mapping = preview(messy_xlsx, rubric="inclusive-leader").mapping.override({"Anything else?": "Q3"})

    report = import_nominations(path=messy_xlsx, rubric="inclusive-leader", url=sqlite_url, mapping=mapping)

    with session_scope(sqlite_url) as s:
        items = list_nominations(s, round_=get_round(s, None))
    assert report.imported == 7
    assert [i["answers"]["Q3"] for i in items] == ["", "", "", "", "", "", "test row, please ignore"]
    assert items[1]["answers"] == {"Q1": "@all", "Q2": "Ran a campaign.", "Q3": "", "Q4": "Speaks up for others."}
    assert (13, "Nominee's name", None, "missing_nominee") in report_lines(report)
    assert report.unmapped_columns[1] == {"column": "M", "header": Q3, "values": 5}


def test_file_without_any_question_column_is_refused(tmp_path, sqlite_url):
    path = write_csv(tmp_path / "wrong.csv", [["Judge", "Room"], ["Ann", "4"]])

    with pytest.raises(WorkbenchError, match="No column in wrong.csv matches any question of the rubric"):
        import_nominations(path=path, rubric="inclusive-leader", url=sqlite_url)


def test_round_with_another_rubric_is_refused(tmp_path, sqlite_url, inclusive_leader):
    with session_scope(sqlite_url) as s:
        create_round(s, name="Safeguarding", rubric=rubric_from_document(
            {"schema_version": 1, "id": "other", "title": "Other", "kind": "award",
             "scales": {"s": {"levels": [{"value": 0, "label": "No"}, {"value": 1, "label": "Yes"}]}},
             "criteria": [{"id": "Q1", "text": "Anything?", "scale": "s"}]}))
    path = write_csv(tmp_path / "f.csv", CSV_ROWS)

    with pytest.raises(WorkbenchError, match="Round 'Safeguarding' is judged on rubric 'other'"):
        import_nominations(path=path, rubric=inclusive_leader, url=sqlite_url, round="Safeguarding")


# --- CLI


def test_cli_import_json_and_nominations_json(messy_xlsx, sqlite_url, capsys, tmp_path):
    code = main(["import", "nominations", str(messy_xlsx), "--rubric", "inclusive-leader", "--db", sqlite_url,
                 "--json", "--save-mapping", str(tmp_path / "mapping.yaml")])
    out = json.loads(capsys.readouterr().out)

    assert code == 0
    assert (out["imported"], out["skipped"], len(out["warnings"])) == (6, EXPECTED_SKIPPED, 10)
    assert out["warnings"][5] == {"row": 7, "column": Q4, "criterion": "Q4", "code": "over_word_limit",
                                  "message": "Q4 has 612 words; the limit is 500. It is imported in full: decide "
                                             "whether judges should read it all or ask for a shorter answer."}

    code = main(["nominations", "--db", sqlite_url, "--json"])
    listed = json.loads(capsys.readouterr().out)
    assert code == 0
    assert listed[0]["nominee"] == {"name": "Zoë Ní Bhriain", "email": "zoe.nb@nhs.example",
                                    "organisation": "Northshire NHS Foundation Trust", "team": ""}
    assert listed[0]["answers"]["Q2"] == "=SUM(A1)"
    assert sorted(listed[0]["answers"]) == ["Q1", "Q2", "Q3", "Q4"]

    code = main(["import", "nominations", str(messy_xlsx), "--rubric", "inclusive-leader", "--db", sqlite_url,
                 "--mapping", str(tmp_path / "mapping.yaml"), "--json"])
    again = json.loads(capsys.readouterr().out)
    assert (code, again["imported"], again["unchanged"]) == (0, 0, 6)
    assert {c["source"] for c in again["mapping"]["columns"]} == {"saved"}


def test_cli_errors_say_what_to_fix(tmp_path, sqlite_url, capsys):
    code = main(["import", "nominations", str(tmp_path / "nope.xlsx"), "--rubric", "inclusive-leader",
                 "--db", sqlite_url])

    assert code == 1
    assert capsys.readouterr().err.startswith("error: No file at")


def test_import_group_is_shared_with_other_modules():
    from workbench.cli.intake import import_subparsers

    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    actions = import_subparsers(subparsers)
    actions.add_parser("test-thing").set_defaults(handler=lambda args: 7)

    assert import_subparsers(subparsers) is actions
    assert {"nominations", "test-thing"} <= set(actions.choices)
    assert parser.parse_args(["import", "test-thing"]).handler(None) == 7


def test_nominee_in_an_earlier_file_is_a_duplicate_too(tmp_path, sqlite_url):
    first = write_csv(tmp_path / "week1.csv", [CSV_ROWS[0], CSV_ROWS[1]])
    second = write_csv(tmp_path / "week2.csv", [
        CSV_ROWS[0], ["05/03/2026 11:00:00", "Cal Obi", "Siobhan O'Neill", "Northshire NHS Foundation Trust",
                      "Yes", "Yes", "Yes", "Yes"]])
    import_nominations(path=first, rubric="inclusive-leader", url=sqlite_url)

    report = import_nominations(path=second, rubric="inclusive-leader", url=sqlite_url)

    [group] = report.duplicates
    assert (group.kind, group.rows, group.newest.row) == ("second_nominator", [2], 2)
    assert [(e.row, e.reference) for e in group.entries] == [(2, None), (None, "N0001")]
    assert group.message == (
        "Siobhan O'Neill is nominated in row 2 and nomination N0001 (already imported), by different nominators. "
        "Row 2 is the newest (by time submitted). Nothing was merged: choose which to keep (the newer, the older, "
        "or both).")
    assert [c.to_dict() for c in report.changes] == [
        {"nomination": "N0001", "row": None, "field": "status", "before": "active", "after": "duplicate-pending"}]
    with session_scope(sqlite_url) as s:
        assert [n.status for n in s.scalars(select(Nomination).order_by(Nomination.id))] == [
            "duplicate-pending", "duplicate-pending"]


def test_cli_dry_run_reports_and_imports_nothing(messy_xlsx, sqlite_url, capsys):
    code = main(["import", "nominations", str(messy_xlsx), "--rubric", "inclusive-leader", "--db", sqlite_url,
                 "--dry-run"])
    out = capsys.readouterr().out

    assert code == 0
    assert out.splitlines()[0].startswith("7 rows read from nominations.xlsx (sheet 'Form1'): 6 nominations. "
                                          "6 nominations would be imported.")
    assert "  row 13: no nominee and no answers (only: Anything else?); not a nomination" in out.splitlines()
    with session_scope(sqlite_url) as s:
        assert s.scalars(select(Nomination)).all() == []
