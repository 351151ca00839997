"""The judge's scoring app (``notebooks/judge.ipynb``).

The judge sees their nominations with a progress bar, opens one, reads the answers (blind by
default) and scores each question against its level descriptors. Every change is saved at once
(autosave) and says "Saved"; a failed save says so on screen. "Submit" locks the scores; only
then, and only if the round allows it, are the other judges' scores shown. A judge can declare
a conflict of interest at any time.

Every callback reads its widgets, calls one :class:`~workbench.judging.JudgeDesk` method and
shows the result or the error. Every control has a visible label and works with the keyboard.
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping

import ipywidgets as widgets
from IPython.display import HTML

from workbench.app import Alert, reports_errors
from workbench.app.evidence_panel import EvidencePanel
from workbench.evidence import Indicator, default_model
from workbench.errors import StaleWrite
from workbench.judging import ROUND_ENV, JudgeDesk, NominationView, QuestionView, judge_id_from_env

NO_LINK = ("<div role='alert' class='workbench-no-link'><h1>Score nominations</h1><p>Open this page from your "
           "personal link. The organiser sends each judge their own link; it shows only the nominations assigned "
           "to you.</p></div>")

_WIDE = {"description_width": "initial"}


def _auto() -> widgets.Layout:
    return widgets.Layout(width="auto")


def judge_app(environ: Mapping[str, str] | None = None):
    """The app for the judge the server identified, or a message when there is none."""
    environ = os.environ if environ is None else environ
    judge_id = judge_id_from_env(environ)
    if judge_id is None:
        return HTML(NO_LINK)
    return JudgeApp(desk=JudgeDesk(url=environ.get("WORKBENCH_DB"), judge_id=judge_id,
                                   round_name=environ.get(ROUND_ENV) or None))


def _paragraphs(text: str) -> str:
    parts = [p.strip() for p in (text or "").split("\n\n") if p.strip()]
    if not parts:
        return "<p><em>No answer was given to this question.</em></p>"
    return "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in parts)


class QuestionBlock(widgets.VBox):
    """One question: the answer, the guidance, a score control, an optional comment, a save status."""

    def __init__(self, question: QuestionView, *, reference: str, on_change, evidence: bool = True):
        self.question = question
        self._on_change = on_change
        self._quiet = False
        self.event_id = question.event_id
        indicators = "".join(f"<li>{html.escape(i)}</li>" for i in question.indicators)
        levels = "".join(f"<li><strong>{level.value} – {html.escape(level.label)}</strong>: "
                         f"{html.escape(level.descriptor)}</li>" for level in question.levels)
        self.text = widgets.HTML(
            f"<h3>{html.escape(question.criterion_id)}. {html.escape(question.title)}</h3>"
            f"<p class='workbench-question'>{html.escape(question.text)}</p>"
            f"<h4>The nomination's answer</h4><div class='workbench-answer'>{_paragraphs(question.answer)}</div>"
            + (f"<h4>Example indicators (guidance, not a checklist)</h4><ul>{indicators}</ul>" if indicators else "")
            + (f"<p>{html.escape(question.guidance)}</p>" if question.guidance else ""))
        self.descriptors = widgets.HTML(
            f"<h4>What each score means</h4><ul class='workbench-levels'>{levels}</ul>",
            layout=widgets.Layout(flex="1 1 auto", max_width="60em"))
        self.score = widgets.RadioButtons(
            options=[(f"{level.value} – {level.label}", level.value) for level in question.levels],
            value=question.value, description=f"Score for {question.criterion_id} ({reference})",
            style=_WIDE, layout=widgets.Layout(width="auto", min_width="16em"))
        self.comment = widgets.Textarea(
            value=question.comment, description=f"Comment on {question.criterion_id} (optional)",
            placeholder="Optional: what the score rests on", continuous_update=False, style=_WIDE,
            layout=widgets.Layout(width="95%", height="4em"))
        self.clear = widgets.Button(description=f"Clear score for {question.criterion_id}",
                                    tooltip="Remove this score (it stays in the history)", layout=_auto())
        self.status = widgets.HTML(self._idle_status())
        self.score.observe(self._changed, "value")
        self.comment.observe(self._changed, "value")
        self.clear.on_click(self._clear)
        self.evidence = None
        if (evidence and question.indicator_ids and question.answer.strip()
                and set(question.indicator_ids) <= set(default_model().indicator_ids)):
            self.evidence = EvidencePanel(
                answer=question.answer, criterion_id=question.criterion_id, word_limit=question.word_limit,
                indicators=[Indicator(i, question.criterion_id, t)
                            for i, t in zip(question.indicator_ids, question.indicators)])
        super().__init__([self.text, *([self.evidence] if self.evidence else []),
                          widgets.HBox([self.score, self.descriptors]), self.comment,
                          widgets.HBox([self.clear, self.status])])
        self.add_class("workbench-question-block")

    def _idle_status(self) -> str:
        text = "Scored; saved earlier." if self.question.value is not None else "Not scored yet."
        return f"<span role='status' class='workbench-save-status'>{text}</span>"

    def show_status(self, text: str, ok: bool = True) -> None:
        role, colour = ("status", "#0f5132") if ok else ("alert", "#842029")
        self.status.value = (f"<span role='{role}' class='workbench-save-status' style='color:{colour}'>"
                             f"{html.escape(text)}</span>")

    def set_quietly(self, value, comment: str | None = None) -> None:
        self._quiet = True
        try:
            self.score.value = value
            if comment is not None:
                self.comment.value = comment
        finally:
            self._quiet = False

    def lock(self) -> None:
        for control in (self.score, self.comment, self.clear):
            control.disabled = True

    def _changed(self, _change) -> None:
        if not self._quiet:
            self._on_change(self, self.score.value)

    def _clear(self, _button) -> None:
        self.set_quietly(None)
        self._on_change(self, None)


class JudgeApp(widgets.VBox):
    """The whole page for one judge: list, progress, one nomination at a time."""

    def __init__(self, *, desk: JudgeDesk):
        self.desk = desk
        self.alert = Alert()
        self.heading = widgets.HTML("<h1>Score nominations</h1>")
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="Submitted", style=_WIDE)
        self.progress_text = widgets.HTML()
        self.chooser = widgets.Select(options=[], value=None, description="Your nominations", rows=8,
                                      style=_WIDE, layout=widgets.Layout(width="32em"))
        self.chooser.observe(self._chosen, "value")
        self.nomination = widgets.VBox()
        self.view: NominationView | None = None
        self.blocks: dict[str, QuestionBlock] = {}
        self._quiet = False
        super().__init__([self.heading, self.alert, widgets.HBox([self.progress, self.progress_text]),
                          self.chooser, self.nomination])
        self.add_class("workbench-judge-app")
        self.refresh()

    # -- the list -------------------------------------------------------------------------

    @reports_errors()
    def refresh(self) -> None:
        queue = self.desk.queue()
        self.heading.value = (f"<h1>Score nominations</h1><p>{html.escape(queue.judge_name)}, round "
                              f"{html.escape(queue.round_name)}. Each nomination is shown blind unless the round "
                              "says otherwise. Scores save as you go.</p>")
        self._update_queue(queue)

    def _update_queue(self, queue) -> None:
        self.progress.max = max(queue.total, 1)
        self.progress.value = queue.submitted
        self.progress_text.value = f"<span role='status'>{html.escape(queue.describe())}</span>"
        options = [(f"{item.reference} – {item.status}", item.nomination_id) for item in queue.items]
        current = self.chooser.value
        self._quiet = True
        try:
            self.chooser.options = options
            self.chooser.value = current if current in {v for _, v in options} else None
        finally:
            self._quiet = False
        if not options:
            self.progress_text.value = ("<span role='status'>You have no nominations to score at the moment.</span>")

    def _chosen(self, change) -> None:
        if not self._quiet and change["new"] is not None:
            self.open_nomination(change["new"])

    # -- one nomination -------------------------------------------------------------------

    @reports_errors()
    def open_nomination(self, nomination_id: int) -> None:
        view = self.desk.view(nomination_id)
        self.alert.clear()
        self._show(view)

    def _show(self, view: NominationView) -> None:
        self.view = view
        if view.identity:
            who = (f"<p>Nominee: <strong>{html.escape(view.identity['name'])}</strong>, "
                   f"{html.escape(view.identity['organisation'])}</p>")
        else:
            who = ("<p class='workbench-blind'>Shown blind: the nominee's name, organisation and equality "
                   "information are hidden.</p>")
        guidance = "".join(f"<p>{html.escape(g)}</p>" for g in view.guidance)
        header = widgets.HTML(f"<h2>{html.escape(view.reference)}</h2>{who}"
                              + (f"<details><summary>Guidance for judges</summary>{guidance}</details>"
                                 if guidance else ""))
        self.blocks = {q.criterion_id: QuestionBlock(q, reference=view.reference, on_change=self.save)
                       for q in view.questions}
        self.submit_button = widgets.Button(description=f"Submit my scores for {view.reference}",
                                            button_style="primary", tooltip="Locks your scores for this nomination",
                                            layout=_auto())
        self.submit_button.on_click(lambda _: self.submit())
        self.submit_note = widgets.HTML()
        self.conflict_button = widgets.Button(description="Declare a conflict of interest",
                                              tooltip=f"Tell the organisers you cannot judge {view.reference}",
                                              layout=_auto())
        self.conflict_button.on_click(lambda _: self._ask_conflict())
        self.conflict_box = widgets.VBox()
        self.panel = widgets.HTML()
        self.nomination.children = [header, self.conflict_button, self.conflict_box, *self.blocks.values(),
                                    self.submit_button, self.submit_note, self.panel]
        self._show_submitted(view)

    def _show_submitted(self, view: NominationView) -> None:
        if not view.submitted:
            self.submit_note.value = ""
            self.panel.value = ""
            return
        for block in self.blocks.values():
            block.lock()
        self.submit_button.disabled = True
        self.submit_note.value = (f"<p role='status'>Your scores for {html.escape(view.reference)} are submitted "
                                  "and locked.</p>")
        if view.panel is None:
            self.panel.value = ""
            return
        rows = "".join(f"<tr><td>{html.escape(p.judge)}</td><td>{html.escape(p.criterion_id)}</td>"
                       f"<td>{'' if p.value is None else f'{p.value:g}'}</td><td>{html.escape(p.comment)}</td></tr>"
                       for p in view.panel)
        self.panel.value = (
            "<table class='workbench-panel'><caption>Other judges' submitted scores</caption><thead><tr>"
            "<th scope='col'>Judge</th><th scope='col'>Question</th><th scope='col'>Score</th>"
            f"<th scope='col'>Comment</th></tr></thead><tbody>{rows}</tbody></table>"
            if rows else "<p>No other judge has submitted scores for this nomination yet.</p>")

    # -- actions ---------------------------------------------------------------------------

    @reports_errors()
    def save(self, block: QuestionBlock, value) -> None:
        """Autosave one question (score and comment) and say so next to it."""
        block.show_status("Saving…")
        try:
            saved = self.desk.save(nomination_id=self.view.nomination_id, criterion_id=block.question.criterion_id,
                                   value=value, comment=block.comment.value, rubric_hash=self.view.rubric_hash,
                                   expected_event_id=block.event_id)
        except StaleWrite:
            block.show_status("Not saved: changed in another window. The current value is shown.", ok=False)
            fresh = self.desk.view(self.view.nomination_id)
            current = next(q for q in fresh.questions if q.criterion_id == block.question.criterion_id)
            block.event_id = current.event_id
            block.set_quietly(current.value, current.comment)
            raise
        except Exception:
            block.show_status("Not saved – see the message at the top of the page.", ok=False)
            raise
        block.event_id = saved.event_id
        what = "Score cleared" if saved.value is None else f"Score {saved.value}"
        block.show_status(f"Saved: {what} for {saved.criterion}, at {saved.at:%H:%M:%S} UTC.")
        self.alert.clear()
        self._update_queue(self.desk.queue())

    @reports_errors()
    def submit(self) -> None:
        view = self.desk.submit(self.view.nomination_id)
        self.view = view
        self._show_submitted(view)
        self._update_queue(self.desk.queue())
        self.alert.show(f"Submitted: your scores for {view.reference} are locked. Thank you.", "success")

    def _ask_conflict(self) -> None:
        self.conflict_reason = widgets.Textarea(
            description="Why can you not judge this nomination? (only the organisers see this)", style=_WIDE,
            layout=widgets.Layout(width="95%", height="4em"))
        confirm = widgets.Button(description=f"Confirm the conflict for {self.view.reference}",
                                 button_style="danger", layout=_auto())
        cancel = widgets.Button(description="Cancel", layout=_auto())
        confirm.on_click(lambda _: self.declare_conflict())
        cancel.on_click(lambda _: setattr(self.conflict_box, "children", ()))
        self.conflict_box.children = [self.conflict_reason, widgets.HBox([confirm, cancel])]

    @reports_errors()
    def declare_conflict(self) -> None:
        reference = self.view.reference
        outcome = self.desk.declare_conflict(nomination_id=self.view.nomination_id,
                                             reason=self.conflict_reason.value)
        self.view = None
        self.blocks = {}
        self.nomination.children = []
        withdrawn = (f" Your {outcome.withdrawn_scores} score(s) for it were withdrawn (kept on record)."
                     if outcome.withdrawn_scores else "")
        self._update_queue(self.desk.queue())
        self.alert.show(f"Conflict of interest recorded: {reference} is no longer on your list.{withdrawn} The "
                        "organisers have been told. Thank you.", "success")

