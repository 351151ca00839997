"""The organiser's shortlist app, headless: build, robustness, equality check, downloads, winners."""

from __future__ import annotations

import base64
import io
import re
import zipfile

import pytest
from IPython.display import HTML
from openpyxl import load_workbook

from scored_panel import create_scored_round, scored_round
from workbench.app.shortlist import ShortlistView, shortlist_app
from workbench.export import SHEETS
from workbench.shortlist import winner_ids
from workbench.store import session_scope


@pytest.fixture
def panel(sqlite_url):
    scores = {key: {"Ann": value, "Bo": value, "Cy": value} for key, value in zip("ABCDEFGH", [5, 4, 4, 3, 3, 2, 1, 0])}
    with session_scope(sqlite_url) as s:
        built = scored_round(s, scores=scores,
                             nominees={k: {"name": f"Person {k}", "organisation": "Trust"} for k in scores},
                             equality={k: {"sex": "Female" if i % 2 else "Male"} for i, k in enumerate(scores)})
    return sqlite_url, built


def _downloads(view) -> dict[str, bytes]:
    return {name: base64.b64decode(data)
            for name, data in re.findall(r'download="([^"]+)" href="data:[^;]+;base64,([^"]+)"', view.downloads.value)}


def test_build_shows_the_shortlist_checks_and_downloads(panel):
    url, _ = panel
    view = ShortlistView(url=url, build=False)
    view.top.value = 3
    view.build_button.click()
    assert (view.alert.kind, view.alert.text) == ("success", "Shortlist built: 3 of 8 nominations. The downloads "
                                                             "are ready.")
    summary = view.summary.value
    assert "<caption>Shortlist (3 nominations)</caption>" in summary
    assert "<td>1</td><td>N0001</td><td>Person A</td><td></td><td>20.00</td>" in summary
    assert "<li>N0002 and N0003 tie for place 2 on every rule (total 16).</li>" in summary
    assert "<th scope='col'>without Ann</th>" in view.robustness.value
    assert "<h2>Equality check of the nominee pool (organisers only)</h2>" in view.equality.value
    files = _downloads(view)
    assert sorted(files) == ["shortlist-test-round-csv.zip", "shortlist-test-round.xlsx"]
    workbook = load_workbook(io.BytesIO(files["shortlist-test-round.xlsx"]))
    assert workbook.sheetnames == list(SHEETS)
    assert [row[1] for row in workbook["Shortlist"].iter_rows(min_row=2, max_row=4, values_only=True)] == [
        "N0001", "N0002", "N0003"]
    assert zipfile.ZipFile(io.BytesIO(files["shortlist-test-round-csv.zip"])).namelist()[0] == "shortlist.csv"
    assert view.winners.options == (("N0001", 1), ("N0002", 2), ("N0003", 3))


def test_threshold_and_anonymised_downloads(panel):
    url, _ = panel
    view = ShortlistView(url=url, build=False)
    view.rule.value = "threshold"
    assert view.top.disabled and not view.threshold.disabled
    view.threshold.value = 12
    view.anonymise.value = True
    view.build()
    assert view.alert.text == "Shortlist built: 5 of 8 nominations. The downloads are ready."
    assert "Person A" not in view.summary.value
    workbook = load_workbook(io.BytesIO(_downloads(view)["shortlist-test-round-anonymised.xlsx"]))
    strings = [c for ws in workbook for row in ws.iter_rows(values_only=True) for c in row if isinstance(c, str)]
    assert not [s for s in strings if "Person" in s or s in {"Ann", "Bo", "Cy"}]


def test_recording_winners_updates_the_equality_check(panel):
    from workbench.panel import get_round

    url, built = panel
    view = ShortlistView(url=url)
    assert "No winners are recorded yet, so the winner columns are all zero." in view.equality.value
    view.winners.value = (built.nominations["A"],)
    view.save_winners()
    assert (view.alert.kind, view.alert.text) == ("error", "Give your name: recording winners is kept in the audit "
                                                           "trail.")
    with session_scope(url) as s:
        assert winner_ids(get_round(s)) == []
    view.actor.value = "Olu Organiser"
    view.winners_button.click()
    assert view.alert.text == "Winners recorded: N0001. The equality check and the downloads now include them."
    with session_scope(url) as s:
        assert winner_ids(get_round(s)) == [built.nominations["A"]]
    assert "No winners are recorded yet" not in view.equality.value
    assert view.winners.value == (built.nominations["A"],)


def test_errors_and_refusals_are_on_screen(panel, tmp_path):
    url, _ = panel
    empty = ShortlistView(url=f"sqlite:///{tmp_path / 'empty.db'}")
    assert (empty.alert.kind, empty.alert.text) == (
        "error", "There are no judging rounds yet. Import nominations or run `workbench demo` first.")
    with session_scope(f"sqlite:///{tmp_path / 'new.db'}") as s:
        create_scored_round(s, name="Not imported yet")
    new = ShortlistView(url=f"sqlite:///{tmp_path / 'new.db'}")
    assert (new.alert.kind, new.alert.text) == ("warning", "This round has no nominations yet, so there is nothing "
                                                           "to shortlist. Import the nominations first.")
    refused = shortlist_app({"WORKBENCH_ROLE": "judge", "WORKBENCH_DB": url})
    assert isinstance(refused, HTML) and "This page is for organisers." in refused.data
