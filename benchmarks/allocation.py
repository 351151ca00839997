"""Allocation benchmark: 2,000 nominations x 60 judges, k = 3, with conflicts of interest.

    python -m benchmarks.allocation [--nominations 2000] [--judges 60] [--k 3] [--db URL]

Times, on a fresh database (SQLite file by default):

- ``detect_conflicts``: organisation and nominator matching for every judge x nomination;
- ``allocate``: choosing, balancing, shuffling review order and writing every assignment.

Checks the result: every nomination has k distinct judges, no conflicted pair is assigned,
loads are within one, and the same seed gives the same allocation again.

Target: both in seconds at 2,000 x 60. Peer: ``scipy.optimize.linear_sum_assignment`` solving
the same balanced, conflict-free assignment exactly (nomination slots x judge capacity slots,
conflicts at a prohibitive cost) on a smaller instance, since its cubic cost rules out the full
size; our allocate runs on the same smaller instance and the ratio is printed.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import numpy as np
from sqlalchemy import insert, select

from workbench.allocation import allocate
from workbench.conflicts import detect_conflicts
from workbench.panel import add_judge, create_round
from workbench.rubric import load_rubric
from workbench.store import Assignment, Conflict, Nomination, Nominee, dispose_engines, session_scope

ORGANISATIONS = [f"{place} NHS Foundation Trust" for place in (
    "Northshire", "Eastmoor", "Riverside", "Westfell", "Kingsbridge", "Lowmoor", "Harbourside", "Greyfriars",
    "Oakbury", "Ashcombe", "Brackenfield", "Coldharbour", "Dunmere", "Elmstead", "Foxley", "Glenmoor", "Hollins",
    "Ivybridge", "Juniper Vale", "Kestrel Bay")]


def build(url: str, nominations: int, judges: int, k: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    with session_scope(url) as s:
        round_ = create_round(s, name="Benchmark", rubric=load_rubric("inclusive-leader"), judges_per_nomination=k)
        judge_rows = [add_judge(s, name=f"Judge {i}", email=f"judge{i}@bench.example",
                                organisation=rng.choice(ORGANISATIONS).replace(" NHS Foundation", ""))
                      for i in range(judges)]
        s.execute(insert(Nomination), [{"round_id": round_.id, "reference": f"N{i + 1:04d}", "source_key": str(i),
                                        "status": "active", "extra": {}} for i in range(nominations)])
        ids = s.scalars(select(Nomination.id).where(Nomination.round_id == round_.id).order_by(Nomination.id)).all()
        s.execute(insert(Nominee), [{
            "nomination_id": n, "name": f"Nominee {n}", "organisation": rng.choice(ORGANISATIONS),
            "nominator_name": f"Nominator {n}",
            "nominator_email": rng.choice(judge_rows).email if rng.random() < 0.01 else f"n{n}@nhs.example"}
            for n in ids])


def run(url: str, seed: int) -> dict:
    with session_scope(url) as s:
        from workbench.panel import get_round

        round_ = get_round(s, "Benchmark")
        t0 = time.perf_counter()
        conflicts = detect_conflicts(s, round_=round_)
        t1 = time.perf_counter()
        result = allocate(s, round_=round_, seed=seed)
        t2 = time.perf_counter()
        pairs = s.execute(select(Assignment.judge_id, Assignment.nomination_id, Assignment.position)
                          .where(Assignment.round_id == round_.id)).all()
        conflicted = set(s.execute(select(Conflict.judge_id, Conflict.nomination_id)).all())
    return {"detect": t1 - t0, "allocate": t2 - t1, "conflicts": len(conflicts), "result": result,
            "pairs": sorted(pairs), "conflicted": conflicted}


def check(outcome: dict, nominations: int, k: int) -> list[str]:
    from collections import Counter

    per_nomination = Counter(n for _, n, _ in outcome["pairs"])
    problems = []
    if set(per_nomination.values()) != {k} or len(per_nomination) != nominations:
        problems.append("not every nomination has k judges")
    if {(j, n) for j, n, _ in outcome["pairs"]} & outcome["conflicted"]:
        problems.append("a conflicted pair was assigned")
    if not outcome["result"].balanced:
        problems.append(f"loads not within one (spread {outcome['result'].spread})")
    return problems


def peer_lsa(nominations: int, judges: int, k: int, seed: int = 7) -> float:
    """scipy's exact assignment on the same kind of instance: seconds to solve."""
    from scipy.optimize import linear_sum_assignment

    rng = np.random.default_rng(seed)
    capacity = -(-nominations * k // judges)
    conflict = rng.random((nominations, judges)) < 0.05
    slot_nomination = np.repeat(np.arange(nominations), k)
    slot_judge = np.repeat(np.arange(judges), capacity)
    cost = conflict[slot_nomination][:, slot_judge].astype(float) * 1e6
    # a nomination may not take the same judge twice: its k slots get rising costs per judge copy
    cost += (np.arange(len(slot_judge)) % capacity)[None, :] * 1e-3
    start = time.perf_counter()
    linear_sum_assignment(cost)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nominations", type=int, default=2000)
    parser.add_argument("--judges", type=int, default=60)
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--db", help="database URL (default: a new SQLite file in a temporary folder)")
    parser.add_argument("--peer-nominations", type=int, default=400)
    parser.add_argument("--peer-judges", type=int, default=20)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'allocation.db'}"
        build(url, args.nominations, args.judges, args.k)
        first = run(url, args.seed)
        problems = check(first, args.nominations, args.k)
        with session_scope(url) as s:  # same seed again, from scratch
            s.query(Assignment).delete()
        again = run(url, args.seed)
        same = [(j, n, p) for j, n, p in first["pairs"]] == [(j, n, p) for j, n, p in again["pairs"]]
        dispose_engines()

        small_url = f"sqlite:///{Path(tmp) / 'small.db'}"
        build(small_url, args.peer_nominations, args.peer_judges, args.k)
        small = run(small_url, args.seed)
        peer = peer_lsa(args.peer_nominations, args.peer_judges, args.k)
        dispose_engines()

    loads = sorted(first["result"].loads.values())
    print(f"{args.nominations} nominations x {args.judges} judges, k={args.k}: {first['conflicts']} conflicts found")
    print(f"  detect_conflicts      {first['detect']:7.3f} s")
    print(f"  allocate              {first['allocate']:7.3f} s   (loads {loads[0]}-{loads[-1]}, "
          f"{first['result'].moved} moved to balance)")
    print(f"  same seed, same result: {'yes' if same else 'NO'}; checks: {'all passed' if not problems else problems}")
    print(f"peer at {args.peer_nominations} x {args.peer_judges}: workbench allocate {small['allocate']:.3f} s "
          f"(incl. writing), scipy linear_sum_assignment {peer:.3f} s (solve only); ratio workbench/scipy "
          f"{small['allocate'] / peer:.2f}")
    return 0 if same and not problems else 1


if __name__ == "__main__":
    raise SystemExit(main())
