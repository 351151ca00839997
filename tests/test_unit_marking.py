"""The unit-marking app, headless: set the widgets, click, check the Alert and the store."""

from __future__ import annotations

from workbench.app.unit_marking import NO_COHORT, UnitMarkingView, unit_marking_app
from workbench.marking import IQA, LearnerRow, draw_iqa_sample, import_learner_rows, marking_sheet
from workbench.store import Judge, session_scope

AMY = "Amy Assessor <amy@example.org>"
IVY = "Ivy Quality <ivy@example.org>"


def _cohort(url):
    import_learner_rows(rows=[LearnerRow(f"L{i}", f"Learner {i}'s account of leading inclusion.\n\nSecond part.",
                                         f"Learner {i}", "", AMY, where=f"row {i}") for i in (1, 2)],
                        cohort="App cohort", url=url)


def _mark(view, levels, notes=None, ticks=()):
    for (criterion, block), value in zip(view.points.items(), levels):
        block.level.value = value
    for criterion, note in (notes or {}).items():
        view.points[criterion].note.value = note
    for check in ticks:
        view.ticks[check].value = True


def test_without_a_cohort_the_app_says_what_to_do(sqlite_url):
    view = UnitMarkingView(url=sqlite_url)
    assert (view.alert.kind, view.alert.text) == ("info", NO_COHORT)
    assert view.children == (view.heading, view.alert)


def test_assessor_marks_saves_and_submits(sqlite_url):
    _cohort(sqlite_url)
    view = UnitMarkingView(url=sqlite_url)
    assert view.marker.options == (("Amy Assessor (2 learners, 0 submitted)", "amy@example.org"),)
    assert view.learner.options == (("L1 Learner 1 — Not started", "N0001"), ("L2 Learner 2 — Not started", "N0002"))
    assert view.work.layout.display == "none"
    view.learner.value = "N0001"
    assert view.work.layout.display is None
    assert view.submission.value == ("<p>Learner 1&#x27;s account of leading inclusion.</p><p>Second part.</p>")
    _mark(view, [2, 1, 3, 2], {"MP2": "Describes training but did not lead it."}, ticks=["MC3"])
    assert "Outcome: Refer</strong>. Below Met on: MP2." in view.outcome.value
    view.save_button.click()
    assert (view.alert.kind, view.alert.text) == (
        "success", "Saved for L1: 4 of 4 marking points marked. Outcome so far: Refer.")
    assert view.learner.options[0] == ("L1 Learner 1 — In progress: 4 of 4 marked", "N0001")
    assert view.learner.value == "N0001"
    stored = marking_sheet(learner="L1", marker="amy@example.org", url=sqlite_url)
    assert [(p.label, p.note) for p in stored.points] == [
        ("Met", ""), ("Partly met", "Describes training but did not lead it."), ("Exceeded", ""), ("Met", "")]
    assert [c.check for c in stored.checks if c.ticked] == ["MC3"]
    view.submit_button.click()
    assert (view.alert.kind, view.alert.text) == ("success", "Submitted and locked for L1. Outcome: Refer (Below Met on: "
                                                             "MP2.)")
    assert view.points["MP1"].level.disabled and view.save_button.disabled and view.ticks["MC1"].disabled
    view.learner.value = "N0002"
    assert [b.level.value for b in view.points.values()] == [None, None, None, None]
    _mark(view, [2, None, None, None])
    view.submit_button.click()
    assert view.alert.kind == "error"
    assert view.alert.text.startswith("Mark every marking point before submitting. Still to mark: MP2 (Proactive")
    assert marking_sheet(learner="L2", marker="amy@example.org", url=sqlite_url).submitted is False


def test_iqa_marks_blind_then_sees_the_assessor(sqlite_url):
    _cohort(sqlite_url)
    assessor = UnitMarkingView(url=sqlite_url)
    assessor.learner.value = "N0001"
    _mark(assessor, [2, 1, 2, 2])
    assessor.submit_button.click()
    draw_iqa_sample(iqa=[IVY], seed=1, percent=100, cohort="App cohort", url=sqlite_url)
    with session_scope(sqlite_url) as s:
        ivy = s.query(Judge).filter_by(email="ivy@example.org").one().id
    view = unit_marking_app({"WORKBENCH_DB": sqlite_url, "WORKBENCH_ROLE": "judge", "WORKBENCH_JUDGE_ID": str(ivy)})
    view.role.value = IQA
    assert (view.marker.options, view.marker.disabled) == ((("Ivy Quality", "ivy@example.org"),), True)
    assert view.learner.options == (("L1 Learner 1 — Not started", "N0001"),)
    view.learner.value = "N0001"
    assert view.counterpart.value == ("<p><em>The assessor&#x27;s marks and outcome are hidden until you submit your own "
                                      "marking (blind second marking).</em></p>")
    assert [b.level.value for b in view.points.values()] == [None, None, None, None]
    _mark(view, [2, 2, 2, 2])
    view.submit_button.click()
    assert (view.alert.kind, view.alert.text) == ("success", "Submitted and locked for L1. Outcome: Pass (Every "
                                                             "criterion reaches the required level.)")
    assert "<h2>Assessor's marking (Amy Assessor)</h2>" in view.counterpart.value
    assert ("<tr><th scope='row'>MP2</th><td>Met</td><td>Partly met</td><td></td></tr>" in view.counterpart.value)
    assert "Assessor's outcome: <strong>Refer</strong>." in view.counterpart.value


def test_a_marker_with_no_learners_is_told_so(sqlite_url):
    _cohort(sqlite_url)
    view = unit_marking_app({"WORKBENCH_DB": sqlite_url, "WORKBENCH_ROLE": "judge", "WORKBENCH_JUDGE_ID": "999"})
    assert (view.marker.options, view.learner.options) == ((), ())
    assert (view.alert.kind, view.alert.text) == (
        "info", "You have no learners to mark in this cohort. Ask the organiser if you expected some.")
