"""Judging: what a judge sees and does. The scoring app and the scoresheets both call this.

A judge sees only their own active assignments (:func:`judge_queue`). A nomination is shown
blind by default (:func:`nomination_view`): the answers and the rubric, never the equality
answers, and the nominee's name and organisation only when the round is not blind. Scores are
saved one at a time (:func:`save_score`, which appends a score event through
:func:`workbench.scoring.record_score`), then submitted (:func:`submit`), which locks them.
The other judges' scores are shown only after the judge has submitted, and only when the round
allows it (``Round.show_panel_after_submit``).

:class:`JudgeDesk` is the same service bound to one judge and one database, with a fresh
transaction per call: what a widget callback needs.

>>> from workbench.store import session_scope
>>> from workbench.rubric import load_rubric
>>> from workbench.panel import create_round, add_judge, add_nomination
>>> from workbench.allocation import allocate
>>> with session_scope("sqlite://") as s:
...     r = create_round(s, name="Doc", rubric=load_rubric("inclusive-leader"), judges_per_nomination=1)
...     j = add_judge(s, name="Ada", email="ada@example.org")
...     n = add_nomination(s, round_=r, source_key="1", answers={"Q1": "We ..."}, nominee={"name": "Sam"})
...     _ = allocate(s, round_=r, seed=1)
...     _ = save_score(s, round_=r, judge_id=j.id, nomination_id=n.id, criterion_id="Q1", value=3)
...     view = nomination_view(s, round_=r, judge_id=j.id, nomination_id=n.id)
...     (view.identity, view.questions[0].value, judge_queue(s, round_=r, judge_id=j.id).items[0].status)
(None, 3, 'In progress: 1 of 4 scored')
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workbench.errors import NotAllowed, NotFound
from workbench.panel import get_round, round_rubric
from workbench.scoring import SavedScore, judge_scores, record_score, submit_assignment
from workbench.store import Assignment, Judge, Nomination, Round, ScoreEvent, session_scope

#: Set by the server (``workbench serve``'s prelaunch hook) for the judge's kernel; never by the page.
JUDGE_ENV = "WORKBENCH_JUDGE_ID"
ROLE_ENV = "WORKBENCH_ROLE"
ROUND_ENV = "WORKBENCH_ROUND"

NOT_YOURS = "This nomination is not one of yours, so it cannot be shown. Choose one from your list."


@dataclass(frozen=True)
class QueueItem:
    nomination_id: int
    reference: str
    position: int
    scored: int
    criteria: int
    submitted: bool

    @property
    def status(self) -> str:
        if self.submitted:
            return "Submitted"
        if self.scored == 0:
            return "Not started"
        if self.scored == self.criteria:
            return "Ready to submit"
        return f"In progress: {self.scored} of {self.criteria} scored"


@dataclass(frozen=True)
class Queue:
    round_id: int
    round_name: str
    judge_id: int
    judge_name: str
    items: tuple[QueueItem, ...]

    @property
    def submitted(self) -> int:
        return sum(item.submitted for item in self.items)

    @property
    def total(self) -> int:
        return len(self.items)

    def describe(self) -> str:
        return f"{self.submitted} of {self.total} nominations submitted"


@dataclass(frozen=True)
class LevelView:
    value: int
    label: str
    descriptor: str


@dataclass(frozen=True)
class QuestionView:
    criterion_id: str
    title: str
    text: str
    answer: str
    guidance: str
    indicators: tuple[str, ...]
    levels: tuple[LevelView, ...]
    value: int | None
    comment: str
    event_id: int | None
    indicator_ids: tuple[str, ...] = ()
    word_limit: int = 500


@dataclass(frozen=True)
class PanelScore:
    judge: str  # "Judge A", "Judge B": other judges are not named
    criterion_id: str
    value: float | None
    comment: str


@dataclass(frozen=True)
class NominationView:
    nomination_id: int
    reference: str
    round_name: str
    rubric_title: str
    rubric_hash: str
    blind: bool
    identity: dict[str, str] | None  # only when the round is not blind: name and organisation
    guidance: tuple[str, ...]
    questions: tuple[QuestionView, ...]
    submitted: bool
    panel: tuple[PanelScore, ...] | None  # None until the judge has submitted (and the round allows it)

    @property
    def missing(self) -> list[str]:
        return [q.criterion_id for q in self.questions if q.value is None]


def round_for_judge(session: Session, *, judge_id: int, round_name: str | None = None) -> Round:
    """The round to show: the named one, else the newest round with work for this judge."""
    if round_name:
        round_ = session.scalar(select(Round).where(Round.name == round_name))
        if round_ is None:
            raise NotFound(f"There is no round called {round_name!r}. Ask the organiser for a new link.")
        return round_
    round_ = session.scalar(select(Round).join(Assignment, Assignment.round_id == Round.id)
                            .where(Assignment.judge_id == judge_id, Assignment.status == "active",
                                   Assignment.role == "judge")
                            .order_by(Round.id.desc()).limit(1))
    if round_ is None:
        try:
            round_ = get_round(session)  # the newest award round, never a unit-marking cohort
        except NotFound:
            raise NotFound("There is no judging round yet. The organiser will send your link when judging "
                           "opens.") from None
    return round_


def _judge(session: Session, judge_id: int) -> Judge:
    judge = session.get(Judge, judge_id)
    if judge is None or not judge.active:
        raise NotAllowed("This link is not valid any more. Ask the organiser for your personal link.")
    return judge


def _own_assignment(session: Session, *, round_: Round, judge_id: int, nomination_id: int) -> Assignment:
    assignment = session.scalar(select(Assignment).where(
        Assignment.round_id == round_.id, Assignment.judge_id == judge_id, Assignment.nomination_id == nomination_id,
        Assignment.status == "active", Assignment.role == "judge"))
    if assignment is None:
        raise NotAllowed(NOT_YOURS)
    return assignment


def judge_queue(session: Session, *, round_: Round, judge_id: int) -> Queue:
    """The judge's active assignments in review order, each with its progress."""
    judge = _judge(session, judge_id)
    criteria = len(round_rubric(session, round_, check_file=False).criteria)
    newest = (select(func.max(ScoreEvent.id)).where(ScoreEvent.round_id == round_.id,
                                                    ScoreEvent.judge_id == judge_id)
              .group_by(ScoreEvent.assignment_id, ScoreEvent.criterion_id))
    scored = dict(session.execute(
        select(ScoreEvent.assignment_id, func.count()).where(ScoreEvent.id.in_(newest),
                                                             ScoreEvent.value.is_not(None))
        .group_by(ScoreEvent.assignment_id)).all())
    rows = session.execute(
        select(Assignment, Nomination.reference).join(Nomination, Nomination.id == Assignment.nomination_id)
        .where(Assignment.round_id == round_.id, Assignment.judge_id == judge_id, Assignment.status == "active",
               Assignment.role == "judge")
        .order_by(Assignment.position, Assignment.id))
    items = tuple(QueueItem(a.nomination_id, reference, a.position, scored.get(a.id, 0), criteria,
                            a.submitted_at is not None) for a, reference in rows)
    return Queue(round_.id, round_.name, judge.id, judge.name, items)


def nomination_view(session: Session, *, round_: Round, judge_id: int, nomination_id: int) -> NominationView:
    """One of the judge's nominations: answers, rubric, their scores; identity only if not blind.

    Refused (:class:`NotAllowed`) for any nomination not actively assigned to this judge.
    """
    _judge(session, judge_id)
    assignment = _own_assignment(session, round_=round_, judge_id=judge_id, nomination_id=nomination_id)
    nomination = session.get(Nomination, nomination_id)
    rubric = round_rubric(session, round_, check_file=False)
    mine = judge_scores(session, round_=round_, judge_id=judge_id, nomination_id=nomination_id)
    questions = []
    for c in rubric.criteria:
        current = mine.get(c.id, {})
        questions.append(QuestionView(
            criterion_id=c.id, title=c.title, text=c.text, answer=nomination.answer(c.id), guidance=c.guidance,
            indicators=tuple(i.text for i in c.indicators),
            levels=tuple(LevelView(level.value, level.label, level.descriptor) for level in c.scale.levels),
            value=None if current.get("value") is None else int(current["value"]),
            comment=current.get("comment", ""), event_id=current.get("event_id"),
            indicator_ids=tuple(i.id for i in c.indicators), word_limit=rubric.word_limit))
    identity = None
    if not round_.blind and nomination.nominee is not None:
        identity = {"name": nomination.nominee.name, "organisation": nomination.nominee.organisation}
    submitted = assignment.submitted_at is not None
    panel = None
    if submitted and round_.show_panel_after_submit:
        panel = tuple(_panel(session, round_=round_, judge_id=judge_id, nomination_id=nomination_id))
    return NominationView(nomination.id, nomination.reference, round_.name, rubric.title, rubric.hash, round_.blind,
                          identity, tuple(rubric.guidance), tuple(questions), submitted, panel)


def _panel(session: Session, *, round_: Round, judge_id: int, nomination_id: int) -> list[PanelScore]:
    others = list(session.scalars(select(Assignment).where(
        Assignment.round_id == round_.id, Assignment.nomination_id == nomination_id, Assignment.status == "active",
        Assignment.judge_id != judge_id, Assignment.submitted_at.is_not(None)).order_by(Assignment.id)))
    out = []
    for index, other in enumerate(others):
        label = f"Judge {chr(ord('A') + index)}" if index < 26 else f"Judge {index + 1}"
        scores = judge_scores(session, round_=round_, judge_id=other.judge_id, nomination_id=nomination_id)
        for criterion_id in sorted(scores):
            out.append(PanelScore(label, criterion_id, scores[criterion_id]["value"], scores[criterion_id]["comment"]))
    return out


def panel_scores(session: Session, *, round_: Round, judge_id: int, nomination_id: int) -> list[PanelScore]:
    """The other judges' submitted scores, unnamed. Only after this judge has submitted, and only
    when the round shows the panel after submitting."""
    assignment = _own_assignment(session, round_=round_, judge_id=judge_id, nomination_id=nomination_id)
    if assignment.submitted_at is None:
        raise NotAllowed("Other judges' scores are shown only after you submit your own.")
    if not round_.show_panel_after_submit:
        raise NotAllowed("In this round the other judges' scores are not shown to judges.")
    return _panel(session, round_=round_, judge_id=judge_id, nomination_id=nomination_id)


def save_score(session: Session, *, round_: Round, judge_id: int, nomination_id: int, criterion_id: str, value,
               comment: str = "", rubric_hash: str | None = None, expected_event_id: int | None = None,
               source: str = "app") -> SavedScore:
    """Save one score (and its comment) as a new event; see :func:`workbench.scoring.record_score`."""
    judge = _judge(session, judge_id)
    _own_assignment(session, round_=round_, judge_id=judge_id, nomination_id=nomination_id)
    return record_score(session, round_=round_, judge_id=judge_id, nomination_id=nomination_id,
                        criterion_id=criterion_id, value=value, comment=comment, rubric_hash=rubric_hash,
                        actor=judge.email, source=source, expected_event_id=expected_event_id,
                        check_rubric_file=False)


def submit(session: Session, *, round_: Round, judge_id: int, nomination_id: int) -> NominationView:
    """Lock the judge's scores for the nomination (all questions must be scored)."""
    _judge(session, judge_id)
    _own_assignment(session, round_=round_, judge_id=judge_id, nomination_id=nomination_id)
    submit_assignment(session, round_=round_, judge_id=judge_id, nomination_id=nomination_id)
    return nomination_view(session, round_=round_, judge_id=judge_id, nomination_id=nomination_id)


def declare_own_conflict(session: Session, *, round_: Round, judge_id: int, nomination_id: int, reason: str):
    """A judge declares a conflict with one of their nominations (see :mod:`workbench.conflicts`)."""
    from workbench.conflicts import declare_conflict

    judge = _judge(session, judge_id)
    _own_assignment(session, round_=round_, judge_id=judge_id, nomination_id=nomination_id)
    return declare_conflict(session, round_=round_, judge_id=judge_id, nomination_id=nomination_id, reason=reason,
                            source="declared", actor=judge.email)


class JudgeDesk:
    """The judging service for one judge, one transaction per call (for the widget app).

    >>> desk = JudgeDesk(url="sqlite://", judge_id=1)  # nothing is read until a method is called
    """

    def __init__(self, *, url: str | None, judge_id: int, round_name: str | None = None):
        self.url, self.judge_id, self.round_name = url, int(judge_id), round_name
        self._round_id: int | None = None

    @contextlib.contextmanager
    def _round(self) -> Iterator[tuple[Session, Round]]:
        with session_scope(self.url) as session:
            if self._round_id is None:
                round_ = round_for_judge(session, judge_id=self.judge_id, round_name=self.round_name)
                self._round_id = round_.id
            else:
                round_ = session.get(Round, self._round_id)
            yield session, round_

    def queue(self) -> Queue:
        with self._round() as (s, r):
            return judge_queue(s, round_=r, judge_id=self.judge_id)

    def view(self, nomination_id: int) -> NominationView:
        with self._round() as (s, r):
            return nomination_view(s, round_=r, judge_id=self.judge_id, nomination_id=nomination_id)

    def save(self, *, nomination_id: int, criterion_id: str, value, comment: str = "",
             rubric_hash: str | None = None, expected_event_id: int | None = None) -> SavedScore:
        with self._round() as (s, r):
            return save_score(s, round_=r, judge_id=self.judge_id, nomination_id=nomination_id,
                              criterion_id=criterion_id, value=value, comment=comment, rubric_hash=rubric_hash,
                              expected_event_id=expected_event_id)

    def submit(self, nomination_id: int) -> NominationView:
        with self._round() as (s, r):
            return submit(s, round_=r, judge_id=self.judge_id, nomination_id=nomination_id)

    def declare_conflict(self, *, nomination_id: int, reason: str):
        with self._round() as (s, r):
            return declare_own_conflict(s, round_=r, judge_id=self.judge_id, nomination_id=nomination_id,
                                        reason=reason)


def judge_id_from_env(environ: Mapping[str, str]) -> int | None:
    """The judge id the server put in the kernel's environment, or None (no personal link used)."""
    raw = environ.get(JUDGE_ENV, "").strip()
    if environ.get(ROLE_ENV, "judge") != "judge" or not raw.isdigit():
        return None
    return int(raw)
