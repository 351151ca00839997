"""Rounds, judges and nominations: the service functions every front end calls.

>>> from workbench.store import session_scope
>>> from workbench.rubric import load_rubric
>>> with session_scope("sqlite://") as s:
...     r = create_round(s, name="Doctest 2026", rubric=load_rubric("inclusive-leader"))
...     j = add_judge(s, name="Ada Lovelace", email="ada@example.org")
...     (r.judges_per_nomination, j.email)
(3, 'ada@example.org')
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workbench.errors import NotFound, WorkbenchError
from workbench.rubric import Rubric, RubricChanged, load_rubric, rubric_from_document
from workbench.store import (
    Answer,
    Assignment,
    AuditEvent,
    Conflict,
    EqualityAnswer,
    Judge,
    Nomination,
    Nominee,
    Round,
    RubricVersion,
    ScoreEvent,
)

NOMINEE_FIELDS = ("name", "email", "job_title", "organisation", "team", "nominator_name", "nominator_email")


def register_rubric(session: Session, *, rubric: Rubric) -> RubricVersion:
    """Store this exact rubric version (by content hash); a no-op when already stored."""
    version = session.get(RubricVersion, rubric.hash)
    if version is None:
        version = RubricVersion(hash=rubric.hash, rubric_id=rubric.id, title=rubric.title,
                                document=dict(rubric.document))
        session.add(version)
        session.flush()
    return version


def create_round(
    session: Session,
    *,
    name: str,
    rubric: Rubric,
    judges_per_nomination: int = 3,
    blind: bool = True,
    show_panel_after_submit: bool = False,
    settings: Mapping | None = None,
) -> Round:
    """Open a judging round on one rubric version."""
    name = name.strip()
    if not name:
        raise WorkbenchError("A round needs a name, e.g. 'Inclusive Leader 2026'.")
    if judges_per_nomination < 1:
        raise WorkbenchError("Each nomination needs at least one judge (judges per nomination must be 1 or more).")
    if session.scalar(select(Round).where(Round.name == name)) is not None:
        raise WorkbenchError(f"There is already a round called {name!r}; choose another name.")
    version = register_rubric(session, rubric=rubric)
    round_ = Round(name=name, rubric_hash=version.hash, judges_per_nomination=judges_per_nomination,
                   blind=blind, show_panel_after_submit=show_panel_after_submit, settings=dict(settings or {}))
    session.add(round_)
    session.flush()
    return round_


def get_round(session: Session, name: str | None = None) -> Round:
    """A round by name; without a name, the newest award-judging round (not a unit-marking cohort)."""
    if name is None:
        for round_ in session.scalars(select(Round).order_by(Round.id.desc())):
            if (round_.settings or {}).get("mode") != "unit-marking":
                return round_
        raise NotFound("There are no judging rounds yet. Import nominations or run `workbench demo` first.")
    round_ = session.scalar(select(Round).where(Round.name == name))
    if round_ is None:
        names = session.scalars(select(Round.name).order_by(Round.id)).all()
        known = ", ".join(repr(n) for n in names) or "none yet"
        raise NotFound(f"No round called {name!r}. Rounds: {known}.")
    return round_


_STORED_RUBRICS: dict[str, Rubric] = {}


def round_rubric(session: Session, round_: Round, *, check_file: bool = True) -> Rubric:
    """The rubric version the round is judged on.

    With ``check_file`` the rubric file on disk is compared with the stored version: an
    edit made mid-round is refused (:class:`RubricChanged`) until the round is migrated.
    """
    stored = _STORED_RUBRICS.get(round_.rubric_hash)
    if stored is None:  # parsed once per process: a stored version never changes (its hash is its content)
        stored = rubric_from_document(round_.rubric_version.document, file=f"round {round_.name!r}")
        _STORED_RUBRICS[stored.hash] = stored
    if check_file:
        try:
            on_disk = load_rubric(stored.id)
        except NotFound:
            return stored
        if on_disk.hash != stored.hash:
            raise RubricChanged(
                f"The rubric file for {stored.id!r} has been edited since round {round_.name!r} started "
                f"(stored version {stored.hash[:12]}, file now {on_disk.hash[:12]}). Undo the edit, or run "
                f"`workbench round migrate-rubric --round {round_.name!r}` to move the round to the new version."
            )
    return stored


def migrate_round_rubric(session: Session, *, round_: Round, rubric: Rubric, actor: str, reason: str) -> Round:
    """Move a round to a new rubric version, explicitly and on the record.

    Refused when scores already given would no longer fit: a scored criterion removed, or a
    scored value now off its scale.
    """
    if not reason.strip():
        raise WorkbenchError("Say why the rubric is being changed mid-round; the reason goes in the audit trail.")
    old = round_rubric(session, round_, check_file=False)
    scored = session.execute(
        select(ScoreEvent.criterion_id, func.min(ScoreEvent.value), func.max(ScoreEvent.value))
        .where(ScoreEvent.round_id == round_.id, ScoreEvent.value.is_not(None))
        .group_by(ScoreEvent.criterion_id)
    ).all()
    problems = []
    new_ids = set(rubric.criterion_ids)
    for criterion_id, low, high in scored:
        if criterion_id not in new_ids:
            problems.append(f"{criterion_id} has scores but is not in the new rubric")
            continue
        scale = rubric.criterion(criterion_id).scale
        if low < scale.min or high > scale.max:
            problems.append(f"{criterion_id} has scores from {low:g} to {high:g}, outside the new scale {scale.describe()}")
    if problems:
        raise WorkbenchError("The rubric cannot be migrated: " + "; ".join(problems) + ".")
    register_rubric(session, rubric=rubric)
    session.add(AuditEvent(round_id=round_.id, action="rubric-migrated", actor=actor,
                           detail={"from": old.hash, "to": rubric.hash, "reason": reason}))
    round_.rubric_hash = rubric.hash
    session.flush()
    session.refresh(round_)
    return round_



def add_judge(session: Session, *, name: str, email: str, organisation: str = "") -> Judge:
    """Register a judge, or update the name and organisation of one with the same email."""
    email = email.strip().lower()
    if "@" not in email:
        raise WorkbenchError(f"{email!r} is not an email address; each judge needs one to be told apart.")
    judge = session.scalar(select(Judge).where(Judge.email == email))
    if judge is None:
        judge = Judge(name=name.strip(), email=email, organisation=organisation.strip())
        session.add(judge)
    else:
        judge.name, judge.organisation = name.strip(), organisation.strip()
    session.flush()
    return judge


def get_judge(session: Session, ref: int | str) -> Judge:
    """A judge by id or email."""
    judge = session.get(Judge, int(ref)) if str(ref).isdigit() else session.scalar(
        select(Judge).where(Judge.email == str(ref).strip().lower()))
    if judge is None:
        raise NotFound(f"No judge {ref!r}. List judges with `workbench judges`.")
    return judge



def answers_hash(answers: Mapping[str, str], nominee: Mapping[str, str], equality: Mapping[str, str]) -> str:
    payload = json.dumps([dict(answers), dict(nominee), dict(equality)], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def add_nomination(
    session: Session,
    *,
    round_: Round,
    source_key: str,
    answers: Mapping[str, str],
    nominee: Mapping[str, str] | None = None,
    equality: Mapping[str, str] | None = None,
    submitted_at: datetime | None = None,
    category: str | None = None,
    source_file: str | None = None,
    source_row: int | None = None,
    extra: Mapping | None = None,
    status: str = "active",
) -> Nomination:
    """Add a nomination with its answers, identity and equality answers kept apart."""
    rubric = round_rubric(session, round_, check_file=False)
    unknown = sorted(set(answers) - set(rubric.criterion_ids))
    if unknown:
        raise WorkbenchError(f"Answers given for questions not in the rubric: {', '.join(unknown)}.")
    nominee = dict(nominee or {})
    bad = sorted(set(nominee) - set(NOMINEE_FIELDS))
    if bad:
        raise WorkbenchError(f"Unknown nominee field(s) {', '.join(bad)}; use: {', '.join(NOMINEE_FIELDS)}.")
    count = session.scalar(select(func.count()).select_from(Nomination).where(Nomination.round_id == round_.id))
    nomination = Nomination(
        round_id=round_.id, reference=f"N{count + 1:04d}", source_key=source_key, source_file=source_file,
        source_row=source_row, submitted_at=submitted_at, category=category, status=status,
        extra=dict(extra or {}), content_hash=answers_hash(answers, nominee, equality or {}),
    )
    nomination.answers = [Answer(criterion_id=c, text=t) for c, t in answers.items()]
    nomination.nominee = Nominee(**{k: str(v) for k, v in nominee.items()})
    session.add(nomination)
    session.flush()
    for characteristic, value in (equality or {}).items():
        session.add(EqualityAnswer(nomination_id=nomination.id, characteristic=characteristic, value=str(value)))
    session.flush()
    return nomination


def list_nominations(session: Session, *, round_: Round, include_identity: bool = True) -> list[dict]:
    """Nominations as plain dicts: ``id``, ``reference``, ``nominee`` and ``answers`` by criterion."""
    rows = []
    for n in session.scalars(select(Nomination).where(Nomination.round_id == round_.id).order_by(Nomination.id)):
        item = {"id": n.id, "reference": n.reference, "status": n.status,
                "answers": {a.criterion_id: a.text for a in n.answers}}
        if include_identity:
            person = n.nominee
            item["nominee"] = {
                "name": person.name if person else "",
                "email": person.email if person else "",
                "organisation": person.organisation if person else "",
                "team": person.team if person else "",
            }
        rows.append(item)
    return rows


def round_summary(session: Session, *, round_: Round) -> dict:
    """Counts an organiser wants at a glance: nominations, judges, conflicts, progress."""
    rubric = round_rubric(session, round_, check_file=False)
    nominations = session.scalar(select(func.count()).select_from(Nomination).where(Nomination.round_id == round_.id))
    assignments = session.execute(
        select(Judge.name, Judge.organisation, func.count(Assignment.id),
               func.count(Assignment.submitted_at))
        .join(Assignment, Assignment.judge_id == Judge.id)
        .where(Assignment.round_id == round_.id, Assignment.status == "active")
        .group_by(Judge.id, Judge.name, Judge.organisation).order_by(Judge.name)
    ).all()
    conflicts = session.scalar(
        select(func.count()).select_from(Conflict).join(Nomination, Nomination.id == Conflict.nomination_id)
        .where(Nomination.round_id == round_.id))
    assigned = sum(row[2] for row in assignments)
    submitted = sum(row[3] for row in assignments)
    return {
        "round": round_.name,
        "rubric": f"{rubric.title} (version {rubric.hash[:12]})",
        "criteria": rubric.criterion_ids,
        "nominations": nominations,
        "judges_per_nomination": round_.judges_per_nomination,
        "conflicts": conflicts,
        "assigned": assigned,
        "submitted": submitted,
        "judges": [{"judge": name, "organisation": org, "assigned": n, "submitted": done}
                   for name, org, n, done in assignments],
    }
