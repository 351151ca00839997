"""Aggregation, ranking and the shortlist, with documented tie rules and a robustness check.

Public API::

    build_shortlist(*, scores, rubric, nominations, moderated=None, aggregation="mean", source="raw",
                    top=None, threshold=None, by="round", robustness=True) -> Shortlist
    shortlist_for_round(session, *, round_, aggregation="mean", source="raw", top=None,
                        threshold=None, by="round", robustness=True) -> Shortlist
    record_winners(session, *, round_, references, actor) -> list[int]
    winner_ids(round_) -> list[int]

**Aggregation** (per nomination and criterion, across the judges who scored it):

- ``mean``: the average;
- ``median``: the middle score (the average of the two middle ones for an even count);
- ``trimmed``: the average after leaving out the single highest and the single lowest score,
  when there are at least three scores (with exactly three it equals the median); with one or
  two scores it is the mean.

**Scores** (:data:`SOURCES`):

- ``raw``: the judges' current scores;
- ``normalised``: each judge's scores with their judge effect removed
  (:func:`workbench.agreement.normalise_scores`, method ``judge_effect``), kept on the scale
  (a value beyond the end of the scale is set to the end);
- ``moderated``: the raw aggregate, replaced by the moderator's score wherever a moderation
  decision changed it (:mod:`workbench.moderation`; "no change" keeps the aggregate).

**Totals** follow the rubric: the weighted sum of the criterion aggregates. A nomination with a
criterion nobody scored has no total (never counted as zero); it is listed as not ranked.

**Ranking and ties** (:data:`TIE_RULES`), within the round or within each category:

1. the higher weighted total;
2. more complete scores (judges who scored every criterion);
3. the higher median of the judges' own weighted totals;
4. the lower spread (standard deviation) of the judges' own totals;
5. still level on all four: a tie. Tied nominations share a rank (shown as ``3=``) and are
   reported; a tie across the cut-off puts every tied nomination on the shortlist and says so.

**The shortlist**: the top ``N`` in each group (``by="round"`` or ``by="category"``), or every
nomination with a total at or above ``threshold``.

**Robustness**: the shortlist is rebuilt under every other combination of aggregation
(mean, median, trimmed) and normalisation (raw or normalised; moderated values are kept in
every scenario when the source is ``moderated``), and once with each judge left out in turn
(same aggregation and source; normalised scores are computed once from all judges). A
nomination's *stability* is the share of these scenarios in which it is on the shortlist.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from workbench.errors import WorkbenchError
from workbench.rubric import Rubric
from workbench.store import AuditEvent, Nomination, Round

Aggregation = Literal["mean", "median", "trimmed"]
Source = Literal["raw", "normalised", "moderated"]

AGGREGATIONS: dict[str, str] = {
    "mean": "Mean of the judges' scores on each criterion.",
    "median": "Median of the judges' scores on each criterion.",
    "trimmed": "Trimmed mean: the highest and the lowest score on each criterion are left out when there are "
               "at least three (with three it equals the median).",
}
SOURCES: dict[str, str] = {
    "raw": "The judges' scores as given.",
    "normalised": "The judges' scores with each judge's severity or leniency removed (judge-effect model), "
                  "kept on the scale.",
    "moderated": "The judges' scores, with the moderator's score wherever moderation changed it.",
}
TIE_RULES: tuple[str, ...] = (
    "1. Higher weighted total.",
    "2. More complete scores (judges who scored every criterion).",
    "3. Higher median of the judges' own weighted totals.",
    "4. Lower spread (standard deviation) of the judges' own totals.",
    "5. Otherwise a tie: the nominations share a rank and the tie is reported; a tie across the cut-off puts "
    "all of them on the shortlist.",
)
_RULE_NAMES = {2: "more complete scores", 3: "a higher median of the judges' totals",
               4: "a smaller spread of the judges' totals"}
NO_CATEGORY = "(no category)"
_EPS = 1e-9


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str


@dataclass
class Shortlist:
    """A ranked round and its shortlist.

    ``ranking`` has one row per active nomination in rank order (not-ranked ones last):
    nomination, reference, category, group, rank, rank_label, total, percent, one column per
    criterion, judges, complete_scores, median_total, spread, shortlisted, tied, note,
    stability. ``robustness`` has one boolean column per scenario (index: nomination id).
    """

    ranking: pd.DataFrame
    criteria: list[str]
    aggregation: str
    source: str
    top: int | None
    threshold: float | None
    by: str
    ties: list[str] = field(default_factory=list)
    excluded: list[dict] = field(default_factory=list)
    scenarios: list[Scenario] = field(default_factory=list)
    robustness: pd.DataFrame = field(default_factory=pd.DataFrame)
    judges_left_out: list = field(default_factory=list)
    normalised: pd.DataFrame | None = None

    @property
    def shortlisted(self) -> pd.DataFrame:
        return self.ranking[self.ranking["shortlisted"]]

    def rule(self) -> str:
        where = "in each category" if self.by == "category" else "in the round"
        if self.top is not None:
            return f"The top {self.top} {where} (more when a tie crosses the cut-off)."
        return f"Every nomination {where} with a total of {self.threshold:g} or more."


# ---------------------------------------------------------------------------------------
# The pieces


def _check_choice(value: str, allowed: Iterable[str], what: str) -> None:
    if value not in allowed:
        raise WorkbenchError(f"{what} {value!r} is not available; choose one of: {', '.join(allowed)}.")


def aggregate(scores: pd.DataFrame, *, aggregation: str = "mean") -> pd.DataFrame:
    """One value per (nomination, criterion) from a long table with a ``value`` column.

    >>> s = pd.DataFrame({"nomination": 1, "criterion": "Q1", "value": [1.0, 4.0, 5.0, 5.0]})
    >>> [aggregate(s, aggregation=a)["value"].item() for a in ("mean", "median", "trimmed")]
    [3.75, 4.5, 4.5]
    """
    _check_choice(aggregation, AGGREGATIONS, "The aggregation")
    grouped = scores.groupby(["nomination", "criterion"], sort=True)["value"]
    if aggregation == "mean":
        out = grouped.mean()
    elif aggregation == "median":
        out = grouped.median()
    else:
        parts = grouped.agg(["sum", "max", "min", "count"])
        trimmed = (parts["sum"] - parts["max"] - parts["min"]) / (parts["count"] - 2)
        out = trimmed.where(parts["count"] >= 3, parts["sum"] / parts["count"])
    return out.rename("value").reset_index()


def judge_scores(scores: pd.DataFrame, rubric: Rubric) -> pd.DataFrame:
    """The scored rows of a long table (criteria in the rubric only): nomination, judge, criterion, score."""
    data = scores.loc[scores["score"].notna() & scores["criterion"].isin(rubric.criterion_ids),
                      ["nomination", "judge", "criterion", "score"]]
    return data.reset_index(drop=True)


def normalise(data: pd.DataFrame, rubric: Rubric) -> pd.DataFrame:
    """Add ``value``: the judge-effect normalised score, kept on the criterion's scale."""
    from workbench.agreement import normalise_scores

    if not len(data):
        return data.assign(value=pd.Series(dtype=float))
    adjusted = normalise_scores(data, method="judge_effect")
    out = data.copy()
    out["value"] = adjusted["adjusted"].to_numpy(dtype=float)
    return _clip(out, rubric)


def _clip(data: pd.DataFrame, rubric: Rubric) -> pd.DataFrame:
    low = data["criterion"].map({c.id: c.scale.min for c in rubric.criteria}).to_numpy(dtype=float)
    high = data["criterion"].map({c.id: c.scale.max for c in rubric.criteria}).to_numpy(dtype=float)
    data["value"] = np.clip(data["value"].to_numpy(dtype=float), low, high)
    return data


@dataclass
class _Prepared:
    """Everything the scenarios share, computed once."""

    rubric: Rubric
    nominations: pd.DataFrame  # nomination, reference, category, group (active only, sorted by id)
    raw: pd.DataFrame  # nomination, judge, criterion, score, value
    normalised: pd.DataFrame | None
    overrides: pd.DataFrame | None  # nomination, criterion, after (changes only)
    weights: np.ndarray
    low: float
    high: float


def _prepare(*, scores, rubric, nominations, moderated, by, need_normalised: bool) -> _Prepared:
    noms = nominations.copy()
    if "status" in noms.columns:
        noms = noms[noms["status"].fillna("active") == "active"]
    if "category" not in noms.columns:
        noms["category"] = None
    noms = noms[["nomination", "reference", "category"]].sort_values("nomination").reset_index(drop=True)
    noms["group"] = (noms["category"].fillna(NO_CATEGORY).astype(str) if by == "category" else "")
    data = judge_scores(scores, rubric)
    data = data[data["nomination"].isin(noms["nomination"])].reset_index(drop=True)
    data["value"] = data["score"].astype(float)
    overrides = None
    if moderated is not None and len(moderated):
        changed = moderated[~moderated["no_change"].astype(bool)]
        overrides = changed[["nomination", "criterion", "after"]].reset_index(drop=True)
    weights = np.array([c.weight for c in rubric.criteria], dtype=float)
    low = float(sum(c.weight * c.scale.min for c in rubric.criteria))
    high = float(sum(c.weight * c.scale.max for c in rubric.criteria))
    normalised = normalise(data[["nomination", "judge", "criterion", "score"]], rubric) if need_normalised else None
    return _Prepared(rubric, noms, data, normalised, overrides, weights, low, high)


def _judge_table(prep: _Prepared, data: pd.DataFrame) -> pd.DataFrame:
    """Each judge's own weighted total per nomination: index (nomination, judge), columns total, complete."""
    weight_of = dict(zip(prep.rubric.criterion_ids, prep.weights))
    weighted = data["value"].to_numpy(dtype=float) * data["criterion"].map(weight_of).to_numpy(dtype=float)
    frame = pd.DataFrame({"nomination": data["nomination"].to_numpy(), "judge": data["judge"].to_numpy(),
                          "w": weighted})
    table = frame.groupby(["nomination", "judge"], sort=False)["w"].agg(["sum", "count"])
    return pd.DataFrame({"total": table["sum"], "complete": table["count"] == len(prep.rubric.criteria)})


def _rank(prep: _Prepared, data: pd.DataFrame, judge_table: pd.DataFrame, *, aggregation: str,
          moderated: bool) -> pd.DataFrame:
    """Totals, tie-break figures and ranks for one scenario (one row per active nomination)."""
    criteria = prep.rubric.criterion_ids
    noms = prep.nominations
    cells = aggregate(data, aggregation=aggregation)
    wide = cells.pivot(index="nomination", columns="criterion", values="value")
    wide = wide.reindex(index=noms["nomination"], columns=criteria)
    if moderated and prep.overrides is not None:
        over = prep.overrides.pivot(index="nomination", columns="criterion", values="after")
        over = over.reindex(index=noms["nomination"], columns=criteria)
        wide = over.combine_first(wide)[criteria]
    values = wide.to_numpy(dtype=float)
    complete = ~np.isnan(values).any(axis=1)
    total = np.where(complete, np.nan_to_num(values) @ prep.weights, np.nan)
    judges = judge_table.groupby(level=0, sort=False).size().reindex(noms["nomination"]).fillna(0).astype(int)
    by_nomination = judge_table.loc[judge_table["complete"], "total"].groupby(level=0, sort=False)
    stats = pd.DataFrame({"complete_scores": by_nomination.count(), "median_total": by_nomination.median(),
                          "spread": by_nomination.std(ddof=0)}).reindex(noms["nomination"])
    table = pd.DataFrame({
        "nomination": noms["nomination"].to_numpy(),
        "reference": noms["reference"].to_numpy(),
        "category": noms["category"].to_numpy(),
        "group": noms["group"].to_numpy(),
        "total": total,
        "percent": np.where(complete, 100.0 * (total - prep.low) / (prep.high - prep.low), np.nan)
        if prep.high > prep.low else np.nan,
        "judges": judges.to_numpy(),
        "complete_scores": stats["complete_scores"].fillna(0).astype(int).to_numpy(),
        "median_total": stats["median_total"].to_numpy(dtype=float),
        "spread": stats["spread"].to_numpy(dtype=float),
    })
    for i, criterion in enumerate(criteria):
        table[criterion] = values[:, i]
    return _assign_ranks(table)


def _key(values: pd.Series, *, descending: bool) -> np.ndarray:
    """Rounded sort keys (so 3.0000000001 and 3 are level); missing values sort last."""
    array = np.round(values.to_numpy(dtype=float), 9)
    filler = -np.inf if descending else np.inf
    array = np.where(np.isnan(array), filler, array)
    return -array if descending else array


def _assign_ranks(table: pd.DataFrame) -> pd.DataFrame:
    keys = [_key(table["total"], descending=True), -table["complete_scores"].to_numpy(dtype=float),
            _key(table["median_total"], descending=True), _key(table["spread"], descending=False)]
    ranked = table["total"].notna().to_numpy()
    # lexsort: last key is primary. Group, then not-ranked last, then the tie rules, then reference.
    order = np.lexsort((table["reference"].to_numpy(), *keys[::-1], ~ranked, table["group"].to_numpy()))
    table = table.iloc[order].reset_index(drop=True)
    key_matrix = np.column_stack([k[order] for k in keys])
    group = table["group"].to_numpy()
    ranked = ranked[order]
    n = len(table)
    same_as_previous = np.zeros(n, dtype=bool)
    if n > 1:
        same_as_previous[1:] = (group[1:] == group[:-1]) & (key_matrix[1:] == key_matrix[:-1]).all(axis=1)
    new_group = np.ones(n, dtype=bool)
    if n > 1:
        new_group[1:] = group[1:] != group[:-1]
    position = np.zeros(n, dtype=int)
    rank = np.zeros(n, dtype=float)
    counter = 0
    for i in range(n):
        counter = 1 if new_group[i] else counter + 1
        position[i] = counter
        rank[i] = rank[i - 1] if same_as_previous[i] else counter
    rank[~ranked] = np.nan
    tied = same_as_previous.copy()
    if n > 1:
        tied[:-1] |= same_as_previous[1:]
    tied &= ranked
    table["rank"] = rank
    table["tied"] = tied
    table.attrs["keys"] = key_matrix
    return table


def _select(table: pd.DataFrame, *, top: int | None, threshold: float | None) -> np.ndarray:
    if top is not None:
        return (table["rank"] <= top).to_numpy()
    return (table["total"] >= threshold - _EPS).to_numpy()


def _rank_label(rank: float, tied: bool) -> str:
    if rank != rank:
        return "not ranked"
    return f"{int(rank)}{'=' if tied else ''}"


def _notes_and_ties(table: pd.DataFrame, rubric: Rubric, *, top: int | None) -> tuple[list[str], list[str]]:
    """A note per row (how ties were broken, why not ranked) and the tie sentences for the report."""
    keys = table.attrs["keys"]
    references = table["reference"].tolist()
    group = table["group"].tolist()
    rank = table["rank"].to_numpy(dtype=float)
    tied = table["tied"].to_numpy(dtype=bool)
    totals = table["total"].to_numpy(dtype=float)
    values = table[rubric.criterion_ids].to_numpy(dtype=float)
    ranked = ~np.isnan(rank)
    notes = [""] * len(table)
    ties: list[str] = []
    i, n = 0, len(table)
    while i < n:
        if not ranked[i]:
            missing = [c for c, v in zip(rubric.criterion_ids, values[i]) if v != v]
            notes[i] = f"Not ranked: nobody scored {', '.join(missing)}."
            i += 1
            continue
        j = i
        while j + 1 < n and tied[j + 1] and rank[j + 1] == rank[i] and group[j + 1] == group[i]:
            j += 1
        if j > i:
            members = references[i:j + 1]
            place = int(rank[i])
            where = f" in {group[i]}" if group[i] else ""
            total = f"{totals[i]:.2f}".rstrip("0").rstrip(".")
            sentence = f"{_join(members)} tie for place {place}{where} on every rule (total {total})."
            if top is not None and place <= top < place + (j - i):
                sentence += (f" The tie crosses the cut-off of {top}, so all {j - i + 1} are on the shortlist; "
                             "the panel should decide between them.")
            ties.append(sentence)
            for k in range(i, j + 1):
                notes[k] = f"Tied with {_join([r for r in members if r != references[k]])} on every rule."
        # How the last of this block was separated from the next nomination on the same total.
        nxt = j + 1
        if nxt < n and ranked[nxt] and group[nxt] == group[j] and keys[nxt][0] == keys[j][0]:
            rule = next(r for r in range(1, 4) if keys[nxt][r] != keys[j][r]) + 1
            sentence = f"Level on total with {references[nxt]}; placed above it by rule {rule} ({_RULE_NAMES[rule]})."
            notes[j] = f"{notes[j]} {sentence}".strip()
        i = j + 1
    return notes, ties


def _join(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# ---------------------------------------------------------------------------------------
# The shortlist


def build_shortlist(
    *,
    scores: pd.DataFrame,
    rubric: Rubric,
    nominations: pd.DataFrame,
    moderated: pd.DataFrame | None = None,
    aggregation: Aggregation = "mean",
    source: Source = "raw",
    top: int | None = None,
    threshold: float | None = None,
    by: Literal["round", "category"] = "round",
    robustness: bool = True,
    judge_labels: Mapping | None = None,
) -> Shortlist:
    """Rank the nominations and pick the shortlist (see the module notes for every rule).

    ``scores``: long table ``nomination, judge, criterion, score`` (current scores);
    ``nominations``: ``nomination, reference`` and optionally ``category`` and ``status``
    (only ``active`` ones are ranked); ``moderated``: ``nomination, criterion, after,
    no_change`` (see :func:`workbench.moderation.moderated_scores`); ``judge_labels`` names the
    judges in the leave-one-out scenarios (default: their ids).
    """
    _check_choice(aggregation, AGGREGATIONS, "The aggregation")
    _check_choice(source, SOURCES, "The score source")
    _check_choice(by, ("round", "category"), "Shortlisting by")
    if (top is None) == (threshold is None):
        raise WorkbenchError("Choose how to shortlist: either the top N (e.g. top 10) or a threshold total "
                             "(e.g. 14), not both and not neither.")
    if top is not None and (isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1):
        raise WorkbenchError(f"The number to shortlist must be a whole number, 1 or more; got {top!r}.")
    if source == "moderated" and moderated is None:
        raise WorkbenchError("Moderated scores were asked for but none were given.")
    excluded = []
    if "status" in nominations.columns:
        for row in nominations[nominations["status"].fillna("active") != "active"].sort_values(
                "nomination").itertuples(index=False):
            excluded.append({"reference": row.reference, "reason": f"Not active (status: {row.status})."})
    prep = _prepare(scores=scores, rubric=rubric, nominations=nominations, moderated=moderated, by=by,
                    need_normalised=robustness or source == "normalised")
    use_moderation = source == "moderated"
    base_normalised = source == "normalised"

    judge_tables = {False: _judge_table(prep, prep.raw)}
    if prep.normalised is not None:
        judge_tables[True] = _judge_table(prep, prep.normalised)

    def rank(normalised: bool, agg: str, drop_judge=None) -> pd.DataFrame:
        data, judge_table = (prep.normalised if normalised else prep.raw), judge_tables[normalised]
        if drop_judge is not None:
            data = data[data["judge"] != drop_judge]
            judge_table = judge_table[judge_table.index.get_level_values(1) != drop_judge]
        return _rank(prep, data, judge_table, aggregation=agg, moderated=use_moderation)

    table = rank(base_normalised, aggregation)
    table["shortlisted"] = _select(table, top=top, threshold=threshold)
    table["rank_label"] = [_rank_label(r, t) for r, t in zip(table["rank"], table["tied"])]
    notes, ties = _notes_and_ties(table, rubric, top=top)
    table["note"] = notes
    excluded += [{"reference": reference, "reason": note}
                 for reference, note, total in zip(table["reference"], notes, table["total"]) if total != total]

    scenarios: list[Scenario] = []
    outcomes: dict[str, np.ndarray] = {}
    judges_left_out: list = []
    if robustness:
        order = table["nomination"].to_numpy()
        for agg in AGGREGATIONS:
            for normalised in (False, True):
                if agg == aggregation and normalised == base_normalised:
                    continue
                label = f"{agg}, {'normalised' if normalised else 'raw'}" + (", moderated" if use_moderation else "")
                other = rank(normalised, agg)
                chosen = pd.Series(_select(other, top=top, threshold=threshold), index=other["nomination"])
                outcomes[label] = chosen.reindex(order).to_numpy()
                source_words = SOURCES["normalised" if normalised else "raw"]
                scenarios.append(Scenario(label, f"{AGGREGATIONS[agg]} {source_words}"))
        judges_left_out = sorted(prep.raw["judge"].unique().tolist())
        for judge in judges_left_out:
            label = f"without {(judge_labels or {}).get(judge, f'judge {judge}')}"
            other = rank(base_normalised, aggregation, judge)
            chosen = pd.Series(_select(other, top=top, threshold=threshold), index=other["nomination"])
            outcomes[label] = chosen.reindex(order).to_numpy()
            scenarios.append(Scenario(label, f"As chosen, with the scores of {label[8:]} left out."))
    robust = pd.DataFrame(outcomes, index=pd.Index(table["nomination"].to_numpy(), name="nomination"))
    table["stability"] = robust.mean(axis=1).to_numpy() if len(scenarios) else np.nan
    table.loc[table["total"].isna(), "stability"] = np.nan
    columns = ["nomination", "reference", "category", "group", "rank", "rank_label", "total", "percent",
               *rubric.criterion_ids, "judges", "complete_scores", "median_total", "spread", "shortlisted", "tied",
               "note", "stability"]
    table = table[columns]
    table.attrs = {}
    return Shortlist(ranking=table, criteria=rubric.criterion_ids, aggregation=aggregation, source=source, top=top,
                     threshold=threshold, by=by, ties=ties, excluded=excluded, scenarios=scenarios,
                     robustness=robust, judges_left_out=judges_left_out, normalised=prep.normalised)


def round_nominations(session: Session, *, round_: Round) -> pd.DataFrame:
    """The round's nominations as a table: nomination, reference, category, status."""
    rows = session.execute(select(Nomination.id, Nomination.reference, Nomination.category, Nomination.status)
                           .where(Nomination.round_id == round_.id).order_by(Nomination.id)).all()
    return pd.DataFrame(rows, columns=["nomination", "reference", "category", "status"])


def shortlist_for_round(
    session: Session,
    *,
    round_: Round,
    aggregation: Aggregation = "mean",
    source: Source = "raw",
    top: int | None = None,
    threshold: float | None = None,
    by: Literal["round", "category"] = "round",
    robustness: bool = True,
) -> Shortlist:
    """:func:`build_shortlist` on a round's current scores (and moderation decisions)."""
    from workbench.moderation import moderated_scores
    from workbench.panel import round_rubric
    from workbench.scoring import current_scores

    return build_shortlist(
        scores=current_scores(session, round_=round_), rubric=round_rubric(session, round_, check_file=False),
        nominations=round_nominations(session, round_=round_), moderated=moderated_scores(session, round_=round_),
        aggregation=aggregation, source=source, top=top, threshold=threshold, by=by, robustness=robustness,
    )


# ---------------------------------------------------------------------------------------
# Winners (for the equality check)


def winner_ids(round_: Round) -> list[int]:
    """The nominations recorded as winners (``Round.settings["winners"]``), or none yet."""
    return [int(n) for n in (round_.settings or {}).get("winners", [])]


def record_winners(session: Session, *, round_: Round, references: Iterable[str], actor: str) -> list[int]:
    """Record the round's winners by reference (replacing any earlier list), with an audit line."""
    from workbench.moderation import nomination_by_reference

    ids = sorted({nomination_by_reference(session, round_=round_, reference=r).id for r in references})
    settings = dict(round_.settings or {})
    before = settings.get("winners", [])
    settings["winners"] = ids
    round_.settings = settings
    session.add(AuditEvent(round_id=round_.id, action="winners-recorded", actor=actor,
                           detail={"before": before, "after": ids}))
    session.flush()
    return ids
