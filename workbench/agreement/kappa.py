"""Chance-corrected agreement: Fleiss' kappa, Cohen's kappa, Gwet's AC1/AC2, Brennan–Prediger,
and percent agreement.

All of them share one form, ``(p_a - p_e) / (1 - p_e)``, and differ in the chance
agreement ``p_e``. With missing ratings (each rater scoring a subset of units) they follow
Gwet, K. L. (2014), *Handbook of Inter-Rater Reliability* (4th ed.), chapters 2 and 3, as
implemented in his irrCAC package:

- ``p_a`` is the mean, over units rated at least twice, of
  ``sum_k r_ik (r*_ik - 1) / (r_i (r_i - 1))``, with ``r_ik`` the raters putting unit ``i``
  in category ``k``, ``r*_ik = sum_l w_kl r_il`` and ``r_i`` the unit's ratings;
- ``pi_k`` is the mean, over units rated at least once, of ``r_ik / r_i``.

Then Fleiss (1971) ``p_e = sum_kl w_kl pi_k pi_l``; Gwet (2008) AC1/AC2
``p_e = T_w / (q (q - 1)) * sum_k pi_k (1 - pi_k)``; Brennan & Prediger (1981)
``p_e = T_w / q²``, with ``q`` categories and ``T_w`` the sum of the weights. For complete
data Fleiss' kappa is exactly Fleiss (1971). statsmodels' ``fleiss_kappa`` instead counts a
missing rating as one more category, which is wrong for incomplete designs.

Weights: ``"unweighted"`` (identity), ``"linear"`` ``1 - |x_k - x_l| / (x_max - x_min)``,
``"quadratic"`` ``1 - (x_k - x_l)² / (x_max - x_min)²`` over the category values — the
declared scale when one is given, so unequal spacing and unused values count — or a
``q × q`` matrix of agreement weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from workbench.agreement.ratings import Ratings, as_ratings
from workbench.agreement.statistic import Stat

Weights = Literal["unweighted", "linear", "quadratic"] | np.ndarray

_SAME_CATEGORY = ("Every rating is in the same category, so agreement cannot be told apart from chance "
                  "and {name} is undefined.")


def agreement_weights(ratings: Ratings, weights: Weights | None = "unweighted") -> np.ndarray | str:
    """The ``q × q`` agreement-weight matrix for these ratings' categories, or why there is none.

    >>> agreement_weights(Ratings([[0, 2], [4, 4]]), "linear").tolist()
    [[1.0, 0.5, 0.0], [0.5, 1.0, 0.5], [0.0, 0.5, 1.0]]
    """
    q = len(ratings.categories)
    if weights is None or (isinstance(weights, str) and weights in ("unweighted", "identity")):
        return np.eye(q)
    if not isinstance(weights, str):
        matrix = np.asarray(weights, dtype=float)
        if matrix.shape != (q, q):
            raise ValueError(f"a weight matrix for these ratings must be {q} × {q} (one row and column per "
                             f"category: {', '.join(map(str, ratings.categories))}); got {matrix.shape}")
        return matrix
    if weights not in ("linear", "quadratic"):
        raise ValueError(f"weights must be 'unweighted', 'linear', 'quadratic' or a matrix; got {weights!r}")
    x = ratings.category_values
    if x is None:
        return (f"{weights.capitalize()} weights need ordered categories; these ratings are labels with no "
                "declared order. Give the scale in order to compute it.")
    span = float(x.max() - x.min()) if q else 0.0
    if span == 0:
        return np.eye(q)
    distance = np.abs(np.subtract.outer(x, x)) / span
    return 1.0 - (distance if weights == "linear" else distance**2)


def _common(ratings: Ratings, name: str) -> str | None:
    if ratings.shape[1] < 2:
        return "Only one rater, so there is no one to agree with."
    if not (ratings.per_unit >= 2).any():
        return "No unit was rated by two or more raters, so there are no ratings to compare."
    return None


def _parts(ratings: Ratings, w: np.ndarray) -> tuple[float, np.ndarray]:
    """Gwet's ``p_a`` and category proportions ``pi`` for a weight matrix."""
    counts = ratings.counts
    r = counts.sum(axis=1)
    rated = r >= 1
    twice = r >= 2
    c2 = counts[twice]
    r2 = r[twice]
    agree = (c2 * (c2 @ w.T - 1.0)).sum(axis=1) / (r2 * (r2 - 1.0))
    pa = float(agree.mean())
    pi = (counts[rated] / r[rated, None]).mean(axis=0)
    return pa, pi


def _coefficient(pa: float, pe: float, name: str, note: str) -> Stat:
    if pe >= 1.0 - 1e-12:
        return Stat.undefined(note.format(name=name))
    return Stat((pa - pe) / (1.0 - pe))


def _chance_corrected(ratings: Any, scale, weights, name: str, chance) -> Stat:
    r = as_ratings(ratings, scale=scale)
    problem = _common(r, name)
    if problem:
        return Stat.undefined(problem)
    w = agreement_weights(r, weights)
    if isinstance(w, str):
        return Stat.undefined(w)
    pa, pi = _parts(r, w)
    return chance(pa, pi, w, len(r.categories))


def percent_agreement(ratings: Any, *, weights: Weights = "unweighted", scale: Sequence[Any] | None = None) -> Stat:
    """Share of agreeing rater pairs, averaged over units rated at least twice (Gwet 2014, chapter 2).

    >>> x = float("nan")
    >>> round(percent_agreement([[1, 1, x], [2, 2, 3], [4, x, x]]).value, 4)
    0.6667
    """
    return _chance_corrected(ratings, scale, weights, "percent agreement", lambda pa, pi, w, q: Stat(pa))


def fleiss_kappa(ratings: Any, *, weights: Weights = "unweighted", scale: Sequence[Any] | None = None) -> Stat:
    """Fleiss' (1971) kappa, generalised to missing ratings as in Gwet (2014).

    Source: Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters.
    *Psychological Bulletin*, 76(5), 378–382. Missing data: Gwet (2014), chapter 2.

    Gwet's 4-rater, 12-unit example (irrCAC ``cac.raw4raters``) gives 0.76117:

    >>> x = float("nan")
    >>> data = [[1, 1, x, 1], [2, 2, 3, 2], [3, 3, 3, 3], [3, 3, 3, 3], [2, 2, 2, 2],
    ...         [1, 2, 3, 4], [4, 4, 4, 4], [1, 1, 2, 1], [2, 2, 2, 2], [x, 5, 5, 5],
    ...         [x, x, 1, 1], [x, x, 3, x]]
    >>> round(fleiss_kappa(data).value, 5)
    0.76117
    """
    def chance(pa, pi, w, q):
        return _coefficient(pa, float(pi @ w @ pi), "Fleiss' kappa", _SAME_CATEGORY)

    return _chance_corrected(ratings, scale, weights, "Fleiss' kappa", chance)


def _gwet(pa: float, pi: np.ndarray, w: np.ndarray, q: int, name: str) -> Stat:
    if q < 2:
        return Stat.undefined(
            f"Only one category was used and no scale was declared, so {name} is undefined. "
            "Give the scale so the categories raters could have chosen count."
        )
    pe = float(w.sum()) / (q * (q - 1.0)) * float((pi * (1.0 - pi)).sum())
    return _coefficient(pa, pe, name, _SAME_CATEGORY)


def gwet_ac1(ratings: Any, *, scale: Sequence[Any] | None = None) -> Stat:
    """Gwet's AC1 (unweighted), with missing ratings.

    Source: Gwet, K. L. (2008). Computing inter-rater reliability and its variance in the
    presence of high agreement. *British Journal of Mathematical and Statistical
    Psychology*, 61(1), 29–48; Gwet (2014), chapter 2. The irrCAC ``cac.raw4raters``
    example gives 0.77544:

    >>> x = float("nan")
    >>> data = [[1, 1, x, 1], [2, 2, 3, 2], [3, 3, 3, 3], [3, 3, 3, 3], [2, 2, 2, 2],
    ...         [1, 2, 3, 4], [4, 4, 4, 4], [1, 1, 2, 1], [2, 2, 2, 2], [x, 5, 5, 5],
    ...         [x, x, 1, 1], [x, x, 3, x]]
    >>> round(gwet_ac1(data).value, 5)
    0.77544
    """
    return _chance_corrected(ratings, scale, "unweighted", "AC1", lambda pa, pi, w, q: _gwet(pa, pi, w, q, "AC1"))


def gwet_ac2(
    ratings: Any, *, weights: Weights = "quadratic", scale: Sequence[Any] | None = None
) -> Stat:
    """Gwet's AC2: AC1 with linear or quadratic (or custom) agreement weights (Gwet 2014, chapter 3).

    The irrCAC ``cac.raw4raters`` example with quadratic weights gives 0.914:

    >>> x = float("nan")
    >>> data = [[1, 1, x, 1], [2, 2, 3, 2], [3, 3, 3, 3], [3, 3, 3, 3], [2, 2, 2, 2],
    ...         [1, 2, 3, 4], [4, 4, 4, 4], [1, 1, 2, 1], [2, 2, 2, 2], [x, 5, 5, 5],
    ...         [x, x, 1, 1], [x, x, 3, x]]
    >>> round(gwet_ac2(data, weights="quadratic").value, 3)
    0.914
    """
    return _chance_corrected(ratings, scale, weights, "AC2", lambda pa, pi, w, q: _gwet(pa, pi, w, q, "AC2"))


def brennan_prediger(ratings: Any, *, weights: Weights = "unweighted", scale: Sequence[Any] | None = None) -> Stat:
    """Brennan–Prediger coefficient: chance agreement ``T_w / q²`` (uniform use of the ``q`` categories).

    Source: Brennan, R. L., & Prediger, D. J. (1981). Coefficient kappa: some uses, misuses,
    and alternatives. *Educational and Psychological Measurement*, 41, 687–699; missing data
    as in Gwet (2014). The irrCAC ``cac.raw4raters`` example gives 0.77273:

    >>> x = float("nan")
    >>> data = [[1, 1, x, 1], [2, 2, 3, 2], [3, 3, 3, 3], [3, 3, 3, 3], [2, 2, 2, 2],
    ...         [1, 2, 3, 4], [4, 4, 4, 4], [1, 1, 2, 1], [2, 2, 2, 2], [x, 5, 5, 5],
    ...         [x, x, 1, 1], [x, x, 3, x]]
    >>> round(brennan_prediger(data).value, 5)
    0.77273
    """
    def chance(pa, pi, w, q):
        if q < 2:
            return Stat.undefined(
                "Only one category was used and no scale was declared, so the Brennan–Prediger coefficient "
                "is undefined. Give the scale so the categories raters could have chosen count."
            )
        return _coefficient(pa, float(w.sum()) / q**2, "the Brennan–Prediger coefficient", _SAME_CATEGORY)

    return _chance_corrected(ratings, scale, weights, "the Brennan–Prediger coefficient", chance)


def cohen_kappa(ratings: Any, *, weights: Weights = "unweighted", scale: Sequence[Any] | None = None) -> Stat:
    """Cohen's kappa for exactly two raters, unweighted or weighted, on the units both rated.

    Sources: Cohen, J. (1960). A coefficient of agreement for nominal scales. *Educational
    and Psychological Measurement*, 20, 37–46; Cohen, J. (1968). Weighted kappa.
    *Psychological Bulletin*, 70(4), 213–220. ``p_o = sum w_kl p_kl``,
    ``p_e = sum w_kl p_k. p_.l``.

    Cohen's (1968) Table 1 (200 cases, 3 diagnoses) has kappa .492:

    >>> table = [[88, 10, 2], [14, 40, 6], [18, 10, 12]]
    >>> pairs = [[b, a] for b in range(3) for a in range(3) for _ in range(table[b][a])]
    >>> round(cohen_kappa(pairs).value, 3)
    0.492
    """
    r = as_ratings(ratings, scale=scale)
    if r.shape[1] != 2:
        return Stat.undefined(
            f"Cohen's kappa compares exactly two raters; there are {r.shape[1]}. "
            "Use Fleiss' kappa, Gwet's AC1 or Krippendorff's alpha for more."
        )
    w = agreement_weights(r, weights)
    if isinstance(w, str):
        return Stat.undefined(w)
    both = r.mask.all(axis=1)
    n = int(both.sum())
    if n == 0:
        return Stat.undefined("No unit was rated by both raters, so there are no ratings to compare.")
    q = len(r.categories)
    a, b = r.codes[both, 0], r.codes[both, 1]
    table = np.bincount(a * q + b, minlength=q * q).reshape(q, q) / n
    po = float((w * table).sum())
    pe = float(table.sum(axis=1) @ w @ table.sum(axis=0))
    stat = _coefficient(po, pe, "Cohen's kappa", _SAME_CATEGORY)
    single = int((r.per_unit == 1).sum())
    if stat.defined and single:
        return Stat(stat.value, f"Computed on the {n} units both raters scored; {single} unit(s) have one rating only.")
    return stat
