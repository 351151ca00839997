"""Agreement for a judging round (per criterion and overall) and the dashboard."""

from __future__ import annotations

import pytest

from workbench.agreement import agreement_report
from workbench.agreement.panel import (
    alpha_band,
    disagreements,
    icc_band,
    labelled_scores,
    ratings_table,
    round_agreement,
    round_report_json,
    totals_table,
)
from workbench.demo import build_demo
from workbench.panel import get_round, round_rubric
from workbench.store import session_scope


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('agreement') / 'demo.db'}"
    build_demo(url=url)
    return url


def test_round_agreement_matches_the_plain_report_per_criterion(demo_url):
    with session_scope(demo_url) as s:
        round_ = get_round(s)
        result = round_agreement(s, round_=round_, resamples=200, seed=3)
        scores = labelled_scores(s, round_=round_)
        rubric = round_rubric(s, round_, check_file=False)
    assert list(result["criteria"]) == ["Q1", "Q2", "Q3", "Q4"]
    q1 = ratings_table(scores, "Q1")
    assert q1.shape == (40, 6) and int(q1.notna().sum().sum()) == 120
    expected = agreement_report(q1, scale=[0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    assert result["criteria"]["Q1"]["report"] == expected
    assert result["criteria"]["Q1"]["alpha"] == expected["krippendorff_alpha"]["ordinal"]
    low, high = result["criteria"]["Q1"]["alpha_ci"]
    assert low < result["criteria"]["Q1"]["alpha"] < high
    totals = totals_table(scores, rubric)
    assert result["overall"]["report"] == agreement_report(totals)
    assert result == round_agreement_again(demo_url)


def round_agreement_again(url):
    with session_scope(url) as s:
        return round_agreement(s, round_=get_round(s), resamples=200, seed=3)


def test_round_report_json_has_the_cli_keys(demo_url):
    with session_scope(demo_url) as s:
        report = round_report_json(s, round_=get_round(s))
    assert set(report) == {"round", "rubric", "rubric_hash", "criteria", "overall"}
    assert set(report["criteria"]["Q2"]) >= {"units", "raters", "ratings", "krippendorff_alpha", "fleiss_kappa",
                                             "cohen_kappa", "gwet_ac1", "gwet_ac2", "brennan_prediger",
                                             "percent_agreement", "icc", "kendall_w", "notes"}
    assert report["criteria"]["Q2"]["cohen_kappa"]["unweighted"] is None  # six judges, not two
    assert "cohen_kappa.unweighted" in report["criteria"]["Q2"]["notes"]


def test_disagreements_lead_with_the_widest_range(demo_url):
    with session_scope(demo_url) as s:
        scores = labelled_scores(s, round_=get_round(s))
    table = disagreements(scores, limit=5)
    assert table["range"].tolist() == sorted(table["range"].tolist(), reverse=True)
    assert table.loc[0, "range"] == 4.0 and table.loc[0, "reference"] == "N0013"


@pytest.mark.parametrize("value, alpha, icc", [(0.95, "reliable", "excellent"), (0.8, "reliable", "good"),
                                               (0.7, "tentative", "moderate"), (0.4, "unreliable", "poor")])
def test_interpretation_bands(value, alpha, icc):
    assert (alpha_band(value), icc_band(value)) == (alpha, icc)


def test_dashboard_shows_every_part_with_labelled_plots(demo_url):
    from workbench.app.agreement import AgreementDashboard, distribution_figure, heatmap_figure

    view = AgreementDashboard(url=demo_url)
    assert view.alert.kind == ""
    assert "Q4: " in view.reliability.value and "Overall: Weighted total" in view.reliability.value
    assert "Dr Helen Marsh scores on average 0.8 points below the rest of the panel" in view.judges.value
    assert "Moderate N0013" in view.disagreements.value
    assert view.heatmap.value.startswith('<img src="data:image/png;base64,')
    assert 'alt="Heatmap of Q1 scores' in view.heatmap.value
    view.criterion.value = "Q3"
    assert 'alt="Heatmap of Q3 scores' in view.heatmap.value
    fig = heatmap_figure(view.scores, criterion="Q2", title="Promoting equality", scale=(0, 5))
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("Nomination", "Judge")
    assert ax.get_title().startswith("Q2: Promoting equality")
    dist = distribution_figure(view.scores, criterion="Q2", title="Q2", scale=(0, 5)).axes[0]
    assert dist.get_ylabel() == "Judge" and dist.get_xlabel().startswith("Score (0–5)")
    assert [t.get_text() for t in dist.get_yticklabels()] == sorted(view.scores["judge_name"].unique())


def test_dashboard_without_rounds_says_what_to_do(tmp_path):
    from workbench.app.agreement import AgreementDashboard

    view = AgreementDashboard(url=f"sqlite:///{tmp_path / 'empty.db'}")
    assert view.alert.text == "There are no judging rounds yet. Import nominations or run `workbench demo` first."


def test_cli_db_form_reports_per_criterion_and_overall(demo_url, capsys):
    import json

    from workbench.cli import main

    assert main(["agreement", "--db", demo_url, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    with session_scope(demo_url) as s:
        assert report == json.loads(json.dumps(round_report_json(s, round_=get_round(s))))
    assert report["round"] == "Inclusive Leader 2026 (demo)"
    assert report["criteria"]["Q1"]["units"] == 40 and report["criteria"]["Q1"]["ratings"] == 120
    assert main(["agreement", "--db", demo_url, "--round", "No such round"]) == 1
    assert "No round called 'No such round'" in capsys.readouterr().err
