"""Match spreadsheet columns to what they hold: the rubric's questions, nominee fields, and
equality-monitoring answers, each with a confidence an organiser can check.

Headers are compared with short descriptions of each target (for a question: its id, title,
full text and indicator text) by TF-IDF cosine similarity over words and character n-grams,
so "Q1 Do they ensure that services are commissioned…", Microsoft Forms' long question text
and "Question 2 - promoting equality" all find their question. A header that starts with a
question number ("Q2", "Question 2", "2.") counts for that question and against the others.
Each column gets at most one target and each target at most one column (an optimal
one-to-one assignment); a weak match is left unmapped rather than guessed.

Unmapped columns are never dropped: the import keeps their values in the nomination's
``extra`` data and lists them in the report.

Targets:

- the rubric's criterion ids (``Q1`` ... ``Q4``);
- ``nominee.name``, ``nominee.first_name``, ``nominee.last_name``, ``nominee.job_title``,
  ``nominee.organisation``, ``nominee.email``, ``nominee.team`` (team name),
  ``nominee.is_team`` (a yes/no "team nomination?" question);
- ``nominator.name``, ``nominator.email``;
- ``submission.timestamp``, ``submission.id``, ``submission.category``;
- ``equality.<characteristic>`` (the ``monitoring_headers`` in ``rubrics/vocabulary/equality.yaml``).

>>> from workbench.intake.reading import Column
>>> from workbench.rubric import load_rubric
>>> headers = ["Nominee's name", "Question 2 - promoting equality", "Favourite colour"]
>>> cols = [Column(i, h, h) for i, h in enumerate(headers)]
>>> mapping = propose_mapping(cols, rubric=load_rubric("inclusive-leader"))
>>> [(m.header, m.target) for m in mapping.matches]
[("Nominee's name", 'nominee.name'), ('Question 2 - promoting equality', 'Q2'), ('Favourite colour', None)]
>>> mapping.override({"Favourite colour": "nominee.team"}).target_for("C")
'nominee.team'
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from openpyxl.utils import get_column_letter
from scipy.optimize import linear_sum_assignment
from sklearn.feature_extraction.text import TfidfVectorizer

from workbench.errors import Problem, ValidationFailed, WorkbenchError
from workbench.intake.reading import Column, FormulaText, clean_header
from workbench.rubric import Rubric

#: Below this confidence a column is left unmapped.
MIN_CONFIDENCE = 0.34
#: Below this confidence a mapped column is flagged for the organiser to check.
CHECK_CONFIDENCE = 0.55
#: A column takes a target other than its best only when within this margin of the best.
RUNNER_UP_MARGIN = 0.3
MAPPING_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Target:
    """Something a column can hold."""

    id: str
    label: str
    group: str  # criterion | nominee | nominator | submission | equality
    phrases: tuple[str, ...]
    accepts: str = "text"  # text | timestamp | id | email | any

    def allows(self, column: Column) -> bool:
        header = column.header.casefold()
        if self.accepts == "timestamp":
            return column.kind == "timestamp"
        if self.accepts == "id":
            return column.kind == "id"
        if self.accepts == "email":
            return column.kind == "email" or "mail" in header
        if self.accepts == "any":
            return True
        return column.kind not in {"timestamp", "id", "email"} and "e-mail" not in header and "email" not in header


FIELD_TARGETS: tuple[Target, ...] = (
    Target("nominee.name", "Nominee's name", "nominee",
           ("nominee name", "name of nominee", "nominee's full name", "full name of the person you are nominating",
            "who are you nominating", "name of the individual or team you are nominating", "nominee",
            "name of person being nominated", "name of nominee or team")),
    Target("nominee.first_name", "Nominee's first name", "nominee",
           ("nominee first name", "nominee forename", "first name of nominee", "nominee given name")),
    Target("nominee.last_name", "Nominee's surname", "nominee",
           ("nominee surname", "nominee last name", "surname of nominee", "nominee family name")),
    Target("nominee.job_title", "Nominee's job title", "nominee",
           ("nominee job title", "job title", "role", "job role", "nominee's role", "position", "post held",
            "nominee's job title or role")),
    Target("nominee.organisation", "Nominee's organisation", "nominee",
           ("nominee organisation", "organisation", "employer", "organisation name", "trust or organisation",
            "where does the nominee work", "nominee's employer", "place of work", "organization")),
    Target("nominee.email", "Nominee's email", "nominee",
           ("nominee email", "nominee's email address", "email address of the nominee", "nominee e-mail"), "email"),
    Target("nominee.team", "Team name (team nominations)", "nominee",
           ("team name", "name of the team", "if this is a team nomination, the team's name", "team")),
    Target("nominee.is_team", "Team nomination? (yes/no)", "nominee",
           ("is this a team nomination", "team nomination", "individual or team nomination",
            "are you nominating an individual or a team", "nominating a team")),
    Target("nominator.name", "Nominator's name", "nominator",
           ("your name", "nominator name", "name of nominator", "name of the person making the nomination",
            "nominated by", "submitted by", "name", "your full name", "respondent")),
    Target("nominator.email", "Nominator's email", "nominator",
           ("your email", "your email address", "nominator email", "email", "email address", "nominator's e-mail",
            "respondent email"), "email"),
    Target("submission.timestamp", "Date and time submitted", "submission",
           ("timestamp", "completion time", "submitted", "date submitted", "end date", "time stamp", "completed"),
           "timestamp"),
    Target("submission.id", "Response ID (from the form)", "submission",
           ("id", "response id", "respondent id", "submission id", "entry id", "reference", "ref"), "id"),
    Target("submission.category", "Award category", "submission",
           ("award category", "category", "which award are you nominating for", "award", "category of award")),
)

#: Used when rubrics/vocabulary/equality.yaml is absent or has no monitoring headers.
EQUALITY_FALLBACK: dict[str, tuple[str, ...]] = {
    "age": ("age", "age band", "age group", "age range", "what is your age"),
    "disability": ("disability", "do you consider yourself to have a disability", "disabled",
                   "long-term condition or disability"),
    "gender-reassignment": ("gender identity", "trans", "gender reassignment",
                            "is your gender identity the same as the sex you were registered at birth"),
    "marriage-civil-partnership": ("marital status", "marriage and civil partnership", "relationship status"),
    "pregnancy-maternity": ("pregnancy and maternity", "pregnant", "maternity"),
    "race": ("ethnicity", "ethnic group", "ethnic origin", "race", "ethnic background"),
    "religion-belief": ("religion", "religion or belief", "faith", "belief"),
    "sex": ("sex", "gender", "what is your sex"),
    "sexual-orientation": ("sexual orientation", "sexuality"),
}


@functools.lru_cache(maxsize=4)
def equality_targets(vocabulary: Any = None) -> tuple[Target, ...]:
    """Targets for equality-monitoring columns: each protected characteristic's
    ``monitoring_headers`` from the shared vocabulary (:mod:`workbench.vocabulary`, by default
    ``rubrics/vocabulary/equality.yaml``), or :data:`EQUALITY_FALLBACK` when it has none."""
    entries: dict[str, tuple[str, tuple[str, ...]]] = {}
    try:
        from workbench.vocabulary import PROTECTED_CHARACTERISTIC, load_vocabulary

        vocabulary = vocabulary if vocabulary is not None else load_vocabulary()
        for term in vocabulary.terms_of_kind(PROTECTED_CHARACTERISTIC):
            if term.monitoring_headers:
                entries[term.id] = (term.label, tuple(term.monitoring_headers))
    except (ImportError, OSError, WorkbenchError):
        entries = {}  # a broken vocabulary file is reported by its own checker; import still works
    if not entries:
        entries = {key: (key.replace("-", " ").capitalize(), phrases) for key, phrases in EQUALITY_FALLBACK.items()}
    return tuple(Target(f"equality.{key}", f"Equality monitoring: {label}", "equality", phrases)
                 for key, (label, phrases) in entries.items())


def criterion_targets(rubric: Rubric) -> tuple[Target, ...]:
    targets = []
    for c in rubric.criteria:
        indicators = tuple(i.text for i in c.indicators)
        phrases = (c.text, c.title, f"{c.id} {c.title}", f"{c.id} {c.text}", *indicators,
                   " ".join((c.text, *indicators)))
        targets.append(Target(c.id, f"{c.id} {c.title}", "criterion", phrases))
    return tuple(targets)


def all_targets(rubric: Rubric) -> tuple[Target, ...]:
    """Every target a column can be mapped to, criteria first."""
    return criterion_targets(rubric) + FIELD_TARGETS + equality_targets()


# ---------------------------------------------------------------------------------------
# Similarity


_NUMBER_CUE = re.compile(r"^\s*(?:(?:question|qu|q)\s*\.?\s*(\d+)\b|([a-z]{1,2})\s?(\d+)\b|(\d+)\s*[.):])")


def _normalise(text: str) -> str:
    text = clean_header(text).casefold()
    text = text.replace("e-mail", "email").replace("organization", "organisation").replace("’", "'")
    return re.sub(r"[^\w'@]+", " ", text).strip()


def _question_number(header: str) -> tuple[str | None, int | None]:
    """(``"q"``/letters prefix, number) of a header that starts with a question number."""
    match = _NUMBER_CUE.match(header.casefold())
    if not match:
        return None, None
    if match.group(1):
        return "q", int(match.group(1))
    if match.group(2):
        return match.group(2), int(match.group(3))
    return "", int(match.group(4))


def _cue(header: str, criteria: Sequence[str]) -> dict[str, float]:
    """+1 for the criterion a header's leading number names, -1 for the others (empty: no cue).

    "Q2", "Question 2" and "2." name criterion ``Q2`` (or the 2nd criterion when the ids are
    not Q-numbered); "K12" names criterion ``K12``.
    """
    prefix, number = _question_number(header)
    if number is None:
        return {}
    q_numbered = any(re.fullmatch(r"q\d+", c.casefold()) for c in criteria)
    named = None
    for position, cid in enumerate(criteria, start=1):
        folded = cid.casefold().replace(" ", "")
        if prefix in {"q", ""}:
            if folded in {f"q{number}", str(number)} or (not q_numbered and position == number):
                named = cid
        elif folded == f"{prefix}{number}":
            named = cid
    if named is None:
        return {}
    return {cid: (1.0 if cid == named else -1.0) for cid in criteria}


def similarity(headers: Sequence[str], targets: Sequence[Target]) -> np.ndarray:
    """``headers × targets`` scores in [0, 1]: best phrase match, words and characters averaged."""
    phrases, owner = [], []
    for t, target in enumerate(targets):
        for phrase in target.phrases:
            phrases.append(_normalise(phrase))
            owner.append(t)
    normal = [_normalise(h) for h in headers]
    corpus = phrases + normal
    word = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True,
                           token_pattern=r"(?u)\b\w+\b", stop_words=list(_STOP_WORDS))
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
    scores = np.zeros((len(headers), len(targets)))
    if not headers or not phrases:
        return scores
    parts = []
    for vectorizer in (word, char):
        try:
            matrix = vectorizer.fit_transform(corpus)
        except ValueError:  # every header empty or only stop words
            parts.append(np.zeros((len(headers), len(phrases))))
            continue
        p, h = matrix[: len(phrases)], matrix[len(phrases):]
        parts.append((h @ p.T).toarray())
    combined = 0.5 * parts[0] + 0.5 * parts[1]
    owner_arr = np.asarray(owner)
    for t in range(len(targets)):
        scores[:, t] = combined[:, owner_arr == t].max(axis=1)
    return np.clip(scores, 0.0, 1.0)


_STOP_WORDS = {
    "a", "an", "and", "are", "as", "at", "be", "by", "do", "does", "for", "from", "has", "have", "how", "if", "in",
    "is", "it", "of", "on", "or", "please", "that", "the", "their", "them", "they", "this", "to", "was", "were",
    "what", "which", "who", "with", "you", "your", "s", "e", "g", "eg", "example", "examples", "for", "give",
}


# ---------------------------------------------------------------------------------------
# The mapping


@dataclass(frozen=True)
class ColumnMatch:
    """One column and what it is mapped to (``target`` ``None``: kept in extra data)."""

    column: str
    header: str
    original: str
    target: str | None
    confidence: float
    source: str = "auto"  # auto | saved | organiser | merged
    alternatives: tuple[tuple[str, float], ...] = ()
    index: int = 0
    merged_from: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column, "header": self.header, "target": self.target,
                "confidence": round(self.confidence, 2), "source": self.source}


@dataclass(frozen=True)
class ColumnMapping:
    """The columns of one file and what each holds; confirm or override before importing."""

    rubric: str
    matches: tuple[ColumnMatch, ...]
    targets: tuple[Target, ...] = field(default=(), repr=False, compare=False)

    # --- reading

    def target_for(self, column: str | int) -> str | None:
        return self._find(column).target

    def column_for(self, target: str) -> ColumnMatch | None:
        for match in self.matches:
            if match.target == target and match.merged_from is None:
                return match
        return None

    def columns_for(self, target: str) -> list[ColumnMatch]:
        """The column mapped to ``target`` followed by any columns merged under its header."""
        return [m for m in self.matches if m.target == target]

    @property
    def unmapped(self) -> list[ColumnMatch]:
        return [m for m in self.matches if m.target is None]

    @property
    def to_check(self) -> list[ColumnMatch]:
        """Automatic matches weak enough that an organiser should look at them."""
        return [m for m in self.matches if m.target and m.source == "auto" and m.confidence < CHECK_CONFIDENCE]

    def missing(self, group: str = "criterion") -> list[str]:
        """Targets of a group (``criterion`` by default) that no column is mapped to."""
        mapped = {m.target for m in self.matches}
        return [t.id for t in self.targets if t.group == group and t.id not in mapped]

    def label(self, target: str) -> str:
        for t in self.targets:
            if t.id == target:
                return t.label
        return target

    def to_dict(self) -> dict[str, Any]:
        return {"rubric": self.rubric, "columns": [m.to_dict() for m in self.matches]}

    # --- changing

    def confirm(self) -> ColumnMapping:
        """The same mapping, every match marked as checked by the organiser."""
        return replace(self, matches=tuple(
            replace(m, source="organiser") if m.source == "auto" else m for m in self.matches))

    def override(self, changes: Mapping[str | int, str | None]) -> ColumnMapping:
        """Set the target of some columns (by letter, header or index); ``None`` unmaps.

        A target moved onto a column is taken off the column that had it. Every unknown
        column or target is reported at once.
        """
        problems = []
        known = {t.id for t in self.targets}
        resolved: dict[int, str | None] = {}
        for key, target in changes.items():
            target = target or None
            try:
                match = self._find(key)
            except WorkbenchError as exc:
                problems.append(Problem("mapping", str(key), str(exc)))
                continue
            if match.merged_from is not None:
                problems.append(Problem("mapping", str(key), f"column {match.column} sits under the merged header of "
                                        f"column {match.merged_from}; change column {match.merged_from} instead."))
                continue
            if target is not None and target not in known:
                problems.append(Problem("mapping", str(key), f"{target!r} is not something a column can hold. "
                                        f"Use one of: {', '.join(sorted(known))}, or leave it empty."))
                continue
            resolved[match.index] = target
        taken = [t for t in resolved.values() if t]
        doubled = sorted({t for t in taken if taken.count(t) > 1})
        for target in doubled:
            problems.append(Problem("mapping", target, f"{target} is given to more than one column; choose one."))
        if problems:
            raise ValidationFailed(problems)
        moved = {t for t in resolved.values() if t}
        leaders = {m.column: m.index for m in self.matches}
        matches = []
        for m in self.matches:
            lead_index = leaders[m.merged_from] if m.merged_from else m.index
            if lead_index in resolved:
                new = resolved[lead_index]
                matches.append(replace(m, target=new, confidence=1.0,
                                       source="merged" if m.merged_from else "organiser"))
            elif m.target in moved:
                matches.append(replace(m, target=None, confidence=0.0, source="organiser"))
            else:
                matches.append(m)
        return replace(self, matches=tuple(matches))

    def _find(self, key: str | int) -> ColumnMatch:
        if isinstance(key, int):
            for m in self.matches:
                if m.index == key:
                    return m
        else:
            text = clean_header(key)
            for m in self.matches:
                if m.column == text.upper() and len(text) <= 3:
                    return m
            folded = text.casefold()
            found = [m for m in self.matches if m.header.casefold() == folded or clean_header(m.original).casefold()
                     == folded]
            if len(found) == 1 or (found and all(f.merged_from for f in found[1:])):
                return found[0]
            if found:
                raise WorkbenchError(f"{len(found)} columns have the header {key!r}; name the column by its letter "
                                     f"({', '.join(m.column for m in found)}).")
        headers = ", ".join(f"{m.column} {m.header!r}" for m in self.matches)
        raise WorkbenchError(f"No column {key!r} in this file. Its columns are: {headers}.")


def propose_mapping(
    columns: Sequence[Column],
    *,
    rubric: Rubric,
    saved: SavedMapping | Mapping[str, str | None] | None = None,
) -> ColumnMapping:
    """The best mapping of ``columns`` to the rubric and nominee fields.

    Columns named in ``saved`` (by header, as written by :func:`save_mapping`) take the saved
    target; the rest are matched automatically to the targets still free.
    """
    targets = all_targets(rubric)
    known = {t.id: t for t in targets}
    saved_columns = dict(saved.columns if isinstance(saved, SavedMapping) else (saved or {}))
    saved_folded = {clean_header(k).casefold(): v for k, v in saved_columns.items()}
    problems = [Problem(saved.file if isinstance(saved, SavedMapping) else "mapping", f"columns.{header}",
                        f"{target!r} is not something a column can hold in rubric {rubric.id!r}; use one of: "
                        f"{', '.join(known)}, or null to keep the column as extra data.")
                for header, target in saved_columns.items() if target is not None and target not in known]
    if problems:
        raise ValidationFailed(problems)

    fixed: dict[int, tuple[str | None, str]] = {}
    used: set[str] = set()
    for column in columns:
        if column.merged_from is not None:
            continue
        folded = column.header.casefold()
        if folded and folded in saved_folded:
            target = saved_folded[folded]
            if target in used:
                target = None
            fixed[column.index] = (target, "saved")
            if target:
                used.add(target)

    free_columns = [c for c in columns if c.merged_from is None and c.index not in fixed and c.header]
    free_targets = [t for t in targets if t.id not in used]
    scores = similarity([c.header for c in free_columns], free_targets)
    criteria = [t.id for t in free_targets if t.group == "criterion"]
    for i, column in enumerate(free_columns):
        cue = _cue(column.header, criteria)
        for j, target in enumerate(free_targets):
            if not target.allows(column):
                scores[i, j] = 0.0
            elif target.accepts in {"timestamp", "id"}:
                scores[i, j] = max(scores[i, j], 0.5)  # the column's kind already says what it is
            elif target.id in cue:
                scores[i, j] = 0.45 + 0.55 * scores[i, j] if cue[target.id] > 0 else 0.4 * scores[i, j]
    assigned: dict[int, tuple[str, float]] = {}
    if free_columns and free_targets:
        # Cubing favours giving each column a strong match over spreading weak ones; a column
        # whose best target went to a better column takes a clearly weaker one only if close.
        rows, cols = linear_sum_assignment(scores ** 3, maximize=True)
        best = scores.max(axis=1)
        for r, c in zip(rows, cols):
            if scores[r, c] >= MIN_CONFIDENCE and scores[r, c] >= best[r] - RUNNER_UP_MARGIN:
                assigned[free_columns[r].index] = (free_targets[c].id, float(scores[r, c]))
    _prefer_nominee(assigned, free_columns, free_targets, scores)
    position = {c.index: i for i, c in enumerate(free_columns)}

    matches: list[ColumnMatch] = []
    for column in columns:
        if column.merged_from is not None:
            continue
        alternatives: tuple[tuple[str, float], ...] = ()
        if column.index in fixed:
            target, source = fixed[column.index]
            confidence = 1.0 if target else 0.0
        else:
            target, confidence = assigned.get(column.index, (None, 0.0))
            source = "auto"
            if column.index in position:
                row = scores[position[column.index]]
                top = np.argsort(-row)[:3]
                alternatives = tuple((free_targets[k].id, round(float(row[k]), 2)) for k in top if row[k] > 0.05)
        matches.append(ColumnMatch(column=column.letter, header=column.label, original=column.original,
                                   target=target, confidence=round(confidence, 4), source=source,
                                   alternatives=alternatives, index=column.index))
        for follower in columns:
            if follower.merged_from == column.index:
                matches.append(ColumnMatch(column=follower.letter, header=follower.label,
                                           original=follower.original, target=target,
                                           confidence=round(confidence, 4), source="merged", index=follower.index,
                                           merged_from=column.letter))
    matches.sort(key=lambda m: m.index)
    return ColumnMapping(rubric=rubric.id, matches=tuple(matches), targets=targets)


_GENERIC_NAME = {"name", "full name", "respondent name", "respondent"}
_GENERIC_EMAIL = {"email", "email address", "respondent email"}


def _prefer_nominee(assigned: dict[int, tuple[str, float]], columns: Sequence[Column], targets: Sequence[Target],
                    scores: np.ndarray) -> None:
    """A bare "Name" column is the nominator's in a Forms export that also asks for the
    nominee's name, but the nominee's own name when nothing else is (a hand-made sheet);
    the same then goes for a bare "Email" column."""
    if any(t == "nominee.name" for t, _ in assigned.values()):
        return
    index = {t.id: j for j, t in enumerate(targets)}
    row = {c.index: i for i, c in enumerate(columns)}
    for column in columns:
        target = assigned.get(column.index, (None, 0))[0]
        if target == "nominator.name" and _normalise(column.header) in _GENERIC_NAME and "nominee.name" in index:
            assigned[column.index] = ("nominee.name", max(MIN_CONFIDENCE, float(scores[row[column.index],
                                                                                       index["nominee.name"]])))
            for other in columns:
                t = assigned.get(other.index, (None, 0))[0]
                if (t == "nominator.email" and _normalise(other.header) in _GENERIC_EMAIL
                        and "nominee.email" in index
                        and not any(v == "nominee.email" for v, _ in assigned.values())):
                    assigned[other.index] = ("nominee.email", max(MIN_CONFIDENCE, float(
                        scores[row[other.index], index["nominee.email"]])))
            return


def rubric_header_score(rubric: Rubric) -> Callable[[list[str]], float]:
    """A score of how well a header row matches the rubric's questions (for choosing a sheet)."""
    targets = criterion_targets(rubric) + FIELD_TARGETS

    def score(headers: list[str]) -> float:
        headers = [h for h in headers if h]
        if not headers:
            return 0.0
        matrix = similarity(headers, targets)
        return float(matrix.max(axis=0).sum())

    return score


# ---------------------------------------------------------------------------------------
# Saved mappings


@dataclass(frozen=True)
class SavedMapping:
    """A mapping read from a YAML file: header text -> target (``None``: keep as extra)."""

    rubric: str
    columns: dict[str, str | None]
    file: str = "mapping"


_HEADER_COMMENT = """\
# Column mapping for `workbench import nominations --mapping FILE` (reuse it next year).
# Each line under `columns` is a column header exactly as in the spreadsheet, then what the
# column holds: a question id from the rubric ({criteria}), nominee.name, nominee.first_name,
# nominee.last_name, nominee.job_title, nominee.organisation, nominee.email, nominee.team,
# nominee.is_team, nominator.name, nominator.email, submission.timestamp, submission.id,
# submission.category, equality.<characteristic>, or null to keep the column as extra data.
"""


def save_mapping(mapping: ColumnMapping, path: str | Path) -> Path:
    """Write ``mapping`` to a small YAML file keyed by header, for :func:`load_mapping`."""
    path = Path(path)
    columns = {}
    for m in mapping.matches:
        if m.merged_from is None and m.original.strip():
            columns[m.header] = m.target
    document = {"schema_version": MAPPING_SCHEMA_VERSION, "rubric": mapping.rubric, "columns": columns}
    criteria = ", ".join(t.id for t in mapping.targets if t.group == "criterion")
    body = yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=10_000)
    path.write_text(_HEADER_COMMENT.format(criteria=criteria) + body, encoding="utf-8")
    return path


def load_mapping(path: str | Path) -> SavedMapping:
    """Read a mapping file written by :func:`save_mapping` (or by hand); every problem at once."""
    path = Path(path)
    file = str(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WorkbenchError(f"No mapping file at {path}. Check the name, or import without --mapping.") from None
    except yaml.YAMLError as exc:
        raise ValidationFailed([Problem(file, "", f"this is not valid YAML ({exc}). Put quotes around headers "
                                        "that contain ':' or '#'.")]) from None
    problems = []
    if not isinstance(document, dict):
        raise ValidationFailed([Problem(file, "", "the file should hold `rubric:` and `columns:` lines.")])
    version = document.get("schema_version", MAPPING_SCHEMA_VERSION)
    if version != MAPPING_SCHEMA_VERSION:
        problems.append(Problem(file, "schema_version", f"this workbench reads mapping files of version "
                                f"{MAPPING_SCHEMA_VERSION}, not {version!r}."))
    rubric = document.get("rubric")
    if not isinstance(rubric, str) or not rubric:
        problems.append(Problem(file, "rubric", "add `rubric: <rubric id>`, e.g. `rubric: inclusive-leader`."))
    columns = document.get("columns")
    if not isinstance(columns, dict) or not columns:
        problems.append(Problem(file, "columns", "add `columns:` with one `header: target` line per column."))
        columns = {}
    for header, target in columns.items():
        if not isinstance(header, str):
            problems.append(Problem(file, f"columns.{header}", "put the header in quotes so it is read as text."))
        if target is not None and not isinstance(target, str):
            problems.append(Problem(file, f"columns.{header}", f"{target!r} should be a target such as Q1 or "
                                    "nominee.name, or null."))
    unknown = sorted(set(document) - {"schema_version", "rubric", "columns"})
    for key in unknown:
        problems.append(Problem(file, str(key), "unknown key; a mapping file has schema_version, rubric and columns."))
    if problems:
        raise ValidationFailed(problems)
    return SavedMapping(rubric=rubric, columns={str(k): v for k, v in columns.items()}, file=file)


# ---------------------------------------------------------------------------------------
# Applying a mapping to rows

#: Nominee fields as stored (see ``workbench.panel.NOMINEE_FIELDS``).
NOMINEE_FIELDS = ("name", "email", "job_title", "organisation", "team", "nominator_name", "nominator_email")

_YES = {"yes", "y", "true", "team", "team nomination", "a team", "1"}
_NO = {"no", "n", "false", "individual", "an individual", "individual nomination", "0", ""}
_ZONE = re.compile(r"\s*(gmt|bst|utc|z)$", re.IGNORECASE)
_DAY_FIRST = ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y", "%d/%m/%Y %I:%M:%S %p", "%d/%m/%Y %I:%M %p",
              "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y", "%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M", "%d-%m-%Y",
              "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %I:%M:%S %p", "%Y/%m/%d %H:%M", "%Y/%m/%d", "%d %B %Y %H:%M",
              "%d %b %Y %H:%M", "%d %B %Y", "%d %b %Y")
_MONTH_FIRST = ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p")


def parse_timestamp(value: Any) -> datetime | None:
    """A submission time from a cell: a datetime, ISO text, or UK-style day-first text.

    Day-first is assumed for ``01/03/2024`` (1 March); month-first only when day-first is
    impossible (``3/13/2024``). Returns ``None`` for empty or unreadable text.

    >>> parse_timestamp("2024/03/01 9:30:45 am GMT"), parse_timestamp("01/03/2024 09:30")
    (datetime.datetime(2024, 3, 1, 9, 30, 45), datetime.datetime(2024, 3, 1, 9, 30))
    """
    if isinstance(value, datetime):
        return value
    text = _ZONE.sub("", str(value or "").strip())
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"\b(am|pm)\b", lambda m: m.group(1).upper(), text, flags=re.IGNORECASE)
    for fmt in _DAY_FIRST + _MONTH_FIRST:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    return str(value)


@dataclass(slots=True)
class NominationRow:
    """One spreadsheet row read through a mapping. Answer text is exactly as in the cell."""

    row: int
    answers: dict[str, str]
    nominee: dict[str, str]
    equality: dict[str, str]
    extra: dict[str, str]
    submitted_at: datetime | None = None
    response_id: str = ""
    category: str | None = None
    formula_cells: list[tuple[str, str | None]] = field(default_factory=list)  # (column label, target)
    unreadable_timestamp: str = ""
    beyond_header: list[str] = field(default_factory=list)
    #: Criteria whose answers were screened as fine without reading them (their text may be left out).
    cleared: frozenset[str] = frozenset()
    #: Word counts of answers screened as over the limit without reading them (likewise).
    word_counts: dict[str, int] | None = None

    @property
    def is_empty(self) -> bool:
        """No answer and no nominee: nothing here that is a nomination."""
        return (not self.cleared and not self.word_counts and not any(v.strip() for v in self.answers.values())
                and not any(self.nominee[k] for k in ("name", "email", "team")))


class RowParser:
    """Turn rows from :meth:`Table.batches` (or one from :meth:`Table.rows`) into :class:`NominationRow`.

    Built once per file: each target's column (or merged columns) is looked up in advance.
    ``extra_text=False`` (a preview, which only counts them) leaves values of unmapped columns
    that are not text, such as dates, unconverted.
    """

    def __init__(self, columns: Sequence[Column], mapping: ColumnMapping, rubric: Rubric, *, formulas: bool = True,
                 extra_text: bool = True):
        self.criteria = list(rubric.criterion_ids)
        self.width = len(columns)
        by_target: dict[str, list[int]] = {}
        for m in mapping.matches:
            if m.target:
                by_target.setdefault(m.target, []).append(m.index)
        self.by_target = by_target
        self.spec = {t: (idx[0] if len(idx) == 1 else tuple(idx)) for t, idx in by_target.items()}
        self.labels = {c.index: c.label for c in columns}
        self.target_of = {m.index: m.target for m in mapping.matches}
        labels = [self.labels[m.index] for m in mapping.matches if m.target is None]
        self.unmapped = []
        for m in mapping.matches:
            if m.target is None:
                label = self.labels[m.index]
                key = f"{label} (column {m.column})" if labels.count(label) > 1 else label
                self.unmapped.append((m.index, key))
        self.equality = [(t.split(".", 1)[1], t) for t in self.spec if t.startswith("equality.")]
        criteria = set(self.criteria)
        self.fields = [(t, spec) for t, spec in self.spec.items()
                       if t not in criteria and t != "submission.timestamp"]
        self.answer_specs = [(c, self.spec.get(c)) for c in self.criteria]
        is_text = {c.index: c.kind != "timestamp" for c in columns}
        self.text_fields = [(t, w) for t, w in self.fields if w.__class__ is int and is_text.get(w)]
        self.other_fields = [(t, w) for t, w in self.fields if not (w.__class__ is int and is_text.get(w))]
        self.text_answers = [(c, w) for c, w in self.answer_specs if w.__class__ is int and is_text.get(w)]
        self.other_answers = [(c, w) for c, w in self.answer_specs if not (w.__class__ is int and is_text.get(w))]
        self.timestamp = by_target.get("submission.timestamp", [None])[0]
        self.splits_name = "nominee.name" in by_target
        self.formulas = formulas
        self.extra_text = extra_text
        self.answer_order = tuple(self.criteria) if self.other_answers else tuple(c for c, _ in self.text_answers)

    def __call__(self, number: int, values: list[Any]) -> NominationRow:
        return self.parse_batch([number], [[v] for v in values])[0]

    def parse_batch(self, numbers: Sequence[int], cells: Sequence[Sequence[Any]]) -> list[NominationRow]:
        """The rows of a batch given by column, as from :meth:`Table.batches`: ``cells[i][j]`` is
        column ``i`` of row ``numbers[j]``. Each field is read a column at a time; only what
        depends on several fields is worked out row by row."""
        n = len(numbers)
        width = self.width
        if len(cells) < width:
            cells = [*cells, *([[""] * n] * (width - len(cells)))]
        # Text columns always hold str (see reading.Table.rows); others go the careful way.
        got = {target: [v.strip() for v in cells[where]] for target, where in self.text_fields}
        for target, where in self.other_fields:
            if where.__class__ is int:
                got[target] = [_cell(v).strip() for v in cells[where]]
            else:  # columns under one merged header
                got[target] = [" ".join(p for p in (_cell(v).strip() for v in parts) if p)
                               for parts in zip(*(cells[i] for i in where))]
        by_answer = {cid: cells[where] for cid, where in self.text_answers}
        for cid, where in self.other_answers:
            if where is None:
                by_answer[cid] = [""] * n
            elif where.__class__ is int:
                by_answer[cid] = [_cell(v) for v in cells[where]]
            else:  # columns under one merged header: kept as written, one per line
                by_answer[cid] = ["\n".join(p for p in map(_cell, parts) if p.strip())
                                  for parts in zip(*(cells[i] for i in where))]
        order = self.answer_order
        answers = ([dict(zip(order, texts)) for texts in zip(*(by_answer[c] for c in order))] if order
                   else [{} for _ in numbers])
        empty = [""] * n
        get = got.get
        fields = zip(numbers, answers, get("nominee.name", empty), get("nominee.first_name", empty),
                     get("nominee.last_name", empty), get("nominee.team", empty), get("nominee.is_team", empty),
                     get("nominee.email", empty), get("nominee.job_title", empty), get("nominee.organisation", empty),
                     get("nominator.name", empty), get("nominator.email", empty), get("submission.id", empty),
                     get("submission.category", empty))
        equality = [(key, got[target]) for key, target in self.equality]
        unmapped = [(cells[i], key) for i, key in self.unmapped]
        beyond_header = [(cells[i], f"Column {get_column_letter(i + 1)} (no header)") for i in range(width, len(cells))]
        times = cells[self.timestamp] if self.timestamp is not None else None
        extra_text, splits_name = self.extra_text, self.splits_name
        out = []
        for j, (number, row_answers, name, first, last, team, is_team, email, job_title, organisation,
                nominator_name, nominator_email, response_id, category) in enumerate(fields):
            if not name and (first or last):
                name = " ".join(p for p in (first, last) if p)
            if not team and is_team:
                folded = is_team.casefold()
                if folded in _YES:
                    team = name or "yes"
                elif folded not in _NO:
                    team = is_team  # the answer to "individual or team?" is the team's name
            if not name and team and team != "yes":
                name = team
            nominee = {"name": name, "email": email, "job_title": job_title, "organisation": organisation,
                       "team": team, "nominator_name": nominator_name, "nominator_email": nominator_email}
            extra = {}
            for column, key in unmapped:
                value = column[j]
                if value.__class__ is not str:
                    if not extra_text and value is not None and not isinstance(value, str):
                        extra[key] = value  # counted, never shown
                        continue
                    value = _cell(value)
                if value and not value.isspace():
                    extra[key] = value
            beyond = []
            for column, label in beyond_header:
                value = _cell(column[j])
                if value.strip():
                    extra[label] = value
                    beyond.append(label)
            if splits_name:
                if first:
                    extra.setdefault("nominee first name", first)
                if last:
                    extra.setdefault("nominee surname", last)
            submitted_at, unreadable = None, ""
            if times is not None:
                raw = times[j]
                submitted_at = parse_timestamp(raw)
                if submitted_at is None and _cell(raw).strip():
                    unreadable = _cell(raw)
            formulas = []
            if self.formulas:
                formulas = [(self.labels.get(i, f"Column {get_column_letter(i + 1)}"), self.target_of.get(i))
                            for i, column in enumerate(cells) if isinstance(column[j], FormulaText)]
            # Positional (in the order of the fields): noticeably cheaper than keywords, once per row.
            out.append(NominationRow(number, row_answers, nominee,
                                     {key: column[j] for key, column in equality if column[j]}, extra, submitted_at,
                                     response_id, category or None, formulas, unreadable, beyond))
        return out
