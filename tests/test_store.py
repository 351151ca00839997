"""The store: append-only scores, rubric hashes, migrations, concurrency and atomicity.

Every test here runs on SQLite and on a real PostgreSQL server (the ``db_url`` fixture).
"""

from __future__ import annotations

import math
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap

import pytest
import sqlalchemy as sa
import yaml

from workbench.errors import NotAllowed, StaleWrite, WorkbenchError
from workbench.migrations import current_revision, head_revision
from workbench.panel import (
    add_judge,
    add_nomination,
    create_round,
    get_round,
    list_nominations,
    migrate_round_rubric,
    round_rubric,
)
from workbench.rubric import RubricChanged, ScoreError, load_rubric, rubric_from_document
from workbench.scoring import current_scores, record_score, score_history, submit_assignment
from workbench.store import (
    Answer,
    Assignment,
    EqualityAnswer,
    Nominee,
    ScoreEvent,
    database_url,
    describe_url,
    dispose_engines,
    get_engine,
    session_scope,
    table_names,
)

ANSWERS = {"Q1": "Ran listening events with the Somali community.", "Q2": "=SUM(A1) is not a formula",
           "Q3": "Staff survey up 12%.", "Q4": "Chairs the staff network 🌈."}


def make_panel(url: str, *, judges: int = 2, rubric=None) -> dict:
    """One round, one nomination, ``judges`` judges all assigned to it."""
    with session_scope(url) as s:
        round_ = create_round(s, name="Test round", rubric=rubric or load_rubric("inclusive-leader"))
        nomination = add_nomination(
            s, round_=round_, source_key="row-2", answers=ANSWERS,
            nominee={"name": "Zoë Adébáyọ̀", "email": "zoe@example.org", "organisation": "Northshire NHS Trust"},
            equality={"race": "Black British"},
        )
        ids = []
        for i in range(judges):
            judge = add_judge(s, name=f"Judge {i}", email=f"judge{i}@example.org")
            s.add(Assignment(round_id=round_.id, judge_id=judge.id, nomination_id=nomination.id, position=0))
            ids.append(judge.id)
        s.flush()
        return {"round": round_.id, "nomination": nomination.id, "judges": ids}


def test_schema_is_at_head_and_upgrade_is_idempotent(db_url):
    engine = get_engine(db_url)
    assert current_revision(engine) == head_revision()
    from workbench.migrations import upgrade

    upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert {"score_events", "nominees", "equality_answers", "moderation_events"} <= set(table_names(db_url))


def test_identity_and_equality_are_kept_apart_from_answers(db_url):
    panel = make_panel(db_url, judges=1)
    with session_scope(db_url) as s:
        answers = {a.criterion_id: a.text for a in s.scalars(sa.select(Answer))}
        assert answers == ANSWERS  # formula-like text and emoji stored verbatim
        assert s.scalar(sa.select(Nominee.name)) == "Zoë Adébáyọ̀"
        assert s.scalar(sa.select(EqualityAnswer.value)) == "Black British"
        blind = list_nominations(s, round_=get_round(s), include_identity=False)
        assert blind == [{"id": panel["nomination"], "reference": "N0001", "status": "active", "answers": ANSWERS}]


def test_score_edits_append_events_and_keep_history(db_url):
    panel = make_panel(db_url)
    judge = panel["judges"][0]
    with session_scope(db_url) as s:
        round_ = get_round(s)
        first = record_score(s, round_=round_, judge_id=judge, nomination_id=panel["nomination"],
                             criterion_id="Q1", value=3, comment="good", actor="judge0")
        second = record_score(s, round_=round_, judge_id=judge, nomination_id=panel["nomination"],
                              criterion_id="Q1", value="4", comment="better on reread", actor="judge0")
        assert second.replaced == first.event_id
    with session_scope(db_url) as s:
        round_ = get_round(s)
        history = score_history(s, round_=round_)
        assert history[["criterion", "score", "comment"]].values.tolist() == [
            ["Q1", 3.0, "good"], ["Q1", 4.0, "better on reread"]]
        assert set(history["rubric_hash"]) == {load_rubric("inclusive-leader").hash}
        current = current_scores(s, round_=round_)
        assert current[["judge", "criterion", "score", "comment"]].values.tolist() == [
            [judge, "Q1", 4.0, "better on reread"]]


def test_cleared_score_is_missing_not_zero(db_url):
    panel = make_panel(db_url, judges=1)
    with session_scope(db_url) as s:
        round_ = get_round(s)
        for value in (2, ""):
            record_score(s, round_=round_, judge_id=panel["judges"][0], nomination_id=panel["nomination"],
                         criterion_id="Q2", value=value)
        assert math.isnan(current_scores(s, round_=round_)["score"].item())


def test_wrong_score_refused_and_nothing_written(db_url):
    panel = make_panel(db_url, judges=1)
    with pytest.raises(ScoreError, match="Use a whole number from 0 to 5"):
        with session_scope(db_url) as s:
            record_score(s, round_=get_round(s), judge_id=panel["judges"][0], nomination_id=panel["nomination"],
                         criterion_id="Q1", value=7)
    with session_scope(db_url) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(ScoreEvent)) == 0


def test_unassigned_and_submitted_are_refused(db_url):
    panel = make_panel(db_url, judges=1)
    with session_scope(db_url) as s:
        round_ = get_round(s)
        outsider = add_judge(s, name="Outsider", email="out@example.org")
        with pytest.raises(NotAllowed, match="not assigned to you"):
            record_score(s, round_=round_, judge_id=outsider.id, nomination_id=panel["nomination"],
                         criterion_id="Q1", value=1)
        judge = panel["judges"][0]
        with pytest.raises(NotAllowed, match="Still to score: Q1, Q2, Q3, Q4"):
            submit_assignment(s, round_=round_, judge_id=judge, nomination_id=panel["nomination"])
        for criterion in ("Q1", "Q2", "Q3", "Q4"):
            record_score(s, round_=round_, judge_id=judge, nomination_id=panel["nomination"],
                         criterion_id=criterion, value=3)
        submit_assignment(s, round_=round_, judge_id=judge, nomination_id=panel["nomination"])
        with pytest.raises(NotAllowed, match="submitted and locked"):
            record_score(s, round_=round_, judge_id=judge, nomination_id=panel["nomination"],
                         criterion_id="Q1", value=5)


def test_stale_write_is_reported_when_asked(db_url):
    panel = make_panel(db_url, judges=1)
    kw = dict(judge_id=panel["judges"][0], nomination_id=panel["nomination"], criterion_id="Q1")
    with session_scope(db_url) as s:
        round_ = get_round(s)
        first = record_score(s, round_=round_, value=2, **kw)
        record_score(s, round_=round_, value=3, expected_event_id=first.event_id, **kw)  # tab A
        with pytest.raises(StaleWrite, match="changed in another window \\(now 3\\)"):
            record_score(s, round_=round_, value=4, expected_event_id=first.event_id, **kw)  # tab B, stale


def _edited_rubric():
    doc = dict(load_rubric("inclusive-leader").document)
    doc["criteria"] = [dict(c) for c in doc["criteria"]]
    doc["criteria"][0]["weight"] = 2
    return rubric_from_document(doc)


def test_rubric_changed_mid_round_is_refused_until_migrated(db_url, tmp_path, monkeypatch):
    panel = make_panel(db_url, judges=1)
    original = load_rubric("inclusive-leader").hash
    kw = dict(judge_id=panel["judges"][0], nomination_id=panel["nomination"], criterion_id="Q1")
    with session_scope(db_url) as s:
        record_score(s, round_=get_round(s), value=3, **kw)
    # Someone edits the rubric file on disk mid-round.
    edited = _edited_rubric()
    rubrics = tmp_path / "rubrics"
    rubrics.mkdir()
    (rubrics / "inclusive-leader.yaml").write_text(yaml.safe_dump(dict(edited.document)), encoding="utf-8")
    monkeypatch.setattr("workbench.rubric.RUBRICS_DIR", rubrics)
    with session_scope(db_url) as s:
        with pytest.raises(RubricChanged, match="has been edited since round 'Test round' started"):
            record_score(s, round_=get_round(s), value=4, **kw)
    # A judge whose page still shows the old version is refused after migration, too.
    with session_scope(db_url) as s:
        migrate_round_rubric(s, round_=get_round(s), rubric=edited, actor="organiser", reason="Q1 double weight")
    with session_scope(db_url) as s:
        round_ = get_round(s)
        assert round_rubric(s, round_).hash == edited.hash
        with pytest.raises(RubricChanged, match="Reload the page"):
            record_score(s, round_=round_, value=4, rubric_hash="0" * 64, **kw)
        record_score(s, round_=round_, value=4, rubric_hash=edited.hash, **kw)
        assert score_history(s, round_=round_)["rubric_hash"].tolist() == [original, edited.hash]


def test_migration_refused_when_scores_would_not_fit(db_url):
    panel = make_panel(db_url, judges=1)
    with session_scope(db_url) as s:
        record_score(s, round_=get_round(s), judge_id=panel["judges"][0], nomination_id=panel["nomination"],
                     criterion_id="Q4", value=5)
    doc = dict(load_rubric("inclusive-leader").document)
    doc["criteria"] = [dict(c) for c in doc["criteria"][:3]]
    with session_scope(db_url) as s:
        with pytest.raises(WorkbenchError, match="Q4 has scores but is not in the new rubric"):
            migrate_round_rubric(s, round_=get_round(s), rubric=rubric_from_document(doc), actor="o", reason="drop")


def _writer(url: str, judge_id: int, nomination_id: int, criterion: str, count: int, queue) -> None:
    dispose_engines()
    saved = 0
    for i in range(count):
        with session_scope(url) as s:
            record_score(s, round_=get_round(s), judge_id=judge_id, nomination_id=nomination_id,
                         criterion_id=criterion, value=i % 6, comment=f"{criterion}-{i}")
        saved += 1
    queue.put(saved)


def test_two_processes_writing_at_once_lose_nothing(db_url):
    panel = make_panel(db_url)
    dispose_engines()
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    count = 25
    procs = [ctx.Process(target=_writer, args=(db_url, judge, panel["nomination"], "Q1", count, queue))
             for judge in panel["judges"]]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    assert sorted(queue.get(timeout=5) for _ in procs) == [count, count]
    with session_scope(db_url) as s:
        history = score_history(s, round_=get_round(s))
        assert len(history) == 2 * count
        for judge in panel["judges"]:
            assert history[history.judge == judge]["comment"].tolist() == [f"Q1-{i}" for i in range(count)]


KILLED_WRITER = textwrap.dedent("""
    import sys, time
    from workbench.panel import get_round
    from workbench.scoring import record_score
    from workbench.store import session_scope
    url, judge, nomination = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    with session_scope(url) as s:
        round_ = get_round(s)
        for criterion in ("Q1", "Q2", "Q3"):
            record_score(s, round_=round_, judge_id=judge, nomination_id=nomination, criterion_id=criterion, value=5)
        print("WRITTEN-NOT-COMMITTED", flush=True)
        time.sleep(120)
""")


def test_process_killed_mid_write_leaves_no_half_written_score(db_url, tmp_path):
    panel = make_panel(db_url, judges=1)
    with session_scope(db_url) as s:
        record_score(s, round_=get_round(s), judge_id=panel["judges"][0], nomination_id=panel["nomination"],
                     criterion_id="Q4", value=2)
    dispose_engines()
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, db_url, str(panel["judges"][0]),
                             str(panel["nomination"])], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "WRITTEN-NOT-COMMITTED"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    with session_scope(db_url) as s:
        round_ = get_round(s)
        assert score_history(s, round_=round_)[["criterion", "score"]].values.tolist() == [["Q4", 2.0]]
        # The database is usable straight away: the dead writer's lock is gone.
        record_score(s, round_=round_, judge_id=panel["judges"][0], nomination_id=panel["nomination"],
                     criterion_id="Q1", value=1)
    if db_url.startswith("sqlite"):
        with get_engine(db_url).connect() as connection:
            assert connection.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"


def test_database_url_defaults_and_display(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_DB", str(tmp_path / "panel.db"))
    assert database_url() == f"sqlite:///{tmp_path / 'panel.db'}"
    assert database_url("postgresql+psycopg://u:secret@h/db") == "postgresql+psycopg://u:secret@h/db"
    assert describe_url("postgresql+psycopg://u:secret@h/db") == "postgresql+psycopg://u:***@h/db"
    assert describe_url(f"sqlite:///{tmp_path / 'panel.db'}") == f"SQLite file {tmp_path / 'panel.db'}"
    monkeypatch.delenv("WORKBENCH_DB")
    monkeypatch.chdir(tmp_path)
    assert database_url() == f"sqlite:///{tmp_path / 'workbench.db'}"


def test_round_names_must_be_unique(db_url):
    with session_scope(db_url) as s:
        create_round(s, name="R", rubric=load_rubric("inclusive-leader"))
        with pytest.raises(WorkbenchError, match="already a round called 'R'"):
            create_round(s, name="R", rubric=load_rubric("inclusive-leader"))


def test_newest_round_skips_unit_marking_cohorts(db_url):
    with session_scope(db_url) as s:
        award = create_round(s, name="Award 2026", rubric=load_rubric("inclusive-leader"))
        create_round(s, name="EDI cohort", rubric=load_rubric("edi-unit"), settings={"mode": "unit-marking"})
        assert get_round(s).id == award.id
        assert get_round(s, "EDI cohort").name == "EDI cohort"
