"""Agreement for a judging round: per criterion and overall, with intervals and plain bands.

Reads the current scores of a round (:func:`workbench.scoring.current_scores`), turns each
criterion into a nominations × judges table and runs :func:`agreement_report` on it, on the
rubric's declared scale. "Overall" is the same for each judge's weighted total (complete
scoresheets only). Bootstrap intervals resample nominations with a fixed seed.

Interpretation bands (the thresholds are conventions, not laws):

- Krippendorff's α (Krippendorff 2004, *Content Analysis*, 2nd ed., §11.4): α ≥ 0.800
  "reliable"; 0.667 ≤ α < 0.800 "tentative conclusions only"; below 0.667 "unreliable".
- ICC (Koo & Li 2016, *J. Chiropractic Medicine* 15(2):155-163): below 0.50 "poor",
  0.50–0.75 "moderate", 0.75–0.90 "good", above 0.90 "excellent".
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from workbench.agreement.alpha import krippendorff_alpha
from workbench.agreement.bootstrap import bootstrap_ci
from workbench.agreement.diagnostics import judge_diagnostics
from workbench.agreement.icc import icc
from workbench.agreement.report import agreement_report
from workbench.panel import round_rubric
from workbench.rubric import Rubric
from workbench.scoring import current_scores
from workbench.store import Judge, Nomination, Round


def alpha_band(value: float | None) -> str:
    """Krippendorff's reading of α.

    >>> alpha_band(0.82), alpha_band(0.7), alpha_band(0.3), alpha_band(None)
    ('reliable', 'tentative', 'unreliable', 'not available')
    """
    if value is None:
        return "not available"
    return "reliable" if value >= 0.8 else "tentative" if value >= 0.667 else "unreliable"


def icc_band(value: float | None) -> str:
    """Koo & Li's reading of an ICC.

    >>> icc_band(0.95), icc_band(0.8), icc_band(0.6), icc_band(0.2)
    ('excellent', 'good', 'moderate', 'poor')
    """
    if value is None:
        return "not available"
    return "excellent" if value > 0.9 else "good" if value >= 0.75 else "moderate" if value >= 0.5 else "poor"


def ratings_table(scores: pd.DataFrame, criterion: str) -> pd.DataFrame:
    """Nominations × judges for one criterion (NaN where a judge did not score)."""
    part = scores[scores["criterion"] == criterion]
    return part.pivot_table(index="nomination", columns="judge", values="score", aggfunc="first", dropna=False)


def totals_table(scores: pd.DataFrame, rubric: Rubric) -> pd.DataFrame:
    """Nominations × judges of weighted totals, from complete scoresheets only."""
    wide = scores.pivot_table(index=["nomination", "judge"], columns="criterion", values="score", aggfunc="first")
    wide = wide.reindex(columns=rubric.criterion_ids)
    weights = np.array([c.weight for c in rubric.criteria])
    complete = wide.notna().all(axis=1)
    totals = pd.Series(wide[complete].to_numpy() @ weights, index=wide[complete].index, name="total")
    return totals.unstack("judge")


def _summary(table: pd.DataFrame, scale: list[float] | None, *, resamples: int, icc_resamples: int,
             seed: int) -> dict[str, Any]:
    report = agreement_report(table, scale=scale)
    alpha = report["krippendorff_alpha"]["ordinal" if scale else "interval"]
    icc2 = report["icc"]["ICC2"]
    ci_alpha = ci_icc = None
    if resamples:
        ci_alpha = bootstrap_ci(table, lambda r: krippendorff_alpha(r, level="ordinal" if scale else "interval"),
                                resamples=resamples, seed=seed, scale=scale)
    if icc_resamples:  # on an incomplete design each resample is a REML fit (~20 ms)
        ci_icc = bootstrap_ci(table, lambda r: icc(r.values, "ICC2"), resamples=icc_resamples, seed=seed,
                              scale=scale)
    return {
        "report": report,
        "alpha": alpha,
        "alpha_ci": [ci_alpha.low, ci_alpha.high] if ci_alpha else [None, None],
        "alpha_band": alpha_band(alpha),
        "icc2": icc2,
        "icc2_ci": [ci_icc.low, ci_icc.high] if ci_icc else [None, None],
        "icc_band": icc_band(icc2),
    }


def round_agreement(session: Session, *, round_: Round, resamples: int = 1000, icc_resamples: int = 0,
                    seed: int = 0, scores: pd.DataFrame | None = None) -> dict[str, Any]:
    """Agreement per criterion and overall for a round, ready for JSON.

    Keys: ``round``, ``rubric``, ``criteria`` ({criterion: summary}), ``overall`` (summary
    of weighted totals). Each summary holds the full ``report`` (the keys of
    :func:`agreement_report`), the headline α and ICC(2,1) with their bands, and bootstrap
    intervals over nominations (``resamples`` for α, ``icc_resamples`` for the ICC; 0 for none).
    ``scores`` may pass the round's current scores when the caller already has them.
    """
    rubric = round_rubric(session, round_, check_file=False)
    if scores is None:
        scores = current_scores(session, round_=round_)
    out: dict[str, Any] = {"round": round_.name, "rubric": rubric.id, "rubric_hash": rubric.hash,
                           "criteria": {}, "overall": None}
    for criterion in rubric.criteria:
        table = ratings_table(scores, criterion.id)
        out["criteria"][criterion.id] = {"title": criterion.title,
                                         **_summary(table, [float(v) for v in criterion.scale.values],
                                                    resamples=resamples, icc_resamples=icc_resamples, seed=seed)}
    totals = totals_table(scores, rubric)
    out["overall"] = {"title": "Weighted total", **_summary(totals, None, resamples=resamples,
                                                            icc_resamples=icc_resamples, seed=seed)}
    return out


def round_report_json(session: Session, *, round_: Round) -> dict[str, Any]:
    """The ``workbench agreement --db`` JSON: the plain report per criterion and overall."""
    full = round_agreement(session, round_=round_, resamples=0, icc_resamples=0)
    return {"round": full["round"], "rubric": full["rubric"], "rubric_hash": full["rubric_hash"],
            "criteria": {c: s["report"] for c, s in full["criteria"].items()},
            "overall": full["overall"]["report"]}


def labelled_scores(session: Session, *, round_: Round) -> pd.DataFrame:
    """Current scores with judge names and nomination references, for display to moderators."""
    scores = current_scores(session, round_=round_)
    judges = {j.id: j.name for j in session.query(Judge).all()}
    references = {n.id: n.reference for n in session.query(Nomination).filter(Nomination.round_id == round_.id)}
    scores = scores.assign(judge_name=scores["judge"].map(judges), reference=scores["nomination"].map(references))
    return scores


def disagreements(scores: pd.DataFrame, *, limit: int = 10) -> pd.DataFrame:
    """Nominations where the judges disagree most: widest range on any criterion, then SD."""
    spread = scores.groupby(["nomination", "reference", "criterion"])["score"].agg(
        range=lambda v: v.max() - v.min(), sd="std", judges="count").reset_index()
    worst = spread.sort_values(["range", "sd"], ascending=False).groupby("nomination").head(1)
    return worst.sort_values(["range", "sd", "reference"], ascending=[False, False, True]).head(limit).reset_index(drop=True)


def round_diagnostics(session: Session, *, round_: Round, scores: pd.DataFrame | None = None) -> pd.DataFrame:
    """Judge diagnostics for a round, indexed by judge name (``scores``: from :func:`labelled_scores`)."""
    rubric = round_rubric(session, round_, check_file=False)
    if scores is None:
        scores = labelled_scores(session, round_=round_)
    named = scores.assign(judge=scores["judge_name"])
    return judge_diagnostics(named, scale=[float(v) for v in rubric.criteria[0].scale.values])


def dashboard_data(session: Session, *, round_: Round) -> dict[str, Any]:
    """Everything the agreement dashboard shows, from one read of the round's scores."""
    rubric = round_rubric(session, round_, check_file=False)
    scores = labelled_scores(session, round_=round_)
    return {
        "rubric": rubric,
        "agreement": round_agreement(session, round_=round_, scores=scores),
        "scores": scores,
        "diagnostics": round_diagnostics(session, round_=round_, scores=scores),
        "disagreements": disagreements(scores),
    }
