"""`workbench demo`: a deterministic synthetic panel with everything the apps need to show."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import func, select

from workbench.cli import main
from workbench.demo import DEMO_ROUND, JUDGES, build_demo
from workbench.panel import get_round, round_summary
from workbench.scoring import current_scores, score_history
from workbench.store import Assignment, Conflict, EqualityAnswer, Nominee, session_scope


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"
    return build_demo(url=url), url


def test_demo_panel_shape(demo):
    summary, url = demo
    assert (summary.round_name, summary.nominations, summary.judges, summary.scores) == (DEMO_ROUND, 40, 6, 480)
    assert summary.conflicts > 0
    with session_scope(url) as s:
        round_ = get_round(s)
        scores = current_scores(s, round_=round_)
        per_nomination = scores.groupby("nomination")["judge"].nunique()
        assert per_nomination.eq(3).all() and len(per_nomination) == 40
        assert set(scores["criterion"]) == {"Q1", "Q2", "Q3", "Q4"}
        # A conflicted pair is never assigned.
        conflicted = set(s.execute(select(Conflict.judge_id, Conflict.nomination_id)).all())
        assigned = set(s.execute(select(Assignment.judge_id, Assignment.nomination_id)).all())
        assert conflicted and not (conflicted & assigned)
        # The judge who nominated someone is among the detected conflicts.
        assert s.scalar(select(func.count()).select_from(Conflict).where(Conflict.source == "nominator")) == 1
        # Equality data exists for the organiser's check, stored apart from answers.
        assert s.scalar(select(func.count()).select_from(EqualityAnswer)) == 40 * 5
        assert s.scalar(select(func.count()).select_from(Nominee)) == 40
        overview = round_summary(s, round_=round_)
        assert (overview["nominations"], overview["assigned"], overview["submitted"]) == (40, 120, 118)


def test_demo_judges_have_distinct_severity(demo):
    _, url = demo
    with session_scope(url) as s:
        scores = current_scores(s, round_=get_round(s))
    consensus = scores.groupby(["nomination", "criterion"])["score"].transform("mean")
    offset = (scores["score"] - consensus).groupby(scores["judge"]).mean().sort_index()
    severity = pd.Series([sev for _, _, sev in JUDGES], index=offset.index)
    assert offset.idxmin() == severity.idxmin()  # the harshest judge scores lowest
    assert offset.idxmax() == severity.idxmax()  # the most lenient scores highest


def test_demo_has_strong_disagreements(demo):
    summary, url = demo
    with session_scope(url) as s:
        round_ = get_round(s)
        scores = current_scores(s, round_=round_)
        references = {n.id: n.reference for n in round_.nominations}
    spread = scores.groupby(["nomination", "criterion"])["score"].agg(lambda v: v.max() - v.min())
    wide = sorted({references[n] for (n, _), r in spread.items() if r >= 3})
    assert set(summary.disagreements) <= set(wide)
    assert len(summary.disagreements) == 4


def test_demo_is_deterministic(demo, tmp_path):
    _, url = demo
    other = f"sqlite:///{tmp_path / 'again.db'}"
    build_demo(url=other)
    frames = []
    for u in (url, other):
        with session_scope(u) as s:
            frames.append(score_history(s, round_=get_round(s))[["nomination", "judge", "criterion", "score",
                                                                   "comment"]])
    pd.testing.assert_frame_equal(frames[0], frames[1])


def test_demo_cli_reuses_existing_panel(tmp_path, capsys):
    db = tmp_path / "cli.db"
    assert main(["demo", "--db", str(db), "--no-serve"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"Demo panel '{DEMO_ROUND}' in SQLite file {db}: 40 nominations")
    assert lines[1].startswith("Demo cohort 'EDI unit")
    assert main(["demo", "--db", str(db), "--no-serve"]) == 0
    assert capsys.readouterr().out == f"The demo panel is already in SQLite file {db}; using it.\n"
