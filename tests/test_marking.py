"""Unit marking: import (spreadsheet and folder, bad files reported), marking by the rubric's rule,
the IQA sample rule, blind second marking, assessor–IQA agreement, feedback export, CLI and app.

Store-backed tests run on SQLite and PostgreSQL (``db_url``).
"""

from __future__ import annotations

import csv
import json
import math
import zipfile

import docx
import krippendorff
import numpy as np
import openpyxl
import pytest
from sqlalchemy import func, select

from workbench.cli import main
from workbench.errors import NotAllowed, NotFound, ValidationFailed
from workbench.marking import (
    ASSESSOR,
    IQA,
    SAMPLE_RULE,
    LearnerRow,
    SampleCandidate,
    agreement_report,
    assign_assessors,
    build_unit_demo,
    choose_iqa_sample,
    cohort_status,
    draw_iqa_sample,
    export_feedback,
    import_learner_rows,
    import_submissions,
    marker_queue,
    marking_sheet,
    match_columns,
    record_marking,
    synthetic_submissions,
)
from workbench.rubric import ScoreError, load_rubric
from workbench.store import Assignment, AuditEvent, CheckEvent, Nominee, ScoreEvent, Submission, session_scope

AMY = "Amy Assessor <amy@example.org>"
BOB = "Bob Assessor <bob@example.org>"
IVY = "Ivy Quality <ivy@example.org>"
LEVELS = ["Not met", "Partly met", "Met", "Exceeded"]
HEADER = ["Learner ID", "Learner name", "Email", "Assessor", "Submission"]


def write_xlsx(path, rows):
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


def write_docx(path, paragraphs):
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    document.save(path)
    return path


def marks(*values):
    return {f"MP{i}": LEVELS[v] for i, v in enumerate(values, start=1)}


def rows(n, assessor=AMY):
    return [LearnerRow(f"L{i}", f"Learner {i} wrote about leading inclusion, version {i}.", f"Learner {i}",
                       f"l{i}@learners.example.org", assessor, where=f"row {i + 1}") for i in range(1, n + 1)]


# ---------------------------------------------------------------------------------------
# Import


def test_match_columns_recognises_headers_and_overrides():
    assert match_columns(["Candidate number", "Full name", "E-mail", "Assessor email", "Written assignment"]) == {
        "learner_id": 0, "name": 1, "email": 2, "assessor_email": 3, "submission": 4}
    assert match_columns(["Ref", "Essay"], {"learner_id": "ref", "submission": "ESSAY"}) == {
        "learner_id": 0, "submission": 1}


def test_spreadsheet_without_a_submission_column_says_what_to_rename(tmp_path, sqlite_url):
    path = write_xlsx(tmp_path / "learners.xlsx", [["Learner ID", "Essay"], ["L1", "text"]])
    with pytest.raises(ValidationFailed) as caught:
        import_submissions(source=path, url=sqlite_url)
    assert caught.value.problems[0].message.startswith(
        "no column for submission. The columns are: 'Learner ID', 'Essay'. Rename the column (accepted headers, "
        "for example: submission: 'submission', 'submission text', 'assignment', 'assignment text') or name it "
        "with --column FIELD=HEADER")


def test_spreadsheet_import_reports_every_row(db_url, tmp_path):
    path = write_xlsx(tmp_path / "cohort.xlsx", [
        HEADER,
        ["L1", "Amara Okafor", "amara@learners.example.org", AMY, "=SUM(A1) is how I did NOT start. I led training."],
        ["L2", "Ben Brennan", "ben@learners.example.org", "Bob Assessor", "I reviewed our visiting policy."],
        ["", "No Id", "", AMY, "Some text"],
        ["L3", "Carys Hughes", "", AMY, "   "],
        ["L4", "Dev Patel", "", AMY, "First version"],
        ["L4", "Dev Patel", "", AMY, "Second version"],
        ["L5", "Ewa Nowak", "", AMY, "Same text twice"],
        ["L5", "Ewa Nowak", "", AMY, "Same text twice"],
        ["L6", "Femi Eze", "", BOB, "I reviewed our visiting policy."],
    ])
    report = import_submissions(source=path, cohort="Spring 2026", url=db_url)
    assert report.imported == ["L1", "L2", "L5", "L6"]
    assert [str(p) for p in report.skipped] == [
        "row 4: no learner ID; add the learner's ID (or email) in 'Learner ID'.",
        "row 5 (L3): the submission is empty; nothing to mark. Add the learner's work and import again.",
        "row 6 (L4): learner L4 appears 2 times (row 6, row 7) with different work; none of them was imported. "
        "Keep one and import again.",
        "row 7 (L4): learner L4 appears 2 times (row 6, row 7) with different work; none of them was imported. "
        "Keep one and import again.",
    ]
    assert [str(p) for p in report.warnings] == [
        "row 8, row 9 (L5): the same learner and text appear 2 times; imported once.",
        "row 10 (L6): the text is the same as learner L2's (row 3); both were imported. Check that each learner's "
        "own work was supplied.",
    ]
    assert report.assessors_added == ["Amy Assessor <amy@example.org>", "Bob Assessor (no email given)",
                                      "Bob Assessor <bob@example.org>"]
    assert report.columns == {"learner_id": "Learner ID", "name": "Learner name", "email": "Email",
                              "assessor": "Assessor", "submission": "Submission"}
    assert report.unassigned == []
    with session_scope(db_url) as s:
        stored = {sub.nomination.source_key: sub.text for sub in s.scalars(select(Submission))}
        people = {n.nomination.source_key: (n.name, n.email) for n in s.scalars(select(Nominee))}
        roles = sorted((a.nomination.source_key, a.judge.name, a.role) for a in s.scalars(select(Assignment)))
    assert stored["L1"] == "=SUM(A1) is how I did NOT start. I led training."
    assert people["L1"] == ("Amara Okafor", "amara@learners.example.org")
    assert roles == [("L1", "Amy Assessor", ASSESSOR), ("L2", "Bob Assessor", ASSESSOR),
                     ("L5", "Amy Assessor", ASSESSOR), ("L6", "Bob Assessor", ASSESSOR)]


def test_reimport_is_idempotent_and_never_replaces_marked_work(db_url, tmp_path):
    path = tmp_path / "cohort.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([HEADER, ["L1", "Amara", "", AMY, "Version one"],
                                 ["L2", "Ben", "", AMY, "Version one"]])
    first = import_submissions(source=path, url=db_url)
    assert (first.cohort, first.imported) == ("edi-unit", ["L1", "L2"])
    again = import_submissions(source=path, url=db_url)
    assert (again.imported, again.updated, again.unchanged, again.skipped) == ([], [], ["L1", "L2"], [])
    record_marking(learner="L1", marker="amy@example.org", marks={"MP1": "Met"}, url=db_url)
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([HEADER, ["L1", "Amara", "", AMY, "Version two"],
                                 ["L2", "Ben", "", AMY, "Version two"]])
    changed = import_submissions(source=path, url=db_url)
    assert changed.updated == ["L2"]
    assert [str(p) for p in changed.skipped] == [
        "row 2 (L1): this learner's marking has already started, so the changed text or details were not imported "
        "(the marks would no longer match the work). Ask the organiser to open a new cohort for a resubmission."]
    with session_scope(db_url) as s:
        texts = {sub.nomination.source_key: sub.text for sub in s.scalars(select(Submission))}
    assert texts == {"L1": "Version one", "L2": "Version two"}


def test_folder_import_reports_unreadable_empty_and_duplicate_files(db_url, tmp_path):
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "L0001.txt").write_text("My reflective account.\nSecond line.", encoding="utf-8")
    write_docx(folder / "L0002.docx", ["Reflective account", "I led the equality impact assessment."])
    (folder / "L0003.docx").write_bytes(b"PK\x03\x04 this is not really a Word file")
    (folder / "L0004.txt").write_text("  \n ", encoding="utf-8")
    (folder / "L0005.txt").write_text("One copy", encoding="utf-8")
    write_docx(folder / "l0005.docx", ["Another copy"])
    (folder / "L0006.txt").write_bytes("Café culture and naïve policies".encode("cp1252"))
    (folder / "L0007.txt").write_bytes(b"\x00\x01\x02binary")
    (folder / "~$L0002.docx").write_bytes(b"lock")
    (folder / "L0008.pdf").write_bytes(b"%PDF-1.4")
    (folder / ".DS_Store").write_bytes(b"x")
    (folder / "late").mkdir()
    report = import_submissions(source=folder, cohort="Folder cohort", url=db_url)
    assert report.imported == ["L0001", "L0002", "L0006"]
    assert [str(p) for p in report.skipped] == [
        ".DS_Store: a hidden system file; ignored.",
        "L0003.docx (L0003): could not be read as a Word document; it may be damaged, password-protected or "
        "renamed from another format. Open it and save it again as .docx or .txt.",
        "L0007.txt (L0007): could not be read as plain text; it may be damaged, password-protected or renamed from "
        "another format. Open it and save it again as .docx or .txt.",
        "L0008.pdf (L0008): not read: it is a PDF, which is not read; ask for the .docx, or save the text as .txt.",
        "late/: subfolders are not read; move the files in it up into work to import them.",
        "~$L0002.docx: a Word lock file (left while a document is open in Word); ignored. Close Word and delete it.",
        "L0004.txt (L0004): the submission is empty; nothing to mark. Add the learner's work and import again.",
        "l0005.docx (l0005): learner l0005 appears 2 times (l0005.docx, L0005.txt) with different work; none of "
        "them was imported. Keep one and import again.",
        "L0005.txt (L0005): learner l0005 appears 2 times (l0005.docx, L0005.txt) with different work; none of "
        "them was imported. Keep one and import again.",
    ]
    assert [str(p) for p in report.warnings] == [
        "L0006.txt (L0006): read as Windows-1252 text (not UTF-8); check that accented letters look right."]
    assert report.unassigned == ["L0001", "L0002", "L0006"]
    with session_scope(db_url) as s:
        stored = {sub.nomination.source_key: (sub.text, sub.source_format, sub.word_count)
                  for sub in s.scalars(select(Submission))}
    assert stored == {"L0001": ("My reflective account.\nSecond line.", "txt", 5),
                      "L0002": ("Reflective account\nI led the equality impact assessment.", "docx", 8),
                      "L0006": ("Café culture and naïve policies", "txt", 5)}
    done = assign_assessors(assessors=[AMY, BOB], cohort="Folder cohort", url=db_url)
    assert [(a.learner_id, a.marker) for a in done] == [("L0001", "Amy Assessor"), ("L0002", "Bob Assessor"),
                                                        ("L0006", "Amy Assessor")]


# ---------------------------------------------------------------------------------------
# Marking and the outcome rule


def test_marks_follow_the_rubric_rule_and_are_append_only(db_url):
    import_learner_rows(rows=rows(1), url=db_url)
    sheet = record_marking(learner="L1", marker="amy@example.org", marks=marks(2, 1, 3, 2),
                           notes={"MP2": "Talks about training but did not lead any."}, ticks={"MC3": True},
                           url=db_url)
    assert [(p.criterion, p.label, p.note) for p in sheet.points] == [
        ("MP1", "Met", ""), ("MP2", "Partly met", "Talks about training but did not lead any."),
        ("MP3", "Exceeded", ""), ("MP4", "Met", "")]
    assert (sheet.outcome, sheet.outcome_reason) == ("Refer", "Below Met on: MP2.")
    assert [c.check for c in sheet.checks if c.ticked] == ["MC3"]
    again = record_marking(learner="L1", marker="amy@example.org", marks=marks(2, 1, 3, 2),
                           notes={"MP2": "Talks about training but did not lead any."}, ticks={"MC3": True},
                           url=db_url)
    assert again.points == sheet.points
    fixed = record_marking(learner="L1", marker="Amy Assessor", marks={"MP2": 2}, url=db_url, submit=True)
    assert (fixed.outcome, fixed.outcome_reason, fixed.submitted) == (
        "Pass", "Every criterion reaches the required level.", True)
    assert fixed.points[1].note == "Talks about training but did not lead any."
    with session_scope(db_url) as s:
        events = s.execute(select(ScoreEvent.criterion_id, ScoreEvent.value, ScoreEvent.rubric_hash,
                                  ScoreEvent.source).order_by(ScoreEvent.id)).all()
        ticks = s.scalar(select(func.count()).select_from(CheckEvent))
    assert [(c, v) for c, v, _, _ in events] == [("MP1", 2), ("MP2", 1), ("MP3", 3), ("MP4", 2), ("MP2", 2)]
    assert {h for _, _, h, _ in events} == {load_rubric("edi-unit").hash}
    assert {src for *_, src in events} == {"unit-marking"}
    assert ticks == 1
    with pytest.raises(NotAllowed, match="^Your marking of learner L1 is submitted and locked; nothing was changed.$"):
        record_marking(learner="L1", marker="amy@example.org", marks={"MP1": "Exceeded"}, url=db_url)


def test_submit_needs_every_marking_point_and_unknown_items_are_refused(db_url):
    import_learner_rows(rows=rows(2), url=db_url)
    with pytest.raises(NotAllowed) as caught:
        record_marking(learner="L1", marker="amy@example.org", marks={"MP1": "Met"}, submit=True, url=db_url)
    assert str(caught.value) == ("Mark every marking point before submitting. Still to mark: MP2 (Proactive strategies "
                                 "to champion diversity), MP3 (A developed system or process that promotes equality), "
                                 "MP4 (Balanced approach to risk and individual rights). Nothing was submitted.")
    with pytest.raises(ScoreError) as caught:
        record_marking(learner="L1", marker="amy@example.org", marks={"MP2": "Great"}, url=db_url)
    assert str(caught.value) == "'Great' for MP2 is not a score on this scale. Use one of: 0 = Not met, 1 = Partly met, " \
                                "2 = Met, 3 = Exceeded."
    with pytest.raises(NotFound, match="The rubric has no check MC9; its checks are: MC1, MC2, MC3, MC4."):
        record_marking(learner="L1", marker="amy@example.org", ticks={"MC9": True}, url=db_url)
    with pytest.raises(NotFound, match="No learner 'L99' in the cohort 'edi-unit'"):
        record_marking(learner="L99", marker="amy@example.org", marks={"MP1": "Met"}, url=db_url)
    assign_assessors(assessors=[BOB], learners=["L2"], url=db_url)
    with pytest.raises(NotAllowed, match="^Amy Assessor is not the assessor or IQA for learner L2"):
        marking_sheet(learner="L2", marker="amy@example.org", url=db_url)


# ---------------------------------------------------------------------------------------
# The IQA sample


def _frame():
    """Three assessors: A gives 10 Pass and 2 Refer, B 6 Pass only, C 1 Pass and 1 Refer (20 learners)."""
    spec = [("a@x", "Pass")] * 10 + [("a@x", "Refer")] * 2 + [("b@x", "Pass")] * 6 + [("c@x", "Pass"),
                                                                                    ("c@x", "Refer")]
    return [SampleCandidate(f"N{i:04d}", a, o) for i, (a, o) in enumerate(spec, start=1)]


def test_sample_covers_every_assessor_and_outcome_and_reaches_the_percentage():
    frame = _frame()
    outcome = {c.learner: (c.assessor, c.outcome) for c in frame}
    for seed in range(20):
        picks = choose_iqa_sample(frame, cohort_size=40, seed=seed, percent=25)
        strata = {outcome[p.learner] for p in picks}
        assert strata == {("a@x", "Pass"), ("a@x", "Refer"), ("b@x", "Pass"), ("c@x", "Pass"), ("c@x", "Refer")}
        assert len(picks) == 10 == math.ceil(0.25 * 40)
        assert len({p.learner for p in picks}) == 10
    assert choose_iqa_sample(frame, cohort_size=40, seed=3) == choose_iqa_sample(list(reversed(frame)),
                                                                                 cohort_size=40, seed=3)
    assert choose_iqa_sample(frame, cohort_size=40, seed=3) != choose_iqa_sample(frame, cohort_size=40, seed=4)


def test_sample_top_up_goes_to_the_least_sampled_assessor_and_keeps_earlier_picks():
    frame = _frame()
    picks = choose_iqa_sample(frame, cohort_size=20, seed=1, percent=40)
    per_assessor = {a: sum(1 for p in picks if p.assessor == a) for a in ("a@x", "b@x", "c@x")}
    assert per_assessor == {"a@x": 4, "b@x": 2, "c@x": 2}
    assert [p.reason for p in picks[:5]] == [
        "every assessor, every outcome: Pass for a@x", "every assessor, every outcome: Refer for a@x",
        "every assessor, every outcome: Pass for b@x", "every assessor, every outcome: Pass for c@x",
        "every assessor, every outcome: Refer for c@x"]
    assert {p.reason for p in picks[5:]} == {"to reach 40% of the cohort"}
    earlier = {"N0001", "N0011", "N0013"}  # a@x Pass, a@x Refer, b@x Pass already sampled
    more = choose_iqa_sample(frame, cohort_size=20, seed=1, percent=10, already=earlier)
    assert [(p.assessor, p.outcome) for p in more] == [("c@x", "Pass"), ("c@x", "Refer")]


def _marked_cohort(url, plan, *, cohort="Sample cohort"):
    """Import learners and have their assessor submit the marks in ``plan``: [(assessor, (MP1..MP4))]."""
    with session_scope(url) as s:  # one transaction, as a caller with its own session would do
        import_learner_rows(rows=[LearnerRow(f"L{i:02d}", f"Work of learner {i}.", f"Learner {i}", "", assessor,
                                             where=f"row {i}") for i, (assessor, _) in enumerate(plan, start=1)],
                            cohort=cohort, session=s)
        for i, (assessor, values) in enumerate(plan, start=1):
            record_marking(learner=f"L{i:02d}", marker=assessor, marks=marks(*values), submit=True, cohort=cohort,
                           session=s)


def test_draw_iqa_sample_is_recorded_reproducible_and_never_the_assessor(db_url, tmp_path):
    plan = [(AMY, (2, 2, 2, 2))] * 8 + [(AMY, (1, 2, 2, 2))] * 2 + [(BOB, (3, 3, 2, 2))] * 9 + [(BOB, (2, 2, 2, 2))]
    plan = plan + [(BOB, (2, 2, 2, 2))]  # 21 learners, one of them not yet marked (below)
    _marked_cohort(db_url, plan[:20])
    import_learner_rows(rows=[LearnerRow("L21", "Late work.", "Late", "", BOB, where="row 21")],
                        cohort="Sample cohort", url=db_url)
    report = draw_iqa_sample(iqa=[IVY, BOB], seed=11, cohort="Sample cohort", actor="organiser", url=db_url)
    assert (report.cohort_size, report.target, report.marked, report.shortfall) == (21, 3, 20, 0)
    assert report.coverage == {"Amy Assessor": {"Pass": [8, 1], "Refer": [2, 1]},
                               "Bob Assessor": {"Pass": [10, 1]}}
    assert len(report.sample) == 3 and all(x.new for x in report.sample)
    assert {(x.assessor, x.outcome) for x in report.sample} == {("Amy Assessor", "Pass"), ("Amy Assessor", "Refer"),
                                                                ("Bob Assessor", "Pass")}
    assert all(x.iqa != x.assessor for x in report.sample)
    assert report.rule == SAMPLE_RULE.format(percent=10)
    assert "1 learner(s) are not marked yet, so they could not be sampled" in report.describe()
    again = draw_iqa_sample(iqa=[IVY], seed=99, cohort="Sample cohort", url=db_url)
    assert [(x.learner_id, x.new) for x in again.sample] == [(x.learner_id, False) for x in report.sample]
    with session_scope(db_url) as s:
        audit = s.scalars(select(AuditEvent).where(AuditEvent.action == "iqa-sample").order_by(AuditEvent.id)).all()
    assert [(a.actor, a.detail["seed"], len(a.detail["picks"])) for a in audit] == [("organiser", 11, 3), ("", 99, 0)]
    twin = f"sqlite:///{tmp_path / 'twin.db'}"
    _marked_cohort(twin, plan[:20])
    import_learner_rows(rows=[LearnerRow("L21", "Late work.", "Late", "", BOB, where="row 21")],
                        cohort="Sample cohort", url=twin)
    same = draw_iqa_sample(iqa=[IVY, BOB], seed=11, cohort="Sample cohort", actor="organiser", url=twin)
    assert [(x.learner_id, x.iqa, x.reason) for x in same.sample] == [(x.learner_id, x.iqa, x.reason)
                                                                       for x in report.sample]


# ---------------------------------------------------------------------------------------
# Blind second marking and agreement


#: Assessor and IQA marks (MP1..MP4) and misconceptions ticked, for the agreement case.
ASSESSOR_MARKS = {"L01": (2, 2, 2, 2), "L02": (1, 2, 3, 2), "L03": (3, 3, 2, 2), "L04": (0, 1, 1, 2), "L05": (2, 2, 2, 2)}
IQA_MARKS = {"L01": (2, 2, 2, 2), "L02": (2, 2, 3, 2), "L03": (3, 2, 2, 2), "L04": (0, 1, 2, 1)}
ASSESSOR_TICKS = {"L04": {"MC1": True}}
IQA_TICKS = {"L02": {"MC3": True}, "L04": {"MC1": True}}


def test_second_marking_is_blind_until_the_iqa_submits(db_url):
    _marked_cohort(db_url, [(AMY, (2, 1, 2, 2))])
    draw_iqa_sample(iqa=[IVY], seed=1, percent=100, cohort="Sample cohort", url=db_url)
    assert [(e.learner_id, e.role, e.status) for e in marker_queue(marker="ivy@example.org", url=db_url)] == [
        ("L01", IQA, "Not started")]
    blind = marking_sheet(learner="L01", marker="ivy@example.org", url=db_url)
    assert (blind.role, blind.counterpart, blind.outcome) == (IQA, None, None)
    assert blind.counterpart_note == ("The assessor's marks and outcome are hidden until you submit your own marking "
                                      "(blind second marking).")
    assert [p.value for p in blind.points] == [None, None, None, None]
    assert blind.submission == "Work of learner 1."
    saved = record_marking(learner="L01", marker="ivy@example.org", marks=marks(2, 2, 2, 2), url=db_url)
    assert saved.counterpart is None
    assessor_view = marking_sheet(learner="L01", marker="amy@example.org", url=db_url)
    assert assessor_view.counterpart is None
    assert assessor_view.counterpart_note == ("This learner is in the IQA sample; the IQA's marks appear here once the "
                                              "IQA submits.")
    done = record_marking(learner="L01", marker="ivy@example.org", submit=True, url=db_url)
    assert done.counterpart.role == ASSESSOR
    assert ([p.label for p in done.counterpart.points], done.counterpart.outcome) == (
        ["Met", "Partly met", "Met", "Met"], "Refer")
    assert marking_sheet(learner="L01", marker="amy@example.org", url=db_url).counterpart.outcome == "Pass"
    assert [(r.learner_id, r.outcome, r.sampled, r.iqa_status, r.iqa_outcome) for r in cohort_status(url=db_url)] == [
        ("L01", "Refer", True, "Submitted", "Pass")]


def test_iqa_must_not_be_the_assessor(db_url):
    _marked_cohort(db_url, [(AMY, (2, 2, 2, 2))])
    with pytest.raises(Exception, match="^Amy Assessor is the only IQA named and is the assessor of learner L01; "
                                        "name another IQA. Nothing was sampled.$"):
        draw_iqa_sample(iqa=[AMY], seed=1, percent=100, cohort="Sample cohort", url=db_url)


def _agreement_case(url):
    import_learner_rows(rows=[LearnerRow(k, f"Work of {k}.", f"Learner {k}", "", AMY, where=k)
                              for k in ASSESSOR_MARKS], cohort="Agreement", url=url)
    for learner, values in ASSESSOR_MARKS.items():
        record_marking(learner=learner, marker=AMY, marks=marks(*values), ticks=ASSESSOR_TICKS.get(learner, {}),
                       submit=True, cohort="Agreement", url=url)
    draw_iqa_sample(iqa=[IVY], seed=5, percent=100, cohort="Agreement", url=url)
    for learner, values in IQA_MARKS.items():
        record_marking(learner=learner, marker=IVY, marks=marks(*values), ticks=IQA_TICKS.get(learner, {}),
                       submit=True, cohort="Agreement", url=url)


def test_agreement_report_on_a_constructed_case(db_url):
    _agreement_case(db_url)
    report = agreement_report(cohort="Agreement", url=db_url)
    assert (report.compared, report.pending) == (4, ("L05",))
    assert [(p.criterion, p.pairs, p.exact[0], p.within_one[0]) for p in report.points] == [
        ("MP1", 4, 0.75, 1.0), ("MP2", 4, 0.75, 1.0), ("MP3", 4, 0.75, 1.0), ("MP4", 4, 0.75, 1.0)]
    # MP1 pairs (2,2) (1,2) (3,3) (0,0), linear weights on 0-3: p_o = 11/12, p_e = 7/12, kappa = 0.8.
    assert report.points[0].kappa == (pytest.approx(0.8), None)
    assert (report.pooled.pairs, report.pooled.exact[0], report.pooled.within_one[0]) == (16, 0.75, 1.0)
    # Outcome: (Pass, Pass), (Refer, Pass), (Pass, Pass), (Refer, Refer): p_o = 3/4, p_e = 1/2, kappa = 0.5.
    assert (report.outcome_exact, report.outcome_kappa) == ((0.75, None), (pytest.approx(0.5), None))
    for point in report.points:
        table = np.array([[ASSESSOR_MARKS[k][int(point.criterion[2]) - 1] for k in IQA_MARKS],
                          [IQA_MARKS[k][int(point.criterion[2]) - 1] for k in IQA_MARKS]], dtype=float)
        expected = krippendorff.alpha(reliability_data=table, level_of_measurement="ordinal",
                                      value_domain=[0, 1, 2, 3])
        assert point.alpha[0] == pytest.approx(expected)
    checks = {c.criterion: (c.exact[0], c.kappa) for c in report.checks}
    assert checks["MC1"] == (1.0, (pytest.approx(1.0), None))
    assert checks["MC3"] == (0.75, (0.0, None))
    assert checks["MC2"][1] == (None, "Every rating is in the same category, so agreement cannot be told apart from "
                                      "chance and Cohen's kappa is undefined.")
    assert [(d.learner_id, d.item, d.assessor, d.iqa) for d in report.disagreements] == [
        ("L02", "MP1", "Partly met", "Met"), ("L02", "MC3", "not ticked", "ticked"), ("L02", "outcome", "Refer", "Pass"),
        ("L03", "MP2", "Exceeded", "Met"), ("L04", "MP3", "Partly met", "Met"), ("L04", "MP4", "Met", "Partly met")]
    data = json.loads(json.dumps(report.to_dict()))
    assert data["outcome"] == {"exact": {"value": 0.75, "note": None}, "kappa": {"value": pytest.approx(0.5),
                                                                                 "note": None}}


def test_agreement_before_any_second_marking_explains_itself(db_url):
    _marked_cohort(db_url, [(AMY, (2, 2, 2, 2))])
    report = agreement_report(url=db_url)
    assert (report.compared, report.points[0].kappa) == (
        0, (None, "No learner has been marked by both the assessor and the IQA yet."))


# ---------------------------------------------------------------------------------------
# Feedback


def _docx_text(path):
    document = docx.Document(str(path))
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        lines += [" | ".join(cell.text for cell in row.cells) for row in table.rows]
    return lines


def test_feedback_export_docx_and_xlsx(db_url, tmp_path):
    import_learner_rows(rows=rows(3), cohort="Feedback", url=db_url)
    record_marking(learner="L1", marker=AMY, marks=marks(2, 1, 3, 2), cohort="Feedback", url=db_url, submit=True,
                   notes={"MP2": "=No evidence of leading training", "MP3": "Clear EIA with a review date."},
                   ticks={"MC3": True}, tick_notes={"MC3": "Policy written alone."})
    record_marking(learner="L2", marker=AMY, marks=marks(3, 3, 3, 3), cohort="Feedback", url=db_url, submit=True)
    result = export_feedback(out=tmp_path / "out", formats=("docx", "xlsx"), cohort="Feedback", url=db_url)
    assert result.written == ("feedback-L1.docx", "feedback-L1.xlsx", "feedback-L2.docx", "feedback-L2.xlsx")
    assert [(p.learner, p.message) for p in result.skipped] == [("L3", "the assessor has not submitted the marking yet.")]
    lines = _docx_text(tmp_path / "out" / "feedback-L1.docx")
    rubric = load_rubric("edi-unit")
    assert lines[:5] == ["Feedback on your assignment", "Outcome: Refer", "Below Met on: MP2.",
                         "Marking points to work on: MP2 Proactive strategies to champion diversity.",
                         "To pass, every marking point must be at least Met; otherwise the outcome is Refer."]
    assert ("MC3: " + " ".join(rubric.checks[2].text.split()) + " Avoid this in your next piece of work. "
            "Assessor's note: Policy written alone.") in lines
    assert " ".join(rubric.guidance[0].split()) in lines
    assert "Learner | Learner 1" in lines and "Learner ID | L1" in lines and "Assessor | Amy Assessor" in lines
    assert ("MP2 Proactive strategies to champion diversity | Partly met | "
            + " ".join(rubric.criteria[1].scale.levels[1].descriptor.split())
            + " | =No evidence of leading training") in lines
    everything = "\n".join(lines)
    assert "Learner 2" not in everything and "L2" not in everything and "Learner 3" not in everything
    book = openpyxl.load_workbook(tmp_path / "out" / "feedback-L1.xlsx")
    sheet = book["Feedback"]
    cells = {(c.row, c.column): c for row in sheet.iter_rows() for c in row if c.value is not None}
    formula_like = [c for c in cells.values() if c.value == "=No evidence of leading training"]
    assert [(c.data_type, c.quotePrefix) for c in formula_like] == [("s", True)]
    values = [c.value for c in cells.values()]
    assert "Refer" in values and "Below Met on: MP2." in values and "MC3" in values
    assert not any(isinstance(v, str) and ("Learner 2" in v or v == "L2") for v in values)
    with zipfile.ZipFile(tmp_path / "out" / "feedback-L1.xlsx") as z:
        assert "<f>" not in z.read("xl/worksheets/sheet1.xml").decode()
    first = {name: (tmp_path / "out" / name).read_bytes() for name in result.written}
    export_feedback(out=tmp_path / "again", formats=("docx", "xlsx"), cohort="Feedback", url=db_url)
    assert {name: (tmp_path / "again" / name).read_bytes() for name in result.written} == first


# ---------------------------------------------------------------------------------------
# The whole flow through the command line


def test_cli_flow_from_import_to_feedback(tmp_path, capsys):
    db = str(tmp_path / "unit.db")
    folder = tmp_path / "submissions"
    folder.mkdir()
    for learner in synthetic_submissions(count=4, seed=3):
        (folder / f"{learner.learner_id}.txt").write_text(learner.text, encoding="utf-8")
    (folder / "L0009.doc").write_bytes(b"old")
    assert main(["unit", "import", str(folder), "--cohort", "CLI cohort", "--db", db]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[:3] == [
        "Cohort 'CLI cohort' from folder submissions: 4 imported, 0 updated, 0 unchanged, 1 not imported.",
        "Not imported (fix these and import again):",
        "  - L0009.doc (L0009): not read: it is an old Word (.doc) file; open it in Word and save it as .docx."]
    assert main(["unit", "assign", "--assessor", AMY, "--assessor", BOB, "--db", db]) == 0
    assert capsys.readouterr().out.splitlines() == ["L0001: Amy Assessor", "L0002: Bob Assessor", "L0003: Amy Assessor",
                                                    "L0004: Bob Assessor", "4 learner(s) assigned."]
    for learner, by, levels in (("L0001", "amy@example.org", ["Met"] * 4), ("L0002", "bob@example.org", ["Met"] * 4),
                                ("L0003", "amy@example.org", ["Partly met", "Met", "Met", "Met"]),
                                ("L0004", "bob@example.org", ["Exceeded"] * 4)):
        args = [f"MP{i}={level}" for i, level in enumerate(levels, start=1)]
        assert main(["unit", "mark", "--learner", learner, "--by", by, *args, "--note", "MP1=Applies the Act.",
                     "--tick", "MC1", "--submit", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "  Outcome: Refer (Below Met on: MP1.)" in out
    assert main(["unit", "sample", "--seed", "2", "--iqa", IVY, "--json", "--db", db]) == 0
    sample = json.loads(capsys.readouterr().out)
    assert (sample["target"], len(sample["sample"])) == (1, 3)
    assert {(x["assessor"], x["outcome"]) for x in sample["sample"]} == {
        ("Amy Assessor", "Pass"), ("Amy Assessor", "Refer"), ("Bob Assessor", "Pass")}
    for x in sample["sample"]:
        assert main(["unit", "mark", "--learner", x["learner_id"], "--by", "ivy@example.org", "MP1=Met", "MP2=Met",
                     "MP3=Met", "MP4=Met", "--submit", "--db", db]) == 0
    capsys.readouterr()
    assert main(["unit", "agreement", "--json", "--db", db]) == 0
    agreement = json.loads(capsys.readouterr().out)
    assert agreement["compared"] == 3
    assert main(["unit", "learners", "--json", "--db", db]) == 0
    assert [r["outcome"] for r in json.loads(capsys.readouterr().out)] == ["Pass", "Pass", "Refer", "Pass"]
    assert main(["unit", "feedback", "--out", str(tmp_path / "fb"), "--format", "both", "--db", db]) == 0
    assert capsys.readouterr().out == "8 feedback file(s) written.\n"
    assert main(["unit", "mark", "--learner", "L0001", "--by", "amy@example.org", "MP1=Met", "--db", db]) == 1
    assert capsys.readouterr().err == "error: Your marking of learner L0001 is submitted and locked; nothing was changed.\n"


def test_synthetic_submissions_are_fictional_varied_and_reproducible():
    learners = synthetic_submissions(count=12, seed=5)
    assert learners == synthetic_submissions(count=12, seed=5)
    assert len({x.text for x in learners}) == 12 and len({x.name for x in learners}) == 12
    assert all(x.email.endswith("@learners.example.org") for x in learners)
    assert {v for x in learners for v in x.levels.values()} <= {0, 1, 2, 3}
    assert sorted({x.assessor for x in learners}) == sorted(
        ["Dami Oyelaran <dami.oyelaran@example.org>", "Henrik Lund <henrik.lund@example.org>",
         "Morag Fenwick <morag.fenwick@example.org>"])


@pytest.mark.slow
def test_demo_cohort_is_marked_sampled_and_second_marked(sqlite_url):
    demo = build_unit_demo(url=sqlite_url, count=12)
    assert (demo.learners, demo.assessors) == (12, 3)
    status = cohort_status(url=sqlite_url)
    assert all(r.assessor_status == "Submitted" for r in status)
    assert sum(r.sampled for r in status) == demo.sampled >= 3
    assert agreement_report(url=sqlite_url).compared == demo.sampled
