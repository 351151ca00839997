"""A plain Excel sheet loaded column by column: fastexcel parses it into Arrow buffers.

This is the fast way in for the usual export (Microsoft Forms, Google Forms): the header in
row 1 starting at A1, no formulas, no merged cells, and every column holding one type of
value (all text, or numbers, dates or TRUE/FALSE in every row). :func:`load_plain_sheet` returns
``None`` for any other sheet, with the reason, and :mod:`workbench.intake.reading` then reads
it cell by cell with python-calamine, which handles everything. Both ways give the same rows:
``tests/test_intake_columnar.py`` reads every messy fixture both ways and compares.

Rows are made into Python values one batch at a time (:meth:`PlainSheet.batches`), so a large
file is never held as Python objects all at once; the Arrow buffers themselves are native
memory, as python-calamine's parsed sheet is. Answer columns can be left out of the rows and
screened as bytes instead (:meth:`PlainSheet.text_column`,
:func:`workbench.intake.validation.screen_answers`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

#: How many rows are turned into Python values at a time; the first batch is smaller, as the
#: header search and a preview's first rows need no more.
ROW_BATCH = 512
FIRST_BATCH = 32

_EPOCH = datetime(1970, 1, 1)
_MS = {"s": 1000, "ms": 1, "us": 1 / 1000, "ns": 1 / 1_000_000}
_DEDUPED = re.compile(r"^(.*)_(\d+)$")
_UNNAMED = re.compile(r"__UNNAMED__\d+")


@dataclass(frozen=True)
class TextColumn:
    """One text column as Arrow keeps it: the UTF-8 bytes of every cell end to end, and where
    each cell starts (``offsets``, one more than the rows). Row ``i`` is sheet row ``first_row + i``."""

    offsets: np.ndarray
    data: np.ndarray
    valid: np.ndarray | None
    first_row: int

    def text(self, i: int) -> str:
        """The text of data row ``i`` (``""`` for an empty cell)."""
        if self.valid is not None and not self.valid[i]:
            return ""
        return self.data[self.offsets[i]:self.offsets[i + 1]].tobytes().decode("utf-8")


@dataclass
class _Column:
    kind: str  # text | float | bool | timestamp | null
    values: Any  # TextColumn, or a numpy array
    valid: np.ndarray | None
    unit: float = 1.0  # timestamps: milliseconds per tick
    datetime64: str | None = None  # timestamps: the numpy type that makes exact datetimes, if there is one


class PlainSheet:
    """A plain sheet held as Arrow columns. ``header`` is row 1; data rows start at row 2."""

    first_row = 2

    def __init__(self, header: list[str], columns: list[_Column], height: int, keep: Any):
        self.header = header
        self.columns = columns
        self.height = height  # data rows
        self._keep = keep  # the Arrow array that owns the buffers

    def text_column(self, index: int) -> TextColumn | None:
        """The column's bytes when it holds text, else ``None``."""
        if index >= len(self.columns) or self.columns[index].kind != "text":
            return None
        return self.columns[index].values

    def batches(self, omit: frozenset[int] = frozenset(),
                convert: Callable[[int, list[Any]], list[Any]] | None = None) -> Iterator[tuple[int, list[list[Any]]]]:
        """``(sheet row number of the first row, cells)`` for each batch of rows, by column:
        ``cells[i][j]`` is column ``i`` of the batch's row ``j``. Values are as python-calamine
        would give them: text as ``str``, numbers as ``float``, dates as ``datetime``,
        ``True``/``False``, empty cells ``None``. Columns in ``omit`` are ``""`` (their text is
        read on demand, through :meth:`text_column`). ``convert(index, values)``, when given, is
        applied to each batch of a column that holds anything but text."""
        start = 0
        while start < self.height:
            stop = min(start + (ROW_BATCH if start else FIRST_BATCH), self.height)
            cells = []
            for i, column in enumerate(self.columns):
                if i in omit:
                    cells.append([""] * (stop - start))
                    continue
                values = _python_values(column, start, stop)
                if convert is not None and (column.kind != "text" or column.valid is not None):
                    values = convert(i, values)
                cells.append(values)
            yield self.first_row + start, cells
            start = stop

    def rows(self, omit: frozenset[int] = frozenset(),
             convert: Callable[[int, list[Any]], list[Any]] | None = None) -> Iterator[tuple[int, list[Any]]]:
        """``(sheet row number, values)``: the rows of :meth:`batches`, one at a time."""
        for first, cells in self.batches(omit, convert):
            for number, values in enumerate(zip(*cells), start=first):
                yield number, list(values)


def _python_values(column: _Column, start: int, stop: int) -> list[Any]:
    kind, valid = column.kind, column.valid
    if kind == "null":
        return [None] * (stop - start)
    if kind == "text":
        text: TextColumn = column.values
        offsets = text.offsets[start:stop + 1]
        base = int(offsets[0])
        blob = text.data[base:int(offsets[-1])].tobytes()
        bounds = (offsets - base).tolist()
        out = [blob[a:b].decode("utf-8") for a, b in zip(bounds, bounds[1:])]
        if valid is not None:
            out = [v if ok else None for v, ok in zip(out, valid[start:stop].tolist())]
        return out
    # Numbers, TRUE/FALSE and dates have a value in every row (see _column).
    if kind == "timestamp":
        if column.datetime64:  # seconds, milliseconds or microseconds: numpy makes the datetimes, exactly
            return column.values[start:stop].view(column.datetime64).tolist()
        unit = column.unit
        return [_EPOCH + timedelta(milliseconds=v * unit) for v in column.values[start:stop].tolist()]
    return column.values[start:stop].tolist()


def _bits(buffer: Any, length: int, offset: int) -> np.ndarray:
    raw = np.frombuffer(buffer, dtype=np.uint8)
    return np.unpackbits(raw, bitorder="little")[offset:offset + length].astype(bool)


def _column(child: Any, length: int) -> _Column | None:
    import nanoarrow as na

    type_ = child.schema.type
    if type_ == na.Type.NULL:
        return _Column("null", None, None)
    offset = child.offset
    buffers = child.buffers
    validity = buffers[0]
    valid = _bits(validity, length, offset) if len(validity) else None
    if type_ in (na.Type.STRING, na.Type.LARGE_STRING):
        dtype = np.int32 if type_ == na.Type.STRING else np.int64
        offsets = np.frombuffer(buffers[1], dtype=dtype)[offset:offset + length + 1]
        data = np.frombuffer(buffers[2], dtype=np.uint8)
        return _Column("text", TextColumn(offsets, data, valid, PlainSheet.first_row), valid)
    if valid is not None and not valid.all():
        # fastexcel reads "n/a", "NA", "null" and "None" in a column of numbers, dates or TRUE/FALSE
        # as an empty cell, and python-calamine keeps them: such a column is read cell by cell.
        return None
    if type_ == na.Type.DOUBLE:
        values = np.frombuffer(buffers[1], dtype=np.float64)[offset:offset + length]
        return None if np.isnan(values).any() else _Column("float", values, None)  # "nan" typed as text
    if type_ == na.Type.BOOL:
        return _Column("bool", _bits(buffers[1], length, offset), None)
    if type_ == na.Type.TIMESTAMP:
        unit = str(child.schema.unit).rsplit(".", 1)[-1].lower()
        scale = {"second": "s", "milli": "ms", "micro": "us", "nano": "ns"}.get(unit, unit)
        if scale not in _MS or child.schema.timezone:
            return None
        values = np.frombuffer(buffers[1], dtype=np.int64)[offset:offset + length]
        # Times of day alone (before 1900) and far-off dates are left to python-calamine.
        low, high = -2208988800000 / _MS[scale], 253402300799000 / _MS[scale]
        if values.size and (values.min() < low or values.max() > high):
            return None
        return _Column("timestamp", values, None, _MS[scale], None if scale == "ns" else f"datetime64[{scale}]")
    return None


def load_plain_sheet(path: Path, name: str, header_cells: int) -> tuple[PlainSheet | None, str]:
    """Load sheet ``name`` with fastexcel when it is plain; else ``(None, why not)``.

    The caller has already checked, from the sheet's XML, that row 1 is a header of
    ``header_cells`` text cells starting at A1, and that there are no formulas or merged cells.
    """
    try:
        import fastexcel
        import nanoarrow as na
    except ImportError:
        return None, "fastexcel is not installed"
    logging.getLogger("fastexcel").setLevel(logging.ERROR)
    try:
        reader = fastexcel.read_excel(str(path))
        sheet = reader.load_sheet(name, header_row=0, schema_sample_rows=None, dtype_coercion="strict",
                                  skip_rows=0)
    except Exception as exc:  # mixed types in a column, or anything fastexcel cannot read
        return None, f"fastexcel: {str(exc).splitlines()[0]}"
    array = na.Array(sheet)
    names = [field.name for field in array.schema.fields]
    # fastexcel names a column with no header "__UNNAMED__<n>", and a repeated header "<header>_<n>".
    generated = [_UNNAMED.fullmatch(n) is not None for n in names]
    width = len(names) - generated[::-1].index(False) if not all(generated) else 0  # cells right of the header
    if width != header_cells or any(generated[:width]):
        return None, "a header cell is empty, or a header is not text"
    for n in names[:width]:
        match = _DEDUPED.match(n)
        if match and match.group(1) in names:
            return None, "a header is repeated"
    names = names[:width] + [""] * (len(names) - width)
    height = sheet.height
    columns = []
    for i in range(array.n_children):
        column = _column(array.child(i), height)
        if column is None:
            return None, f"column {i + 1} holds values python-calamine reads differently"
        columns.append(column)
    return PlainSheet(names, columns, height, array), ""
