"""The shared widget-app pieces: errors always reach the screen."""

from __future__ import annotations

import pytest

from workbench.app import Alert, reports_errors
from workbench.errors import NotAllowed


class _View:
    def __init__(self):
        self.alert = Alert()

    @reports_errors()
    def refused(self):
        raise NotAllowed("Your scores for this nomination are submitted and locked.")

    @reports_errors()
    def crashes(self):
        raise KeyError("Q9")

    @reports_errors()
    def works(self):
        return 42


def test_expected_error_is_shown_with_its_fix():
    view = _View()
    assert view.refused() is None
    assert (view.alert.kind, view.alert.text) == ("error", "Your scores for this nomination are submitted and locked.")
    assert 'role="alert"' in view.alert.value


def test_unexpected_error_is_shown_and_still_raised():
    view = _View()
    with pytest.raises(KeyError):
        view.crashes()
    assert view.alert.kind == "error"
    assert view.alert.text == ("Something went wrong (KeyError): 'Q9'. Nothing was saved by this action; please try "
                               "again or tell the organiser.")


def test_alert_escapes_html_and_clears():
    alert = Alert()
    alert.show("<script>x</script> saved", "success")
    assert "<script>" not in alert.value and "&lt;script&gt;" in alert.value
    assert 'role="status"' in alert.value
    alert.clear()
    assert (alert.value, alert.kind) == ("", "")
    assert _View().works() == 42


def test_overview_shows_round_and_progress(tmp_path):
    from workbench.app.overview import OverviewView
    from workbench.demo import build_demo

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    build_demo(url=url)
    view = OverviewView(url=url)
    assert view.alert.kind == ""
    assert ("40 nominations, 3 judges each" in view.summary.value
            and "Scoresheets submitted: 118 of 120." in view.summary.value)
    assert view.progress.value.count("<tr><td>") == 6
    assert '<a href="judge.ipynb">Score nominations</a>' in view.apps.value


def test_overview_without_rounds_says_what_to_do(tmp_path):
    from workbench.app.overview import OverviewView

    view = OverviewView(url=f"sqlite:///{tmp_path / 'empty.db'}")
    assert view.alert.kind == "error"
    assert view.alert.text == ("There are no judging rounds yet. Import nominations or run `workbench demo` first.")
