"""The judge app's evidence aid: shown on request, highlights support, never scores."""

from __future__ import annotations

from workbench.app.evidence_panel import EvidencePanel, highlight
from workbench.evidence import DISCLAIMER, indicators_from_rubric
from workbench.rubric import load_rubric

ANSWER = ("Sam set up a co-production group with the Somali community and redesigned the antenatal referral route "
          "with them. Missed appointments fell from 31% to 12% within a year. Sam is passionate about everyone.")
WORDS = len(ANSWER.split())


def test_mentions_of_protected_characteristics_are_listed():
    panel = EvidencePanel(answer="She set up a network for BAME and disabled staff.", criterion_id="Q2",
                          indicators=indicators_from_rubric(load_rubric("inclusive-leader")))
    panel.toggle.value = True
    assert "bame (protected characteristic: race)" in panel.body.value
    assert "disabled staff (protected characteristic: disability)" in panel.body.value


def test_highlight_escapes_and_marks_exact_spans():
    text = "One <two>. Three & four."
    assert highlight(text, [(11, 24)]) == "One &lt;two&gt;. <mark>Three &amp; four.</mark>"
    assert highlight(text, []) == "One &lt;two&gt;. Three &amp; four."
    assert highlight("abcdef", [(0, 3), (2, 5)]) == "<mark>abc</mark><mark>de</mark>f"


def test_panel_is_closed_until_asked_then_shows_findings_and_disclaimer():
    panel = EvidencePanel(answer=ANSWER, criterion_id="Q1",
                          indicators=indicators_from_rubric(load_rubric("inclusive-leader")))
    assert (panel.body.value, panel.highlighted.value) == ("", "")
    panel.toggle.value = True
    assert panel.alert.kind == ""
    assert "Reading aid, not a score." in panel.body.value and DISCLAIMER.split(".")[0] in panel.body.value
    assert "<strong>Q1a</strong>" in panel.body.value and "<strong>Q1b</strong>" in panel.body.value
    assert "Missed appointments fell from 31% to 12% within a year." in panel.body.value  # outcome evidence
    assert f"<strong>Length:</strong> {WORDS} of 500 words." in panel.body.value
    assert "<mark>" in panel.highlighted.value
    assert "<h5>Claims without specifics</h5><ul><li>Sam is passionate about everyone.</li></ul>" in panel.body.value
    assert "suggested score" not in panel.body.value.lower()
    assert panel.toggle.description == "Hide evidence aid for Q1"
    panel.toggle.value = False
    assert (panel.body.value, panel.toggle.description) == ("", "Show evidence aid for Q1")
