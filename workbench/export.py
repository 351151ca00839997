"""The organisers' export: build the rows, then render them as Excel or CSV at the edge.

Public API::

    load_round_data(session, *, round_) -> RoundData
    build_export(data, *, options) -> Export                # rows only, no file format
    render_xlsx(sheets, out, *, as_of, title="")            # one .xlsx workbook
    render_csv(sheet, out)                                  # one sheet as CSV
    write_csv(sheets, directory) -> list[Path]              # every sheet as CSV
    csv_zip(sheets) -> bytes                                # every sheet as CSV, zipped
    export_shortlist(*, url=None, round_name=None, out, options, csv_dir=None) -> ExportResult
    export_bundle(*, url=None, round_name=None, options) -> Bundle   # in memory, for the app

The workbook has these sheets (:data:`SHEETS`): Shortlist, Ranking, Robustness, All scores,
Agreement, Moderation log, Judge comments, Equality check, Method. Each has a frozen,
filterable header row, fitted column widths and number formats; Shortlist has a bar chart of
the totals.

Rules the export keeps:

- **Nothing becomes a formula.** Every text cell is written as a string (an inline string,
  never a ``<f>`` formula element), so a comment such as ``=HYPERLINK(...)`` or
  ``+44 7700 900123`` is shown exactly as typed. Text starting with ``=``, ``+``, ``-``, ``@``,
  a tab or a carriage return also gets Excel's "quote prefix" style, so editing the cell in
  Excel keeps it text. In CSV, which has no cell types, such text is written with a leading
  apostrophe (``'=...``), the OWASP advice for CSV injection. Characters XML cannot hold
  (control characters other than tab, newline and carriage return) are removed, and text
  longer than Excel's 32,767-character cell limit is cut with a note.
- **Anonymised exports** (``anonymise=True``) leave out nominee names and organisations,
  call the judges "Judge A", "Judge B"… (in judge-id order) and the moderators "Moderator A"…
  (in order of their first decision), and replace any word of a nominee's, nominator's,
  judge's or moderator's name found in comments and rationales with ``[name]``.
- **Deterministic.** The same data and options give a byte-identical file: rows are
  sorted, the workbook's created/modified dates and the Method sheet's date are the newest
  timestamp in the data (or ``as_of``), and every part of the zip carries a fixed timestamp.
  Nothing reads the clock.
- **Fast.** Rows are streamed into the sheet XML; openpyxl (write-only mode) writes
  everything else: styles, frozen panes, filters, widths, the chart and the package.
"""

from __future__ import annotations

import csv
import io
import math
import re
import string
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter
from sqlalchemy import select
from sqlalchemy.orm import Session

from workbench import __version__
from workbench.errors import WorkbenchError
from workbench.rubric import Rubric

SHEETS = ("Shortlist", "Ranking", "Robustness", "All scores", "Agreement", "Moderation log", "Judge comments",
          "Equality check", "Method")

#: Text starting with one of these could be read as a formula by a spreadsheet.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
EXCEL_CELL_LIMIT = 32767
TRUNCATED = " […cut: longer than an Excel cell can hold]"
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_EXCEL_EPOCH = datetime(1899, 12, 30)
_TITLES = {"dr", "prof", "professor", "mr", "mrs", "ms", "miss", "mx", "sir", "dame", "the", "and", "of", "team",
           "for", "in", "at", "on", "a", "an", "to"}


# ---------------------------------------------------------------------------------------
# Rows: sheets described without any file format


@dataclass(frozen=True)
class Column:
    """One column: its header and what it holds.

    ``kind`` is one of ``text`` (our own words), ``user_text`` (typed by a person),
    ``long_text`` (user text shown wrapped), ``integer``, ``number`` (two decimals),
    ``share`` (0-1 shown as a percentage) or ``datetime`` (UTC).
    """

    header: str
    kind: str = "text"
    width: float | None = None


@dataclass(frozen=True)
class Chart:
    """A bar chart of ``value_column`` against ``label_column`` over the first ``rows`` data rows."""

    title: str
    label_column: int
    value_column: int
    rows: int
    y_title: str = ""
    anchor_column: int | None = None


@dataclass
class Sheet:
    name: str
    columns: list[Column]
    rows: list[tuple]
    notes: list[str] = field(default_factory=list)
    chart: Chart | None = None

    @property
    def headers(self) -> list[str]:
        return [c.header for c in self.columns]


@dataclass
class RoundData:
    """Everything the export reads, as plain tables (see :func:`load_round_data`).

    ``nominations``: nomination, reference, category, status, nominee, organisation, nominator;
    ``judges``: judge, name; ``scores``: nomination, judge, criterion, score, comment, at;
    ``moderation``: the :func:`workbench.moderation.audit_trail` columns; ``conflicts``:
    judge, nomination, source, at; ``withdrawals``: nomination, judge, at; ``equality``:
    nomination, characteristic, value.
    """

    round_name: str
    rubric: Rubric
    nominations: pd.DataFrame
    judges: pd.DataFrame
    scores: pd.DataFrame
    moderation: pd.DataFrame
    conflicts: pd.DataFrame
    withdrawals: pd.DataFrame
    equality: pd.DataFrame
    winners: list[int] = field(default_factory=list)
    settings: Mapping = field(default_factory=dict)
    judges_per_nomination: int = 3
    created_at: datetime | None = None


@dataclass
class ExportOptions:
    aggregation: str = "mean"
    source: str = "raw"
    top: int | None = None
    threshold: float | None = None
    by: str = "round"
    anonymise: bool = False
    as_of: datetime | None = None
    robustness: bool = True

    def resolved(self) -> ExportOptions:
        if self.top is None and self.threshold is None:
            return ExportOptions(**{**self.__dict__, "top": 10})
        return self


@dataclass
class Export:
    sheets: list[Sheet]
    as_of: datetime
    shortlist: Any
    equality: Any
    title: str

    def sheet(self, name: str) -> Sheet:
        for sheet in self.sheets:
            if sheet.name == name:
                return sheet
        raise KeyError(name)


@dataclass
class ExportResult:
    path: Path
    csv_files: list[Path]
    shortlisted: int
    nominations: int
    as_of: datetime
    ties: list[str]

    def describe(self) -> str:
        extra = f" and {len(self.csv_files)} CSV files" if self.csv_files else ""
        ties = f" {len(self.ties)} tie(s) reported on the Method sheet." if self.ties else ""
        return (f"Wrote {self.path}{extra}: {self.shortlisted} of {self.nominations} nominations shortlisted "
                f"(data as of {self.as_of:%Y-%m-%d %H:%M} UTC).{ties}")


def _naive_utc(value) -> datetime | None:
    if value is None or value is pd.NaT or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def _as_of(data: RoundData, given: datetime | None) -> datetime:
    """The date the export speaks for: ``given``, else the newest timestamp in the data."""
    if given is not None:
        return _naive_utc(given)
    candidates = [data.created_at]
    for frame, column in ((data.scores, "at"), (data.moderation, "at"), (data.conflicts, "at"),
                          (data.withdrawals, "at")):
        if len(frame) and column in frame:
            candidates.append(pd.to_datetime(frame[column], utc=True).max())
    values = [_naive_utc(c) for c in candidates if c is not None and c is not pd.NaT]
    values = [v for v in values if v is not None]
    return max(values) if values else datetime(2000, 1, 1)


def letters(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA: the anonymous labels ("Judge A")."""
    out = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        out = string.ascii_uppercase[rest] + out
    return out


class _Redactor:
    """Replaces any word of a known person's name with ``[name]`` (anonymised exports only)."""

    def __init__(self, names: Iterable[str]):
        words = set()
        for name in names:
            for word in re.findall(r"[^\W\d_][\w'’-]*", str(name or "")):
                if len(word) >= 3 and word.casefold() not in _TITLES:
                    words.add(word.casefold())
        self.words = words

    def __call__(self, text):
        if not isinstance(text, str) or not text or not self.words:
            return text
        return re.sub(r"[^\W\d_][\w'’-]*", lambda m: "[name]" if m.group().casefold() in self.words else m.group(),
                      text)


# ---------------------------------------------------------------------------------------
# Reading a round


def load_round_data(session: Session, *, round_) -> RoundData:
    """The round's data for the export (organiser view: identities and equality answers included)."""
    from workbench.equality import equality_answers
    from workbench.moderation import audit_trail
    from workbench.panel import round_rubric
    from workbench.scoring import current_scores
    from workbench.shortlist import winner_ids
    from workbench.store import Conflict, Judge, Nomination, Nominee, ScoreEvent

    rubric = round_rubric(session, round_, check_file=False)
    nominations = pd.DataFrame(session.execute(
        select(Nomination.id, Nomination.reference, Nomination.category, Nomination.status, Nominee.name,
               Nominee.organisation, Nominee.nominator_name)
        .outerjoin(Nominee, Nominee.nomination_id == Nomination.id)
        .where(Nomination.round_id == round_.id).order_by(Nomination.id)).all(),
        columns=["nomination", "reference", "category", "status", "nominee", "organisation", "nominator"])
    scores = current_scores(session, round_=round_)[["nomination", "judge", "criterion", "score", "comment", "at"]]
    judge_ids = set(scores["judge"].unique())
    conflicts = pd.DataFrame(session.execute(
        select(Conflict.judge_id, Conflict.nomination_id, Conflict.source, Conflict.created_at)
        .join(Nomination, Nomination.id == Conflict.nomination_id)
        .where(Nomination.round_id == round_.id).order_by(Conflict.nomination_id, Conflict.judge_id)).all(),
        columns=["judge", "nomination", "source", "at"])
    withdrawals = pd.DataFrame(session.execute(
        select(ScoreEvent.nomination_id, ScoreEvent.judge_id, ScoreEvent.created_at)
        .where(ScoreEvent.round_id == round_.id, ScoreEvent.kind == "withdrawn")
        .order_by(ScoreEvent.nomination_id, ScoreEvent.judge_id, ScoreEvent.id)).all(),
        columns=["nomination", "judge", "at"]).drop_duplicates(["nomination", "judge"]).reset_index(drop=True)
    judge_ids |= set(conflicts["judge"]) | set(withdrawals["judge"])
    judge_ids = sorted(int(j) for j in judge_ids)
    judges = pd.DataFrame(session.execute(select(Judge.id, Judge.name).where(Judge.id.in_(judge_ids))
                                          .order_by(Judge.id)).all(), columns=["judge", "name"])
    return RoundData(
        round_name=round_.name, rubric=rubric, nominations=nominations, judges=judges, scores=scores,
        moderation=audit_trail(session, round_=round_), conflicts=conflicts, withdrawals=withdrawals,
        equality=equality_answers(session, round_=round_), winners=winner_ids(round_),
        settings=dict(round_.settings or {}), judges_per_nomination=round_.judges_per_nomination,
        created_at=round_.created_at,
    )


# ---------------------------------------------------------------------------------------
# Building the sheets


def _number(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def build_export(data: RoundData, *, options: ExportOptions) -> Export:
    """Every sheet as rows (no file format yet), plus the shortlist and equality check behind them."""
    from workbench.equality import equality_check
    from workbench.moderation import QueueRules
    from workbench.shortlist import AGGREGATIONS, SOURCES, TIE_RULES, build_shortlist

    options = options.resolved()
    rubric = data.rubric
    criteria = rubric.criterion_ids
    as_of = _as_of(data, options.as_of)
    anonymise = options.anonymise

    judge_ids = sorted(set(data.judges["judge"]))
    if anonymise:
        judge_label = {j: f"Judge {letters(i)}" for i, j in enumerate(judge_ids)}
        moderators = list(dict.fromkeys(data.moderation.sort_values("decision_id")["moderator"])) \
            if len(data.moderation) else []
        moderator_label = {m: f"Moderator {letters(i)}" for i, m in enumerate(moderators)}
        redact = _Redactor([*data.nominations.get("nominee", []), *data.nominations.get("nominator", []),
                            *data.judges["name"], *moderators])
    else:
        names = dict(zip(data.judges["judge"], data.judges["name"]))
        judge_label = {j: names.get(j, f"Judge {j}") for j in judge_ids}
        moderator_label = {}

        def redact(text):
            return text

    def label_judge(j):
        return judge_label.get(j, f"Judge {j}")

    moderation = data.moderation
    moderated = None
    if len(moderation):
        latest = moderation.sort_values("decision_id").groupby(["nomination", "criterion"], sort=False).tail(1)
        moderated = latest[["nomination", "criterion", "after", "no_change"]]
    elif options.source == "moderated":
        moderated = pd.DataFrame(columns=["nomination", "criterion", "after", "no_change"])
    shortlist = build_shortlist(
        scores=data.scores, rubric=rubric, nominations=data.nominations, moderated=moderated,
        aggregation=options.aggregation, source=options.source, top=options.top, threshold=options.threshold,
        by=options.by, robustness=options.robustness, judge_labels=judge_label,
    )
    ranking = shortlist.ranking
    reference_of = dict(zip(data.nominations["nomination"], data.nominations["reference"]))
    category_of = dict(zip(data.nominations["nomination"], data.nominations["category"]))
    order = {c: i for i, c in enumerate(criteria)}
    sheets: list[Sheet] = []

    # Shortlist and Ranking
    id_columns = [] if anonymise else [Column("Nominee", "user_text"), Column("Organisation", "user_text")]
    score_columns = [Column(c, "number") for c in criteria]

    nominee_of = dict(zip(data.nominations["nomination"], data.nominations["nominee"].fillna("")))
    organisation_of = dict(zip(data.nominations["nomination"], data.nominations["organisation"].fillna("")))

    def ranking_rows(frame: pd.DataFrame, *, full: bool) -> list[tuple]:
        ids = frame["nomination"].tolist()
        percent = (frame["percent"] / 100).tolist()
        columns = [frame["rank_label"].tolist(), frame["reference"].tolist()]
        if not anonymise:
            columns += [[nominee_of.get(n, "") for n in ids], [organisation_of.get(n, "") for n in ids]]
        columns += [frame["category"].tolist(), frame["total"].tolist(), percent,
                    *(frame[c].tolist() for c in criteria), frame["complete_scores"].astype(int).tolist(),
                    frame["stability"].tolist()]
        if full:
            columns += [["Yes" if x else "No" for x in frame["shortlisted"]], frame["judges"].astype(int).tolist(),
                        frame["median_total"].tolist(), frame["spread"].tolist()]
        columns.append(frame["note"].tolist())
        return list(zip(*columns))

    base_columns = [Column("Rank"), Column("Nomination"), *id_columns, Column("Category", "user_text"),
                    Column("Total", "number"), Column("Percent of maximum", "share"), *score_columns,
                    Column("Complete scores", "integer"), Column("Stability", "share")]
    short_rows = ranking_rows(shortlist.shortlisted, full=False)
    total_index = [c.header for c in base_columns].index("Total")
    sheets.append(Sheet(
        "Shortlist", [*base_columns, Column("Note", "long_text")], short_rows,
        notes=[shortlist.rule(), f"Aggregation: {AGGREGATIONS[options.aggregation]}",
               f"Scores: {SOURCES[options.source]}",
               "Stability: the share of the robustness scenarios (see the Robustness sheet) in which the nomination "
               "is on the shortlist.", *shortlist.ties],
        chart=Chart("Total score of the shortlisted nominations", 1, total_index, len(short_rows),
                    y_title=f"Weighted total (out of {sum(c.weight * c.scale.max for c in rubric.criteria):g})")
        if short_rows else None,
    ))
    sheets.append(Sheet(
        "Ranking", [*base_columns, Column("Shortlisted"), Column("Judges", "integer"),
                    Column("Median of judges' totals", "number"), Column("Spread of judges' totals", "number"),
                    Column("Note", "long_text")],
        ranking_rows(ranking, full=True),
        notes=["Tie rules, in order: " + " ".join(TIE_RULES)],
    ))

    # Robustness
    robust = shortlist.robustness
    if len(shortlist.scenarios):
        in_any = robust.any(axis=1) | ranking.set_index("nomination")["shortlisted"].reindex(robust.index)
        subset = ranking[ranking["nomination"].isin(robust.index[in_any.to_numpy()])]
        marks = robust.loc[subset["nomination"].to_numpy(), [s.name for s in shortlist.scenarios]].to_numpy()
        rows = [(label, reference, category, "Yes" if chosen else "No", stability,
                 *("In" if m else "Out" for m in marked))
                for label, reference, category, chosen, stability, marked in zip(
                    subset["rank_label"].tolist(), subset["reference"].tolist(), subset["category"].tolist(),
                    subset["shortlisted"].tolist(), subset["stability"].tolist(), marks)]
        sheets.append(Sheet(
            "Robustness", [Column("Rank"), Column("Nomination"), Column("Category", "user_text"),
                           Column("Shortlisted"), Column("Stability", "share"),
                           *(Column(s.name) for s in shortlist.scenarios)], rows,
            notes=[f"{s.name}: {s.description}" for s in shortlist.scenarios]))
    else:
        sheets.append(Sheet("Robustness", [Column("Note")], [("The robustness check was not run.",)]))

    # All scores (long), with the normalised value beside the raw one
    scores = data.scores[data.scores["nomination"].isin(reference_of)].copy()
    scores["reference"] = scores["nomination"].map(reference_of)
    scores["judge_label"] = scores["judge"].map(label_judge)
    scores["order"] = scores["criterion"].map(order)
    scores = scores.sort_values(["reference", "judge_label", "order"], kind="stable")
    normalised = shortlist.normalised if shortlist.normalised is not None else _normalised_scores(data.scores, rubric)
    scores = scores.merge(normalised.rename(columns={"value": "normalised"})[
        ["nomination", "judge", "criterion", "normalised"]], on=["nomination", "judge", "criterion"], how="left",
        validate="one_to_one")
    at = pd.to_datetime(scores["at"], utc=True).dt.tz_localize(None)
    sheets.append(Sheet(
        "All scores", [Column("Nomination"), Column("Category", "user_text"), Column("Judge"), Column("Criterion"),
                       Column("Score", "number"), Column("Normalised score", "number"),
                       Column("Scored at (UTC)", "datetime")],
        list(zip(scores["reference"].tolist(), scores["nomination"].map(category_of).tolist(),
                 scores["judge_label"].tolist(), scores["criterion"].tolist(), scores["score"].tolist(),
                 scores["normalised"].tolist(), at.tolist())),
        notes=["Normalised score: the judge's score with their severity or leniency removed (judge-effect model), "
               "kept on the scale."],
    ))

    # Agreement
    rules = QueueRules.from_settings(data.settings, judges_per_nomination=data.judges_per_nomination)
    sheets.append(_agreement_sheet(data.scores, rubric, rules))

    # Moderation log
    sheets.append(moderation_log_sheet(moderation, moderator_label=moderator_label if anonymise else None,
                                       redact=redact))

    # Judge comments
    commented = scores[scores["comment"].fillna("").astype(str).str.strip() != ""]
    commented = commented.sort_values(["reference", "order", "judge_label"], kind="stable")
    sheets.append(Sheet(
        "Judge comments", [Column("Nomination"), Column("Criterion"), Column("Judge"), Column("Score", "number"),
                           Column("Comment", "long_text")],
        list(zip(commented["reference"].tolist(), commented["criterion"].tolist(),
                 commented["judge_label"].tolist(), commented["score"].tolist(),
                 [redact(c) for c in commented["comment"].tolist()]))))

    # Equality check
    active = data.nominations[data.nominations["status"].fillna("active") == "active"]["nomination"]
    check = equality_check(answers=data.equality, nominated=active.tolist(),
                           shortlisted=shortlist.shortlisted["nomination"].tolist(), winners=data.winners)
    eq_rows = [(r.label, r.group, r.nominated, r.shortlisted, _number(r.shortlist_rate), _number(r.shortlist_ratio),
                r.winners, _number(r.win_rate), _number(r.win_ratio), r.flag)
               for r in check.table.itertuples(index=False)]
    sheets.append(Sheet(
        "Equality check", [Column("Characteristic"), Column("Group", "user_text"), Column("Nominated", "integer"),
                           Column("Shortlisted", "integer"), Column("Shortlisting rate", "share"),
                           Column("Ratio to highest rate", "number"), Column("Winners", "integer"),
                           Column("Win rate (of shortlisted)", "share"), Column("Ratio to highest win rate", "number"),
                           Column("Flag")],
        eq_rows, notes=[*check.flags, *check.notes]))

    # Method
    sheets.append(_method_sheet(data, options, shortlist, check, rules, as_of, label_judge, moderation))
    return Export(sheets=sheets, as_of=as_of, shortlist=shortlist, equality=check,
                  title=f"Shortlist: {data.round_name}")


def moderation_log_sheet(moderation: pd.DataFrame, *, moderator_label: Mapping | None = None, redact=None) -> Sheet:
    """The audit trail (:func:`workbench.moderation.audit_trail`) as a sheet, oldest decision first.

    With ``moderator_label`` the moderators are shown by those labels and ``redact`` is applied
    to the rationales (anonymised exports).
    """
    log = moderation.sort_values("decision_id") if len(moderation) else moderation
    rows = []
    for rec in log.itertuples(index=False):
        before, after = _number(rec.before), _number(rec.after)
        change = None if before is None or after is None else round(after - before, 10)
        rationale = redact(rec.rationale) if redact else rec.rationale
        moderator = moderator_label.get(rec.moderator, "Moderator") if moderator_label is not None else rec.moderator
        rows.append((int(rec.decision_id), rec.reference, rec.criterion, before, after, change,
                     "Yes" if rec.no_change else "No", rec.reason_code, rec.reason, rationale, moderator,
                     _naive_utc(rec.at), str(rec.rubric_hash)[:12]))
    return Sheet(
        "Moderation log", [Column("Decision", "integer"), Column("Nomination"), Column("Criterion"),
                           Column("Before", "number"), Column("After", "number"), Column("Change", "number"),
                           Column("No change"), Column("Reason code"), Column("Reason", "long_text"),
                           Column("Rationale", "long_text"), Column("Moderator", "user_text"),
                           Column("Recorded at (UTC)", "datetime"), Column("Rubric version")],
        rows, notes=["Before: the moderated value already in place, else the mean of the judges' scores. Each "
                     "decision is kept; the newest per nomination and criterion is the moderated score."])


def _normalised_scores(scores: pd.DataFrame, rubric: Rubric) -> pd.DataFrame:
    from workbench.shortlist import judge_scores, normalise

    return normalise(judge_scores(scores, rubric), rubric)


def _agreement_sheet(scores: pd.DataFrame, rubric: Rubric, rules) -> Sheet:
    from workbench.agreement import icc, krippendorff_alpha, percent_agreement

    rows = []
    data = scores[scores["score"].notna()]
    for criterion in rubric.criteria:
        part = data[data["criterion"] == criterion.id]
        table = part.pivot(index="nomination", columns="judge", values="score") if len(part) else pd.DataFrame()
        values = table.to_numpy(dtype=float) if len(table) else np.empty((0, 0))
        scale = criterion.scale.values
        notes = []
        alpha = krippendorff_alpha(values, level="ordinal", scale=scale) if values.size else None
        icc2 = icc(values, "ICC2") if values.size else None
        icc2k = icc(values, "ICC2k") if values.size else None
        agree = percent_agreement(values, scale=scale) if values.size else None
        for name, stat in (("alpha", alpha), ("ICC", icc2)):
            if stat is not None and stat.value is None and stat.note:
                notes.append(f"{name}: {stat.note}")
        grouped = part.groupby("nomination")["score"]
        spread = (grouped.max() - grouped.min()) if len(part) else pd.Series(dtype=float)
        flagged = int((spread >= rules.range_threshold - 1e-9).sum()) if rules.range_threshold is not None else None
        rows.append((criterion.id, criterion.title, int(table.shape[0]), int(table.shape[1]), int(len(part)),
                     _stat(alpha), _stat(icc2), _stat(icc2k), _stat(agree),
                     _number(spread.mean()) if len(spread) else None, flagged, " ".join(notes)))
    return Sheet(
        "Agreement", [Column("Criterion"), Column("Title", "user_text"), Column("Nominations", "integer"),
                      Column("Judges", "integer"), Column("Scores", "integer"),
                      Column("Krippendorff's alpha (ordinal)", "number"), Column("ICC(2,1) single judge", "number"),
                      Column("ICC(2,k) panel mean", "number"), Column("Exact agreement", "share"),
                      Column("Mean spread (highest − lowest)", "number"),
                      Column(f"Nominations with spread ≥ {rules.range_threshold:g}"
                             if rules.range_threshold is not None else "Nominations flagged for spread", "integer"),
                      Column("Note", "long_text")],
        rows,
        notes=["Alpha and ICC near 1 mean the judges agree; below about 0.67 (alpha) or 0.5 (ICC) agreement is weak. "
               "See workbench.agreement for the formulas."])


def _stat(stat) -> float | None:
    return None if stat is None or stat.value is None else float(stat.value)


def _method_sheet(data, options, shortlist, check, rules, as_of, label_judge, moderation) -> Sheet:
    from workbench.shortlist import AGGREGATIONS, SOURCES, TIE_RULES

    rubric = data.rubric
    rows: list[tuple] = [
        ("Round", data.round_name),
        ("Rubric", f"{rubric.title} ({rubric.id})"),
        ("Rubric version (SHA-256)", rubric.hash),
    ]
    for c in rubric.criteria:
        rows.append((f"Criterion {c.id}", f"{c.title}; weight {c.weight:g}; scale {c.scale.describe()}"))
    rows += [
        ("Aggregation", f"{options.aggregation}: {AGGREGATIONS[options.aggregation]}"),
        ("Scores used", f"{options.source}: {SOURCES[options.source]}"),
        ("Normalisation", "Judge-effect model (score = mean + nomination + judge, least squares, each criterion "
                          "separately); used for the normalised scores and the robustness check."),
        ("Weighted total", "Sum of weight × aggregate over the criteria; a nomination with a criterion nobody "
                           "scored has no total and is not ranked."),
        ("Shortlist rule", shortlist.rule()),
    ]
    rows += [("Tie rule", rule) for rule in TIE_RULES]
    rows += [("Tie", sentence) for sentence in shortlist.ties] or [("Ties", "None.")]
    rows.append(("Robustness", f"{len(shortlist.scenarios)} scenarios: other aggregations, with and without "
                               "normalisation, and each judge left out in turn. Stability is the share of them in "
                               "which a nomination is on the shortlist." if shortlist.scenarios else "Not run."))
    rows += [("Moderation rule", line) for line in rules.describe()]
    rows.append(("Moderation decisions", f"{len(moderation)} recorded; see the Moderation log."))
    rows += [("Exclusion", f"{e['reference']}: {e['reason']}") for e in shortlist.excluded] or [("Exclusions", "None.")]
    reference_of = dict(zip(data.nominations["nomination"], data.nominations["reference"]))
    conflicts = data.conflicts.assign(reference=data.conflicts["nomination"].map(reference_of),
                                      label=data.conflicts["judge"].map(label_judge))
    conflicts = conflicts.sort_values(["reference", "label"], kind="stable")
    declared = conflicts[conflicts["source"].isin(["declared"])]
    rows.append(("Conflicts of interest", f"{len(conflicts)} recorded ({len(declared)} declared by the judge: "
                                          "recusals); a conflicted judge never scores that nomination."))
    rows += [("Conflict", f"{rec.label} and {rec.reference} ({'recusal' if rec.source == 'declared' else rec.source})")
             for rec in conflicts.itertuples(index=False)]
    withdrawals = data.withdrawals.assign(reference=data.withdrawals["nomination"].map(reference_of),
                                          label=data.withdrawals["judge"].map(label_judge))
    rows += [("Scores withdrawn", f"{rec.label} on {rec.reference}: scores withdrawn for a conflict of interest and "
                                  "left out of every total.")
             for rec in withdrawals.sort_values(["reference", "label"], kind="stable").itertuples(index=False)]
    rows += [("Equality check", note) for note in check.notes]
    rows += [
        ("Anonymised", "Yes: no nominee names or organisations; judges and moderators by letter; names in comments "
                       "replaced with [name]." if options.anonymise else "No"),
        ("Data as of (UTC)", as_of),
        ("Made with", f"Award-evaluation workbench {__version__}"),
    ]
    return Sheet("Method", [Column("Item"), Column("Value", "long_text")], rows)


# ---------------------------------------------------------------------------------------
# Rendering: CSV


def _csv_value(value) -> str:
    if value is None or value is pd.NaT:
        return ""
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_PREFIXES) else value
    if isinstance(value, (bool, np.bool_)):
        return "Yes" if value else "No"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return "" if math.isnan(value) else repr(round(float(value), 6))
    if isinstance(value, datetime):
        return _naive_utc(value).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def render_csv(sheet: Sheet, out: str | Path | IO[str]) -> None:
    """One sheet as UTF-8 CSV with a byte-order mark (so Excel reads the accents); text that could
    start a formula gets a leading apostrophe. Notes below the table are left out (they are on
    the Method sheet and in the workbook)."""
    if isinstance(out, (str, Path)):
        with open(out, "w", encoding="utf-8-sig", newline="") as handle:
            render_csv(sheet, handle)
        return
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_csv_value(h) for h in sheet.headers])
    for row in sheet.rows:
        writer.writerow([_csv_value(v) for v in row])


def csv_name(sheet_name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", sheet_name.lower()).strip("-") + ".csv"


def write_csv(sheets: Sequence[Sheet], directory: str | Path) -> list[Path]:
    """Every sheet as ``DIRECTORY/<sheet-name>.csv`` (e.g. ``all-scores.csv``)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for sheet in sheets:
        path = directory / csv_name(sheet.name)
        render_csv(sheet, path)
        paths.append(path)
    return paths


# ---------------------------------------------------------------------------------------
# Rendering: Excel

_KIND_FORMAT = {"integer": "0", "number": "0.00", "share": "0.0%", "datetime": "yyyy-mm-dd hh:mm"}


class _Styles:
    """Cell style ids registered in the workbook's style sheet (openpyxl writes the table)."""

    def __init__(self, ws):
        def style(**attrs) -> int:
            cell = WriteOnlyCell(ws)
            for key, value in attrs.items():
                setattr(cell, key, value)
            return cell.style_id

        self.header = style(font=Font(bold=True), fill=PatternFill("solid", fgColor="DDEBF7"),
                            alignment=Alignment(vertical="top", wrap_text=True))
        self.kind = {kind: style(number_format=fmt) for kind, fmt in _KIND_FORMAT.items()}
        self.wrap = style(alignment=Alignment(vertical="top", wrap_text=True))
        self.quoted = style(quotePrefix=True)
        self.wrap_quoted = style(quotePrefix=True, alignment=Alignment(vertical="top", wrap_text=True))
        self.note = style(font=Font(italic=True))


def clean_text(text: str) -> str:
    """Text as it can be stored in a cell: XML-illegal control characters removed, cut at Excel's limit."""
    if _ILLEGAL.search(text):
        text = _ILLEGAL.sub("", text)
    if len(text) > EXCEL_CELL_LIMIT:
        text = text[: EXCEL_CELL_LIMIT - len(TRUNCATED)] + TRUNCATED
    return text


def _escape(text: str) -> str:
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "\r" in text:
        text = text.replace("\r", "&#13;")
    return text


def _text_cell(ref: str, text: str, style: int, quoted: int) -> str:
    text = clean_text(text)
    if text.startswith(FORMULA_PREFIXES):
        style = quoted
    space = ' xml:space="preserve"' if text != text.strip() else ""
    s = f' s="{style}"' if style else ""
    return f'<c r="{ref}"{s} t="inlineStr"><is><t{space}>{_escape(text)}</t></is></c>'


def _row_xml(index: int, values: Sequence, refs: list[str], styles: list[int], text_styles: list[tuple[int, int]],
             date_style: int) -> str:
    cells = []
    append = cells.append
    for col, value in enumerate(values):
        if value is None:
            continue
        if isinstance(value, np.generic):
            value = value.item()
        ref = f"{refs[col]}{index}"
        if isinstance(value, str):
            if value:
                append(_text_cell(ref, value, *text_styles[col]))
        elif isinstance(value, float):
            if value == value and value not in (math.inf, -math.inf):
                append(f'<c r="{ref}" s="{styles[col]}"><v>{value!r}</v></c>')
        elif isinstance(value, bool):
            append(_text_cell(ref, "Yes" if value else "No", *text_styles[col]))
        elif isinstance(value, int):
            append(f'<c r="{ref}" s="{styles[col]}"><v>{value}</v></c>')
        elif isinstance(value, datetime):
            serial = (_naive_utc(value) - _EXCEL_EPOCH).total_seconds() / 86400.0
            append(f'<c r="{ref}" s="{date_style}"><v>{serial!r}</v></c>')
        elif value is pd.NaT:
            continue
        else:
            append(_text_cell(ref, str(value), *text_styles[col]))
    return f'<row r="{index}">{"".join(cells)}</row>'


def _sheet_rows(sheet: Sheet, st: _Styles) -> Iterator[str]:
    width = max(len(sheet.columns), 1)
    refs = [get_column_letter(i + 1) for i in range(width)]
    header_styles = [(st.header, st.header)] * width
    dates = st.kind["datetime"]
    yield _row_xml(1, sheet.headers, refs, [st.header] * width, header_styles, dates)
    styles = [st.kind.get(c.kind, 0) for c in sheet.columns]
    text_styles = [(st.wrap, st.wrap_quoted) if c.kind == "long_text" else (0, st.quoted) for c in sheet.columns]
    index = 1
    for index, row in enumerate(sheet.rows, start=2):
        yield _row_xml(index, row, refs, styles, text_styles, dates)
    if sheet.notes:
        index += 1
        for note in sheet.notes:
            index += 1
            yield _row_xml(index, [note], refs, styles, [(st.note, st.quoted)], dates)


def _display_length(value, kind: str) -> int:
    if value is None:
        return 0
    if isinstance(value, float):
        if value != value:
            return 0
        return len(f"{value:.1%}") if kind == "share" else len(f"{value:.2f}")
    if isinstance(value, datetime):
        return 16
    text = str(value)
    return max((len(line) for line in text.split("\n")), default=0)


def fitted_widths(sheet: Sheet, *, sample: int = 2000, low: float = 6, high: float = 60) -> list[float]:
    """Column widths from the header and the first ``sample`` rows, between ``low`` and ``high``."""
    widths = []
    for col, column in enumerate(sheet.columns):
        if column.width is not None:
            widths.append(column.width)
            continue
        longest = max([len(column.header)] + [_display_length(row[col], column.kind)
                                              for row in sheet.rows[:sample] if col < len(row)])
        widths.append(float(min(high, max(low, longest + 2))))
    return widths


class _FixedTimeZip(zipfile.ZipFile):
    """A zip whose every entry has the same timestamp and permissions, so equal content gives equal bytes."""

    def _info(self, name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=_FIXED_ZIP_TIME)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        info.create_system = 3
        return info


def render_xlsx(sheets: Sequence[Sheet], out: str | Path | IO[bytes], *, as_of: datetime, title: str = "") -> None:
    """Write the sheets as one Excel workbook (see the module notes for the formatting rules)."""
    names = [s.name for s in sheets]
    if len(set(names)) != len(names) or any(len(n) > 31 or re.search(r"[\[\]:*?/\\]", n) for n in names):
        raise WorkbenchError(f"Sheet names must be unique, at most 31 characters and free of []:*?/\\; got {names}.")
    as_of = _naive_utc(as_of).replace(microsecond=0)
    wb = Workbook(write_only=True)
    wb.properties.creator = "Award-evaluation workbench"
    wb.properties.lastModifiedBy = "Award-evaluation workbench"
    wb.properties.title = title
    wb.properties.created = as_of
    wb.properties.modified = as_of
    styles = None
    for sheet in sheets:
        ws = wb.create_sheet(sheet.name)
        if styles is None:
            styles = _Styles(ws)
        for i, width in enumerate(fitted_widths(sheet)):
            ws.column_dimensions[get_column_letter(i + 1)].width = width
        ws.freeze_panes = "A2"
        last = get_column_letter(max(len(sheet.columns), 1))
        ws.auto_filter.ref = f"A1:{last}{len(sheet.rows) + 1}"
        if sheet.chart is not None and sheet.chart.rows:
            ws.add_chart(_bar_chart(ws, sheet), f"{get_column_letter(len(sheet.columns) + 2)}2")
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w", zipfile.ZIP_STORED) as archive:
        ExcelWriter(wb, archive).save()
    sheet_paths = {f"xl/worksheets/sheet{i}.xml": sheet for i, sheet in enumerate(sheets, start=1)}
    with zipfile.ZipFile(package) as source, _FixedTimeZip(out, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            data = source.read(entry.filename)
            info = target._info(entry.filename)
            sheet = sheet_paths.get(entry.filename)
            if sheet is None:
                target.writestr(info, data)
                continue
            head, tail = _split_sheet_xml(data.decode("utf-8"), entry.filename)
            with target.open(info, "w") as stream:
                stream.write(head.encode("utf-8"))
                batch: list[str] = []
                for row in _sheet_rows(sheet, styles):
                    batch.append(row)
                    if len(batch) >= 2000:
                        stream.write("".join(batch).encode("utf-8"))
                        batch.clear()
                stream.write("".join(batch).encode("utf-8"))
                stream.write(tail.encode("utf-8"))


def _split_sheet_xml(xml: str, name: str) -> tuple[str, str]:
    for empty in ("<sheetData></sheetData>", "<sheetData/>", "<sheetData />"):
        if empty in xml:
            head, tail = xml.split(empty, 1)
            return head + "<sheetData>", "</sheetData>" + tail
    raise RuntimeError(f"Unexpected worksheet XML from openpyxl in {name}; the export cannot place its rows.")


def _bar_chart(ws, sheet: Sheet) -> BarChart:
    spec = sheet.chart
    chart = BarChart()
    chart.type = "bar"
    chart.style = 10
    chart.title = spec.title
    chart.y_axis.title = spec.y_title
    chart.x_axis.title = sheet.columns[spec.label_column].header
    chart.legend = None
    chart.x_axis.scaling.orientation = "maxMin"  # first-ranked at the top
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    values = Reference(ws, min_col=spec.value_column + 1, min_row=1, max_row=spec.rows + 1)
    labels = Reference(ws, min_col=spec.label_column + 1, min_row=2, max_row=spec.rows + 1)
    chart.add_data(values, titles_from_data=True)
    chart.set_categories(labels)
    chart.height = max(7.5, 0.6 * spec.rows + 3)
    chart.width = 18
    return chart


def csv_zip(sheets: Sequence[Sheet]) -> bytes:
    """Every sheet as CSV in one zip (fixed timestamps, so the same rows give the same bytes)."""
    buffer = io.BytesIO()
    with _FixedTimeZip(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for sheet in sheets:
            text = io.StringIO(newline="")
            render_csv(sheet, text)
            archive.writestr(archive._info(csv_name(sheet.name)), ("\ufeff" + text.getvalue()).encode("utf-8"))
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------
# The whole job


def export_shortlist(
    *,
    url: str | None = None,
    round_name: str | None = None,
    out: str | Path | IO[bytes],
    options: ExportOptions,
    csv_dir: str | Path | None = None,
) -> ExportResult:
    """Read the round, build the sheets, write the workbook (and the CSV files). Returns what was written.

    A failure part-way leaves no half-written workbook behind.
    """
    from workbench.panel import get_round
    from workbench.store import session_scope

    with session_scope(url) as session:
        round_ = get_round(session, round_name)
        data = load_round_data(session, round_=round_)
    built = build_export(data, options=options)
    csv_files: list[Path] = []
    if isinstance(out, (str, Path)):
        path = Path(out)
        if path.suffix.lower() != ".xlsx":
            raise WorkbenchError(f"The output file should end in .xlsx (Excel); got {path.name!r}.")
        partial = path.with_name(path.name + ".part")
        try:
            render_xlsx(built.sheets, partial, as_of=built.as_of, title=built.title)
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)
    else:
        path = Path(getattr(out, "name", "<stream>"))
        render_xlsx(built.sheets, out, as_of=built.as_of, title=built.title)
    if csv_dir is not None:
        csv_files = write_csv(built.sheets, csv_dir)
    shortlist = built.shortlist
    return ExportResult(path=path, csv_files=csv_files, shortlisted=int(shortlist.ranking["shortlisted"].sum()),
                        nominations=len(shortlist.ranking), as_of=built.as_of, ties=list(shortlist.ties))


@dataclass
class Bundle:
    """An export held in memory, for the shortlist app's download buttons."""

    export: Export
    xlsx: bytes
    csv_zip: bytes
    filename: str


def export_bundle(*, url: str | None = None, round_name: str | None = None, options: ExportOptions) -> Bundle:
    """Build the export and render the workbook and the CSV zip in memory."""
    from workbench.panel import get_round
    from workbench.store import session_scope

    with session_scope(url) as session:
        round_ = get_round(session, round_name)
        data = load_round_data(session, round_=round_)
    built = build_export(data, options=options)
    workbook = io.BytesIO()
    render_xlsx(built.sheets, workbook, as_of=built.as_of, title=built.title)
    stem = re.sub(r"[^A-Za-z0-9]+", "-", data.round_name).strip("-").lower() or "round"
    suffix = "-anonymised" if options.anonymise else ""
    return Bundle(built, workbook.getvalue(), csv_zip(built.sheets), f"shortlist-{stem}{suffix}")
