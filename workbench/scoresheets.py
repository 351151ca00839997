"""Offline scoresheets: an Excel workbook per judge, and reading scores back (also from a long CSV).

:func:`write_scoresheet` writes one row per nomination assigned to the judge: the reference,
then for each question the answer (locked), a score cell (limited by data validation to the
rubric's scale) and a comment cell. Everything but the score and comment cells is locked (sheet
protection). A very hidden ``_workbench`` sheet records the round, the rubric hash, the judge,
each row's nomination and a hash of each answer shown, so that reading it back can tell a
workbook from another round or an edited answer.

:func:`import_scores` reads a scoresheet, or a CSV with the columns ``nomination, judge,
criterion, score, comment``, and reports like the nomination import: each bad cell is one line
with its row and column (an out-of-scale score, an edited answer, a nomination not assigned to
the judge, a locked submission), and everything else is saved. A workbook from another round, or
written under another rubric version, is refused as a whole (``fatal``). Scores that did not
change are not saved again, so importing the same file twice adds nothing. A blank score cell
means "nothing entered here": it never clears a score given in the app.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import select
from sqlalchemy.orm import Session

from workbench.errors import NotFound, WorkbenchError
from workbench.panel import round_rubric
from workbench.rubric import Rubric
from workbench.scoring import judge_scores, record_score
from workbench.store import Assignment, Judge, Nomination, Round, session_scope

FORMAT_VERSION = 1
SHEET = "Scores"
GUIDE_SHEET = "What the scores mean"
META_SHEET = "_workbench"
HEADER_ROW = 3
FIRST_ROW = HEADER_ROW + 1
CSV_COLUMNS = ("nomination", "judge", "criterion", "score", "comment")


def _digest(text: str) -> str:
    return hashlib.sha256((text or "").encode("utf-8")).hexdigest()[:16]


def _text_cell(ws, row: int, column: int, text: str | None):
    """Write text that is never a formula, even when it starts with ``=``."""
    cell = ws.cell(row=row, column=column, value=text or None)
    if text:
        cell.data_type = "s"
    return cell


def _headers(rubric: Rubric) -> list[str]:
    headers = ["Nomination"]
    for c in rubric.criteria:
        headers += [f"{c.id} answer", f"{c.id} score", f"{c.id} comment"]
    return headers


# ---------------------------------------------------------------------------------------
# Writing


def write_scoresheet(session: Session, *, round_: Round, judge_id: int, path: str | Path) -> str:
    """Write the judge's scoresheet to ``path`` (.xlsx); returns a one-line summary."""
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise WorkbenchError(f"Scoresheets are Excel files: give a name ending in .xlsx (not {path.name!r}).")
    judge = session.get(Judge, judge_id)
    if judge is None:
        raise NotFound(f"No judge with id {judge_id}. List judges with `workbench judges list`.")
    rubric = round_rubric(session, round_, check_file=False)
    rows = session.execute(
        select(Assignment, Nomination).join(Nomination, Nomination.id == Assignment.nomination_id)
        .where(Assignment.round_id == round_.id, Assignment.judge_id == judge_id, Assignment.status == "active",
               Assignment.role == "judge")
        .order_by(Assignment.position, Assignment.id)).all()

    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    headers = _headers(rubric)
    last = get_column_letter(len(headers))
    ws["A1"] = f"Scoresheet for {judge.name}: round {round_.name} ({rubric.title})"
    ws["A1"].font = Font(bold=True, size=14)
    ws["A2"] = ("Type a whole-number score in each 'score' column and, if you like, a comment. Everything else is "
                "locked. The meaning of each score is on the sheet 'What the scores mean'. When you are done, send "
                "the file back to the organiser.")
    ws["A2"].alignment = Alignment(wrap_text=True, vertical="top")
    ws.merge_cells(f"A1:{last}1")
    ws.merge_cells(f"A2:{last}2")
    ws.row_dimensions[2].height = 45
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    for column, title in enumerate(headers, start=1):
        cell = ws.cell(row=HEADER_ROW, column=column, value=title)
        cell.font = Font(bold=True)
        cell.fill = header_fill
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = ws.cell(row=FIRST_ROW, column=2)
    ws.column_dimensions["A"].width = 12

    score_fill = PatternFill("solid", fgColor="FFF2CC")
    meta_rows: list[list[Any]] = []
    for offset, (assignment, nomination) in enumerate(rows):
        row = FIRST_ROW + offset
        ws.cell(row=row, column=1, value=nomination.reference)
        mine = judge_scores(session, round_=round_, judge_id=judge_id, nomination_id=nomination.id)
        hashes = []
        for index, c in enumerate(rubric.criteria):
            base = 2 + 3 * index
            answer = nomination.answer(c.id)
            hashes.append(_digest(answer))
            answer_cell = _text_cell(ws, row, base, answer)
            answer_cell.alignment = Alignment(wrap_text=True, vertical="top")
            current = mine.get(c.id, {})
            score_cell = ws.cell(row=row, column=base + 1, value=current.get("value"))
            comment_cell = _text_cell(ws, row, base + 2, current.get("comment", ""))
            comment_cell.alignment = Alignment(wrap_text=True, vertical="top")
            if assignment.submitted_at is None:
                for cell in (score_cell, comment_cell):
                    cell.protection = Protection(locked=False)
                    cell.fill = score_fill
        ws.row_dimensions[row].height = 150
        meta_rows.append([row, nomination.id, nomination.reference, *hashes,
                          "submitted" if assignment.submitted_at else "open"])

    for index, c in enumerate(rubric.criteria):
        base = 2 + 3 * index
        ws.column_dimensions[get_column_letter(base)].width = 60
        ws.column_dimensions[get_column_letter(base + 1)].width = 9
        ws.column_dimensions[get_column_letter(base + 2)].width = 30
        if rows:
            scale = c.scale
            contiguous = scale.values == list(range(scale.min, scale.max + 1))
            validation = DataValidation(
                type="whole" if contiguous else "list", operator="between" if contiguous else None,
                formula1=str(scale.min) if contiguous else '"' + ",".join(map(str, scale.values)) + '"',
                formula2=str(scale.max) if contiguous else None, allow_blank=True, showErrorMessage=True,
                errorTitle="Not on the scale", error=f"{c.id}: type a whole number from {scale.min} to {scale.max}.",
                showInputMessage=True, promptTitle=f"{c.id} score"[:32],
                prompt="; ".join(f"{level.value} = {level.label}" for level in scale.levels)[:255])
            letter = get_column_letter(base + 1)
            validation.add(f"{letter}{FIRST_ROW}:{letter}{FIRST_ROW + len(rows) - 1}")
            ws.add_data_validation(validation)
    ws.protection.sheet = True
    ws.protection.formatColumns = False
    ws.protection.formatRows = False

    guide = wb.create_sheet(GUIDE_SHEET)
    guide.append(["Question", "Score", "Label", "What it means"])
    for cell in guide[1]:
        cell.font = Font(bold=True)
    for c in rubric.criteria:
        guide.append([f"{c.id}. {c.title}", None, None, c.text])
        for level in c.scale.levels:
            guide.append([c.id, level.value, level.label, level.descriptor])
    for letter, width in (("A", 40), ("B", 7), ("C", 16), ("D", 100)):
        guide.column_dimensions[letter].width = width
    for row in guide.iter_rows(min_row=2):
        row[3].alignment = Alignment(wrap_text=True, vertical="top")
    guide.protection.sheet = True

    meta = wb.create_sheet(META_SHEET)
    meta.sheet_state = "veryHidden"
    for key, value in (("format_version", FORMAT_VERSION), ("round", round_.name), ("round_id", round_.id),
                       ("rubric_hash", rubric.hash), ("judge_id", judge.id), ("judge_email", judge.email),
                       ("written_at", datetime.now(timezone.utc).isoformat(timespec="seconds")),
                       ("headers", json.dumps(headers))):
        meta.append([key, value])
    meta.append(["rows"])
    meta.append(["row", "nomination_id", "reference", *[f"{c.id} answer hash" for c in rubric.criteria], "state"])
    for meta_row in meta_rows:
        meta.append(meta_row)
    meta.protection.sheet = True

    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return (f"Scoresheet for {judge.name} written to {path}: {len(rows)} nomination(s), "
            f"{len(rubric.criteria)} questions.")


# ---------------------------------------------------------------------------------------
# Reading back


@dataclass(frozen=True)
class ScoreProblem:
    """One cell or row not imported, and why."""

    row: int | None
    column: str | None
    message: str
    code: str

    def __str__(self) -> str:
        where = ", ".join(p for p in (f"row {self.row}" if self.row else "", f"column {self.column}"
                                      if self.column else "") if p)
        return f"{where or 'file'}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message, "code": self.code}


@dataclass
class ScoreImportReport:
    file: str
    kind: str  # scoresheet | csv
    round: str | None = None
    judge: str | None = None
    rows_read: int = 0
    saved: int = 0
    unchanged: int = 0
    problems: list[ScoreProblem] = field(default_factory=list)
    fatal: str | None = None

    def summary(self) -> str:
        if self.fatal:
            return f"{self.file}: nothing imported. {self.fatal}"
        who = f" for {self.judge}" if self.judge else ""
        text = (f"{self.rows_read} rows read from {self.file}{who} (round {self.round!r}): {self.saved} score(s) "
                f"saved, {self.unchanged} unchanged, {len(self.problems)} problem(s).")
        if self.problems:
            text += "\nNot imported (everything else was saved):"
            for problem in self.problems:
                text += f"\n  {problem}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "kind": self.kind, "round": self.round, "judge": self.judge,
                "rows_read": self.rows_read, "saved": self.saved, "unchanged": self.unchanged,
                "problems": [p.to_dict() for p in self.problems], "fatal": self.fatal}

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, **kwargs)


class _Saver:
    """Saves one score at a time, each in a savepoint, and turns refusals into report lines."""

    def __init__(self, session: Session, round_: Round, report: ScoreImportReport, source: str):
        self.session, self.round, self.report, self.source = session, round_, report, source
        self._current: dict[tuple[int, int], dict] = {}

    def current(self, judge_id: int, nomination_id: int) -> dict:
        key = (judge_id, nomination_id)
        if key not in self._current:
            self._current[key] = judge_scores(self.session, round_=self.round, judge_id=judge_id,
                                              nomination_id=nomination_id)
        return self._current[key]

    def save(self, *, judge: Judge, assignment: Assignment, criterion_id: str, value, comment: str, row: int,
             column: str, score_column: str) -> None:
        rubric = round_rubric(self.session, self.round, check_file=False)
        now = self.current(judge.id, assignment.nomination_id).get(criterion_id)
        blank = value is None or (isinstance(value, str) and not value.strip())
        if blank and not comment:
            return  # nothing entered here: a blank cell never clears a score given elsewhere
        try:
            parsed = (now or {}).get("value") if blank else rubric.parse_score(criterion_id, value)
        except WorkbenchError as exc:
            self.report.problems.append(ScoreProblem(row, score_column, str(exc), "out_of_scale"))
            return
        if now is not None and now["value"] == parsed and (now["comment"] or "") == (comment or ""):
            self.report.unchanged += 1
            return
        if assignment.submitted_at is not None:
            self.report.problems.append(ScoreProblem(row, column, (
                f"{criterion_id}: the scores for this nomination are already submitted and locked, so this change "
                "was not saved. Ask the organiser if it must change."), "locked"))
            return
        try:
            with self.session.begin_nested():
                record_score(self.session, round_=self.round, judge_id=judge.id,
                             nomination_id=assignment.nomination_id, criterion_id=criterion_id, value=parsed,
                             comment=comment or "", rubric_hash=rubric.hash, actor=judge.email, source=self.source,
                             check_rubric_file=False)
        except WorkbenchError as exc:
            self.report.problems.append(ScoreProblem(row, column, str(exc), "refused"))
            return
        self.report.saved += 1


def import_scores(*, path: str | Path, url: str | None = None, round_name: str | None = None) -> ScoreImportReport:
    """Read scores from a scoresheet (.xlsx) or a long CSV into the database; see the module docs."""
    path = Path(path)
    if not path.exists():
        raise NotFound(f"There is no file {str(path)!r}.")
    with session_scope(url) as session:
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            return _import_workbook(session, path, round_name)
        if path.suffix.lower() == ".csv":
            return _import_csv(session, path, round_name)
    raise WorkbenchError(f"{path.name}: scores are read from a scoresheet (.xlsx) or a CSV file (.csv).")


def _meta(wb) -> dict[str, Any] | None:
    if META_SHEET not in wb.sheetnames:
        return None
    meta: dict[str, Any] = {"rows": []}
    in_rows = False
    for values in wb[META_SHEET].iter_rows(values_only=True):
        if not values or values[0] is None:
            continue
        if values[0] == "rows":
            in_rows = True
            continue
        if in_rows:
            if values[0] == "row":
                continue
            meta["rows"].append(values)
        else:
            meta[str(values[0])] = values[1]
    return meta


def _import_workbook(session: Session, path: Path, round_name: str | None) -> ScoreImportReport:
    report = ScoreImportReport(file=path.name, kind="scoresheet")
    try:
        wb = load_workbook(path, data_only=False)
    except Exception as exc:  # openpyxl raises several types for damaged files
        report.fatal = f"It could not be opened as an Excel workbook ({type(exc).__name__}). Save it as .xlsx again."
        return report
    meta = _meta(wb)
    if meta is None or SHEET not in wb.sheetnames:
        report.fatal = ("This is not a workbench scoresheet (its hidden details are missing). Use the file written "
                        "by `workbench scoresheets`, or import a CSV with the columns nomination, judge, criterion, "
                        "score, comment.")
        return report
    report.round, report.judge = str(meta.get("round")), str(meta.get("judge_email"))
    round_ = session.scalar(select(Round).where(Round.name == report.round))
    if round_name and round_name != report.round:
        report.fatal = (f"This scoresheet is from another round ({report.round!r}), not {round_name!r}. Import it "
                        "into its own round, or write a new scoresheet for this one.")
        return report
    if round_ is None or round_.id != int(meta.get("round_id") or -1):
        report.fatal = (f"This scoresheet is from another round ({report.round!r}), which is not in this database. "
                        "Check you are importing into the right database (--db).")
        return report
    rubric = round_rubric(session, round_, check_file=False)
    if meta.get("rubric_hash") != rubric.hash:
        written_hash = str(meta.get("rubric_hash"))[:12]
        report.fatal = (f"This scoresheet was written for another version of the rubric ({written_hash}); round "
                        f"{round_.name!r} now uses {rubric.hash[:12]}. Write a new scoresheet.")
        return report
    judge = session.get(Judge, int(meta.get("judge_id") or -1))
    if judge is None:
        report.fatal = "The judge this scoresheet was written for is not in this database."
        return report
    ws = wb[SHEET]
    headers = _headers(rubric)
    found = [ws.cell(row=HEADER_ROW, column=c).value for c in range(1, len(headers) + 1)]
    if [str(h or "").strip() for h in found] != headers:
        report.fatal = (f"The column headings in row {HEADER_ROW} were changed or columns were moved, so the scores "
                        "cannot be matched to questions safely. Write a new scoresheet, or copy the scores into one.")
        return report

    expected = {int(r[0]): r for r in meta["rows"]}
    assignments = {a.nomination_id: a for a in session.scalars(select(Assignment).where(
        Assignment.round_id == round_.id, Assignment.judge_id == judge.id, Assignment.status == "active"))}
    by_reference = dict(session.execute(select(Nomination.reference, Nomination.id)
                                        .where(Nomination.round_id == round_.id)).all())
    saver = _Saver(session, round_, report, "scoresheet")
    for row in range(FIRST_ROW, ws.max_row + 1):
        values = [ws.cell(row=row, column=c).value for c in range(1, len(headers) + 1)]
        if all(v is None or str(v).strip() == "" for v in values):
            continue
        report.rows_read += 1
        reference = str(values[0] or "").strip()
        nomination_id = by_reference.get(reference)
        if nomination_id is None:
            report.problems.append(ScoreProblem(row, "A (Nomination)", (
                f"{reference!r} is not a nomination in round {round_.name!r}; this row was skipped."), "unknown"))
            continue
        assignment = assignments.get(nomination_id)
        if assignment is None:
            report.problems.append(ScoreProblem(row, "A (Nomination)", (
                f"{reference} is not assigned to {judge.name} (any more), so its scores were not saved."),
                "not_assigned"))
            continue
        written = expected.get(row)
        for index, c in enumerate(rubric.criteria):
            base = 2 + 3 * index
            answer_letter = get_column_letter(base)
            score_letter, comment_letter = get_column_letter(base + 1), get_column_letter(base + 2)
            answer_text = "" if values[base - 1] is None else str(values[base - 1])
            if written is None or written[1] != nomination_id or written[3 + index] != _digest(answer_text):
                report.problems.append(ScoreProblem(row, f"{answer_letter} ({c.id} answer)", (
                    f"the answer shown for {reference} {c.id} was changed in the scoresheet. Answers are never "
                    "imported, so the change was ignored (your score and comment were still read)."),
                    "answer_edited"))
            raw = values[base]
            if isinstance(raw, str) and raw.startswith("="):
                report.problems.append(ScoreProblem(row, f"{score_letter} ({c.id} score)", (
                    f"{c.id} holds a formula ({raw}); type the score as a number."), "formula"))
                continue
            comment = str(values[base + 1] or "").strip()
            saver.save(judge=judge, assignment=assignment, criterion_id=c.id, value=raw, comment=comment, row=row,
                       column=f"{score_letter}-{comment_letter} ({c.id})",
                       score_column=f"{score_letter} ({c.id} score)")
    return report


def _import_csv(session: Session, path: Path, round_name: str | None) -> ScoreImportReport:
    from workbench.panel import get_round

    report = ScoreImportReport(file=path.name, kind="csv")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        report.fatal = "It is not UTF-8 text. In Excel, save it as 'CSV UTF-8 (Comma delimited)'."
        return report
    reader = csv.reader(io.StringIO(text))
    header = [h.strip().casefold() for h in next(reader, [])]
    missing = [c for c in CSV_COLUMNS if c not in header and c != "comment"]
    if missing:
        report.fatal = (f"It needs the columns {', '.join(CSV_COLUMNS)} (comment may be left out); missing: "
                        f"{', '.join(missing)}.")
        return report
    col = {name: header.index(name) for name in CSV_COLUMNS if name in header}
    round_ = get_round(session, round_name)
    report.round = round_.name
    rubric = round_rubric(session, round_, check_file=False)
    by_reference: dict[str, int] = {}
    for nid, ref in session.execute(select(Nomination.id, Nomination.reference)
                                    .where(Nomination.round_id == round_.id)):
        by_reference[ref.casefold()] = nid
        by_reference[str(nid)] = nid
    judges: dict[str, Judge] = {}
    for judge in session.scalars(select(Judge)):
        judges[judge.email.casefold()] = judge
        judges[str(judge.id)] = judge
    assignments = {(a.judge_id, a.nomination_id): a for a in session.scalars(select(Assignment).where(
        Assignment.round_id == round_.id, Assignment.status == "active"))}
    saver = _Saver(session, round_, report, "csv")

    def cell(values: list[str], name: str) -> str:
        index = col.get(name)
        return values[index].strip() if index is not None and index < len(values) else ""

    for row, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue
        report.rows_read += 1
        reference, email, criterion = cell(values, "nomination"), cell(values, "judge"), cell(values, "criterion")
        nomination_id = by_reference.get(reference.casefold())
        judge = judges.get(email.casefold())
        if nomination_id is None:
            report.problems.append(ScoreProblem(row, "'nomination'", (
                f"no nomination {reference!r} in round {round_.name!r}; use a reference such as N0001."), "unknown"))
            continue
        if judge is None:
            report.problems.append(ScoreProblem(row, "'judge'", (
                f"no judge {email!r}; use the email listed by `workbench judges list`."), "unknown"))
            continue
        if criterion not in rubric.criterion_ids:
            report.problems.append(ScoreProblem(row, "'criterion'", (
                f"{criterion!r} is not a question of this rubric; use one of {', '.join(rubric.criterion_ids)}."),
                "unknown"))
            continue
        assignment = assignments.get((judge.id, nomination_id))
        if assignment is None:
            report.problems.append(ScoreProblem(row, "'nomination'", (
                f"{reference} is not assigned to {judge.name}, so this score was not saved."), "not_assigned"))
            continue
        saver.save(judge=judge, assignment=assignment, criterion_id=criterion, value=cell(values, "score"),
                   comment=cell(values, "comment"), row=row, column="'score'/'comment'", score_column="'score'")
    return report
