"""Agreement statistics pinned to published values, cross-checked against peer libraries.

Every published value is quoted with its source and compared at the precision it was
printed with. Where no published value exists (AC2 with linear weights, linear-weighted
Cohen's kappa on a textbook table) the test says so and checks against an independent
computation or a peer library instead.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.agreement import (
    FORMS,
    LEVELS,
    REPORT_KEYS,
    Ratings,
    RatingsError,
    Stat,
    agreement_report,
    agreement_weights,
    bootstrap_ci,
    brennan_prediger,
    cohen_kappa,
    fleiss_kappa,
    gwet_ac1,
    gwet_ac2,
    icc,
    intraclass_correlations,
    kendall_w,
    krippendorff_alpha,
    krippendorff_alphas,
    percent_agreement,
)

X = math.nan

# Krippendorff, K. (2011). Computing Krippendorff's Alpha-Reliability. Annenberg School for
# Communication, University of Pennsylvania: the example of reliability data with missing
# values, 4 observers A–D, 12 units. Transposed here to units × observers.
KRIPPENDORFF_2011 = [
    [1, 1, X, 1], [2, 2, 3, 2], [3, 3, 3, 3], [3, 3, 3, 3], [2, 2, 2, 2], [1, 2, 3, 4],
    [4, 4, 4, 4], [1, 1, 2, 1], [2, 2, 2, 2], [X, 5, 5, 5], [X, X, 1, 1], [X, 3, X, X],
]

# Gwet, K. L. (2014). Handbook of Inter-Rater Reliability, 4th ed.; data set cac.raw4raters of
# his R package irrCAC (the same 12 units, the lone rating of unit 12 given by rater 3).
# Values from the irrCAC README/"overview" vignette and the "weighting" vignette.
GWET_RAW4 = [row[:] for row in KRIPPENDORFF_2011[:-1]] + [[X, X, 3, X]]

# Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters. Psychological
# Bulletin 76(5), 378–382, the example table: 30 patients, 6 psychiatrists each, 5 diagnoses
# (counts per diagnosis, as transcribed in JonasMoss/quadagree data_raw/fleiss1971.csv).
FLEISS_1971_COUNTS = [
    [0, 0, 0, 6, 0], [0, 3, 0, 0, 3], [0, 1, 4, 0, 1], [0, 0, 0, 0, 6], [0, 3, 0, 3, 0], [2, 0, 4, 0, 0],
    [0, 0, 4, 0, 2], [2, 0, 3, 1, 0], [2, 0, 0, 4, 0], [0, 0, 0, 0, 6], [1, 0, 0, 5, 0], [1, 1, 0, 4, 0],
    [0, 3, 3, 0, 0], [1, 0, 0, 5, 0], [0, 2, 0, 3, 1], [0, 0, 5, 0, 1], [3, 0, 0, 1, 2], [5, 1, 0, 0, 0],
    [0, 2, 0, 4, 0], [1, 0, 2, 0, 3], [0, 0, 0, 0, 6], [0, 1, 0, 5, 0], [0, 2, 0, 1, 3], [2, 0, 0, 4, 0],
    [1, 0, 0, 4, 1], [0, 5, 0, 1, 0], [4, 0, 0, 0, 2], [0, 2, 0, 4, 0], [1, 0, 5, 0, 0], [0, 0, 0, 0, 6],
]
FLEISS_1971 = [sum(([k + 1] * c for k, c in enumerate(row)), []) for row in FLEISS_1971_COUNTS]

# Shrout, P. E., & Fleiss, J. L. (1979). Intraclass correlations. Psychological Bulletin 86(2),
# 420–428, the worked example (p. 423 in SimplyAgree's transcription): 6 targets rated by 4 judges.
SHROUT_FLEISS_1979 = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]

# Cohen, J. (1968). Weighted kappa. Psychological Bulletin 70(4), 213–220, Table 1: 200 cases,
# judge B in rows, judge A in columns (personality disorder, neurosis, psychosis), with
# disagreement weights 1 (PD–N), 3 (PD–P), 6 (N–P).
COHEN_1968 = [[88, 10, 2], [14, 40, 6], [18, 10, 12]]
COHEN_1968_DISAGREEMENT = np.array([[0, 1, 3], [1, 0, 6], [3, 6, 0]])

# irrCAC data set cont3x3abstractors: 100 pregnant women classified by 2 abstractors.
ABSTRACTORS = [[13, 0, 0], [0, 20, 7], [0, 4, 56]]

# R package irr, data set anxiety (20 subjects, 3 raters), documented with kendall(anxiety, TRUE).
ANXIETY = [
    [3, 3, 2], [3, 6, 1], [3, 4, 4], [4, 6, 4], [5, 2, 3], [5, 4, 2], [2, 2, 1], [3, 4, 6], [5, 3, 1], [2, 3, 1],
    [2, 2, 1], [6, 3, 2], [1, 3, 3], [5, 3, 3], [2, 2, 1], [2, 2, 1], [1, 1, 3], [2, 3, 3], [4, 3, 2], [3, 4, 2],
]


def pairs(table):
    """A 2-rater contingency table as one row per case: [row category, column category]."""
    return [[r, c] for r in range(len(table)) for c in range(len(table)) for _ in range(table[r][c])]


# (statistic, computation, published value, decimals printed, source)
PUBLISHED = [
    # Krippendorff (2011), the missing-data example at all four levels.
    ("krippendorff_alpha", lambda: krippendorff_alpha(KRIPPENDORFF_2011, level="nominal"), 0.743, 3,
     "Krippendorff 2011, nominal"),
    ("krippendorff_alpha", lambda: krippendorff_alpha(KRIPPENDORFF_2011, level="ordinal"), 0.815, 3,
     "Krippendorff 2011, ordinal"),
    ("krippendorff_alpha", lambda: krippendorff_alpha(KRIPPENDORFF_2011, level="interval"), 0.849, 3,
     "Krippendorff 2011, interval"),
    ("krippendorff_alpha", lambda: krippendorff_alpha(KRIPPENDORFF_2011, level="ratio"), 0.797, 3,
     "Krippendorff 2011, ratio"),
    # irrCAC README / overview vignette, cac.raw4raters (Gwet 2014).
    ("percent_agreement", lambda: percent_agreement(GWET_RAW4), 0.8181818, 7, "irrCAC pa.coeff.raw"),
    ("gwet_ac1", lambda: gwet_ac1(GWET_RAW4), 0.77544, 5, "irrCAC gwet.ac1.raw"),
    ("fleiss_kappa", lambda: fleiss_kappa(GWET_RAW4), 0.76117, 5, "irrCAC fleiss.kappa.raw"),
    ("krippendorff_alpha", lambda: krippendorff_alpha(GWET_RAW4, level="nominal"), 0.74342, 5,
     "irrCAC krippen.alpha.raw"),
    ("brennan_prediger", lambda: brennan_prediger(GWET_RAW4), 0.77273, 5, "irrCAC bp.coeff.raw"),
    # irrCAC "weighting" vignette, cac.raw4raters with weights = "quadratic".
    ("percent_agreement", lambda: percent_agreement(GWET_RAW4, weights="quadratic"), 0.9753788, 7,
     "irrCAC pa.coeff.raw quadratic"),
    ("gwet_ac2", lambda: gwet_ac2(GWET_RAW4, weights="quadratic"), 0.914, 5, "irrCAC gwet.ac1.raw quadratic"),
    ("fleiss_kappa", lambda: fleiss_kappa(GWET_RAW4, weights="quadratic"), 0.86494, 5,
     "irrCAC fleiss.kappa.raw quadratic"),
    ("krippendorff_alpha", lambda: krippendorff_alpha(GWET_RAW4, level="interval"), 0.84911, 5,
     "irrCAC krippen.alpha.raw quadratic (= interval alpha)"),
    ("brennan_prediger", lambda: brennan_prediger(GWET_RAW4, weights="quadratic"), 0.90152, 5,
     "irrCAC bp.coeff.raw quadratic"),
    # Fleiss (1971): kappa = .430 (also irr's kappam.fleiss(diagnoses) and pyirr's test of it).
    ("fleiss_kappa", lambda: fleiss_kappa(FLEISS_1971), 0.430, 3, "Fleiss 1971"),
    # irrCAC README, distrib.6raters = Fleiss (1971) patients 1–15.
    ("gwet_ac1", lambda: gwet_ac1(FLEISS_1971[:15]), 0.4448007, 7, "irrCAC gwet.ac1.dist"),
    ("fleiss_kappa", lambda: fleiss_kappa(FLEISS_1971[:15]), 0.4139265, 7, "irrCAC fleiss.kappa.dist"),
    ("krippendorff_alpha", lambda: krippendorff_alpha(FLEISS_1971[:15], level="nominal"), 0.4204384, 7,
     "irrCAC krippen.alpha.dist"),
    ("brennan_prediger", lambda: brennan_prediger(FLEISS_1971[:15]), 0.4388889, 7, "irrCAC bp.coeff.dist"),
    ("gwet_ac2", lambda: gwet_ac2(FLEISS_1971[:15], weights="quadratic"), 0.4837438, 7,
     "irrCAC weighting vignette, gwet.ac1.dist quadratic"),
    ("fleiss_kappa", lambda: fleiss_kappa(FLEISS_1971[:15], weights="quadratic"), 0.2511909, 7,
     "irrCAC weighting vignette, fleiss.kappa.dist quadratic"),
    # Cohen (1968): kappa = .492, weighted kappa = .348.
    ("cohen_kappa", lambda: cohen_kappa(pairs(COHEN_1968)), 0.492, 3, "Cohen 1968, unweighted"),
    ("cohen_kappa", lambda: cohen_kappa(pairs(COHEN_1968), weights=1 - COHEN_1968_DISAGREEMENT / 6), 0.348, 3,
     "Cohen 1968, weights v = 1, 3, 6"),
    # irrCAC README and weighting vignette, cont3x3abstractors.
    ("cohen_kappa", lambda: cohen_kappa(pairs(ABSTRACTORS)), 0.7964094, 7, "irrCAC kappa2.table"),
    ("gwet_ac1", lambda: gwet_ac1(pairs(ABSTRACTORS)), 0.8493305, 7, "irrCAC gwet.ac1.table"),
    ("brennan_prediger", lambda: brennan_prediger(pairs(ABSTRACTORS)), 0.835, 3, "irrCAC bp2.table"),
    ("krippendorff_alpha", lambda: krippendorff_alpha(pairs(ABSTRACTORS), level="nominal"), 0.7972585, 7,
     "irrCAC krippen2.table"),
    ("percent_agreement", lambda: percent_agreement(pairs(ABSTRACTORS)), 0.89, 2, "irrCAC pa2.table"),
    ("cohen_kappa", lambda: cohen_kappa(pairs(ABSTRACTORS), weights="quadratic"), 0.8921569, 7,
     "irrCAC kappa2.table quadratic"),
    ("gwet_ac2", lambda: gwet_ac2(pairs(ABSTRACTORS), weights="quadratic"), 0.9402369, 7,
     "irrCAC gwet.ac1.table quadratic"),
    ("brennan_prediger", lambda: brennan_prediger(pairs(ABSTRACTORS), weights="quadratic"), 0.9175, 4,
     "irrCAC bp2.table quadratic"),
    ("percent_agreement", lambda: percent_agreement(pairs(ABSTRACTORS), weights="quadratic"), 0.9725, 4,
     "irrCAC pa2.table quadratic"),
    # Shrout & Fleiss (1979): the six estimates reported for their example.
    ("icc", lambda: icc(SHROUT_FLEISS_1979, "ICC1"), 0.17, 2, "Shrout & Fleiss 1979, ICC(1,1)"),
    ("icc", lambda: icc(SHROUT_FLEISS_1979, "ICC2"), 0.29, 2, "Shrout & Fleiss 1979, ICC(2,1)"),
    ("icc", lambda: icc(SHROUT_FLEISS_1979, "ICC3"), 0.71, 2, "Shrout & Fleiss 1979, ICC(3,1)"),
    ("icc", lambda: icc(SHROUT_FLEISS_1979, "ICC1k"), 0.44, 2, "Shrout & Fleiss 1979, ICC(1,k)"),
    ("icc", lambda: icc(SHROUT_FLEISS_1979, "ICC2k"), 0.62, 2, "Shrout & Fleiss 1979, ICC(2,k)"),
    ("icc", lambda: icc(SHROUT_FLEISS_1979, "ICC3k"), 0.91, 2, "Shrout & Fleiss 1979, ICC(3,k)"),
    # irr documentation: kendall(anxiety, TRUE) prints Wt = 0.54, Chisq(19) = 30.8.
    ("kendall_w", lambda: kendall_w(ANXIETY), 0.54, 2, "irr kendall(anxiety, TRUE)"),
]


@pytest.mark.parametrize(("statistic", "compute", "published", "decimals", "source"), PUBLISHED,
                         ids=[p[4] for p in PUBLISHED])
def test_statistic_matches_published_value(statistic, compute, published, decimals, source):
    assert round(compute().value, decimals) == published


def test_every_report_statistic_is_pinned_to_a_published_value():
    pinned = {p[0] for p in PUBLISHED}
    statistics = set(REPORT_KEYS) - {"units", "raters", "ratings", "notes"}
    assert statistics == pinned


def test_kendall_w_chi_square_matches_irr_documentation():
    # Chisq(19) = m (n − 1) W = 30.8 for the anxiety data (irr, kendall(anxiety, TRUE)).
    assert round(3 * 19 * kendall_w(ANXIETY).value, 1) == 30.8


def test_irrcac_chance_agreement_terms_match():
    # irrCAC prints pe = 0.1903212 (AC1) and 0.2387153 (Fleiss) for cac.raw4raters: recover
    # them from the coefficient and pa = 0.8181818.
    pa = percent_agreement(GWET_RAW4).value
    for value, pe in ((gwet_ac1(GWET_RAW4).value, 0.1903212), (fleiss_kappa(GWET_RAW4).value, 0.2387153)):
        assert round((pa - value) / (1 - value), 7) == pe


def _ac2_by_hand(rows, weights):
    """Gwet (2014, chapter 3) AC2, written out loop by loop (no shared code with the library)."""
    cats = sorted({v for row in rows for v in row if v == v})
    q, lo, hi = len(cats), min(cats), max(cats)
    w = [[1 - (abs(a - b) / (hi - lo)) ** (1 if weights == "linear" else 2) for b in cats] for a in cats]
    rated = [[v for v in row if v == v] for row in rows]
    agree, n2 = 0.0, 0
    for vals in rated:
        r = len(vals)
        if r >= 2:
            n2 += 1
            counts = [vals.count(c) for c in cats]
            agree += sum(counts[k] * (sum(w[k][l] * counts[l] for l in range(q)) - 1) for k in range(q)) / (r * (r - 1))
    pa = agree / n2
    units = [vals for vals in rated if vals]
    pi = [sum(vals.count(c) / len(vals) for vals in units) / len(units) for c in cats]
    tw = sum(sum(row) for row in w)
    pe = tw / (q * (q - 1)) * sum(p * (1 - p) for p in pi)
    return (pa - pe) / (1 - pe)


def test_ac2_linear_matches_gwet_formula_computed_by_hand():
    # No published AC2 with linear weights was found for a data set we could verify, so the
    # value is checked against Gwet's formulas written out independently (the same code gives
    # the published quadratic value 0.914, checked first).
    assert round(_ac2_by_hand(GWET_RAW4, "quadratic"), 3) == 0.914
    assert gwet_ac2(GWET_RAW4, weights="linear").value == pytest.approx(_ac2_by_hand(GWET_RAW4, "linear"), abs=1e-12)
    assert gwet_ac2(FLEISS_1971, weights="linear").value == pytest.approx(_ac2_by_hand(FLEISS_1971, "linear"),
                                                                          abs=1e-12)


def test_weighted_cohen_kappa_matches_scikit_learn_and_statsmodels():
    # No published linear-weighted value for these tables: cross-checked with two peer libraries.
    from sklearn.metrics import cohen_kappa_score
    from statsmodels.stats.inter_rater import cohens_kappa

    for table in (COHEN_1968, ABSTRACTORS):
        data = np.asarray(pairs(table))
        for weights in ("linear", "quadratic"):
            ours = cohen_kappa(data, weights=weights).value
            assert ours == pytest.approx(cohen_kappa_score(data[:, 0], data[:, 1], weights=weights), abs=1e-12)
            wt = {"linear": "linear", "quadratic": "quadratic"}[weights]
            assert ours == pytest.approx(cohens_kappa(np.asarray(table), wt=wt).kappa, abs=1e-12)


def test_cohen_weights_follow_the_declared_scale_values():
    # Weights use the scale's values, so unequal spacing counts: ratings 0, 1, 2, 4 are not
    # the same as 0, 1, 2, 3. (Linear-weighted kappa does not change with the scale's range:
    # the range cancels between observed and chance disagreement.)
    coded = [[0, 1], [1, 2], [2, 3], [0, 0], [3, 3], [1, 0], [3, 2], [2, 2]]
    spaced = [[{3: 4}.get(v, v) for v in row] for row in coded]
    x = np.array([0.0, 1.0, 2.0, 4.0])
    explicit = 1 - np.abs(np.subtract.outer(x, x)) / 4
    assert cohen_kappa(spaced, weights="linear").value == pytest.approx(cohen_kappa(coded, weights=explicit).value,
                                                                        abs=1e-12)
    assert round(cohen_kappa(spaced, weights="linear").value, 4) != round(cohen_kappa(coded, weights="linear").value, 4)
    declared = cohen_kappa(coded, weights="linear", scale=[0, 1, 2, 3, 4, 5]).value
    assert declared == pytest.approx(cohen_kappa(coded, weights="linear").value, abs=1e-12)
    w = agreement_weights(Ratings(spaced, scale=[0, 1, 2, 4]), "linear")
    assert w[0].tolist() == [1.0, 0.75, 0.5, 0.0]


def test_scale_counts_unused_categories_in_gwet_and_brennan_prediger():
    data = [[1, 1], [2, 2], [1, 2]]
    # Observed categories {1, 2}: BP chance agreement 1/2. Declared 1–5: 1/5.
    assert brennan_prediger(data).value == pytest.approx((2 / 3 - 1 / 2) / (1 - 1 / 2))
    assert brennan_prediger(data, scale=[1, 2, 3, 4, 5]).value == pytest.approx((2 / 3 - 1 / 5) / (1 - 1 / 5))


# -- cross-checks with peer libraries ------------------------------------------------------------


def _panel(units, raters, missing, seed, levels=6):
    rng = np.random.default_rng(seed)
    quality = rng.normal(levels / 2, 1.2, size=(units, 1))
    data = np.clip(np.rint(quality + rng.normal(0, 1, size=(units, raters))), 0, levels - 1)
    data[rng.random((units, raters)) < missing] = np.nan
    return data


@pytest.mark.parametrize("seed", range(6))
def test_alpha_matches_krippendorff_package_on_random_panels(seed):
    import krippendorff

    data = _panel(60 + 40 * seed, 3 + seed, 0.1 * seed, seed)
    for level in LEVELS:
        ours = krippendorff_alpha(data, level=level).value
        assert ours == pytest.approx(krippendorff.alpha(reliability_data=data.T, level_of_measurement=level),
                                     abs=1e-12)


def test_alpha_on_ordered_labels_matches_krippendorff_package():
    import krippendorff

    names = ["very low", "low", "mid", "high", "very high"]
    labels = [[None if v != v else names[int(v) - 1] for v in row] for row in KRIPPENDORFF_2011]
    ours = krippendorff_alpha(labels, level="ordinal", scale=names).value
    theirs = krippendorff.alpha(np.asarray([[v or np.nan for v in row] for row in labels], dtype=object).T.astype(str),
                                level_of_measurement="ordinal", value_domain=names)
    assert ours == pytest.approx(theirs, abs=1e-12)
    assert round(ours, 3) == 0.815


@pytest.mark.parametrize("seed", range(4))
def test_complete_icc_matches_pingouin(seed):
    import pingouin

    data = _panel(30 + 10 * seed, 3 + seed, 0.0, seed)
    long = pd.DataFrame({"unit": np.repeat(np.arange(data.shape[0]), data.shape[1]),
                         "rater": np.tile(np.arange(data.shape[1]), data.shape[0]), "score": data.ravel()})
    theirs = pingouin.intraclass_corr(long, targets="unit", raters="rater", ratings="score")["ICC"].tolist()
    ours = intraclass_correlations(data)
    assert ours.method == "anova"
    assert [ours[f].value for f in FORMS] == pytest.approx(theirs, abs=1e-12)


def test_shrout_fleiss_icc_matches_pingouin_exactly():
    import pingouin

    data = np.asarray(SHROUT_FLEISS_1979, dtype=float)
    long = pd.DataFrame({"unit": np.repeat(range(6), 4), "rater": np.tile(range(4), 6), "score": data.ravel()})
    theirs = pingouin.intraclass_corr(long, targets="unit", raters="rater", ratings="score")["ICC"].tolist()
    assert intraclass_correlations(data).as_dict() == pytest.approx(dict(zip(FORMS, theirs)), abs=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_reml_equals_anova_on_complete_data(seed):
    # With every unit rated by every rater, REML variance components equal the ANOVA ones
    # (when none is negative), so both routes give the same six ICCs.
    rng = np.random.default_rng(seed)
    data = rng.normal(0, 1.0, (40, 1)) + rng.normal(0, 0.6, (1, 5)) + rng.normal(0, 0.8, (40, 5))
    anova = intraclass_correlations(data, method="anova").as_dict()
    reml = intraclass_correlations(data, method="reml")
    assert reml.method == "reml"
    assert reml.as_dict() == pytest.approx(anova, abs=1e-6)


@pytest.mark.slow
def test_reml_variance_components_match_statsmodels_mixedlm():
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    rng = np.random.default_rng(1)
    data = rng.normal(0, 1, (40, 1)) + rng.normal(0, 0.5, (1, 5)) + rng.normal(0, 0.8, (40, 5))
    data[rng.random(data.shape) < 0.3] = np.nan
    long = pd.DataFrame(data).stack().reset_index()
    long.columns = ["unit", "rater", "y"]
    long = long.dropna().assign(g=1)
    result = intraclass_correlations(data)
    c = result.components
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        crossed = sm.MixedLM.from_formula("y ~ 1", groups="g", re_formula="0", data=long,
                                          vc_formula={"unit": "0 + C(unit)", "rater": "0 + C(rater)"}).fit(reml=True)
        one_way = smf.mixedlm("y ~ 1", long, groups="unit").fit(reml=True)
        fixed = smf.mixedlm("y ~ C(rater)", long, groups="unit").fit(reml=True)
    rater, unit = crossed.vcomp
    assert [c["unit"], c["rater"], c["error"]] == pytest.approx([unit, rater, crossed.scale], rel=1e-3)
    assert [c["one_way_unit"], c["one_way_within"]] == pytest.approx([one_way.cov_re.iloc[0, 0], one_way.scale],
                                                                      rel=1e-3)
    assert [c["fixed_raters_unit"], c["fixed_raters_error"]] == pytest.approx([fixed.cov_re.iloc[0, 0], fixed.scale],
                                                                              rel=1e-3)
    assert result["ICC2"].value == pytest.approx(unit / (unit + rater + crossed.scale), rel=1e-3)


def test_icc2_is_undefined_when_the_fit_leaves_no_error():
    # 7 ratings, 3 units, 4 raters: unit and rater effects explain the ratings almost exactly,
    # so REML puts no variance in error and the unit/rater split is not determined (found by
    # the permutation property test, where it came out differently for each rater order).
    data = np.array([[X, 3, 4, X], [4, 4, X, 1], [X, X, 4, 0]])
    for order in ([0, 1, 2, 3], [3, 2, 1, 0], [1, 0, 3, 2]):
        result = intraclass_correlations(data[:, order])
        assert (result["ICC2"].value, result["ICC2k"].value) == (None, None)
        assert result["ICC2"].note.startswith("The ratings fit unit and rater effects almost exactly")
        assert result["ICC3"].value == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("seed", range(3))
def test_kendall_w_matches_scipy_friedman_with_ties(seed):
    # Friedman's chi-square (scipy corrects it for ties) is m (n − 1) W, with the units as
    # treatments and the raters as blocks.
    from scipy.stats import friedmanchisquare

    data = np.random.default_rng(seed).integers(0, 4, size=(9, 5)).astype(float)
    n, m = data.shape
    assert kendall_w(data).value == pytest.approx(friedmanchisquare(*data).statistic / (m * (n - 1)), abs=1e-12)


def test_icc_keeps_units_with_missing_ratings():
    # pingouin drops every unit with a missing rating; REML keeps them all.
    data = np.asarray(SHROUT_FLEISS_1979, dtype=float)
    data[0, 1] = data[3, 2] = np.nan
    result = intraclass_correlations(data)
    assert (result.method, result.units, result.raters) == ("reml", 6, 4)
    assert result.k == pytest.approx(6 / (4 * (1 / 4) + 2 * (1 / 3)))  # harmonic mean of 4,3,4,3,4,4
    assert all(result[f].defined for f in FORMS)
    complete_only = intraclass_correlations(np.delete(data, [0, 3], axis=0))
    assert result["ICC2"].value != pytest.approx(complete_only["ICC2"].value, abs=1e-3)


def _fleiss_with_missing_by_hand(rows):
    """Gwet (2014, chapter 2): agreement over units rated twice or more, category
    proportions averaged over units rated at least once — written out with loops."""
    cats = sorted({v for row in rows for v in row if v == v})
    rated = [[v for v in row if v == v] for row in rows]
    twice = [vals for vals in rated if len(vals) >= 2]
    pa = sum(sum(vals.count(c) * (vals.count(c) - 1) for c in cats) / (len(vals) * (len(vals) - 1))
             for vals in twice) / len(twice)
    units = [vals for vals in rated if vals]
    pi = [sum(vals.count(c) / len(vals) for vals in units) / len(units) for c in cats]
    pe = sum(p * p for p in pi)
    return (pa - pe) / (1 - pe)


def test_statsmodels_fleiss_kappa_is_wrong_with_missing_ratings_and_ours_is_not():
    from statsmodels.stats.inter_rater import aggregate_raters
    from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

    data = np.asarray(GWET_RAW4, dtype=float)
    by_hand = _fleiss_with_missing_by_hand(GWET_RAW4)
    assert fleiss_kappa(data).value == pytest.approx(by_hand, abs=1e-12)
    assert round(by_hand, 5) == 0.76117  # Gwet's published value
    # statsmodels counts NaN as one more category ("not rated"), so two raters who both skip
    # a unit "agree".
    table, categories = aggregate_raters(data)
    assert np.isnan(categories).any()
    assert abs(sm_fleiss_kappa(table) - by_hand) > 0.1
    # On complete data the two agree.
    complete = np.asarray(FLEISS_1971, dtype=float)
    assert fleiss_kappa(complete).value == pytest.approx(sm_fleiss_kappa(aggregate_raters(complete)[0]), abs=1e-12)


# -- properties ------------------------------------------------------------------------------------


@st.composite
def panels(draw, complete=False):
    units = draw(st.integers(3, 12))
    raters = draw(st.integers(2, 5))
    cells = st.integers(0, 5) if complete else st.one_of(st.integers(0, 5), st.just(None), st.integers(0, 5))
    rows = draw(st.lists(st.lists(cells, min_size=raters, max_size=raters), min_size=units, max_size=units))
    return np.asarray([[np.nan if v is None else v for v in row] for row in rows], dtype=float)


def _flat(report):
    out = {}
    for key, value in report.items():
        if key == "notes":
            continue
        if isinstance(value, dict):
            out.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            out[key] = value
    return out


def _same(a, b, *, icc_tol):
    assert a.keys() == b.keys()
    for key in a:
        if a[key] is None or b[key] is None:
            assert a[key] is None and b[key] is None, key
        else:
            tol = icc_tol if key.startswith("icc.") else 1e-9
            assert a[key] == pytest.approx(b[key], abs=tol), key


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(panels(), st.randoms(use_true_random=False))
def test_permuting_raters_or_units_changes_nothing(data, rnd):
    rows, cols = list(range(data.shape[0])), list(range(data.shape[1]))
    rnd.shuffle(rows)
    rnd.shuffle(cols)
    base = _flat(agreement_report(data))
    # REML is an iterative fit: a different order of the same sums may stop a hair apart.
    _same(base, _flat(agreement_report(data[rows])), icc_tol=1e-4)
    _same(base, _flat(agreement_report(data[:, cols])), icc_tol=1e-4)


@settings(max_examples=40, deadline=None)
@given(panels(complete=True), st.randoms(use_true_random=False))
def test_permuting_complete_data_keeps_anova_icc_exactly(data, rnd):
    rows = list(range(data.shape[0]))
    rnd.shuffle(rows)
    a, b = intraclass_correlations(data), intraclass_correlations(data[rows])
    assert a.method == b.method
    for form in FORMS:
        assert (a[form].value is None) == (b[form].value is None)
        if a[form].defined:
            assert a[form].value == pytest.approx(b[form].value, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=3, max_size=12), st.integers(2, 5), st.data())
def test_perfect_agreement_is_one(truth, raters, draw):
    if len(set(truth)) < 2:
        truth = truth[:-1] + [(truth[-1] + 1) % 6]
    data = np.asarray([[t] * raters for t in truth], dtype=float)
    # Drop some ratings but keep two per unit, so every unit can still be compared.
    for i in range(len(truth)):
        for j in range(2, raters):
            if draw.draw(st.booleans()):
                data[i, j] = np.nan
    report = agreement_report(data)
    values = _flat(report)
    for key in ["fleiss_kappa", "gwet_ac1", "brennan_prediger", "percent_agreement"] + \
               [f"krippendorff_alpha.{lv}" for lv in LEVELS] + [f"icc.{f}" for f in FORMS]:
        assert values[key] == pytest.approx(1.0, abs=1e-12), key
    if raters == 2:
        assert [values[f"cohen_kappa.{w}"] for w in ("unweighted", "linear", "quadratic")] == pytest.approx([1, 1, 1])
    if values["kendall_w"] is not None:
        assert values["kendall_w"] == pytest.approx(1.0)


# -- undefined statistics: None with a reason, never an exception ---------------------------------


def _nulls_have_notes(report):
    for key, value in _flat(report).items():
        if value is None:
            assert report["notes"].get(key), f"{key} is null without a note"


EDGE_CASES = {
    "single rater": [[1], [2], [3]],
    "constant ratings": [[3, 3, 3], [3, 3, 3], [3, 3, 3]],
    "all-missing units": [[X, X, X], [1, 2, 2], [3, 3, 4], [X, X, X]],
    "nothing rated": [[X, X], [X, X]],
    "one category of labels": [["met", "met"], ["met", "met"]],
    "nobody rates the same unit": [[1, X], [X, 2], [3, X]],
    "one unit": [[1, 2, 3]],
    "no units": np.zeros((0, 3)),
}


@pytest.mark.parametrize("case", EDGE_CASES, ids=list(EDGE_CASES))
def test_edge_cases_return_null_with_a_reason(case):
    report = agreement_report(EDGE_CASES[case])
    assert list(report) == list(REPORT_KEYS)
    _nulls_have_notes(report)


def test_single_rater_has_nobody_to_agree_with():
    report = agreement_report(EDGE_CASES["single rater"])
    assert all(v is None for v in _flat(report).values() if not isinstance(v, int))
    assert report["notes"]["krippendorff_alpha.nominal"] == "Only one rater, so there is no one to agree with."
    assert report["notes"]["icc.ICC2"] == "Only one rater, so there is no one to agree with."


def test_constant_ratings_agree_fully_but_chance_corrected_statistics_are_undefined():
    report = agreement_report(EDGE_CASES["constant ratings"])
    values = _flat(report)
    assert values["percent_agreement"] == 1.0
    assert [k for k, v in values.items() if v is None and k not in ("units", "raters", "ratings")] == [
        *(f"krippendorff_alpha.{lv}" for lv in LEVELS), "fleiss_kappa",
        "cohen_kappa.unweighted", "cohen_kappa.linear", "cohen_kappa.quadratic",
        "gwet_ac1", "gwet_ac2.linear", "gwet_ac2.quadratic", "brennan_prediger",
        *(f"icc.{f}" for f in FORMS), "kendall_w",
    ]
    assert report["notes"]["fleiss_kappa"].startswith("Every rating is in the same category")
    assert report["notes"]["icc.ICC1"].startswith("Every rating is the same")


def test_declared_scale_makes_ac1_and_brennan_prediger_defined_for_constant_ratings():
    # Gwet's AC1 does not collapse when everyone agrees on one value the scale offers (the
    # kappa paradox), as long as the other values on the scale are known.
    data = EDGE_CASES["constant ratings"]
    assert gwet_ac1(data, scale=[0, 1, 2, 3, 4, 5]).value == 1.0
    assert brennan_prediger(data, scale=[0, 1, 2, 3, 4, 5]).value == 1.0
    assert fleiss_kappa(data, scale=[0, 1, 2, 3, 4, 5]).value is None


def test_all_missing_units_are_counted_and_change_nothing():
    with_empty = agreement_report(EDGE_CASES["all-missing units"])
    without = agreement_report([[1, 2, 2], [3, 3, 4]])
    assert (with_empty["units"], with_empty["ratings"]) == (4, 6)
    assert with_empty["notes"]["units"] == ("2 unit(s) have no ratings at all; they are counted here but add "
                                            "nothing to any statistic.")
    _same(_flat({k: v for k, v in with_empty.items() if k != "units"}),
          _flat({k: v for k, v in without.items() if k != "units"}), icc_tol=1e-6)


def test_labels_get_nominal_statistics_and_notes_for_the_rest():
    report = agreement_report([["yes", "no"], ["no", "no"], ["yes", "yes"], ["", "yes"]])
    assert report["krippendorff_alpha"]["nominal"] == pytest.approx(4 / 9)
    assert report["krippendorff_alpha"]["interval"] is None
    assert report["cohen_kappa"]["unweighted"] == pytest.approx(0.4)
    assert report["notes"]["cohen_kappa.linear"].startswith("Linear weights need ordered categories")
    assert report["notes"]["kendall_w"].startswith("Kendall's W ranks the units")
    ordered = agreement_report([["low", "mid"], ["mid", "mid"], ["high", "high"]], scale=["low", "mid", "high"])
    assert ordered["krippendorff_alpha"]["ordinal"] is not None
    assert ordered["cohen_kappa"]["linear"] is not None
    assert ordered["icc"]["ICC2"] is None


def test_nominal_only_treats_numeric_codes_as_labels():
    report = agreement_report(FLEISS_1971, nominal_only=True)
    assert round(report["fleiss_kappa"], 3) == 0.430
    assert report["krippendorff_alpha"]["ordinal"] is None
    assert report["icc"]["ICC1"] is None
    assert report["notes"]["icc.ICC1"] == "The ratings were marked as unordered labels, so the ICC is not computed."


def test_ratings_off_the_scale_say_what_to_fix():
    with pytest.raises(RatingsError, match=r"Rating\(s\) 7 are not on the scale \(0, 1, 2, 3, 4, 5\)"):
        Ratings([[1, 7]], scale=[0, 1, 2, 3, 4, 5])
    with pytest.raises(RatingsError, match="not on the scale"):
        Ratings([["met", "exceeded"]], scale=["not met", "met"])
    with pytest.raises(RatingsError, match="the scale has labels"):
        Ratings([[1, 2]], scale=["low", "high"])


def test_ratings_read_numbers_written_as_text_and_treat_blanks_as_missing():
    r = Ratings([["1", " 2 "], ["", None], [np.nan, "3.5"]])
    assert r.numeric and r.observed == 3
    assert r.categories.tolist() == [1.0, 2.0, 3.5]
    mixed = Ratings([[1.0, "1"], [" 2", "x"]])  # a label makes them all labels; 1.0 and "1" stay one label
    assert (mixed.numeric, mixed.categories.tolist(), mixed.counts.tolist()) == (
        False, ["1", "2", "x"], [[2.0, 0.0, 0.0], [0.0, 1.0, 1.0]])


def test_dataframes_with_pandas_missing_values_keep_labels_and_numbers():
    frame = pd.DataFrame({"Ann": [1, 2, None], "Raj": [1, 3, 3]}, dtype="Int64", index=["N1", "N2", "N3"])
    r = Ratings(frame)
    assert (r.numeric, r.observed, r.unit_labels, r.rater_labels) == (True, 5, ["N1", "N2", "N3"], ["Ann", "Raj"])
    assert krippendorff_alpha(frame, level="nominal").value == pytest.approx(
        krippendorff_alpha([[1, 1], [2, 3], [X, 3]], level="nominal").value)


def test_large_tables_count_the_same_way_as_small_ones():
    data = _panel(20_000, 5, 0.2, 3)  # 100,000 cells: counted per scale value
    big = Ratings(data)
    small = [Ratings(data[i:i + 1000]) for i in range(0, 20_000, 1000)]
    assert np.array_equal(big.counts, np.vstack([s.counts for s in small]))
    assert np.array_equal(big.codes, np.vstack([s.codes for s in small]))


# -- bootstrap ------------------------------------------------------------------------------------


def test_bootstrap_is_reproducible_with_a_seed_and_brackets_the_estimate():
    data = _panel(80, 4, 0.2, 11)
    stat = lambda r: krippendorff_alpha(r, level="interval")  # noqa: E731
    a = bootstrap_ci(data, stat, resamples=300, seed=5)
    assert a == bootstrap_ci(data, stat, resamples=300, seed=5)
    assert a != bootstrap_ci(data, stat, resamples=300, seed=6)
    assert a.low < krippendorff_alpha(data, level="interval").value < a.high
    assert (a.level, a.resamples, a.used, a.note) == (0.95, 300, 300, None)


def test_bootstrap_of_the_icc_resamples_units():
    data = _panel(50, 4, 0.0, 2)
    ci = bootstrap_ci(data, lambda r: icc(r, "ICC2"), resamples=100, seed=1)
    assert ci.low < icc(data, "ICC2").value < ci.high


def test_bootstrap_reports_when_the_statistic_is_undefined():
    ci = bootstrap_ci([[3, 3], [3, 3], [3, 3]], fleiss_kappa, resamples=50)
    assert (ci.low, ci.high, ci.used) == (None, None, 0)
    assert ci.note == "The statistic was undefined on 50 of 50 resamples, too many for a reliable interval."


def test_stat_refuses_undefined_values_without_a_reason():
    with pytest.raises(ValueError, match="needs a note"):
        Stat(None)
    with pytest.raises(ValueError, match="finite"):
        Stat(float("inf"))
    assert float(Stat(0.25)) == 0.25


def test_alpha_levels_in_one_call_match_single_calls():
    together = krippendorff_alphas(KRIPPENDORFF_2011)
    assert {lv: together[lv].value for lv in LEVELS} == {
        lv: krippendorff_alpha(KRIPPENDORFF_2011, level=lv).value for lv in LEVELS}
