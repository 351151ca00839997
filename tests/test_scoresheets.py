"""Offline scoresheets: the workbook written, the round trip, and every bad input reported on its own line."""

from __future__ import annotations

import pytest
from judging_panel import build_panel
from openpyxl import load_workbook
from sqlalchemy import select

from workbench.allocation import add_assignment
from workbench.errors import WorkbenchError
from workbench.panel import create_round, get_round
from workbench.rubric import load_rubric
from workbench.scoresheets import HEADER_ROW, META_SHEET, SHEET, import_scores, write_scoresheet
from workbench.scoring import current_scores, record_score, score_history, submit_assignment
from workbench.store import Assignment, session_scope


@pytest.fixture
def sheet(db_url, tmp_path):
    """Judge 1 has N0001 and N0002 (N0003 belongs to judge 2); the scoresheet is written."""
    with session_scope(db_url) as s:
        panel = build_panel(s, judges=2, nominations=3, k=1)
        j1, j2 = panel.judge_ids
        n1, n2, n3 = panel.nomination_ids
        add_assignment(s, round_=panel.round, judge_id=j1, nomination_id=n1, actor="test")
        add_assignment(s, round_=panel.round, judge_id=j1, nomination_id=n2, actor="test")
        add_assignment(s, round_=panel.round, judge_id=j2, nomination_id=n3, actor="test")
        record_score(s, round_=panel.round, judge_id=j1, nomination_id=n2, criterion_id="Q4", value=1,
                     comment="=early thoughts", check_rubric_file=False)
        path = tmp_path / "judge1.xlsx"
        summary = write_scoresheet(s, round_=panel.round, judge_id=j1, path=path)
    return {"url": db_url, "path": path, "summary": summary, "judges": (j1, j2), "nominations": (n1, n2, n3),
            "tmp": tmp_path}


def _edit(sheet, changes: dict[str, object], name: str = "edited.xlsx"):
    wb = load_workbook(sheet["path"])
    ws = wb[SHEET]
    for cell, value in changes.items():
        ws[cell] = value
    out = sheet["tmp"] / name
    wb.save(out)
    return out


def _scores(url):
    with session_scope(url) as s:
        frame = current_scores(s, round_=get_round(s, "Test round"))
    return sorted(zip(frame["nomination"], frame["criterion"], frame["score"], frame["comment"]))


def test_the_workbook_has_one_row_per_assignment_locked_cells_and_scale_validation(sheet):
    wb = load_workbook(sheet["path"])
    ws = wb[SHEET]
    headers = [ws.cell(row=HEADER_ROW, column=c).value for c in range(1, 14)]
    assert sheet["summary"] == (f"Scoresheet for Judge Number1 written to {sheet['path']}: 2 nomination(s), "
                                "4 questions.")
    assert headers == ["Nomination", "Q1 answer", "Q1 score", "Q1 comment", "Q2 answer", "Q2 score", "Q2 comment",
                       "Q3 answer", "Q3 score", "Q3 comment", "Q4 answer", "Q4 score", "Q4 comment"]
    assert [ws["A4"].value, ws["A5"].value, ws["A6"].value] == ["N0001", "N0002", None]
    assert ws["B4"].value.startswith("Set up a co-production group")
    assert (ws["L5"].value, ws["M5"].value, ws["M5"].data_type) == (1, "=early thoughts", "s")
    assert ws.protection.sheet is True
    assert (ws["B4"].protection.locked, ws["C4"].protection.locked, ws["D4"].protection.locked) == (True, False, False)
    rules = {str(dv.sqref): (dv.type, dv.operator, dv.formula1, dv.formula2)
             for dv in ws.data_validations.dataValidation}
    assert rules == {"C4:C5": ("whole", "between", "0", "5"), "F4:F5": ("whole", "between", "0", "5"),
                     "I4:I5": ("whole", "between", "0", "5"), "L4:L5": ("whole", "between", "0", "5")}
    assert wb[META_SHEET].sheet_state == "veryHidden"
    assert wb.sheetnames == [SHEET, "What the scores mean", META_SHEET]


def test_round_trip_saves_scores_and_comments_and_a_second_import_changes_nothing(sheet):
    edited = _edit(sheet, {"C4": 3, "D4": "Good figures", "F4": 4, "I4": 2, "L4": 5, "C5": 0, "L5": 2})
    first = import_scores(path=edited, url=sheet["url"])
    second = import_scores(path=edited, url=sheet["url"])
    n1, n2, _ = sheet["nominations"]
    assert (first.rows_read, first.saved, first.unchanged, first.problems, first.fatal) == (2, 6, 0, [], None)
    assert (second.saved, second.unchanged, second.problems) == (0, 6, [])
    assert _scores(sheet["url"]) == [(n1, "Q1", 3.0, "Good figures"), (n1, "Q2", 4.0, ""), (n1, "Q3", 2.0, ""),
                                     (n1, "Q4", 5.0, ""), (n2, "Q1", 0.0, ""), (n2, "Q4", 2.0, "=early thoughts")]
    assert first.summary().startswith("2 rows read from edited.xlsx for judge1@panel.example (round 'Test round'): "
                                      "6 score(s) saved, 0 unchanged, 0 problem(s).")
    with session_scope(sheet["url"]) as s:
        sources = set(score_history(s, round_=get_round(s, "Test round"))["source"])
    assert sources == {"app", "scoresheet"}


def test_each_bad_cell_gets_a_line_and_everything_else_is_saved(sheet):
    n1, n2, n3 = sheet["nominations"]
    edited = _edit(sheet, {
        "C4": 7,                        # out of scale
        "F4": 4,                        # fine
        "B5": "I rewrote this answer",  # edited answer (locked cell, sheet unprotected by the judge)
        "C5": 2,                        # fine, despite the edited answer on the same row
        "I5": "=2+1",                   # a formula
        "A6": "N0003", "C6": 5,          # a nomination not assigned to this judge
        "A7": "N0099", "C7": 1,          # not a nomination at all
    })
    report = import_scores(path=edited, url=sheet["url"])
    assert [str(p) for p in report.problems] == [
        "row 4, column C (Q1 score): 7 for Q1 is not on the scale. Use a whole number from 0 to 5 (0 = No evidence, "
        "1 = Limited, 2 = Some, 3 = Good, 4 = Strong, 5 = Outstanding).",
        "row 5, column B (Q1 answer): the answer shown for N0002 Q1 was changed in the scoresheet. Answers are never "
        "imported, so the change was ignored (your score and comment were still read).",
        "row 5, column I (Q3 score): Q3 holds a formula (=2+1); type the score as a number.",
        "row 6, column A (Nomination): N0003 is not assigned to Judge Number1 (any more), so its scores were not "
        "saved.",
        "row 7, column A (Nomination): 'N0099' is not a nomination in round 'Test round'; this row was skipped.",
    ]
    assert [p.code for p in report.problems] == ["out_of_scale", "answer_edited", "formula", "not_assigned", "unknown"]
    assert (report.rows_read, report.saved) == (4, 2)
    assert _scores(sheet["url"]) == [(n1, "Q2", 4.0, ""), (n2, "Q1", 2.0, ""), (n2, "Q4", 1.0, "=early thoughts")]


def test_a_submitted_nomination_is_reported_as_locked(sheet):
    j1, _ = sheet["judges"]
    n1, n2, _ = sheet["nominations"]
    with session_scope(sheet["url"]) as s:
        round_ = get_round(s, "Test round")
        for q in ("Q1", "Q2", "Q3", "Q4"):
            record_score(s, round_=round_, judge_id=j1, nomination_id=n2, criterion_id=q, value=3,
                         check_rubric_file=False)
        submit_assignment(s, round_=round_, judge_id=j1, nomination_id=n2)
    report = import_scores(path=_edit(sheet, {"C5": 5, "I5": 3}), url=sheet["url"])  # I5: same as saved
    assert (report.saved, report.unchanged) == (0, 1)
    assert [str(p) for p in report.problems] == [  # Q4 still shows the 1 from before submitting
        f"row 5, column {cells} ({q}): {q}: the scores for this nomination are already submitted and locked, so this "
        "change was not saved. Ask the organiser if it must change." for cells, q in (("C-D", "Q1"), ("L-M", "Q4"))]


def test_blank_cells_never_clear_scores_given_in_the_app(sheet):
    j1, _ = sheet["judges"]
    n1, n2, _ = sheet["nominations"]
    with session_scope(sheet["url"]) as s:
        record_score(s, round_=get_round(s, "Test round"), judge_id=j1, nomination_id=n1, criterion_id="Q1",
                     value=4, check_rubric_file=False)
    report = import_scores(path=_edit(sheet, {"D4": "Comment added offline"}), url=sheet["url"])
    assert (report.saved, report.problems) == (1, [])
    assert _scores(sheet["url"]) == [(n1, "Q1", 4.0, "Comment added offline"), (n2, "Q4", 1.0, "=early thoughts")]


def test_a_conflict_after_writing_the_sheet_makes_the_row_not_assigned(sheet):
    j1, _ = sheet["judges"]
    n1, _, _ = sheet["nominations"]
    with session_scope(sheet["url"]) as s:
        s.scalar(select(Assignment).where(Assignment.judge_id == j1, Assignment.nomination_id == n1)).status = \
            "withdrawn"
    report = import_scores(path=_edit(sheet, {"C4": 3}), url=sheet["url"])
    assert [p.code for p in report.problems] == ["not_assigned"]
    assert report.saved == 0


def test_a_workbook_from_another_round_is_refused_whole(sheet):
    with session_scope(sheet["url"]) as s:
        create_round(s, name="Another round", rubric=load_rubric("inclusive-leader"))
    edited = _edit(sheet, {"C4": 3})
    report = import_scores(path=edited, url=sheet["url"], round_name="Another round")
    assert (report.saved, report.problems) == (0, [])
    assert report.fatal == ("This scoresheet is from another round ('Test round'), not 'Another round'. Import it into "
                            "its own round, or write a new scoresheet for this one.")
    assert report.summary().startswith("edited.xlsx: nothing imported. This scoresheet is from another round")
    assert _scores(sheet["url"])[0][1:] == ("Q4", 1.0, "=early thoughts")


def test_a_workbook_for_a_round_not_in_this_database_is_refused(sheet, tmp_path):
    other = f"sqlite:///{tmp_path / 'other.db'}"
    with session_scope(other) as s:
        build_panel(s, judges=1, nominations=1, k=1, name="Test round")
        create_round(s, name="Decoy", rubric=load_rubric("inclusive-leader"))
    wb = load_workbook(sheet["path"])
    meta = wb[META_SHEET]
    for row in meta.iter_rows():
        if row[0].value == "round_id":
            row[1].value = 999
    wb.save(tmp_path / "moved.xlsx")
    report = import_scores(path=tmp_path / "moved.xlsx", url=sheet["url"])
    assert report.fatal.startswith(
        "This scoresheet is from another round ('Test round'), which is not in this database")


def test_changed_headings_and_foreign_workbooks_are_refused(sheet, tmp_path):
    moved = _edit(sheet, {f"C{HEADER_ROW}": "Q2 score"}, "moved.xlsx")
    assert import_scores(path=moved, url=sheet["url"]).fatal.startswith(
        "The column headings in row 3 were changed or columns were moved")
    plain = tmp_path / "plain.xlsx"
    from openpyxl import Workbook

    Workbook().save(plain)
    assert import_scores(path=plain, url=sheet["url"]).fatal.startswith("This is not a workbench scoresheet")
    with pytest.raises(WorkbenchError, match="scores are read from a scoresheet"):
        (tmp_path / "notes.txt").write_text("x")
        import_scores(path=tmp_path / "notes.txt", url=sheet["url"])


def test_long_csv_import_reports_each_bad_row(sheet):
    n1, n2, _ = sheet["nominations"]
    path = sheet["tmp"] / "scores.csv"
    path.write_text(
        "nomination,judge,criterion,score,comment\n"
        "N0001,judge1@panel.example,Q1,4,Specific examples\n"     # 2 saved
        "N0001,judge1@panel.example,Q2,Strong,\n"                # 3 saved (label)
        "N0001,judge1@panel.example,Q3,6,\n"                     # 4 out of scale
        "N0003,judge1@panel.example,Q1,2,\n"                     # 5 not assigned
        "N0009,judge1@panel.example,Q1,2,\n"                     # 6 unknown nomination
        "N0001,someone@else.example,Q1,2,\n"                     # 7 unknown judge
        "N0001,judge1@panel.example,Q7,2,\n"                     # 8 unknown criterion
        "n0002,JUDGE1@panel.example,Q4,1,=early thoughts\n",     # 9 unchanged
        encoding="utf-8")
    report = import_scores(path=path, url=sheet["url"])
    assert [str(p) for p in report.problems] == [
        "row 4, column 'score': 6 for Q3 is not on the scale. Use a whole number from 0 to 5 (0 = No evidence, "
        "1 = Limited, 2 = Some, 3 = Good, 4 = Strong, 5 = Outstanding).",
        "row 5, column 'nomination': N0003 is not assigned to Judge Number1, so this score was not saved.",
        "row 6, column 'nomination': no nomination 'N0009' in round 'Test round'; use a reference such as N0001.",
        "row 7, column 'judge': no judge 'someone@else.example'; use the email listed by `workbench judges list`.",
        "row 8, column 'criterion': 'Q7' is not a question of this rubric; use one of Q1, Q2, Q3, Q4.",
    ]
    assert (report.rows_read, report.saved, report.unchanged) == (8, 2, 1)
    assert _scores(sheet["url"]) == [(n1, "Q1", 4.0, "Specific examples"), (n1, "Q2", 4.0, ""),
                                     (n2, "Q4", 1.0, "=early thoughts")]


def test_csv_without_the_needed_columns_is_refused(sheet):
    path = sheet["tmp"] / "wrong.csv"
    path.write_text("ref,who,score\nN0001,judge1@panel.example,3\n", encoding="utf-8")
    report = import_scores(path=path, url=sheet["url"])
    assert report.fatal == ("It needs the columns nomination, judge, criterion, score, comment (comment may be left "
                            "out); missing: nomination, judge, criterion.")
