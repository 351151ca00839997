"""Judge diagnostics and score normalisation over a long table of scores.

The input has one row per score: columns ``nomination``, ``judge``, ``criterion`` and
``score`` (``NaN`` = not scored; other columns are ignored) — the shape of
:func:`workbench.scoring.current_scores`.

**Per judge** (:func:`judge_diagnostics`):

- *severity / leniency*: on each nomination and criterion the judge scored, their score
  minus the mean of the **other** judges' scores there (leave-one-out consensus). Offsets
  are averaged within each nomination first, so a nomination counts once however many
  criteria it has, and the confidence interval is a t-interval over those nomination means
  (Myford & Wolfe 2003, *Journal of Applied Measurement* 4(4), on rater severity; Wind &
  Peterson 2018, *Language Testing* 35(2), on rater-effect indices);
- *spread*: the standard deviation of their scores, and the share at the middle of the
  scale — many middle scores with a small spread is *central tendency*;
- *halo*: the mean correlation between criteria across the nominations they scored — near
  1 means one overall impression drives every criterion (Thorndike 1920; Myford & Wolfe 2003);
- *agreement with the panel*: correlation and mean absolute difference between their
  scores and the other judges' mean on the same nominations and criteria.

Outlying judges get a plain-English sentence in ``flags``.

**Normalisation** (:func:`normalise_scores`) puts every score back on the original scale:

- ``"judge_effect"`` (**prefer this**): fits ``score = mean + nomination + judge + error``
  by least squares across the whole incomplete design (each criterion separately) and
  removes the judge term. Judges are compared through the nominations they share, so a
  judge who happened to get weaker nominations is not mistaken for a harsh one.
- ``"zscore"``: standardises each judge's scores to the panel's mean and spread. It is
  only fair when every judge scores all nominations (or a large random share): otherwise it
  confounds a judge's severity with the quality of the nominations they were given — a
  judge handed the strongest nominations is pulled down. It also stretches a judge who
  used a narrow range, which may or may not be wanted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from scipy import sparse, stats
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import lsqr

from workbench.agreement.ratings import RatingsError

COLUMNS = ("nomination", "judge", "criterion", "score")


def _clean(scores: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in COLUMNS if c not in scores.columns]
    if missing:
        raise RatingsError(
            f"The scores table needs the columns {', '.join(COLUMNS)}; {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} missing."
        )
    data = scores.loc[:, list(COLUMNS)].copy()
    data["score"] = pd.to_numeric(data["score"], errors="coerce")
    data = data[data["score"].notna()].reset_index(drop=True)
    twice = data.duplicated(["nomination", "judge", "criterion"], keep=False)
    if twice.any():
        row = data[twice].iloc[0]
        raise RatingsError(
            f"Judge {row['judge']} has more than one score for nomination {row['nomination']} on "
            f"criterion {row['criterion']}. Keep only the current score for each."
        )
    return data


def _with_consensus(data: pd.DataFrame) -> pd.DataFrame:
    """Add each score's leave-one-out consensus (other judges' mean on the same cell) and offset."""
    cell = data.groupby(["nomination", "criterion"], sort=False)["score"]
    total, count = cell.transform("sum"), cell.transform("count")
    others = count - 1
    data["consensus"] = ((total - data["score"]) / others).where(others > 0)
    data["offset"] = data["score"] - data["consensus"]
    return data


def _middle_values(data: pd.DataFrame, scale: Sequence[float] | None) -> np.ndarray:
    values = np.asarray(sorted(scale if scale is not None else data["score"].unique()), dtype=float)
    mid = (values.min() + values.max()) / 2.0
    distance = np.abs(values - mid)
    return values[np.isclose(distance, distance.min())]


def _halo(judge_scores: pd.DataFrame, min_nominations: int) -> float | None:
    wide = judge_scores.pivot(index="nomination", columns="criterion", values="score")
    if wide.shape[1] < 2:
        return None
    corr = wide.corr(min_periods=min_nominations).to_numpy()
    upper = corr[np.triu_indices_from(corr, k=1)]
    upper = upper[np.isfinite(upper)]
    return float(upper.mean()) if upper.size else None


def _points(value: float) -> str:
    return f"{value:.1f} points"


def _direction_phrase(low: float, high: float) -> str:
    if high < 0:
        return f"{-high:.1f} to {_points(-low)} below"
    if low > 0:
        return f"{low:.1f} to {_points(high)} above"
    return f"{_points(-low)} below to {_points(high)} above"


def judge_diagnostics(
    scores: pd.DataFrame,
    *,
    scale: Sequence[float] | None = None,
    level: float = 0.95,
    min_offset: float = 0.5,
    min_nominations: int = 5,
) -> pd.DataFrame:
    """One row per judge: severity with a confidence interval, spread, halo, panel agreement, flags.

    ``scale`` lists the possible scores (for the middle of the scale); ``min_offset`` is the
    smallest mean offset, in points, worth flagging; judges with fewer than
    ``min_nominations`` shared nominations are described but never flagged.

    Cleo is about two points harsher than Asha and Ben on the same nominations:

    >>> rows = [(n, j, c, s) for n in range(8) for c in ("C1", "C2")
    ...         for j, s in (("Asha", 3 + n % 3), ("Ben", 2 + (n + 1) % 4), ("Cleo", 1 + n % 3 - (n % 4 == 0)))]
    >>> table = judge_diagnostics(pd.DataFrame(rows, columns=list(COLUMNS)), scale=[0, 1, 2, 3, 4, 5])
    >>> table.loc["Cleo", ["nominations", "mean_offset", "offset_low", "offset_high"]].astype(float).round(2).tolist()
    [8.0, -2.06, -2.67, -1.45]
    >>> print(table.loc["Cleo", "flags"][0])
    Cleo scores on average 2.1 points below the rest of the panel on the same nominations (95% CI 1.5 to 2.7
    points below, 8 nominations).
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1 (e.g. 0.95); got {level}")
    data = _with_consensus(_clean(scores))
    middle = _middle_values(data, scale) if len(data) else np.array([])
    at_middle = data["score"].isin(middle)
    rows = []
    for judge, own in data.groupby("judge", sort=True):
        others = data["judge"] != judge
        rest = data.loc[others, "score"]
        compared = own[own["offset"].notna()]
        per_nomination = compared.groupby("nomination")["offset"].mean()
        n_nom = len(per_nomination)
        mean_offset = low = high = None
        if n_nom >= 1:
            mean_offset = float(per_nomination.mean())
        if n_nom >= 2:
            se = float(per_nomination.std(ddof=1)) / np.sqrt(n_nom)
            half = float(stats.t.ppf(0.5 + level / 2.0, n_nom - 1)) * se
            low, high = mean_offset - half, mean_offset + half
        panel_r = None
        if len(compared) >= 3 and compared["score"].std() > 0 and compared["consensus"].std() > 0:
            panel_r = float(np.corrcoef(compared["score"], compared["consensus"])[0, 1])
        rows.append({
            "judge": judge,
            "scores": int(len(own)),
            "nominations": int(own["nomination"].nunique()),
            "compared": n_nom,
            "mean_offset": mean_offset,
            "offset_low": low,
            "offset_high": high,
            "sd": float(own["score"].std(ddof=1)) if len(own) > 1 else None,
            "middle_share": float(at_middle[own.index].mean()),
            "others_sd": float(rest.std(ddof=1)) if len(rest) > 1 else None,
            "others_middle_share": float(at_middle[others].mean()) if len(rest) else None,
            "halo": _halo(own, min_nominations),
            "panel_r": panel_r,
            "panel_mad": float(compared["offset"].abs().mean()) if len(compared) else None,
        })
    table = pd.DataFrame(rows).set_index("judge") if rows else pd.DataFrame(
        columns=["scores", "nominations", "compared", "mean_offset", "offset_low", "offset_high", "sd",
                 "middle_share", "others_sd", "others_middle_share", "halo", "panel_r", "panel_mad"])
    table = table.astype(object).where(table.notna(), None)
    table["flags"] = [
        _flags(str(judge), row, level=level, min_offset=min_offset, min_nominations=min_nominations,
               middle=middle, table=table)
        for judge, row in table.iterrows()
    ]
    table.attrs["middle"] = middle.tolist()
    return table


def _median(values) -> float | None:
    clean = [v for v in values if v is not None]
    return float(np.median(clean)) if clean else None


def _flags(judge: str, row, *, level, min_offset, min_nominations, middle, table) -> list[str]:
    flags: list[str] = []
    if row["compared"] < min_nominations:
        return flags
    pct = f"{level:.0%}"
    if row["offset_low"] is not None and abs(row["mean_offset"]) >= min_offset and (
        row["offset_low"] > 0 or row["offset_high"] < 0
    ):
        side = "below" if row["mean_offset"] < 0 else "above"
        flags.append(
            f"{judge} scores on average {_points(abs(row['mean_offset']))} {side} the rest of the panel on the same "
            f"nominations ({pct} CI {_direction_phrase(row['offset_low'], row['offset_high'])}, "
            f"{row['compared']} nominations)."
        )
    others_sd = row["others_sd"]
    if row["sd"] is not None and others_sd and row["sd"] < 0.6 * others_sd:
        flags.append(
            f"{judge}'s scores vary much less than the other judges' (standard deviation {row['sd']:.1f} against "
            f"{others_sd:.1f}): they may not be separating strong nominations from weak ones."
        )
    if row["others_middle_share"] is not None and row["middle_share"] >= row["others_middle_share"] + 0.25:
        label = " or ".join(f"{v:g}" for v in middle)
        flags.append(
            f"{judge} gives the middle score ({label}) to {row['middle_share']:.0%} of their scores, against "
            f"{row['others_middle_share']:.0%} for the other judges: they may be avoiding the ends of the scale."
        )
    typical_halo = _median(table["halo"])
    halo = row["halo"]
    if halo is not None and typical_halo is not None and halo >= 0.9 and halo >= typical_halo + 0.2:
        flags.append(
            f"{judge}'s scores for different criteria move together (average correlation {row['halo']:.2f} "
            f"across criteria, against {typical_halo:.2f} for a typical judge): they may be scoring an overall "
            "impression rather than each criterion."
        )
    typical_r = _median(table["panel_r"])
    if row["panel_r"] is not None and typical_r is not None and row["panel_r"] < 0.2 and typical_r >= 0.4:
        flags.append(
            f"{judge}'s scores follow the rest of the panel only weakly (correlation {row['panel_r']:.2f} with "
            f"the other judges' mean on the same nominations, against {typical_r:.2f} for a typical judge)."
        )
    return flags


def judge_flags(diagnostics: pd.DataFrame) -> list[str]:
    """Every flag sentence from :func:`judge_diagnostics`, judge by judge.

    >>> scores = pd.DataFrame([(n, j, "C1", s) for n in range(6) for j, s in (("Al", n % 5), ("Bo", n % 5),
    ...                        ("Cy", 2))], columns=list(COLUMNS))
    >>> judge_flags(judge_diagnostics(scores, scale=[0, 1, 2, 3, 4]))[0][:60]
    "Cy's scores vary much less than the other judges' (standard "
    """
    return [sentence for flags in diagnostics["flags"] for sentence in flags]


def _judge_effects(part: pd.DataFrame) -> tuple[pd.Series, int]:
    """Least-squares judge effects for ``score = mean + nomination + judge`` on one criterion,
    centred within each connected group of judges; also the number of such groups."""
    nominations, nom_index = np.unique(part["nomination"].astype(str), return_inverse=True)
    judges, judge_index = np.unique(part["judge"].astype(str), return_inverse=True)
    n, a, b = len(part), len(nominations), len(judges)
    rows = np.repeat(np.arange(n), 3)
    cols = np.column_stack([np.zeros(n, dtype=int), 1 + nom_index, 1 + a + judge_index]).ravel()
    design = sparse.csr_matrix((np.ones(3 * n), (rows, cols)), shape=(n, 1 + a + b))
    y = part["score"].to_numpy(dtype=float)
    solution = lsqr(design, y - y.mean(), atol=1e-12, btol=1e-12, iter_lim=10 * (1 + a + b) + 100)[0]
    effects = solution[1 + a:]
    graph = sparse.csr_matrix((np.ones(n), (nom_index, a + judge_index)), shape=(a + b, a + b))
    groups, labels = connected_components(graph, directed=False)
    judge_group = labels[a:]
    for group in np.unique(judge_group):
        members = judge_group == group
        effects[members] -= effects[members].mean()
    return pd.Series(effects, index=judges), int(groups)


def normalise_scores(
    scores: pd.DataFrame,
    *,
    method: Literal["judge_effect", "zscore"] = "judge_effect",
    by_criterion: bool = True,
) -> pd.DataFrame:
    """The scores with an ``adjusted`` column on the original scale (see the module notes on which to use).

    ``"judge_effect"`` also adds ``judge_effect`` (points the judge adds to a typical score).
    ``by_criterion=False`` pools criteria (one judge effect or one mean and spread per judge).
    If some judges never share a nomination with the others, their effects can only be
    compared within their own group; ``attrs["separate_groups"]`` lists those criteria.

    Two judges share two nominations; Bea is one point harsher on both:

    >>> s = pd.DataFrame({"nomination": ["N1", "N1", "N2", "N2"], "judge": ["Al", "Bea", "Al", "Bea"],
    ...                   "criterion": "C1", "score": [4.0, 3.0, 2.0, 1.0]})
    >>> normalise_scores(s)[["judge", "judge_effect", "adjusted"]].round(3).values.tolist()
    [['Al', 0.5, 3.5], ['Bea', -0.5, 3.5], ['Al', 0.5, 1.5], ['Bea', -0.5, 1.5]]
    """
    if method not in ("judge_effect", "zscore"):
        raise ValueError(f"method must be 'judge_effect' or 'zscore'; got {method!r}")
    data = _clean(scores)
    keys = ["criterion"] if by_criterion else []
    data["adjusted"] = np.nan
    separate: list[str] = []
    if method == "zscore":
        groups = data.groupby(keys + ["judge"], sort=False)["score"] if keys else data.groupby("judge")["score"]
        own_mean, own_sd = groups.transform("mean"), groups.transform("std")
        pooled = data.groupby(keys, sort=False)["score"] if keys else None
        mean = pooled.transform("mean") if keys else data["score"].mean()
        sd = pooled.transform("std") if keys else data["score"].std()
        z = (data["score"] - own_mean) / own_sd
        # A judge with one score, or all scores equal, has no spread to standardise: centre only.
        centred = data["score"] - own_mean + mean
        data["adjusted"] = (mean + z * sd).where(own_sd > 0, centred)
        return data
    data["judge_effect"] = np.nan
    parts = data.groupby("criterion", sort=False) if by_criterion else [("all", data)]
    for name, part in parts:
        effects, groups = _judge_effects(part)
        if groups > 1:
            separate.append(str(name))
        effect = part["judge"].astype(str).map(effects).to_numpy()
        data.loc[part.index, "judge_effect"] = effect
        data.loc[part.index, "adjusted"] = part["score"].to_numpy() - effect
    data.attrs["separate_groups"] = separate
    return data
