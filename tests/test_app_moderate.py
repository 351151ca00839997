"""The moderation app, headless: queue, side-by-side view, recording a decision, errors on screen."""

from __future__ import annotations

import base64
import csv
import io
import re

import pytest
from IPython.display import HTML
from sqlalchemy import func, select

from scored_panel import scored_round
from workbench.app.moderate import ModerationView, moderation_app
from workbench.store import ModerationEvent, session_scope


@pytest.fixture
def panel(sqlite_url):
    with session_scope(sqlite_url) as s:
        built = scored_round(
            s, scores={"A": {"Ann": [2, 3, 3, 3], "Bo": [4, 3, 3, 3], "Cy": [4, 3, 3, 3]},
                       "B": {"Ann": 3, "Bo": 3, "Cy": 3},
                       "C": {"Ann": [3, 1, 3, 3], "Bo": [3, 3, 3, 3], "Cy": 3}},
            nominees={k: {"name": f"Secret Person {k}", "organisation": f"Hidden Trust {k}"} for k in "ABC"},
            equality={k: {"disability": "Equality-Sentinel"} for k in "ABC"},
            comments={("A", "Ann", "Q1"): "Few figures <b>given</b>."})
    return sqlite_url, built


def _link_data(html_text: str) -> bytes:
    return base64.b64decode(re.search(r'base64,([^"]+)"', html_text).group(1))


def test_queue_lists_flagged_nominations_and_shows_one_side_by_side(panel):
    url, built = panel
    view = ModerationView(url=url)
    assert view.queue.options == (("N0001: 1 flag(s), 1 open", built.nominations["A"]),
                                  ("N0003: 1 flag(s), 1 open", built.nominations["C"]))
    assert view.queue.value == built.nominations["A"]
    detail = view.detail.value
    assert "<li>Q1: the scores run from 2 to 4, a spread of 2 points; the limit is 2.</li>" in detail
    assert "<td>Ann</td><td>2</td><td>Few figures &lt;b&gt;given&lt;/b&gt;.</td>" in detail
    assert "Ran listening events with Secret Person A&#x27;s team" in detail  # the answer, as written
    assert "Hidden Trust" not in detail and "Equality-Sentinel" not in detail
    assert (view.criterion.value, view.score.value) == ("Q1", 3)
    assert view.trail.value == "<h2>Audit trail</h2><p>No decisions recorded yet.</p>"


def test_recording_a_decision_stores_it_updates_the_queue_and_the_audit_trail(panel):
    url, built = panel
    view = ModerationView(url=url)
    view.score.value = 4
    view.reason.value = "evidence-overlooked"
    view.rationale.value = "Ann overlooked the co-production figures in the second paragraph."
    view.moderator.value = "Mo Moderator"
    view.record_button.click()
    assert (view.alert.kind, view.alert.text) == ("success",
                                                  "Decision recorded: N0001 Q1: 3.33 → 4, recorded by Mo Moderator.")
    assert view.queue.options == (("N0003: 1 flag(s), 1 open", built.nominations["C"]),)
    assert view.rationale.value == ""
    assert "<td>N0001</td><td>Q1</td><td>3.33</td><td>4</td><td>Mo Moderator</td>" in view.trail.value
    rows = list(csv.reader(io.StringIO(_link_data(view.download.value).decode("utf-8-sig"))))
    assert rows[1][:5] == ["1", "N0001", "Q1", "3.333333", "4.0"]
    view.show_resolved.value = True
    assert [label for label, _ in view.queue.options] == ["N0001: 1 flag(s), resolved", "N0003: 1 flag(s), 1 open"]


def test_no_change_decision_from_the_form(panel):
    url, built = panel
    view = ModerationView(url=url)
    view.queue.value = built.nominations["C"]
    assert view.criterion.value == "Q2"
    view.outcome.value = "no_change"
    assert view.score.disabled
    view.reason.value = "scores-stand"
    view.rationale.value = "Ann explained her view at the panel; the scores stand."
    view.moderator.value = "Mo Moderator"
    view.record()
    assert view.alert.text == "Decision recorded: N0003 Q2: no change (2.33 stands), recorded by Mo Moderator."


def test_a_decision_with_problems_is_explained_on_screen_and_not_stored(panel):
    url, _ = panel
    view = ModerationView(url=url)
    view.rationale.value = "short"
    view.record_button.click()
    assert view.alert.kind == "error"
    assert view.alert.text == ("The decision was not recorded: write a rationale of at least a sentence saying why "
                               "(it goes in the audit trail); say who is recording the decision (the moderator's "
                               "name).")
    with session_scope(url) as s:
        assert s.scalar(select(func.count()).select_from(ModerationEvent)) == 0


def test_without_a_round_the_app_says_what_to_do(tmp_path):
    view = ModerationView(url=f"sqlite:///{tmp_path / 'empty.db'}")
    assert (view.alert.kind, view.alert.text) == (
        "error", "There are no judging rounds yet. Import nominations or run `workbench demo` first.")


def test_only_organisers_get_the_app(panel):
    url, _ = panel
    refused = moderation_app({"WORKBENCH_ROLE": "judge", "WORKBENCH_DB": url})
    assert isinstance(refused, HTML) and "Open it from the organiser link." in refused.data
    assert isinstance(moderation_app({"WORKBENCH_ROLE": "organiser", "WORKBENCH_DB": url}), ModerationView)
