"""Export benchmark: 10,000 nominations × 3 judges × 4 criteria to the shortlist workbook.

    python -m benchmarks.export [--nominations 10000] [--judges 30] [--repeat 3] [--db-nominations 1000]

Contenders, all in this process:

- ``workbench export``: :func:`workbench.export.build_export` (ranking with the four tie rules,
  11 + judges robustness scenarios, judge-effect normalisation, agreement per criterion, the
  equality check, every sheet's rows) and :func:`workbench.export.render_xlsx` (nine formatted
  sheets with a chart), from data held in memory, so the database's insert speed does not count;
- ``pandas.to_excel``: ``DataFrame.to_excel`` (openpyxl engine) of the long scores table alone
  (nomination, judge, criterion, score, comment, scored at): one plain sheet, no formatting;
- ``end to end``: :func:`workbench.export.export_shortlist` on an SQLite round of
  ``--db-nominations`` nominations (reading the database included).

Target: ``workbench export`` under 10 s for 10,000 × 3 × 4. Times are the best of ``--repeat``
runs; peak memory is measured in a separate run under ``tracemalloc`` (Python allocations),
since tracing slows the code down. The panel has ``--judges`` judges, three per nomination.
"""

from __future__ import annotations

import argparse
import io
import random
import tempfile
import time
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.export import ExportOptions, RoundData, build_export, export_shortlist, render_xlsx
from workbench.rubric import load_rubric

COMMENTS = ["Clear evidence of impact.", "Would like more figures.", "Strong on community work.",
            "Mostly assertion, few examples.", "Good staff survey evidence.", "=SUM(A1:A3) was pasted here",
            "- lists actions but not outcomes", "Impressive co-production with young carers; café drop-ins."]
CHARACTERISTICS = {"sex": ["Female", "Male", "Prefer not to say"],
                   "race": ["White British", "Asian British", "Black British", "Mixed", "White other"],
                   "disability": ["No", "No", "No", "Yes", "Prefer not to say"],
                   "age": ["25-34", "35-44", "45-54", "55-64"]}


def round_data(*, nominations: int, judges: int, per_nomination: int = 3, seed: int = 1) -> RoundData:
    """A synthetic round held in memory: judges of different severity, comments on a fifth of scores."""
    rng = np.random.default_rng(seed)
    rubric = load_rubric("inclusive-leader")
    criteria = rubric.criterion_ids
    ids = np.arange(1, nominations + 1)
    quality = np.clip(rng.normal(2.8, 1.1, nominations), 0.3, 5)
    severity = rng.normal(0, 0.5, judges)
    panel = np.array([rng.choice(judges, per_nomination, replace=False) for _ in range(nominations)])
    n_scores = nominations * per_nomination * len(criteria)
    nom = np.repeat(ids, per_nomination * len(criteria))
    judge = np.repeat(panel.ravel(), len(criteria)) + 1
    criterion = np.tile(criteria, nominations * per_nomination)
    raw = np.repeat(quality, per_nomination * len(criteria)) + severity[judge - 1] + rng.normal(0, 0.6, n_scores)
    score = np.clip(np.rint(raw), 0, 5)
    comment = np.where(rng.random(n_scores) < 0.2, rng.choice(COMMENTS, n_scores), "")
    start = datetime(2026, 9, 1, 9, 0, tzinfo=timezone.utc)
    at = pd.to_datetime(start) + pd.to_timedelta(rng.integers(0, 30 * 24 * 3600, n_scores), unit="s")
    scores = pd.DataFrame({"nomination": nom, "judge": judge, "criterion": criterion, "score": score,
                           "comment": comment, "at": at})
    categories = np.array(["Individual", "Team", "Student"])[rng.integers(0, 3, nominations)]
    names = [f"Nominee {i}" for i in ids]
    nominations_table = pd.DataFrame({"nomination": ids, "reference": [f"N{i:05d}" for i in ids],
                                      "category": categories, "status": "active", "nominee": names,
                                      "organisation": [f"Trust {i % 97}" for i in ids],
                                      "nominator": [f"Nominator {i}" for i in ids]})
    picked = rng.choice(ids, 200, replace=False)
    moderation = pd.DataFrame({
        "decision_id": np.arange(1, 201), "nomination": picked, "reference": [f"N{i:05d}" for i in picked],
        "criterion": rng.choice(criteria, 200), "before": rng.uniform(1, 4, 200).round(4),
        "after": rng.integers(0, 6, 200).astype(float), "no_change": rng.random(200) < 0.3,
        "reason_code": "panel-agreed", "reason": "The panel discussed the nomination and agreed this score.",
        "rationale": "Agreed at the panel meeting after reading the answer again.", "moderator": "Mo Moderator",
        "at": pd.Timestamp("2026-10-05 10:00", tz="UTC") + pd.to_timedelta(np.arange(200), unit="min"),
        "rubric_hash": rubric.hash})
    conflicts = pd.DataFrame({"judge": rng.integers(1, judges + 1, 50), "nomination": rng.choice(ids, 50),
                              "source": "organisation", "at": pd.Timestamp("2026-08-30", tz="UTC")})
    py_rng = random.Random(seed)
    equality = pd.DataFrame([(i, c, py_rng.choice(v)) for i in ids for c, v in CHARACTERISTICS.items()],
                            columns=["nomination", "characteristic", "value"])
    return RoundData(round_name="Benchmark round", rubric=rubric, nominations=nominations_table,
                     judges=pd.DataFrame({"judge": np.arange(1, judges + 1),
                                          "name": [f"Judge Person{j}" for j in range(1, judges + 1)]}),
                     scores=scores, moderation=moderation, conflicts=conflicts,
                     withdrawals=pd.DataFrame(columns=["nomination", "judge", "at"]), equality=equality,
                     winners=[int(i) for i in ids[:3]], judges_per_nomination=per_nomination,
                     created_at=datetime(2026, 8, 1, tzinfo=timezone.utc))


def ours(data: RoundData, options: ExportOptions) -> tuple[float, float, int]:
    """Seconds to build the rows, seconds to render, bytes written."""
    t0 = time.perf_counter()
    built = build_export(data, options=options)
    t1 = time.perf_counter()
    out = io.BytesIO()
    render_xlsx(built.sheets, out, as_of=built.as_of, title=built.title)
    return t1 - t0, time.perf_counter() - t1, len(out.getvalue())


def pandas_long(data: RoundData) -> tuple[float, int]:
    frame = data.scores.assign(at=data.scores["at"].dt.tz_localize(None))
    t0 = time.perf_counter()
    out = io.BytesIO()
    frame.to_excel(out, sheet_name="All scores", index=False, engine="openpyxl")
    return time.perf_counter() - t0, len(out.getvalue())


def peak_mib(fn) -> float:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def database_round(url: str, *, nominations: int, seed: int = 2) -> None:
    """An SQLite round built with the real services (scores in bulk, as a scoresheet import would)."""
    from sqlalchemy import insert

    from workbench.panel import add_judge, add_nomination, create_round
    from workbench.store import Assignment, ScoreEvent, session_scope

    rng = random.Random(seed)
    rubric = load_rubric("inclusive-leader")
    with session_scope(url) as s:
        round_ = create_round(s, name="Benchmark round", rubric=rubric)
        judges = [add_judge(s, name=f"Judge Person{j}", email=f"judge{j}@bench.example").id for j in range(12)]
        now = datetime(2026, 9, 1, tzinfo=timezone.utc)
        events = []
        for i in range(nominations):
            n = add_nomination(s, round_=round_, source_key=str(i), answers={c: "An answer." for c in
                                                                              rubric.criterion_ids},
                               nominee={"name": f"Nominee {i}"}, equality={"sex": rng.choice(["Female", "Male"])})
            for judge in rng.sample(judges, 3):
                a = Assignment(round_id=round_.id, judge_id=judge, nomination_id=n.id)
                s.add(a)
                s.flush()
                for c in rubric.criterion_ids:
                    events.append({"assignment_id": a.id, "round_id": round_.id, "judge_id": judge,
                                   "nomination_id": n.id, "criterion_id": c, "value": float(rng.randint(0, 5)),
                                   "comment": rng.choice(["", "", "", "Good evidence."]), "rubric_hash": rubric.hash,
                                   "kind": "score", "source": "csv", "created_by": "bench",
                                   "created_at": now + timedelta(seconds=len(events))})
        s.execute(insert(ScoreEvent), events)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nominations", type=int, default=10_000)
    parser.add_argument("--judges", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--db-nominations", type=int, default=1_000)
    args = parser.parse_args(argv)

    data = round_data(nominations=args.nominations, judges=args.judges)
    options = ExportOptions(top=50, by="category", as_of=datetime(2026, 10, 31, tzinfo=timezone.utc))
    print(f"{args.nominations:,} nominations × 3 judges × 4 criteria = {len(data.scores):,} scores; "
          f"{args.judges} judges, robustness with {5 + args.judges} scenarios")

    runs = [ours(data, options) for _ in range(args.repeat)]
    build, render, size = min(runs, key=lambda r: r[0] + r[1])
    total = build + render
    pandas_runs = [pandas_long(data) for _ in range(args.repeat)]
    pandas_time, pandas_size = min(pandas_runs)
    ours_peak = peak_mib(lambda: ours(data, options))
    pandas_peak = peak_mib(lambda: pandas_long(data))

    print(f"{'contender':<22}{'seconds':>9}{'peak MiB':>10}{'file MiB':>10}")
    print(f"{'workbench export':<22}{total:>9.2f}{ours_peak:>10.1f}{size / 2**20:>10.2f}"
          f"   (rows {build:.2f} s + xlsx {render:.2f} s; 9 formatted sheets)")
    print(f"{'pandas.to_excel':<22}{pandas_time:>9.2f}{pandas_peak:>10.1f}{pandas_size / 2**20:>10.2f}"
          "   (one unformatted sheet: the long scores table)")
    print(f"ratio workbench / pandas: time {total / pandas_time:.2f}, peak memory {ours_peak / pandas_peak:.2f}")
    print(f"target: under 10 s -> {'met' if total < 10 else 'NOT MET'} ({total:.2f} s)")

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        database_round(url, nominations=args.db_nominations)
        t0 = time.perf_counter()
        result = export_shortlist(url=url, out=Path(tmp) / "bench.xlsx", options=ExportOptions(top=20))
        seconds = time.perf_counter() - t0
    print(f"end to end from SQLite: {args.db_nominations:,} nominations ({args.db_nominations * 12:,} scores) in "
          f"{seconds:.2f} s; {result.shortlisted} shortlisted")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
