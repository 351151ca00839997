"""Read nomination spreadsheets row by row: ``.xlsx``/``.xlsm`` and ``.csv``.

:func:`open_table` finds the sheet and the header row, cleans the headers (keeping the
originals for the report) and recognises timestamp, ID and email columns. ``Table.rows()``
then yields ``(row_number, values)`` one row at a time, where ``row_number`` is the row as the
organiser sees it in Excel and blank rows are skipped and counted (``Table.blank_rows``).

What is kept exactly as written:

- CSV cells are always text: nothing is converted, so ``=SUM(A1)``, ``+44 7700 900123``,
  ``-``, ``@all``, ``007`` arrive as typed. Encoding: a UTF-8 byte-order mark means UTF-8;
  otherwise the whole file must decode as strict UTF-8, else it is read as Windows-1252.
- Excel text cells are kept verbatim, newlines, emoji and accents included. A real formula
  cell keeps the formula as written (``=SUM(A1)``, as :class:`FormulaText`), never its
  calculated value. Numbers become their shortest text (``12``, ``1.5``), booleans ``TRUE``/``FALSE``.
- Dates: only in timestamp columns. A date cell, or a bare Excel serial number such as
  ``45352.5``, becomes a :class:`datetime`; in any other column a date is written as ISO text.

Engines: a plain Excel sheet (header in row 1 from A1, no formulas or merged cells, one type
of value per column) is loaded by columns with fastexcel (:mod:`workbench.intake.columnar`);
any other sheet is read cell by cell with python-calamine, or with openpyxl when it has
formulas. All give the same rows; the tests run every Excel case both ways.

Merged header cells: when a header cell is merged across several columns, every column under
it gets the header (the 2nd onwards is marked ``merged_from``, and its values are joined to
the first column's by the mapping). When a merged header cell also spans the next row down,
the header has two rows: the lower row names the columns under each merged group
(``"Nominee: Name"``). A SurveyMonkey-style second header row (``Response``,
``Open-Ended Response``) is recognised too and skipped with a line in the report.

>>> import csv, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "form.csv")
>>> with open(path, "w", encoding="utf-8-sig", newline="") as f:
...     csv.writer(f).writerows([["Timestamp ", "Q1\\u00a0answer"], [], ["2024-03-01", "=SUM(A1)"]])
>>> table = open_table(path)
>>> [c.header for c in table.columns], table.encoding
(['Timestamp', 'Q1 answer'], 'utf-8-sig')
>>> list(table.rows()), table.blank_rows
([(3, ['2024-03-01', '=SUM(A1)'])], [2])
"""

from __future__ import annotations

import codecs
import csv
import itertools
import logging
import math
import re
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from openpyxl.utils import get_column_letter

from workbench.errors import NotFound, WorkbenchError
from workbench.intake.columnar import PlainSheet, TextColumn, load_plain_sheet

log = logging.getLogger(__name__)

EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
CSV_SUFFIXES = {".csv", ".txt", ".tsv"}

#: How many rows at the top of a sheet are searched for the header row.
HEADER_SEARCH_ROWS = 30

#: Load plain Excel sheets by columns with fastexcel (see :mod:`workbench.intake.columnar`).
#: ``False`` reads every sheet cell by cell with python-calamine; the tests run both ways.
COLUMNAR = True

_SPACES = re.compile(r"\s+")
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
_SUBHEADER_WORDS = {"response", "open-ended response"}

# Column kinds, recognised from short headers only (a long header is a question).
_TIMESTAMP = re.compile(
    r"^(time ?stamp|date|date/time|start(ed)? (time|date)|end (time|date)|completion time|completed( at| on)?|"
    r"completion date|submitted( at| on)?|submission (date|time)|date (submitted|completed|received)|"
    r"last modified time|created( at| on)?|received)$")
_ID = re.compile(r"^(id|#|ref|reference|"
                 r"(response|respondent|submission|entry|record|form|nomination|row) ?(id|no|number|ref))$")
_EMAIL = re.compile(r"\be-?mail\b")


class SpreadsheetError(WorkbenchError):
    """The file cannot be read as a nomination spreadsheet; the message says what to do."""


class FormulaText(str):
    """Text of a real Excel formula cell, kept as written (e.g. ``=SUM(A1)``)."""


@dataclass(frozen=True)
class Column:
    """One column of the table: where it is, its header, and what kind of values it holds."""

    index: int
    header: str
    original: str
    kind: str = "text"  # text | timestamp | id | email
    merged_from: int | None = None

    @property
    def letter(self) -> str:
        return get_column_letter(self.index + 1)

    @property
    def label(self) -> str:
        """How the report names this column: its header, or its letter when it has none."""
        return self.header or f"Column {self.letter}"


@dataclass(frozen=True)
class SkippedRow:
    row: int
    reason: str


def clean_header(text: Any) -> str:
    """A header with runs of spaces, non-breaking spaces and newlines made one space.

    >>> clean_header("  Nominee\\u00a0name \\n(first and last) ")
    'Nominee name (first and last)'
    """
    if text is None:
        return ""
    return _SPACES.sub(" ", _INVISIBLE.sub("", str(text))).strip()


def column_kind(header: str) -> str:
    """``timestamp``, ``id``, ``email`` or ``text``, from a (cleaned) header.

    >>> [column_kind(h) for h in ["Start time", "ID", "Nominee's email address", "Q1 Do they ..."]]
    ['timestamp', 'id', 'email', 'text']
    """
    folded = header.casefold().strip(" :?*")
    if len(folded.split()) > 6:
        return "text"
    if _TIMESTAMP.match(folded):
        return "timestamp"
    if _ID.match(folded):
        return "id"
    if _EMAIL.search(folded):
        return "email"
    return "text"


@dataclass
class Table:
    """A sheet opened for reading, with its header found. Iterate :meth:`rows` once or more."""

    path: Path
    format: str  # xlsx | csv
    columns: list[Column]
    header_row: int
    sheet: str | None = None
    sheets: list[str] = field(default_factory=list)
    encoding: str | None = None
    delimiter: str | None = None
    engine: str = ""
    total_rows: int | None = None
    skipped: list[SkippedRow] = field(default_factory=list)
    blank_rows: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    _first_data_row: int = 0
    _row_source: Callable[..., Iterator[tuple[int, list[Any]]]] | None = field(default=None, repr=False)
    _plain: PlainSheet | None = field(default=None, repr=False)
    _convert: Callable[[int, list[Any]], list[Any]] | None = field(default=None, repr=False)

    @property
    def headers(self) -> list[str]:
        return [c.header for c in self.columns]

    def text_column(self, index: int) -> TextColumn | None:
        """Column ``index`` as UTF-8 bytes, when the sheet was loaded by columns and it holds text."""
        return self._plain.text_column(index) if self._plain is not None else None

    def rows(self, omit: frozenset[int] = frozenset()) -> Iterator[tuple[int, list[Any]]]:
        """``(row_number, values)`` for each non-blank row below the header.

        Values are ``str`` (or ``FormulaText``) in every column, except timestamp columns,
        which hold ``datetime`` or ``str``. A row may be longer than the header when cells lie beyond it.
        Blank rows are recorded in :attr:`blank_rows` (reset at each pass).

        ``omit``: columns whose values the caller reads itself through :meth:`text_column`;
        they are ``""`` in the rows. Only columns that :meth:`text_column` gives can be omitted.
        """
        first = self._first_data_row
        self.blank_rows = blank = [r for r in self.blank_rows if r < first]
        omitted = self._omitted(omit)
        source = self._row_source(omit=frozenset(i for i, _ in omitted)) if omitted else self._row_source()
        for number, values in source:
            if number < first:
                continue
            if _blank_row(number, values, omitted):
                blank.append(number)
            else:
                yield number, values

    def batches(self, omit: frozenset[int] = frozenset(),
                size: int = 512) -> Iterator[tuple[list[int], list[list[Any]]]]:
        """The rows of :meth:`rows` a batch at a time, by column: ``(numbers, cells)``, where
        ``cells[i][j]`` is column ``i`` of row ``numbers[j]``. A batch is as wide as its widest row;
        the cells past the end of a shorter row are ``""``. A sheet read cell by cell comes in batches
        of ``size`` rows; a plain sheet in the batches fastexcel's columns are decoded in.

        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "form.csv")
        >>> with open(path, "w", encoding="utf-8") as f:
        ...     _ = f.write("Name,Q1\\nAnn,Yes\\n,\\nBo,No,late\\n")
        >>> table = open_table(path)
        >>> list(table.batches()), table.blank_rows
        ([([2, 4], [['Ann', 'Bo'], ['Yes', 'No'], ['', 'late']])], [3])
        """
        if self._plain is None:
            rows = self.rows(omit)
            while batch := list(itertools.islice(rows, size)):
                width = max(len(values) for _, values in batch)
                yield [n for n, _ in batch], [[v[i] if i < len(v) else "" for _, v in batch] for i in range(width)]
            return
        first = self._first_data_row
        self.blank_rows = blank = [r for r in self.blank_rows if r < first]
        omitted = self._omitted(omit)
        for start, cells in self._plain.batches(frozenset(i for i, _ in omitted), self._convert):
            if start < first:  # a second header row, say
                cells = [col[first - start:] for col in cells]
                start = first
            numbers = list(range(start, start + len(cells[0])))
            # A row whose first read cell has something in it is not blank; the others are checked whole.
            probe = next((col for i, col in enumerate(cells) if i not in omit), cells[0])
            empty = [j for j, v in enumerate(probe) if not v or (v.__class__ is str and v.isspace())]
            drop = {j for j in empty if _blank_row(numbers[j], [col[j] for col in cells], omitted)}
            if drop:
                blank.extend(numbers[j] for j in sorted(drop))
                keep = [j for j in range(len(numbers)) if j not in drop]
                numbers, cells = [numbers[j] for j in keep], [[col[j] for j in keep] for col in cells]
            if numbers:
                yield numbers, cells

    def _omitted(self, omit: frozenset[int]) -> list[tuple[int, TextColumn]]:
        return [(i, c) for i in sorted(omit) if (c := self.text_column(i)) is not None]


def _blank_row(number: int, values: list[Any], omitted: list[tuple[int, TextColumn]]) -> bool:
    """Nothing in the row: every cell empty or spaces, the text of ``omitted`` columns too."""
    for value in values:  # usually stops at the first cell
        if value and (value.__class__ is not str or not value.isspace()):
            return False
    return not any(c.text(number - c.first_row).strip() for _, c in omitted)


def _is_blank(values: list[Any]) -> bool:
    for value in values:
        if value is None:
            continue
        if isinstance(value, str):
            if value and not value.isspace():
                return False
        else:
            return False
    return True


# ---------------------------------------------------------------------------------------
# Header detection (shared by both formats)


def _find_header(rows: list[tuple[int, list[Any]]], merged_cells: set[tuple[int, int]]) -> int:
    """Index in ``rows`` of the header: the first row nearly as wide in text as the widest."""
    counts = []
    for number, values in rows:
        n = sum(1 for i, v in enumerate(values)
                if (isinstance(v, str) and v.strip()) or (number, i) in merged_cells)
        counts.append(n)
    widest = max(counts, default=0)
    if widest == 0:
        return 0
    need = max(2, math.ceil(0.6 * widest)) if widest >= 2 else 1
    for index, n in enumerate(counts):
        if n >= need:
            return index
    return 0


def _build_columns(
    header: list[Any],
    *,
    header_row: int,
    merges: list[tuple[tuple[int, int], tuple[int, int]]],
    below: list[Any] | None,
    width: int,
) -> tuple[list[Column], bool, list[str]]:
    """Columns from the header row (and a second header row when there is one).

    ``merges`` are ``((row, col), (row, col))`` 1-based rows, 0-based columns, inclusive.
    Returns the columns, whether the next row was used as a second header row, and notes.
    """
    texts = [_cell_text(header[i]) if i < len(header) else "" for i in range(width)]
    originals = list(texts)
    cleaned = [clean_header(t) for t in texts]
    merged_from: dict[int, int] = {}
    groups: list[tuple[int, int]] = []
    two_rows = False
    notes: list[str] = []
    for (r0, c0), (r1, c1) in merges:
        if r0 <= header_row <= r1 and r0 == header_row:
            if r1 > header_row:
                two_rows = True
            if c1 > c0:
                groups.append((c0, min(c1, width - 1)))
    sub = [clean_header(_cell_text(below[i])) if below and i < len(below) else "" for i in range(width)]
    surveymonkey = False
    if below is not None and not two_rows:
        nonblank = [s.casefold() for s in sub if s]
        if nonblank and sum(s in _SUBHEADER_WORDS for s in nonblank) * 2 >= len(nonblank):
            surveymonkey = True
    if two_rows:
        in_group = {c for c0, c1 in groups for c in range(c0, c1 + 1)}
        for c0, c1 in groups:
            group, group_original = cleaned[c0], originals[c0]
            for c in range(c0, c1 + 1):
                if sub[c]:
                    cleaned[c] = f"{group}: {sub[c]}" if group else sub[c]
                    originals[c] = f"{group_original} / {_cell_text(below[c])}"
        for c in range(width):
            if c not in in_group and not cleaned[c] and sub[c]:
                cleaned[c], originals[c] = sub[c], _cell_text(below[c])
        notes.append(f"The header has two rows (rows {header_row} and {header_row + 1}, with merged cells); "
                     "their text is combined.")
    elif surveymonkey:
        last = ""
        for c in range(width):
            if cleaned[c]:
                last = cleaned[c]
            elif last and sub[c]:
                cleaned[c] = originals[c] = last
            if sub[c] and sub[c].casefold() not in _SUBHEADER_WORDS:
                cleaned[c] = f"{cleaned[c]}: {sub[c]}" if cleaned[c] else sub[c]
        notes.append(f"Row {header_row + 1} is a second header row (Response / Open-Ended Response) "
                     "and was combined with the header.")
    else:
        for c0, c1 in groups:
            if not cleaned[c0]:
                continue
            for c in range(c0 + 1, c1 + 1):
                if not cleaned[c]:
                    cleaned[c], originals[c] = cleaned[c0], originals[c0]
                    merged_from[c] = c0
            if any(merged_from.get(c) == c0 for c in range(c0 + 1, c1 + 1)):
                first, last = get_column_letter(c0 + 1), get_column_letter(c1 + 1)
                notes.append(f"Columns {first}–{last} share the merged header {cleaned[c0]!r}; "
                             "their values are joined as one field.")
    columns = [
        Column(index=c, header=cleaned[c], original=originals[c],
               kind=column_kind(cleaned[c]) if c not in merged_from else column_kind(cleaned[merged_from[c]]),
               merged_from=merged_from.get(c))
        for c in range(width)
    ]
    return columns, two_rows or surveymonkey, notes


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return _to_text(value)


def _to_text(value: Any) -> str:
    """Excel values other than text, written as the text a person would read."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds") if value.time() != time(0) else value.date().isoformat()
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value)


# ---------------------------------------------------------------------------------------
# CSV


def detect_encoding(path: str | Path) -> str:
    """``utf-8-sig`` (byte-order mark), ``utf-16``, ``utf-8`` or ``cp1252``; checks the whole file.

    UTF-8 is tried strictly first, so a Windows-1252 file is never read as UTF-8 by accident,
    and a UTF-8 file is never read as Windows-1252.
    """
    path = Path(path)
    with path.open("rb") as f:
        start = f.read(4)
        if start.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        if _undecodable_at(f, "utf-8") is None:
            return "utf-8"
        position = _undecodable_at(f, "cp1252")
    if position is not None:
        raise SpreadsheetError(
            f"{path.name} is neither UTF-8 nor Windows-1252 text (unreadable byte near position "
            f"{position}). In Excel use File > Save As > 'CSV UTF-8 (Comma delimited)', "
            "or upload the .xlsx file instead.")
    return "cp1252"


def _undecodable_at(f, encoding: str) -> int | None:
    """Decode the whole open file strictly, a megabyte at a time: ``None`` if it all decodes,
    else the position of the first byte that does not."""
    f.seek(0)
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    offset = 0
    try:
        while chunk := f.read(1 << 20):
            decoder.decode(chunk)
            offset += len(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        return offset + exc.start
    return None


def _sniff_delimiter(first_line: str) -> str:
    counts = {d: 0 for d in ",;\t"}
    quoted = False
    for ch in first_line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _open_csv(path: Path) -> Table:
    encoding = detect_encoding(path)
    with path.open("r", encoding=encoding, newline="") as f:
        first_line = f.readline()
    delimiter = _sniff_delimiter(first_line)
    total = None
    with path.open("rb") as f:
        total = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))

    def source() -> Iterator[tuple[int, list[Any]]]:
        with path.open("r", encoding=encoding, newline="") as f:
            for number, values in enumerate(csv.reader(f, delimiter=delimiter), start=1):
                yield number, values

    try:
        head = []
        for item in source():
            head.append(item)
            if len(head) >= HEADER_SEARCH_ROWS + 1:
                break
    except csv.Error as exc:
        raise SpreadsheetError(f"{path.name} is not a readable CSV file ({exc}).") from None
    return _table_from_head(path, "csv", head, merges=[], source=source, encoding=encoding,
                            delimiter=delimiter, engine="csv", total_rows=total)


def _table_from_head(path, fmt, head, *, merges, source, total_rows, sheet=None, sheets=(), encoding=None,
                     delimiter=None, engine="") -> Table:
    nonblank = [(n, v) for n, v in head if not _is_blank(v)]
    if not nonblank:
        where = f" (sheet {sheet!r})" if sheet else ""
        raise SpreadsheetError(f"{path.name}{where} has no rows with anything in them. Check you chose the right "
                               "file and sheet.")
    merged_cells = {(r, c) for (r0, c0), (r1, c1) in merges for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)}
    index = _find_header(nonblank[:HEADER_SEARCH_ROWS], merged_cells)
    header_row, header = nonblank[index]
    below = next((v for n, v in head if n == header_row + 1), None)
    width = max(len(header), max((c1 + 1 for (r0, _), (_, c1) in merges if r0 == header_row), default=0))
    while width and not _cell_text(header[width - 1] if width - 1 < len(header) else None).strip() and not any(
            r0 == header_row and c0 <= width - 1 <= c1 for (r0, c0), (_, c1) in merges):
        width -= 1
    columns, two_rows, notes = _build_columns(header, header_row=header_row, merges=merges, below=below, width=width)
    skipped = [SkippedRow(n, "above the header row") for n, v in head if n < header_row and not _is_blank(v)]
    blank = [n for n, v in head if n < header_row and _is_blank(v)]
    first_data = header_row + 1
    if two_rows:
        skipped.append(SkippedRow(header_row + 1, "second header row"))
        first_data += 1

    table = Table(path=path, format=fmt, columns=columns, header_row=header_row, sheet=sheet, sheets=list(sheets),
                  encoding=encoding, delimiter=delimiter, engine=engine, total_rows=total_rows, skipped=skipped,
                  blank_rows=blank, notes=notes, _first_data_row=first_data, _row_source=source)
    return table


# ---------------------------------------------------------------------------------------
# Excel


@dataclass(frozen=True)
class _Layout:
    """What the workbook XML says: sheet name -> zip member of its XML, the worksheets (not chart
    sheets) in workbook order, those hidden, the shared strings' member (if any), and whether
    dates count from 1904. Empty when the workbook XML is not the usual (python-calamine then says)."""

    sheets: dict[str, str]
    worksheets: tuple[str, ...] = ()
    hidden: frozenset[str] = frozenset()
    shared_strings: str | None = None
    date1904: bool = False


def _xlsx_parts(path: Path) -> _Layout:
    """The :class:`_Layout` of an Excel file, from its workbook XML and relationships."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SpreadsheetError(f"{path.name} is not a readable Excel workbook ({exc}). Open it in Excel and save it "
                               "again as .xlsx, or export it as CSV UTF-8.") from None
    with archive:
        ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
              "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
              "p": "http://schemas.openxmlformats.org/package/2006/relationships"}
        try:
            book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
            rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
        except KeyError:
            return _Layout({})

        def member(target: str) -> str:
            return target.lstrip("/") if target.startswith("/") else f"xl/{target}"

        relations = rels.findall("p:Relationship", ns)
        targets = {r.get("Id"): (r.get("Target") or "", r.get("Type") or "") for r in relations}
        strings = next((member(r.get("Target", "")) for r in relations
                        if r.get("Type", "").endswith("/sharedStrings")), None)
        parts, worksheets, hidden = {}, [], set()
        for sheet in book.findall("m:sheets/m:sheet", ns):
            name, (target, kind) = sheet.get("name"), targets.get(sheet.get(f"{{{ns['r']}}}id"), ("", ""))
            parts[name] = member(target)
            if kind.endswith("/worksheet"):
                worksheets.append(name)
            if sheet.get("state") in ("hidden", "veryHidden"):
                hidden.add(name)
        pr = book.find("m:workbookPr", ns)
        return _Layout(parts, tuple(worksheets), frozenset(hidden), strings,
                       pr is not None and pr.get("date1904") in {"1", "true"})


class _Calamine:
    """python-calamine's workbook, opened when first needed. A plain sheet never needs it:
    opening reads every shared string (a third of a second for 20,000 nominations)."""

    def __init__(self, path: Path):
        self.path, self._book = path, None

    def __call__(self):
        if self._book is None:
            from python_calamine import CalamineWorkbook

            try:
                self._book = CalamineWorkbook.from_path(str(self.path))
            except Exception as exc:
                raise SpreadsheetError(f"{self.path.name} is not a readable Excel workbook ({exc}). Open it in Excel "
                                       "and save it again as .xlsx, or export it as CSV UTF-8.") from None
        return self._book

    def sheets(self, layout: _Layout) -> tuple[list[str], list[str]]:
        """The worksheets, and those visible (all of them if none is), from the workbook XML if it
        says, else from python-calamine."""
        if layout.worksheets:
            names = list(layout.worksheets)
            return names, [n for n in names if n not in layout.hidden] or names
        metadata = [m for m in self().sheets_metadata if str(m.typ).endswith("WorkSheet")]
        names = [m.name for m in metadata]
        return names, [m.name for m in metadata if str(m.visible).endswith("Visible")] or names


class _SheetScan(threading.Thread):
    """Read one sheet's XML in a thread beside the parse, for what the parsers do not say:
    whether it has formula cells or merged cells, and the XML of its first row.

    Decompression releases the GIL, so on two cores this costs almost no wall time.
    """

    def __init__(self, path: Path, member: str):
        super().__init__(daemon=True)
        self.path, self.member, self.error = path, member, None
        self.found = False  # a formula cell
        self.merged = False  # a merged cell range
        self.first_row = b""  # the XML of the first <row> element (up to </row>)
        self.first_row_read = threading.Event()

    def run(self) -> None:
        try:
            with zipfile.ZipFile(self.path) as archive:
                info = archive.getinfo(self.member)
            with self.path.open("rb") as fh:
                fh.seek(info.header_offset + 26)
                name_len, extra_len = int.from_bytes(fh.read(2), "little"), int.from_bytes(fh.read(2), "little")
                fh.seek(info.header_offset + 30 + name_len + extra_len)
                stored = info.compress_type == zipfile.ZIP_STORED
                inflater = None if stored else zlib.decompressobj(-15)
                left, tail, pending, head = info.compress_size, b"", b"", b""
                while left > 0 or pending:
                    if not pending:
                        pending = fh.read(min(left, 1 << 20))
                        if not pending:
                            break
                        left -= len(pending)
                    if stored:
                        data, pending = pending, b""
                    else:  # 64 KiB until row 1 is found (the caller waits for it), then 1 MiB at a time:
                        # memory stays small, and the regex below never holds the GIL for long
                        data = inflater.decompress(pending, 64 << 10 if head is not None else 1 << 20)
                        pending = inflater.unconsumed_tail
                    if head is not None:
                        head += data
                        self.first_row, done = _first_row(head)
                        if done:
                            head = None
                            self.first_row_read.set()
                    # One pass over the XML for both (a formula ends the scan).
                    for found in (_FORMULA_OR_MERGE.search(tail + data[:16]), _FORMULA_OR_MERGE.search(data)):
                        if found is not None:
                            if found.group() == b"<mergeCell ":
                                self.merged = True
                            else:
                                self.found = True
                                return
                    tail = data[-16:]
        except Exception as exc:  # the sheet is then read with openpyxl, which handles anything
            self.error = exc
            self.found = True
        finally:
            self.first_row_read.set()

    @property
    def plain(self) -> bool:
        """No formulas and no merged cells (the caller checks row 1 with :func:`_plain_header`)."""
        return not (self.found or self.merged or self.error)


# A formula cell (<f>, <f t="shared" .../>) or a merged range. In the XML, merged ranges come
# after every cell, so the first match in a chunk decides.
_FORMULA_OR_MERGE = re.compile(rb"<f[ >/]|<mergeCell ")


_ROW_START = re.compile(rb"<row\b[^>]*?(/?)>")
_CELL = re.compile(rb"<c\b([^>]*?)(/?)>")
_CELL_REF = re.compile(rb'\br="([A-Z]+)(\d+)"')
_CELL_TYPE = re.compile(rb'\bt="(\w+)"')


def _first_row(head: bytes) -> tuple[bytes, bool]:
    """The first ``<row>`` element in the XML read so far, and whether it is complete."""
    match = _ROW_START.search(head)
    if match is None:
        return b"", len(head) > 8 << 20
    if match.group(1):  # <row .../>: an empty first row
        return head[match.start():match.end()], True
    end = head.find(b"</row>", match.end())
    if end < 0:
        return b"", len(head) > 8 << 20
    return head[match.start():end], True


def _plain_header(row: bytes) -> int:
    """How many header cells row 1 has when it is a plain header (text cells only, from A1); else 0."""
    row_ref = re.match(rb'<row\b[^>]*?\br="(\d+)"', row)
    if row_ref is None or row_ref.group(1) != b"1":
        return 0
    cells = _CELL.findall(row)
    for i, (attrs, empty) in enumerate(cells):
        ref, kind = _CELL_REF.search(attrs), _CELL_TYPE.search(attrs)
        if empty or ref is None or ref.group(2) != b"1" or kind is None:
            return 0
        if (i == 0 and ref.group(1) != b"A") or kind.group(1) not in (b"s", b"inlineStr"):
            return 0
    return len(cells)


_CELL_BODY = re.compile(rb"<c\b([^>]*?)(?:/>|>(.*?)</c>)", re.DOTALL)
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def _header_columns(path: Path, row: bytes, strings: str | None) -> list[Column] | None:
    """The columns a plain header row names (see :func:`_plain_header`), read from its XML and
    the shared strings before the sheet is parsed; ``None`` when that is not simple. A head start
    only: the parsed sheet's own header is what counts, and may differ (``_x000D_`` escapes, say).
    """
    texts: list[str | int] = []
    for attrs, body in _CELL_BODY.findall(row):
        kind = _CELL_TYPE.search(attrs)
        try:
            cell = ElementTree.fromstring(b"<c>" + body + b"</c>")
        except ElementTree.ParseError:
            return None
        if kind is not None and kind.group(1) == b"s":
            index = (cell.findtext("v") or "").strip()
            if not index.isdigit():
                return None
            texts.append(int(index))
        elif (inline := cell.find("is")) is not None:
            texts.append(_string_item(inline, ""))
        else:
            return None
    shared = [t for t in texts if isinstance(t, int)]
    if shared:
        table = _shared_strings(path, strings, max(shared))
        if table is None:
            return None
        texts = [table[t] if isinstance(t, int) else t for t in texts]
    return _build_columns(texts, header_row=1, merges=[], below=None, width=len(texts))[0]


def _early_header(path: Path, row: bytes, strings: str | None) -> list[Column] | None:
    """:func:`_header_columns`, or ``None`` if reading ahead fails: the parse then reads the header."""
    try:
        return _header_columns(path, row, strings)
    except Exception as exc:  # a damaged part, say: the parse reports it, if it matters
        log.debug("header not read ahead: %s", type(exc).__name__)
        return None


def _string_item(element: ElementTree.Element, ns: str) -> str:
    """The text of a shared or inline string: one ``<t>``, or the ``<t>`` of each rich-text run
    (phonetic runs left out, as Excel shows them)."""
    text = element.find(f"{ns}t")
    if text is not None:
        return text.text or ""
    return "".join(run.findtext(f"{ns}t") or "" for run in element.findall(f"{ns}r"))


def _shared_strings(path: Path, member: str | None, last: int, most: int = 10_000) -> list[str] | None:
    """The first ``last + 1`` shared strings (``None`` when there are fewer, or ``last`` is past ``most``)."""
    if member is None or last > most:
        return None
    found: list[str] = []
    with zipfile.ZipFile(path) as archive, archive.open(member) as xml:
        for _, element in ElementTree.iterparse(xml):
            if element.tag == f"{_MAIN}si":
                found.append(_string_item(element, _MAIN))
                element.clear()
                if len(found) > last:
                    return found
    return None


def _excel_date(serial: float, date1904: bool) -> datetime:
    base = datetime(1904, 1, 1) if date1904 else datetime(1899, 12, 30)
    return base + timedelta(microseconds=round(serial * 86_400_000_000 / 1000) * 1000)


def _convert_excel_value(value: Any, timestamp: bool, date1904: bool) -> Any:
    """An Excel value other than text as text; in a timestamp column, a ``datetime`` (serial numbers converted)."""
    if value is None:
        return ""
    if timestamp:
        if isinstance(value, datetime):
            return value
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and 1 <= value < 2958466:
            return _excel_date(float(value), date1904)
    return _to_text(value)


def _convert_excel_row(row: list[Any], timestamp_columns: set[int], date1904: bool) -> list[Any]:
    """:func:`_convert_excel_value` on each value of a row that is not text, in place."""
    for i, value in enumerate(row):
        if value.__class__ is not str and not isinstance(value, str):
            row[i] = _convert_excel_value(value, i in timestamp_columns, date1904)
    return row


def excel_sheet_names(path: str | Path) -> list[str]:
    """The names of the worksheets in an Excel file, in workbook order."""
    path = Path(path)
    return _Calamine(path).sheets(_xlsx_parts(path))[0]


def _open_excel(path: Path, *, sheet: str | None, header_score: Callable[[list[str]], float] | None,
                on_header: Callable[[list[Column]], None] | None) -> Table:
    layout = _xlsx_parts(path)
    book = _Calamine(path)
    names, visible = book.sheets(layout)
    if sheet is not None and sheet not in names:
        raise NotFound(f"{path.name} has no sheet called {sheet!r}. Its sheets are: {', '.join(names)}.")
    if sheet is None and len(visible) > 1 and header_score is not None:
        candidates = [_open_excel_sheet(path, book, name, layout, names, on_header) for name in visible]
        scored = [(header_score([c.header for c in t.columns]), -i, t) for i, t in enumerate(candidates) if t]
        if not scored:
            raise SpreadsheetError(f"No sheet in {path.name} has any rows. Check you chose the right file.")
        best = max(scored, key=lambda s: (s[0], s[1]))[2]
        others = [t.sheet for t in candidates if t is not None and t is not best]
        if others:
            best.notes.append(f"Sheet {best.sheet!r} was chosen because its header best matches the rubric "
                              f"(other sheets: {', '.join(others)}). Choose another sheet if this is wrong.")
        return best
    name = sheet if sheet is not None else visible[0]
    table = _open_excel_sheet(path, book, name, layout, names, on_header)
    if table is None:
        raise SpreadsheetError(f"Sheet {name!r} in {path.name} has no rows with anything in them. Check you chose "
                               "the right file and sheet.")
    return table


def _open_excel_sheet(path: Path, book: _Calamine, name: str, layout: _Layout, names: list[str],
                      on_header: Callable[[list[Column]], None] | None) -> Table | None:
    member, date1904 = layout.sheets.get(name), layout.date1904
    scan = None
    if member:
        scan = _SheetScan(path, member)
        scan.start()
        scan.first_row_read.wait()
        header_cells = _plain_header(scan.first_row) if COLUMNAR else 0
        if header_cells:
            # fastexcel releases the GIL while it loads the sheet, so on_header can have the header
            # (read from the XML) on another thread meanwhile, beside the rest of the scan.
            early = _early_header(path, scan.first_row, layout.shared_strings) if on_header else None
            if early:
                with ThreadPoolExecutor(1, thread_name_prefix="workbench-header") as pool:
                    told = pool.submit(on_header, early)
                    plain, _ = load_plain_sheet(path, name, header_cells)
                    told.result()
            else:
                plain, _ = load_plain_sheet(path, name, header_cells)
            scan.join()
            if plain is not None and scan.plain:
                table = _plain_table(path, plain, name, names, date1904)
                if table is not None:
                    return table
    sheet = book().get_sheet_by_name(name)
    merges = [((r0 + 1, c0), (r1 + 1, c1)) for (r0, c0), (r1, c1) in (sheet.merged_cell_ranges or [])]
    if scan is not None:
        scan.join()
    height = sheet.height
    start_row, start_col = sheet.start if sheet.start else (0, 0)

    def calamine_raw() -> Iterator[tuple[int, list[Any]]]:
        # python-calamine pads the rows above the used range but not the columns left of it.
        pad = [""] * start_col
        for number, row in enumerate(sheet.iter_rows(), start=1):
            yield number, pad + row if pad else row

    def openpyxl_raw() -> Iterator[tuple[int, list[Any]]]:
        import openpyxl

        workbook = openpyxl.load_workbook(path, read_only=True, data_only=False)
        try:
            worksheet = workbook[name]
            for number, cells in enumerate(worksheet.iter_rows(), start=1):
                row = []
                for cell in cells:
                    value = getattr(cell, "value", None)
                    if getattr(cell, "data_type", None) == "f" and isinstance(value, str):
                        value = FormulaText(value)
                    elif value is not None and not isinstance(value, str) and hasattr(value, "text"):
                        value = FormulaText(str(value.text))  # array formulas
                    row.append(value)
                yield number, row
        finally:
            workbook.close()

    use_openpyxl = bool(scan and scan.found)
    table = _excel_table(path, openpyxl_raw if use_openpyxl else calamine_raw, merges=merges, height=height,
                         name=name, names=names, date1904=date1904,
                         engine="openpyxl (the sheet has formulas)" if use_openpyxl else "calamine")
    if table is not None and use_openpyxl:
        table.notes.append(f"Sheet {name!r} contains Excel formulas: formula cells are kept as the formula text "
                           "as written, not the calculated value.")
    return table


def _plain_table(path: Path, plain: PlainSheet, name: str, names: list[str], date1904: bool) -> Table | None:
    """The table of a sheet fastexcel loaded, or ``None`` when its header is not row 1 after all."""

    def raw(omit: frozenset[int] = frozenset()) -> Iterator[tuple[int, list[Any]]]:
        yield 1, list(plain.header)
        yield from plain.rows(omit)

    table = _excel_table(path, raw, merges=[], height=plain.height + 1, name=name, names=names, date1904=date1904,
                         engine="fastexcel")
    if table is None or table.header_row != 1:
        return None
    timestamps = {c.index for c in table.columns if c.kind == "timestamp"}
    # A column of dates (every cell one) is kept as it is in a timestamp column.
    as_is = {i for i in timestamps if i < len(plain.columns) and plain.columns[i].kind == "timestamp"}

    def convert(index: int, values: list[Any]) -> list[Any]:  # a column at a time, as _convert_excel_row does
        if index in as_is:
            return values
        timestamp = index in timestamps
        return [v if v.__class__ is str else _convert_excel_value(v, timestamp, date1904) for v in values]

    table._row_source = lambda omit=frozenset(): plain.rows(omit, convert)
    table._plain, table._convert = plain, convert
    return table


def _excel_table(path: Path, raw: Callable[..., Iterator[tuple[int, list[Any]]]], *, merges, height: int, name: str,
                 names: list[str], date1904: bool, engine: str) -> Table | None:
    head = []
    for item in raw():
        head.append(item)
        if len(head) >= HEADER_SEARCH_ROWS + 1:
            break
    if not any(not _is_blank(v) for _, v in head):
        return None
    # Find the timestamp columns from the header, then convert each row as it streams.
    probe = _table_from_head(path, "xlsx", [(n, _convert_excel_row(list(v), set(), date1904)) for n, v in head],
                             merges=merges, source=lambda: iter(()), total_rows=None, sheet=name)
    timestamp_columns = {c.index for c in probe.columns if c.kind == "timestamp"}

    def converted(**kwargs: Any) -> Iterator[tuple[int, list[Any]]]:
        for number, values in raw(**kwargs):
            yield number, _convert_excel_row(values, timestamp_columns, date1904)

    return _table_from_head(path, "xlsx", [(n, _convert_excel_row(v, timestamp_columns, date1904)) for n, v in head],
                            merges=merges, source=converted, total_rows=height, sheet=name, sheets=names,
                            engine=engine)


# ---------------------------------------------------------------------------------------


def open_table(path: str | Path, *, sheet: str | None = None,
               header_score: Callable[[list[str]], float] | None = None,
               on_header: Callable[[list[Column]], None] | None = None) -> Table:
    """Open a spreadsheet for reading: find the sheet and its header row.

    ``sheet`` picks an Excel sheet by name. Without it, the only visible sheet is used, or,
    when there are several and ``header_score`` is given, the sheet whose cleaned headers
    score highest (the import passes a score of how well they match the rubric).

    ``on_header(columns)``, when given, is called with the header of a plain Excel sheet, read
    from its XML, while the sheet itself loads on another thread: work that needs only the
    header can run meanwhile (the import proposes its column mapping). The table's columns
    are usually the same; compare before using the work.
    """
    path = Path(path)
    if not path.exists():
        raise NotFound(f"No file at {path}. Check the name and folder.")
    suffix = path.suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        return _open_excel(path, sheet=sheet, header_score=header_score, on_header=on_header)
    if suffix in CSV_SUFFIXES:
        if sheet is not None:
            raise WorkbenchError(f"{path.name} is a CSV file, which has no sheets; leave out the sheet name.")
        return _open_csv(path)
    if suffix in {".xls", ".ods", ".numbers"}:
        raise SpreadsheetError(f"{path.name} is an old Excel (.xls) or other spreadsheet format. Open it and save it "
                               "as .xlsx (Excel Workbook) or as CSV UTF-8, then import that file.")
    raise SpreadsheetError(f"{path.name} is not a spreadsheet this workbench reads. Use an Excel .xlsx/.xlsm file or "
                           "a .csv file (for example the Excel download from Microsoft Forms or Google Forms).")


def sheet_names(path: str | Path) -> list[str]:
    """Worksheet names of an Excel file; ``[]`` for a CSV file."""
    path = Path(path)
    if path.suffix.lower() in EXCEL_SUFFIXES:
        return excel_sheet_names(path)
    return []
