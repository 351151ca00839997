"""The unit-marking app (``notebooks/unit_marking.ipynb``): assessors mark, an IQA second-marks.

Pick the role (assessor or IQA), the marker and a learner; read the learner's work; give each
marking point a level (Not met / Partly met / Met / Exceeded) with an evidence note; tick the
common misconceptions seen; the outcome the rubric's rule gives is shown as you mark. "Save"
keeps the marking; "Submit" locks it. An IQA sees the assessor's marks and outcome only after
submitting their own (blind second marking).

Every callback reads its widgets, calls one :mod:`workbench.marking` service and shows the
result or the error (:func:`~workbench.app.reports_errors`).
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping

import ipywidgets as widgets

from workbench.app import Alert, reports_errors
from workbench.marking import (
    ASSESSOR,
    IQA,
    MarkingSheet,
    cohort_markers,
    cohort_rubric,
    list_cohorts,
    marker_queue,
    marking_sheet,
    record_marking,
)
from workbench.judging import JUDGE_ENV, ROLE_ENV  # set by the server's prelaunch hook, never by the page
from workbench.rubric import Rubric

NO_COHORT = ("There is no unit-marking cohort in this database yet. An organiser imports the learners' work "
             "first (`workbench unit import FILE_OR_FOLDER`, or `workbench unit demo` for a fictional cohort); "
             "then reload this page.")

_WIDE = {"description_width": "initial"}


def unit_marking_app(environ: Mapping[str, str] | None = None) -> UnitMarkingView:
    """The app for this kernel: a marker who came through their personal link sees only their own learners."""
    environ = os.environ if environ is None else environ
    marker = None
    raw = environ.get(JUDGE_ENV, "").strip()
    if environ.get(ROLE_ENV) == "judge" and raw.isdigit():
        marker = raw
    return UnitMarkingView(url=environ.get("WORKBENCH_DB") or None, marker=marker)


def _paragraphs(text: str) -> str:
    parts = [p.strip() for p in (text or "").split("\n\n") if p.strip()]
    if not parts:
        return "<p><em>The submission is empty.</em></p>"
    return "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in parts)


class PointBlock(widgets.VBox):
    """One marking point: what it asks, the level descriptors, a level choice and an evidence note."""

    def __init__(self, criterion, *, on_change):
        self.criterion = criterion
        levels = "".join(f"<li><strong>{html.escape(lv.label)}</strong>: {html.escape(lv.descriptor)}</li>"
                         for lv in criterion.scale.levels)
        self.text = widgets.HTML(
            f"<h3>{html.escape(criterion.id)}. {html.escape(criterion.title)}</h3>"
            f"<p>{html.escape(criterion.text)}</p>"
            f"<details><summary>What each level means</summary><ul>{levels}</ul></details>")
        self.level = widgets.RadioButtons(
            options=[(lv.label, lv.value) for lv in criterion.scale.levels], value=None,
            description=f"Level for {criterion.id}", style=_WIDE, layout=widgets.Layout(width="auto"))
        self.note = widgets.Textarea(
            description=f"Evidence for {criterion.id}", placeholder="Where in the work, and what it shows",
            style=_WIDE, layout=widgets.Layout(width="95%", height="4em"))
        self.level.observe(lambda _change: on_change(), "value")
        super().__init__([self.text, self.level, self.note])

    def show(self, value, note: str, locked: bool) -> None:
        self.level.value = value
        self.note.value = note
        self.level.disabled = self.note.disabled = locked


class UnitMarkingView(widgets.VBox):
    """The whole page. ``marker`` (id or email) fixes the marker; otherwise one is picked from a list."""

    def __init__(self, *, url: str | None = None, cohort: str | None = None, marker: str | None = None):
        self.url, self.fixed_marker = url, marker
        self.alert = Alert()
        self.heading = widgets.HTML("<h1>Unit marking</h1>")
        self.sheet: MarkingSheet | None = None
        self._quiet = False
        cohorts = list_cohorts(url=url)
        if not cohorts:
            self.cohort = None
            self.alert.show(NO_COHORT, "info")
            super().__init__([self.heading, self.alert])
            return
        self.cohort = cohort or cohorts[-1]
        self.rubric: Rubric = cohort_rubric(cohort=self.cohort, url=url)
        self.intro = widgets.HTML(
            f"<p>Cohort <strong>{html.escape(self.cohort)}</strong>: {html.escape(self.rubric.title)}. Mark each "
            "marking point with an evidence note, tick any common misconception you see, then save. Submit when "
            "you have finished: submitted marking is locked. The outcome follows the unit's rule.</p>")
        self.role = widgets.ToggleButtons(options=[("Assessor", ASSESSOR), ("IQA (second marker)", IQA)],
                                          value=ASSESSOR, description="Marking as", style=_WIDE)
        self.marker = widgets.Dropdown(options=[], value=None, description="Marker", style=_WIDE,
                                       layout=widgets.Layout(width="28em"), disabled=marker is not None)
        self.learner = widgets.Dropdown(options=[], value=None, description="Learner", style=_WIDE,
                                        layout=widgets.Layout(width="36em"))
        self.learner_heading = widgets.HTML()
        self.submission = widgets.HTML(layout=widgets.Layout(max_height="24em", overflow="auto",
                                                             border="1px solid #ccc", padding="0 8px"))
        self.points = {c.id: PointBlock(c, on_change=self._preview) for c in self.rubric.criteria}
        self.ticks = {k.id: widgets.Checkbox(value=False, description=k.id, indent=False,
                                             layout=widgets.Layout(width="6em")) for k in self.rubric.checks}
        checks = [widgets.HBox([self.ticks[k.id], widgets.HTML(f"<span>{html.escape(k.text)}</span>")])
                  for k in self.rubric.checks]
        self.outcome = widgets.HTML()
        self.save_button = widgets.Button(description="Save", icon="save", button_style="primary",
                                          tooltip="Save your marks, notes and ticks (you can change them until you submit)")
        self.submit_button = widgets.Button(description="Submit and lock", icon="lock",
                                            tooltip="Every marking point must be marked; submitted marking is locked")
        self.counterpart = widgets.HTML()
        self.save_button.on_click(lambda _b: self.save())
        self.submit_button.on_click(lambda _b: self.save(submit=True))
        self.work = widgets.VBox([
            self.learner_heading, widgets.HTML("<h2>The learner's work</h2>"), self.submission,
            widgets.HTML("<h2>Marking points</h2>"), *self.points.values(),
            widgets.HTML("<h2>Common misconceptions seen in this work</h2>"), *checks,
            self.outcome, widgets.HBox([self.save_button, self.submit_button]), self.counterpart])
        self.work.layout.display = "none"
        self.role.observe(lambda _c: self.refresh_markers(), "value")
        self.marker.observe(lambda _c: self.refresh_learners(), "value")
        self.learner.observe(lambda _c: None if self._quiet else self.open_learner(), "value")
        super().__init__([self.heading, self.intro, self.alert, self.role, self.marker, self.learner, self.work])
        self.refresh_markers()

    # -- callbacks: read widgets, call one service, show the result --------------------

    @reports_errors()
    def refresh_markers(self) -> None:
        if self.fixed_marker is not None:
            mine = [m for m in cohort_markers(cohort=self.cohort, url=self.url)
                    if self.fixed_marker.strip().lower() in (str(m.id), m.email)]
            options = [(mine[0].name, mine[0].email)] if mine else []
        else:
            options = [(f"{m.name} ({m.learners} learners, {m.submitted} submitted)", m.email)
                       for m in cohort_markers(cohort=self.cohort, role=self.role.value, url=self.url)]
        self.marker.options = options
        self.marker.value = options[0][1] if options else None
        if not options and self.fixed_marker is not None:
            self.alert.show("You have no learners to mark in this cohort. Ask the organiser if you expected some.",
                            "info")
        elif not options:
            self.alert.show(f"Nobody is marking as {'an assessor' if self.role.value == ASSESSOR else 'an IQA'} in "
                            "this cohort yet.", "info")
        self.refresh_learners()

    @reports_errors()
    def refresh_learners(self, keep: str | None = None) -> None:
        entries = [] if self.marker.value is None else marker_queue(
            marker=self.marker.value, role=self.role.value, cohort=self.cohort, url=self.url)
        self._quiet = True
        try:
            self.learner.options = [(f"{e.learner_id} {e.name} — {e.status}", e.reference) for e in entries]
            self.learner.value = keep if keep in {e.reference for e in entries} else None
        finally:
            self._quiet = False
        if keep is None:
            self.sheet = None
            self.work.layout.display = "none"
            if entries:
                self.alert.show(f"{len(entries)} learner(s) to mark. Choose one.", "info")
            elif self.marker.value is not None:
                self.alert.show("No learners are given to this marker in this role.", "info")

    @reports_errors()
    def open_learner(self) -> None:
        if self.learner.value is None:
            self.work.layout.display = "none"
            return
        self.show_sheet(marking_sheet(learner=self.learner.value, marker=self.marker.value, role=self.role.value,
                                      cohort=self.cohort, url=self.url))
        self.alert.clear()

    @reports_errors()
    def save(self, submit: bool = False) -> None:
        if self.sheet is None:
            self.alert.show("Choose a learner first.", "warning")
            return
        sheet = record_marking(
            learner=self.sheet.reference, marker=self.marker.value, role=self.role.value, cohort=self.cohort,
            url=self.url, rubric_hash=self.sheet.rubric_hash, submit=submit,
            marks={c: block.level.value for c, block in self.points.items()},
            notes={c: block.note.value for c, block in self.points.items()},
            ticks={k: box.value for k, box in self.ticks.items()})
        self.show_sheet(sheet)
        self.refresh_learners(keep=sheet.reference)
        marked = sum(1 for p in sheet.points if p.value is not None)
        if sheet.submitted:
            self.alert.show(f"Submitted and locked for {sheet.learner_id}. Outcome: {sheet.outcome} "
                            f"({sheet.outcome_reason})", "success")
        else:
            outcome = f" Outcome so far: {sheet.outcome}." if sheet.outcome else ""
            self.alert.show(f"Saved for {sheet.learner_id}: {marked} of {len(sheet.points)} marking points "
                            f"marked.{outcome}", "success")

    # -- rendering ------------------------------------------------------------------------

    def show_sheet(self, sheet: MarkingSheet) -> None:
        self.sheet = sheet
        locked = sheet.submitted
        self.learner_heading.value = (
            f"<h2>{html.escape(sheet.learner_id)} {html.escape(sheet.learner_name)}</h2><p>{sheet.word_count} "
            f"words. {'Submitted (locked).' if locked else 'Not submitted yet.'}</p>")
        self.submission.value = _paragraphs(sheet.submission)
        self._quiet = True
        try:
            for point in sheet.points:
                self.points[point.criterion].show(point.value, point.note, locked)
            for check in sheet.checks:
                self.ticks[check.check].value = check.ticked
                self.ticks[check.check].disabled = locked
        finally:
            self._quiet = False
        self.save_button.disabled = self.submit_button.disabled = locked
        self._preview()
        self.counterpart.value = self._counterpart_html(sheet)
        self.work.layout.display = None

    def _preview(self) -> None:
        if self._quiet:
            return
        result = self.rubric.outcome_for({c: b.level.value for c, b in self.points.items()})
        label = html.escape(result.label or "not yet decided")
        self.outcome.value = (f"<p role='status'><strong>Outcome: {label}</strong>. {html.escape(result.reason)}"
                              "</p>")

    def _counterpart_html(self, sheet: MarkingSheet) -> str:
        other = sheet.counterpart
        if other is None:
            return f"<p><em>{html.escape(sheet.counterpart_note)}</em></p>" if sheet.counterpart_note else ""
        who = "Assessor" if other.role == ASSESSOR else "IQA"
        rows = "".join(
            f"<tr><th scope='row'>{html.escape(p.criterion)}</th><td>{html.escape(mine.label)}</td>"
            f"<td>{html.escape(p.label)}</td><td>{html.escape(p.note)}</td></tr>"
            for mine, p in zip(sheet.points, other.points))
        return (f"<h2>{who}'s marking ({html.escape(other.marker)})</h2><table><thead><tr><th scope='col'>Marking "
                f"point</th><th scope='col'>You</th><th scope='col'>{who}</th><th scope='col'>{who}'s note</th></tr>"
                f"</thead><tbody>{rows}</tbody></table><p>{who}'s outcome: "
                f"<strong>{html.escape(other.outcome or 'none yet')}</strong>.</p>")
