"""The optional evidence aid beside each question in the judge's app.

It shows which example indicators an answer seems to evidence, with the supporting sentences
highlighted, mentions of protected characteristics, outcome evidence and the word count. It
is an aid to reading and never a score: the disclaimer is always shown first.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

import ipywidgets as widgets

from workbench.app import Alert, reports_errors
from workbench.evidence import AnswerEvidence, Indicator, analyse_answer

KIND_LABELS = {"protected_characteristic": "protected characteristic", "discrimination_type": "type of discrimination"}


def highlight(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """The text, HTML-escaped, with the given character spans wrapped in ``<mark>``.

    >>> highlight("A <b> test. Second one.", [(12, 23)])
    'A &lt;b&gt; test. <mark>Second one.</mark>'
    """
    out, position = [], 0
    for start, end in sorted(set(spans)):
        if start < position:
            start = position
        if start >= end:
            continue
        out.append(html.escape(text[position:start]))
        out.append(f"<mark>{html.escape(text[start:end])}</mark>")
        position = end
    out.append(html.escape(text[position:]))
    return "".join(out)


def evidence_html(result: AnswerEvidence) -> tuple[str, list[tuple[int, int]]]:
    """The aid's findings for one answer as accessible HTML, and the spans to highlight."""
    parts = [f"<p role='note' class='workbench-evidence-disclaimer'><strong>Reading aid, not a score.</strong> "
             f"{html.escape(result.disclaimer)}</p>"]
    items = []
    for finding in result.indicators:
        if finding.found:
            quotes = "".join(f"<li>“{html.escape(s.text)}”</li>" for s in finding.sentences)
            items.append(f"<li><strong>{html.escape(finding.indicator_id)}</strong> {html.escape(finding.indicator_text)}"
                         f"<ul>{quotes}</ul></li>")
        else:
            items.append(f"<li><strong>{html.escape(finding.indicator_id)}</strong> "
                         f"{html.escape(finding.indicator_text)} — <em>no sentence found</em></li>")
    parts.append(f"<h5>Example indicators</h5><ul>{''.join(items)}</ul>")
    mentions = sorted({(m.kind, m.term_id, m.matched_text.lower()) for m in result.mentions})
    if mentions:
        listed = ", ".join(f"{html.escape(text)} ({KIND_LABELS.get(kind, kind)}: {html.escape(term)})"
                           for kind, term, text in mentions)
        parts.append(f"<p><strong>Mentions:</strong> {listed}</p>")
    else:
        parts.append("<p><strong>Mentions:</strong> no protected characteristic or type of discrimination named.</p>")
    outcome = "".join(f"<li>{html.escape(s.text)} <small>({', '.join(s.kinds)})</small></li>"
                      for s in result.outcome_evidence)
    claims = "".join(f"<li>{html.escape(s.text)}</li>" for s in result.unsupported_claims)
    parts.append(f"<h5>Concrete outcome evidence</h5><ul>{outcome or '<li>None found.</li>'}</ul>")
    parts.append(f"<h5>Claims without specifics</h5><ul>{claims or '<li>None found.</li>'}</ul>")
    wc = result.word_count
    over = f" — {wc.over_by} over the limit" if wc.over_limit else ""
    parts.append(f"<p><strong>Length:</strong> {wc.words} of {wc.limit} words{over}.</p>")
    spans = [(s.start, s.end) for f in result.indicators for s in f.sentences]
    return "".join(parts), spans


class EvidencePanel(widgets.VBox):
    """A closed-by-default panel; opening it runs the aid on this one answer."""

    def __init__(self, *, answer: str, criterion_id: str, indicators: Sequence[Indicator], word_limit: int = 500):
        self.answer, self.criterion_id = answer, criterion_id
        self.indicators, self.word_limit = list(indicators), word_limit
        self.alert = Alert()
        self.toggle = widgets.ToggleButton(
            value=False, description=f"Show evidence aid for {criterion_id}",
            tooltip="Highlights sentences that may evidence the example indicators. It never scores.",
            layout=widgets.Layout(width="auto"))
        self.body = widgets.HTML()
        self.highlighted = widgets.HTML()
        self.toggle.observe(lambda change: self.show(change["new"]), names="value")
        super().__init__([self.toggle, self.alert, self.body, self.highlighted])
        self.add_class("workbench-evidence-panel")

    @reports_errors()
    def show(self, visible: bool) -> None:
        if not visible:
            self.body.value = self.highlighted.value = ""
            self.toggle.description = f"Show evidence aid for {self.criterion_id}"
            return
        result = analyse_answer(text=self.answer, criterion_id=self.criterion_id, indicators=self.indicators,
                                word_limit=self.word_limit)
        body, spans = evidence_html(result)
        self.body.value = body
        self.highlighted.value = ("<h5>The answer, with supporting sentences highlighted</h5>"
                                  f"<p class='workbench-evidence-text'>{highlight(self.answer, spans)}</p>")
        self.toggle.description = f"Hide evidence aid for {self.criterion_id}"
