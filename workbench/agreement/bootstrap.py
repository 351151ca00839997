"""Bootstrap confidence intervals over units, reproducible with a seed.

Units (nominations) are resampled with replacement and the statistic recomputed on each
resample; the interval is the percentile interval of those replicates (Efron &
Tibshirani 1993, *An Introduction to the Bootstrap*). Raters are kept as they
are: the interval describes uncertainty from *which units* happened to be rated, the usual
choice for agreement coefficients (Hayes & Krippendorff 2007, *Communication Methods and Measures* 1(1)).
A resample on which the statistic is undefined is left out and counted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from workbench.agreement.ratings import Ratings, as_ratings
from workbench.agreement.statistic import Interval, Stat


def bootstrap_ci(
    ratings: Any,
    statistic: Callable[[Ratings], Stat | float | None],
    *,
    resamples: int = 1000,
    level: float = 0.95,
    seed: int | None = 0,
    scale: Sequence[Any] | None = None,
) -> Interval:
    """Percentile bootstrap interval for ``statistic(ratings)``, resampling units.

    ``statistic`` receives a :class:`Ratings` (already coded, so each replicate is cheap) and
    returns a :class:`Stat` or a number. The same ``seed`` gives the same interval.

    >>> from workbench.agreement.alpha import krippendorff_alpha
    >>> data = [[1, 1, 2], [2, 2, 2], [3, 3, 4], [4, 4, 4], [5, 4, 5], [1, 2, 1], [3, 3, 3], [2, 3, 2]]
    >>> ci = bootstrap_ci(data, lambda r: krippendorff_alpha(r, level="interval"), resamples=200, seed=7)
    >>> ci == bootstrap_ci(data, lambda r: krippendorff_alpha(r, level="interval"), resamples=200, seed=7)
    True
    >>> 0 < ci.low < ci.high <= 1, ci.used
    (True, 200)
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1 (e.g. 0.95); got {level}")
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1; got {resamples}")
    r = as_ratings(ratings, scale=scale)
    units = r.shape[0]
    if units < 2:
        return Interval(None, None, level, resamples, 0,
                        "A confidence interval needs at least two units to resample.")
    rng = np.random.default_rng(seed)
    replicates = []
    for _ in range(resamples):
        value = statistic(r.take(rng.integers(0, units, size=units)))
        if isinstance(value, Stat):
            value = value.value
        if value is not None and np.isfinite(value):
            replicates.append(float(value))
    used = len(replicates)
    if used < max(10, resamples // 2):
        return Interval(None, None, level, resamples, used,
                        f"The statistic was undefined on {resamples - used} of {resamples} resamples, "
                        "too many for a reliable interval.")
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(replicates, [tail, 1.0 - tail])
    note = None
    if used < resamples:
        note = f"The statistic was undefined on {resamples - used} of {resamples} resamples; they were left out."
    return Interval(float(low), float(high), level, resamples, used, note)
