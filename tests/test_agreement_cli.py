"""`workbench agreement`: a ratings CSV in, the report out (JSON or a table)."""

from __future__ import annotations

import json

import pytest

from workbench.agreement import REPORT_KEYS
from workbench.cli import build_parser, main

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability": 12 units, observers A–D;
# an empty cell is a missing rating.
KRIPPENDORFF_CSV = """unit,A,B,C,D
u1,1,1,,1
u2,2,2,3,2
u3,3,3,3,3
u4,3,3,3,3
u5,2,2,2,2
u6,1,2,3,4
u7,4,4,4,4
u8,1,1,2,1
u9,2,2,2,2
u10,,5,5,5
u11,,,1,1
u12,,3,,
"""


def run(capsys, *argv):
    code = main(["agreement", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_report_for_krippendorffs_example(tmp_path, capsys):
    path = tmp_path / "ratings.csv"
    path.write_text(KRIPPENDORFF_CSV, encoding="utf-8")
    code, out, err = run(capsys, path, "--json")
    assert (code, err) == (0, "")
    report = json.loads(out)
    assert list(report) == list(REPORT_KEYS)
    assert (report["units"], report["raters"], report["ratings"]) == (12, 4, 41)
    assert {k: round(v, 3) for k, v in report["krippendorff_alpha"].items()} == {
        "nominal": 0.743, "ordinal": 0.815, "interval": 0.849, "ratio": 0.797}
    assert round(report["fleiss_kappa"], 5) == 0.76117  # Gwet's generalisation (irrCAC)
    assert round(report["gwet_ac1"], 5) == 0.77544
    assert round(report["gwet_ac2"]["quadratic"], 3) == 0.914
    assert round(report["brennan_prediger"], 5) == 0.77273
    assert round(report["percent_agreement"], 7) == 0.8181818
    assert report["cohen_kappa"] == {"unweighted": None, "linear": None, "quadratic": None}
    assert set(report["icc"]) == {"ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k"}
    assert all(isinstance(v, float) for v in report["icc"].values())
    assert round(report["kendall_w"], 4) == 0.7943
    assert report["notes"] == {
        "cohen_kappa.unweighted": "Cohen's kappa compares exactly two raters; there are 4. Use Fleiss' kappa, "
                                  "Gwet's AC1 or Krippendorff's alpha for more.",
        "cohen_kappa.linear": "Cohen's kappa compares exactly two raters; there are 4. Use Fleiss' kappa, "
                              "Gwet's AC1 or Krippendorff's alpha for more.",
        "cohen_kappa.quadratic": "Cohen's kappa compares exactly two raters; there are 4. Use Fleiss' kappa, "
                                 "Gwet's AC1 or Krippendorff's alpha for more.",
        "kendall_w": "Computed on the 8 units rated by all 4 raters; 4 unit(s) with a missing rating were left out.",
    }


def test_readable_table_without_json(tmp_path, capsys):
    path = tmp_path / "ratings.csv"
    path.write_text(KRIPPENDORFF_CSV, encoding="utf-8")
    code, out, _ = run(capsys, path)
    lines = out.splitlines()
    assert code == 0
    assert lines[:4] == [str(path), "12 units, 4 raters, 41 ratings", "", "Statistic                          Value"]
    assert "Krippendorff's alpha (nominal)     0.743" in lines
    assert "Cohen's kappa (unweighted)         —" in lines
    assert lines[-1].startswith("  kendall_w: Computed on the 8 units")


def test_labels_give_nominal_statistics_and_notes_for_numeric_ones(tmp_path, capsys):
    path = tmp_path / "labels.csv"
    path.write_text("case;Ann;Raj\nc1;met;met\nc2;not met;met\nc3;not met;not met\nc4;;met\n", encoding="utf-8")
    code, out, _ = run(capsys, path, "--json")
    report = json.loads(out)
    assert code == 0
    assert (report["units"], report["raters"], report["ratings"]) == (4, 2, 7)
    assert report["cohen_kappa"]["unweighted"] == pytest.approx(0.4)
    assert report["krippendorff_alpha"]["interval"] is None
    assert report["icc"]["ICC2"] is None
    assert report["notes"]["icc.ICC2"] == ("The ratings are labels, not numbers, so the ICC is undefined; only the "
                                           "nominal statistics apply.")


def test_declared_scale_changes_the_chance_terms(tmp_path, capsys):
    path = tmp_path / "ratings.csv"
    path.write_text("unit,A,B\nn1,3,3\nn2,4,4\nn3,3,4\n", encoding="utf-8")
    _, out, _ = run(capsys, path, "--json")
    _, scaled, _ = run(capsys, path, "--json", "--scale", "0,1,2,3,4,5")
    assert json.loads(out)["brennan_prediger"] == pytest.approx((2 / 3 - 1 / 2) / (1 - 1 / 2))
    assert json.loads(scaled)["brennan_prediger"] == pytest.approx((2 / 3 - 1 / 6) / (1 - 1 / 6))


def test_off_scale_rating_is_an_error_that_says_what_to_fix(tmp_path, capsys):
    path = tmp_path / "ratings.csv"
    path.write_text("unit,A,B\nn1,3,7\n", encoding="utf-8")
    code, out, err = run(capsys, path, "--scale", "0,1,2,3,4,5")
    assert (code, out) == (1, "")
    assert err == ("error: Rating(s) 7 are not on the scale (0, 1, 2, 3, 4, 5). Correct the ratings or add the "
                   "values to the scale.\n")


def test_duplicate_and_blank_unit_ids_are_all_reported(tmp_path, capsys):
    path = tmp_path / "ratings.csv"
    path.write_text("unit,A,B\nn1,3,4\n,2,2\nn1,1,1\n", encoding="utf-8")
    code, _, err = run(capsys, path)
    assert code == 1
    assert err.splitlines() == [
        "error: 2 problem(s) found:",
        "  - ratings.csv: row 3: The unit id (first column) is empty; give each row an id.",
        "  - ratings.csv: row 4: Unit 'n1' also appears in row 2; give each unit one row.",
    ]


def test_missing_file_and_missing_rater_columns(tmp_path, capsys):
    code, _, err = run(capsys, tmp_path / "nope.csv")
    assert (code, err) == (1, f"error: No ratings file at {tmp_path / 'nope.csv'}. Check the name and folder.\n")
    path = tmp_path / "one.csv"
    path.write_text("unit\nn1\n", encoding="utf-8")
    code, _, err = run(capsys, path)
    assert (code, err) == (1, "error: one.csv has no rater columns. The first column is the unit id; add one "
                              "column of ratings per rater.\n")


def test_db_form_parses_and_says_what_it_needs(capsys):
    args = build_parser().parse_args(["agreement", "--db", "sqlite:///x.db", "--round", "2026"])
    assert (args.file, args.db, args.round, args.json) == (None, "sqlite:///x.db", "2026", False)
    code, _, err = run(capsys, "--round", "2026")
    assert (code, err) == (1, "error: --round needs --db URL: the database that holds the round.\n")
    code, _, err = run(capsys)
    assert (code, err) == (1, "error: Give a ratings CSV file (unit id, then one column per rater), or --db URL "
                              "--round NAME for a judging round.\n")


def test_file_and_db_together_is_refused(tmp_path, capsys):
    path = tmp_path / "ratings.csv"
    path.write_text(KRIPPENDORFF_CSV, encoding="utf-8")
    code, _, err = run(capsys, path, "--db", "sqlite:///x.db", "--round", "r")
    assert (code, err) == (1, "error: Give either a ratings file or --db with --round, not both.\n")


def test_nominal_flag_treats_codes_as_labels(tmp_path, capsys):
    path = tmp_path / "codes.csv"
    path.write_text("patient,p1,p2,p3\n1,1,1,2\n2,3,3,3\n3,2,4,2\n", encoding="utf-8")
    code, out, _ = run(capsys, path, "--json", "--nominal")
    report = json.loads(out)
    assert code == 0
    assert report["krippendorff_alpha"]["nominal"] is not None
    assert report["krippendorff_alpha"]["ordinal"] is None
    assert report["icc"]["ICC1"] is None
