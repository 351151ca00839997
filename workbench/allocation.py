"""Who judges what: balanced, conflict-free, reproducible and explainable allocation.

Public API (stable; ``workbench demo``, the CLI and the apps call these)::

    allocate(session, *, round_, seed, k=None, judge_ids=None, actor="") -> Allocation
    reassign(session, *, round_, nomination_id, actor="") -> Reassignment
    add_assignment(session, *, round_, judge_id, nomination_id, actor, reason="") -> Assignment
    remove_assignment(session, *, round_, judge_id, nomination_id, actor, reason) -> str
    import_allocation(session, *, round_, path, actor="") -> AllocationImport
    explain(session, *, round_, judge_id, nomination_id) -> str
    judge_loads(session, *, round_) -> dict[int, int]
    nominations_short_of_judges(session, *, round_) -> list[dict]

How :func:`allocate` chooses, so anyone can check it:

1. Every active nomination should have ``k`` judges (``k`` defaults to the round's
   ``judges_per_nomination``). Assignments already made are kept; only the gaps are filled, so
   running it again after new nominations arrive changes nothing that exists.
2. A pair with a conflict of interest (:mod:`workbench.conflicts`) is never assigned.
3. Nominations with the fewest possible judges go first (ties in a seeded random order). Each
   takes the judges with the lowest load so far; a tie is broken by a draw from
   ``random.Random(seed)``. The reason is stored on each assignment (``Assignment.reason``).
4. If conflicts pushed loads more than one apart, new assignments are moved from the busiest
   to the least busy judges until they are within one (or no allowed move is left; then the
   result says so).
5. Each judge's review order (``Assignment.position``) is shuffled by a draw seeded with
   ``seed`` and the judge's id, so nominations are not all read in the same order.

The same database state and the same seed always give the same allocation.

>>> from workbench.store import session_scope
>>> from workbench.rubric import load_rubric
>>> from workbench.panel import create_round, add_judge, add_nomination
>>> with session_scope("sqlite://") as s:
...     r = create_round(s, name="Doc", rubric=load_rubric("inclusive-leader"), judges_per_nomination=2)
...     for i in range(3):
...         _ = add_judge(s, name=f"Judge {i}", email=f"j{i}@example.org")
...     for i in range(6):
...         _ = add_nomination(s, round_=r, source_key=str(i), answers={"Q1": "..."})
...     result = allocate(s, round_=r, seed=1)
...     (result.created, sorted(result.loads.values()), result.balanced)
(12, [4, 4, 4], True)
"""

from __future__ import annotations

import csv
import io
import random
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from workbench.errors import NotAllowed, NotFound, WorkbenchError
from workbench.store import Assignment, AuditEvent, Conflict, Judge, Nomination, Round, ScoreEvent, utcnow

ACTIVE = "active"


@dataclass(frozen=True)
class Shortfall:
    """A nomination that could not get k judges, and why."""

    nomination_id: int
    reference: str
    judges: int
    wanted: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"nomination_id": self.nomination_id, "reference": self.reference, "judges": self.judges,
                "wanted": self.wanted, "reason": self.reason}


@dataclass
class Allocation:
    """The result of :func:`allocate`: counts, loads per judge and anything that fell short."""

    round: str
    seed: int
    k: int
    judges: int
    nominations: int
    created: int
    kept: int
    moved: int
    loads: dict[int, int]
    shortfalls: list[Shortfall] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def spread(self) -> int:
        """Most minus fewest nominations per judge (0 or 1 when balanced)."""
        return (max(self.loads.values()) - min(self.loads.values())) if self.loads else 0

    @property
    def balanced(self) -> bool:
        return self.spread <= 1

    def describe(self) -> str:
        loads = sorted(self.loads.values())
        text = (f"Round {self.round!r}: {self.nominations} nominations, {self.k} judges each, {self.judges} judges "
                f"(seed {self.seed}). {self.created} new assignments, {self.kept} kept from before.")
        if loads:
            text += (f" Each judge has {loads[0]} to {loads[-1]} nominations"
                     + (" (balanced to within one)." if self.balanced else " (NOT balanced to within one)."))
        for s in self.shortfalls:
            text += f"\n  {s.reference}: {s.judges} of {s.wanted} judges. {s.reason}"
        for note in self.notes:
            text += f"\nNote: {note}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {"round": self.round, "seed": self.seed, "k": self.k, "judges": self.judges,
                "nominations": self.nominations, "created": self.created, "kept": self.kept, "moved": self.moved,
                "loads": {str(j): n for j, n in sorted(self.loads.items())}, "balanced": self.balanced,
                "spread": self.spread, "shortfalls": [s.to_dict() for s in self.shortfalls], "notes": self.notes}


@dataclass(frozen=True)
class Reassignment:
    """What :func:`reassign` did for one nomination."""

    nomination_id: int
    judge_ids: list[int]
    moved: int
    message: str


@dataclass(frozen=True)
class ImportLine:
    """One row of an allocation CSV that was not applied (or applied with a note)."""

    row: int
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", column {self.column!r}" if self.column else "")
        return f"{where}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class AllocationImport:
    """What :func:`import_allocation` did: rows applied, rows skipped with the reason."""

    file: str
    rows_read: int = 0
    added: int = 0
    already: int = 0
    problems: list[ImportLine] = field(default_factory=list)

    def summary(self) -> str:
        text = (f"{self.rows_read} rows read from {self.file}: {self.added} assignments added, {self.already} "
                f"already there, {len(self.problems)} row(s) not applied.")
        for line in self.problems:
            text += f"\n  {line}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "rows_read": self.rows_read, "added": self.added, "already": self.already,
                "problems": [p.to_dict() for p in self.problems]}


# ---------------------------------------------------------------------------------------
# Reading the current state


def judge_loads(session: Session, *, round_: Round, judge_ids: list[int] | None = None) -> dict[int, int]:
    """Active assignments per active judge in the round (judges with none count 0)."""
    ids = judge_ids if judge_ids is not None else list(
        session.scalars(select(Judge.id).where(Judge.active.is_(True)).order_by(Judge.id)))
    loads = dict.fromkeys(ids, 0)
    for judge_id, count in session.execute(
        select(Assignment.judge_id, func.count()).where(Assignment.round_id == round_.id,
                                                         Assignment.status == ACTIVE)
        .group_by(Assignment.judge_id)
    ):
        if judge_id in loads:
            loads[judge_id] = count
    return loads


def active_judge_count(session: Session, *, round_: Round, nomination_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Assignment).where(
        Assignment.round_id == round_.id, Assignment.nomination_id == nomination_id, Assignment.status == ACTIVE))


def nominations_short_of_judges(session: Session, *, round_: Round) -> list[dict]:
    """Active nominations with fewer than k active judges: the ones flagged for reassignment."""
    counts = dict(session.execute(
        select(Assignment.nomination_id, func.count()).where(Assignment.round_id == round_.id,
                                                              Assignment.status == ACTIVE)
        .group_by(Assignment.nomination_id)).all())
    rows = session.execute(select(Nomination.id, Nomination.reference).where(
        Nomination.round_id == round_.id, Nomination.status == ACTIVE).order_by(Nomination.id))
    return [{"nomination_id": nid, "reference": ref, "judges": counts.get(nid, 0),
             "wanted": round_.judges_per_nomination}
            for nid, ref in rows if counts.get(nid, 0) < round_.judges_per_nomination]


def _blocked_pairs(session: Session, round_: Round) -> set[tuple[int, int]]:
    """Pairs that may not get a new assignment: conflicts, and any existing assignment row."""
    blocked = {(j, n) for j, n in session.execute(
        select(Conflict.judge_id, Conflict.nomination_id).join(Nomination, Nomination.id == Conflict.nomination_id)
        .where(Nomination.round_id == round_.id))}
    blocked |= {(j, n) for j, n in session.execute(
        select(Assignment.judge_id, Assignment.nomination_id).where(Assignment.round_id == round_.id))}
    return blocked


def _choice_reason(*, chosen_load: int, tied: int, eligible: int, total: int, reference: str, seed: int,
                   conflicted: int) -> str:
    text = (f"Lowest load ({chosen_load} nominations at the time) among the {eligible} of {total} judges who "
            f"could take {reference}")
    if conflicted:
        text += f" ({conflicted} left out for a conflict of interest)"
    if tied > 1:
        text += f"; tied with {tied - 1} other judge(s), chosen by the seeded draw (seed {seed})"
    return text + "."


# ---------------------------------------------------------------------------------------
# Allocation


def allocate(session: Session, *, round_: Round, seed: int, k: int | None = None,
             judge_ids: list[int] | None = None, actor: str = "") -> Allocation:
    """Give every active nomination ``k`` judges; see the module docstring for the rules.

    ``judge_ids`` limits the pool (default: every active judge, leaving out people who only
    mark units as assessors or IQAs). ``k`` also becomes the
    round's ``judges_per_nomination``.
    """
    if k is not None:
        if k < 1:
            raise WorkbenchError("k (judges per nomination) must be 1 or more.")
        round_.judges_per_nomination = k
    k = round_.judges_per_nomination
    judges = list(session.execute(select(Judge.id, Judge.name).where(Judge.active.is_(True)).order_by(Judge.id)))
    if judge_ids is not None:
        wanted = set(judge_ids)
        unknown = wanted - {j for j, _ in judges}
        if unknown:
            raise NotFound(f"No active judge with id {', '.join(map(str, sorted(unknown)))}. "
                           "List judges with `workbench judges list`.")
        judges = [(j, name) for j, name in judges if j in wanted]
    else:
        # People registered only as unit assessors or IQAs are not award judges.
        roles: dict[int, set[str]] = defaultdict(set)
        for judge_id, role in session.execute(select(Assignment.judge_id, Assignment.role).distinct()):
            roles[judge_id].add(role)
        judges = [(j, name) for j, name in judges if not roles[j] or "judge" in roles[j]]
    if not judges:
        raise WorkbenchError("There are no active judges to allocate to. Add judges with `workbench judges add`.")
    names = dict(judges)
    pool = [j for j, _ in judges]
    nominations = list(session.execute(select(Nomination.id, Nomination.reference).where(
        Nomination.round_id == round_.id, Nomination.status == ACTIVE).order_by(Nomination.id)))
    reference = dict(nominations)

    conflicts = {(j, n) for j, n in session.execute(
        select(Conflict.judge_id, Conflict.nomination_id).join(Nomination, Nomination.id == Conflict.nomination_id)
        .where(Nomination.round_id == round_.id))}
    blocked = _blocked_pairs(session, round_)
    on_nomination: dict[int, set[int]] = defaultdict(set)
    kept = 0
    for j, n in session.execute(select(Assignment.judge_id, Assignment.nomination_id).where(
            Assignment.round_id == round_.id, Assignment.status == ACTIVE)):
        on_nomination[n].add(j)
        kept += 1
    loads = judge_loads(session, round_=round_, judge_ids=pool)

    rng = random.Random(seed)
    eligible_count = {n: sum((j, n) not in blocked for j in pool) for n, _ in nominations}
    order = [n for n, _ in nominations]
    rng.shuffle(order)
    order.sort(key=lambda n: eligible_count[n])  # stable: the shuffle breaks ties

    new: list[dict] = []  # rows to insert, in choice order
    shortfalls: list[Shortfall] = []
    for n in order:
        need = k - len(on_nomination[n])
        if need <= 0:
            continue
        candidates = [j for j in pool if (j, n) not in blocked]
        conflicted = sum((j, n) in conflicts for j in pool)
        for _ in range(need):
            if not candidates:
                break
            low = min(loads[j] for j in candidates)
            tied = [j for j in candidates if loads[j] == low]
            chosen = tied[0] if len(tied) == 1 else rng.choice(tied)
            new.append({"judge_id": chosen, "nomination_id": n, "reason": _choice_reason(
                chosen_load=low, tied=len(tied), eligible=len(candidates), total=len(pool), reference=reference[n],
                seed=seed, conflicted=conflicted)})
            loads[chosen] += 1
            on_nomination[n].add(chosen)
            candidates.remove(chosen)
        if len(on_nomination[n]) < k:
            shortfalls.append(Shortfall(n, reference[n], len(on_nomination[n]), k, (
                f"Only {len(on_nomination[n])} judge(s) can take it: {conflicted} of {len(pool)} have a conflict "
                f"of interest. Add judges or lower k, then run `workbench allocate` again.")))

    moved, notes = _balance_new(new, loads, blocked, on_nomination, names, reference)
    _insert_with_positions(session, round_=round_, rows=new, seed=seed)

    settings = dict(round_.settings or {})
    settings["allocation"] = {"seed": seed, "k": k, "at": utcnow().isoformat()}
    round_.settings = settings
    session.add(AuditEvent(round_id=round_.id, action="allocated", actor=actor, detail={
        "seed": seed, "k": k, "judges": len(pool), "created": len(new), "kept": kept, "moved": moved,
        "shortfalls": [s.reference for s in shortfalls]}))
    session.flush()
    spread = max(loads.values()) - min(loads.values())
    if spread > 1 and not notes:
        notes.append("Loads are more than one apart because earlier assignments were kept; they are never moved "
                     "by allocate.")
    return Allocation(round=round_.name, seed=seed, k=k, judges=len(pool), nominations=len(nominations),
                      created=len(new), kept=kept, moved=moved, loads=loads, shortfalls=shortfalls, notes=notes)


def _balance_new(new: list[dict], loads: dict[int, int], blocked: set, on_nomination: dict[int, set[int]],
                 names: dict[int, str], reference: dict[int, str]) -> tuple[int, list[str]]:
    """Move new assignments from the busiest to the least busy judges until within one."""
    moved = 0
    by_judge: dict[int, list[dict]] = defaultdict(list)
    for row in new:
        by_judge[row["judge_id"]].append(row)
    while True:
        high, low = max(loads.values()), min(loads.values())
        if high - low <= 1:
            return moved, []
        move = _find_move(loads, {j: [r["nomination_id"] for r in rows] for j, rows in by_judge.items()},
                          lambda j, n: (j, n) not in blocked and j not in on_nomination[n])
        if move is None:
            return moved, [f"Loads could not be balanced to within one ({low} to {high}): the least busy judges "
                           "have conflicts with every nomination the busier ones could give up."]
        hi, lo, n = move
        row = next(r for r in by_judge[hi] if r["nomination_id"] == n)
        by_judge[hi].remove(row)
        on_nomination[n].discard(hi)
        on_nomination[n].add(lo)
        row["judge_id"] = lo
        row["reason"] = (f"Moved from {names[hi]} ({loads[hi]} nominations) to {names[lo]} ({loads[lo]}) to keep "
                         f"loads within one; {names[lo]} has no conflict with {reference[n]}.")
        by_judge[lo].append(row)
        loads[hi] -= 1
        loads[lo] += 1
        moved += 1


def _find_move(loads: dict[int, int], movable: dict[int, list[int]], allowed,
               max_spread: int = 1) -> tuple[int, int, int] | None:
    """(from judge, to judge, nomination): the busiest judge that can hand a nomination to a judge
    with more than ``max_spread`` fewer. Each move lowers the sum of squared loads, so repeating ends."""
    by_load = sorted(loads, key=lambda j: (loads[j], j))
    for hi in reversed(by_load):
        for lo in by_load:
            if loads[hi] - loads[lo] <= max_spread:
                break
            for n in movable.get(hi, []):
                if allowed(lo, n):
                    return hi, lo, n
    return None


def _insert_with_positions(session: Session, *, round_: Round, rows: list[dict], seed: int) -> None:
    """Insert new assignments; each judge's new ones go after their existing ones, shuffled."""
    if not rows:
        return
    start = dict(session.execute(select(Assignment.judge_id, func.max(Assignment.position))
                                 .where(Assignment.round_id == round_.id).group_by(Assignment.judge_id)).all())
    by_judge: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        by_judge[row["judge_id"]].append(row)
    now = utcnow()
    records = []
    for judge_id in sorted(by_judge):
        mine = sorted(by_judge[judge_id], key=lambda r: r["nomination_id"])
        random.Random(f"{seed}:order:{judge_id}").shuffle(mine)
        first = (start.get(judge_id) or 0) + 1
        for offset, row in enumerate(mine):
            records.append({"round_id": round_.id, "judge_id": judge_id, "nomination_id": row["nomination_id"],
                            "position": first + offset, "reason": row["reason"], "status": ACTIVE,
                            "created_at": now})
    session.execute(insert(Assignment), records)
    session.flush()


# ---------------------------------------------------------------------------------------
# After a conflict, and by hand


def _round_seed(round_: Round) -> int:
    return int((round_.settings or {}).get("allocation", {}).get("seed", 0))


def reassign(session: Session, *, round_: Round, nomination_id: int, actor: str = "",
             max_spread: int = 1) -> Reassignment:
    """Bring one nomination back up to k judges (after a conflict), keeping loads within one.

    Each missing judge is the unconflicted judge with the lowest load (ties: a draw seeded with
    the round's allocation seed and the nomination). If loads then differ by more than
    ``max_spread`` (one, or the spread before the change if an organiser chose a wider one), a
    nomination the busiest judge has not started is moved to the least busy judge.
    """
    nomination = session.get(Nomination, nomination_id)
    if nomination is None or nomination.round_id != round_.id:
        raise NotFound(f"No nomination with id {nomination_id} in round {round_.name!r}.")
    seed = _round_seed(round_)
    loads = judge_loads(session, round_=round_)
    names = dict(session.execute(select(Judge.id, Judge.name)).all())
    blocked = _blocked_pairs(session, round_)
    have = active_judge_count(session, round_=round_, nomination_id=nomination_id)
    conflicted = len(set(session.scalars(select(Conflict.judge_id).where(Conflict.nomination_id == nomination_id)))
                     & set(loads))
    rng = random.Random(f"{seed}:reassign:{nomination_id}:{have}")
    chosen_ids = []
    for _ in range(round_.judges_per_nomination - have):
        candidates = [j for j in loads if (j, nomination_id) not in blocked]
        if not candidates:
            break
        low = min(loads[j] for j in candidates)
        tied = [j for j in candidates if loads[j] == low]
        chosen = tied[0] if len(tied) == 1 else rng.choice(tied)
        reason = ("Reassigned after a conflict of interest. " + _choice_reason(
            chosen_load=low, tied=len(tied), eligible=len(candidates), total=len(loads),
            reference=nomination.reference, seed=seed, conflicted=conflicted))
        _add_row(session, round_=round_, judge_id=chosen, nomination_id=nomination_id, reason=reason)
        loads[chosen] += 1
        blocked.add((chosen, nomination_id))
        chosen_ids.append(chosen)
        session.add(AuditEvent(round_id=round_.id, action="reassigned", actor=actor, detail={
            "nomination_id": nomination_id, "reference": nomination.reference, "judge_id": chosen}))
    moved = rebalance(session, round_=round_, actor=actor, max_spread=max_spread)
    if chosen_ids:
        message = f"{nomination.reference} given to {', '.join(names[j] for j in chosen_ids)}."
    else:
        message = f"{nomination.reference} could not be given to another judge: every other judge is conflicted " \
                  "or already has it."
    session.flush()
    return Reassignment(nomination_id, chosen_ids, moved, message)


def _add_row(session: Session, *, round_: Round, judge_id: int, nomination_id: int, reason: str) -> Assignment:
    last = session.scalar(select(func.max(Assignment.position)).where(Assignment.round_id == round_.id,
                                                                      Assignment.judge_id == judge_id)) or 0
    assignment = Assignment(round_id=round_.id, judge_id=judge_id, nomination_id=nomination_id, position=last + 1,
                            reason=reason, status=ACTIVE)
    session.add(assignment)
    session.flush()
    return assignment


def _unstarted(session: Session, round_: Round, judge_id: int) -> list[Assignment]:
    """A judge's active assignments with no score yet and not submitted, newest first."""
    started = select(ScoreEvent.assignment_id).where(ScoreEvent.judge_id == judge_id,
                                                     ScoreEvent.round_id == round_.id)
    return list(session.scalars(select(Assignment).where(
        Assignment.round_id == round_.id, Assignment.judge_id == judge_id, Assignment.status == ACTIVE,
        Assignment.submitted_at.is_(None), Assignment.id.not_in(started)).order_by(Assignment.position.desc())))


def load_spread(session: Session, *, round_: Round) -> int:
    """Most minus fewest active assignments per active judge."""
    loads = judge_loads(session, round_=round_)
    return (max(loads.values()) - min(loads.values())) if loads else 0


def rebalance(session: Session, *, round_: Round, actor: str = "", max_spread: int = 1) -> int:
    """Move unstarted nominations from the busiest to the least busy judges until loads are
    within ``max_spread`` (default one), never onto a conflicted pair. Returns how many moved."""
    moved = 0
    names = dict(session.execute(select(Judge.id, Judge.name)).all())
    while True:
        loads = judge_loads(session, round_=round_)
        if not loads or max(loads.values()) - min(loads.values()) <= max_spread:
            return moved
        blocked = _blocked_pairs(session, round_)
        unstarted = {j: _unstarted(session, round_, j) for j in loads}
        move = _find_move(loads, {j: [a.nomination_id for a in rows] for j, rows in unstarted.items()},
                          lambda j, n: (j, n) not in blocked, max_spread)
        if move is None:
            return moved
        hi, lo, nomination_id = move
        assignment = next(a for a in unstarted[hi] if a.nomination_id == nomination_id)
        reference = session.get(Nomination, nomination_id).reference
        session.delete(assignment)
        session.flush()
        _add_row(session, round_=round_, judge_id=lo, nomination_id=nomination_id,
                 reason=f"Moved from {names[hi]} ({loads[hi]} nominations, this one not yet started) to {names[lo]} "
                        f"({loads[lo]}) to keep loads within one after a change; {names[lo]} has no conflict with "
                        f"{reference}.")
        session.add(AuditEvent(round_id=round_.id, action="assignment-moved", actor=actor, detail={
            "nomination_id": nomination_id, "reference": reference, "from_judge_id": hi,
            "to_judge_id": lo}))
        moved += 1


def add_assignment(session: Session, *, round_: Round, judge_id: int, nomination_id: int, actor: str,
                   reason: str = "") -> Assignment:
    """Assign a nomination to a judge by hand. Refused for a conflicted pair."""
    judge = session.get(Judge, judge_id)
    nomination = session.get(Nomination, nomination_id)
    if judge is None:
        raise NotFound(f"No judge with id {judge_id}. List judges with `workbench judges list`.")
    if nomination is None or nomination.round_id != round_.id:
        raise NotFound(f"No nomination with id {nomination_id} in round {round_.name!r}.")
    conflict = session.scalar(select(Conflict).where(Conflict.judge_id == judge_id,
                                                     Conflict.nomination_id == nomination_id))
    if conflict is not None:
        raise NotAllowed(f"{judge.name} has a conflict of interest with {nomination.reference} ({conflict.source}: "
                         f"{conflict.reason}) and cannot be assigned it.")
    existing = session.scalar(select(Assignment).where(Assignment.round_id == round_.id,
                                                       Assignment.judge_id == judge_id,
                                                       Assignment.nomination_id == nomination_id))
    if existing is not None:
        if existing.status == ACTIVE:
            raise WorkbenchError(f"{nomination.reference} is already assigned to {judge.name}.")
        raise NotAllowed(f"{judge.name} was withdrawn from {nomination.reference} earlier; that decision stands.")
    assignment = _add_row(session, round_=round_, judge_id=judge_id, nomination_id=nomination_id,
                          reason=f"Assigned by hand by {actor or 'an organiser'}" + (f": {reason}" if reason else "."))
    session.add(AuditEvent(round_id=round_.id, action="assignment-added", actor=actor, detail={
        "judge_id": judge_id, "nomination_id": nomination_id, "reference": nomination.reference, "reason": reason}))
    session.flush()
    return assignment


def remove_assignment(session: Session, *, round_: Round, judge_id: int, nomination_id: int, actor: str,
                      reason: str) -> str:
    """Take a nomination off a judge by hand. Scores already given are withdrawn, not deleted."""
    if not reason.strip():
        raise WorkbenchError("Give a reason for removing the assignment; it goes in the audit trail.")
    from workbench.scoring import find_assignment, withdraw_scores

    assignment = find_assignment(session, round_=round_, judge_id=judge_id, nomination_id=nomination_id)
    reference = session.get(Nomination, nomination_id).reference
    if assignment.status != ACTIVE:
        raise WorkbenchError(f"{reference} is not an active assignment of this judge.")
    has_scores = session.scalar(select(ScoreEvent.id).where(ScoreEvent.assignment_id == assignment.id).limit(1))
    if has_scores is None:
        session.delete(assignment)
        outcome = f"{reference} removed from judge {judge_id} (no scores had been given)."
    else:
        count = withdraw_scores(session, assignment=assignment, actor=actor, reason=f"Removed by hand: {reason}")
        outcome = f"{reference} removed from judge {judge_id}; {count} score(s) withdrawn and kept in the history."
    session.add(AuditEvent(round_id=round_.id, action="assignment-removed", actor=actor, detail={
        "judge_id": judge_id, "nomination_id": nomination_id, "reference": reference, "reason": reason}))
    session.flush()
    return outcome


def explain(session: Session, *, round_: Round, judge_id: int, nomination_id: int) -> str:
    """Why this judge has (or has not) got this nomination, in one or two sentences."""
    judge = session.get(Judge, judge_id)
    nomination = session.get(Nomination, nomination_id)
    if judge is None or nomination is None or nomination.round_id != round_.id:
        raise NotFound(f"No judge {judge_id} or no nomination {nomination_id} in round {round_.name!r}.")
    assignment = session.scalar(select(Assignment).where(Assignment.round_id == round_.id,
                                                         Assignment.judge_id == judge_id,
                                                         Assignment.nomination_id == nomination_id))
    conflict = session.scalar(select(Conflict).where(Conflict.judge_id == judge_id,
                                                     Conflict.nomination_id == nomination_id))
    if assignment is not None and assignment.status == ACTIVE:
        return f"{judge.name} has {nomination.reference}: {assignment.reason}"
    if conflict is not None:
        return (f"{judge.name} does not have {nomination.reference}: conflict of interest ({conflict.source}). "
                f"{conflict.reason}")
    return (f"{judge.name} does not have {nomination.reference}: it went to the judges with lower loads "
            "(see their reasons).")


# ---------------------------------------------------------------------------------------
# From a CSV file

_NOMINATION_HEADERS = ("nomination", "reference", "nomination_id")
_JUDGE_HEADERS = ("judge", "judge_email", "email", "judge_id")


def import_allocation(session: Session, *, round_: Round, path: str | Path, actor: str = "") -> AllocationImport:
    """Add assignments from a CSV with columns ``nomination`` (reference such as N0001, or id)
    and ``judge`` (email or id). Every bad row is reported with its row number and skipped;
    the good rows are applied. Conflicted pairs are refused."""
    path = Path(path)
    report = AllocationImport(file=path.name)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise NotFound(f"There is no file {str(path)!r}.") from None
    except UnicodeDecodeError:
        raise WorkbenchError(f"{path.name} is not UTF-8 text; save it as 'CSV UTF-8' and try again.") from None
    reader = csv.reader(io.StringIO(text))
    header = [h.strip().casefold() for h in next(reader, [])]
    n_col = next((header.index(h) for h in _NOMINATION_HEADERS if h in header), None)
    j_col = next((header.index(h) for h in _JUDGE_HEADERS if h in header), None)
    if n_col is None or j_col is None:
        raise WorkbenchError(f"{path.name} needs a header row with the columns 'nomination' and 'judge' "
                             f"(found: {', '.join(header) or 'nothing'}).")
    by_ref = {}
    for nid, ref, key in session.execute(select(Nomination.id, Nomination.reference, Nomination.source_key)
                                         .where(Nomination.round_id == round_.id)):
        by_ref[ref.casefold()] = nid
        by_ref[str(nid)] = nid
        by_ref.setdefault(key.casefold(), nid)
    judges = {}
    for jid, email in session.execute(select(Judge.id, Judge.email)):
        judges[email.casefold()] = jid
        judges[str(jid)] = jid
    active = {(j, n) for j, n in session.execute(select(Assignment.judge_id, Assignment.nomination_id).where(
        Assignment.round_id == round_.id, Assignment.status == ACTIVE))}
    seen = set()
    for row_number, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        report.rows_read += 1
        n_raw = row[n_col].strip() if n_col < len(row) else ""
        j_raw = row[j_col].strip() if j_col < len(row) else ""
        nid = by_ref.get(n_raw.casefold())
        jid = judges.get(j_raw.casefold())
        if nid is None:
            report.problems.append(ImportLine(row_number, header[n_col], f"no nomination {n_raw!r} in round "
                                              f"{round_.name!r}; use a reference such as N0001."))
            continue
        if jid is None:
            report.problems.append(ImportLine(row_number, header[j_col], f"no judge {j_raw!r}; use the judge's "
                                              "email as listed by `workbench judges list`."))
            continue
        if (jid, nid) in seen:
            report.problems.append(ImportLine(row_number, None, f"the same pair ({n_raw}, {j_raw}) is on an earlier "
                                              "row; this row was ignored."))
            continue
        seen.add((jid, nid))
        if (jid, nid) in active:
            report.already += 1
            continue
        try:
            with session.begin_nested():
                add_assignment(session, round_=round_, judge_id=jid, nomination_id=nid, actor=actor,
                               reason=f"from {path.name} row {row_number}")
            report.added += 1
        except WorkbenchError as exc:
            report.problems.append(ImportLine(row_number, None, str(exc)))
    return report
