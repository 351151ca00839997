"""Agreement benchmark: our statistics against the peer libraries, in the same run.

    python -m benchmarks.agreement [--quick] [--repeat 5] [--pingouin-large]

Synthetic ordinal ratings 0–5 (unit quality + rater leniency + noise, rounded), 20% of
ratings missing at random, at 200×8, 10,000×30 and 100,000×50 (units × raters):

- Krippendorff's alpha at all four levels: ``workbench.agreement.krippendorff_alpha``
  against ``krippendorff.alpha`` (values checked equal);
- complete-data ICC (the same data with nothing missing): ``intraclass_correlations``
  (ANOVA) against ``pingouin.intraclass_corr`` (values checked equal). pingouin is skipped
  at 100,000×50 unless ``--pingouin-large`` (it needs a 5-million-row long table);
- our ICC on the incomplete data (REML; pingouin would drop every unit with a gap);
- the whole JSON report (``agreement_report`` + ``json.dumps``).

Times are the best of ``--repeat`` runs; peak memory is the tracemalloc peak of one
separate run. Targets: alpha at least as fast as ``krippendorff`` at every size; complete
ICC at least 100× faster than pingouin at 10,000×30; the report at 100,000×50 under 2 s.
"""

from __future__ import annotations

import argparse
import json
import time
import tracemalloc
from collections.abc import Callable

import numpy as np
import pandas as pd

SIZES = [(200, 8), (10_000, 30), (100_000, 50)]
QUICK_SIZES = [(200, 8), (2_000, 20)]
LEVELS = ("nominal", "ordinal", "interval", "ratio")


def ratings(units: int, raters: int, *, missing: float = 0.2, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(complete, with_missing) ordinal 0–5 ratings for a synthetic panel."""
    rng = np.random.default_rng(seed)
    quality = rng.normal(2.5, 1.0, size=(units, 1))
    leniency = rng.normal(0.0, 0.4, size=(1, raters))
    complete = np.clip(np.rint(quality + leniency + rng.normal(0.0, 0.9, size=(units, raters))), 0, 5)
    gappy = complete.copy()
    gappy[rng.random((units, raters)) < missing] = np.nan
    return complete, gappy


def best_time(fn: Callable[[], object], repeat: int) -> float:
    """Best wall time of ``repeat`` runs (each run loops enough to last about 20 ms)."""
    start = time.perf_counter()
    fn()
    once = time.perf_counter() - start
    loops = max(1, int(0.02 / max(once, 1e-9)))
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(loops):
            fn()
        best = min(best, (time.perf_counter() - start) / loops)
    return best


def peak_mib(fn: Callable[[], object]) -> float:
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def _ms(seconds: float | None) -> str:
    return "skipped" if seconds is None else f"{seconds * 1000:10.2f} ms"


def run(sizes, repeat: int, pingouin_large: bool) -> list[dict]:
    import krippendorff
    import pingouin

    from workbench.agreement import agreement_report, intraclass_correlations, krippendorff_alpha

    rows = []
    for units, raters in sizes:
        complete, gappy = ratings(units, raters)
        label = f"{units:,}×{raters}"
        print(f"\n== {label}: {int(np.isfinite(gappy).sum()):,} ratings ({np.isnan(gappy).mean():.0%} missing)")
        for level in LEVELS:
            ours = krippendorff_alpha(gappy, level=level).value
            theirs = float(krippendorff.alpha(reliability_data=gappy.T, level_of_measurement=level))
            assert abs(ours - theirs) < 1e-9, (level, ours, theirs)
            t_ours = best_time(lambda: krippendorff_alpha(gappy, level=level), repeat)
            t_theirs = best_time(lambda: krippendorff.alpha(reliability_data=gappy.T, level_of_measurement=level),
                                 repeat)
            m_ours = peak_mib(lambda: krippendorff_alpha(gappy, level=level))
            m_theirs = peak_mib(lambda: krippendorff.alpha(reliability_data=gappy.T, level_of_measurement=level))
            rows.append({"size": label, "what": f"alpha {level}", "ours_s": t_ours, "peer": "krippendorff",
                         "peer_s": t_theirs, "ours_mib": m_ours, "peer_mib": m_theirs, "value": ours})
            print(f"alpha {level:9} = {ours:.6f}  ours {_ms(t_ours)}  krippendorff {_ms(t_theirs)}  "
                  f"speed-up {t_theirs / t_ours:6.1f}×  peak {m_ours:7.1f} MiB vs {m_theirs:7.1f} MiB")

        result = intraclass_correlations(complete)
        t_icc = best_time(lambda: intraclass_correlations(complete), repeat)
        m_icc = peak_mib(lambda: intraclass_correlations(complete))
        long = pd.DataFrame({"unit": np.repeat(np.arange(units), raters), "rater": np.tile(np.arange(raters), units),
                             "score": complete.ravel()})
        t_pg = m_pg = None
        if units * raters <= 1_000_000 or pingouin_large:
            table = pingouin.intraclass_corr(long, targets="unit", raters="rater", ratings="score")
            # pingouin lists ICC(1,1), ICC(A,1), ICC(C,1), ICC(1,k), ICC(A,k), ICC(C,k): Shrout–Fleiss order.
            for form, theirs in zip(("ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k"), table["ICC"]):
                assert abs(theirs - result[form].value) < 1e-9, (form, theirs, result[form].value)
            t_pg = best_time(lambda: pingouin.intraclass_corr(long, targets="unit", raters="rater", ratings="score"),
                             max(1, repeat // 2))
            m_pg = peak_mib(lambda: pingouin.intraclass_corr(long, targets="unit", raters="rater", ratings="score"))
            speed = f"speed-up {t_pg / t_icc:8.1f}×  peak {m_icc:7.1f} MiB vs {m_pg:7.1f} MiB"
        else:
            speed = "pingouin skipped at this size (run with --pingouin-large; it builds a 5-million-row table)"
        rows.append({"size": label, "what": "ICC complete (ANOVA)", "ours_s": t_icc, "peer": "pingouin",
                     "peer_s": t_pg, "ours_mib": m_icc, "peer_mib": m_pg, "value": result["ICC2"].value})
        print(f"ICC2 complete   = {result['ICC2'].value:.6f}  ours {_ms(t_icc)}  pingouin {_ms(t_pg)}  {speed}")

        reml = intraclass_correlations(gappy)
        t_reml = best_time(lambda: intraclass_correlations(gappy), max(1, repeat // 2))
        m_reml = peak_mib(lambda: intraclass_correlations(gappy))
        rows.append({"size": label, "what": "ICC incomplete (REML)", "ours_s": t_reml, "peer": None, "peer_s": None,
                     "ours_mib": m_reml, "peer_mib": None, "value": reml["ICC2"].value})
        print(f"ICC2 incomplete = {reml['ICC2'].value:.6f}  ours {_ms(t_reml)}  (REML on all units; "
              f"pingouin drops every unit with a gap)  peak {m_reml:7.1f} MiB")

        def report():
            return json.dumps(agreement_report(gappy))

        t_report = best_time(report, max(1, repeat // 2))
        m_report = peak_mib(report)
        rows.append({"size": label, "what": "JSON report", "ours_s": t_report, "peer": None, "peer_s": None,
                     "ours_mib": m_report, "peer_mib": None, "value": None})
        print(f"whole JSON report: {_ms(t_report)}  peak {m_report:7.1f} MiB")
    return rows


def summary(rows: list[dict]) -> str:
    lines = [
        "| size | statistic | ours | peer | peer time | ratio (peer/ours) | ours peak MiB | peer peak MiB |",
        "|---|---|---:|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        peer_time = "—" if r["peer_s"] is None else f"{r['peer_s'] * 1000:.2f} ms"
        ratio = "—" if r["peer_s"] is None else f"{r['peer_s'] / r['ours_s']:.1f}×"
        peer_mib = "—" if r["peer_mib"] is None else f"{r['peer_mib']:.1f}"
        lines.append(f"| {r['size']} | {r['what']} | {r['ours_s'] * 1000:.2f} ms | {r['peer'] or '—'} | "
                     f"{peer_time} | {ratio} | {r['ours_mib']:.1f} | {peer_mib} |")
    return "\n".join(lines)


def check_targets(rows: list[dict]) -> list[str]:
    failures = []
    for r in rows:
        if r["what"].startswith("alpha") and r["peer_s"] < r["ours_s"]:
            failures.append(f"{r['what']} at {r['size']}: slower than krippendorff")
        if r["what"].startswith("ICC complete") and r["size"] == "10,000×30" and r["peer_s"] is not None \
                and r["peer_s"] / r["ours_s"] < 100:
            failures.append(f"complete ICC at 10,000×30 only {r['peer_s'] / r['ours_s']:.0f}× faster than pingouin")
        if r["what"] == "JSON report" and r["size"] == "100,000×50" and r["ours_s"] >= 2.0:
            failures.append(f"JSON report at 100,000×50 took {r['ours_s']:.2f} s (target < 2 s)")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only (200×8 and 2,000×20)")
    parser.add_argument("--repeat", type=int, default=5, help="timing repeats; the best is kept (default 5)")
    parser.add_argument("--pingouin-large", action="store_true", help="also run pingouin at 100,000×50")
    args = parser.parse_args(argv)
    rows = run(QUICK_SIZES if args.quick else SIZES, args.repeat, args.pingouin_large)
    print("\n" + summary(rows))
    failures = check_targets(rows)
    print("\nTargets: " + ("all met." if not failures else "NOT met: " + "; ".join(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
