"""Kendall's coefficient of concordance W, corrected for ties.

Source: Kendall, M. G., & Babington Smith, B. (1939). The problem of m rankings. *Annals
of Mathematical Statistics*, 10(3), 275–287; Kendall, M. G. (1948). *Rank Correlation
Methods*; Siegel, S., & Castellan, N. J. (1988). *Nonparametric Statistics for the
Behavioral Sciences* (2nd ed.), on the coefficient of concordance (tie correction):

    W = 12 S / (m² (n³ − n) − m Σ_j T_j),   T_j = Σ (t³ − t) over rater j's tied groups,

with ``m`` raters each ranking the same ``n`` units (mid-ranks for ties) and ``S`` the sum of
squared deviations of the units' rank sums from their mean. W is a statement about
*complete* rankings, so it uses the units every rater scored and says so in its note when
others were left out.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import rankdata

from workbench.agreement.ratings import Ratings, as_ratings
from workbench.agreement.statistic import Stat


def _tie_sum(ranks: np.ndarray) -> float:
    """Σ over raters and tie groups of t³ − t, from mid-ranks (equal ranks = one tie group)."""
    total = 0.0
    for column in ranks.T:
        _, t = np.unique(column, return_counts=True)
        total += float((t**3 - t).sum())
    return total


def kendall_w(ratings: Any) -> Stat:
    """Kendall's W with the tie correction, on the units rated by every rater.

    R's ``irr`` package documents ``kendall(anxiety, TRUE)`` as Wt = 0.54 (20 subjects, 3 raters):

    >>> anxiety = [[3, 3, 2], [3, 6, 1], [3, 4, 4], [4, 6, 4], [5, 2, 3], [5, 4, 2], [2, 2, 1],
    ...            [3, 4, 6], [5, 3, 1], [2, 3, 1], [2, 2, 1], [6, 3, 2], [1, 3, 3], [5, 3, 3],
    ...            [2, 2, 1], [2, 2, 1], [1, 1, 3], [2, 3, 3], [4, 3, 2], [3, 4, 2]]
    >>> round(kendall_w(anxiety).value, 2)
    0.54
    """
    r: Ratings = as_ratings(ratings)
    if not r.numeric:
        return Stat.undefined("Kendall's W ranks the units, so it needs numbered ratings; "
                              "these ratings are labels (or were marked as unordered).")
    m = r.shape[1]
    if m < 2:
        return Stat.undefined("Only one rater, so there is no one to agree with.")
    complete = r.mask.all(axis=1)
    n = int(complete.sum())
    dropped = int((r.per_unit > 0).sum()) - n
    if n < 2:
        return Stat.undefined(
            f"Kendall's W needs units ranked by every one of the {m} raters, and "
            f"{'no unit is' if n == 0 else 'only one unit is'}; use Krippendorff's alpha or the ICC, "
            "which allow missing ratings."
        )
    ranks = rankdata(r.values[complete], axis=0)
    sums = ranks.sum(axis=1)
    s = float(((sums - sums.mean()) ** 2).sum())
    denominator = m * m * (n**3 - n) - m * _tie_sum(ranks)
    if denominator <= 0:
        return Stat.undefined("Every rater gave every unit the same rating, so there is no ranking to compare.")
    value = 12.0 * s / denominator
    if dropped:
        return Stat(value, f"Computed on the {n} units rated by all {m} raters; "
                           f"{dropped} unit(s) with a missing rating were left out.")
    return Stat(value)
