"""Conflicts of interest between judges and nominations: detected, declared, acted on.

Public API (stable; ``workbench demo`` and the apps call these)::

    detect_conflicts(session, *, round_, actor="system", reassign=True) -> list[DetectedConflict]
    declare_conflict(session, *, round_, judge_id, nomination_id, reason, source="declared",
                     actor, reassign=True) -> ConflictOutcome
    list_conflicts(session, *, round_) -> list[dict]
    conflicted_pairs(session, *, round_) -> set[tuple[int, int]]      # (judge_id, nomination_id)
    organisation_key(name) -> str                                      # for matching only

Rules:

- **Same organisation** as the nominee, after :func:`organisation_key` makes
  "Northshire NHS Foundation Trust", "Northshire NHS Trust" and "Northshire Trust" the same,
  and "Lowmoor PCN" the same as "Lowmoor Primary Care Network".
- **The judge nominated them**: the nominator's email is the judge's, or the nominator's name is
  the judge's name (titles, case, accents and punctuation ignored).
- **The judge is the nominee** (same email or name).
- **Declared** by the judge in the app, or recorded by an organiser, at any time.

A conflicted pair is never assigned (:mod:`workbench.allocation` reads :func:`conflicted_pairs`).
When a conflict arrives after the pair was assigned, the judge's scores for that nomination are
withdrawn (:func:`workbench.scoring.withdraw_scores`: new ``withdrawn`` events, the history is
kept), the assignment is marked withdrawn, an :class:`~workbench.store.AuditEvent` is written,
and the nomination is given to another judge with the lowest load
(:func:`workbench.allocation.reassign`). A nomination with fewer than k active judges is
"flagged for reassignment": :func:`workbench.allocation.nominations_short_of_judges` lists them.

>>> organisation_key("Northshire NHS Foundation Trust") == organisation_key("Northshire Trust")
True
>>> organisation_key("Lowmoor PCN")
'lowmoor primary care network'
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from workbench.errors import NotFound, WorkbenchError
from workbench.intake.validation import normalise_name
from workbench.store import (
    Assignment,
    AuditEvent,
    Conflict,
    Judge,
    Nomination,
    Nominee,
    Round,
    ScoreEvent,
    utcnow,
)

#: Conflict sources, as stored in ``Conflict.source``.
SOURCES = ("declared", "organiser", "organisation", "nominator", "nominee")
DETECTED_SOURCES = ("organisation", "nominator", "nominee")

#: Abbreviations expanded before comparing organisation names.
ABBREVIATIONS = {
    "&": "and",
    "pcn": "primary care network",
    "icb": "integrated care board",
    "ics": "integrated care system",
    "ccg": "clinical commissioning group",
    "ft": "foundation trust",
    "uni": "university",
    "univ": "university",
    "hosp": "hospital",
    "hosps": "hospitals",
    "st": "saint",
    "ltd": "limited",
}
#: Words that do not tell two organisations apart ("X NHS Foundation Trust" is "X Trust").
GENERIC_WORDS = frozenset({"the", "nhs", "foundation", "trust", "limited", "plc", "cic"})

_WORD = re.compile(r"[a-z0-9&]+")


def organisation_key(name: str) -> str:
    """A key for matching organisation names: case, accents, punctuation, "NHS", "Foundation
    Trust", "Trust" and common abbreviations ignored. An empty name gives an empty key.

    >>> organisation_key("St Helen's & Knowsley Teaching Hospitals NHS Trust")
    'saint helens and knowsley teaching hospitals'
    >>> organisation_key("NHS Trust")  # nothing but generic words: kept as written
    'nhs trust'
    """
    decomposed = unicodedata.normalize("NFKD", (name or "").casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).replace("'", "").replace("’", "")
    words: list[str] = []
    for word in _WORD.findall(plain.replace("&", " & ")):
        words.extend(ABBREVIATIONS.get(word, word).split())
    specific = [w for w in words if w not in GENERIC_WORDS]
    return " ".join(specific or words)


@dataclass(frozen=True)
class DetectedConflict:
    """One conflict found by :func:`detect_conflicts`. ``new`` is False if it was already recorded."""

    judge_id: int
    nomination_id: int
    source: str
    reason: str
    new: bool


@dataclass(frozen=True)
class ConflictOutcome:
    """What recording a conflict did."""

    conflict_id: int
    judge_id: int
    nomination_id: int
    source: str
    was_assigned: bool
    withdrawn_scores: int
    replacement_judge_id: int | None
    needs_reassignment: bool
    message: str


def conflicted_pairs(session: Session, *, round_: Round) -> set[tuple[int, int]]:
    """Every (judge_id, nomination_id) with a conflict in this round."""
    rows = session.execute(
        select(Conflict.judge_id, Conflict.nomination_id)
        .join(Nomination, Nomination.id == Conflict.nomination_id)
        .where(Nomination.round_id == round_.id)
    )
    return {(judge_id, nomination_id) for judge_id, nomination_id in rows}


def _find_conflicts(judges: list[Judge], nominees: list[tuple[int, str, Nominee | None]]) -> dict:
    """{(judge_id, nomination_id): [(source, reason), ...]} by indexed lookups, not all pairs."""
    by_org: dict[str, list[Judge]] = defaultdict(list)
    by_email: dict[str, list[Judge]] = defaultdict(list)
    by_name: dict[str, list[Judge]] = defaultdict(list)
    for judge in judges:
        if judge.organisation.strip():
            by_org[organisation_key(judge.organisation)].append(judge)
        if judge.email.strip():
            by_email[judge.email.strip().casefold()].append(judge)
        if normalise_name(judge.name):
            by_name[normalise_name(judge.name)].append(judge)

    found: dict[tuple[int, int], list[tuple[str, str]]] = defaultdict(list)
    for nomination_id, reference, person in nominees:
        if person is None:
            continue
        if person.organisation.strip():
            for judge in by_org.get(organisation_key(person.organisation), []):
                found[judge.id, nomination_id].append((
                    "organisation",
                    f"{judge.name} works at {judge.organisation!r}, the same organisation as the nominee of "
                    f"{reference} ({person.organisation!r}).",
                ))
        nominator = {judge.id: judge for judge in by_email.get(person.nominator_email.strip().casefold(), [])}
        nominator.update({judge.id: judge for judge in by_name.get(normalise_name(person.nominator_name), [])})
        for judge in nominator.values():
            found[judge.id, nomination_id].append(("nominator", f"{judge.name} nominated {reference}."))
        nominee = {judge.id: judge for judge in by_email.get(person.email.strip().casefold(), [])}
        nominee.update({judge.id: judge for judge in by_name.get(normalise_name(person.name), [])})
        for judge in nominee.values():
            found[judge.id, nomination_id].append(("nominee", f"{judge.name} is the nominee of {reference}."))
    return found


def detect_conflicts(session: Session, *, round_: Round, actor: str = "system",
                     reassign: bool = True) -> list[DetectedConflict]:
    """Find and record every automatic conflict in the round; returns all found, old and new.

    Compares each active judge with each nomination's nominee: same organisation, the judge is
    the nominator, or the judge is the nominee. Recording is idempotent; a conflict found for a
    pair already assigned withdraws the judge's scores and reassigns (see :func:`declare_conflict`).
    """
    judges = list(session.scalars(select(Judge).where(Judge.active.is_(True)).order_by(Judge.id)))
    nominees = [
        (nomination.id, nomination.reference, nomination.nominee)
        for nomination in session.scalars(
            select(Nomination).where(Nomination.round_id == round_.id).order_by(Nomination.id))
    ]
    existing = {(c.judge_id, c.nomination_id): c for c in session.scalars(
        select(Conflict).join(Nomination, Nomination.id == Conflict.nomination_id)
        .where(Nomination.round_id == round_.id))}
    assigned = {(j, n) for j, n in session.execute(select(Assignment.judge_id, Assignment.nomination_id).where(
        Assignment.round_id == round_.id, Assignment.status == "active"))}
    out: list[DetectedConflict] = []
    quiet: list[dict] = []  # new conflicts on pairs not assigned: stored in one go
    for (judge_id, nomination_id), reasons in sorted(_find_conflicts(judges, nominees).items()):
        source = reasons[0][0]
        reason = " ".join(text for _, text in reasons)
        known = existing.get((judge_id, nomination_id))
        if known is None and (judge_id, nomination_id) in assigned:
            record_conflict(session, round_=round_, judge_id=judge_id, nomination_id=nomination_id,
                            reason=reason, source=source, actor=actor, reassign=reassign)
        elif known is None:
            quiet.append({"judge_id": judge_id, "nomination_id": nomination_id, "source": source, "reason": reason,
                          "created_at": utcnow()})
        out.append(DetectedConflict(judge_id, nomination_id, known.source if known else source,
                                    known.reason if known else reason, known is None))
    if quiet:
        session.execute(insert(Conflict), quiet)
        session.add(AuditEvent(round_id=round_.id, action="conflicts-detected", actor=actor, detail={
            "count": len(quiet), "pairs": [[q["judge_id"], q["nomination_id"], q["source"]] for q in quiet]}))
        session.flush()
    return out


def declare_conflict(session: Session, *, round_: Round, judge_id: int, nomination_id: int, reason: str,
                     source: str = "declared", actor: str, reassign: bool = True) -> ConflictOutcome:
    """A judge (``source="declared"``) or an organiser (``"organiser"``) records a conflict.

    Allowed at any time, even after submitting. When the pair is assigned, the judge's scores
    are withdrawn (kept in history), the nomination is flagged for reassignment and, unless
    ``reassign=False``, given to the unconflicted judge with the lowest load.
    """
    if not reason.strip():
        raise WorkbenchError("Say briefly why there is a conflict of interest (for example 'I work with the "
                             "nominee'); it is kept for the organisers only.")
    return record_conflict(session, round_=round_, judge_id=judge_id, nomination_id=nomination_id,
                           reason=reason.strip(), source=source, actor=actor, reassign=reassign)


def record_conflict(session: Session, *, round_: Round, judge_id: int, nomination_id: int, reason: str,
                    source: str, actor: str, reassign: bool = True) -> ConflictOutcome:
    """Store one conflict and act on it (shared by declared and detected conflicts)."""
    if source not in SOURCES:
        raise WorkbenchError(f"Unknown conflict source {source!r}; use one of: {', '.join(SOURCES)}.")
    judge = session.get(Judge, judge_id)
    if judge is None:
        raise NotFound(f"No judge with id {judge_id}. List judges with `workbench judges list`.")
    nomination = session.get(Nomination, nomination_id)
    if nomination is None or nomination.round_id != round_.id:
        raise NotFound(f"No nomination with id {nomination_id} in round {round_.name!r}.")

    conflict = session.scalar(select(Conflict).where(Conflict.judge_id == judge_id,
                                                     Conflict.nomination_id == nomination_id))
    if conflict is None:
        conflict = Conflict(judge_id=judge_id, nomination_id=nomination_id, source=source, reason=reason)
        session.add(conflict)
        session.flush()

    assignment = session.scalar(select(Assignment).where(
        Assignment.round_id == round_.id, Assignment.judge_id == judge_id, Assignment.nomination_id == nomination_id))
    was_assigned = assignment is not None and assignment.status == "active"
    from workbench.allocation import active_judge_count, load_spread

    spread_before = load_spread(session, round_=round_) if was_assigned else 0
    withdrawn = 0
    replacement = None
    if was_assigned:
        from workbench.scoring import withdraw_scores

        had_scores = session.scalar(select(ScoreEvent.id).where(ScoreEvent.assignment_id == assignment.id)
                                    .limit(1)) is not None
        withdrawn = withdraw_scores(session, assignment=assignment, actor=actor,
                                    reason=f"Conflict of interest ({source}).")
        session.add(AuditEvent(round_id=round_.id, action="conflict-withdrawal", actor=actor, detail={
            "judge_id": judge_id, "nomination_id": nomination_id, "reference": nomination.reference,
            "source": source, "scores_withdrawn": withdrawn, "had_scores": had_scores,
            "was_submitted": assignment.submitted_at is not None, "needs_reassignment": True,
        }))
        session.flush()
        if reassign:
            from workbench.allocation import reassign as reassign_nomination

            # Keep loads within one; never reshuffle more than that if an organiser chose a wider spread.
            result = reassign_nomination(session, round_=round_, nomination_id=nomination_id, actor=actor,
                                         max_spread=max(1, spread_before))
            replacement = result.judge_ids[0] if result.judge_ids else None
    session.add(AuditEvent(round_id=round_.id, action="conflict-recorded", actor=actor, detail={
        "judge_id": judge_id, "nomination_id": nomination_id, "reference": nomination.reference, "source": source,
        "was_assigned": was_assigned, "replacement_judge_id": replacement,
    }))
    session.flush()

    needs = active_judge_count(session, round_=round_, nomination_id=nomination_id) < round_.judges_per_nomination
    if not was_assigned:
        message = f"Conflict of interest recorded: {judge.name} will not be given {nomination.reference}."
    else:
        message = (f"Conflict of interest recorded: {nomination.reference} is no longer assigned to {judge.name}"
                   + (f" and {withdrawn} score(s) were withdrawn (kept in the history)" if withdrawn else "") + ".")
        if replacement is not None:
            message += f" It was given to {session.get(Judge, replacement).name}."
        elif needs:
            message += (" No other judge without a conflict was free, so it is flagged for reassignment: "
                        "add a judge, then run `workbench allocate` again.")
    return ConflictOutcome(conflict.id, judge_id, nomination_id, conflict.source, was_assigned, withdrawn,
                           replacement, needs, message)


def list_conflicts(session: Session, *, round_: Round) -> list[dict]:
    """Conflicts in the round as plain dicts (organiser view: includes the reason)."""
    rows = session.execute(
        select(Conflict, Judge.name, Judge.email, Nomination.reference)
        .join(Judge, Judge.id == Conflict.judge_id)
        .join(Nomination, Nomination.id == Conflict.nomination_id)
        .where(Nomination.round_id == round_.id)
        .order_by(Nomination.id, Judge.id)
    )
    return [{"id": c.id, "judge_id": c.judge_id, "judge": name, "email": email, "nomination_id": c.nomination_id,
             "nomination": reference, "source": c.source, "reason": c.reason, "at": c.created_at.isoformat()}
            for c, name, email, reference in rows]
