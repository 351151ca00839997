"""Unit marking: assessors mark learners' written work against a unit's marking points, and an
internal quality assurer (IQA) second-marks a sample, blind.

Everything reuses the judging core:

- a **cohort** is a :class:`~workbench.store.Round` on a unit rubric (``edi-unit`` by default),
  marked ``settings["mode"] = "unit-marking"``;
- a **learner's submission** is a :class:`~workbench.store.Nomination` whose text is in a
  :class:`~workbench.store.Submission` row (it answers the whole unit, not one criterion, so
  it is not an :class:`~workbench.store.Answer`); the learner's name and email are in
  :class:`~workbench.store.Nominee`, the learner ID is the nomination's ``source_key``;
- an **assessor** or **IQA** is a :class:`~workbench.store.Judge`, and each marking job is an
  :class:`~workbench.store.Assignment` with ``role`` ``"assessor"`` or ``"iqa"``;
- **marks** are append-only :class:`~workbench.store.ScoreEvent` rows written through
  :func:`workbench.scoring.record_score` (the evidence note is the comment, the rubric hash is
  checked and stored); **misconceptions ticked** are append-only
  :class:`~workbench.store.CheckEvent` rows;
- the **outcome** (Pass / Refer) comes from the rubric's written rule,
  :meth:`workbench.rubric.Rubric.outcome_for`, with its reason. The learner's outcome is the
  assessor's; the IQA's marks are for quality assurance and the agreement report.

Blind second marking: a marker sees only their own marks until they submit. The IQA sees the
assessor's marks and outcome only after submitting their own; the assessor sees the IQA's only
once the IQA has submitted.

The IQA sample rule is :data:`SAMPLE_RULE` (see :func:`choose_iqa_sample`). Agreement between
assessor and IQA is :func:`agreement_report`. Feedback for each learner is
:func:`export_feedback` (``.docx`` and/or ``.xlsx``, rendered by :mod:`workbench.feedback`),
built from the assessor's marks, evidence notes, misconceptions ticked and the rubric's guidance.

Every service function takes keyword arguments only, and either a ``session`` (to take part
in the caller's transaction) or a database ``url`` (one transaction per call).

>>> learners = synthetic_submissions(count=3, seed=1)
>>> [(x.learner_id, x.assessor) for x in learners]
[('L0001', 'Morag Fenwick <morag.fenwick@example.org>'), ('L0002', 'Dami Oyelaran <dami.oyelaran@example.org>'), ('L0003', 'Henrik Lund <henrik.lund@example.org>')]
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import random
import re
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import timezone
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workbench.agreement import cohen_kappa, krippendorff_alpha, percent_agreement
from workbench.errors import NotAllowed, NotFound, Problem, ValidationFailed, WorkbenchError
from workbench.feedback import (
    FEEDBACK_FORMATS,
    FeedbackAdvice,
    FeedbackPoint,
    LearnerFeedback,
    describe_rule,
)
from workbench.panel import add_nomination, create_round, round_rubric
from workbench.rubric import Rubric, RubricChanged, load_rubric
from workbench.scoring import judge_scores, record_score, submit_assignment
from workbench.store import (
    Assignment,
    AuditEvent,
    CheckEvent,
    Judge,
    Nomination,
    Nominee,
    Round,
    ScoreEvent,
    Submission,
    session_scope,
    utcnow,
)

COHORT_MODE = "unit-marking"
DEFAULT_RUBRIC = "edi-unit"
ASSESSOR, IQA = "assessor", "iqa"
ROLES = (ASSESSOR, IQA)
ROLE_NAMES = {ASSESSOR: "assessor", IQA: "IQA"}

#: Where a marker's name-only entry gets an address: ``.invalid`` can never be a real domain.
PLACEHOLDER_DOMAIN = "assessors.invalid"

SAMPLE_RULE = (
    "IQA sample rule. The sampling frame is every learner whose assessor has submitted the marking "
    "(so the outcome is known). (1) Every assessor, every outcome: for each assessor and each outcome "
    "(Pass, Refer) that assessor has given, one learner is chosen at random, unless one is already in "
    "the sample. (2) At least {percent:g}% of the cohort: while the sample is smaller than "
    "ceil({percent:g}% x learners in the cohort), one more learner is added from the assessor with the "
    "smallest share of their marked learners sampled so far (ties: assessor email in alphabetical "
    "order), chosen at random among theirs. Learners sampled in earlier draws stay in the sample and "
    "count towards both steps. Random choices use the seed given, over learners sorted by reference, "
    "so the same seed on the same marking gives the same sample. Each sampled learner goes to the IQA "
    "with the fewest sampled learners who is not that learner's assessor."
)

AGREEMENT_METHOD = (
    "Learners compared: those in the IQA sample whose assessor and IQA have both submitted. For each "
    "marking point, and for all marking points pooled: exact agreement (share of learners given the "
    "same level), agreement within one level, Cohen's kappa with linear weights on the rubric's scale "
    "(Cohen 1968), and Krippendorff's alpha at the ordinal level (Krippendorff 2011). For the outcome "
    "and for each misconception: exact agreement and unweighted Cohen's kappa."
)


# ---------------------------------------------------------------------------------------
# Sessions, cohorts and people


@contextlib.contextmanager
def _transaction(session: Session | None, url: str | None) -> Iterator[Session]:
    if session is not None:
        yield session
        return
    with session_scope(url) as s:
        yield s


def _is_cohort(round_: Round) -> bool:
    return (round_.settings or {}).get("mode") == COHORT_MODE


def _cohort(session: Session, name: str | None) -> Round:
    rounds = [r for r in session.scalars(select(Round).order_by(Round.id)) if _is_cohort(r)]
    if not rounds:
        raise NotFound("There is no unit-marking cohort yet. Import learners' work first with "
                       "`workbench unit import FILE_OR_FOLDER`.")
    if name is None:
        return rounds[-1]
    for round_ in rounds:
        if round_.name == name:
            return round_
    known = ", ".join(repr(r.name) for r in rounds)
    raise NotFound(f"There is no unit-marking cohort called {name!r}. Cohorts: {known}.")


def list_cohorts(*, session: Session | None = None, url: str | None = None) -> list[str]:
    """Names of the unit-marking cohorts, oldest first (``[]`` when there are none)."""
    with _transaction(session, url) as s:
        return [r.name for r in s.scalars(select(Round).order_by(Round.id)) if _is_cohort(r)]


def create_cohort(*, name: str, rubric: Rubric | str = DEFAULT_RUBRIC, session: Session | None = None,
                  url: str | None = None) -> str:
    """Open a unit-marking cohort on a rubric that has a pass rule; returns its name."""
    rubric = load_rubric(rubric) if isinstance(rubric, str) else rubric
    if rubric.outcome is None:
        raise WorkbenchError(f"The rubric {rubric.id!r} has no pass rule (`outcome:`), so learners cannot be given "
                             "Pass or Refer. Use a unit rubric such as edi-unit.")
    with _transaction(session, url) as s:
        round_ = create_round(s, name=name, rubric=rubric, judges_per_nomination=1, blind=True,
                              settings={"mode": COHORT_MODE})
        return round_.name


def cohort_rubric(*, cohort: str | None = None, session: Session | None = None, url: str | None = None) -> Rubric:
    """The rubric version a cohort is marked on (as stored when the cohort was opened)."""
    with _transaction(session, url) as s:
        return round_rubric(s, _cohort(s, cohort), check_file=False)


def _open_or_create_cohort(session: Session, name: str | None, rubric: Rubric) -> Round:
    name = (name or rubric.id).strip()
    round_ = session.scalar(select(Round).where(Round.name == name))
    if round_ is None:
        create_cohort(name=name, rubric=rubric, session=session)
        return _cohort(session, name)
    if not _is_cohort(round_):
        raise WorkbenchError(f"{name!r} is an award-judging round, not a unit-marking cohort. Choose another "
                             "cohort name with --cohort.")
    if round_.rubric_version.rubric_id != rubric.id:
        raise WorkbenchError(f"The cohort {name!r} is marked on the rubric {round_.rubric_version.rubric_id!r}, "
                             f"not {rubric.id!r}. Choose another cohort name.")
    return round_


_PERSON = re.compile(r"^\s*(?P<name>[^<>]*?)\s*<\s*(?P<email>[^<>\s]+@[^<>\s]+)\s*>\s*$")


def parse_person(text: str) -> tuple[str, str]:
    """``(name, email)`` from ``"Name <email>"``, a bare email or a bare name (email ``""``).

    >>> parse_person("Morag Fenwick <Morag.Fenwick@example.org>"), parse_person("iqa@example.org")
    (('Morag Fenwick', 'morag.fenwick@example.org'), ('', 'iqa@example.org'))
    >>> parse_person("  Dami  Oyelaran ")
    ('Dami Oyelaran', '')
    """
    text = " ".join(str(text or "").split())
    match = _PERSON.match(text)
    if match:
        return match["name"].strip(" \"'"), match["email"].lower()
    if "@" in text and " " not in text:
        return "", text.lower()
    return text, ""


def _slug(text: str, limit: int = 60) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()[:limit] or "person"


def _find_person(session: Session, ref: str | int) -> Judge:
    """A marker by id, email, ``Name <email>`` or (unique) name."""
    text = str(ref).strip()
    if text.isdigit():
        judge = session.get(Judge, int(text))
        if judge is None:
            raise NotFound(f"No assessor or IQA with id {text}.")
        return judge
    name, email = parse_person(text)
    if email:
        judge = session.scalar(select(Judge).where(Judge.email == email))
        if judge is None:
            raise NotFound(f"No assessor or IQA with the email {email!r}. Check the spelling, or list the markers "
                           "with `workbench unit learners`.")
        return judge
    matches = [j for j in session.scalars(select(Judge).order_by(Judge.id)) if j.name.casefold() == name.casefold()]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise NotFound(f"No assessor or IQA called {name!r}. Give their email, or check the spelling.")
    raise WorkbenchError(f"More than one person is called {name!r}; give their email instead.")


def _ensure_person(session: Session, text: str, added: list[str] | None = None) -> Judge:
    """The marker named by ``text``, created when new (a name with no email gets a placeholder address)."""
    name, email = parse_person(text)
    if not name and not email:
        raise WorkbenchError("An assessor or IQA needs a name or an email address.")
    if email:
        judge = session.scalar(select(Judge).where(Judge.email == email))
        if judge is None:
            judge = Judge(name=name or email, email=email)
            session.add(judge)
            session.flush()
            if added is not None:
                added.append(f"{judge.name} <{email}>")
        elif name and judge.name != name and judge.name == judge.email:
            judge.name = name
        return judge
    matches = [j for j in session.scalars(select(Judge).order_by(Judge.id)) if j.name.casefold() == name.casefold()]
    if len(matches) > 1:
        raise WorkbenchError(f"More than one person is called {name!r}; write the assessor as 'Name <email>'.")
    if matches:
        return matches[0]
    judge = Judge(name=name, email=f"{_slug(name)}@{PLACEHOLDER_DOMAIN}")
    session.add(judge)
    session.flush()
    if added is not None:
        added.append(f"{name} (no email given)")
    return judge


# ---------------------------------------------------------------------------------------
# Import: a spreadsheet (one row per learner) or a folder of .docx / .txt files


@dataclass(frozen=True)
class LearnerRow:
    """One learner's submission as read from a file, before it is stored."""

    learner_id: str
    text: str
    name: str = ""
    email: str = ""
    assessor: str = ""  # "Name <email>", an email, or a name
    where: str = ""  # "row 7" or the file name, for the report
    source_file: str | None = None
    source_row: int | None = None
    source_format: str = ""


@dataclass(frozen=True)
class ImportProblem:
    """Something in the source the organiser should know about: where, which learner, what to do."""

    where: str
    learner: str
    message: str

    def __str__(self) -> str:
        who = f" ({self.learner})" if self.learner else ""
        return f"{self.where}{who}: {self.message}"


@dataclass
class ImportReport:
    """What an import did: every row or file is imported, unchanged, updated or skipped with a reason."""

    cohort: str
    source: str
    imported: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[ImportProblem] = field(default_factory=list)
    warnings: list[ImportProblem] = field(default_factory=list)
    assessors_added: list[str] = field(default_factory=list)
    unassigned: list[str] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["skipped"] = [asdict(p) for p in self.skipped]
        data["warnings"] = [asdict(p) for p in self.warnings]
        return data

    def summary(self) -> str:
        lines = [f"Cohort {self.cohort!r} from {self.source}: {len(self.imported)} imported, "
                 f"{len(self.updated)} updated, {len(self.unchanged)} unchanged, {len(self.skipped)} not imported."]
        if self.columns:
            lines.append("Columns used: " + "; ".join(f"{k} = {v!r}" for k, v in self.columns.items()) + ".")
        if self.skipped:
            lines.append("Not imported (fix these and import again):")
            lines += [f"  - {p}" for p in self.skipped]
        if self.warnings:
            lines.append("Imported, but check:")
            lines += [f"  - {p}" for p in self.warnings]
        if self.assessors_added:
            lines.append("Markers added: " + ", ".join(self.assessors_added) + ".")
        if self.unassigned:
            lines.append(f"{len(self.unassigned)} learner(s) have no assessor yet: " + ", ".join(self.unassigned)
                         + ". Assign them with `workbench unit assign --assessor 'Name <email>'`.")
        return "\n".join(lines)


#: Spreadsheet headers recognised for each field (compared case-insensitively, punctuation ignored).
COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "learner_id": ("learner id", "learner number", "learner no", "learner ref", "learner reference",
                   "student id", "student number", "candidate id", "candidate number", "enrolment number",
                   "registration number", "uln", "id"),
    "name": ("learner name", "learner", "name", "full name", "student name", "candidate name", "learner full name"),
    "email": ("learner email", "learner email address", "email", "email address", "e mail", "student email",
              "candidate email"),
    "assessor": ("assessor", "assessor name", "marker", "marker name", "tutor", "assessor marker"),
    "assessor_email": ("assessor email", "assessor email address", "marker email", "tutor email"),
    "submission": ("submission", "submission text", "assignment", "assignment text", "written assignment",
                   "answer", "response", "text", "work", "learner work", "learners work", "learner submission"),
}
COLUMN_FIELDS = tuple(COLUMN_NAMES)


def _header_key(header: str) -> str:
    return " ".join(re.sub(r"[^0-9a-z]+", " ", header.casefold().replace("'", "")).split())


def match_columns(headers: Sequence[str], overrides: Mapping[str, str] | None = None) -> dict[str, int]:
    """Which column holds each field: ``{field: column index}``; ``overrides`` maps a field to a header.

    >>> match_columns(["Learner ID", "Learner name", "Assessor", "Assignment text"])
    {'learner_id': 0, 'name': 1, 'assessor': 2, 'submission': 3}
    >>> match_columns(["Candidate no.", "Essay"], {"learner_id": "Candidate no.", "submission": "essay"})
    {'learner_id': 0, 'submission': 1}
    """
    keys = [_header_key(h) for h in headers]
    found: dict[str, int] = {}
    for field_name, header in (overrides or {}).items():
        if field_name not in COLUMN_NAMES:
            raise WorkbenchError(f"{field_name!r} is not a field; use one of: {', '.join(COLUMN_FIELDS)}.")
        key = _header_key(header)
        if key not in keys:
            raise WorkbenchError(f"There is no column {header!r} for {field_name}. The columns are: "
                                 f"{', '.join(repr(h) for h in headers)}.")
        found[field_name] = keys.index(key)
    used = set(found.values())
    for field_name, names in COLUMN_NAMES.items():
        if field_name in found:
            continue
        for index, key in enumerate(keys):
            if index not in used and key in names:
                found[field_name] = index
                used.add(index)
                break
    return {f: found[f] for f in COLUMN_FIELDS if f in found}


def read_spreadsheet(path: str | Path, *, columns: Mapping[str, str] | None = None,
                     sheet: str | None = None) -> tuple[list[LearnerRow], list[ImportProblem], dict[str, str]]:
    """Learner rows from an ``.xlsx``/``.csv`` file, the rows left out (with why), and the columns used.

    Read with :func:`workbench.intake.reading.open_table`, so encodings, header rows and formula
    cells are handled as for nominations. Needs a submission column and a learner ID or email.
    """
    from workbench.intake.reading import open_table

    path = Path(path)
    table = open_table(path, sheet=sheet)
    headers = [c.label for c in table.columns]
    found = match_columns(headers, columns)
    missing = [f for f in ("submission",) if f not in found]
    if "learner_id" not in found and "email" not in found:
        missing.insert(0, "learner_id")
    if missing:
        accepted = "; ".join(f"{f}: {', '.join(repr(n) for n in COLUMN_NAMES[f][:4])}" for f in missing)
        raise ValidationFailed([Problem(path.name, "header row", (
            f"no column for {', '.join(missing)}. The columns are: {', '.join(repr(h) for h in headers)}. "
            f"Rename the column (accepted headers, for example: {accepted}) or name it with "
            "--column FIELD=HEADER (e.g. --column submission='Essay')."))])
    used = {f: headers[i] for f, i in found.items()}
    rows: list[LearnerRow] = []
    problems: list[ImportProblem] = []

    def cell(values: list[Any], field_name: str) -> str:
        index = found.get(field_name)
        if index is None or index >= len(values) or values[index] is None:
            return ""
        value = values[index]
        return value if isinstance(value, str) else str(value)

    fmt = "xlsx" if table.format == "xlsx" else "csv"
    for number, values in table.rows():
        where = f"row {number}"
        email = cell(values, "email").strip()
        learner_id = cell(values, "learner_id").strip() or email
        text = cell(values, "submission")
        if not learner_id:
            problems.append(ImportProblem(where, "", "no learner ID; add the learner's ID (or email) in "
                                          f"{used.get('learner_id') or used.get('email')!r}."))
            continue
        assessor = cell(values, "assessor").strip()
        assessor_email = cell(values, "assessor_email").strip()
        if assessor_email:
            assessor = f"{assessor} <{assessor_email}>" if assessor and "@" not in assessor else assessor_email
        rows.append(LearnerRow(learner_id=learner_id, text=text, name=cell(values, "name").strip(), email=email,
                               assessor=assessor, where=where, source_file=path.name, source_row=number,
                               source_format=fmt))
    return rows, problems, used


SUBMISSION_SUFFIXES = (".docx", ".txt")
_OTHER_FORMATS = {
    ".doc": "is an old Word (.doc) file; open it in Word and save it as .docx",
    ".odt": "is an OpenDocument file; save it as .docx",
    ".rtf": "is a rich-text file; save it as .docx",
    ".pdf": "is a PDF, which is not read; ask for the .docx, or save the text as .txt",
    ".pages": "is an Apple Pages file; export it as .docx",
}


def docx_text(path: str | Path) -> str:
    """The text of a Word document: paragraphs, then table cells, one per line."""
    import docx

    document = docx.Document(str(path))
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            seen: list[Any] = []
            for cell in row.cells:  # merged cells repeat; keep each once
                if cell._tc not in seen:
                    seen.append(cell._tc)
                    lines.append(cell.text)
    return "\n".join(lines).strip()


def _txt_text(data: bytes) -> tuple[str, str]:
    """(text, encoding) of a plain-text file; raises ``ValueError`` for binary data."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    if b"\x00" in data:
        raise ValueError("binary")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="strict"), "cp1252"


def read_folder(folder: str | Path) -> tuple[list[LearnerRow], list[ImportProblem], list[ImportProblem]]:
    """Learner rows from a folder of ``.docx``/``.txt`` files (file name = learner ID).

    Returns ``(rows, skipped, warnings)``. Every file in the folder is accounted for: read,
    or skipped with the reason (unreadable, empty, another format, a Word lock file, a hidden
    file, a subfolder). Files for the same learner ID are left in ``rows`` for the import to
    report as duplicates.
    """
    folder = Path(folder)
    rows: list[LearnerRow] = []
    skipped: list[ImportProblem] = []
    warnings: list[ImportProblem] = []
    for path in sorted(folder.iterdir(), key=lambda p: p.name.casefold()):
        name, suffix = path.name, path.suffix.lower()
        if path.is_dir():
            skipped.append(ImportProblem(name + "/", "", "subfolders are not read; move the files in it up into "
                                         f"{folder.name} to import them."))
            continue
        if name.startswith("~$"):
            skipped.append(ImportProblem(name, "", "a Word lock file (left while a document is open in Word); "
                                         "ignored. Close Word and delete it."))
            continue
        if name.startswith("."):
            skipped.append(ImportProblem(name, "", "a hidden system file; ignored."))
            continue
        learner_id = path.stem.strip()
        if suffix not in SUBMISSION_SUFFIXES:
            reason = _OTHER_FORMATS.get(suffix, "is not a .docx or .txt file")
            skipped.append(ImportProblem(name, learner_id, f"not read: it {reason}."))
            continue
        try:
            if suffix == ".docx":
                text, fmt = docx_text(path), "docx"
            else:
                text, encoding = _txt_text(path.read_bytes())
                fmt = "txt"
                if encoding == "cp1252":
                    warnings.append(ImportProblem(name, learner_id, "read as Windows-1252 text (not UTF-8); check "
                                                  "that accented letters look right."))
        except Exception:  # every kind of damaged file is reported, never raised
            what = "a Word document" if suffix == ".docx" else "plain text"
            skipped.append(ImportProblem(name, learner_id, f"could not be read as {what}; it may be damaged, "
                                         "password-protected or renamed from another format. Open it and save it "
                                         "again as .docx or .txt."))
            continue
        rows.append(LearnerRow(learner_id=learner_id, text=text, where=name, source_file=name, source_format=fmt))
    return rows, skipped, warnings


def _text_hash(row: LearnerRow) -> str:
    payload = "\x1f".join([row.text.strip(), row.name, row.email.lower()])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _learner_key(learner_id: str) -> str:
    return " ".join(learner_id.split()).casefold()


def _has_marks(session: Session, nomination_id: int) -> bool:
    scored = session.scalar(select(func.count()).select_from(ScoreEvent).where(ScoreEvent.nomination_id == nomination_id))
    ticked = session.scalar(select(func.count()).select_from(CheckEvent).where(CheckEvent.nomination_id == nomination_id))
    return bool(scored or ticked)


def _active(session: Session, round_id: int, nomination_id: int, role: str) -> Assignment | None:
    return session.scalar(select(Assignment).where(
        Assignment.round_id == round_id, Assignment.nomination_id == nomination_id, Assignment.role == role,
        Assignment.status == "active"))


def _assign(session: Session, round_: Round, nomination: Nomination, judge: Judge, role: str, reason: str) -> Assignment:
    """Give ``judge`` the ``role`` for this learner, withdrawing an unmarked earlier one."""
    other_role = IQA if role == ASSESSOR else ASSESSOR
    other = _active(session, round_.id, nomination.id, other_role)
    if other is not None and other.judge_id == judge.id:
        raise NotAllowed(f"{judge.name} is already the {ROLE_NAMES[other_role]} for learner "
                         f"{nomination.source_key}; the assessor and the IQA must be different people.")
    current = _active(session, round_.id, nomination.id, role)
    if current is not None:
        if current.judge_id == judge.id:
            return current
        if current.submitted_at is not None or session.scalar(
                select(func.count()).select_from(ScoreEvent).where(ScoreEvent.assignment_id == current.id)):
            raise NotAllowed(f"Learner {nomination.source_key} is already being marked by {current.judge.name} "
                             f"({ROLE_NAMES[role]}); the {ROLE_NAMES[role]} was not changed.")
        current.status = "withdrawn"
    existing = session.scalar(select(Assignment).where(
        Assignment.round_id == round_.id, Assignment.judge_id == judge.id, Assignment.nomination_id == nomination.id))
    if existing is not None:
        existing.status, existing.role, existing.reason = "active", role, reason
        assignment = existing
    else:
        assignment = Assignment(round_id=round_.id, judge_id=judge.id, nomination_id=nomination.id, role=role,
                                reason=reason, status="active")
        session.add(assignment)
    session.flush()
    return assignment


def _cohort_learners(session: Session, round_: Round) -> dict[str, Nomination]:
    return {_learner_key(n.source_key): n for n in session.scalars(
        select(Nomination).where(Nomination.round_id == round_.id).order_by(Nomination.id))}


def import_learner_rows(*, rows: Iterable[LearnerRow], source: str = "rows", cohort: str | None = None,
                        rubric: Rubric | str = DEFAULT_RUBRIC, session: Session | None = None, url: str | None = None,
                        skipped: Sequence[ImportProblem] = (), warnings: Sequence[ImportProblem] = ()) -> ImportReport:
    """Store learner rows in a cohort (created when new; default name: the rubric id).

    Rules, each reported: a learner ID given twice with the same text is imported once; given
    twice with different text, neither is imported. An empty submission is not imported. A
    learner already in the cohort is unchanged when nothing differs, updated when the text or
    identity changed and marking has not started, and left as it was (reported) once marking has
    started. The same text under two learner IDs is imported but flagged.
    """
    rubric = load_rubric(rubric) if isinstance(rubric, str) else rubric
    rows = list(rows)
    with _transaction(session, url) as s:
        round_ = _open_or_create_cohort(s, cohort, rubric)
        report = ImportReport(cohort=round_.name, source=source, skipped=list(skipped), warnings=list(warnings))
        groups: dict[str, list[LearnerRow]] = defaultdict(list)
        for row in rows:
            groups[_learner_key(row.learner_id)].append(row)
        existing = _cohort_learners(s, round_)
        first_with_text: dict[str, LearnerRow] = {}
        for key, group in groups.items():
            row = group[0]
            if len(group) > 1:
                places = ", ".join(r.where for r in group)
                if len({(r.text.strip(), r.name, r.email.lower(), r.assessor) for r in group}) > 1:
                    for r in group:
                        report.skipped.append(ImportProblem(r.where, r.learner_id, (
                            f"learner {row.learner_id} appears {len(group)} times ({places}) with different "
                            "work; none of them was imported. Keep one and import again.")))
                    continue
                report.warnings.append(ImportProblem(places, row.learner_id, "the same learner and text appear "
                                                     f"{len(group)} times; imported once."))
            if not row.text.strip():
                report.skipped.append(ImportProblem(row.where, row.learner_id, "the submission is empty; nothing to "
                                                    "mark. Add the learner's work and import again."))
                continue
            twin = first_with_text.setdefault(" ".join(row.text.split()).casefold(), row)
            if twin is not row:
                report.warnings.append(ImportProblem(row.where, row.learner_id, (
                    f"the text is the same as learner {twin.learner_id}'s ({twin.where}); both were imported. "
                    "Check that each learner's own work was supplied.")))
            _store_row(s, round_, rubric, row, existing.get(key), report)
        for nomination in _cohort_learners(s, round_).values():
            if nomination.status == "active" and _active(s, round_.id, nomination.id, ASSESSOR) is None:
                report.unassigned.append(nomination.source_key)
        return report


def _store_row(session: Session, round_: Round, rubric: Rubric, row: LearnerRow, nomination: Nomination | None,
               report: ImportReport) -> None:
    from workbench.intake.validation import word_count

    digest = _text_hash(row)
    if nomination is None:
        nomination = add_nomination(session, round_=round_, source_key=row.learner_id, answers={},
                                    nominee={"name": row.name, "email": row.email.lower()},
                                    source_file=row.source_file, source_row=row.source_row)
        nomination.content_hash = digest
        session.add(Submission(nomination_id=nomination.id, text=row.text, word_count=word_count(row.text),
                               source_file=row.source_file, source_format=row.source_format, content_hash=digest))
        session.flush()
        report.imported.append(row.learner_id)
    else:
        submission = session.scalar(select(Submission).where(Submission.nomination_id == nomination.id))
        if submission is not None and submission.content_hash == digest:
            report.unchanged.append(row.learner_id)
        elif _has_marks(session, nomination.id):
            report.skipped.append(ImportProblem(row.where, row.learner_id, (
                "this learner's marking has already started, so the changed text or details were not "
                "imported (the marks would no longer match the work). Ask the organiser to open a new cohort "
                "for a resubmission.")))
            return
        else:
            if submission is None:
                submission = Submission(nomination_id=nomination.id)
                session.add(submission)
            submission.text, submission.word_count = row.text, word_count(row.text)
            submission.source_file, submission.source_format = row.source_file, row.source_format
            submission.content_hash = nomination.content_hash = digest
            if nomination.nominee is None:
                nomination.nominee = Nominee()
            nomination.nominee.name, nomination.nominee.email = row.name, row.email.lower()
            nomination.source_file, nomination.source_row = row.source_file, row.source_row
            session.flush()
            report.updated.append(row.learner_id)
    if row.assessor:
        try:
            judge = _ensure_person(session, row.assessor, report.assessors_added)
            _assign(session, round_, nomination, judge, ASSESSOR, f"assessor named in {row.where}")
        except WorkbenchError as exc:
            report.warnings.append(ImportProblem(row.where, row.learner_id, f"assessor not set: {exc}"))


def import_submissions(*, source: str | Path, cohort: str | None = None, rubric: Rubric | str = DEFAULT_RUBRIC,
                       columns: Mapping[str, str] | None = None, sheet: str | None = None,
                       session: Session | None = None, url: str | None = None) -> ImportReport:
    """Import learners' work from a spreadsheet (``.xlsx``/``.xlsm``/``.csv``) or a folder of ``.docx``/``.txt``.

    A spreadsheet has one row per learner: learner ID (or email), name, email, assessor
    (``Name <email>``, an email or a name) and the submission text; see :data:`COLUMN_NAMES`
    (``columns`` names any other header, e.g. ``{"submission": "Essay"}``). In a folder each
    file is one learner and its name (without the extension) is the learner ID; assessors are
    then given with :func:`assign_assessors`. Nothing is dropped silently: see :class:`ImportReport`.
    """
    path = Path(source)
    if not path.exists():
        raise NotFound(f"Nothing at {path}. Give a spreadsheet (.xlsx or .csv) or a folder of .docx/.txt files.")
    if path.is_dir():
        rows, skipped, warnings = read_folder(path)
        if not rows and not skipped:
            raise WorkbenchError(f"The folder {path.name} is empty. Put one .docx or .txt file per learner in it, "
                                 "named with the learner ID (e.g. L0042.docx).")
        return import_learner_rows(rows=rows, source=f"folder {path.name}", cohort=cohort, rubric=rubric,
                                   session=session, url=url, skipped=skipped, warnings=warnings)
    if path.suffix.lower() in SUBMISSION_SUFFIXES:
        raise WorkbenchError(f"{path.name} is a single document. Put the learners' files in one folder, each named "
                             "with the learner ID, and import the folder.")
    rows, skipped, used = read_spreadsheet(path, columns=columns, sheet=sheet)
    report = import_learner_rows(rows=rows, source=path.name, cohort=cohort, rubric=rubric, session=session, url=url,
                                 skipped=skipped)
    report.columns = used
    return report


# ---------------------------------------------------------------------------------------
# Assessors and learners


def _learner(session: Session, round_: Round, ref: str | int) -> Nomination:
    """A learner in the cohort by learner ID, email or reference (N0001)."""
    text = str(ref).strip()
    key = _learner_key(text)
    for nomination in session.scalars(select(Nomination).where(Nomination.round_id == round_.id)
                                      .order_by(Nomination.id)):
        person = nomination.nominee
        if key in {_learner_key(nomination.source_key), nomination.reference.casefold(),
                   (person.email.casefold() if person and person.email else None)}:
            return nomination
    raise NotFound(f"No learner {text!r} in the cohort {round_.name!r}. Use the learner ID as imported "
                   "(list them with `workbench unit learners`).")


@dataclass(frozen=True)
class Allocation:
    learner_id: str
    reference: str
    marker: str
    role: str


def assign_assessors(*, assessors: Sequence[str], learners: Sequence[str] | None = None, cohort: str | None = None,
                     session: Session | None = None, url: str | None = None) -> list[Allocation]:
    """Give learners an assessor, balancing the load; returns who got whom.

    ``assessors`` are ``"Name <email>"``, emails or names (new ones are added). ``learners``
    (IDs) defaults to every learner without an assessor. Learners are taken in reference order
    and each goes to the assessor with the fewest learners so far (ties: the order given). A
    learner whose marking has started keeps their assessor.
    """
    if not assessors:
        raise WorkbenchError("Name at least one assessor, e.g. --assessor 'Morag Fenwick <morag@example.org>'.")
    with _transaction(session, url) as s:
        round_ = _cohort(s, cohort)
        people = [_ensure_person(s, a) for a in assessors]
        if len({p.id for p in people}) != len(people):
            raise WorkbenchError("The same assessor is named twice; name each once.")
        load = Counter(dict(s.execute(
            select(Assignment.judge_id, func.count()).where(Assignment.round_id == round_.id,
                                                            Assignment.role == ASSESSOR, Assignment.status == "active")
            .group_by(Assignment.judge_id)).all()))
        if learners is None:
            targets = [n for n in _cohort_learners(s, round_).values()
                       if n.status == "active" and _active(s, round_.id, n.id, ASSESSOR) is None]
        else:
            targets = [_learner(s, round_, ref) for ref in learners]
        done = []
        for nomination in targets:
            order = sorted(range(len(people)), key=lambda i: (load[people[i].id], i))
            iqa = _active(s, round_.id, nomination.id, IQA)
            order = [i for i in order if iqa is None or people[i].id != iqa.judge_id]
            if not order:
                raise NotAllowed(f"The only assessor named is the IQA for learner {nomination.source_key}; name "
                                 "another assessor.")
            judge = people[order[0]]
            _assign(s, round_, nomination, judge, ASSESSOR, "assigned by the organiser")
            load[judge.id] += 1
            done.append(Allocation(nomination.source_key, nomination.reference, judge.name, ASSESSOR))
        return done


@dataclass(frozen=True)
class Marker:
    id: int
    email: str
    name: str
    role: str
    learners: int
    submitted: int


def cohort_markers(*, cohort: str | None = None, role: str | None = None, session: Session | None = None,
                   url: str | None = None) -> list[Marker]:
    """The assessors and IQAs of a cohort with their workload, sorted by role then name."""
    with _transaction(session, url) as s:
        round_ = _cohort(s, cohort)
        query = (select(Judge.id, Judge.email, Judge.name, Assignment.role, func.count(Assignment.id),
                        func.count(Assignment.submitted_at))
                 .join(Assignment, Assignment.judge_id == Judge.id)
                 .where(Assignment.round_id == round_.id, Assignment.status == "active",
                        Assignment.role.in_(ROLES))
                 .group_by(Judge.id, Judge.email, Judge.name, Assignment.role))
        if role is not None:
            query = query.where(Assignment.role == role)
        markers = [Marker(*row) for row in s.execute(query)]
        return sorted(markers, key=lambda m: (ROLES.index(m.role), m.name.casefold(), m.email))


@dataclass(frozen=True)
class QueueEntry:
    reference: str
    learner_id: str
    name: str
    role: str
    marked: int
    points: int
    submitted: bool

    @property
    def status(self) -> str:
        if self.submitted:
            return "Submitted"
        if self.marked == 0:
            return "Not started"
        return f"In progress: {self.marked} of {self.points} marked"


def marker_queue(*, marker: str, role: str | None = None, cohort: str | None = None, session: Session | None = None,
                 url: str | None = None) -> list[QueueEntry]:
    """The learners a marker has (as assessor, IQA or both), in reference order, with their progress."""
    with _transaction(session, url) as s:
        round_ = _cohort(s, cohort)
        judge = _find_person(s, marker)
        points = len(round_rubric(s, round_, check_file=False).criteria)
        query = (select(Assignment, Nomination).join(Nomination, Nomination.id == Assignment.nomination_id)
                 .where(Assignment.round_id == round_.id, Assignment.judge_id == judge.id,
                        Assignment.status == "active", Assignment.role.in_(ROLES))
                 .order_by(Nomination.id))
        if role is not None:
            query = query.where(Assignment.role == role)
        entries = []
        for assignment, nomination in s.execute(query):
            marked = sum(1 for v in judge_scores(s, round_=round_, judge_id=judge.id,
                                                 nomination_id=nomination.id).values() if v["value"] is not None)
            entries.append(QueueEntry(nomination.reference, nomination.source_key,
                                      nomination.nominee.name if nomination.nominee else "", assignment.role,
                                      marked, points, assignment.submitted_at is not None))
        return entries


# ---------------------------------------------------------------------------------------
# Marking


@dataclass(frozen=True)
class PointMark:
    """One marking point as one marker marked it."""

    criterion: str
    title: str
    text: str
    value: int | None
    label: str
    note: str


@dataclass(frozen=True)
class CheckMark:
    """One rubric check (common misconception) and whether the marker ticked it."""

    check: str
    text: str
    ticked: bool
    note: str


@dataclass(frozen=True)
class MarkingSheet:
    """One marker's marking of one learner, with the counterpart's only when the blind rule allows."""

    cohort: str
    rubric_hash: str
    reference: str
    learner_id: str
    learner_name: str
    role: str
    marker: str
    marker_email: str
    points: tuple[PointMark, ...]
    checks: tuple[CheckMark, ...]
    outcome: str | None
    outcome_reason: str
    submitted: bool
    counterpart: MarkingSheet | None = None
    counterpart_note: str = ""
    submission: str = field(default="", repr=False)
    word_count: int = 0

    def describe(self) -> str:
        state = "submitted" if self.submitted else "not submitted"
        lines = [f"{self.learner_id} marked by {self.marker} ({ROLE_NAMES[self.role]}, {state})"]
        for p in self.points:
            note = f" — {p.note}" if p.note else ""
            lines.append(f"  {p.criterion} {p.title}: {p.label}{note}")
        ticked = [c.check for c in self.checks if c.ticked]
        lines.append(f"  Misconceptions ticked: {', '.join(ticked) or 'none'}")
        lines.append(f"  Outcome: {self.outcome or 'none yet'} ({self.outcome_reason})")
        if self.counterpart is not None:
            other = self.counterpart
            lines.append(f"  {ROLE_NAMES[other.role]} ({other.marker}): " + ", ".join(
                f"{p.criterion} {p.label}" for p in other.points) + f"; outcome {other.outcome or 'none yet'}")
        elif self.counterpart_note:
            lines.append(f"  {self.counterpart_note}")
        return "\n".join(lines)


def _current_checks(session: Session, assignment_id: int) -> dict[str, CheckEvent]:
    newest = (select(func.max(CheckEvent.id)).where(CheckEvent.assignment_id == assignment_id)
              .group_by(CheckEvent.check_id))
    return {e.check_id: e for e in session.scalars(select(CheckEvent).where(CheckEvent.id.in_(newest)))}


def _marks(session: Session, round_: Round, assignment: Assignment) -> dict[str, dict]:
    return judge_scores(session, round_=round_, judge_id=assignment.judge_id, nomination_id=assignment.nomination_id)


def _outcome(rubric: Rubric, scores: Mapping[str, dict]):
    return rubric.outcome_for({c.id: scores.get(c.id, {}).get("value") for c in rubric.criteria})


def _sheet(session: Session, round_: Round, rubric: Rubric, assignment: Assignment, *, viewer: bool = True,
           with_text: bool = False) -> MarkingSheet:
    nomination = assignment.nomination
    scores = _marks(session, round_, assignment)
    ticks = _current_checks(session, assignment.id)
    points = []
    for c in rubric.criteria:
        current = scores.get(c.id, {})
        value = None if current.get("value") is None else int(current["value"])
        label = "Not marked" if value is None else c.scale.label_for(value)
        points.append(PointMark(c.id, c.title, c.text, value, label, current.get("comment", "")))
    checks = tuple(CheckMark(k.id, k.text, bool(ticks[k.id].ticked) if k.id in ticks else False,
                             ticks[k.id].note if k.id in ticks else "") for k in rubric.checks)
    result = _outcome(rubric, scores)
    counterpart, note = None, ""
    if viewer:
        other_role = ASSESSOR if assignment.role == IQA else IQA
        other = _active(session, round_.id, nomination.id, other_role)
        if assignment.role == IQA:
            if assignment.submitted_at is None:
                note = ("The assessor's marks and outcome are hidden until you submit your own marking "
                        "(blind second marking).")
            elif other is not None:
                counterpart = _sheet(session, round_, rubric, other, viewer=False)
        elif other is not None:
            if other.submitted_at is None:
                note = "This learner is in the IQA sample; the IQA's marks appear here once the IQA submits."
            else:
                counterpart = _sheet(session, round_, rubric, other, viewer=False)
    submission = None
    if with_text:
        submission = session.scalar(select(Submission).where(Submission.nomination_id == nomination.id))
    person = nomination.nominee
    return MarkingSheet(
        cohort=round_.name, rubric_hash=rubric.hash, reference=nomination.reference, learner_id=nomination.source_key,
        learner_name=person.name if person else "", role=assignment.role, marker=assignment.judge.name,
        marker_email=assignment.judge.email, points=tuple(points), checks=checks, outcome=result.label,
        outcome_reason=result.reason, submitted=assignment.submitted_at is not None, counterpart=counterpart,
        counterpart_note=note, submission=submission.text if submission else "",
        word_count=submission.word_count if submission else 0,
    )


def _marker_assignment(session: Session, round_: Round, judge: Judge, nomination: Nomination,
                       role: str | None) -> Assignment:
    query = select(Assignment).where(
        Assignment.round_id == round_.id, Assignment.judge_id == judge.id, Assignment.nomination_id == nomination.id,
        Assignment.status == "active", Assignment.role.in_(ROLES))
    if role is not None:
        query = query.where(Assignment.role == role)
    assignment = session.scalar(query)
    if assignment is None:
        what = ROLE_NAMES.get(role, "assessor or IQA") if role else "assessor or IQA"
        raise NotAllowed(f"{judge.name} is not the {what} for learner {nomination.source_key}, so this learner's "
                         "work cannot be opened or marked here. Choose one of your own learners.")
    return assignment


def marking_sheet(*, learner: str, marker: str, role: str | None = None, cohort: str | None = None,
                  session: Session | None = None, url: str | None = None) -> MarkingSheet:
    """A marker's sheet for one of their learners, with the submission text; blind as described above."""
    with _transaction(session, url) as s:
        round_ = _cohort(s, cohort)
        rubric = round_rubric(s, round_, check_file=False)
        assignment = _marker_assignment(s, round_, _find_person(s, marker), _learner(s, round_, learner), role)
        return _sheet(s, round_, rubric, assignment, with_text=True)


def record_marking(*, learner: str, marker: str, marks: Mapping[str, Any] | None = None,
                   notes: Mapping[str, str] | None = None, ticks: Mapping[str, bool] | None = None,
                   tick_notes: Mapping[str, str] | None = None, submit: bool = False, role: str | None = None,
                   rubric_hash: str | None = None, cohort: str | None = None, session: Session | None = None,
                   url: str | None = None) -> MarkingSheet:
    """Save a marker's marks, evidence notes and misconception ticks; with ``submit`` lock them.

    ``marks`` maps a marking point to a level label ("Met") or value (2); ``None`` or "" clears
    it. ``notes`` are evidence notes per marking point, ``ticks`` True/False per check. Only
    what changed is appended (score and check events are never overwritten). ``rubric_hash``
    is the rubric version the marker saw; marking is refused if it has changed. Submitting
    needs every marking point marked.
    """
    marks, notes, ticks, tick_notes = dict(marks or {}), dict(notes or {}), dict(ticks or {}), dict(tick_notes or {})
    with _transaction(session, url) as s:
        round_ = _cohort(s, cohort)
        rubric = round_rubric(s, round_)
        judge = _find_person(s, marker)
        nomination = _learner(s, round_, learner)
        assignment = _marker_assignment(s, round_, judge, nomination, role)
        changes = bool(marks or notes or ticks or tick_notes)
        if assignment.submitted_at is not None and changes:
            raise NotAllowed(f"Your marking of learner {nomination.source_key} is submitted and locked; nothing "
                             "was changed.")
        if rubric_hash is not None and rubric_hash != rubric.hash:
            raise RubricChanged("The rubric changed while you were marking, so nothing was saved. Reload the page "
                                "to see the current marking points, then mark again.")
        known_checks = {k.id for k in rubric.checks}
        unknown = sorted((set(ticks) | set(tick_notes)) - known_checks)
        if unknown:
            raise NotFound(f"The rubric has no check {', '.join(unknown)}; its checks are: "
                           f"{', '.join(sorted(known_checks)) or 'none'}.")
        current = _marks(s, round_, assignment)
        parsed = {c: rubric.parse_score(c, v) for c, v in marks.items()}
        for c in notes:
            rubric.criterion(c)
        for criterion in rubric.criterion_ids:
            if criterion not in parsed and criterion not in notes:
                continue
            before = current.get(criterion, {})
            value = parsed[criterion] if criterion in parsed else before.get("value")
            note = (notes[criterion] if criterion in notes else before.get("comment", "")).strip()
            if before and before.get("value") == value and before.get("comment", "") == note:
                continue
            if not before and value is None and not note:
                continue
            record_score(s, round_=round_, judge_id=judge.id, nomination_id=nomination.id, criterion_id=criterion,
                         value=value, comment=note, rubric_hash=rubric_hash, actor=judge.email,
                         source="unit-marking", check_rubric_file=False)
        now_checks = _current_checks(s, assignment.id)
        for check in sorted(set(ticks) | set(tick_notes)):
            before = now_checks.get(check)
            ticked = bool(ticks[check]) if check in ticks else bool(before and before.ticked)
            note = (tick_notes[check] if check in tick_notes else (before.note if before else "")).strip()
            if (before is None and not ticked and not note) or (
                    before is not None and before.ticked == ticked and before.note == note):
                continue
            s.add(CheckEvent(assignment_id=assignment.id, round_id=round_.id, judge_id=judge.id,
                             nomination_id=nomination.id, check_id=check, ticked=ticked, note=note,
                             rubric_hash=rubric.hash, created_by=judge.email, created_at=utcnow()))
        s.flush()
        if submit and assignment.submitted_at is None:
            scores = _marks(s, round_, assignment)
            missing = [f"{c.id} ({c.title})" for c in rubric.criteria if scores.get(c.id, {}).get("value") is None]
            if missing:
                raise NotAllowed("Mark every marking point before submitting. Still to mark: "
                                 f"{', '.join(missing)}. Nothing was submitted.")
            submit_assignment(s, round_=round_, judge_id=judge.id, nomination_id=nomination.id)
        return _sheet(s, round_, rubric, assignment, with_text=True)


# ---------------------------------------------------------------------------------------
# The cohort at a glance


@dataclass(frozen=True)
class LearnerStatus:
    reference: str
    learner_id: str
    name: str
    assessor: str
    assessor_status: str
    outcome: str | None
    sampled: bool
    iqa: str
    iqa_status: str
    iqa_outcome: str | None


def _status(session: Session, round_: Round, rubric: Rubric, assignment: Assignment | None) -> tuple[str, str | None]:
    if assignment is None:
        return "Not assigned", None
    scores = _marks(session, round_, assignment)
    marked = sum(1 for v in scores.values() if v["value"] is not None)
    if assignment.submitted_at is not None:
        return "Submitted", _outcome(rubric, scores).label
    if marked == 0:
        return "Not started", None
    return f"In progress: {marked} of {len(rubric.criteria)} marked", None


def cohort_status(*, cohort: str | None = None, session: Session | None = None,
                  url: str | None = None) -> list[LearnerStatus]:
    """Every learner: assessor, progress and outcome, whether sampled, the IQA's progress and outcome.

    For organisers (the CLI ``workbench unit learners``); markers use :func:`marker_queue`.
    """
    with _transaction(session, url) as s:
        round_ = _cohort(s, cohort)
        rubric = round_rubric(s, round_, check_file=False)
        rows = []
        for nomination in _cohort_learners(s, round_).values():
            first = _active(s, round_.id, nomination.id, ASSESSOR)
            second = _active(s, round_.id, nomination.id, IQA)
            status, outcome = _status(s, round_, rubric, first)
            iqa_status, iqa_outcome = _status(s, round_, rubric, second) if second else ("", None)
            rows.append(LearnerStatus(
                nomination.reference, nomination.source_key, nomination.nominee.name if nomination.nominee else "",
                first.judge.name if first else "", status, outcome, second is not None,
                second.judge.name if second else "", iqa_status, iqa_outcome))
        return rows


# ---------------------------------------------------------------------------------------
# The IQA sample


@dataclass(frozen=True)
class SampleCandidate:
    """A learner the IQA could sample: their reference, their assessor (email) and the outcome."""

    learner: str
    assessor: str
    outcome: str


@dataclass(frozen=True)
class SamplePick:
    learner: str
    assessor: str
    outcome: str
    reason: str


def _sample_target(percent: float, cohort_size: int) -> int:
    return math.ceil(round(percent * cohort_size / 100.0, 9))


def choose_iqa_sample(candidates: Iterable[SampleCandidate], *, cohort_size: int, seed: int,
                      percent: float = 10.0, already: Collection[str] = ()) -> list[SamplePick]:
    """The learners to add to the IQA sample, by :data:`SAMPLE_RULE`; ``already`` are sampled earlier.

    Pure and reproducible: the same candidates, seed and earlier sample give the same picks.

    >>> frame = [SampleCandidate(f"N{i:04d}", a, o) for i, (a, o) in enumerate(
    ...     [("a@x", "Pass")] * 12 + [("a@x", "Refer")] * 3 + [("b@x", "Pass")] * 15, start=1)]
    >>> picks = choose_iqa_sample(frame, cohort_size=30, seed=4)
    >>> [(p.assessor, p.outcome) for p in picks]
    [('a@x', 'Pass'), ('a@x', 'Refer'), ('b@x', 'Pass')]
    >>> picks == choose_iqa_sample(frame, cohort_size=30, seed=4)
    True
    >>> len(choose_iqa_sample(frame, cohort_size=30, seed=4, percent=20))
    6
    """
    if not 0 < percent <= 100:
        raise WorkbenchError(f"The sample percentage must be more than 0 and at most 100; got {percent:g}.")
    frame = sorted(candidates, key=lambda c: c.learner)
    rng = random.Random(seed)
    sampled = set(already)
    strata: dict[tuple[str, str], list[SampleCandidate]] = defaultdict(list)
    for c in frame:
        strata[(c.assessor, c.outcome)].append(c)
    picks: list[SamplePick] = []
    for (assessor, outcome), members in sorted(strata.items()):
        if any(m.learner in sampled for m in members):
            continue
        choice = rng.choice(members)
        picks.append(SamplePick(choice.learner, assessor, outcome, f"every assessor, every outcome: {outcome} "
                                                                   f"for {assessor}"))
        sampled.add(choice.learner)
    marked = Counter(c.assessor for c in frame)
    target = _sample_target(percent, cohort_size)
    while len(sampled) < target:
        remaining: dict[str, list[SampleCandidate]] = defaultdict(list)
        taken = Counter()
        for c in frame:
            if c.learner in sampled:
                taken[c.assessor] += 1
            else:
                remaining[c.assessor].append(c)
        if not remaining:
            break
        assessor = min(remaining, key=lambda a: (taken[a] / marked[a], a))
        choice = rng.choice(remaining[assessor])
        picks.append(SamplePick(choice.learner, assessor, choice.outcome, f"to reach {percent:g}% of the cohort"))
        sampled.add(choice.learner)
    return picks


@dataclass(frozen=True)
class SampledLearner:
    reference: str
    learner_id: str
    assessor: str
    outcome: str
    iqa: str
    reason: str
    new: bool


@dataclass(frozen=True)
class SampleReport:
    """The IQA sample after a draw: who is in it, why, and how well it covers the cohort."""

    cohort: str
    seed: int
    percent: float
    cohort_size: int
    target: int
    marked: int
    sample: tuple[SampledLearner, ...]
    coverage: dict[str, dict[str, list[int]]]  # assessor -> outcome -> [marked, sampled]
    rule: str

    @property
    def shortfall(self) -> int:
        return max(0, self.target - len(self.sample))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["shortfall"] = self.shortfall
        return data

    def describe(self) -> str:
        new = sum(1 for x in self.sample if x.new)
        lines = [f"IQA sample for {self.cohort!r} (seed {self.seed}): {len(self.sample)} of {self.cohort_size} "
                 f"learners ({new} new in this draw); at least {self.target} needed for {self.percent:g}%."]
        for x in self.sample:
            lines.append(f"  {x.learner_id} [{x.reference}] assessor {x.assessor}, {x.outcome} -> IQA {x.iqa} "
                         f"({x.reason})")
        lines.append("Coverage (sampled of marked):")
        for assessor, outcomes in self.coverage.items():
            lines.append(f"  {assessor}: " + ", ".join(f"{o} {n[1]} of {n[0]}" for o, n in outcomes.items()))
        if self.marked < self.cohort_size:
            lines.append(f"{self.cohort_size - self.marked} learner(s) are not marked yet, so they could not be "
                         "sampled; draw again when their marking is submitted (the sample so far is kept).")
        if self.shortfall:
            lines.append(f"The sample is {self.shortfall} short of {self.percent:g}% because too few learners are "
                         "marked yet.")
        lines.append(self.rule)
        return "\n".join(lines)


def draw_iqa_sample(*, iqa: Sequence[str], seed: int, percent: float = 10.0, cohort: str | None = None,
                    actor: str = "", session: Session | None = None, url: str | None = None) -> SampleReport:
    """Draw (or top up) the IQA sample by :data:`SAMPLE_RULE` and give each sampled learner to an IQA.

    ``iqa`` are the second markers (``"Name <email>"``, emails or names; new ones are added).
    The draw, with its seed and rule, is written to the audit trail.
    """
    if not iqa:
        raise WorkbenchError("Name at least one IQA, e.g. --iqa 'Ifeoma Quinn <ifeoma@example.org>'.")
    with _transaction(session, url) as s:
        round_ = _cohort(s, cohort)
        rubric = round_rubric(s, round_, check_file=False)
        people = [_ensure_person(s, p) for p in iqa]
        learners = [n for n in _cohort_learners(s, round_).values() if n.status == "active"]
        by_reference = {n.reference: n for n in learners}
        candidates, first_marker, outcome_of = [], {}, {}
        already: dict[str, Assignment] = {}
        for n in learners:
            first = _active(s, round_.id, n.id, ASSESSOR)
            second = _active(s, round_.id, n.id, IQA)
            if second is not None:
                already[n.reference] = second
            if first is None or first.submitted_at is None:
                continue
            outcome = _outcome(rubric, _marks(s, round_, first)).label
            first_marker[n.reference] = first.judge
            outcome_of[n.reference] = outcome
            candidates.append(SampleCandidate(n.reference, first.judge.email, outcome))
        picks = choose_iqa_sample(candidates, cohort_size=len(learners), seed=seed, percent=percent,
                                  already=set(already))
        load = Counter({p.id: 0 for p in people})
        for assignment in already.values():
            load[assignment.judge_id] += 1
        reasons = {}
        for pick in picks:
            nomination = by_reference[pick.learner]
            order = [p for p in sorted(people, key=lambda p: (load[p.id], people.index(p)))
                     if p.id != first_marker[pick.learner].id]
            if not order:
                raise WorkbenchError(f"{people[0].name} is the only IQA named and is the assessor of learner "
                                     f"{nomination.source_key}; name another IQA. Nothing was sampled.")
            already[pick.learner] = _assign(s, round_, nomination, order[0], IQA, f"IQA sample: {pick.reason}")
            load[order[0].id] += 1
            reasons[pick.learner] = pick.reason
        rule = SAMPLE_RULE.format(percent=percent)
        s.add(AuditEvent(round_id=round_.id, action="iqa-sample", actor=actor, detail={
            "seed": seed, "percent": percent, "rule": rule,
            "picks": [{"learner": p.learner, "assessor": p.assessor, "outcome": p.outcome, "reason": p.reason}
                      for p in picks]}))
        s.flush()
        sample = []
        for reference in sorted(already):
            n, assignment = by_reference.get(reference), already[reference]
            if n is None:
                continue
            assessor = first_marker.get(reference)
            sample.append(SampledLearner(
                reference, n.source_key, assessor.name if assessor else "", outcome_of.get(reference) or "",
                assignment.judge.name, reasons.get(reference) or assignment.reason.removeprefix("IQA sample: "),
                reference in reasons))
        coverage: dict[str, dict[str, list[int]]] = {}
        for c in sorted(candidates, key=lambda c: (first_marker[c.learner].name, c.outcome)):
            cell = coverage.setdefault(first_marker[c.learner].name, {}).setdefault(c.outcome, [0, 0])
            cell[0] += 1
            cell[1] += c.learner in already
        return SampleReport(round_.name, seed, percent, len(learners), _sample_target(percent, len(learners)),
                            len(candidates), tuple(sample), coverage, rule)


# ---------------------------------------------------------------------------------------
# Assessor–IQA agreement


@dataclass(frozen=True)
class PointAgreement:
    """Agreement on one marking point (or all pooled); each statistic is ``(value, note)``."""

    criterion: str
    title: str
    pairs: int
    exact: tuple[float | None, str | None]
    within_one: tuple[float | None, str | None]
    kappa: tuple[float | None, str | None]
    alpha: tuple[float | None, str | None]


@dataclass(frozen=True)
class Disagreement:
    reference: str
    learner_id: str
    item: str  # a marking point, a check, or "outcome"
    assessor: str
    iqa: str


@dataclass(frozen=True)
class AgreementReport:
    cohort: str
    compared: int
    pending: tuple[str, ...]
    points: tuple[PointAgreement, ...]
    pooled: PointAgreement
    outcome_exact: tuple[float | None, str | None]
    outcome_kappa: tuple[float | None, str | None]
    checks: tuple[PointAgreement, ...]
    disagreements: tuple[Disagreement, ...]
    method: str = AGREEMENT_METHOD

    def to_dict(self) -> dict[str, Any]:
        def stat(pair):
            return {"value": pair[0], "note": pair[1]}

        def point(p: PointAgreement):
            return {"criterion": p.criterion, "title": p.title, "pairs": p.pairs, "exact": stat(p.exact),
                    "within_one": stat(p.within_one), "kappa": stat(p.kappa), "alpha": stat(p.alpha)}

        return {"cohort": self.cohort, "compared": self.compared, "pending": list(self.pending),
                "points": [point(p) for p in self.points], "pooled": point(self.pooled),
                "outcome": {"exact": stat(self.outcome_exact), "kappa": stat(self.outcome_kappa)},
                "checks": [{"check": c.criterion, "pairs": c.pairs, "exact": stat(c.exact), "kappa": stat(c.kappa)}
                           for c in self.checks],
                "disagreements": [asdict(d) for d in self.disagreements], "method": self.method}

    def describe(self) -> str:
        def show(pair, percent=False):
            if pair[0] is None:
                return "—"
            return f"{100 * pair[0]:.0f}%" if percent else f"{pair[0]:.2f}"

        lines = [f"Assessor–IQA agreement for {self.cohort!r}: {self.compared} learner(s) second-marked."]
        if self.pending:
            lines.append(f"Waiting for marking: {', '.join(self.pending)}.")
        lines.append(f"  {'Marking point':<48} {'n':>3} {'exact':>6} {'±1':>6} {'kappa':>6} {'alpha':>6}")
        for p in (*self.points, self.pooled):
            name = f"{p.criterion} {p.title}"[:48]
            lines.append(f"  {name:<48} {p.pairs:>3} {show(p.exact, True):>6} {show(p.within_one, True):>6} "
                         f"{show(p.kappa):>6} {show(p.alpha):>6}")
        lines.append(f"  Outcome (Pass/Refer): exact {show(self.outcome_exact, True)}, "
                     f"kappa {show(self.outcome_kappa)}")
        for c in self.checks:
            lines.append(f"  Misconception {c.criterion}: exact {show(c.exact, True)}, kappa {show(c.kappa)}")
        notes = sorted({n for p in (*self.points, self.pooled, *self.checks) for _, n in
                        (p.exact, p.within_one, p.kappa, p.alpha) if n} |
                       {n for _, n in (self.outcome_exact, self.outcome_kappa) if n})
        lines += [f"  Note: {n}" for n in notes]
        if self.disagreements:
            lines.append("Disagreements:")
            lines += [f"  {d.learner_id} [{d.reference}] {d.item}: assessor {d.assessor}, IQA {d.iqa}"
                      for d in self.disagreements]
        lines.append(self.method)
        return "\n".join(lines)


def _pair(stat) -> tuple[float | None, str | None]:
    return (None if stat.value is None else round(float(stat.value), 12), stat.note)


def _point_agreement(criterion: str, title: str, table: list[list[float]], scale: Sequence[int]) -> PointAgreement:
    if not table:
        empty = (None, "No learner has been marked by both the assessor and the IQA yet.")
        return PointAgreement(criterion, title, 0, empty, empty, empty, empty)
    values = np.asarray(scale, dtype=float)
    within = (np.abs(np.subtract.outer(values, values)) <= 1).astype(float)
    return PointAgreement(
        criterion, title, len(table),
        _pair(percent_agreement(table, scale=scale)),
        _pair(percent_agreement(table, weights=within, scale=scale)),
        _pair(cohen_kappa(table, weights="linear", scale=scale)),
        _pair(krippendorff_alpha(table, level="ordinal", scale=scale)),
    )


def _binary_agreement(item: str, title: str, table: list[list[Any]], scale: Sequence[Any]) -> PointAgreement:
    if not table:
        empty = (None, "No learner has been marked by both the assessor and the IQA yet.")
        return PointAgreement(item, title, 0, empty, empty, empty, empty)
    none = (None, None)  # not computed for a yes/no item
    return PointAgreement(item, title, len(table), _pair(percent_agreement(table, scale=scale)), none,
                          _pair(cohen_kappa(table, scale=scale)), none)


def agreement_report(*, cohort: str | None = None, session: Session | None = None,
                     url: str | None = None) -> AgreementReport:
    """How far the IQA agrees with the assessors on the sampled learners; see :data:`AGREEMENT_METHOD`."""
    with _transaction(session, url) as s:
        round_ = _cohort(s, cohort)
        rubric = round_rubric(s, round_, check_file=False)
        scale = rubric.criteria[0].scale.values
        per_point: dict[str, list[list[float]]] = {c.id: [] for c in rubric.criteria}
        per_check: dict[str, list[list[int]]] = {k.id: [] for k in rubric.checks}
        outcomes: list[list[str]] = []
        pending, disagreements = [], []
        for n in _cohort_learners(s, round_).values():
            second = _active(s, round_.id, n.id, IQA)
            if second is None:
                continue
            first = _active(s, round_.id, n.id, ASSESSOR)
            if first is None or first.submitted_at is None or second.submitted_at is None:
                pending.append(n.source_key)
                continue
            a, b = _marks(s, round_, first), _marks(s, round_, second)
            for c in rubric.criteria:
                x, y = a[c.id]["value"], b[c.id]["value"]
                per_point[c.id].append([x, y])
                if x != y:
                    disagreements.append(Disagreement(n.reference, n.source_key, c.id, c.scale.label_for(x),
                                                      c.scale.label_for(y)))
            ta, tb = _current_checks(s, first.id), _current_checks(s, second.id)
            for k in rubric.checks:
                x, y = int(bool(ta.get(k.id) and ta[k.id].ticked)), int(bool(tb.get(k.id) and tb[k.id].ticked))
                per_check[k.id].append([x, y])
                if x != y:
                    disagreements.append(Disagreement(n.reference, n.source_key, k.id, "ticked" if x else "not ticked",
                                                      "ticked" if y else "not ticked"))
            oa, ob = _outcome(rubric, a).label, _outcome(rubric, b).label
            outcomes.append([oa, ob])
            if oa != ob:
                disagreements.append(Disagreement(n.reference, n.source_key, "outcome", oa, ob))
        points = tuple(_point_agreement(c.id, c.title, per_point[c.id], scale) for c in rubric.criteria)
        pooled = _point_agreement("All", "all marking points pooled", [r for c in rubric.criteria
                                                                        for r in per_point[c.id]], scale)
        labels = [rubric.outcome.fail_label, rubric.outcome.pass_label]
        outcome = _binary_agreement("outcome", "Pass or Refer", outcomes, labels)
        checks = tuple(_binary_agreement(k.id, k.text, per_check[k.id], [0, 1]) for k in rubric.checks)
        return AgreementReport(round_.name, len(outcomes), tuple(pending), points, pooled, outcome.exact, outcome.kappa,
                               checks, tuple(disagreements))


# ---------------------------------------------------------------------------------------
# Feedback to learners (rendered by workbench.feedback)


def learner_feedback(*, learner: str, cohort: str | None = None, session: Session | None = None,
                     url: str | None = None) -> LearnerFeedback:
    """The feedback for one learner, from the assessor's submitted marking."""
    with _transaction(session, url) as s:
        round_ = _cohort(s, cohort)
        nomination = _learner(s, round_, learner)
        return _feedback(s, round_, round_rubric(s, round_, check_file=False), nomination)


def _feedback(session: Session, round_: Round, rubric: Rubric, nomination: Nomination) -> LearnerFeedback:
    first = _active(session, round_.id, nomination.id, ASSESSOR)
    if first is None or first.submitted_at is None:
        raise NotAllowed(f"Learner {nomination.source_key} has no submitted marking yet, so there is no feedback "
                         "to give.")
    sheet = _sheet(session, round_, rubric, first, viewer=False)
    points = []
    for mark in sheet.points:
        criterion = rubric.criterion(mark.criterion)
        level = next(lv for lv in criterion.scale.levels if lv.value == mark.value)
        points.append(FeedbackPoint(mark.criterion, mark.title, mark.text, mark.label, " ".join(level.descriptor.split()),
                                    mark.note))
    advice = tuple(FeedbackAdvice(c.check, " ".join(c.text.split()), c.note) for c in sheet.checks if c.ticked)
    rule = rubric.outcome
    work_on = ()
    if rule is not None and rule.rule == "all-at-least":
        work_on = tuple(f"{p.criterion} {p.title}" for p in sheet.points if p.value < rule.threshold)
    return LearnerFeedback(
        cohort=round_.name, unit=rubric.title, learner_id=sheet.learner_id, learner_name=sheet.learner_name,
        assessor=sheet.marker, outcome=sheet.outcome or "", outcome_reason=sheet.outcome_reason,
        rule=describe_rule(rubric), points=tuple(points), advice=advice,
        guidance=tuple(" ".join(g.split()) for g in rubric.guidance),
        marked_at=first.submitted_at.astimezone(timezone.utc).replace(microsecond=0), work_on=work_on,
    )


@dataclass(frozen=True)
class FeedbackExport:
    written: tuple[str, ...]  # file names, in learner order
    skipped: tuple[ImportProblem, ...]

    def describe(self) -> str:
        lines = [f"{len(self.written)} feedback file(s) written."]
        if self.skipped:
            lines.append("No feedback yet for:")
            lines += [f"  - {p.learner}: {p.message}" for p in self.skipped]
        return "\n".join(lines)


def _file_stem(learner_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", learner_id).strip("-._")[:80] or "learner"


def export_feedback(*, out: str | Path, formats: Sequence[str] = ("docx",), learners: Sequence[str] | None = None,
                    cohort: str | None = None, session: Session | None = None,
                    url: str | None = None) -> FeedbackExport:
    """Write ``feedback-<learner id>.docx`` / ``.xlsx`` for each learner whose marking is submitted.

    Learners not yet marked are listed in ``skipped``, never silently missing. A file is
    written whole or not at all (written to a temporary name, then renamed).
    """
    unknown = [f for f in formats if f not in FEEDBACK_FORMATS]
    if unknown or not formats:
        raise WorkbenchError(f"Feedback formats are {', '.join(FEEDBACK_FORMATS)}; got {', '.join(unknown) or 'none'}.")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written, skipped = [], []
    with _transaction(session, url) as s:
        round_ = _cohort(s, cohort)
        rubric = round_rubric(s, round_, check_file=False)
        if learners is None:
            chosen = [n for n in _cohort_learners(s, round_).values() if n.status == "active"]
        else:
            chosen = [_learner(s, round_, ref) for ref in learners]
        stems = Counter(_file_stem(n.source_key).casefold() for n in chosen)
        for nomination in chosen:
            try:
                feedback = _feedback(s, round_, rubric, nomination)
            except NotAllowed:
                skipped.append(ImportProblem(nomination.reference, nomination.source_key,
                                             "the assessor has not submitted the marking yet."))
                continue
            stem = _file_stem(nomination.source_key)
            if stems[stem.casefold()] > 1:
                stem = f"{stem}-{nomination.reference}"
            for fmt in formats:
                target = out / f"feedback-{stem}.{fmt}"
                partial = target.with_name(target.name + ".partial")
                partial.write_bytes(FEEDBACK_FORMATS[fmt](feedback))
                partial.replace(target)
                written.append(target.name)
    return FeedbackExport(tuple(written), tuple(skipped))


# ---------------------------------------------------------------------------------------
# Synthetic learners (for tests and the demo): fictional people, varied text

_FIRST = ["Aisha", "Ben", "Carys", "Deepak", "Ewa", "Femi", "Gwen", "Hassan", "Imogen", "Jonah", "Kemi", "Liam",
          "Maya", "Niall", "Oksana", "Parveen", "Quentin", "Rosa", "Sanjay", "Tegan", "Umar", "Violet", "Wiktor",
          "Xin", "Yasmin", "Zac"]
_LAST = ["Abara", "Brennan", "Chowdhury", "Dunmore", "Eriksen", "Fofana", "Gallagher", "Hughes", "Ibekwe",
         "Jankowski", "Kaur", "Lindqvist", "McAllister", "Nwosu", "O'Dowd", "Pereira", "Quayle", "Rahimi",
         "Sutherland", "Thorne", "Uddin", "Vasquez", "Whitlock", "Yeboah", "Zielinski"]
DEMO_ASSESSORS = ("Morag Fenwick <morag.fenwick@example.org>", "Dami Oyelaran <dami.oyelaran@example.org>",
                  "Henrik Lund <henrik.lund@example.org>")
DEMO_IQA = "Ifeoma Quinn <ifeoma.quinn@example.org>"
DEMO_COHORT = "EDI unit (demo)"
DEMO_SEED = 7

_SETTINGS = ["the dementia care unit", "our supported living service", "the community nursing team",
             "a children's short-break service", "the hospital discharge team", "a residential home for older people",
             "the learning disability day service", "the reablement team"]
_PEOPLE = ["Mrs A", "Mr K", "Ms T", "Mr O", "Mrs D", "J"]
_BANK: dict[str, list[list[str]]] = {
    "MP1": [
        ["I know there are laws about equality but the main thing is to be nice to everyone.",
         "Legislation is mostly for managers and HR, so I leave it to them."],
        ["The Equality Act 2010 protects nine characteristics, such as age, disability, race and religion.",
         "The Human Rights Act 1998 gives everyone rights, for example the right to respect for private and "
         "family life.", "There are laws like the Equality Act and the Human Rights Act that services must follow."],
        ["In {setting} I applied the Equality Act 2010 duty to make reasonable adjustments when {person} needed "
         "information in an easy-read format before agreeing to a change of medication.",
         "When {person} asked for a carer of the same sex for personal care, I used Article 8 of the Human Rights Act 1998 "
         "to rework the rota so that their privacy and dignity were respected.",
         "I checked our admissions criteria in {setting} against the Equality Act 2010 and removed a question about "
         "age that could have been indirect discrimination."],
        ["I reviewed our visiting policy in {setting} against the Human Rights Act 1998 and the Public Sector "
         "Equality Duty; complaints about access fell from {a} to {b} in six months after the change.",
         "Reflecting on the case of {person}, I weighed the Equality Act 2010 duty to adjust against the cost to the "
         "service, and could evidence why the adjustment was reasonable, which I then shared with other managers."],
    ],
    "MP2": [
        ["I would challenge discrimination if I ever saw it.", "Diversity is important and I respect everyone."],
        ["I encourage my team to be inclusive and respectful to each other.",
         "I talk about equality in team meetings from time to time."],
        ["I led {n} training sessions on unconscious bias for the staff in {setting}.",
         "When a colleague mocked a service user's accent, I challenged it at the time and followed it up in "
         "supervision.", "I started a monthly learning slot where staff share their own cultures and faiths."],
        ["After the training I led, {pct}% of staff in the follow-up survey said they felt confident to challenge "
         "discriminatory remarks, up from {pct2}% before.",
         "I set up reciprocal mentoring between senior staff and care workers from minority ethnic backgrounds; "
         "two mentees have since been promoted and the scheme is now trust-wide."],
    ],
    "MP3": [
        ["We have an equality policy that everybody signs when they start.",
         "Our service already has policies, so no new system was needed."],
        ["I think an equality impact assessment would help our service in future.",
         "I suggested a consultation with families, but it has not happened yet."],
        ["I introduced an equality impact assessment step for every rota and policy change in {setting}, because "
         "changes were being made without thinking about staff with caring responsibilities. The plan had three "
         "stages: a pilot, training for shift leaders, and a review at three months.",
         "I set up a consultation group of service users and staff to review our complaints process, with a clear "
         "rationale and an implementation plan agreed with my manager."],
        ["The impact assessment process was co-produced with service users and staff; we audit it every quarter and "
         "the last audit showed {pct}% of changes now have a completed assessment.",
         "I evaluate the consultation group every six months against agreed measures, and it has changed two "
         "policies, including our interpreter booking process."],
    ],
    "MP4": [
        ["If someone is at risk we stop them doing the activity, because safety always comes first.",
         "Service users sign a form to say they accept the risk, and then it is their choice."],
        ["We do risk assessments for all residents and review them every year.",
         "I always think about safeguarding when planning care."],
        ["When {person} wanted to go to the shops alone, I completed a risk assessment with them, considering my "
         "duty of care and safeguarding, and we agreed the least restrictive option: a mobile phone and an agreed "
         "route.", "I balanced {person}'s right to make an unwise decision with our safeguarding duties, and recorded "
         "the capacity assessment and the decision in the care plan."],
        ["Reflecting on positive risk-taking with {person}, I reviewed the plan after a month with them and their "
         "family; incidents stayed at zero and they now travel independently twice a week.",
         "I weighed the Mental Capacity Act 2005 principles against the risks and chose the least restrictive "
         "option, then evaluated it with the team so that similar decisions are now made more consistently."],
    ],
}
_MISCONCEPTION = {
    "MC1": "Equality means treating everyone exactly the same, so nobody gets special treatment in my team.",
    "MC2": "I know the difference between direct, indirect and institutional discrimination from my course notes.",
    "MC3": "I wrote the new policy myself over a weekend so that it was ready quickly.",
    "MC4": "To keep people safe we lock the kitchen, and nobody goes out without a member of staff.",
}
_OPENINGS = ["In this assignment I reflect on my role as {role} in {setting}.",
             "I am {role} in {setting}, and this account draws on the last year of my practice.",
             "This reflective account describes how I lead equality, diversity and inclusion as {role}."]
_ROLES = ["the registered manager", "a deputy manager", "a team leader", "a senior support worker", "the unit lead"]


@dataclass(frozen=True)
class SyntheticLearner:
    learner_id: str
    name: str
    email: str
    assessor: str
    text: str
    levels: dict[str, int]
    misconceptions: tuple[str, ...]


def synthetic_submissions(*, count: int = 24, seed: int = DEMO_SEED,
                          assessors: Sequence[str] = DEMO_ASSESSORS) -> list[SyntheticLearner]:
    """Fictional learners with varied written work; ``levels`` is the level the text was written at."""
    rng = random.Random(seed)
    names = rng.sample([f"{f} {l}" for f in _FIRST for l in _LAST], count)
    learners = []
    for i in range(count):
        ability = rng.choice([1, 2, 2, 2, 3, 3])
        levels = {mp: max(0, min(3, ability + rng.choice([-1, 0, 0, 1]))) for mp in _BANK}
        fill = {"setting": rng.choice(_SETTINGS), "person": rng.choice(_PEOPLE), "n": rng.randint(3, 12),
                "pct": rng.randint(60, 92), "pct2": rng.randint(20, 55), "a": rng.randint(9, 20),
                "b": rng.randint(1, 6), "role": rng.choice(_ROLES)}
        paragraphs = [rng.choice(_OPENINGS).format(**fill)]
        misconceptions = []
        for mp, level in levels.items():
            sentences = rng.sample(_BANK[mp][level], k=min(len(_BANK[mp][level]), rng.randint(1, 2)))
            if level == 3:
                sentences = rng.sample(_BANK[mp][2], k=1) + sentences
            paragraphs.append(" ".join(s.format(**fill) for s in sentences))
        for mc, mp in (("MC1", "MP1"), ("MC2", "MP2"), ("MC3", "MP3"), ("MC4", "MP4")):
            if levels[mp] <= 1 and rng.random() < 0.7:
                paragraphs.append(_MISCONCEPTION[mc])
                misconceptions.append(mc)
        name = names[i]
        email = f"{_slug(name, 40).replace('-', '.')}@learners.example.org"
        learners.append(SyntheticLearner(f"L{i + 1:04d}", name, email, assessors[i % len(assessors)],
                                         "\n\n".join(paragraphs), levels, tuple(misconceptions)))
    return learners


@dataclass(frozen=True)
class UnitDemo:
    cohort: str
    learners: int
    assessors: int
    sampled: int

    def describe(self) -> str:
        return (f"Demo cohort {self.cohort!r}: {self.learners} fictional learners marked by {self.assessors} "
                f"assessors; {self.sampled} second-marked by the IQA. Nobody in it is real.")


def build_unit_demo(*, url: str | None = None, seed: int = DEMO_SEED, count: int = 24) -> UnitDemo:
    """A marked demo cohort: import, assessor marking, IQA sample and blind second marking."""
    rng = random.Random(seed)
    people = synthetic_submissions(count=count, seed=seed)
    rows = [LearnerRow(p.learner_id, p.text, p.name, p.email, p.assessor, where=p.learner_id, source_format="demo")
            for p in people]
    import_learner_rows(rows=rows, source="synthetic demo", cohort=DEMO_COHORT, url=url)
    rubric = load_rubric(DEFAULT_RUBRIC)
    notes = {"MP1": "See the paragraph on legislation.", "MP2": "See the account of leading change.",
             "MP3": "See the description of the system introduced.", "MP4": "See the risk and rights example."}

    def marks_for(levels: Mapping[str, int], spread: float) -> dict[str, int]:
        return {mp: max(0, min(3, v + (rng.choice([-1, 1]) if rng.random() < spread else 0)))
                for mp, v in levels.items()}

    for p in people:
        given = marks_for(p.levels, 0.2)
        record_marking(learner=p.learner_id, marker=p.assessor, cohort=DEMO_COHORT, url=url, submit=True,
                       marks={mp: rubric.criterion(mp).scale.label_for(v) for mp, v in given.items()},
                       notes={mp: f"{notes[mp]} Level {rubric.criterion(mp).scale.label_for(v)}."
                              for mp, v in given.items()},
                       ticks={mc: True for mc in p.misconceptions})
    sample = draw_iqa_sample(iqa=[DEMO_IQA], seed=seed, cohort=DEMO_COHORT, url=url, actor="demo")
    by_id = {p.learner_id: p for p in people}
    for x in sample.sample:
        p = by_id[x.learner_id]
        given = marks_for(p.levels, 0.15)
        record_marking(learner=p.learner_id, marker=DEMO_IQA, cohort=DEMO_COHORT, url=url, submit=True,
                       marks={mp: rubric.criterion(mp).scale.label_for(v) for mp, v in given.items()},
                       ticks={mc: True for mc in p.misconceptions})
    return UnitDemo(DEMO_COHORT, count, len(DEMO_ASSESSORS), len(sample.sample))
