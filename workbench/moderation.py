"""Moderation: which nominations need a second look, and the moderator's decisions on the record.

Public API (the moderation app, the CLI and the export call these)::

    queue_rules(round_) -> QueueRules
    set_queue_rules(session, *, round_, rules, actor) -> QueueRules
    find_flags(scores, *, rubric, rules, judge_names=None, withdrawals=None) -> dict[int, list[Flag]]
    moderation_queue(session, *, round_, rules=None, include_resolved=False) -> list[QueueItem]
    nomination_for_moderation(session, *, round_, nomination_id) -> dict
    record_decision(session, *, round_, nomination_id, criterion_id, after=None, no_change=False,
                    reason_code, rationale, moderator) -> Decision
    moderated_scores(session, *, round_) -> pandas.DataFrame
    audit_trail(session, *, round_) -> pandas.DataFrame

**The queue.** A nomination is flagged, with a sentence saying why, when:

- ``range``: on a criterion, the highest score minus the lowest is at least
  ``range_threshold`` (default 2 points);
- ``sd``: on a criterion, the standard deviation of the judges' scores (n - 1 divisor) is
  above ``sd_limit`` (default 1.5);
- ``outlier``: a judge's weighted total differs from the median of the panel's totals by at
  least ``outlier_share`` of the possible range of totals (default 0.25: 5 points on a 0-20
  total). The median, not the mean, so one extreme judge does not make the others look
  extreme. Needs at least three judges with every criterion scored;
- ``too-few``: fewer than ``min_complete`` judges scored every criterion (default: the round's
  judges per nomination);
- ``withdrawn``: a judge's scores were withdrawn because of a conflict of interest.

Each rule is set per round in ``Round.settings["moderation"]`` (see :class:`QueueRules`); a
rule set to ``None`` (or ``flag_withdrawn=False``) is switched off.

**Decisions.** :func:`record_decision` appends a :class:`~workbench.store.ModerationEvent`:
the value before (the current moderated value if there is one, else the mean of the judges'
current scores), the value after (the moderated score, or the same value for "no change"),
who, when, the reason code (:data:`REASON_CODES`) and a written rationale. Nothing is updated
or deleted: the newest decision per nomination and criterion is the moderated score.

A flag is *resolved* once every criterion it covers has a decision recorded after the newest
score event on that criterion (a criterion flag covers its criterion; the other flags cover
every criterion). New scores re-open it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workbench.errors import NotFound, WorkbenchError
from workbench.panel import round_rubric
from workbench.rubric import Rubric
from workbench.scoring import current_scores
from workbench.store import (
    AuditEvent,
    Judge,
    ModerationEvent,
    Nomination,
    Round,
    ScoreEvent,
    utcnow,
)

#: Why a moderator changed (or kept) a score. Shown in the app, the CLI and the audit trail.
REASON_CODES: dict[str, str] = {
    "panel-agreed": "The panel discussed the nomination and agreed this score.",
    "evidence-overlooked": "A judge overlooked evidence that is in the answer.",
    "descriptor-misapplied": "A score did not match the rubric's level descriptor.",
    "outlying-judge": "One judge's score is out of line with the evidence and with the rest of the panel.",
    "conflict-withdrawn": "A judge's scores were withdrawn for a conflict of interest; the score is set from the "
                          "evidence and the remaining judges.",
    "too-few-scores": "Too few judges scored this in full; the moderator's score stands in.",
    "entry-error": "A score was entered wrongly (for example a typing slip).",
    "scores-stand": "The judges' scores reflect a genuine difference of view and stand as given.",
}

#: The rule codes a flag can carry, in the order they are checked.
RULES = ("range", "sd", "outlier", "too-few", "withdrawn")

#: The aggregate recorded as "before" when no moderated value exists yet.
BEFORE_AGGREGATE = "mean"


@dataclass(frozen=True)
class QueueRules:
    """The moderation rules for one round; ``None`` switches a rule off.

    ``min_complete=None`` means "the round's judges per nomination".

    >>> QueueRules.from_settings({"moderation": {"range_threshold": 3}}, judges_per_nomination=3)
    QueueRules(range_threshold=3.0, sd_limit=1.5, outlier_share=0.25, min_complete=3, flag_withdrawn=True)
    """

    range_threshold: float | None = 2.0
    sd_limit: float | None = 1.5
    outlier_share: float | None = 0.25
    min_complete: int | None = None
    flag_withdrawn: bool = True

    @classmethod
    def from_settings(cls, settings: Mapping | None, *, judges_per_nomination: int) -> QueueRules:
        stored = dict((settings or {}).get("moderation") or {})
        unknown = sorted(set(stored) - {f.name for f in fields(cls)})
        if unknown:
            raise WorkbenchError(f"Unknown moderation setting(s) {', '.join(unknown)} in the round's settings; "
                                 f"use: {', '.join(f.name for f in fields(cls))}.")
        rules = cls(**stored)
        rules.check()
        if rules.min_complete is None:
            rules = replace(rules, min_complete=judges_per_nomination)
        return rules

    def check(self) -> None:
        """Refuse settings that make no sense, saying which and why."""
        problems = []
        for name in ("range_threshold", "sd_limit", "outlier_share"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0):
                problems.append(f"{name} must be a positive number or None (off); got {value!r}")
        if self.outlier_share is not None and isinstance(self.outlier_share, (int, float)) and self.outlier_share > 1:
            problems.append(f"outlier_share is a share of the possible range, from 0 to 1 (e.g. 0.25); "
                            f"got {self.outlier_share!r}")
        if self.min_complete is not None and (isinstance(self.min_complete, bool)
                                              or not isinstance(self.min_complete, int) or self.min_complete < 1):
            problems.append(f"min_complete must be a whole number of judges, 1 or more; got {self.min_complete!r}")
        if not isinstance(self.flag_withdrawn, bool):
            problems.append(f"flag_withdrawn must be true or false; got {self.flag_withdrawn!r}")
        if problems:
            raise WorkbenchError("The moderation rules are not valid: " + "; ".join(problems) + ".")
        if self.range_threshold is not None:
            object.__setattr__(self, "range_threshold", float(self.range_threshold))
        if self.sd_limit is not None:
            object.__setattr__(self, "sd_limit", float(self.sd_limit))
        if self.outlier_share is not None:
            object.__setattr__(self, "outlier_share", float(self.outlier_share))

    def describe(self) -> list[str]:
        """The rules in words, for the app and the Method sheet."""
        lines = []
        if self.range_threshold is not None:
            lines.append(f"The highest minus the lowest score on a criterion is {self.range_threshold:g} points "
                         "or more.")
        if self.sd_limit is not None:
            lines.append(f"The standard deviation of the scores on a criterion is above {self.sd_limit:g}.")
        if self.outlier_share is not None:
            lines.append(f"A judge's total differs from the median of the judges' totals by "
                         f"{self.outlier_share:.0%} of the possible range or more.")
        if self.min_complete is not None:
            lines.append(f"Fewer than {self.min_complete} judges scored every criterion.")
        if self.flag_withdrawn:
            lines.append("A judge's scores were withdrawn because of a conflict of interest.")
        return lines


@dataclass(frozen=True)
class Flag:
    """One reason a nomination is in the queue. ``criterion`` is ``None`` for whole-nomination flags."""

    rule: str
    criterion: str | None
    reason: str


@dataclass
class QueueItem:
    nomination_id: int
    reference: str
    category: str | None
    flags: list[Flag]
    open_flags: list[Flag] = field(default_factory=list)

    @property
    def resolved(self) -> bool:
        return not self.open_flags

    def summary(self) -> str:
        state = "resolved" if self.resolved else f"{len(self.open_flags)} open"
        return f"{self.reference}: {len(self.flags)} flag(s), {state}"

    def to_dict(self) -> dict:
        return {"nomination_id": self.nomination_id, "reference": self.reference, "category": self.category,
                "resolved": self.resolved, "flags": [asdict(f) for f in self.flags],
                "open_flags": [asdict(f) for f in self.open_flags]}


@dataclass(frozen=True)
class Decision:
    """A recorded moderation decision (one :class:`~workbench.store.ModerationEvent`)."""

    id: int
    nomination_id: int
    reference: str
    criterion: str
    before: float | None
    after: float | None
    no_change: bool
    reason_code: str
    rationale: str
    moderator: str
    at: datetime

    def describe(self) -> str:
        if self.no_change:
            return (f"{self.reference} {self.criterion}: no change ({_fmt(self.before)} stands), "
                    f"recorded by {self.moderator}.")
        return (f"{self.reference} {self.criterion}: {_fmt(self.before)} → {_fmt(self.after)}, "
                f"recorded by {self.moderator}.")


def _fmt(value: float | None) -> str:
    if value is None or value != value:
        return "no score"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _points(value: float) -> str:
    return f"{_fmt(value)} point{'' if round(value, 2) == 1 else 's'}"


# ---------------------------------------------------------------------------------------
# Rules


def queue_rules(round_: Round) -> QueueRules:
    """The round's moderation rules (defaults where the round's settings say nothing)."""
    return QueueRules.from_settings(round_.settings, judges_per_nomination=round_.judges_per_nomination)


def set_queue_rules(session: Session, *, round_: Round, rules: QueueRules, actor: str) -> QueueRules:
    """Store the round's moderation rules (with an audit line) and return them as they now apply."""
    rules.check()
    settings = dict(round_.settings or {})
    before = settings.get("moderation", {})
    stored = {f.name: getattr(rules, f.name) for f in fields(rules)}
    settings["moderation"] = stored
    round_.settings = settings  # a new dict, so SQLAlchemy sees the change
    session.add(AuditEvent(round_id=round_.id, action="moderation-rules-set", actor=actor,
                           detail={"before": before, "after": stored}))
    session.flush()
    return queue_rules(round_)


def find_flags(
    scores: pd.DataFrame,
    *,
    rubric: Rubric,
    rules: QueueRules,
    judge_names: Mapping | None = None,
    withdrawals: Mapping[int, list[str]] | None = None,
) -> dict[int, list[Flag]]:
    """Flags per nomination from a long table of current scores (``nomination, judge, criterion, score``).

    ``withdrawals`` maps a nomination to sentences about withdrawn scores (one per judge).
    Only nominations with at least one flag appear, each flag with a plain-English reason.

    >>> from workbench.rubric import load_rubric
    >>> rows = [(1, j, c, s) for j, s in (("Ann", 1), ("Bo", 4), ("Cy", 2)) for c in ("Q1", "Q2", "Q3", "Q4")]
    >>> flags = find_flags(pd.DataFrame(rows, columns=["nomination", "judge", "criterion", "score"]),
    ...                    rubric=load_rubric("inclusive-leader"), rules=QueueRules(sd_limit=None, min_complete=3))
    >>> [f.reason for f in flags[1]][0]
    'Q1: the scores run from 1 to 4, a spread of 3 points; the limit is 2.'
    >>> [f.reason for f in flags[1] if f.rule == "outlier"]
    ["Bo's total is 16 of 20, 8 points above the median of the judges' totals (8); the limit is 5 points."]
    """
    names = judge_names or {}
    flags: dict[int, list[Flag]] = defaultdict(list)
    data = scores.loc[scores["score"].notna(), ["nomination", "judge", "criterion", "score"]]
    order = {c: i for i, c in enumerate(rubric.criterion_ids)}
    if len(data):
        cell = data.groupby(["nomination", "criterion"], sort=False)["score"].agg(["min", "max", "std", "count"])
        cell = cell.reset_index()
        cell["order"] = cell["criterion"].map(order)
        cell = cell.sort_values(["nomination", "order"], kind="stable")
        spread = cell["max"] - cell["min"]
        if rules.range_threshold is not None:
            hit = cell[(spread >= rules.range_threshold - 1e-9) & (cell["count"] >= 2)]
            for nomination, criterion, low, high in hit[["nomination", "criterion", "min", "max"]].itertuples(
                    index=False):
                flags[nomination].append(Flag("range", criterion, (
                    f"{criterion}: the scores run from {_fmt(low)} to {_fmt(high)}, a spread of "
                    f"{_points(high - low)}; the limit is {rules.range_threshold:g}.")))
        if rules.sd_limit is not None:
            hit = cell[(cell["std"] > rules.sd_limit + 1e-9) & (cell["count"] >= 2)]
            for nomination, criterion, sd in hit[["nomination", "criterion", "std"]].itertuples(index=False):
                flags[nomination].append(Flag("sd", criterion, (
                    f"{criterion}: the judges' scores vary widely (standard deviation {sd:.2f}, above the limit "
                    f"of {rules.sd_limit:g}).")))
    totals = judge_totals(data, rubric=rubric)
    if rules.outlier_share is not None and len(totals):
        low = sum(c.weight * c.scale.min for c in rubric.criteria)
        high = sum(c.weight * c.scale.max for c in rubric.criteria)
        limit = rules.outlier_share * (high - low)
        group = totals.groupby("nomination")["total"]
        count, median = group.transform("count"), group.transform("median")
        gap = totals["total"] - median
        marked = totals.assign(median=median, gap=gap)
        hit = marked[(count >= 3) & (gap.abs() >= limit - 1e-9)]
        for row in hit.sort_values(["nomination", "judge"], kind="stable").itertuples(index=False):
            side = "above" if row.gap > 0 else "below"
            who = names.get(row.judge, row.judge if isinstance(row.judge, str) else f"Judge {row.judge}")
            flags[row.nomination].append(Flag("outlier", None, (
                f"{who}'s total is {_fmt(row.total)} of {high:g}, {_points(abs(row.gap))} {side} the median of the "
                f"judges' totals ({_fmt(row.median)}); the limit is {_points(limit)}.")))
    if rules.min_complete is not None:
        complete = totals.groupby("nomination")["judge"].count() if len(totals) else pd.Series(dtype=int)
        for nomination in sorted(set(scores["nomination"].unique())):
            n = int(complete.get(nomination, 0))
            if n < rules.min_complete:
                flags[nomination].append(Flag("too-few", None, (
                    f"Only {n} of the {rules.min_complete} judges needed scored every criterion.")))
    if rules.flag_withdrawn:
        for nomination, sentences in (withdrawals or {}).items():
            for sentence in sentences:
                flags[nomination].append(Flag("withdrawn", None, sentence))
    rank = {rule: i for i, rule in enumerate(RULES)}
    return {n: sorted(f, key=lambda flag: (rank[flag.rule], order.get(flag.criterion, -1)))
            for n, f in sorted(flags.items())}


def judge_totals(scores: pd.DataFrame, *, rubric: Rubric) -> pd.DataFrame:
    """Each judge's weighted total per nomination, for judges who scored every criterion.

    Columns: ``nomination``, ``judge``, ``total``. A judge with a criterion unscored has no
    total (it is never counted as zero).
    """
    data = scores.loc[scores["score"].notna() & scores["criterion"].isin(rubric.criterion_ids)]
    if not len(data):
        return pd.DataFrame({"nomination": [], "judge": [], "total": []})
    weights = {c.id: c.weight for c in rubric.criteria}
    weighted = data["score"].to_numpy(dtype=float) * data["criterion"].map(weights).to_numpy(dtype=float)
    frame = pd.DataFrame({"nomination": data["nomination"].to_numpy(), "judge": data["judge"].to_numpy(),
                          "w": weighted})
    grouped = frame.groupby(["nomination", "judge"], sort=True)["w"].agg(["sum", "count"])
    grouped = grouped[grouped["count"] == len(rubric.criteria)]
    return pd.DataFrame({"nomination": grouped.index.get_level_values(0),
                         "judge": grouped.index.get_level_values(1),
                         "total": grouped["sum"].to_numpy(dtype=float)})


# ---------------------------------------------------------------------------------------
# Reading the round


def _nomination(session: Session, round_: Round, nomination_id: int) -> Nomination:
    nomination = session.get(Nomination, nomination_id)
    if nomination is None or nomination.round_id != round_.id:
        raise NotFound(f"No nomination with id {nomination_id} in round {round_.name!r}.")
    return nomination


def nomination_by_reference(session: Session, *, round_: Round, reference: str) -> Nomination:
    """A nomination by its reference (``N0007``) or its id."""
    text = str(reference).strip()
    nomination = session.scalar(select(Nomination).where(Nomination.round_id == round_.id,
                                                         func.upper(Nomination.reference) == text.upper()))
    if nomination is None and text.isdigit():
        nomination = session.get(Nomination, int(text))
        if nomination is not None and nomination.round_id != round_.id:
            nomination = None
    if nomination is None:
        raise NotFound(f"No nomination {text!r} in round {round_.name!r}. Use a reference such as N0001 "
                       "(see `workbench moderation queue`).")
    return nomination


def _judge_names(session: Session) -> dict[int, str]:
    return dict(session.execute(select(Judge.id, Judge.name)).all())


def withdrawals_by_nomination(session: Session, *, round_: Round) -> dict[int, list[str]]:
    """A sentence per judge whose scores on a nomination were withdrawn (conflict of interest)."""
    names = _judge_names(session)
    rows = session.execute(
        select(ScoreEvent.nomination_id, ScoreEvent.judge_id, func.min(ScoreEvent.created_at))
        .where(ScoreEvent.round_id == round_.id, ScoreEvent.kind == "withdrawn")
        .group_by(ScoreEvent.nomination_id, ScoreEvent.judge_id)
        .order_by(ScoreEvent.nomination_id, ScoreEvent.judge_id)
    ).all()
    out: dict[int, list[str]] = defaultdict(list)
    seen = set()
    for nomination_id, judge_id, at in rows:
        seen.add((nomination_id, judge_id))
        out[nomination_id].append(
            f"{names.get(judge_id, f'Judge {judge_id}')}'s scores were withdrawn on {at:%d %b %Y} because of a "
            "conflict of interest.")
    # A withdrawal recorded in the audit trail before any score was given leaves no score event.
    for event in session.scalars(select(AuditEvent).where(AuditEvent.round_id == round_.id,
                                                          AuditEvent.action == "conflict-withdrawal")
                                 .order_by(AuditEvent.id)):
        key = (event.detail.get("nomination_id"), event.detail.get("judge_id"))
        if None in key or key in seen:
            continue
        seen.add(key)
        out[key[0]].append(f"{names.get(key[1], f'Judge {key[1]}')} was withdrawn on {event.created_at:%d %b %Y} "
                           "because of a conflict of interest.")
    return dict(out)


def _latest_score_times(session: Session, round_: Round) -> dict[tuple[int, str], datetime]:
    rows = session.execute(
        select(ScoreEvent.nomination_id, ScoreEvent.criterion_id, func.max(ScoreEvent.created_at))
        .where(ScoreEvent.round_id == round_.id)
        .group_by(ScoreEvent.nomination_id, ScoreEvent.criterion_id)
    ).all()
    return {(n, c): at for n, c, at in rows}


def _latest_decisions(session: Session, round_: Round) -> dict[tuple[int, str], ModerationEvent]:
    newest = (select(func.max(ModerationEvent.id)).where(ModerationEvent.round_id == round_.id)
              .group_by(ModerationEvent.nomination_id, ModerationEvent.criterion_id))
    events = session.scalars(select(ModerationEvent).where(ModerationEvent.id.in_(newest)))
    return {(e.nomination_id, e.criterion_id): e for e in events}


def moderation_queue(
    session: Session, *, round_: Round, rules: QueueRules | None = None, include_resolved: bool = False
) -> list[QueueItem]:
    """Flagged nominations in reference order; resolved ones only with ``include_resolved``."""
    rubric = round_rubric(session, round_, check_file=False)
    rules = rules or queue_rules(round_)
    scores = current_scores(session, round_=round_)
    active = session.execute(select(Nomination.id, Nomination.reference, Nomination.category)
                             .where(Nomination.round_id == round_.id, Nomination.status == "active")
                             .order_by(Nomination.id)).all()
    active_ids = {n for n, _, _ in active}
    # Every active nomination counts for the "too few" rule, scored or not.
    present = set(scores["nomination"].unique())
    blanks = pd.DataFrame([(n, None, rubric.criterion_ids[0], np.nan) for n in sorted(active_ids - present)],
                          columns=["nomination", "judge", "criterion", "score"])
    table = scores[scores["nomination"].isin(active_ids)][["nomination", "judge", "criterion", "score"]]
    table = pd.concat([table, blanks], ignore_index=True) if len(blanks) else table
    flags = find_flags(table, rubric=rubric, rules=rules, judge_names=_judge_names(session),
                       withdrawals=withdrawals_by_nomination(session, round_=round_))
    scored_at = _latest_score_times(session, round_)
    decided = _latest_decisions(session, round_)

    def covered(nomination_id: int, criterion: str) -> bool:
        decision = decided.get((nomination_id, criterion))
        if decision is None:
            return False
        last = scored_at.get((nomination_id, criterion))
        return last is None or decision.created_at >= last

    items = []
    for nomination_id, reference, category in active:
        found = flags.get(nomination_id)
        if not found:
            continue
        open_flags = [f for f in found if not all(
            covered(nomination_id, c) for c in ([f.criterion] if f.criterion else rubric.criterion_ids))]
        item = QueueItem(nomination_id, reference, category, found, open_flags)
        if include_resolved or not item.resolved:
            items.append(item)
    return items


def nomination_for_moderation(session: Session, *, round_: Round, nomination_id: int) -> dict:
    """What a moderator reads for one nomination: answers, judges' scores and comments, flags, decisions.

    No nominee identity and no equality answers. Returns ``{"reference", "category", "flags",
    "criteria": [{"id", "title", "text", "answer", "scale", "weight", "scores": [{"judge", "score",
    "comment"}], "mean", "moderated", "decision"}]}``.
    """
    nomination = _nomination(session, round_, nomination_id)
    rubric = round_rubric(session, round_, check_file=False)
    names = _judge_names(session)
    scores = current_scores(session, round_=round_)
    mine = scores[scores["nomination"] == nomination_id]
    decided = _latest_decisions(session, round_)
    queue = {item.nomination_id: item for item in moderation_queue(session, round_=round_, include_resolved=True)}
    item = queue.get(nomination_id)
    criteria = []
    for criterion in rubric.criteria:
        rows = mine[mine["criterion"] == criterion.id].sort_values("judge")
        given = [{"judge": names.get(j, f"Judge {j}"), "judge_id": int(j),
                  "score": None if s != s else float(s), "comment": c}
                 for j, s, c in rows[["judge", "score", "comment"]].itertuples(index=False)]
        values = [g["score"] for g in given if g["score"] is not None]
        decision = decided.get((nomination_id, criterion.id))
        criteria.append({
            "id": criterion.id, "title": criterion.title, "text": criterion.text,
            "answer": nomination.answer(criterion.id), "scale": criterion.scale, "weight": criterion.weight,
            "scores": given, "mean": float(np.mean(values)) if values else None,
            "moderated": None if decision is None else decision.after,
            "decision": None if decision is None else _decision(decision, nomination.reference),
        })
    return {"nomination_id": nomination.id, "reference": nomination.reference, "category": nomination.category,
            "flags": item.flags if item else [], "open_flags": item.open_flags if item else [],
            "criteria": criteria}


# ---------------------------------------------------------------------------------------
# Decisions


def _decision(event: ModerationEvent, reference: str) -> Decision:
    return Decision(event.id, event.nomination_id, reference, event.criterion_id, event.before, event.after,
                    event.no_change, event.reason_code, event.rationale, event.moderator, event.created_at)


def current_value(session: Session, *, round_: Round, nomination_id: int, criterion_id: str) -> float | None:
    """The value a decision would replace: the newest moderated value, else the mean of the judges' scores."""
    decision = session.scalar(select(ModerationEvent).where(
        ModerationEvent.round_id == round_.id, ModerationEvent.nomination_id == nomination_id,
        ModerationEvent.criterion_id == criterion_id).order_by(ModerationEvent.id.desc()).limit(1))
    if decision is not None:
        return decision.after
    scores = current_scores(session, round_=round_)
    values = scores.loc[(scores["nomination"] == nomination_id) & (scores["criterion"] == criterion_id), "score"]
    values = values.dropna()
    return float(values.mean()) if len(values) else None


def record_decision(
    session: Session,
    *,
    round_: Round,
    nomination_id: int,
    criterion_id: str,
    after=None,
    no_change: bool = False,
    reason_code: str,
    rationale: str,
    moderator: str,
) -> Decision:
    """Record a moderated score (``after``), or ``no_change=True``, with a reason code and rationale.

    ``after`` is checked against the criterion's scale (a number or a level label). The value
    before is worked out here (see the module notes), never taken from the caller.
    """
    nomination = _nomination(session, round_, nomination_id)
    rubric = round_rubric(session, round_, check_file=False)
    criterion = rubric.criterion(criterion_id)
    problems = []
    if no_change and after not in (None, ""):
        problems.append("choose either a moderated score or 'no change', not both")
    if not no_change and after in (None, ""):
        problems.append(f"give the moderated score for {criterion_id} ({criterion.scale.describe()}), "
                        "or choose 'no change'")
    value = None
    if not no_change and after not in (None, ""):
        try:
            value = float(rubric.parse_score(criterion_id, after))
        except WorkbenchError as exc:
            problems.append(str(exc).rstrip("."))
    if reason_code not in REASON_CODES:
        problems.append(f"the reason code {reason_code!r} is not one of: {', '.join(REASON_CODES)}")
    rationale = (rationale or "").strip()
    if len(rationale) < 10:
        problems.append("write a rationale of at least a sentence saying why (it goes in the audit trail)")
    moderator = (moderator or "").strip()
    if not moderator:
        problems.append("say who is recording the decision (the moderator's name)")
    if problems:
        raise WorkbenchError("The decision was not recorded: " + "; ".join(problems) + ".")
    before = current_value(session, round_=round_, nomination_id=nomination_id, criterion_id=criterion_id)
    if no_change:
        if before is None:
            raise WorkbenchError(f"{nomination.reference} has no score on {criterion_id} yet, so there is nothing to "
                                 "keep unchanged; give a moderated score instead.")
        value = before
    event = ModerationEvent(
        round_id=round_.id, nomination_id=nomination_id, criterion_id=criterion_id, before=before, after=value,
        no_change=bool(no_change), reason_code=reason_code, rationale=rationale, moderator=moderator,
        rubric_hash=rubric.hash, created_at=utcnow(),
    )
    session.add(event)
    session.flush()
    return _decision(event, nomination.reference)


def moderated_scores(session: Session, *, round_: Round) -> pd.DataFrame:
    """The newest decision per (nomination, criterion).

    Columns: nomination, criterion, before, after, no_change, decision_id, moderator, at.
    """
    rows = [(e.nomination_id, e.criterion_id, e.before, e.after, e.no_change, e.id, e.moderator, e.created_at)
            for e in sorted(_latest_decisions(session, round_).values(), key=lambda e: e.id)]
    return pd.DataFrame(rows, columns=["nomination", "criterion", "before", "after", "no_change", "decision_id",
                                       "moderator", "at"])


AUDIT_COLUMNS = ["decision_id", "nomination", "reference", "criterion", "before", "after", "no_change",
                 "reason_code", "reason", "rationale", "moderator", "at", "rubric_hash"]


def audit_trail(session: Session, *, round_: Round) -> pd.DataFrame:
    """Every moderation decision, oldest first: before, after, who, when and why."""
    rows = session.execute(
        select(ModerationEvent, Nomination.reference)
        .join(Nomination, Nomination.id == ModerationEvent.nomination_id)
        .where(ModerationEvent.round_id == round_.id)
        .order_by(ModerationEvent.id)
    ).all()
    return pd.DataFrame(
        [(e.id, e.nomination_id, reference, e.criterion_id, e.before, e.after, e.no_change, e.reason_code,
          REASON_CODES.get(e.reason_code, ""), e.rationale, e.moderator, e.created_at, e.rubric_hash)
         for e, reference in rows],
        columns=AUDIT_COLUMNS,
    )
