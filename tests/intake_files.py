"""Spreadsheet fixtures for the intake tests, built by the tests themselves (synthetic people only)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.utils import get_column_letter

Q1_TEXT = ("Q1 Do they ensure that services are commissioned, designed, procured, delivered and evaluated with the "
           "key aims of meeting the health and wellbeing needs and aspirations of all local communities?")
Q3_TEXT = "Do those around them at work feel they are able to ‘be themselves’ and are ‘fully included’?"
Q4_TEXT = ("Do they demonstrate inclusive leadership, being consciously, intentionally and visibly inclusive, acting "
           "as an ambassador for under-represented groups, citizens and unheard voices?")

#: A Microsoft Forms style header, with the mess real exports have: trailing spaces,
#: non-breaking spaces and a newline inside a header cell.
FORMS_HEADER = ["ID", "Start time", "Completion time", "Email", "Name", "Nominee's name ",
                "Nominee's job\u00a0title", "Nominee's organisation\n", "Nominee's email address",
                "Is this a team nomination?", Q1_TEXT, "Question 2 - promoting equality", Q3_TEXT, Q4_TEXT,
                "What is your ethnic group?", "Do you consider yourself to have a disability?", "Anything else?"]

EMOJI_ANSWER = ("Set up the “Voices Heard” forum 😀🌍 with\nZoë, José and Siobhán —\r\n"
                "missed appointments fell 38%→12%.")
LONG_ANSWER = " ".join(["evidence"] * 612)


def forms_row(id_, when: datetime | float, nominator: tuple[str, str], nominee: str, *, job="Ward Manager",
              org="Northshire NHS Foundation Trust", email="", team="No", q1="Engaged the community.",
              q2="Ran a campaign.", q3="Staff feel included.", q4="Speaks up for others.", ethnicity="",
              disability="", extra="") -> list[Any]:
    start = when if isinstance(when, float) else when.replace(second=0)
    return [id_, start, when, nominator[1], nominator[0], nominee, job, org, email, team, q1, q2, q3, q4,
            ethnicity, disability, extra]


def write_xlsx(path: Path, rows: Sequence[Sequence[Any]], *, sheet: str = "Form1",
               merges: Iterable[str] = (), formulas: Iterable[str] = (),
               other_sheets: dict[str, Sequence[Sequence[Any]]] | None = None, first_sheet_blank: bool = False,
               date1904: bool = False) -> Path:
    """Write rows to an .xlsx. Text that starts with '=' is stored as text unless its cell is
    listed in ``formulas`` (e.g. ``"C4"``), which become real formula cells."""
    wb = openpyxl.Workbook()
    if date1904:
        wb.epoch = openpyxl.utils.datetime.CALENDAR_MAC_1904
    ws = wb.active
    ws.title = sheet
    formula_cells = set(formulas)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            if value is None or value == "":
                continue
            cell = ws.cell(row=r, column=c, value=value)
            if isinstance(value, str) and value.startswith("=") and f"{get_column_letter(c)}{r}" not in formula_cells:
                cell.data_type = "s"
            if isinstance(value, datetime):
                cell.number_format = "dd/mm/yyyy hh:mm:ss"
    for rng in merges:
        ws.merge_cells(rng)
    for name, other in (other_sheets or {}).items():
        extra = wb.create_sheet(name, 0 if first_sheet_blank else None)
        for row in other:
            extra.append(list(row))
    wb.save(path)
    return path


def write_csv(path: Path, rows: Sequence[Sequence[Any]], *, encoding: str = "utf-8", delimiter: str = ",") -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        csv.writer(f, delimiter=delimiter).writerows(rows)
    return path
