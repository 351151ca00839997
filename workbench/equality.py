"""The equality check of the nominee pool: who was nominated, shortlisted and won, by group.

**Organisers only.** Equality-monitoring answers are special-category personal data. They are
stored apart (:class:`~workbench.store.EqualityAnswer`), read only here, and shown only in
the organiser's shortlist app and the organiser's Excel export. The judging service
(:mod:`workbench.judging`) and the moderation app never read them, so judges and moderators
never see them.

For each protected characteristic the forms asked about (ids from
``rubrics/vocabulary/equality.yaml``), and each answer given (the *group*), the check counts
the nominations at each stage and the rate from one stage to the next:

- nominated (every active nomination in the round);
- shortlisted, and the shortlisting rate (shortlisted / nominated);
- winners, and the win rate (winners / shortlisted).

Nobody can be picked out:

- a group with fewer than ``min_group`` (5) nominations is shown as ``"<5"`` throughout;
- any other count from 1 to 4 is shown as ``"<5"`` too;
- when a column of a characteristic would then have only one hidden number (other than a
  zero), which could be worked out from the published total by subtraction, the next
  smallest number in that column is hidden as well: ``"<5"`` if it is under 5, else
  ``"hidden"``;
- a rate is shown only when both of its numbers are shown.

**Adverse impact (the four-fifths rule).** Within a characteristic, each group's rate is
divided by the highest rate among the groups compared (groups of at least ``min_group`` at
that stage, leaving out "Prefer not to say" and "Not answered"). A ratio below 0.8 is
flagged. It is a prompt to look closer, not proof of unfairness: with small numbers chance
alone produces low ratios.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from workbench.store import EqualityAnswer, Nomination, Round

MIN_GROUP = 5
FOUR_FIFTHS = 0.8
SMALL = "<5"
HIDDEN = "hidden"
NOT_ANSWERED = "Not answered"
#: Answers that are not a group to compare (case-insensitive).
NOT_COMPARED = frozenset({"prefer not to say", "not answered", "not known", "unknown", ""})
STAGES = ("nominated", "shortlisted", "winners")

COLUMNS = ["characteristic", "label", "group", "nominated", "shortlisted", "shortlist_rate", "shortlist_ratio",
           "winners", "win_rate", "win_ratio", "flag"]


@dataclass
class EqualityCheck:
    """The check, ready to show: counts are numbers, ``"<5"`` or ``"hidden"``; rates are shares or ``None``.

    ``table`` columns: characteristic, label, group, nominated, shortlisted, shortlist_rate,
    shortlist_ratio, winners, win_rate, win_ratio, flag. Each characteristic ends with an
    ``All`` row. ``flags`` are the four-fifths sentences; ``notes`` explain the suppression.
    """

    table: pd.DataFrame
    flags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    winners_recorded: bool = False

    @property
    def empty(self) -> bool:
        return self.table.empty


def _labels() -> dict[str, str]:
    try:
        from workbench.vocabulary import PROTECTED_CHARACTERISTIC, load_vocabulary

        vocabulary = load_vocabulary()
        return {t.id: t.label for t in vocabulary.terms_of_kind(PROTECTED_CHARACTERISTIC)}
    except Exception:  # the check still works with the raw ids
        return {}


def _order() -> list[str]:
    from workbench.vocabulary import PROTECTED_CHARACTERISTICS

    return list(PROTECTED_CHARACTERISTICS)


def _group_key(group: str) -> tuple:
    folded = group.casefold()
    return (folded in NOT_COMPARED, folded == NOT_ANSWERED.casefold(), folded)


def _suppress(counts: dict[str, dict[str, int]], min_group: int) -> dict[str, dict[str, object]]:
    """Shown values for one characteristic (see the module notes)."""
    shown: dict[str, dict[str, object]] = {g: dict(c) for g, c in counts.items()}
    for group, c in counts.items():
        if c["nominated"] < min_group:
            for stage in STAGES:
                shown[group][stage] = SMALL
        else:
            for stage in STAGES:
                if 0 < c[stage] < min_group:
                    shown[group][stage] = SMALL
    for stage in STAGES:
        while True:
            hidden = [g for g in counts if isinstance(shown[g][stage], str)]
            visible = [g for g in counts if not isinstance(shown[g][stage], str)]
            # One hidden number could be worked out from the total; a hidden zero gives nothing away.
            if len(hidden) != 1 or not visible or counts[hidden[0]][stage] == 0:
                break
            smallest = min(visible, key=lambda g: (counts[g][stage], _group_key(g)))
            shown[smallest][stage] = SMALL if counts[smallest][stage] < min_group else HIDDEN
    return shown


def _rate(numerator, denominator):
    if isinstance(numerator, str) or isinstance(denominator, str) or not denominator:
        return None
    return numerator / denominator


def equality_check(
    *,
    answers: pd.DataFrame,
    nominated: Iterable[int],
    shortlisted: Iterable[int],
    winners: Iterable[int] = (),
    min_group: int = MIN_GROUP,
) -> EqualityCheck:
    """Counts, rates and four-fifths flags from ``answers`` (``nomination, characteristic, value``).

    >>> answers = pd.DataFrame({"nomination": range(1, 21), "characteristic": "disability",
    ...                         "value": ["Yes"] * 8 + ["No"] * 10 + ["Prefer not to say"] * 2})
    >>> check = equality_check(answers=answers, nominated=range(1, 21), shortlisted=[9, 10, 11, 12, 13, 1])
    >>> check.table[["group", "nominated", "shortlisted", "shortlist_rate"]].values.tolist()
    [['No', 10, 5, 0.5], ['Yes', 'hidden', '<5', nan], ['Prefer not to say', '<5', '<5', nan], ['All', 20, 6, 0.3]]
    >>> print(*check.flags)
    Disability: the shortlisting rate for "Yes" is below four-fifths of the rate for "No"
    (exact figures withheld because the numbers are small).
    """
    nominated = sorted(set(int(n) for n in nominated))
    pool = set(nominated)
    short = set(int(n) for n in shortlisted) & pool
    won = set(int(n) for n in winners) & pool
    data = answers[answers["nomination"].isin(pool)]
    labels = _labels()
    known = _order()
    characteristics = sorted(data["characteristic"].unique(), key=lambda c: (c not in known,
                                                                           known.index(c) if c in known else 0, c))
    rows: list[dict] = []
    flags: list[str] = []
    for characteristic in characteristics:
        label = labels.get(characteristic, characteristic)
        own = data[data["characteristic"] == characteristic]
        group_of = {int(n): (str(v).strip() or NOT_ANSWERED) for n, v in zip(own["nomination"], own["value"])}
        counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(STAGES, 0))
        for n in nominated:
            group = group_of.get(n, NOT_ANSWERED)
            counts[group]["nominated"] += 1
            counts[group]["shortlisted"] += n in short
            counts[group]["winners"] += n in won
        counts = dict(counts)
        shown = _suppress(counts, min_group)
        groups = sorted(counts, key=_group_key)
        stage_rates = {
            "shortlist": ("shortlisted", "nominated", "shortlisting rate"),
            "win": ("winners", "shortlisted", "win rate"),
        }
        ratios: dict[tuple[str, str], float] = {}
        for stage, (num, den, words) in stage_rates.items():
            compared = [g for g in groups if g.casefold() not in NOT_COMPARED and counts[g][den] >= min_group]
            if len(compared) < 2:
                continue
            rates = {g: counts[g][num] / counts[g][den] for g in compared}
            best = max(compared, key=lambda g: (rates[g], -len(g)))
            if rates[best] <= 0:
                continue
            for g in compared:
                ratio = rates[g] / rates[best]
                ratios[(g, stage)] = ratio
                if ratio < FOUR_FIFTHS - 1e-12:
                    visible = _rate(shown[g][num], shown[g][den]) is not None and \
                        _rate(shown[best][num], shown[best][den]) is not None
                    if visible:
                        flags.append(f"{label}: the {words} for \"{g}\" is {rates[g]:.0%}, against {rates[best]:.0%} "
                                     f"for \"{best}\" (ratio {ratio:.2f}, below four-fifths).")
                    else:
                        flags.append(f"{label}: the {words} for \"{g}\" is below four-fifths of the rate for "
                                     f"\"{best}\" (exact figures withheld because the numbers are small).")
        for g in groups:
            s = shown[g]
            short_rate, win_rate = _rate(s["shortlisted"], s["nominated"]), _rate(s["winners"], s["shortlisted"])
            short_ratio = ratios.get((g, "shortlist")) if short_rate is not None else None
            win_ratio = ratios.get((g, "win")) if win_rate is not None else None
            below = [words for stage, (_, _, words) in stage_rates.items()
                     if ratios.get((g, stage), 1.0) < FOUR_FIFTHS - 1e-12]
            rows.append({"characteristic": characteristic, "label": label, "group": g,
                         "nominated": s["nominated"], "shortlisted": s["shortlisted"], "shortlist_rate": short_rate,
                         "shortlist_ratio": short_ratio, "winners": s["winners"], "win_rate": win_rate,
                         "win_ratio": win_ratio,
                         "flag": "; ".join(f"{w} below four-fifths" for w in below)})
        total = {stage: sum(c[stage] for c in counts.values()) for stage in STAGES}
        rows.append({"characteristic": characteristic, "label": label, "group": "All",
                     "nominated": total["nominated"], "shortlisted": total["shortlisted"],
                     "shortlist_rate": _rate(total["shortlisted"], total["nominated"]), "shortlist_ratio": None,
                     "winners": total["winners"], "win_rate": _rate(total["winners"], total["shortlisted"]),
                     "win_ratio": None, "flag": ""})
    notes = [
        f"Groups with fewer than {min_group} nominations, and any count from 1 to {min_group - 1}, are shown as "
        f"\"{SMALL}\" so that nobody can be identified.",
        f"\"{HIDDEN}\" marks a number withheld so that a small number cannot be worked out by subtraction from "
        "the total.",
        "The four-fifths rule compares each group's rate with the highest rate in the same characteristic "
        f"(groups of {min_group} or more, leaving out \"Prefer not to say\" and \"Not answered\"); below 0.8 is "
        "flagged as a prompt to look closer, not as proof of unfairness.",
        "Organisers only: judges and moderators never see this check.",
    ]
    if not characteristics:
        notes.insert(0, "The nomination forms did not collect equality-monitoring answers, so there is nothing to "
                        "check.")
    if not won:
        notes.insert(0, "No winners are recorded yet, so the winner columns are all zero.")
    return EqualityCheck(pd.DataFrame(rows, columns=COLUMNS), flags, notes, winners_recorded=bool(won))


def equality_answers(session: Session, *, round_: Round) -> pd.DataFrame:
    """The round's equality-monitoring answers: nomination, characteristic, value (organisers only)."""
    rows = session.execute(
        select(EqualityAnswer.nomination_id, EqualityAnswer.characteristic, EqualityAnswer.value)
        .join(Nomination, Nomination.id == EqualityAnswer.nomination_id)
        .where(Nomination.round_id == round_.id)
        .order_by(EqualityAnswer.nomination_id, EqualityAnswer.characteristic)
    ).all()
    return pd.DataFrame(rows, columns=["nomination", "characteristic", "value"])


def equality_for_round(
    session: Session, *, round_: Round, shortlisted: Iterable[int], winners: Iterable[int] | None = None,
    min_group: int = MIN_GROUP,
) -> EqualityCheck:
    """:func:`equality_check` for a round's active nominations; winners default to those recorded."""
    from workbench.shortlist import winner_ids

    nominated = session.scalars(select(Nomination.id).where(Nomination.round_id == round_.id,
                                                            Nomination.status == "active")).all()
    return equality_check(answers=equality_answers(session, round_=round_), nominated=nominated,
                          shortlisted=shortlisted, winners=winner_ids(round_) if winners is None else winners,
                          min_group=min_group)
