"""The Excel and CSV export, read back with openpyxl: sheets, values, no formulas, anonymisation, determinism."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import datetime, timezone

import pytest
from openpyxl import load_workbook

from scored_panel import scored_round
from workbench.cli import main
from workbench.export import (
    SHEETS,
    Column,
    ExportOptions,
    Sheet,
    build_export,
    clean_text,
    export_shortlist,
    letters,
    load_round_data,
    render_xlsx,
    write_csv,
)
from workbench.moderation import record_decision
from workbench.store import session_scope

AS_OF = datetime(2026, 10, 1, 12, 0, tzinfo=timezone.utc)
NASTY_NAME = '=HYPERLINK("http://evil.example","Click me")'
COMMENTS = {
    ("A", "Helen Marsh", "Q1"): "=1+1",
    ("A", "Samuel Achterberg", "Q2"): "-5 points: vague",
    ("B", "Rukhsana Begum", "Q1"): "@SUM(A1:A9)",
    ("B", "Helen Marsh", "Q3"): "\t=cmd|' /C calc'!A0",
    ("C", "Helen Marsh", "Q1"): "\r=2+3",
    ("C", "Samuel Achterberg", "Q4"): "Kwame clearly leads; Rukhsana Begum said the same.",
}
USER_TEXT = [NASTY_NAME, "+44 Trust", "@Risk team", *COMMENTS.values()]


def _build(url: str) -> dict:
    with session_scope(url) as s:
        built = scored_round(
            s,
            scores={"A": {"Helen Marsh": [4, 5, 4, 4], "Samuel Achterberg": 4, "Rukhsana Begum": 5},
                    "B": {"Helen Marsh": 3, "Samuel Achterberg": 3, "Rukhsana Begum": [1, 3, 3, 3]},
                    "C": {"Helen Marsh": 2, "Samuel Achterberg": 2, "Rukhsana Begum": 2}},
            nominees={"A": {"name": NASTY_NAME, "organisation": "+44 Trust"},
                      "B": {"name": "Priya Raman", "organisation": "Eastmoor Trust"},
                      "C": {"name": "Kwame Mensah", "organisation": "Lowmoor PCN"}},
            categories={"A": "@Risk team", "B": "Individual", "C": "Individual"},
            equality={k: {"sex": "Female"} for k in "ABC"},
            comments=COMMENTS)
        record_decision(s, round_=built.round, nomination_id=built.nominations["B"], criterion_id="Q1", after=3,
                        reason_code="outlying-judge", rationale="+ agreed with Helen Marsh at the panel meeting.",
                        moderator="Mo Moderator")
        return {"round": built.round.name, "references": built.references}


@pytest.fixture(scope="module")
def panel_url(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('export') / 'panel.db'}"
    _build(url)
    return url


def _export(url: str, path, **options) -> None:
    defaults = {"top": 2, "as_of": AS_OF}
    export_shortlist(url=url, out=path, options=ExportOptions(**{**defaults, **options}))


def _values(ws) -> list[tuple]:
    return [tuple(row) for row in ws.iter_rows(values_only=True)]


def _rounded(row: tuple) -> tuple:
    return tuple(round(v, 6) if isinstance(v, float) else v for v in row)


def _all_strings(wb) -> list[str]:
    return [c.value for ws in wb for row in ws.iter_rows() for c in row if isinstance(c.value, str)]


def test_workbook_has_every_sheet_with_the_shortlist_values(panel_url, tmp_path):
    path = tmp_path / "shortlist.xlsx"
    _export(panel_url, path)
    wb = load_workbook(path)
    assert wb.sheetnames == list(SHEETS)
    shortlist = _values(wb["Shortlist"])
    assert shortlist[0] == ("Rank", "Nomination", "Nominee", "Organisation", "Category", "Total",
                            "Percent of maximum", "Q1", "Q2", "Q3", "Q4", "Complete scores", "Stability", "Note")
    assert _rounded(shortlist[1][:12]) == ("1", "N0001", NASTY_NAME, "+44 Trust", "@Risk team", 17.666667,
                                           0.883333, 4.333333, 4.666667, 4.333333, 4.333333, 3)
    assert _rounded(shortlist[2][:6]) == ("2", "N0002", "Priya Raman", "Eastmoor Trust", "Individual", 11.333333)
    assert shortlist[3] == (None,) * 14
    assert shortlist[4][0] == "The top 2 in the round (more when a tie crosses the cut-off)."
    ranking = _values(wb["Ranking"])
    assert [(r[0], r[1], r[13]) for r in ranking[1:4]] == [("1", "N0001", "Yes"), ("2", "N0002", "Yes"),
                                                          ("3", "N0003", "No")]
    scores = _values(wb["All scores"])
    assert scores[0] == ("Nomination", "Category", "Judge", "Criterion", "Score", "Normalised score",
                         "Scored at (UTC)")
    assert len([r for r in scores[1:] if r[0] and r[0].startswith("N0")]) == 36
    assert scores[1][:5] == ("N0001", "@Risk team", "Helen Marsh", "Q1", 4.0)
    assert isinstance(scores[1][6], datetime)
    log = _values(wb["Moderation log"])
    assert _rounded(log[1][:11]) == (1, "N0002", "Q1", 2.333333, 3.0, 0.666667, "No", "outlying-judge",
                           "One judge's score is out of line with the evidence and with the rest of the panel.",
                           "+ agreed with Helen Marsh at the panel meeting.", "Mo Moderator")
    comments = _values(wb["Judge comments"])
    assert [r[:3] for r in comments[1:7]] == [("N0001", "Q1", "Helen Marsh"), ("N0001", "Q2", "Samuel Achterberg"),
                                             ("N0002", "Q1", "Rukhsana Begum"), ("N0002", "Q3", "Helen Marsh"),
                                             ("N0003", "Q1", "Helen Marsh"), ("N0003", "Q4", "Samuel Achterberg")]
    agreement = _values(wb["Agreement"])
    assert [r[:5] for r in agreement[1:5]] == [("Q1", "Services that meet the needs of all communities", 3, 3, 9),
                                              ("Q2", "Promoting equality and celebrating difference", 3, 3, 9),
                                              ("Q3", "Colleagues able to be themselves and fully included", 3, 3, 9),
                                              ("Q4", "Visibly inclusive leader and ambassador for unheard voices",
                                               3, 3, 9)]
    equality = _values(wb["Equality check"])
    assert equality[1:3] == [("Sex", "Female", "<5", "<5", None, None, "<5", None, None, None),
                             ("Sex", "All", 3, 2, pytest.approx(2 / 3), None, 0, 0.0, None, None)]
    method = dict(r for r in _values(wb["Method"])[1:] if r[0] not in {"Tie rule", "Moderation rule",
                                                                           "Equality check", "Conflict"})
    assert method["Round"] == "Test round"
    assert method["Rubric version (SHA-256)"] == "e5c74c5a5c745eb4ea27c917caa0989c407ed6dedd6ca855280cdebf3cb30e7e"
    assert method["Criterion Q1"].startswith("Services that meet the needs of all communities; weight 1; scale 0 = ")
    assert method["Aggregation"] == "mean: Mean of the judges' scores on each criterion."
    assert method["Data as of (UTC)"] == datetime(2026, 10, 1, 12, 0)
    assert method["Anonymised"] == "No"


def test_no_cell_is_a_formula_and_user_text_reads_back_exactly(panel_url, tmp_path):
    path = tmp_path / "shortlist.xlsx"
    _export(panel_url, path)
    with zipfile.ZipFile(path) as package:
        sheets = [n for n in package.namelist() if n.startswith("xl/worksheets/sheet")]
        assert len(sheets) == len(SHEETS)
        for name in sheets:
            xml = package.read(name).decode("utf-8")
            assert "<f>" not in xml and "<f " not in xml, name
    wb = load_workbook(path)
    cells = [c for ws in wb for row in ws.iter_rows() for c in row if c.value is not None]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    by_text = {}
    for cell in cells:
        if isinstance(cell.value, str):
            by_text.setdefault(cell.value, []).append(cell)
    for text in USER_TEXT:
        assert text in by_text, repr(text)
        assert all(c.data_type == "s" for c in by_text[text])
        if text.startswith(("=", "+", "-", "@", "\t", "\r")):
            assert all(c.quotePrefix for c in by_text[text]), repr(text)
    assert by_text["Kwame clearly leads; Rukhsana Begum said the same."][0].quotePrefix is False


def test_anonymised_export_drops_every_identity(panel_url, tmp_path):
    path = tmp_path / "anonymous.xlsx"
    _export(panel_url, path, anonymise=True)
    wb = load_workbook(path)
    text = "\n".join(_all_strings(wb))
    for identity in ("HYPERLINK", "+44 Trust", "Priya", "Raman", "Eastmoor", "Kwame", "Mensah", "Lowmoor", "Helen",
                     "Marsh", "Samuel", "Achterberg", "Rukhsana", "Begum", "Mo Moderator"):
        assert identity not in text, identity
    assert _values(wb["Shortlist"])[0][:4] == ("Rank", "Nomination", "Category", "Total")
    judges = sorted({r[2] for r in _values(wb["All scores"])[1:] if r[0] and r[0].startswith("N0")})
    assert judges == ["Judge A", "Judge B", "Judge C"]
    comments = {r[4] for r in _values(wb["Judge comments"])[1:7]}
    assert "[name] clearly leads; [name] [name] said the same." in comments
    log = _values(wb["Moderation log"])[1]
    assert (log[9], log[10]) == ("+ agreed with [name] [name] at the panel meeting.", "Moderator A")
    robustness = _values(wb["Robustness"])[0]
    assert robustness[-3:] == ("without Judge A", "without Judge B", "without Judge C")
    assert dict((r[0], r[1]) for r in _values(wb["Method"])[1:])["Anonymised"].startswith("Yes")


def test_the_same_data_gives_the_same_bytes(panel_url, tmp_path):
    first, second = io.BytesIO(), io.BytesIO()
    _export(panel_url, first, as_of=None)
    _export(panel_url, second, as_of=None)
    assert first.getvalue() == second.getvalue()
    with zipfile.ZipFile(first) as package:
        assert {info.date_time for info in package.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        core = package.read("docProps/core.xml").decode()
    with session_scope(panel_url) as s:
        from workbench.panel import get_round

        newest = load_round_data(s, round_=get_round(s)).moderation["at"].max()
    stamp = newest.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert f">{stamp}</dcterms:created>" in core and f">{stamp}</dcterms:modified>" in core


def test_formatting_frozen_header_filters_widths_number_formats_and_chart(panel_url, tmp_path):
    path = tmp_path / "shortlist.xlsx"
    _export(panel_url, path)
    wb = load_workbook(path)
    for ws in wb:
        assert ws.freeze_panes == "A2", ws.title
        assert ws["A1"].font.b is True, ws.title
        assert ws.auto_filter.ref.startswith("A1:"), ws.title
        widths = [d.width for d in ws.column_dimensions.values()]
        assert widths and all(6 <= w <= 60 for w in widths), ws.title
    shortlist = wb["Shortlist"]
    assert shortlist.auto_filter.ref == "A1:N3"
    assert (shortlist["F2"].number_format, shortlist["G2"].number_format, shortlist["L2"].number_format,
            shortlist["M2"].number_format) == ("0.00", "0.0%", "0", "0.0%")
    assert wb["All scores"]["G2"].number_format == "yyyy-mm-dd hh:mm"
    assert shortlist.column_dimensions["C"].width == 46  # the 44-character nominee name
    (chart,) = shortlist._charts
    assert chart.series[0].val.numRef.f == "'Shortlist'!$F$2:$F$3"
    assert chart.series[0].cat.numRef.f == "'Shortlist'!$B$2:$B$3"


def test_csv_files_match_the_sheets_and_neutralise_formulas(panel_url, tmp_path):
    with session_scope(panel_url) as s:
        from workbench.panel import get_round

        data = load_round_data(s, round_=get_round(s))
    built = build_export(data, options=ExportOptions(top=2, as_of=AS_OF))
    paths = write_csv(built.sheets, tmp_path / "csv")
    assert [p.name for p in paths] == ["shortlist.csv", "ranking.csv", "robustness.csv", "all-scores.csv",
                                       "agreement.csv", "moderation-log.csv", "judge-comments.csv",
                                       "equality-check.csv", "method.csv"]
    assert (tmp_path / "csv" / "shortlist.csv").read_bytes().startswith(b"\xef\xbb\xbfRank,Nomination,Nominee")
    with open(tmp_path / "csv" / "shortlist.csv", encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[1][:7] == ["1", "N0001", "'" + NASTY_NAME, "'+44 Trust", "'@Risk team", "17.666667", "0.883333"]
    with open(tmp_path / "csv" / "judge-comments.csv", encoding="utf-8-sig", newline="") as handle:
        comments = [r[4] for r in csv.reader(handle)][1:]
    assert comments == ["'=1+1", "'-5 points: vague", "'@SUM(A1:A9)", "'\t=cmd|' /C calc'!A0", "'\r=2+3",
                        "Kwame clearly leads; Rukhsana Begum said the same."]
    assert len(built.sheet("All scores").rows) == 36


def test_export_reflects_moderated_scores(panel_url, tmp_path):
    path = tmp_path / "moderated.xlsx"
    _export(panel_url, path, source="moderated")
    row = _values(load_workbook(path)["Shortlist"])[2]
    assert _rounded(row[:8]) == ("2", "N0002", "Priya Raman", "Eastmoor Trust", "Individual", 12.0, 0.6, 3.0)


def test_cli_export_writes_workbook_and_csv(panel_url, tmp_path, capsys):
    out = tmp_path / "cli.xlsx"
    assert main(["export", "shortlist", "--db", panel_url, "--out", str(out), "--top", "1", "--anonymise",
                 "--csv", str(tmp_path / "csv"), "--as-of", "2026-10-01", "--aggregation", "median"]) == 0
    assert capsys.readouterr().out == (f"Wrote {out} and 9 CSV files: 1 of 3 nominations shortlisted (data as of "
                                       "2026-10-01 00:00 UTC).\n")
    wb = load_workbook(out)
    assert [r[1] for r in _values(wb["Shortlist"])[1:2]] == ["N0001"]
    assert dict((r[0], r[1]) for r in _values(wb["Method"])[1:])["Aggregation"].startswith("median:")
    assert main(["export", "shortlist", "--db", panel_url, "--out", str(tmp_path / "x.csv")]) == 1
    assert capsys.readouterr().err == "error: The output file should end in .xlsx (Excel); got 'x.csv'.\n"
    assert not (tmp_path / "x.csv").exists()


def test_export_reads_the_round_on_every_database(db_url, tmp_path):
    info = _build(db_url)
    out = io.BytesIO()
    result = export_shortlist(url=db_url, out=out, options=ExportOptions(top=2, as_of=AS_OF))
    assert (result.shortlisted, result.nominations) == (2, 3)
    wb = load_workbook(out)
    assert [r[1] for r in _values(wb["Shortlist"])[1:3]] == [info["references"]["A"], info["references"]["B"]]
    assert len(_values(wb["Moderation log"])) == 4  # header, one decision, a blank row, one note


def test_cell_text_limits_and_labels():
    assert clean_text("a\x00b\x1fc\td\ne") == "abc\td\ne"
    long = clean_text("x" * 40000)
    assert len(long) == 32767 and long.endswith("[…cut: longer than an Excel cell can hold]")
    assert [letters(i) for i in (0, 25, 26, 27, 701, 702)] == ["A", "Z", "AA", "AB", "ZZ", "AAA"]


def test_render_refuses_sheet_names_excel_cannot_hold(tmp_path):
    from workbench.errors import WorkbenchError

    with pytest.raises(WorkbenchError, match="Sheet names must be unique"):
        render_xlsx([Sheet("A/B", [Column("x")], [])], tmp_path / "bad.xlsx", as_of=AS_OF)
