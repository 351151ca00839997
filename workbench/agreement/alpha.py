"""Krippendorff's alpha at the nominal, ordinal, interval and ratio levels.

Source: Krippendorff, K. (2011). *Computing Krippendorff's Alpha-Reliability*.
Annenberg School for Communication, University of Pennsylvania (the coincidence-matrix
method and its metric differences); Krippendorff, K. (2004). *Content Analysis*
(2nd ed.), chapter 11.

    alpha = 1 - D_o / D_e = 1 - (n - 1) * sum(o_ck * delta²_ck) / sum(n_c * n_k * delta²_ck)

where ``o`` is the coincidence matrix of pairable values (units with two or more ratings;
each unit's pairs weighted by ``1 / (m_u - 1)``), ``n_c`` its margins and ``n`` the number
of pairable values. Missing ratings simply contribute no pairs.

The coincidence matrix comes from one matrix product of the units × categories count
table, so the cost is one pass over the ratings whatever the number of raters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from workbench.agreement.ratings import Ratings, as_ratings
from workbench.agreement.statistic import Stat

Level = Literal["nominal", "ordinal", "interval", "ratio"]
LEVELS: tuple[Level, ...] = ("nominal", "ordinal", "interval", "ratio")


def coincidences(counts: np.ndarray) -> np.ndarray:
    """The ``categories × categories`` coincidence matrix from a ``units × categories`` count table.

    >>> coincidences(np.array([[2.0, 1.0], [0.0, 1.0]])).tolist()
    [[1.0, 1.0], [1.0, 0.0]]
    """
    m = counts.sum(axis=1)
    pairable = m >= 2
    c = counts[pairable]
    w = 1.0 / (m[pairable] - 1.0)
    o = (c * w[:, None]).T @ c
    o.flat[:: o.shape[0] + 1] -= w @ c
    return o


def _differences(level: Level, ratings: Ratings, margins: np.ndarray) -> np.ndarray | str:
    """δ² for each category pair, or the reason the level does not apply to these ratings."""
    q = len(ratings.categories)
    if level == "nominal":
        return 1.0 - np.eye(q)
    if level == "ordinal":
        if not ratings.ordered:
            return ("The ratings are labels with no declared order, so ordinal alpha is undefined. "
                    "Give the scale in order to compute it.")
        cum = np.concatenate([[0.0], np.cumsum(margins)])
        i = np.arange(q)
        lo, hi = np.minimum.outer(i, i), np.maximum.outer(i, i)
        between = cum[hi + 1] - cum[lo]
        return (between - (margins[lo] + margins[hi]) / 2.0) ** 2
    if not ratings.numeric:
        return (f"The ratings are not all numbers, so {level} alpha is undefined; "
                "only the nominal statistics apply to labels.")
    v = np.asarray(ratings.categories, dtype=float)
    if level == "interval":
        return np.subtract.outer(v, v) ** 2
    if level == "ratio":
        if (v < 0).any():
            return "Ratio alpha needs ratings of zero or more (a true zero); some ratings are negative."
        total = np.add.outer(v, v)
        diff = np.subtract.outer(v, v)
        return np.divide(diff, total, out=np.zeros_like(diff), where=total != 0) ** 2
    raise ValueError(f"level must be one of {', '.join(LEVELS)}; got {level!r}")


def _alpha_from(o: np.ndarray, level: Level, ratings: Ratings) -> Stat:
    margins = o.sum(axis=0)
    n = margins.sum()
    if n == 0:
        return Stat.undefined(_no_pairs_note(ratings))
    delta = _differences(level, ratings, margins)
    if isinstance(delta, str):
        return Stat.undefined(delta)
    expected = margins @ delta @ margins
    if expected <= 0:
        return Stat.undefined(
            "Every rating that can be compared is the same value, so agreement cannot be told apart "
            "from chance and alpha is undefined."
        )
    return Stat(1.0 - (n - 1.0) * float((o * delta).sum()) / float(expected))


def _no_pairs_note(ratings: Ratings) -> str:
    if ratings.shape[1] < 2:
        return "Only one rater, so there is no one to agree with."
    return "No unit was rated by two or more raters, so there are no ratings to compare."


def krippendorff_alpha(
    ratings: Any, *, level: Level = "interval", scale: Sequence[Any] | None = None
) -> Stat:
    """Krippendorff's alpha for a units × raters table (``NaN`` = missing).

    Krippendorff's (2011) reliability-data example (4 observers, 12 units, missing values),
    given here as units × observers:

    >>> x = float("nan")
    >>> data = [[1, 1, x, 1], [2, 2, 3, 2], [3, 3, 3, 3], [3, 3, 3, 3], [2, 2, 2, 2],
    ...         [1, 2, 3, 4], [4, 4, 4, 4], [1, 1, 2, 1], [2, 2, 2, 2], [x, 5, 5, 5],
    ...         [x, x, 1, 1], [x, 3, x, x]]
    >>> [round(krippendorff_alpha(data, level=lv).value, 3) for lv in LEVELS]
    [0.743, 0.815, 0.849, 0.797]
    >>> krippendorff_alpha([[3], [4]], level="nominal").note
    'Only one rater, so there is no one to agree with.'
    """
    r = as_ratings(ratings, scale=scale)
    return _alpha_from(coincidences(r.counts), level, r)


def krippendorff_alphas(ratings: Any, *, scale: Sequence[Any] | None = None) -> dict[str, Stat]:
    """Alpha at all four levels from one coincidence matrix.

    >>> {k: round(v.value, 3) for k, v in krippendorff_alphas([[1, 1], [2, 2], [3, 4]]).items()}
    {'nominal': 0.615, 'ordinal': 0.949, 'interval': 0.878, 'ratio': 0.949}
    """
    r = as_ratings(ratings, scale=scale)
    o = coincidences(r.counts)
    return {level: _alpha_from(o, level, r) for level in LEVELS}
