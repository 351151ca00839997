"""Agreement statistics that match the literature, with missing ratings as the normal case.

Every function takes a units × raters table — a list of lists, a NumPy array or a pandas
DataFrame, one row per unit (nomination, answer) and one column per rater (judge) — where
``NaN``, ``None`` or an empty string means "not rated". Each returns a :class:`Stat`: a
value, or ``None`` with a plain-English note when the statistic is undefined for the data
(one rater, identical ratings, nobody rating the same unit). Nothing raises for that.

One topic per module, each documenting its formula source:

- :mod:`~workbench.agreement.alpha` — Krippendorff's alpha (nominal, ordinal, interval, ratio);
- :mod:`~workbench.agreement.kappa` — Fleiss' kappa, Cohen's kappa, Gwet's AC1/AC2,
  Brennan–Prediger, percent agreement;
- :mod:`~workbench.agreement.icc` — the six Shrout–Fleiss ICCs (ANOVA or REML);
- :mod:`~workbench.agreement.concordance` — Kendall's W with the tie correction;
- :mod:`~workbench.agreement.bootstrap` — confidence intervals over units;
- :mod:`~workbench.agreement.report` — all of them as one JSON-ready dict;
- :mod:`~workbench.agreement.diagnostics` — per-judge severity, spread, halo and panel
  agreement, and score normalisation.

>>> from workbench.agreement import krippendorff_alpha
>>> round(krippendorff_alpha([[1, 1, 1], [2, 2, 3], [3, 3, 3], [None, 4, 4]], level="ordinal").value, 3)
0.92
"""

from workbench.agreement.alpha import LEVELS, krippendorff_alpha, krippendorff_alphas
from workbench.agreement.bootstrap import bootstrap_ci
from workbench.agreement.concordance import kendall_w
from workbench.agreement.diagnostics import judge_diagnostics, judge_flags, normalise_scores
from workbench.agreement.icc import FORMS, IntraclassCorrelations, icc, intraclass_correlations
from workbench.agreement.kappa import (
    agreement_weights,
    brennan_prediger,
    cohen_kappa,
    fleiss_kappa,
    gwet_ac1,
    gwet_ac2,
    percent_agreement,
)
from workbench.agreement.ratings import Ratings, RatingsError, as_ratings, read_ratings_csv
from workbench.agreement.report import REPORT_KEYS, agreement_report, format_report
from workbench.agreement.statistic import Interval, Stat

__all__ = [
    "FORMS", "LEVELS", "REPORT_KEYS", "Interval", "IntraclassCorrelations", "Ratings", "RatingsError", "Stat",
    "agreement_report", "agreement_weights", "as_ratings", "bootstrap_ci", "brennan_prediger", "cohen_kappa",
    "fleiss_kappa", "format_report", "gwet_ac1", "gwet_ac2", "icc", "intraclass_correlations", "judge_diagnostics",
    "judge_flags", "kendall_w", "krippendorff_alpha", "krippendorff_alphas", "normalise_scores",
    "percent_agreement", "read_ratings_csv",
]
