"""Every agreement statistic for one ratings table, as a JSON-ready dict.

The keys are fixed so that other tools can rely on them::

    units, raters, ratings,
    krippendorff_alpha {nominal, ordinal, interval, ratio},
    fleiss_kappa, cohen_kappa {unweighted, linear, quadratic},
    gwet_ac1, gwet_ac2 {linear, quadratic}, brennan_prediger, percent_agreement,
    icc {ICC1, ICC2, ICC3, ICC1k, ICC2k, ICC3k}, kendall_w, notes

A statistic that is undefined for the data is ``None`` (JSON ``null``) and ``notes`` says
why, under a dotted key such as ``"icc.ICC2"`` or ``"cohen_kappa.linear"``. A defined
statistic that rests on part of the data (Cohen's kappa on the units both raters scored,
Kendall's W on the units every rater scored) also gets a note, so nothing is silently lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workbench.agreement.alpha import LEVELS, _alpha_from, coincidences
from workbench.agreement.concordance import kendall_w
from workbench.agreement.icc import FORMS, intraclass_correlations
from workbench.agreement.kappa import (
    brennan_prediger,
    cohen_kappa,
    fleiss_kappa,
    gwet_ac1,
    gwet_ac2,
    percent_agreement,
)
from workbench.agreement.ratings import Ratings
from workbench.agreement.statistic import Stat

REPORT_KEYS = (
    "units", "raters", "ratings", "krippendorff_alpha", "fleiss_kappa", "cohen_kappa", "gwet_ac1",
    "gwet_ac2", "brennan_prediger", "percent_agreement", "icc", "kendall_w", "notes",
)


def agreement_report(
    ratings: Any, *, scale: Sequence[Any] | None = None, nominal_only: bool = False
) -> dict[str, Any]:
    """All agreement statistics for a units × raters table (``NaN``/``None``/``""`` = missing).

    ``scale`` lists the possible ratings in order (numbers, or labels for an ordered
    label scale); weights and ordinal distances follow it. ``nominal_only=True`` treats the
    values as unordered labels (e.g. codes 1 = depression, 2 = neurosis): only the nominal
    statistics are computed.

    >>> report = agreement_report([[1, 1], [2, 2], [3, 2], [None, 1]])
    >>> report["units"], report["raters"], report["ratings"], round(report["cohen_kappa"]["unweighted"], 3)
    (4, 2, 7, 0.5)
    >>> round(report["kendall_w"], 3), report["notes"]["kendall_w"]
    (0.929, 'Computed on the 3 units rated by all 2 raters; 1 unit(s) with a missing rating were left out.')
    >>> labels = agreement_report([["yes", "no"], ["no", "no"], ["yes", "yes"]])
    >>> round(labels["krippendorff_alpha"]["nominal"], 3), labels["icc"]["ICC2"]
    (0.444, None)
    >>> labels["notes"]["icc.ICC2"]
    'The ratings are labels, not numbers, so the ICC is undefined; only the nominal statistics apply.'
    """
    r = ratings if isinstance(ratings, Ratings) and scale is None and not nominal_only else Ratings(
        ratings, scale=scale, nominal=nominal_only)
    notes: dict[str, str] = {}

    def put(key: str, stat: Stat) -> float | None:
        if stat.note:
            notes[key] = stat.note
        return stat.value

    o = coincidences(r.counts)
    alpha = {level: put(f"krippendorff_alpha.{level}", _alpha_from(o, level, r)) for level in LEVELS}
    cohen = {w: put(f"cohen_kappa.{w}", cohen_kappa(r, weights=w)) for w in ("unweighted", "linear", "quadratic")}
    ac2 = {w: put(f"gwet_ac2.{w}", gwet_ac2(r, weights=w)) for w in ("linear", "quadratic")}
    if r.numeric:
        icc_result = intraclass_correlations(r.values)
        icc = {form: put(f"icc.{form}", icc_result[form]) for form in FORMS}
    else:
        reason = ("The ratings are labels, not numbers, so the ICC is undefined; only the nominal "
                  "statistics apply." if r.values is None else
                  "The ratings were marked as unordered labels, so the ICC is not computed.")
        icc = {form: put(f"icc.{form}", Stat.undefined(reason)) for form in FORMS}
    empty = int((r.per_unit == 0).sum())
    if empty:
        notes["units"] = (f"{empty} unit(s) have no ratings at all; they are counted here but add nothing "
                          "to any statistic.")
    report = {
        "units": r.shape[0],
        "raters": r.shape[1],
        "ratings": r.observed,
        "krippendorff_alpha": alpha,
        "fleiss_kappa": put("fleiss_kappa", fleiss_kappa(r)),
        "cohen_kappa": cohen,
        "gwet_ac1": put("gwet_ac1", gwet_ac1(r)),
        "gwet_ac2": ac2,
        "brennan_prediger": put("brennan_prediger", brennan_prediger(r)),
        "percent_agreement": put("percent_agreement", percent_agreement(r)),
        "icc": icc,
        "kendall_w": put("kendall_w", kendall_w(r)),
        "notes": notes,
    }
    return report


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def format_report(report: dict[str, Any]) -> str:
    """A plain-text table of a report, for people rather than programs (``—`` = undefined).

    >>> print(format_report(agreement_report([[1, 1], [2, 2], [3, 3]])).splitlines()[3])
    Krippendorff's alpha (nominal)     1.000
    """
    lines = [
        f"{report['units']} units, {report['raters']} raters, {report['ratings']} ratings",
        "",
        f"{'Statistic':34} Value",
    ]

    def row(label: str, value: float | None) -> None:
        lines.append(f"{label:34} {_fmt(value)}")

    for level in LEVELS:
        row(f"Krippendorff's alpha ({level})", report["krippendorff_alpha"][level])
    row("Fleiss' kappa", report["fleiss_kappa"])
    for w in ("unweighted", "linear", "quadratic"):
        row(f"Cohen's kappa ({w})", report["cohen_kappa"][w])
    row("Gwet's AC1", report["gwet_ac1"])
    for w in ("linear", "quadratic"):
        row(f"Gwet's AC2 ({w})", report["gwet_ac2"][w])
    row("Brennan–Prediger", report["brennan_prediger"])
    row("Percent agreement", report["percent_agreement"])
    for form in FORMS:
        row(form, report["icc"][form])
    row("Kendall's W", report["kendall_w"])
    if report["notes"]:
        lines += ["", "Notes:"]
        lines += [f"  {key}: {note}" for key, note in report["notes"].items()]
    return "\n".join(lines)

