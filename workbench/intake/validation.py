"""Check imported rows and report every problem at once (lazy validation, as in pandera).

Each problem is an :class:`Issue` with the spreadsheet row number the organiser sees, the
column's header as written in the file, the criterion (when it is about an answer), a stable
reason code from :class:`Reason` and a plain-English message that says what to do. Nothing
is dropped without a line: skipped rows are listed with their reason, and blank rows are
counted.

A nominee nominated more than once (same email, or same name and organisation, accents and
case ignored) is reported as a :class:`DuplicateGroup`: a resubmission or edit by the same
nominator, or a second nominator. Both rows are shown and the newer one named; nothing is
merged. The organiser chooses what to keep (see :func:`duplicate_statuses`).

>>> from workbench.rubric import load_rubric
>>> from workbench.intake.mapping import NominationRow
>>> checker = RowChecker(rubric=load_rubric("inclusive-leader"), columns={"Q1": "Q1 answer", "Q2": "Q2 answer"})
>>> row = NominationRow(row=2, answers={"Q1": "n/a", "Q2": "", "Q3": "Yes.", "Q4": "Yes."},
...                     nominee={"name": "Ann Lee", "email": "", "job_title": "", "organisation": "",
...                              "team": "", "nominator_name": "", "nominator_email": ""},
...                     equality={}, extra={})
>>> [(i.row, i.column, i.criterion, i.code) for i in checker.check(row)]
[(2, 'Q1 answer', 'Q1', 'placeholder_answer'), (2, 'Q2 answer', 'Q2', 'missing_answer')]
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import numpy as np

from workbench.errors import WorkbenchError
from workbench.intake.columnar import TextColumn
from workbench.intake.mapping import NominationRow
from workbench.rubric import Rubric

log = logging.getLogger(__name__)


class Reason(StrEnum):
    """Stable reason codes for everything the import reports."""

    BLANK_ROW = "blank_row"
    ABOVE_HEADER = "above_header"
    SECOND_HEADER_ROW = "second_header_row"
    NO_NOMINATION = "no_nomination"
    MISSING_ANSWER = "missing_answer"
    PLACEHOLDER_ANSWER = "placeholder_answer"
    OVER_WORD_LIMIT = "over_word_limit"
    MISSING_NOMINEE = "missing_nominee"
    INVALID_EMAIL = "invalid_email"
    DUPLICATE_NOMINEE = "duplicate_nominee"
    DUPLICATE_SOURCE_KEY = "duplicate_source_key"
    FORMULA_CELL = "formula_cell"
    TIMESTAMP_UNREADABLE = "timestamp_unreadable"
    CELLS_BEYOND_HEADER = "cells_beyond_header"
    NO_COLUMN_FOR_CRITERION = "no_column_for_criterion"
    UNMAPPED_COLUMN = "unmapped_column"
    LOW_CONFIDENCE_MAPPING = "low_confidence_mapping"


#: Answers that hold no answer. Compared after trimming, ignoring case and a final full stop.
PLACEHOLDERS = frozenset({
    "-", "--", "---", "–", "—", ".", "..", "...", "…", "?", "x", "n/a", "na", "n.a", "n.a.", "n / a", "none",
    "nil", "nothing", "tbc", "tba", "tbd", "to follow", "see above", "as above", "see attached",
    "not applicable", "no comment", "same as above", "0",
})


def is_placeholder(text: str) -> bool:
    """``True`` for ``-``, ``n/a``, ``N/A``, ``none``, ``tbc``, ``.``, ``see above`` and the like.

    >>> [is_placeholder(t) for t in ["-", " N/A ", "TBC.", "See above", "None at all", "=SUM(A1)"]]
    [True, True, True, True, False, False]
    """
    folded = " ".join(text.split()).casefold()
    return folded in PLACEHOLDERS or folded.rstrip(".") in PLACEHOLDERS


def word_count(text: str) -> int:
    r"""Words separated by spaces, tabs or line feeds (``\r\n`` is one line break; a non-breaking
    space joins words, as in Word).

    >>> word_count("  Raised £2,000 –\tand\r\n€300 "), word_count("a\u00a0b"), word_count(" ")
    (5, 1, 0)
    """
    return _words_in(text.encode("utf-8", "surrogatepass"))


def _words_in(raw: bytes) -> int:
    """:func:`word_count` of UTF-8 bytes. With CRs dropped (they never separate words, nor make
    one alone), every separator byte becomes a space and every other byte an "x": each word then
    starts where an "x" follows a space (numpy finds those faster than ``count(b" x")``), or the text."""
    marks = np.frombuffer(raw.translate(_WORD_MARKS, b"\r"), dtype=np.uint8)
    if not marks.size:
        return 0
    return int(np.count_nonzero(marks[1:] > marks[:-1])) + (int(marks[0]) == _X)


_WORD_MARKS = bytes(0x20 if b in b" \t\n" else 0x78 for b in range(256))
_X = 0x78


def over_limit(text: str, limit: int) -> int | None:
    """The word count when ``text`` has more than ``limit`` words, else ``None``.

    Fast for the usual answer: ``n`` words need at least ``2n - 1`` characters and at most
    one separator each, so most answers are cleared by their length or a count of their
    separators, without being split.
    """
    if len(text) <= 2 * limit:
        return None
    bound = text.count(" ") + 1
    if bound <= limit:
        first = text.find("\n")
        if first >= 0:
            bound += text.count("\n", first)  # the scan starts at the first line break
        if bound <= limit and "\t" in text:
            bound += text.count("\t")
        if bound <= limit:
            return None
    words = word_count(text)
    return words if words > limit else None


@dataclass(frozen=True)
class Issue:
    """One problem: where it is (row and column as in the file), what, and what to do."""

    row: int | None
    column: str | None
    criterion: str | None
    code: str
    message: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "code", str(self.code))

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "criterion": self.criterion, "code": self.code,
                "message": self.message}


@dataclass(frozen=True)
class Skipped:
    """Rows not imported, with the reason. A run of blank rows is one line (``to_row``)."""

    row: int
    reason: str
    code: str
    to_row: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "code", str(self.code))

    def to_dict(self) -> dict[str, Any]:
        out = {"row": self.row, "reason": self.reason, "code": self.code}
        if self.to_row is not None:
            out["to_row"] = self.to_row
        return out


def skipped_blank_rows(rows: list[int]) -> list[Skipped]:
    """Blank rows as report lines, consecutive rows collapsed into one line.

    >>> [s.reason for s in skipped_blank_rows([3, 7, 8, 9])]
    ['blank row', 'blank rows 7–9 (3 rows)']
    """
    out = []
    rows = sorted(rows)
    i = 0
    while i < len(rows):
        j = i
        while j + 1 < len(rows) and rows[j + 1] == rows[j] + 1:
            j += 1
        if i == j:
            out.append(Skipped(rows[i], "blank row", Reason.BLANK_ROW))
        else:
            out.append(Skipped(rows[i], f"blank rows {rows[i]}–{rows[j]} ({j - i + 1} rows)", Reason.BLANK_ROW,
                               to_row=rows[j]))
        i = j + 1
    return out


#: Answers shorter than this (in characters) are compared with :data:`PLACEHOLDERS`.
_SHORT = 30
# First bytes of UTF-8 that may start a whitespace character: ASCII space and controls, and
# the lead bytes of U+0085, U+00A0, U+1680, U+2000-U+205F and U+3000.
_SPACE_LEADS = np.zeros(256, dtype=bool)
_SPACE_LEADS[:0x21] = True
_SPACE_LEADS[[0xC2, 0xE1, 0xE2, 0xE3]] = True


def break_counts(data: np.ndarray, starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """How many bytes in each ``data[starts[i]:stops[i]]`` are ASCII spaces or controls, for
    many ranges at once: the bytes become one bit each, and the bits are counted a 64-bit word
    at a time, so the cost is one pass over the bytes whatever the number of ranges.

    >>> import numpy as np
    >>> data = np.frombuffer(b"a b\\tc" * 30, dtype=np.uint8)
    >>> break_counts(data, np.array([0, 1, 3, 65]), np.array([150, 2, 3, 130])).tolist()
    [60, 1, 0, 26]
    """
    base, top = int(starts.min()), int(stops.max())
    packed = np.packbits(data[base:top] <= 0x20, bitorder="little")
    words = np.zeros(packed.size // 8 + 2, dtype=np.uint64)  # a spare word: a range may end on the last bit
    words.view(np.uint8)[:packed.size] = packed
    before_word = np.zeros(words.size + 1, dtype=np.int64)
    np.cumsum(np.bitwise_count(words), out=before_word[1:])

    def before(at: np.ndarray) -> np.ndarray:  # the bits set before each position
        word = at >> 6
        low_bits = (np.uint64(1) << (at & 63).astype(np.uint64)) - np.uint64(1)
        return before_word[word] + np.bitwise_count(words[word] & low_bits)

    return before(stops - base) - before(starts - base)


def screen_answers(offsets: np.ndarray, data: np.ndarray, limit: int) -> tuple[np.ndarray, dict[int, int]]:
    """For answers held as UTF-8 bytes (``data[offsets[i]:offsets[i+1]]``), without making them
    Python strings: ``(cleared, over)``. ``cleared[i]`` is ``True`` where the answer certainly
    needs no warning; ``over`` gives the exact word count of each answer found over ``limit``.

    Long answers are decided here: at least 120 bytes (so 30 characters or more: not a
    placeholder) and a first character that is not a space (so not blank). Such an answer is
    within the limit when it has at most ``2 * limit`` bytes (a word and its break take two) or
    fewer than ``limit`` bytes that are ASCII spaces or controls (every break between words is
    one of those); otherwise its words are counted exactly. Anything else is left to
    :meth:`RowChecker.answer_issue`.

    >>> import numpy as np
    >>> texts = [b"-", b"word " * 30, b"word " * 600, b" " + b"word " * 30, b"word\\n\\n" * 300]
    >>> offsets = np.cumsum([0, *map(len, texts)])
    >>> cleared, over = screen_answers(offsets, np.frombuffer(b"".join(texts), dtype=np.uint8), 500)
    >>> cleared.tolist(), over
    ([False, True, False, False, True], {2: 600})
    """
    starts = offsets[:-1]
    lengths = offsets[1:] - starts
    cleared = lengths >= 4 * _SHORT
    over: dict[int, int] = {}
    if not cleared.any():
        return cleared, over
    cleared[cleared] = ~_SPACE_LEADS[data[starts[cleared]]]
    long = np.flatnonzero(cleared & (lengths > 2 * limit))
    if long.size:
        ends = offsets[long + 1]
        maybe = long[break_counts(data, starts[long], ends) >= limit]
        for i, a, b in zip(maybe.tolist(), starts[maybe].tolist(), offsets[maybe + 1].tolist()):
            words = _words_in(data[a:b].tobytes())
            if words > limit:
                cleared[i] = False
                over[i] = words
    return cleared, over


class AnswerScreen:
    """:func:`screen_answers` over whole answer columns, a chunk of rows at a time, as the rows
    are read (so only one chunk's working memory is held). :meth:`cleared` gives a row's result
    as a bit mask: bit ``k`` is set when column ``k``'s answer was cleared; :meth:`over_limit`
    the word counts of its answers found over the limit.

    >>> import numpy as np
    >>> texts = [b"word " * 30, b"n/a", b"word " * 501]
    >>> column = TextColumn(np.cumsum([0, *map(len, texts)]), np.frombuffer(b"".join(texts), np.uint8), None, 2)
    >>> screen = AnswerScreen([column, column], 500)
    >>> [screen.cleared(i) for i in range(3)], screen.over_limit(2)
    ([3, 0, 0], {0: 501, 1: 501})
    """

    CHUNK = 2048

    def __init__(self, columns: list[TextColumn], limit: int):
        self.columns, self.limit = columns[:62], limit  # bits of an int64; any further column is never cleared
        self.height = len(columns[0].offsets) - 1 if columns else 0
        self._start = self._stop = 0
        self._masks: list[int] = []
        self._over: dict[int, dict[int, int]] = {}

    def cleared(self, i: int) -> int:
        """For data row ``i``, the bit mask of the columns whose answers were cleared."""
        if not self._start <= i < self._stop:
            self._screen(i - i % self.CHUNK)
        return self._masks[i - self._start]

    def over_limit(self, i: int) -> dict[int, int]:
        """For data row ``i`` (asked about in :meth:`cleared` first): column -> word count, for
        its answers over the limit."""
        return self._over.get(i, _NONE_OVER)

    def _screen(self, start: int) -> None:
        stop = min(start + self.CHUNK, self.height)
        masks = np.zeros(stop - start, dtype=np.int64)
        found: dict[int, dict[int, int]] = {}
        try:
            for k, column in enumerate(self.columns):
                flags, over = screen_answers(column.offsets[start:stop + 1], column.data, self.limit)
                if column.valid is not None:
                    flags &= column.valid[start:stop]
                masks |= flags.astype(np.int64) << k
                for j, words in over.items():
                    if column.valid is None or column.valid[start + j]:
                        found.setdefault(start + j, {})[k] = words
        except Exception as exc:  # nothing is cleared: every answer is then checked exactly, as text
            log.warning("answer screen failed (%s); checking rows %d-%d one by one", type(exc).__name__, start, stop)
            masks[:] = 0
            found = {}
        self._masks, self._over, self._start, self._stop = masks.tolist(), found, start, stop


_NONE_OVER: dict[int, int] = {}
_NO_COUNTS: dict[str, int] = {}


class RowChecker:
    """The checks on one row. ``columns`` maps each target to the header it came from."""

    def __init__(self, *, rubric: Rubric, columns: Mapping[str, str]):
        self.rubric = rubric
        self.limit = rubric.word_limit
        self.columns = dict(columns)
        self.criteria = [c for c in rubric.criterion_ids if c in self.columns]
        self.criterion_columns = [(c, self.columns[c]) for c in self.criteria]
        self.criterion_set = frozenset(self.criteria)

    def answer_issue(self, number: int, cid: str, column: str, text: str) -> Issue | None:
        """The problem with one answer, if any: missing, a placeholder, or over the word limit."""
        limit = self.limit
        size = len(text)
        if size > 2 * limit and not text.isspace():
            words = over_limit(text, limit)
            if words is not None:
                return self.over_limit_issue(number, cid, column, words)
        elif not text or text.isspace():
            return Issue(number, column, cid, Reason.MISSING_ANSWER,
                         f"{cid} has no answer. Ask the nominator for one, or import it as it is: "
                         "judges will see an empty answer.")
        elif size < _SHORT and is_placeholder(text):
            return Issue(number, column, cid, Reason.PLACEHOLDER_ANSWER,
                         f"{cid} only says {text.strip()!r}, which is not an answer. Ask the nominator "
                         "for one, or import it as it is: judges will score what is there.")
        return None

    def over_limit_issue(self, number: int, cid: str, column: str, words: int) -> Issue:
        return Issue(number, column, cid, Reason.OVER_WORD_LIMIT,
                     f"{cid} has {words} words; the limit is {self.limit}. It is imported in full: "
                     "decide whether judges should read it all or ask for a shorter answer.")

    def check(self, row: NominationRow) -> list[Issue]:
        """Every problem in the row. Answers in ``row.cleared`` were screened as fine already, and
        those in ``row.word_counts`` as over the limit (see :func:`screen_answers`): their text is
        not looked at again."""
        issues: list[Issue] = []
        number, cleared = row.row, row.cleared
        answers = row.answers
        if not self.criterion_set <= cleared:  # else every answer was screened as fine
            counted = row.word_counts or _NO_COUNTS
            for cid, column in self.criterion_columns:
                if cid not in cleared:
                    words = counted.get(cid)
                    issue = (self.answer_issue(number, cid, column, answers.get(cid, "")) if words is None
                             else self.over_limit_issue(number, cid, column, words))
                    if issue is not None:
                        issues.append(issue)
        nominee = row.nominee
        if not (nominee["name"] or nominee["email"] or nominee["team"]):
            issues.append(Issue(number, self.columns.get("nominee.name"), None, Reason.MISSING_NOMINEE,
                                "No nominee name, team or email in this row. Add who is being nominated, or "
                                "the nomination cannot be matched to a person."))
        for field_name, target in (("email", "nominee.email"), ("nominator_email", "nominator.email")):
            value = nominee[field_name]
            if value and not _email_ok(value):
                issues.append(Issue(number, self.columns.get(target), None, Reason.INVALID_EMAIL,
                                    f"{value!r} does not look like an email address; check it."))
        for label, target in row.formula_cells:
            criterion = target if target in self.rubric.criterion_ids else None
            issues.append(Issue(number, label, criterion, Reason.FORMULA_CELL,
                                "This cell is an Excel formula. Its text is kept exactly as written (starting "
                                "with '='), not the value Excel calculated; check that is what was meant."))
        if row.unreadable_timestamp:
            issues.append(Issue(number, self.columns.get("submission.timestamp"), None, Reason.TIMESTAMP_UNREADABLE,
                                f"The date {row.unreadable_timestamp!r} could not be read, so this row's order is "
                                "taken from its position in the file. Use a date like 2024-03-01 09:30."))
        for label in row.beyond_header:
            issues.append(Issue(number, label, None, Reason.CELLS_BEYOND_HEADER,
                                "This cell is right of the last column with a header. Its value is kept as extra "
                                "data; give the column a header if it matters."))
        return issues


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _email_ok(value: str) -> bool:
    return _EMAIL.match(value) is not None


# ---------------------------------------------------------------------------------------
# Nominated more than once


_APOSTROPHES = re.compile(r"['’`]")
_NAME_WORD = re.compile(r"\w+")
_TITLES = {"dr", "mr", "mrs", "ms", "miss", "mx", "prof", "professor", "sir", "dame", "rev", "cllr"}


@functools.lru_cache(maxsize=8192)
def normalise_name(text: str) -> str:
    """A name for matching only: case, accents, titles and punctuation ignored.

    >>> normalise_name("Dr  Zoë O'Brien-Smith"), normalise_name("zoe obrien smith")
    ('zoe obrien smith', 'zoe obrien smith')
    """
    if text.isascii():
        plain = text.lower()
    else:
        decomposed = unicodedata.normalize("NFKD", text.casefold())
        plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    if "'" in plain or "’" in plain or "`" in plain:
        plain = _APOSTROPHES.sub("", plain)
    words = _NAME_WORD.findall(plain)
    while words and words[0] in _TITLES:
        words = words[1:]
    return " ".join(words)


@dataclass
class DuplicateEntry:
    row: int | None
    source_key: str
    nominator: str
    submitted_at: datetime | None
    reference: str | None = None  # set for a nomination already in the database
    newest: bool = False
    keep: bool | None = None  # None: waiting for the organiser's choice

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["submitted_at"] = self.submitted_at.isoformat() if self.submitted_at else None
        return out


@dataclass
class DuplicateGroup:
    """Rows that nominate the same person or team. ``kind`` says how they differ."""

    id: str
    nominee: str
    kind: str  # resubmission | second_nominator | resubmission_and_second_nominator
    entries: list[DuplicateEntry]
    decision: str = "pending"  # pending | newer | older | both | row N
    message: str = ""

    @property
    def rows(self) -> list[int]:
        return [e.row for e in self.entries if e.row is not None]

    @property
    def newest(self) -> DuplicateEntry:
        return next(e for e in self.entries if e.newest)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "nominee": self.nominee, "kind": self.kind, "rows": self.rows,
                "newer_row": self.newest.row, "decision": self.decision, "message": self.message,
                "entries": [e.to_dict() for e in self.entries]}


class DuplicateFinder:
    """Collect a small key per row, then group rows that name the same nominee.

    Only a few short strings are kept per row, so memory stays small for large files.
    """

    def __init__(self) -> None:
        # (row, source_key, nominator name, nominator email, submitted_at, reference, name)
        self._items: list[tuple] = []
        self._parent: list[int] = []
        self._by_key: dict[str, int] = {}
        self._organisations: dict[str, str] = {}  # as written -> normalised: most rows share a few

    def add(self, *, row: int | None, source_key: str, nominee: Mapping[str, str], submitted_at: datetime | None,
            reference: str | None = None) -> None:
        team = nominee.get("team") or ""
        name = team if team not in ("", "yes") else (nominee.get("name") or "")
        email = nominee.get("email") or ""
        normal = normalise_name(name) if name else ""
        if not email and not normal:
            return
        index = len(self._items)
        self._items.append((row, source_key, nominee.get("nominator_name") or "", nominee.get("nominator_email") or "",
                            submitted_at, reference, name.strip()))
        self._parent.append(index)
        by_key = self._by_key
        if email:
            other = by_key.setdefault("e:" + email.strip().casefold(), index)
            if other != index:
                self._union(other, index)
        if normal:
            org = nominee.get("organisation") or ""
            organisation = self._organisations.get(org)
            if organisation is None:
                organisation = self._organisations[org] = normalise_name(org) if org else ""
            other = by_key.setdefault(f"n:{normal}|{organisation}", index)
            if other != index:
                self._union(other, index)

    def _find(self, i: int) -> int:
        while self._parent[i] != i:
            self._parent[i] = self._parent[self._parent[i]]
            i = self._parent[i]
        return i

    def _union(self, a: int, b: int) -> None:
        ra, rb = self._find(a), self._find(b)
        if ra != rb:
            self._parent[max(ra, rb)] = min(ra, rb)

    def groups(self) -> list[DuplicateGroup]:
        members: dict[int, list[int]] = {}
        for i in range(len(self._items)):
            if self._parent[i] != i or i in members:
                members.setdefault(self._find(i), []).append(i)
        out = []
        for root, others in members.items():
            indexes = sorted({root, *others})
            items = [self._items[i] for i in indexes]
            if all(item[0] is None for item in items):
                continue
            entries = [DuplicateEntry(row=r, source_key=k, nominator=who or address, submitted_at=when, reference=ref)
                       for r, k, who, address, when, ref, _ in items]
            # Newest: latest submission time; rows without one count as older, then file order.
            order = sorted(range(len(entries)), key=lambda k: (
                entries[k].submitted_at is not None,
                entries[k].submitted_at.replace(tzinfo=None) if entries[k].submitted_at else datetime.min,
                entries[k].row if entries[k].row is not None else -1))
            entries[order[-1]].newest = True
            nominators = [address.strip().casefold() or (normalise_name(who) if who else "")
                          for _, _, who, address, _, _, _ in items]
            distinct = {n for n in nominators if n}
            if len(distinct) <= 1:
                kind = "resubmission"
            elif len(distinct) == len(nominators):
                kind = "second_nominator"
            else:
                kind = "resubmission_and_second_nominator"
            group_id = "D-" + hashlib.sha1("|".join(sorted(e.source_key for e in entries)).encode()).hexdigest()[:8]
            out.append(DuplicateGroup(id=group_id, nominee=items[0][6], kind=kind,
                                      entries=sorted(entries, key=lambda e: (e.row is None, e.row or 0))))
        out.sort(key=lambda g: min(g.rows))
        for group in out:
            group.message = _duplicate_message(group)
        return out


def _where(entry: DuplicateEntry) -> str:
    return f"row {entry.row}" if entry.row is not None else f"nomination {entry.reference} (already imported)"


def _duplicate_message(group: DuplicateGroup) -> str:
    places = [_where(e) for e in group.entries]
    listed = ", ".join(places[:-1]) + f" and {places[-1]}"
    newest = group.newest
    why = ("by time submitted" if all(e.submitted_at for e in group.entries) else "by position in the file")
    how = {
        "resubmission": "by the same nominator (a resubmission or an edit)",
        "second_nominator": "by different nominators",
        "resubmission_and_second_nominator": "more than once by the same nominator and also by others",
    }[group.kind]
    return (f"{group.nominee} is nominated in {listed}, {how}. {_where(newest).capitalize()} is the newest ({why}). "
            "Nothing was merged: choose which to keep (the newer, the older, or both).")


#: Statuses the import gives nominations.
ACTIVE, PENDING, SUPERSEDED = "active", "duplicate-pending", "superseded"


def duplicate_statuses(groups: list[DuplicateGroup], choice: Mapping[str, Any] | None) -> dict[str, str]:
    """Status for each source key in a duplicate group, from the organiser's choice.

    ``choice`` is ``None`` (every row waits as ``duplicate-pending``) or ``{"keep": X}``
    where X is ``"newer"``, ``"older"`` or ``"both"`` for every group, or a dict from a
    group id or a row number in the group to ``"newer"``, ``"older"``, ``"both"`` or the row
    number to keep. Kept rows become ``active``, the others ``superseded`` (never deleted).
    """
    keep = (choice or {}).get("keep") if choice is not None else None
    if choice is not None and set(choice) - {"keep"}:
        raise WorkbenchError(f"Unknown duplicate choice {sorted(set(choice) - {'keep'})}; use {{'keep': ...}}.")
    statuses: dict[str, str] = {}
    problems = []
    per_group: dict[str, Any] = {}
    if isinstance(keep, Mapping):
        for key, value in keep.items():
            found = [g for g in groups if g.id == str(key) or str(key) in {str(r) for r in g.rows}]
            if not found:
                problems.append(f"{key!r} is not a duplicate group id or a row in one")
                continue
            per_group[found[0].id] = value
    elif keep is not None and keep not in {"newer", "older", "both"}:
        problems.append(f"keep={keep!r} is not one of 'newer', 'older', 'both'")
    if problems:
        raise WorkbenchError("Cannot apply the duplicate choice: " + "; ".join(problems) + ".")
    for group in groups:
        value = per_group.get(group.id) if isinstance(keep, Mapping) else keep
        entries = group.entries
        if value is None:
            group.decision = "pending"
            for e in entries:
                e.keep = None
                statuses[e.source_key] = PENDING
            continue
        if value == "both":
            kept = set(range(len(entries)))
        elif value == "newer":
            kept = {i for i, e in enumerate(entries) if e.newest}
        elif value == "older":
            kept = {i for i, e in enumerate(entries) if not e.newest}
        else:
            try:
                wanted = int(value)
            except (TypeError, ValueError):
                raise WorkbenchError(f"For duplicate group {group.id}, {value!r} is not 'newer', 'older', 'both' "
                                     "or a row number.") from None
            kept = {i for i, e in enumerate(entries) if e.row == wanted}
            if not kept:
                raise WorkbenchError(f"Row {wanted} is not in duplicate group {group.id} (rows "
                                     f"{', '.join(map(str, group.rows))}).")
            value = f"row {wanted}"
        group.decision = str(value)
        for i, e in enumerate(entries):
            e.keep = i in kept
            statuses[e.source_key] = ACTIVE if i in kept else SUPERSEDED
    return statuses


@dataclass
class ValidationReport:
    """Everything found in one pass over a file."""

    issues: list[Issue] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    blank_rows: int = 0
    duplicates: list[DuplicateGroup] = field(default_factory=list)
    rows_read: int = 0

    def by_code(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for issue in self.issues:
            counts[str(issue.code)] = counts.get(str(issue.code), 0) + 1
        return counts
