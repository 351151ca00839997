"""A units × raters ratings table, coded once and shared by every agreement statistic.

Rows are units (nominations, answers, cases), columns are raters (judges). A missing
rating is ``NaN``, ``None`` or an empty string. Ratings are numbers, or labels (any
strings) for the nominal statistics. A *scale* declares the possible values in order:
numbers (``[0, 1, 2, 3, 4, 5]``) or labels (``["Not met", "Partly met", "Met"]``);
weights and ordinal distances then follow the scale, including values nobody used.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench.errors import NotFound, Problem, ValidationFailed, WorkbenchError

#: Up to this many possible values, large tables are counted by comparing with each value in turn.
_COMPARE_LIMIT = 32
_COMPARE_FROM = 50_000


class RatingsError(WorkbenchError, ValueError):
    """The ratings table cannot be used as given; the message says what to change."""


def _is_missing(value: Any) -> bool:
    """``None``, ``NaN``, ``pd.NA`` or a blank string.

    >>> [_is_missing(v) for v in (None, float("nan"), pd.NA, " ", "0", 0)]
    [True, True, True, True, False, False]
    """
    if isinstance(value, str):
        return not value.strip()
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # not a scalar
        return False


def _label(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _to_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _describe(values: Sequence[Any], limit: int = 8) -> str:
    shown = ", ".join(_label(v) for v in list(values)[:limit])
    return shown + (", …" if len(values) > limit else "")


class Ratings:
    """Ratings coded for the agreement statistics.

    ``values`` holds the numbers (``NaN`` = missing) when every rating is a number;
    ``codes`` holds each rating's index into ``categories`` (``-1`` = missing).

    >>> r = Ratings([[1, 1], [2, None], ["", 3]])
    >>> r.shape, r.numeric, r.categories.tolist(), int(r.observed)
    ((3, 2), True, [1.0, 2.0, 3.0], 4)
    >>> Ratings([["yes", "no"], ["no", "no"]]).categories.tolist()
    ['no', 'yes']
    """

    def __init__(self, table: Any, *, scale: Sequence[Any] | None = None, nominal: bool = False):
        unit_labels = rater_labels = None
        if hasattr(table, "to_numpy") and hasattr(table, "columns"):
            unit_labels = [str(u) for u in table.index]
            rater_labels = [str(c) for c in table.columns]
            table = table.to_numpy()
        array = np.asarray(table)
        if array.dtype.kind in "US" and not isinstance(table, np.ndarray):
            array = np.asarray(table, dtype=object)  # keep 1.0 a number next to labels, not "1.0"
        if array.ndim != 2:
            raise RatingsError(
                "Ratings must be a table with one row per unit and one column per rater; "
                f"got {array.ndim} dimension(s)."
            )
        self.shape: tuple[int, int] = (int(array.shape[0]), int(array.shape[1]))
        self._unit_labels, self._rater_labels = unit_labels, rater_labels
        self.nominal_only = bool(nominal)
        if array.dtype.kind in "biuf":
            self._init_numeric(array.astype(float, copy=False), scale)
        else:
            self._init_objects(array, scale)

    # -- construction --------------------------------------------------------------------

    def _init_numeric(self, values: np.ndarray, scale: Sequence[Any] | None) -> None:
        self.values: np.ndarray | None = values
        self.numeric = not self.nominal_only
        self.ordered = not self.nominal_only
        scale_values = None if scale is None else np.asarray(self._numeric_scale(scale), dtype=float)
        flat = values.ravel()
        lo, hi = (float(np.fmin.reduce(flat)), float(np.fmax.reduce(flat))) if flat.size else (np.nan, np.nan)
        if np.isinf(lo) or np.isinf(hi):
            raise RatingsError("A rating is infinite. Use a finite number, or leave the cell empty if it is missing.")
        if np.isnan(lo):  # nothing rated at all
            self.categories = scale_values if scale_values is not None else np.zeros(0)
            self.__dict__["counts"] = np.zeros((self.shape[0], len(self.categories)))
            return
        candidates = scale_values
        if candidates is None and lo.is_integer() and hi.is_integer() and hi - lo < _COMPARE_LIMIT:
            candidates = np.arange(lo, hi + 1.0)
        if candidates is not None and len(candidates) <= _COMPARE_LIMIT and values.size >= _COMPARE_FROM:
            # Few possible values (a rubric scale): count each unit's ratings per value with one
            # comparison pass per value — no per-rating index arrays, so memory stays small.
            counts = np.column_stack([np.count_nonzero(values == v, axis=1) for v in candidates]).astype(float)
            if counts.sum() == self.observed:
                if scale_values is None:
                    used = counts.sum(axis=0) > 0
                    candidates, counts = candidates[used], counts[:, used]
                self.categories = candidates
                self.__dict__["counts"] = counts
                return
        observed = values[self.mask]
        self.__dict__["_flat_codes"], self.categories = self._code_numbers(observed, scale_values)

    def _init_objects(self, array: np.ndarray, scale: Sequence[Any] | None) -> None:
        # Work on the distinct cell values only (a rubric has few), then spread back by index.
        codes, uniques = pd.factorize(array.ravel(), use_na_sentinel=True)
        uniques = list(uniques)
        blank = np.array([_is_missing(u) for u in uniques] + [True], dtype=bool)  # last: the NA sentinel
        missing = blank[codes]
        numbers = [_to_float(u) for u in uniques]
        if all(n is not None for n, b in zip(numbers, blank) if not b):
            lookup = np.array([np.nan if b or n is None else n for n, b in zip(numbers, blank)] + [np.nan])
            self._init_numeric(lookup[codes].reshape(array.shape), scale)
            return
        self.__dict__["mask"] = ~missing.reshape(array.shape)
        self.values = None
        self.numeric = False
        labels = [_label(u) for u in uniques]
        used = {label for label, b in zip(labels, blank) if not b}
        if scale is not None:
            categories = np.asarray([_label(v) for v in scale], dtype=object)
            if len(set(categories)) != len(categories):
                raise RatingsError(f"The scale lists a value twice: {_describe(categories)}. List each value once.")
            self.ordered = not self.nominal_only
        else:
            categories = np.asarray(sorted(used), dtype=object)
            self.ordered = False
        index = {c: i for i, c in enumerate(categories)}
        unknown = sorted(used - set(index))
        if unknown:
            raise RatingsError(
                f"Rating(s) {_describe(unknown)} are not on the scale ({_describe(categories)}). "
                "Correct the ratings or add the values to the scale."
            )
        self.categories = categories
        category_of = np.array([index.get(label, -1) for label in labels] + [-1], dtype=np.intp)
        self.__dict__["_flat_codes"] = category_of[codes[~missing]]

    @staticmethod
    def _numeric_scale(scale: Sequence[Any]) -> list[float]:
        numbers = [_to_float(v) for v in scale]
        if any(n is None for n in numbers):
            raise RatingsError(
                f"The ratings are numbers but the scale has labels ({_describe(list(scale))}). "
                "Give the scale as the numbers judges use."
            )
        if len(set(numbers)) != len(numbers):
            raise RatingsError(f"The scale lists a value twice: {_describe(list(scale))}. List each value once.")
        return sorted(numbers)

    @staticmethod
    def _code_numbers(observed: np.ndarray, categories: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Each observed number's index into the categories (the scale, or the values seen)."""
        if categories is None:
            lo, hi = (float(observed.min()), float(observed.max())) if observed.size else (0.0, 0.0)
            if hi - lo < 4096 and bool(np.all(observed == np.floor(observed))):
                offset = (observed - lo).astype(np.intp)
                present = np.bincount(offset, minlength=int(hi - lo) + 1) > 0
                return (np.cumsum(present) - 1)[offset], lo + np.flatnonzero(present).astype(float)
            categories, codes = np.unique(observed, return_inverse=True)
            return codes.astype(np.intp, copy=False), categories
        codes = np.searchsorted(categories, observed)
        codes[codes >= len(categories)] = len(categories) - 1
        off = categories[codes] != observed
        if off.any():
            raise RatingsError(
                f"Rating(s) {_describe(np.unique(observed[off]))} are not on the scale ({_describe(categories)}). "
                "Correct the ratings or add the values to the scale."
            )
        return codes, categories

    @classmethod
    def _subset(cls, parent: Ratings, rows: np.ndarray) -> Ratings:
        new = cls.__new__(cls)
        new.shape = (int(len(rows)), parent.shape[1])
        new._unit_labels = [parent.unit_labels[i] for i in rows] if parent._unit_labels else None
        new._rater_labels = parent._rater_labels
        new.nominal_only = parent.nominal_only
        new.numeric, new.ordered, new.categories = parent.numeric, parent.ordered, parent.categories
        new.values = None if parent.values is None else parent.values[rows]
        new.__dict__["mask"] = parent.mask[rows]
        new.__dict__["codes"] = parent.codes[rows]
        new.__dict__["counts"] = parent.counts[rows]
        return new

    # -- derived tables ------------------------------------------------------------------

    @property
    def unit_labels(self) -> list[str]:
        """Unit names: the DataFrame index, or 1, 2, 3, …"""
        return self._unit_labels or [str(i + 1) for i in range(self.shape[0])]

    @property
    def rater_labels(self) -> list[str]:
        """Rater names: the DataFrame columns, or "rater 1", "rater 2", …"""
        return self._rater_labels or [f"rater {j + 1}" for j in range(self.shape[1])]

    def take(self, rows: Sequence[int] | np.ndarray) -> Ratings:
        """These units only (repeats allowed, as in a bootstrap resample)."""
        return Ratings._subset(self, np.asarray(rows, dtype=np.intp))

    @cached_property
    def mask(self) -> np.ndarray:
        """``(units, raters)``: ``True`` where there is a rating."""
        return ~np.isnan(self.values)

    @cached_property
    def observed(self) -> int:
        """How many ratings are present."""
        return int(np.count_nonzero(self.mask))

    @cached_property
    def _flat_codes(self) -> np.ndarray:
        """Category index of each present rating, in row-major order."""
        return self._code_numbers(self.values[self.mask], np.asarray(self.categories, dtype=float))[0]

    @cached_property
    def codes(self) -> np.ndarray:
        """``(units, raters)`` category indices, ``-1`` where the rating is missing."""
        codes = np.full(self.shape, -1, dtype=np.intp)
        codes[self.mask] = self._flat_codes
        return codes

    @cached_property
    def counts(self) -> np.ndarray:
        """``(units, categories)``: how many raters put each unit in each category."""
        units, raters = self.shape
        q = len(self.categories)
        unit_of = np.flatnonzero(self.mask.ravel()) // max(raters, 1)
        flat = np.bincount(unit_of * q + self._flat_codes, minlength=units * q)
        return flat.reshape(units, q).astype(float)

    @cached_property
    def per_unit(self) -> np.ndarray:
        """How many ratings each unit has."""
        return self.counts.sum(axis=1).astype(np.intp)

    @cached_property
    def category_values(self) -> np.ndarray | None:
        """Positions of the categories for distance-based weights: the numbers themselves,
        or 0, 1, 2, … for an ordered list of labels; ``None`` when the categories have no order."""
        if not self.ordered:
            return None
        if self.values is not None:
            return np.asarray(self.categories, dtype=float)
        return np.arange(len(self.categories), dtype=float)


def as_ratings(data: Any, *, scale: Sequence[Any] | None = None, nominal: bool = False) -> Ratings:
    """``data`` as :class:`Ratings`; an existing :class:`Ratings` is reused as it is."""
    if isinstance(data, Ratings) and scale is None and not nominal:
        return data
    return Ratings(data, scale=scale, nominal=nominal)


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in ",;\t"}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def read_ratings_csv(path: str | os.PathLike) -> pd.DataFrame:
    """A ratings CSV as a units × raters table: first column the unit id, then one column per rater.

    An empty cell is a missing rating. Columns whose cells are all numbers become numbers;
    otherwise the ratings stay as text (labels). Commas, semicolons or tabs are accepted, in
    UTF-8 or Windows-1252.

    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with open(f"{folder}/r.csv", "w", encoding="utf-8") as f:
    ...     _ = f.write("nomination,Ann,Raj\\nN1,4,5\\nN2,,3\\n")
    >>> read_ratings_csv(f"{folder}/r.csv").to_dict("index")
    {'N1': {'Ann': 4.0, 'Raj': 5.0}, 'N2': {'Ann': nan, 'Raj': 3.0}}
    """
    from workbench.intake.reading import detect_encoding  # shared with nomination import

    path = Path(path)
    if not path.is_file():
        raise NotFound(f"No ratings file at {path}. Check the name and folder.")
    encoding = detect_encoding(path)
    with path.open("r", encoding=encoding, newline="") as f:
        first = f.readline()
    if not first.strip():
        raise RatingsError(f"{path.name} is empty. The first row should name the unit column and each rater.")
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[], encoding=encoding,
                            sep=_delimiter(first), engine="c", skipinitialspace=True)
    except pd.errors.ParserError as exc:
        raise RatingsError(
            f"{path.name} could not be read as a table ({exc}). Every row needs the same columns as the first row."
        ) from None
    name = path.name
    if table.shape[1] < 2:
        raise RatingsError(
            f"{name} has no rater columns. The first column is the unit id; add one column of ratings per rater."
        )
    unit_column, raters = table.columns[0], [str(c).strip() for c in table.columns[1:]]
    problems = []
    for i, rater in enumerate(raters):
        if not rater or rater.startswith("Unnamed:"):
            problems.append(Problem(name, f"column {i + 2}",
                                    "This rater column has no name in the first row; add one."))
    units = table[unit_column].str.strip()
    seen: dict[str, int] = {}
    for row, unit in enumerate(units, start=2):
        if not unit:
            problems.append(Problem(name, f"row {row}", "The unit id (first column) is empty; give each row an id."))
        elif unit in seen:
            problems.append(Problem(name, f"row {row}", f"Unit {unit!r} also appears in row {seen[unit]}; "
                                                        "give each unit one row."))
        else:
            seen[unit] = row
    if problems:
        raise ValidationFailed(problems)
    cells = table.iloc[:, 1:].apply(lambda col: col.str.strip())
    cells = cells.mask(cells == "")
    numbers = cells.apply(lambda col: pd.to_numeric(col, errors="coerce"))
    if bool((numbers.notna() | cells.isna()).all().all()):
        result = numbers.astype(float)
    else:
        result = cells.astype(object).where(cells.notna(), None)
    result.index = pd.Index(units, name=str(unit_column).strip())
    result.columns = raters
    return result
