"""Preview and import a nominations spreadsheet: the services the CLI and the notebook call.

- :func:`preview` reads the whole file (streaming) without touching the database: headers,
  the first rows, the proposed column mapping with confidences, and the full report.
- :func:`import_nominations` imports into a round in one transaction and returns an
  :class:`ImportReport`. It is idempotent: each row has a stable source key (the form's
  response ID when there is one, else timestamp + nominator + nominee), so importing the same
  file again changes nothing, and importing a corrected file updates only the nominations
  that changed and lists what changed (answers summarised by word count, never quoted).
  Nominations missing from a corrected file are listed, never deleted.

Rows stream from the reader in batches (:data:`BATCH_SIZE`); a 20,000-row file is never held
whole. Answers are never logged. Form timestamps carry no time zone; they are stored as
written (read as UTC), which keeps their order.

Statuses given to nominations: ``active``; ``duplicate-pending`` for every nomination of a
nominee nominated more than once until the organiser chooses (``duplicates={"keep": ...}``,
see :func:`workbench.intake.validation.duplicate_statuses`); ``superseded`` for the ones not
kept. Judges should only be given ``active`` nominations.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, selectinload

from workbench.errors import NotFound, WorkbenchError
from workbench.intake.columnar import TextColumn
from workbench.intake.mapping import (
    ColumnMapping,
    NominationRow,
    RowParser,
    SavedMapping,
    load_mapping,
    propose_mapping,
    rubric_header_score,
)
from workbench.intake.reading import Column, Table, open_table
from workbench.intake.validation import (
    ACTIVE,
    AnswerScreen,
    DuplicateFinder,
    DuplicateGroup,
    Issue,
    Reason,
    RowChecker,
    Skipped,
    duplicate_statuses,
    normalise_name,
    skipped_blank_rows,
)
from workbench.panel import answers_hash, create_round, get_round, round_rubric
from workbench.rubric import Rubric, load_rubric
from workbench.store import Answer, EqualityAnswer, Nomination, Nominee, session_scope

BATCH_SIZE = 500
_NOMINEE_FIELDS = ("name", "email", "job_title", "organisation", "team", "nominator_name", "nominator_email")
PREVIEW_ROWS = 5

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
MappingArg = ColumnMapping | SavedMapping | Mapping[str | int, str | None] | str | os.PathLike | None


@dataclass(frozen=True)
class Change:
    """One field of one nomination changed by a re-import (answers summarised, not quoted)."""

    nomination: str
    row: int | None
    field: str
    before: str
    after: str

    def to_dict(self) -> dict[str, Any]:
        return {"nomination": self.nomination, "row": self.row, "field": self.field, "before": self.before,
                "after": self.after}


@dataclass
class ImportReport:
    """What an import (or a preview, ``dry_run``) found and did. ``to_json()`` for the CLI."""

    file: str
    sheet: str | None
    rubric: str
    rubric_hash: str
    mapping: ColumnMapping
    round: str | None = None
    dry_run: bool = False
    rows_read: int = 0
    nominations: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    blank_rows: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    duplicates: list[DuplicateGroup] = field(default_factory=list)
    unmapped_columns: list[dict[str, Any]] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    missing_from_file: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "sheet": self.sheet,
            "rubric": self.rubric,
            "rubric_hash": self.rubric_hash,
            "round": self.round,
            "dry_run": self.dry_run,
            "rows_read": self.rows_read,
            "nominations": self.nominations,
            "imported": self.imported,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "blank_rows": self.blank_rows,
            "skipped": [s.to_dict() for s in self.skipped],
            "warnings": [w.to_dict() for w in self.warnings],
            "duplicates": [d.to_dict() for d in self.duplicates],
            "unmapped_columns": self.unmapped_columns,
            "mapping": self.mapping.to_dict(),
            "changes": [c.to_dict() for c in self.changes],
            "missing_from_file": self.missing_from_file,
            "notes": self.notes,
        }

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, **kwargs)

    def summary(self) -> str:
        """A few plain sentences for the organiser."""
        verb = "would be imported" if self.dry_run else "imported"
        lines = [f"{self.rows_read} rows read from {self.file}" + (f" (sheet {self.sheet!r})" if self.sheet else "")
                 + f": {self.nominations} nominations."]
        if self.dry_run:
            lines.append(f"{self.nominations} nominations {verb}.")
        else:
            lines.append(f"{self.imported} new, {self.updated} updated, {self.unchanged} unchanged"
                         + (f" in round {self.round!r}." if self.round else "."))
        if self.skipped:
            lines.append(f"{sum(_skipped_count(s) for s in self.skipped)} rows skipped "
                         f"(including {self.blank_rows} blank), each listed below.")
        if self.duplicates:
            pending = sum(1 for d in self.duplicates if d.decision == "pending")
            lines.append(f"{len(self.duplicates)} nominees are nominated more than once"
                         + (f"; {pending} wait for your choice." if pending else "."))
        if self.warnings:
            lines.append(f"{len(self.warnings)} warnings to look at.")
        if self.unmapped_columns:
            names = ", ".join(repr(c["header"]) for c in self.unmapped_columns)
            lines.append(f"Columns kept as extra data (not answers): {names}.")
        if self.missing_from_file:
            lines.append(f"{len(self.missing_from_file)} nominations imported earlier from this file are not in it "
                         "any more; they were kept.")
        return " ".join(lines)


def _skipped_count(s: Skipped) -> int:
    return (s.to_row - s.row + 1) if s.to_row is not None else 1


@dataclass
class Preview:
    """What the organiser checks before importing."""

    file: str
    sheet: str | None
    sheets: list[str]
    header_row: int
    columns: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    mapping: ColumnMapping
    report: ImportReport

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "sheet": self.sheet, "sheets": self.sheets, "header_row": self.header_row,
                "columns": self.columns, "rows": self.rows, "mapping": self.mapping.to_dict(),
                "report": self.report.to_dict()}


# ---------------------------------------------------------------------------------------


def _as_rubric(rubric: Rubric | str) -> Rubric:
    return rubric if isinstance(rubric, Rubric) else load_rubric(rubric)


def resolve_mapping(table: Table, rubric: Rubric, mapping: MappingArg, *,
                    proposed: ColumnMapping | None = None) -> ColumnMapping:
    """The mapping to use for ``table``: proposed, loaded from a file, or overridden.

    ``mapping`` may be ``None`` (proposed automatically), a :class:`ColumnMapping` made for
    this file (e.g. from :func:`preview`, after overrides), a :class:`SavedMapping` or the
    path of a YAML mapping file (applied by header, the rest proposed), or a dict of
    overrides ``{column letter or header: target}``. ``proposed`` is the mapping
    :func:`propose_mapping` gives for ``table.columns``, when the caller has it already.
    """
    if isinstance(mapping, ColumnMapping):
        expected = [(c.index, c.label) for c in table.columns]
        if [(m.index, m.header) for m in mapping.matches] != expected:
            raise WorkbenchError("This column mapping was made for a file with different columns. Preview this "
                                 "file again and confirm its mapping.")
        if mapping.rubric != rubric.id:
            raise WorkbenchError(f"This column mapping is for rubric {mapping.rubric!r}, not {rubric.id!r}.")
        return mapping
    if isinstance(mapping, (str, os.PathLike)):
        mapping = load_mapping(mapping)
    if isinstance(mapping, SavedMapping):
        if mapping.rubric != rubric.id:
            raise WorkbenchError(f"The mapping file {mapping.file} is for rubric {mapping.rubric!r}, but you are "
                                 f"importing with {rubric.id!r}. Use a mapping saved for {rubric.id!r}, or none.")
        return propose_mapping(table.columns, rubric=rubric, saved=mapping)
    proposed = proposed or propose_mapping(table.columns, rubric=rubric)
    return proposed.override(mapping) if mapping else proposed


class _HeadStart:
    """:func:`propose_mapping` on a sheet's header while the sheet itself loads (``open_table``'s
    ``on_header``), kept for a table whose columns turn out the same."""

    def __init__(self, rubric: Rubric):
        self.rubric = rubric
        self.proposals: list[tuple[list[Column], ColumnMapping]] = []

    def __call__(self, columns: list[Column]) -> None:
        try:
            self.proposals.append((columns, propose_mapping(columns, rubric=self.rubric)))
        except Exception as exc:  # proposed again from the table, which reports the error
            log.debug("mapping not proposed early: %s", type(exc).__name__)

    def proposal(self, table: Table) -> ColumnMapping | None:
        return next((mapping for columns, mapping in self.proposals if columns == table.columns), None)


def _open(path, rubric: Rubric, sheet: str | None, mapping: MappingArg) -> tuple[Table, ColumnMapping]:
    """The file opened, and its mapping resolved (proposed while the sheet loads, where it can be)."""
    head_start = _HeadStart(rubric) if mapping is None or isinstance(mapping, dict) else None
    table = open_table(path, sheet=sheet, header_score=rubric_header_score(rubric), on_header=head_start)
    return table, resolve_mapping(table, rubric, mapping, proposed=head_start.proposal(table) if head_start else None)


def source_key(row: NominationRow) -> str:
    """The row's stable identity: the form's response ID, else time + nominator + nominee."""
    if row.response_id:
        key = f"id:{row.response_id}"
        return key if len(key) <= 150 else "id#" + hashlib.sha256(key.encode()).hexdigest()
    n = row.nominee
    parts = [row.submitted_at.isoformat() if row.submitted_at else "",
             (n["nominator_email"].casefold() or normalise_name(n["nominator_name"])),
             (n["email"].casefold() or normalise_name(n["name"] or n["team"])),
             normalise_name(n["organisation"])]
    return "row:" + hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]


#: Targets a preview's report never reads, so a preview leaves their columns unread.
_UNREPORTED = ("nominee.job_title", "equality.")


@dataclass
class _Scan:
    """One streaming pass: rows with their keys, and everything the report needs."""

    table: Table
    mapping: ColumnMapping
    rubric: Rubric
    report: ImportReport
    finder: DuplicateFinder = field(default_factory=DuplicateFinder)
    unmapped_counts: dict[str, int] = field(default_factory=dict)

    def rows(self, progress: Progress | None = None, *, answers: bool = True) -> Iterator[tuple[NominationRow, str]]:
        """Each nomination row with its source key. ``answers=False`` (a preview) may leave out
        what its report never reads: the text of answers the screen decided, fine
        (``row.cleared``) or over the word limit (``row.word_counts``); job titles and equality
        answers (``_UNREPORTED``); and the text of unmapped dates, which it only counts."""
        table, report = self.table, self.report
        parser = RowParser(table.columns, self.mapping, self.rubric, formulas=table.engine.startswith("openpyxl"),
                           extra_text=answers)
        labels = {m.target: m.header for m in self.mapping.matches if m.target and m.merged_from is None}
        checker = RowChecker(rubric=self.rubric, columns=labels)
        # Answer columns held as bytes are screened a chunk at a time (see AnswerScreen); a preview
        # then reads only the answers the screen did not clear.
        screened = [(cid, index, text) for cid, index in parser.text_answers
                    if (text := table.text_column(index)) is not None]
        screen = AnswerScreen([text for _, _, text in screened], self.rubric.word_limit) if screened else None
        # A preview leaves out of the rows, too, the columns its report never reads.
        unreported = [where for target, where in parser.text_fields if target.startswith(_UNREPORTED)]
        omit = frozenset() if answers else frozenset([index for _, index, _ in screened] + unreported)
        # For each mask of screened columns: the criteria cleared, and the answers still to read.
        by_mask: dict[int, tuple[frozenset[str], list[tuple[str, TextColumn]]]] = {}
        seen: dict[str, int] = {}
        warnings = report.warnings
        total = max(0, (table.total_rows or 0) - table.header_row)
        done = 0
        for row in itertools.chain.from_iterable(parser.parse_batch(*batch) for batch in table.batches(omit)):
            number = row.row
            done += 1
            if progress is not None and done % BATCH_SIZE == 0:
                progress(done, max(total, done))
            if screen is not None:
                i = number - screened[0][2].first_row
                mask = screen.cleared(i)
                if mask not in by_mask:
                    by_mask[mask] = (frozenset(cid for k, (cid, _, _) in enumerate(screened) if mask >> k & 1),
                                     [(cid, text) for k, (cid, _, text) in enumerate(screened) if not mask >> k & 1])
                row.cleared, unread = by_mask[mask]
                over = screen.over_limit(i)
                if over:
                    row.word_counts = {screened[k][0]: words for k, words in over.items()}
                if omit:
                    for cid, text in unread:
                        if not over or cid not in row.word_counts:
                            row.answers[cid] = text.text(i)
            if row.extra:
                counts = self.unmapped_counts
                for key in row.extra:
                    counts[key] = counts.get(key, 0) + 1
            if row.is_empty:
                filled = ", ".join(list(row.extra)[:4]) or "nothing mapped"
                report.skipped.append(Skipped(number, f"no nominee and no answers (only: {filled}); not a "
                                              "nomination", Reason.NO_NOMINATION))
                continue
            warnings.extend(checker.check(row))
            key = source_key(row)
            if key in seen:
                first = seen[key]
                count = 2
                while f"{key}#{count}" in seen:
                    count += 1
                what = (f"the same response ID ({row.response_id})" if row.response_id
                        else "the same time, nominator and nominee")
                warnings.append(Issue(number, labels.get("submission.id"), None, Reason.DUPLICATE_SOURCE_KEY,
                                      f"Row {number} has {what} as row {first}. Both are imported; check whether "
                                      "one is a copy."))
                key = f"{key}#{count}"
            seen[key] = number
            self.finder.add(row=number, source_key=key, nominee=row.nominee, submitted_at=row.submitted_at)
            report.nominations += 1
            yield row, key
        report.rows_read = done
        if progress is not None:
            progress(done, done)

    def finish(self) -> None:
        """Add the file-level lines: skipped and blank rows, duplicates, unmapped columns."""
        table, report, mapping = self.table, self.report, self.mapping
        blank = skipped_blank_rows(table.blank_rows)
        report.blank_rows = len(table.blank_rows)
        header_lines = [Skipped(s.row, s.reason, Reason.ABOVE_HEADER if s.reason.startswith("above")
                                else Reason.SECOND_HEADER_ROW) for s in table.skipped]
        report.skipped = sorted(header_lines + blank + report.skipped, key=lambda s: s.row)
        groups = self.finder.groups()
        report.duplicates = groups
        for group in groups:
            for entry in group.entries:
                if entry.row is not None:
                    report.warnings.append(Issue(entry.row, None, None, Reason.DUPLICATE_NOMINEE, group.message))
        file_level: list[Issue] = []
        for cid in mapping.missing("criterion"):
            file_level.append(Issue(None, None, cid, Reason.NO_COLUMN_FOR_CRITERION,
                                    f"No column holds the answer to {cid} ({mapping.label(cid)}). Every nomination "
                                    f"will have an empty {cid}. Choose its column in the mapping if the file has one."))
        for m in mapping.to_check:
            file_level.append(Issue(None, m.header, m.target if m.target in self.rubric.criterion_ids else None,
                                    Reason.LOW_CONFIDENCE_MAPPING,
                                    f"Column {m.column} {m.header!r} was matched to {mapping.label(m.target)} with low "
                                    f"confidence ({m.confidence:.2f}); check it."))
        unmapped = []
        counted = dict(self.unmapped_counts)
        for m in mapping.unmapped:
            key = next((k for k in counted if k == m.header or k == f"{m.header} (column {m.column})"), None)
            values = counted.pop(key, 0) if key else 0
            if values == 0 and not m.original.strip():
                continue
            unmapped.append({"column": m.column, "header": m.header, "values": values})
            file_level.append(Issue(None, m.header, None, Reason.UNMAPPED_COLUMN,
                                    f"Column {m.column} {m.header!r} is not one of the questions or nominee "
                                    f"fields. Its values ({values} filled) are kept as extra data, not shown to "
                                    "judges as an answer. Map it if it holds one."))
        for key, values in counted.items():
            if key.endswith("(no header)"):
                unmapped.append({"column": key.split()[1], "header": key, "values": values})
        report.unmapped_columns = unmapped
        report.warnings = file_level + sorted(report.warnings, key=lambda i: (i.row or 0))
        report.notes.extend(table.notes)


def _new_report(path: Path, table: Table, rubric: Rubric, mapping: ColumnMapping, **kwargs) -> ImportReport:
    return ImportReport(file=path.name, sheet=table.sheet, rubric=rubric.id, rubric_hash=rubric.hash,
                        mapping=mapping, **kwargs)


def _require_criteria(mapping: ColumnMapping, table: Table, rubric: Rubric) -> None:
    if len(mapping.missing("criterion")) == len(rubric.criteria):
        headers = ", ".join(repr(c.label) for c in table.columns[:12])
        where = f"sheet {table.sheet!r} of {table.path.name}" if table.sheet else table.path.name
        raise WorkbenchError(
            f"No column in {where} matches any question of the rubric {rubric.id!r} (its headers: {headers}). "
            "Check you chose the right file, sheet and rubric, or give a mapping that names the answer columns.")


def preview(path: str | os.PathLike, *, rubric: Rubric | str, sheet: str | None = None, mapping: MappingArg = None,
            rows: int = PREVIEW_ROWS, progress: Progress | None = None) -> Preview:
    """Read the file and report on it without importing anything."""
    path = Path(path)
    rubric = _as_rubric(rubric)
    table, column_mapping = _open(path, rubric, sheet, mapping)
    report = _new_report(path, table, rubric, column_mapping, dry_run=True)
    scan = _Scan(table, column_mapping, rubric, report)
    first: list[dict[str, Any]] = []
    wanted = max(0, rows)
    for number, values in table.rows() if wanted else ():
        first.append({"row": number, "values": {c.label: _display(values[c.index]) if c.index < len(values) else ""
                                                for c in table.columns}})
        if len(first) >= wanted:
            break
    for _ in scan.rows(progress, answers=False):
        pass
    scan.finish()
    duplicate_statuses(report.duplicates, None)
    columns = [{"column": c.letter, "header": c.label, "original": c.original, "kind": c.kind} for c in table.columns]
    return Preview(file=path.name, sheet=table.sheet, sheets=table.sheets, header_row=table.header_row,
                   columns=columns, rows=first, mapping=column_mapping, report=report)


def _display(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    return "" if value is None else str(value)


# ---------------------------------------------------------------------------------------
# Import


def import_nominations(
    *,
    path: str | os.PathLike,
    rubric: Rubric | str,
    url: str | None = None,
    session: Session | None = None,
    round: str | None = None,  # noqa: A002 - the organiser's word
    sheet: str | None = None,
    mapping: MappingArg = None,
    duplicates: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import nominations from ``path`` into ``round`` (created if new; default: the rubric id).

    Everything happens in one transaction: a failure leaves the database as it was. Pass a
    ``session`` to take part in the caller's transaction instead of opening one at ``url``.
    """
    path = Path(path)
    rubric = _as_rubric(rubric)
    table, column_mapping = _open(path, rubric, sheet, mapping)
    _require_criteria(column_mapping, table, rubric)
    if session is not None:
        return _import(session, path, table, rubric, column_mapping, round, duplicates, progress)
    with session_scope(url) as s:
        return _import(s, path, table, rubric, column_mapping, round, duplicates, progress)


def _round(session: Session, name: str, rubric: Rubric):
    try:
        round_ = get_round(session, name)
    except NotFound:
        return create_round(session, name=name, rubric=rubric)
    if round_.rubric_hash != rubric.hash:
        stored = round_rubric(session, round_, check_file=False)
        raise WorkbenchError(
            f"Round {name!r} is judged on rubric {stored.id!r} (version {stored.hash[:12]}), but this import uses "
            f"{rubric.id!r} (version {rubric.hash[:12]}). Import into a new round (--round NAME), or migrate the round "
            "to this rubric first.")
    return round_


@dataclass
class _Existing:
    id: int
    reference: str
    content_hash: str | None
    status: str
    source_file: str | None
    source_row: int | None
    submitted_at: datetime | None
    category: str | None
    extra: dict


def _import(session: Session, path: Path, table: Table, rubric: Rubric, mapping: ColumnMapping, round_name: str | None,
            duplicates: Mapping[str, Any] | None, progress: Progress | None) -> ImportReport:
    round_ = _round(session, round_name or rubric.id, rubric)
    report = _new_report(path, table, rubric, mapping, round=round_.name)
    existing = {
        r.source_key: _Existing(r.id, r.reference, r.content_hash, r.status, r.source_file, r.source_row,
                                r.submitted_at, r.category, r.extra or {})
        for r in session.execute(
            select(Nomination.source_key, Nomination.id, Nomination.reference, Nomination.content_hash,
                   Nomination.status, Nomination.source_file, Nomination.source_row, Nomination.submitted_at,
                   Nomination.category, Nomination.extra).where(Nomination.round_id == round_.id))
    }
    next_number = len(existing) + 1
    scan = _Scan(table, mapping, rubric, report)
    inserts: list[tuple[NominationRow, str, str]] = []
    updates: list[tuple[NominationRow, str, str, _Existing]] = []
    seen: set[str] = set()
    new_keys: set[str] = set()

    def flush() -> None:
        nonlocal next_number
        if inserts:
            next_number = _insert(session, round_.id, path.name, inserts, next_number)
            report.imported += len(inserts)
            inserts.clear()
        if updates:
            _update(session, updates, report)
            updates.clear()

    for row, key in scan.rows(progress):
        seen.add(key)
        digest = answers_hash(row.answers, row.nominee, row.equality)
        known = existing.get(key)
        if known is None:
            inserts.append((row, key, digest))
            new_keys.add(key)
        elif (known.content_hash == digest and _same_time(known.submitted_at, row.submitted_at)
              and known.category == row.category and known.extra.get("unmapped", {}) == row.extra):
            report.unchanged += 1
            if known.source_row != row.row:
                session.execute(update(Nomination).where(Nomination.id == known.id).values(source_row=row.row))
        else:
            updates.append((row, key, digest, known))
        if len(inserts) + len(updates) >= BATCH_SIZE:
            flush()
    flush()
    # Nominations already in the round that this file did not bring (another file, or a row whose
    # key changed in a corrected file) take part in the duplicate check too.
    earlier = [e for k, e in existing.items() if k not in seen]
    if earlier:
        by_id = {e.id: (k, e) for k, e in existing.items() if k not in seen}
        for person in session.scalars(select(Nominee).where(Nominee.nomination_id.in_(list(by_id)))):
            key, known = by_id[person.nomination_id]
            scan.finder.add(row=None, source_key=key, reference=known.reference, submitted_at=known.submitted_at,
                            nominee={f: getattr(person, f) or "" for f in _NOMINEE_FIELDS})
    scan.finish()

    statuses = duplicate_statuses(report.duplicates, duplicates)
    by_key = {k: v for k, v in existing.items()}
    for group in report.duplicates:
        group_is_new = any(e.source_key in new_keys for e in group.entries)
        for entry in group.entries:
            wanted = statuses[entry.source_key]
            if duplicates is None and not group_is_new:
                continue  # an earlier import (or the organiser) already set these
            known = by_key.get(entry.source_key)
            before = known.status if known is not None else ACTIVE
            if known is None or before != wanted:
                session.execute(update(Nomination).where(Nomination.round_id == round_.id,
                                                         Nomination.source_key == entry.source_key)
                                .values(status=wanted))
            if known is not None and before != wanted:
                report.changes.append(Change(known.reference, entry.row, "status", before, wanted))
    report.missing_from_file = [
        {"nomination": e.reference, "row": e.source_row}
        for k, e in existing.items() if e.source_file == path.name and k not in seen
    ]
    session.flush()
    # Counts only: answers and identities are never logged.
    log.info("import %s into round %r: %d rows, %d new, %d updated, %d unchanged, %d skipped, %d warnings",
             path.name, round_.name, report.rows_read, report.imported, report.updated, report.unchanged,
             len(report.skipped), len(report.warnings))
    return report


def _same_time(a: datetime | None, b: datetime | None) -> bool:
    if a is None or b is None:
        return a is b
    return _utc(a) == _utc(b)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _insert(session: Session, round_id: int, file: str, batch: list[tuple[NominationRow, str, str]],
            next_number: int) -> int:
    values = []
    for row, key, digest in batch:
        values.append({
            "round_id": round_id, "reference": f"N{next_number:04d}", "source_key": key, "source_file": file,
            "source_row": row.row, "submitted_at": row.submitted_at, "category": row.category, "status": ACTIVE,
            "content_hash": digest, "extra": {"unmapped": row.extra} if row.extra else {},
        })
        next_number += 1
    table = Nomination.__table__
    ids = {key: id_ for id_, key in session.execute(insert(table).returning(table.c.id, table.c.source_key), values)}
    answers, nominees, equality = [], [], []
    for row, key, _ in batch:
        nid = ids[key]
        answers.extend({"nomination_id": nid, "criterion_id": c, "text": t} for c, t in row.answers.items())
        nominees.append({"nomination_id": nid, **row.nominee})
        equality.extend({"nomination_id": nid, "characteristic": k, "value": v} for k, v in row.equality.items())
    # Core inserts (each one executemany): the ORM's bulk path adds nothing for new rows.
    session.execute(insert(Answer.__table__), answers)
    session.execute(insert(Nominee.__table__), nominees)
    if equality:
        session.execute(insert(EqualityAnswer.__table__), equality)
    return next_number


def _words(text: str) -> str:
    n = len(text.split())
    return "empty" if not text.strip() else f"{n} word{'s' if n != 1 else ''}"


def _update(session: Session, batch: list[tuple[NominationRow, str, str, _Existing]], report: ImportReport) -> None:
    ids = [known.id for _, _, _, known in batch]
    loaded = {n.id: n for n in session.scalars(
        select(Nomination).where(Nomination.id.in_(ids))
        .options(selectinload(Nomination.answers), selectinload(Nomination.nominee)))}
    equality_rows: dict[int, dict[str, EqualityAnswer]] = {}
    for answer in session.scalars(select(EqualityAnswer).where(EqualityAnswer.nomination_id.in_(ids))):
        equality_rows.setdefault(answer.nomination_id, {})[answer.characteristic] = answer
    for row, key, digest, known in batch:
        nomination = loaded[known.id]
        ref, number = nomination.reference, row.row
        changed = False
        current = {a.criterion_id: a for a in nomination.answers}
        for cid, text in row.answers.items():
            answer = current.get(cid)
            before = answer.text if answer else ""
            if before != text:
                after_words, before_words = _words(text), _words(before)
                report.changes.append(Change(ref, number, f"answers.{cid}", before_words,
                                             after_words if after_words != before_words else f"{after_words} (edited)"))
                if answer is None:
                    nomination.answers.append(Answer(criterion_id=cid, text=text))
                else:
                    answer.text = text
                changed = True
        person = nomination.nominee
        if person is None:
            person = nomination.nominee = Nominee()
        for name, value in row.nominee.items():
            before = getattr(person, name) or ""
            if before != value:
                report.changes.append(Change(ref, number, f"nominee.{name}", before, value))
                setattr(person, name, value)
                changed = True
        stored = equality_rows.get(known.id, {})
        for characteristic in sorted(set(stored) | set(row.equality)):
            old = stored.get(characteristic)
            new = row.equality.get(characteristic)
            if old is not None and new is None:
                session.delete(old)
            elif old is None and new is not None:
                session.add(EqualityAnswer(nomination_id=known.id, characteristic=characteristic, value=new))
            elif old is not None and old.value != new:
                old.value = new
            else:
                continue
            # Special-category data: say that it changed, never what it says.
            report.changes.append(Change(ref, number, f"equality.{characteristic}", "(hidden)", "(changed)"))
            changed = True
        if not _same_time(nomination.submitted_at, row.submitted_at):
            report.changes.append(Change(ref, number, "submitted_at", _iso(nomination.submitted_at),
                                         _iso(row.submitted_at)))
            nomination.submitted_at = row.submitted_at
            changed = True
        if nomination.category != row.category:
            report.changes.append(Change(ref, number, "category", nomination.category or "", row.category or ""))
            nomination.category = row.category
            changed = True
        old_extra = (nomination.extra or {}).get("unmapped", {})
        if old_extra != row.extra:
            for header in sorted(set(old_extra) | set(row.extra)):
                if old_extra.get(header) != row.extra.get(header):
                    what = "added" if header not in old_extra else "removed" if header not in row.extra else "changed"
                    report.changes.append(Change(ref, number, f"extra.{header}", "", what))
            nomination.extra = {**(nomination.extra or {}), "unmapped": row.extra}
            changed = True
        nomination.content_hash = digest
        nomination.source_row = row.row
        if changed:
            report.updated += 1
        else:
            report.unchanged += 1
    session.flush()


def _iso(value: datetime | None) -> str:
    return _utc(value).isoformat(sep=" ", timespec="seconds") if value else ""
