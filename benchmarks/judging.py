"""Load check: 30 judges saving scores at once against one database; nothing may be lost.

    python -m benchmarks.judging [--judges 30] [--saves 40] [--processes] [--think-ms 0] [--db URL]

Each simulated judge is a thread (or, with ``--processes``, a process with its own
connection pool) that saves ``--saves`` scores through :class:`workbench.judging.JudgeDesk`,
exactly as the scoring app does: one transaction per save, with the assignment, lock and scale
checks. Every fifth save goes through a second desk for the same judge, like a second tab.

Afterwards it checks that no write was lost: the history holds every save, and each current
score is the last value that judge saved. It prints p50/p95/max save latency and throughput.
Peer: the same threads doing a plain SQLAlchemy ``INSERT`` of the same row with no checks
(the floor for one transaction per save on this database); the ratio is printed.

Bounded: at most 64 workers and a 5-minute deadline; SQLite file in a temporary folder unless
``--db`` names another database (PostgreSQL: give a fresh, empty database).
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy import insert

MAX_WORKERS = 64
DEADLINE = 300.0
CRITERIA = ("Q1", "Q2", "Q3", "Q4")


def build(url: str, judges: int) -> dict:
    from workbench.allocation import allocate
    from workbench.panel import add_judge, add_nomination, create_round
    from workbench.rubric import load_rubric
    from workbench.store import session_scope

    with session_scope(url) as s:
        round_ = create_round(s, name="Load check", rubric=load_rubric("inclusive-leader"), judges_per_nomination=3)
        judge_ids = [add_judge(s, name=f"Judge {i}", email=f"judge{i}@load.example").id for i in range(judges)]
        for i in range(judges * 2):
            add_nomination(s, round_=round_, source_key=str(i), answers={q: "Synthetic answer." for q in CRITERIA})
        allocate(s, round_=round_, seed=1)
        from sqlalchemy import select

        from workbench.store import Assignment

        work = {}
        for judge_id, nomination_id in s.execute(select(Assignment.judge_id, Assignment.nomination_id)
                                                 .order_by(Assignment.id)):
            work.setdefault(judge_id, []).append(nomination_id)
    return {"judge_ids": judge_ids, "work": work}


def judge_worker(url: str, judge_id: int, nominations: list[int], saves: int, seed: int, think: float,
                 start) -> dict:
    """One judge saving ``saves`` scores; returns latencies and the last value per cell.

    Like the app, the judge's page has loaded (its list read) before the first save; then all
    judges start together at the barrier ``start``.
    """
    from workbench.judging import JudgeDesk

    rng = random.Random(seed)
    desk = JudgeDesk(url=url, judge_id=judge_id)
    other_tab = JudgeDesk(url=url, judge_id=judge_id)
    desk.queue(), other_tab.queue()
    latencies, last, errors = [], {}, []
    start.wait()
    for i in range(saves):
        if think:
            time.sleep(rng.uniform(0, 2 * think))
        tab = other_tab if i % 5 == 4 else desk
        nomination, criterion, value = rng.choice(nominations), rng.choice(CRITERIA), rng.randint(0, 5)
        began = time.perf_counter()
        try:
            tab.save(nomination_id=nomination, criterion_id=criterion, value=value, comment=f"save {i}")
        except Exception as exc:  # counted as a failure below, never ignored
            errors.append(f"{type(exc).__name__}: {exc}")
            continue
        latencies.append(time.perf_counter() - began)
        last[(judge_id, nomination, criterion)] = (float(value), f"save {i}")
    return {"latencies": latencies, "last": last, "errors": errors}


def _process_entry(results, *args) -> None:
    results.put(judge_worker(*args))


def peer_worker(url: str, judge_id: int, nominations: list[int], saves: int, seed: int, think: float,
                start) -> list:
    """The floor: the same number of single-row INSERT transactions, no checks."""
    from workbench.store import ScoreEvent, get_engine

    rng = random.Random(seed)
    engine = get_engine(url)
    with engine.connect():
        pass
    latencies = []
    start.wait()
    for i in range(saves):
        if think:
            time.sleep(rng.uniform(0, 2 * think))
        began = time.perf_counter()
        with engine.begin() as connection:
            connection.execute(insert(ScoreEvent).values(
                assignment_id=1, round_id=1, judge_id=judge_id, nomination_id=rng.choice(nominations),
                criterion_id="Q1", value=1.0, comment=f"peer {i}", rubric_hash="peer", kind="peer", source="peer",
                created_by="peer"))
        latencies.append(time.perf_counter() - began)
    return latencies


def run_threads(target, jobs: list[tuple]) -> tuple[list, float]:
    """Run one thread per job; all start together. Returns the results and the seconds taken."""
    results: list = [None] * len(jobs)
    start = threading.Barrier(len(jobs) + 1)

    def call(index: int, job: tuple) -> None:
        results[index] = target(*job, start)

    threads = [threading.Thread(target=call, args=(i, job), daemon=True) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    start.wait(timeout=DEADLINE)
    began = time.perf_counter()
    deadline = time.monotonic() + DEADLINE
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    if any(thread.is_alive() for thread in threads):
        raise SystemExit(f"Load check did not finish within {DEADLINE:.0f} s.")
    return results, time.perf_counter() - began


def run_processes(jobs: list[tuple]) -> tuple[list, float]:
    """One process per judge (own imports, own connection pool); all start together."""
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(len(jobs) + 1)
    queue = context.Queue()
    processes = [context.Process(target=_process_entry, args=(queue, *job, start), daemon=True) for job in jobs]
    for process in processes:
        process.start()
    start.wait(timeout=DEADLINE)
    began = time.perf_counter()
    results = [queue.get(timeout=DEADLINE) for _ in processes]
    elapsed = time.perf_counter() - began
    for process in processes:
        process.join(timeout=30)
    return results, elapsed


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def verify(url: str, results: list[dict], saves_total: int) -> list[str]:
    from workbench.panel import get_round
    from workbench.scoring import current_scores, score_history
    from workbench.store import session_scope

    with session_scope(url) as s:
        round_ = get_round(s, "Load check")
        history = score_history(s, round_=round_)
        current = current_scores(s, round_=round_)
    problems = []
    errors = [e for r in results for e in r["errors"]]
    if errors:
        problems.append(f"{len(errors)} save(s) failed, e.g. {errors[0]}")
    if len(history) != saves_total - len(errors):
        problems.append(f"history has {len(history)} events, expected {saves_total - len(errors)}")
    expected = {}
    for r in results:
        expected.update(r["last"])
    found = {(j, n, c): (v, m) for j, n, c, v, m in zip(current["judge"], current["nomination"], current["criterion"],
                                                        current["score"], current["comment"])}
    if found != expected:
        lost = sum(1 for key, value in expected.items() if found.get(key) != value)
        problems.append(f"{lost} current score(s) are not the last value saved")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--judges", type=int, default=30)
    parser.add_argument("--saves", type=int, default=40, help="saves per judge (default: %(default)s)")
    parser.add_argument("--processes", action="store_true", help="one process per judge instead of threads")
    parser.add_argument("--think-ms", type=float, default=0.0,
                        help="mean pause between one judge's saves (default 0: every judge saves flat out, the "
                             "worst case; a judge reading and clicking is nearer 1000-5000)")
    parser.add_argument("--db", help="database URL (default: a new SQLite file in a temporary folder)")
    args = parser.parse_args()
    if not 1 <= args.judges <= MAX_WORKERS:
        parser.error(f"--judges must be 1 to {MAX_WORKERS}")

    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'load.db'}"
        setup = build(url, args.judges)
        jobs = [(url, j, setup["work"][j], args.saves, 1000 + j, args.think_ms / 1000) for j in setup["judge_ids"]]
        if args.processes:
            results, elapsed = run_processes(jobs)
        else:
            results, elapsed = run_threads(judge_worker, jobs)
        total = args.judges * args.saves
        problems = verify(url, results, total)
        peer, _ = run_threads(peer_worker, jobs)

    latencies = sorted(x for r in results for x in r["latencies"])
    peer_latencies = sorted(x for r in peer for x in r)
    p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
    peer50, peer95 = percentile(peer_latencies, 50), percentile(peer_latencies, 95)
    mode = "processes" if args.processes else "threads"
    print(f"{args.judges} judges ({mode}) x {args.saves} saves = {total} saves on "
          f"{'SQLite file' if not args.db else args.db.split('@')[-1]}, mean pause {args.think_ms:g} ms between a "
          "judge's saves")
    print(f"  save latency  p50 {p50 * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms   max {latencies[-1] * 1000:7.1f} ms"
          f"   throughput {len(latencies) / elapsed:6.0f} saves/s")
    print(f"  peer (plain INSERT, no checks)  p50 {peer50 * 1000:7.1f} ms   p95 {peer95 * 1000:7.1f} ms;"
          f" ratio workbench/peer p50 {p50 / peer50:.1f}x, p95 {p95 / peer95:.1f}x")
    print(f"  lost writes: {'none' if not problems else '; '.join(problems)}")
    return 0 if not problems else 1


if __name__ == "__main__":
    raise SystemExit(main())
