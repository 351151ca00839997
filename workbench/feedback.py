"""Feedback to a learner, as a Word document or an Excel workbook, from their marking.

:class:`LearnerFeedback` holds everything one learner's feedback says: the unit, their
outcome with the reason and the rule, each marking point's level with what the level means
and the assessor's evidence notes, the common misconceptions ticked (their text becomes the
advice), and the unit's guidance. It holds nothing about any other learner.
:func:`workbench.marking.learner_feedback` builds it from the database; the functions here only
render it:

- :func:`feedback_docx` and :func:`feedback_xlsx` return the file's bytes, the same bytes for
  the same marking (fixed zip entry dates; the document dates are the time the marking was
  submitted);
- in the workbook, text starting with ``=``, ``+``, ``-`` or ``@`` is stored as text, never
  as a formula; control characters that Word and Excel refuse are removed.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from workbench.rubric import Rubric


@dataclass(frozen=True)
class FeedbackPoint:
    criterion: str
    title: str
    text: str
    level: str
    descriptor: str
    note: str


@dataclass(frozen=True)
class FeedbackAdvice:
    check: str
    text: str
    note: str


@dataclass(frozen=True)
class LearnerFeedback:
    """Everything one learner's feedback says: their own marks only, never anyone else's."""

    cohort: str
    unit: str
    learner_id: str
    learner_name: str
    assessor: str
    outcome: str
    outcome_reason: str
    rule: str
    points: tuple[FeedbackPoint, ...]
    advice: tuple[FeedbackAdvice, ...]
    guidance: tuple[str, ...]
    marked_at: datetime
    work_on: tuple[str, ...] = ()  # the marking points below the pass level, "MP2 Title"


def describe_rule(rubric: Rubric) -> str:
    """The pass rule in words.

    >>> from workbench.rubric import load_rubric
    >>> describe_rule(load_rubric("edi-unit"))
    'To pass, every marking point must be at least Met; otherwise the outcome is Refer.'
    """
    rule = rubric.outcome
    if rule is None:
        return "This unit has no pass rule."
    if rule.rule == "all-at-least":
        level = rubric.criteria[0].scale.label_for(rule.threshold)
        return f"To pass, every marking point must be at least {level}; otherwise the outcome is {rule.fail_label}."
    return (f"To pass, the weighted total must reach {rule.threshold:g}% of the marks available; otherwise the "
            f"outcome is {rule.fail_label}.")


_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def _clean(text: str) -> str:
    """Text safe for Word and Excel XML (control characters removed)."""
    return _XML_ILLEGAL.sub("", str(text))


def _stable_zip(data: bytes, *, when: datetime) -> bytes:
    """The same document bytes every time: fixed entry dates and a fixed modified time."""
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)", rb"\g<1>" + stamp + rb"\g<2>",
                              body)
            entry = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            dst.writestr(entry, body)
    return out.getvalue()


def feedback_docx(feedback: LearnerFeedback) -> bytes:
    """The learner's feedback as a Word document (the same bytes for the same marking)."""
    import docx

    d = docx.Document()
    props = d.core_properties
    props.title = _clean(f"Feedback: {feedback.unit}")
    props.author = props.last_modified_by = "Award workbench"
    props.created = props.modified = feedback.marked_at.replace(tzinfo=None)
    props.revision = 1
    d.add_heading("Feedback on your assignment", level=0)
    details = d.add_table(rows=0, cols=2)
    details.style = "Table Grid"
    for label, value in (("Unit", feedback.unit), ("Learner", feedback.learner_name or feedback.learner_id),
                         ("Learner ID", feedback.learner_id), ("Assessor", feedback.assessor),
                         ("Outcome", feedback.outcome)):
        cells = details.add_row().cells
        cells[0].text, cells[1].text = label, _clean(value)
    d.add_heading(f"Outcome: {feedback.outcome}", level=1)
    d.add_paragraph(_clean(feedback.outcome_reason))
    if feedback.work_on:
        d.add_paragraph(_clean("Marking points to work on: " + "; ".join(feedback.work_on) + "."))
    d.add_paragraph(_clean(feedback.rule))
    d.add_heading("Your marks", level=1)
    table = d.add_table(rows=1, cols=4)
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, ("Marking point", "Your level", "What this level means",
                                                "Assessor's evidence notes")):
        cell.text = text
        for run in cell.paragraphs[0].runs:
            run.bold = True
    for p in feedback.points:
        cells = table.add_row().cells
        cells[0].text = _clean(f"{p.criterion} {p.title}")
        cells[1].text = _clean(p.level)
        cells[2].text = _clean(p.descriptor)
        cells[3].text = _clean(p.note or "No notes.")
    d.add_heading("Common mistakes seen in your work", level=1)
    if feedback.advice:
        for a in feedback.advice:
            item = d.add_paragraph(style="List Bullet")
            item.add_run(_clean(f"{a.check}: ")).bold = True
            item.add_run(_clean(a.text) + " Avoid this in your next piece of work.")
            if a.note:
                item.add_run(_clean(f" Assessor's note: {a.note}"))
    else:
        d.add_paragraph("None of the common mistakes for this unit was seen in your work.")
    d.add_heading("Guidance for this unit", level=1)
    for tip in feedback.guidance:
        d.add_paragraph(_clean(tip), style="List Bullet")
    buffer = io.BytesIO()
    d.save(buffer)
    return _stable_zip(buffer.getvalue(), when=feedback.marked_at)


def _write(ws, row: int, column: int, value: Any, *, bold: bool = False):
    """Write one cell; text starting with = + - @ is stored as text, never as a formula."""
    from openpyxl.styles import Alignment, Font

    cell = ws.cell(row=row, column=column)
    cell.value = _clean(value) if isinstance(value, str) else value
    if isinstance(value, str) and value.startswith(FORMULA_START):
        cell.data_type = "s"
        cell.quotePrefix = True
    cell.alignment = Alignment(wrap_text=True, vertical="top")
    if bold:
        cell.font = Font(bold=True)
    return cell


def feedback_xlsx(feedback: LearnerFeedback) -> bytes:
    """The learner's feedback as an Excel workbook, one sheet (the same bytes for the same marking)."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Feedback"
    wb.properties.creator = wb.properties.lastModifiedBy = "Award workbench"
    wb.properties.title = _clean(f"Feedback: {feedback.unit}")
    wb.properties.created = wb.properties.modified = feedback.marked_at.replace(tzinfo=None)
    row = 1
    _write(ws, row, 1, "Feedback on your assignment", bold=True)
    row += 1
    details = [("Unit", feedback.unit), ("Learner", feedback.learner_name or feedback.learner_id),
               ("Learner ID", feedback.learner_id), ("Assessor", feedback.assessor), ("Outcome", feedback.outcome),
               ("Why", feedback.outcome_reason), ("To work on", "; ".join(feedback.work_on)), ("Rule", feedback.rule)]
    for label, value in [(label, value) for label, value in details if value]:
        _write(ws, row, 1, label, bold=True)
        _write(ws, row, 2, value)
        row += 1
    row += 1
    for column, header in enumerate(("Marking point", "Your level", "What this level means",
                                     "Assessor's evidence notes"), start=1):
        _write(ws, row, column, header, bold=True)
    row += 1
    for p in feedback.points:
        for column, value in enumerate((f"{p.criterion} {p.title}", p.level, p.descriptor, p.note or "No notes."),
                                       start=1):
            _write(ws, row, column, value)
        row += 1
    row += 1
    _write(ws, row, 1, "Common mistakes seen in your work", bold=True)
    row += 1
    if feedback.advice:
        for a in feedback.advice:
            _write(ws, row, 1, a.check)
            _write(ws, row, 2, a.text + " Avoid this in your next piece of work.")
            if a.note:
                _write(ws, row, 3, f"Assessor's note: {a.note}")
            row += 1
    else:
        _write(ws, row, 1, "None of the common mistakes for this unit was seen in your work.")
        row += 1
    row += 1
    _write(ws, row, 1, "Guidance for this unit", bold=True)
    row += 1
    for tip in feedback.guidance:
        _write(ws, row, 1, tip)
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=4)
        row += 1
    for letter, width in zip("ABCD", (34, 14, 60, 60)):
        ws.column_dimensions[letter].width = width
    buffer = io.BytesIO()
    wb.save(buffer)
    return _stable_zip(buffer.getvalue(), when=feedback.marked_at)


FEEDBACK_FORMATS = {"docx": feedback_docx, "xlsx": feedback_xlsx}
