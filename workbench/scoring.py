"""Scores as append-only events, and the current scores derived from them.

A judge who changes a score adds an event; nothing is overwritten, so the history is
complete. Two saves of the same score from two tabs both land: the later one is current
(last write wins) and both stay in the history. A caller that wants to be told instead
passes ``expected_event_id`` and gets :class:`~workbench.errors.StaleWrite`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from workbench.errors import NotAllowed, StaleWrite
from workbench.panel import round_rubric
from workbench.rubric import RubricChanged
from workbench.store import Assignment, Round, ScoreEvent, utcnow

SCORE_COLUMNS = ["nomination", "judge", "criterion", "score", "comment", "event_id", "at"]


@dataclass(frozen=True)
class SavedScore:
    event_id: int
    criterion: str
    value: int | None
    comment: str
    at: datetime
    replaced: int | None  # the event this one superseded, if any


def find_assignment(session: Session, *, round_: Round, judge_id: int, nomination_id: int) -> Assignment:
    assignment = session.scalar(
        select(Assignment).where(
            Assignment.round_id == round_.id,
            Assignment.judge_id == judge_id,
            Assignment.nomination_id == nomination_id,
        )
    )
    if assignment is None:
        raise NotAllowed("This nomination is not assigned to you, so it cannot be scored here.")
    return assignment


def latest_event(session: Session, *, assignment_id: int, criterion_id: str) -> ScoreEvent | None:
    return session.scalar(
        select(ScoreEvent)
        .where(ScoreEvent.assignment_id == assignment_id, ScoreEvent.criterion_id == criterion_id)
        .order_by(ScoreEvent.id.desc())
        .limit(1)
    )


def record_score(
    session: Session,
    *,
    round_: Round,
    judge_id: int,
    nomination_id: int,
    criterion_id: str,
    value,
    comment: str = "",
    rubric_hash: str | None = None,
    actor: str = "",
    source: str = "app",
    expected_event_id: int | None = None,
    check_rubric_file: bool = True,
) -> SavedScore:
    """Append one score event after checking the assignment, the lock and the scale.

    ``value`` may be a number or a level label ("Met"); ``None`` or "" clears the score.
    ``rubric_hash`` is the version the judge saw; a different one is refused.
    """
    rubric = round_rubric(session, round_, check_file=check_rubric_file)
    if rubric_hash is not None and rubric_hash != rubric.hash:
        raise RubricChanged(
            "The rubric changed while you were scoring, so this score was not saved. Reload the page to "
            "see the current descriptors, then score again."
        )
    assignment = find_assignment(session, round_=round_, judge_id=judge_id, nomination_id=nomination_id)
    if assignment.status != "active":
        raise NotAllowed("You are no longer assigned this nomination (a conflict of interest was recorded).")
    if assignment.submitted_at is not None:
        raise NotAllowed("Your scores for this nomination are submitted and locked.")
    parsed = rubric.parse_score(criterion_id, value)
    previous = latest_event(session, assignment_id=assignment.id, criterion_id=criterion_id)
    if expected_event_id is not None and previous is not None and previous.id != expected_event_id:
        raise StaleWrite(
            f"{criterion_id} was changed in another window (now {_fmt(previous.value)}). "
            "Your value was not saved; check the score and save again."
        )
    event = ScoreEvent(
        assignment_id=assignment.id, round_id=round_.id, judge_id=judge_id, nomination_id=nomination_id,
        criterion_id=criterion_id, value=parsed, comment=comment or "", rubric_hash=rubric.hash,
        kind="score", source=source, created_by=actor, created_at=utcnow(),
    )
    session.add(event)
    session.flush()
    return SavedScore(event.id, criterion_id, parsed, event.comment, event.created_at,
                      previous.id if previous else None)


def _fmt(value: float | None) -> str:
    return "blank" if value is None else f"{value:g}"


def withdraw_scores(session: Session, *, assignment: Assignment, actor: str, reason: str) -> int:
    """Withdraw a judge's scores for one nomination; the events stay in the history."""
    rubric_hash = assignment.nomination.round.rubric_hash
    count = 0
    for criterion_id in session.scalars(
        select(ScoreEvent.criterion_id).where(ScoreEvent.assignment_id == assignment.id).distinct()
    ):
        session.add(ScoreEvent(
            assignment_id=assignment.id, round_id=assignment.round_id, judge_id=assignment.judge_id,
            nomination_id=assignment.nomination_id, criterion_id=criterion_id, value=None, comment=reason,
            rubric_hash=rubric_hash, kind="withdrawn", source="system", created_by=actor, created_at=utcnow(),
        ))
        count += 1
    assignment.status = "withdrawn"
    session.flush()
    return count


def _current_events_query(round_id: int, *, include_withdrawn: bool = False):
    newest = (
        select(func.max(ScoreEvent.id).label("id"))
        .where(ScoreEvent.round_id == round_id)
        .group_by(ScoreEvent.assignment_id, ScoreEvent.criterion_id)
        .subquery()
    )
    query = (
        select(ScoreEvent, Assignment.status, Assignment.submitted_at)
        .join(newest, newest.c.id == ScoreEvent.id)
        .join(Assignment, and_(Assignment.id == ScoreEvent.assignment_id))
        .order_by(ScoreEvent.nomination_id, ScoreEvent.judge_id, ScoreEvent.criterion_id)
    )
    if not include_withdrawn:
        query = query.where(Assignment.status == "active", ScoreEvent.kind == "score")
    return query


def current_scores(session: Session, *, round_: Round, submitted_only: bool = False) -> pd.DataFrame:
    """The current score per (nomination, judge, criterion) as a long table.

    Columns: nomination, judge, criterion, score (NaN when cleared), comment, event_id, at.
    Withdrawn judges are left out.
    """
    rows = []
    for event, _status, submitted_at in session.execute(_current_events_query(round_.id)):
        if submitted_only and submitted_at is None:
            continue
        rows.append((event.nomination_id, event.judge_id, event.criterion_id,
                     float("nan") if event.value is None else event.value, event.comment, event.id,
                     event.created_at))
    frame = pd.DataFrame(rows, columns=SCORE_COLUMNS)
    frame["score"] = frame["score"].astype(float)
    return frame


def judge_scores(session: Session, *, round_: Round, judge_id: int, nomination_id: int) -> dict[str, dict]:
    """One judge's current scores for one nomination: {criterion: {value, comment, event_id}}."""
    assignment = find_assignment(session, round_=round_, judge_id=judge_id, nomination_id=nomination_id)
    out = {}
    newest = (
        select(func.max(ScoreEvent.id))
        .where(ScoreEvent.assignment_id == assignment.id)
        .group_by(ScoreEvent.criterion_id)
    )
    for event in session.scalars(select(ScoreEvent).where(ScoreEvent.id.in_(newest))):
        out[event.criterion_id] = {"value": event.value, "comment": event.comment, "event_id": event.id}
    return out


def score_history(session: Session, *, round_: Round, nomination_id: int | None = None) -> pd.DataFrame:
    """Every score event, oldest first: who, when, value, comment, rubric hash, kind."""
    query = select(ScoreEvent).where(ScoreEvent.round_id == round_.id).order_by(ScoreEvent.id)
    if nomination_id is not None:
        query = query.where(ScoreEvent.nomination_id == nomination_id)
    rows = [
        (e.id, e.nomination_id, e.judge_id, e.criterion_id, e.value, e.comment, e.kind, e.source,
         e.created_by, e.created_at, e.rubric_hash)
        for e in session.scalars(query)
    ]
    return pd.DataFrame(rows, columns=["event_id", "nomination", "judge", "criterion", "score", "comment", "kind",
                                       "source", "by", "at", "rubric_hash"])


def submit_assignment(session: Session, *, round_: Round, judge_id: int, nomination_id: int) -> Assignment:
    """Lock a judge's scores for a nomination; every criterion must be scored first."""
    rubric = round_rubric(session, round_, check_file=False)
    assignment = find_assignment(session, round_=round_, judge_id=judge_id, nomination_id=nomination_id)
    if assignment.status != "active":
        raise NotAllowed("You are no longer assigned this nomination (a conflict of interest was recorded).")
    if assignment.submitted_at is not None:
        return assignment
    scores = judge_scores(session, round_=round_, judge_id=judge_id, nomination_id=nomination_id)
    missing = [c for c in rubric.criterion_ids if scores.get(c, {}).get("value") is None]
    if missing:
        raise NotAllowed(f"Score every question before submitting. Still to score: {', '.join(missing)}.")
    assignment.submitted_at = utcnow()
    session.flush()
    return assignment
