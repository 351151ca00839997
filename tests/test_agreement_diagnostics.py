"""Judge diagnostics and score normalisation on synthetic panels with known judge behaviour."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.agreement import RatingsError, judge_diagnostics, judge_flags, normalise_scores

COLUMNS = ["nomination", "judge", "criterion", "score"]


def synthetic_panel(seed: int = 0) -> pd.DataFrame:
    """30 nominations, 3 criteria, each nomination scored by 4 of 6 judges (rotating), on 0–5.

    J1, J2 are ordinary; J3 scores at random; J4 gives every criterion the same score (halo);
    J5 is 1.5 points harsh; J6 only ever gives 2 or 3 (central tendency).
    """
    rng = np.random.default_rng(seed)
    judges = [f"J{i}" for i in range(1, 7)]
    base = rng.normal(2.5, 1.0, 30)
    specific = rng.normal(0, 0.8, (30, 3))
    rows = []
    for n in range(30):
        for i in range(4):
            judge = judges[(n + i) % 6]
            for c in range(3):
                quality = base[n] + specific[n, c]
                score = {
                    "J3": lambda: rng.integers(0, 6),
                    "J4": lambda: np.rint(base[n]),
                    "J5": lambda: np.rint(quality - 1.5 + rng.normal(0, 0.4)),
                    "J6": lambda: 3 if quality > 2.5 else 2,
                }.get(judge, lambda: np.rint(quality + rng.normal(0, 0.4)))()
                rows.append((f"N{n + 1:02d}", judge, f"C{c + 1}", float(np.clip(score, 0, 5))))
    return pd.DataFrame(rows, columns=COLUMNS)


def test_each_kind_of_outlying_judge_is_flagged_and_ordinary_judges_are_not():
    table = judge_diagnostics(synthetic_panel(), scale=[0, 1, 2, 3, 4, 5])
    assert [judge for judge, flags in table["flags"].items() if flags] == ["J3", "J4", "J5", "J6"]
    assert table.loc["J3", "flags"] == [
        "J3's scores follow the rest of the panel only weakly (correlation 0.10 with the other judges' mean on the "
        "same nominations, against 0.66 for a typical judge)."]
    assert table.loc["J4", "flags"] == [
        "J4's scores for different criteria move together (average correlation 1.00 across criteria, against 0.41 "
        "for a typical judge): they may be scoring an overall impression rather than each criterion."]
    assert table.loc["J5", "flags"] == [
        "J5 scores on average 1.4 points below the rest of the panel on the same nominations "
        "(95% CI 1.2 to 1.6 points below, 20 nominations)."]
    assert table.loc["J6", "flags"] == [
        "J6's scores vary much less than the other judges' (standard deviation 0.5 against 1.4): they may not be "
        "separating strong nominations from weak ones.",
        "J6 gives the middle score (2 or 3) to 100% of their scores, against 49% for the other judges: they may "
        "be avoiding the ends of the scale."]
    assert judge_flags(table) == [*table.loc["J3", "flags"], *table.loc["J4", "flags"], *table.loc["J5", "flags"],
                                  *table.loc["J6", "flags"]]


def test_severity_interval_is_over_nominations_and_covers_the_true_offset():
    table = judge_diagnostics(synthetic_panel(), scale=[0, 1, 2, 3, 4, 5])
    row = table.loc["J5"]
    assert (row["scores"], row["nominations"], row["compared"]) == (60, 20, 20)
    assert row["offset_low"] < row["mean_offset"] < row["offset_high"] < 0
    # J5 is 1.5 below an ordinary judge; the others it is compared with average about +0.1.
    assert row["offset_low"] < -1.5 + 0.1 < row["offset_high"]


def test_leave_one_out_consensus_uses_only_the_other_judges():
    scores = pd.DataFrame([("N1", "A", "C1", 4.0), ("N1", "B", "C1", 2.0), ("N1", "C", "C1", 3.0),
                           ("N2", "A", "C1", 5.0), ("N2", "B", "C1", 3.0)], columns=COLUMNS)
    table = judge_diagnostics(scores, scale=[0, 1, 2, 3, 4, 5], min_nominations=1)
    # A: N1 4 − mean(2, 3) = 1.5; N2 5 − 3 = 2 → mean 1.75 over 2 nominations.
    assert table.loc["A", "mean_offset"] == pytest.approx(1.75)
    assert table.loc["C", ["compared", "mean_offset", "offset_low"]].tolist() == [1, 0.0, None]
    assert table.attrs["middle"] == [2.0, 3.0]


def test_unscored_rows_are_ignored_and_bad_tables_say_what_to_fix():
    scores = pd.DataFrame([("N1", "A", "C1", 4.0), ("N1", "B", "C1", np.nan)], columns=COLUMNS)
    assert judge_diagnostics(scores).loc["A", "scores"] == 1
    with pytest.raises(RatingsError, match="needs the columns nomination, judge, criterion, score; judge is missing"):
        judge_diagnostics(scores.drop(columns="judge"))
    twice = pd.DataFrame([("N1", "A", "C1", 4.0), ("N1", "A", "C1", 3.0)], columns=COLUMNS)
    with pytest.raises(RatingsError, match="Judge A has more than one score for nomination N1 on criterion C1"):
        normalise_scores(twice)


# -- normalisation ---------------------------------------------------------------------------------


def additive_panel() -> tuple[pd.DataFrame, dict, dict]:
    """Noise-free ``score = quality + judge effect`` on an incomplete, connected design."""
    quality = {f"N{i}": float(q) for i, q in enumerate([1.0, 2.5, 3.0, 4.2, 2.0, 3.7, 1.5, 4.8], start=1)}
    effect = {"A": 0.0, "B": -1.0, "C": 0.6, "D": 0.4}
    judges = list(effect)
    rows = []
    for i, nomination in enumerate(quality):
        for judge in (judges[i % 4], judges[(i + 1) % 4]):
            rows.append((nomination, judge, "C1", quality[nomination] + effect[judge]))
    return pd.DataFrame(rows, columns=COLUMNS), quality, effect


def test_judge_effect_model_recovers_the_judges_and_the_nominations_exactly():
    scores, quality, effect = additive_panel()
    adjusted = normalise_scores(scores, method="judge_effect")
    mean_effect = np.mean(list(effect.values()))
    for judge, value in effect.items():
        assert adjusted.loc[adjusted["judge"] == judge, "judge_effect"].tolist() == pytest.approx(
            [value - mean_effect] * 4, abs=1e-9)
    expected = scores["nomination"].map(quality) + mean_effect
    assert adjusted["adjusted"].tolist() == pytest.approx(expected.tolist(), abs=1e-9)
    assert adjusted.attrs["separate_groups"] == []


def test_zscores_confound_severity_with_the_nominations_a_judge_got():
    # J1 is lenient (+1) and only got the three weakest nominations; J2 is harsh (−1) and only
    # got the three strongest; J3 scored all six fairly. N4 is better than N3.
    quality = {"N1": 1.0, "N2": 2.0, "N3": 3.0, "N4": 4.0, "N5": 5.0, "N6": 6.0}
    rows = [(n, "J3", "C1", q) for n, q in quality.items()]
    rows += [(n, "J1", "C1", quality[n] + 1) for n in ("N1", "N2", "N3")]
    rows += [(n, "J2", "C1", quality[n] - 1) for n in ("N4", "N5", "N6")]
    scores = pd.DataFrame(rows, columns=COLUMNS)

    def ranking(frame):
        return frame.groupby("nomination")["adjusted"].mean().sort_values().index.tolist()

    assert ranking(normalise_scores(scores, method="judge_effect")) == ["N1", "N2", "N3", "N4", "N5", "N6"]
    assert ranking(normalise_scores(scores, method="zscore")) == ["N1", "N2", "N4", "N3", "N5", "N6"]


def test_zscore_puts_each_judge_on_the_panels_mean_and_spread():
    scores = pd.DataFrame([("N1", "A", "C1", 1.0), ("N2", "A", "C1", 3.0), ("N1", "B", "C1", 4.0),
                           ("N2", "B", "C1", 5.0), ("N3", "C", "C1", 2.0)], columns=COLUMNS)
    out = normalise_scores(scores, method="zscore")
    mean, sd = scores["score"].mean(), scores["score"].std()
    a = out[out["judge"] == "A"]["adjusted"].tolist()
    assert a == pytest.approx([mean - sd / np.sqrt(2), mean + sd / np.sqrt(2)])
    # C has a single score: no spread to standardise, so it is only centred (on the panel mean).
    assert out.loc[out["judge"] == "C", "adjusted"].tolist() == pytest.approx([mean])


def test_judges_who_never_share_a_nomination_are_reported():
    scores = pd.DataFrame([("N1", "A", "C1", 3.0), ("N1", "B", "C1", 4.0), ("N2", "A", "C1", 2.0),
                           ("N2", "B", "C1", 3.0), ("N3", "C", "C1", 1.0), ("N3", "D", "C1", 5.0)], columns=COLUMNS)
    out = normalise_scores(scores)
    assert out.attrs["separate_groups"] == ["C1"]
    effects = out.drop_duplicates("judge").set_index("judge")["judge_effect"]
    assert effects.to_dict() == pytest.approx({"A": -0.5, "B": 0.5, "C": -2.0, "D": 2.0})


def test_pooled_judge_effect_across_criteria():
    scores, quality, effect = additive_panel()
    two = pd.concat([scores, scores.assign(criterion="C2", score=scores["score"] + 1.0)], ignore_index=True)
    pooled = normalise_scores(two, by_criterion=False)
    per = normalise_scores(two)
    assert pooled["judge_effect"].tolist() == pytest.approx(per["judge_effect"].tolist(), abs=1e-9)
    with pytest.raises(ValueError, match="method must be 'judge_effect' or 'zscore'"):
        normalise_scores(two, method="rank")
