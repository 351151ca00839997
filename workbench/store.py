"""The database: SQLAlchemy models, the engine and sessions.

SQLite at ``./workbench.db`` is the default; set ``--db URL`` or ``WORKBENCH_DB`` for another
file or for PostgreSQL (``postgresql+psycopg://user@host/dbname``). The schema is created and
upgraded by Alembic migrations in ``workbench/migrations``.

Rules kept here:

- nominee identity (:class:`Nominee`) and equality-monitoring answers (:class:`EqualityAnswer`)
  live in their own tables, apart from the answers judges read (:class:`Answer`);
- scores are append-only :class:`ScoreEvent` rows; the current score is the newest event for
  (assignment, criterion). Never update or delete a score event;
- every score event carries the rubric hash it was given under;
- moderation decisions are append-only :class:`ModerationEvent` rows.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    inspect,
)
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship, sessionmaker

DEFAULT_DB_FILE = "workbench.db"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class UtcDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class RubricVersion(Base):
    """One exact version of a rubric, stored by its content hash."""

    __tablename__ = "rubric_versions"
    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    rubric_id: Mapped[str] = mapped_column(String(100), index=True)
    title: Mapped[str] = mapped_column(String(300))
    document: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Round(Base):
    """A judging round: one rubric version, k judges per nomination, its own settings."""

    __tablename__ = "rounds"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    rubric_hash: Mapped[str] = mapped_column(ForeignKey("rubric_versions.hash"))
    judges_per_nomination: Mapped[int] = mapped_column(Integer, default=3)
    blind: Mapped[bool] = mapped_column(Boolean, default=True)
    show_panel_after_submit: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="open")
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    rubric_version: Mapped[RubricVersion] = relationship()
    nominations: Mapped[list[Nomination]] = relationship(back_populates="round", order_by="Nomination.id")


class Nomination(Base):
    """What judges read: the answers, with no identity."""

    __tablename__ = "nominations"
    __table_args__ = (UniqueConstraint("round_id", "source_key", name="uq_nomination_source"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    reference: Mapped[str] = mapped_column(String(40))
    source_key: Mapped[str] = mapped_column(String(200))
    source_file: Mapped[str | None] = mapped_column(String(500), nullable=True)
    source_row: Mapped[int | None] = mapped_column(Integer, nullable=True)
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    category: Mapped[str | None] = mapped_column(String(200), nullable=True)
    status: Mapped[str] = mapped_column(String(30), default="active")
    content_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    extra: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)

    round: Mapped[Round] = relationship(back_populates="nominations")
    answers: Mapped[list[Answer]] = relationship(
        back_populates="nomination", cascade="all, delete-orphan", order_by="Answer.criterion_id"
    )
    nominee: Mapped[Nominee | None] = relationship(back_populates="nomination", cascade="all, delete-orphan",
                                                   uselist=False)

    def answer(self, criterion_id: str) -> str:
        for answer in self.answers:
            if answer.criterion_id == criterion_id:
                return answer.text
        return ""


class Answer(Base):
    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("nomination_id", "criterion_id", name="uq_answer"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nomination_id: Mapped[int] = mapped_column(ForeignKey("nominations.id", ondelete="CASCADE"), index=True)
    criterion_id: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text, default="")

    nomination: Mapped[Nomination] = relationship(back_populates="answers")


class Nominee(Base):
    """Who was nominated, and by whom. Kept apart so judging can be blind."""

    __tablename__ = "nominees"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nomination_id: Mapped[int] = mapped_column(ForeignKey("nominations.id", ondelete="CASCADE"), unique=True)
    name: Mapped[str] = mapped_column(String(300), default="")
    email: Mapped[str] = mapped_column(String(300), default="")
    job_title: Mapped[str] = mapped_column(String(300), default="")
    organisation: Mapped[str] = mapped_column(String(300), default="")
    team: Mapped[str] = mapped_column(String(300), default="")
    nominator_name: Mapped[str] = mapped_column(String(300), default="")
    nominator_email: Mapped[str] = mapped_column(String(300), default="")

    nomination: Mapped[Nomination] = relationship(back_populates="nominee")


class EqualityAnswer(Base):
    """Equality-monitoring answers (special-category data). Organisers only, never judges."""

    __tablename__ = "equality_answers"
    __table_args__ = (UniqueConstraint("nomination_id", "characteristic", name="uq_equality_answer"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nomination_id: Mapped[int] = mapped_column(ForeignKey("nominations.id", ondelete="CASCADE"), index=True)
    characteristic: Mapped[str] = mapped_column(String(60))
    value: Mapped[str] = mapped_column(String(300), default="")


class Judge(Base):
    __tablename__ = "judges"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    email: Mapped[str] = mapped_column(String(300), unique=True)
    organisation: Mapped[str] = mapped_column(String(300), default="")
    token_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Conflict(Base):
    """A conflict of interest between a judge and a nomination: declared or detected."""

    __tablename__ = "conflicts"
    __table_args__ = (UniqueConstraint("judge_id", "nomination_id", name="uq_conflict"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    judge_id: Mapped[int] = mapped_column(ForeignKey("judges.id"), index=True)
    nomination_id: Mapped[int] = mapped_column(ForeignKey("nominations.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(30))  # declared | organisation | nominator | organiser
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Assignment(Base):
    """A judge's job to score one nomination in a round."""

    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("round_id", "judge_id", "nomination_id", name="uq_assignment"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    judge_id: Mapped[int] = mapped_column(ForeignKey("judges.id"), index=True)
    nomination_id: Mapped[int] = mapped_column(ForeignKey("nominations.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="active")  # active | withdrawn
    #: ``judge`` (award judging), ``assessor`` (first marker) or ``iqa`` (second marker), see workbench.marking
    role: Mapped[str] = mapped_column(String(20), default="judge", server_default="judge")
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    judge: Mapped[Judge] = relationship()
    nomination: Mapped[Nomination] = relationship()


class ScoreEvent(Base):
    """One score as given. Append-only: the newest event per (assignment, criterion) is current.

    ``value`` is ``None`` when a judge clears a score. ``kind`` is ``score`` for a judge's
    entry and ``withdrawn`` when a conflict withdraws the judge (the history stays).
    """

    __tablename__ = "score_events"
    __table_args__ = (Index("ix_score_current", "assignment_id", "criterion_id", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), index=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    judge_id: Mapped[int] = mapped_column(ForeignKey("judges.id"))
    nomination_id: Mapped[int] = mapped_column(ForeignKey("nominations.id", ondelete="CASCADE"))
    criterion_id: Mapped[str] = mapped_column(String(40))
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    comment: Mapped[str] = mapped_column(Text, default="")
    rubric_hash: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20), default="score")
    source: Mapped[str] = mapped_column(String(30), default="app")  # app | scoresheet | csv | demo
    created_by: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ModerationEvent(Base):
    """A moderator's decision on one criterion of one nomination. Append-only."""

    __tablename__ = "moderation_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    nomination_id: Mapped[int] = mapped_column(ForeignKey("nominations.id", ondelete="CASCADE"), index=True)
    criterion_id: Mapped[str] = mapped_column(String(40))
    before: Mapped[float | None] = mapped_column(Float, nullable=True)
    after: Mapped[float | None] = mapped_column(Float, nullable=True)
    no_change: Mapped[bool] = mapped_column(Boolean, default=False)
    reason_code: Mapped[str] = mapped_column(String(40))
    rationale: Mapped[str] = mapped_column(Text, default="")
    moderator: Mapped[str] = mapped_column(String(300))
    rubric_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Submission(Base):
    """A learner's written work in unit marking (what assessors read); identity stays in :class:`Nominee`.

    One per nomination. Kept out of :class:`Answer` because it answers the whole unit, not one
    rubric criterion.
    """

    __tablename__ = "submissions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nomination_id: Mapped[int] = mapped_column(ForeignKey("nominations.id", ondelete="CASCADE"), unique=True)
    text: Mapped[str] = mapped_column(Text, default="")
    word_count: Mapped[int] = mapped_column(Integer, default=0)
    source_file: Mapped[str | None] = mapped_column(String(500), nullable=True)
    source_format: Mapped[str] = mapped_column(String(10), default="")  # docx | txt | xlsx | csv
    content_hash: Mapped[str] = mapped_column(String(64), default="")

    nomination: Mapped[Nomination] = relationship()


class CheckEvent(Base):
    """A rubric check (e.g. a common misconception) ticked or unticked by a marker. Append-only:
    the newest event per (assignment, check) is current, as for :class:`ScoreEvent`."""

    __tablename__ = "check_events"
    __table_args__ = (Index("ix_check_current", "assignment_id", "check_id", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), index=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    judge_id: Mapped[int] = mapped_column(ForeignKey("judges.id"))
    nomination_id: Mapped[int] = mapped_column(ForeignKey("nominations.id", ondelete="CASCADE"))
    check_id: Mapped[str] = mapped_column(String(40))
    ticked: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(Text, default="")
    rubric_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class AccessToken(Base):
    """The hash of a secret link for a role other than judge (``organiser``); judges' are on :class:`Judge`.

    Only the SHA-256 of the token is stored. Issuing a new one revokes the old (``revoked_at``).
    """

    __tablename__ = "access_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    role: Mapped[str] = mapped_column(String(30), index=True)
    label: Mapped[str] = mapped_column(String(300), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class AuditEvent(Base):
    """Everything else worth a line in the audit trail: conflicts, withdrawals, migrations."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int | None] = mapped_column(ForeignKey("rounds.id"), nullable=True, index=True)
    action: Mapped[str] = mapped_column(String(60))
    actor: Mapped[str] = mapped_column(String(300), default="")
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)




# ---------------------------------------------------------------------------------------
# Engine and sessions


def database_url(url: str | None = None) -> str:
    """The database URL: the argument, else ``WORKBENCH_DB``, else ``./workbench.db``.

    A plain file path is accepted and turned into an SQLite URL.
    """
    url = url or os.environ.get("WORKBENCH_DB") or DEFAULT_DB_FILE
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser().resolve()}"
    return url


def describe_url(url: str) -> str:
    """A URL safe to print: the password hidden, SQLite as its file path."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"SQLite file {parsed.database}"
    return parsed.render_as_string(hide_password=True)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # Take the write lock at the start so two writers queue instead of failing or
        # silently working from a stale snapshot.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


_ENGINES: dict[str, Engine] = {}


def _in_memory(url: str) -> bool:
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:")
_ENGINES_LOCK = threading.Lock()


def get_engine(url: str | None = None, *, migrate: bool = True) -> Engine:
    """A shared engine for the URL, with the schema brought up to date on first use."""
    url = database_url(url)
    if _in_memory(url):
        # Each in-memory database is private and starts empty; never shared or cached.
        engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
        _configure_sqlite(engine)
        if migrate:
            from workbench.migrations import upgrade

            upgrade(engine)
        return engine
    with _ENGINES_LOCK:
        engine = _ENGINES.get(url)
        if engine is None:
            if url.startswith("sqlite"):
                path = make_url(url).database
                if path and path != ":memory:":
                    Path(path).parent.mkdir(parents=True, exist_ok=True)
                engine = create_engine(url, connect_args={"timeout": 30})
                _configure_sqlite(engine)
            else:
                engine = create_engine(url, pool_pre_ping=True)
            if migrate:
                from workbench.migrations import upgrade

                upgrade(engine)
            _ENGINES[url] = engine
    return engine


def dispose_engines() -> None:
    """Close every pooled connection (tests and forked processes call this)."""
    with _ENGINES_LOCK:
        for engine in _ENGINES.values():
            engine.dispose()
        _ENGINES.clear()


@contextlib.contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A session in one transaction: committed on success, rolled back on any error.

    ``"sqlite://"`` gives a private in-memory database that lasts for this session only.

    >>> with session_scope("sqlite://") as session:
    ...     session.query(Judge).count()
    0
    """
    engine = get_engine(url)
    session = sessionmaker(bind=engine, expire_on_commit=False)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
        if _in_memory(database_url(url)):
            engine.dispose()


def table_names(url: str | None = None) -> list[str]:
    return sorted(inspect(get_engine(url)).get_table_names())


def row_as_dict(row: Any) -> dict:
    return {c.key: getattr(row, c.key) for c in row.__table__.columns}
