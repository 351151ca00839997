"""Intraclass correlations: the six Shrout–Fleiss forms, with or without missing ratings.

Source: Shrout, P. E., & Fleiss, J. L. (1979). Intraclass correlations: uses in assessing
rater reliability. *Psychological Bulletin*, 86(2), 420–428; McGraw, K. O., & Wong, S. P.
(1996). Forming inferences about some intraclass correlation coefficients.
*Psychological Methods*, 1(1), 30–46.

Which one to report (McGraw & Wong's names in brackets):

- ``ICC1`` [ICC(1)] (one-way random): each unit is scored by a different set of raters;
- ``ICC2`` [ICC(A,1)] (two-way random, absolute agreement): raters are a sample of possible
  raters and their leniency counts as error — usually the right one for an award panel;
- ``ICC3`` [ICC(C,1)] (two-way mixed, consistency): these raters only, leniency ignored;
- the ``k`` forms [ICC(k), ICC(A,k), ICC(C,k)] give the reliability of the *mean* of the
  ratings a unit receives.

When the design cannot tell rater leniency apart from disagreement (every rating is used
up by the unit and rater effects), ``ICC2``/``ICC3`` and their ``k`` forms are ``None``
with a note rather than an arbitrary number.

**Complete data** (every unit rated by every rater) uses the ANOVA mean squares of
Shrout & Fleiss: with ``n`` units, ``k`` raters, ``BMS`` (units), ``JMS``
(raters), ``EMS`` (residual) and ``WMS`` (within units),
``ICC1 = (BMS − WMS) / (BMS + (k − 1) WMS)``,
``ICC2 = (BMS − EMS) / (BMS + (k − 1) EMS + k (JMS − EMS) / n)``,
``ICC3 = (BMS − EMS) / (BMS + (k − 1) EMS)``, ``ICC1k = (BMS − WMS) / BMS``,
``ICC2k = (BMS − EMS) / (BMS + (JMS − EMS) / n)``, ``ICC3k = (BMS − EMS) / BMS``.

**Incomplete data** (each judge scores a subset — the normal case on a panel) keeps every
unit. The variance components behind those formulas are estimated by restricted maximum
likelihood (REML; Patterson & Thompson 1971; Searle, Casella & McCulloch 1992, ch. 6)
on the incomplete design, then combined exactly as the mean squares are:

- ``ICC1 = σ²_unit / (σ²_unit + σ²_within)`` from ``y = μ + unit + e``;
- ``ICC2 = σ²_unit / (σ²_unit + σ²_rater + σ²_e)`` from ``y = μ + unit + rater + e``,
  units and raters random (crossed);
- ``ICC3 = σ²_unit / (σ²_unit + σ²_e)`` from ``y = rater + unit + e``, raters fixed;
- the ``k`` forms divide the error variance by ``k̄``, the harmonic mean of the number of
  ratings per unit (the error variance of an average unit mean).

With complete data the REML estimates equal the ANOVA ones whenever those are not
negative (REML keeps variances at zero or above), so both routes agree. The likelihood
is evaluated in closed form: given the unit effects, each unit's covariance is
compound-symmetric, and the rater effects enter through a ``k × k`` Woodbury update whose
pieces are summed once per distinct number of ratings per unit. One evaluation costs
``O(k³)``, independent of the number of units.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy import optimize, sparse
from scipy.sparse.csgraph import connected_components

try:  # installed with scikit-learn; only used to keep BLAS to one thread for k × k algebra
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover
    def threadpool_limits(*args, **kwargs):
        return nullcontext()

from workbench.agreement.ratings import Ratings
from workbench.agreement.statistic import Stat

FORMS = ("ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k")
Method = Literal["auto", "anova", "reml"]
_EDGE = 1.0 - 1e-9
#: A variance ratio beyond this sits at the edge of the likelihood (error variance ≈ 0).
_BOUNDARY = 1e5


@dataclass(frozen=True)
class IntraclassCorrelations:
    """The six ICC forms and how they were obtained.

    ``method`` is ``"anova"`` (complete data) or ``"reml"`` (incomplete data), or ``None``
    when nothing could be computed; ``k`` is the number of ratings per unit behind the
    average-measure forms; ``components`` holds the variance components (REML only).
    """

    values: dict[str, Stat]
    method: str | None
    units: int
    raters: int
    k: float | None
    components: dict[str, float] = field(default_factory=dict)

    def __getitem__(self, form: str) -> Stat:
        return self.values[form]

    def as_dict(self) -> dict[str, float | None]:
        return {form: self.values[form].value for form in FORMS}


def _numeric(data: Any) -> np.ndarray | str:
    if isinstance(data, Ratings):
        if not data.numeric:
            return "The ratings are not all numbers, so the ICC is undefined; only the nominal statistics apply."
        return data.values
    if hasattr(data, "to_numpy") and hasattr(data, "columns"):
        data = data.to_numpy()
    array = np.asarray(data)
    if array.dtype.kind not in "biuf":
        r = Ratings(array)
        if not r.numeric:
            return "The ratings are not all numbers, so the ICC is undefined; only the nominal statistics apply."
        return r.values
    if array.ndim != 2:
        raise ValueError("ratings must be a units × raters table")
    return array.astype(float, copy=False)


def _all(note: str, units: int = 0, raters: int = 0) -> IntraclassCorrelations:
    return IntraclassCorrelations({f: Stat.undefined(note) for f in FORMS}, None, units, raters, None)


def _ratio(num: float, den: float, note: str) -> Stat:
    if abs(den) <= 1e-12 * max(1.0, abs(num)):
        return Stat.undefined(note)
    return Stat(num / den)


def _anova(y: np.ndarray, total: float) -> IntraclassCorrelations:
    """Shrout & Fleiss's mean squares from one pass of row sums, column sums and squares."""
    n, k = y.shape
    big_n = n * k
    row = y @ np.ones(k)
    col = np.ones(n) @ y
    square = float(np.einsum("ij,ij->", y, y))
    correction = total * total / big_n
    sst = square - correction
    if sst <= 1e-6 * square:  # nearly constant ratings: recompute without cancellation
        centred = y - total / big_n
        sst = float(np.einsum("ij,ij->", centred, centred))
        row, col = centred @ np.ones(k), np.ones(n) @ centred
        correction = 0.0
    ssr = float(row @ row) / k - correction
    ssc = float(col @ col) / n - correction
    sse = max(sst - ssr - ssc, 0.0)
    bms = ssr / (n - 1)
    jms = ssc / (k - 1)
    ems = sse / ((n - 1) * (k - 1))
    wms = (ssc + sse) / (n * (k - 1))
    flat = ("The units all received the same mean rating, so the share of variance due to the units "
            "is undefined.")
    values = {
        "ICC1": _ratio(bms - wms, bms + (k - 1) * wms, flat),
        "ICC2": _ratio(bms - ems, bms + (k - 1) * ems + k * (jms - ems) / n, flat),
        "ICC3": _ratio(bms - ems, bms + (k - 1) * ems, flat),
        "ICC1k": _ratio(bms - wms, bms, flat),
        "ICC2k": _ratio(bms - ems, bms + (jms - ems) / n, flat),
        "ICC3k": _ratio(bms - ems, bms, flat),
    }
    return IntraclassCorrelations(values, "anova", n, k, float(k))


class _Design:
    """Sufficient statistics of an incomplete units × raters design for the REML likelihoods.

    Everything is centred on the grand mean analytically, so the table is read once.
    """

    def __init__(self, y: np.ndarray, mask: np.ndarray):
        n, k = y.shape
        filled = np.where(mask, y, 0.0)
        m = np.count_nonzero(mask, axis=1)
        self.raters = k
        self.n_obs = int(m.sum())
        raw_s = filled @ np.ones(k)
        raw_t = np.ones(n) @ filled
        mu = float(raw_s.sum()) / self.n_obs
        square = float(np.einsum("ij,ij->", filled, filled))
        del filled  # the rest works on the mask and the per-unit sums
        self.yy = square - self.n_obs * mu * mu
        if self.yy <= 1e-6 * square:
            centred = np.where(mask, y - mu, 0.0)
            self.yy = float(np.einsum("ij,ij->", centred, centred))
        self.rater_n = np.count_nonzero(mask, axis=0).astype(float)
        self.rater_sum = raw_t - mu * self.rater_n
        self.total = 0.0
        s = raw_s - mu * m
        order = np.argsort(m, kind="stable")
        m_sorted = m[order]
        s = s[order]
        sizes, starts = np.unique(m_sorted, return_index=True)
        keep = sizes > 0
        bounds = list(starts) + [n]
        spans = [(lo, hi) for (lo, hi), used in zip(zip(bounds[:-1], bounds[1:]), keep) if used]
        sizes = sizes[keep]
        g = len(sizes)
        self.g = sizes.astype(float)
        self.count = np.array([hi - lo for lo, hi in spans], dtype=float)
        self.s2 = np.empty(g)
        self.s1 = np.empty(g)
        self.b = np.empty((g, k))
        self.a = np.empty((g, k, k))
        for i, (lo, hi) in enumerate(spans):
            # 0/1 entries: float32 products and sums of counts below 2²⁴ are exact.
            block = mask[order[lo:hi]].astype(np.float32)
            sums = s[lo:hi]
            self.s2[i] = sums @ sums
            self.s1[i] = sums.sum()
            self.b[i] = sums @ block
            self.a[i] = block.T @ block
        self.d = np.einsum("gjj->gj", self.a)
        self.a_flat = self.a.reshape(g, k * k)
        self.diag_n = np.diag(self.rater_n)
        self.harmonic_k = float(self.count.sum() / (self.count / self.g).sum())
        self.eye = np.eye(k)
        self.g_squared_count = self.count * self.g**2
        self.g_s1 = self.g * self.s1
        self.g_d = self.g[:, None] * self.d
        #: Squares of ratings about their unit's mean; zero when every unit's ratings agree.
        self.within = self.yy - float((self.s2 / self.g).sum()) if g else 0.0

    def pieces(self, theta_unit: float):
        """Quadratic forms with ``R⁻¹``, the inverse covariance given unit effects (σ²_e = 1)."""
        c = theta_unit / (1.0 + self.g * theta_unit)
        logdet_r = float(self.count @ np.log1p(self.g * theta_unit))
        yry = self.yy - c @ self.s2
        zry = self.rater_sum - c @ self.b
        zrz = self.diag_n - (c @ self.a_flat).reshape(self.raters, self.raters)
        one_r_one = self.n_obs - c @ self.g_squared_count
        one_ry = self.total - c @ self.g_s1
        zr1 = self.rater_n - c @ self.g_d
        return logdet_r, yry, zry, zrz, one_r_one, one_ry, zr1

    # −2 × restricted log-likelihood, σ²_e profiled out; returns (objective, σ²_e).

    def one_way(self, theta: float) -> tuple[float, float]:
        logdet_r, yry, _, _, one_r_one, one_ry, _ = self.pieces(theta)
        q = max(yry - one_ry**2 / one_r_one, 1e-300)
        sigma2 = q / (self.n_obs - 1)
        return (self.n_obs - 1) * np.log(sigma2) + logdet_r + np.log(one_r_one), sigma2

    def fixed_raters(self, theta: float) -> tuple[float, float]:
        logdet_r, yry, zry, zrz, *_ = self.pieces(theta)
        chol = np.linalg.cholesky(zrz)
        half = np.linalg.solve(chol, zry)
        q = max(yry - half @ half, 1e-300)
        sigma2 = q / (self.n_obs - self.raters)
        logdet = 2.0 * np.log(np.diag(chol)).sum()
        return (self.n_obs - self.raters) * np.log(sigma2) + logdet_r + logdet, sigma2

    def random_raters(self, theta_unit: float, theta_rater: float) -> tuple[float, float]:
        logdet_r, yry, zry, zrz, one_r_one, one_ry, zr1 = self.pieces(theta_unit)
        h = self.eye + theta_rater * zrz
        chol = np.linalg.cholesky(h)
        half_y, half_1 = np.linalg.solve(chol, np.column_stack([zry, zr1])).T
        yvy = yry - theta_rater * half_y @ half_y
        xvx = one_r_one - theta_rater * half_1 @ half_1
        xvy = one_ry - theta_rater * half_1 @ half_y
        q = max(yvy - xvy**2 / xvx, 1e-300)
        sigma2 = q / (self.n_obs - 1)
        logdet = logdet_r + 2.0 * np.log(np.diag(chol)).sum()
        return (self.n_obs - 1) * np.log(sigma2) + logdet + np.log(xvx), sigma2


def _theta(phi: float) -> float:
    return phi / (1.0 - phi)


def _fit_one(objective) -> tuple[float, float]:
    """Minimise a one-parameter profiled REML objective over θ = φ / (1 − φ) ≥ 0."""
    res = optimize.minimize_scalar(lambda p: objective(_theta(p))[0], bounds=(0.0, _EDGE),
                                   method="bounded", options={"xatol": 1e-10})
    best = min((0.0, float(res.x)), key=lambda p: objective(_theta(p))[0])
    theta = _theta(best)
    return theta, objective(theta)[1]


def _fit_two(
    design: _Design, one_way_theta: float, fixed_theta: float, fixed_sigma2: float
) -> tuple[float, float, float]:
    """Both variance ratios of the crossed random model, from a moment-based start.

    The boundary ``σ²_rater = 0`` is the one-way model, whose fit is already known, so it is
    compared directly rather than left to the optimiser.
    """
    def f(p):
        return design.random_raters(_theta(p[0]), _theta(p[1]))[0]

    rated = design.rater_n > 0
    means = design.rater_sum[rated] / design.rater_n[rated]
    spread = float(means.var()) - fixed_sigma2 * float((1.0 / design.rater_n[rated]).mean())
    theta_r0 = min(max(spread / fixed_sigma2, 1e-3), 1e3)
    x0 = (fixed_theta / (1.0 + fixed_theta), theta_r0 / (1.0 + theta_r0))
    res = optimize.minimize(f, x0, method="L-BFGS-B", bounds=[(0.0, _EDGE)] * 2,
                            options={"ftol": 1e-15, "gtol": 1e-9, "maxiter": 500})
    tu, tr = _theta(res.x[0]), _theta(res.x[1])
    if design.random_raters(one_way_theta, 0.0)[0] < res.fun:
        tu, tr = one_way_theta, 0.0
    return tu, tr, design.random_raters(tu, tr)[1]


def _reml(design: _Design, n: int, k: int) -> IntraclassCorrelations:
    kbar = design.harmonic_k
    if design.n_obs - k <= 0:
        return _all("Too few ratings to separate units, raters and error; each rater needs more units.", n, k)
    if design.within <= 1e-12 * design.yy:
        ones = {f: Stat(1.0) for f in FORMS}
        return IntraclassCorrelations(ones, "reml", n, k, kbar)
    with threadpool_limits(1, user_api="blas"):  # k × k algebra: threads only cost time
        theta_w, s2_w = _fit_one(design.one_way)
        theta_3, s2_3 = _fit_one(design.fixed_raters)
        theta_u, theta_r, s2_e = _fit_two(design, theta_w, theta_3, s2_3)
    unit1, within = theta_w * s2_w, s2_w
    unit2, rater2, error2 = theta_u * s2_e, theta_r * s2_e, s2_e
    unit3, error3 = theta_3 * s2_3, s2_3
    note = "The units all received the same mean rating, so the share of variance due to the units is undefined."
    values = {
        "ICC1": _ratio(unit1, unit1 + within, note),
        "ICC2": _ratio(unit2, unit2 + rater2 + error2, note),
        "ICC3": _ratio(unit3, unit3 + error3, note),
        "ICC1k": _ratio(unit1, unit1 + within / kbar, note),
        "ICC2k": _ratio(unit2, unit2 + (rater2 + error2) / kbar, note),
        "ICC3k": _ratio(unit3, unit3 + error3 / kbar, note),
    }
    if min(theta_u, theta_r) > _BOUNDARY:
        # The fit puts all the variance in units and raters and none in error, so the split
        # between units and raters is not determined by these few ratings.
        ridge = ("The ratings fit unit and rater effects almost exactly, leaving no error to estimate, so the "
                 "split between units and raters is not determined; more units rated by several raters are needed.")
        values["ICC2"] = values["ICC2k"] = Stat.undefined(ridge)
    components = {
        "one_way_unit": float(unit1), "one_way_within": float(within),
        "unit": float(unit2), "rater": float(rater2), "error": float(error2),
        "fixed_raters_unit": float(unit3), "fixed_raters_error": float(error3),
    }
    return IntraclassCorrelations(values, "reml", n, k, kbar, components)


def intraclass_correlations(ratings: Any, *, method: Method = "auto") -> IntraclassCorrelations:
    """All six Shrout–Fleiss ICCs for a units × raters table (``NaN`` = missing).

    ``method="auto"`` uses the ANOVA mean squares when every unit has every rating and REML
    otherwise; units and raters with no ratings at all carry nothing and are left out.

    Shrout & Fleiss's (1979) example — 6 targets, 4 judges — for which they report
    .17, .29, .71, .44, .62, .91:

    >>> sf = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]
    >>> result = intraclass_correlations(sf)
    >>> result.method, [round(v, 2) for v in result.as_dict().values()]
    ('anova', [0.17, 0.29, 0.71, 0.44, 0.62, 0.91])
    >>> sf[0][1] = float("nan")
    >>> intraclass_correlations(sf).method
    'reml'
    """
    if method not in ("auto", "anova", "reml"):
        raise ValueError(f"method must be 'auto', 'anova' or 'reml'; got {method!r}")
    y = _numeric(ratings)
    if isinstance(y, str):
        shape = getattr(ratings, "shape", (0, 0))
        return _all(y, int(shape[0]), int(shape[1]))
    n, k = y.shape
    total = float(y.sum()) if y.size else 0.0
    complete = y.size > 0 and np.isfinite(total)
    if complete and method != "reml":
        if k < 2:
            return _all("Only one rater, so there is no one to agree with.", n, k)
        if n < 2:
            return _all("Only one unit was rated, so there is no variation between units to compare with.", n, k)
        if y.max() == y.min():
            return _all("Every rating is the same, so there is no variation to split between units and raters.", n, k)
        return _anova(y, total)
    if method == "anova":
        raise ValueError("the ANOVA method needs every unit rated by every rater; use method='reml' or 'auto'")
    mask = ~np.isnan(y)
    if np.isinf(y[mask]).any():
        raise ValueError("ratings must be finite numbers (NaN for missing)")
    used_raters = mask.any(axis=0)
    if not used_raters.all():
        y, mask = y[:, used_raters], mask[:, used_raters]
    per_unit = np.count_nonzero(mask, axis=1)
    k = y.shape[1]
    n = int((per_unit > 0).sum())
    if k < 2:
        return _all("Only one rater, so there is no one to agree with.", n, k)
    if not (per_unit >= 2).any():
        return _all("No unit was rated by two or more raters, so there are no ratings to compare.", n, k)
    if n < 2:
        return _all("Only one unit was rated, so there is no variation between units to compare with.", n, k)
    design = _Design(y, mask)
    if design.yy <= 0.0:
        return _all("Every rating is the same, so there is no variation to split between units and raters.", n, k)
    result = _reml(design, n, k)
    if _residual_df(mask, design.n_obs, n, k) <= 0:
        # Units and raters use up every rating: rater leniency cannot be told apart from
        # disagreement, so only the one-way forms (which do not separate them) are defined.
        note = ("Too few units are rated by more than one rater to tell rater leniency apart from "
                "disagreement; only ICC1 and ICC1k can be computed.")
        values = {f: (result[f] if f in ("ICC1", "ICC1k") else Stat.undefined(note)) for f in FORMS}
        return IntraclassCorrelations(values, result.method, n, k, result.k, result.components)
    return result


def _residual_df(mask: np.ndarray, n_obs: int, units: int, raters: int) -> int:
    """Residual degrees of freedom of ``rating = unit + rater`` on the incomplete design."""
    if n_obs - units - raters + 1 > 0:
        return n_obs - units - raters + 1  # a lower bound; enough to know it is positive
    graph = sparse.csr_matrix(mask[mask.any(axis=1)])
    bipartite = sparse.bmat([[None, graph], [graph.T, None]], format="csr", dtype=float)
    components = connected_components(bipartite, directed=False)[0]
    return n_obs - units - raters + components


def icc(ratings: Any, form: str = "ICC2", *, method: Method = "auto") -> Stat:
    """One ICC form (default ``ICC2``, absolute agreement of single ratings).

    >>> round(icc([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]).value, 2)
    0.29
    """
    if form not in FORMS:
        raise ValueError(f"form must be one of {', '.join(FORMS)}; got {form!r}")
    return intraclass_correlations(ratings, method=method)[form]
