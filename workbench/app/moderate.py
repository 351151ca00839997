"""The moderation app (``notebooks/moderate.ipynb``): resolve flagged nominations, on the record.

The moderator picks a flagged nomination from the queue, reads why it was flagged, the answer
to each question and the judges' scores and comments side by side, then records a moderated
score (or "no change") for a question with a reason code and a written rationale. Each
decision is stored as an event (:func:`workbench.moderation.record_decision`); the audit trail
below shows every decision with the value before and after, who, when and why, and can be
downloaded as CSV.

No nominee identity and no equality-monitoring answers are shown here. Every callback reads
its widgets, calls one service and shows the result or the error on screen.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping

import ipywidgets as widgets

from workbench.app import Alert, organiser_page, reports_errors
from workbench.errors import NotAllowed
from workbench.moderation import (
    REASON_CODES,
    audit_trail,
    moderation_queue,
    nomination_for_moderation,
    record_decision,
)
from workbench.panel import get_round
from workbench.store import session_scope

ORGANISERS_ONLY = ("<div role='alert'><h1>Moderation</h1><p>This page is for moderators and organisers. Open it "
                   "from the organiser link.</p></div>")
_WIDE = {"description_width": "initial"}


def moderation_app(environ: Mapping[str, str] | None = None):
    """The app for an organiser (or a local run without a role); a refusal for anyone else."""
    return organiser_page(environ, ModerationView, ORGANISERS_ONLY)


def _fmt(value) -> str:
    if value is None or value != value:
        return "—"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _paragraphs(text: str) -> str:
    parts = [p.strip() for p in (text or "").split("\n\n") if p.strip()]
    if not parts:
        return "<p><em>No answer was given to this question.</em></p>"
    return "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in parts)


def nomination_html(view: dict) -> str:
    """Flags, then each question: the answer beside the judges' scores and comments."""
    open_reasons = {f.reason for f in view["open_flags"]}
    flags = "".join(
        f"<li>{html.escape(f.reason)}{'' if f.reason in open_reasons else ' <strong>(resolved)</strong>'}</li>"
        for f in view["flags"]) or "<li>No flags.</li>"
    parts = [f"<h2>{html.escape(view['reference'])}</h2><h3>Why it is in the queue</h3><ul>{flags}</ul>"]
    for c in view["criteria"]:
        rows = "".join(
            f"<tr><td>{html.escape(g['judge'])}</td><td>{_fmt(g['score'])}</td>"
            f"<td>{html.escape(g['comment']) or '<em>no comment</em>'}</td></tr>" for g in c["scores"])
        decision = c["decision"]
        moderated = (f"Moderated: {_fmt(decision.after)}" + (" (no change)" if decision.no_change else "")
                     + f" by {html.escape(decision.moderator)}, {decision.at:%d %b %Y %H:%M} UTC "
                     f"({html.escape(decision.reason_code)})") if decision else "Not moderated yet"
        parts.append(
            f"<section class='workbench-criterion'><h3>{html.escape(c['id'])}. {html.escape(c['title'])}</h3>"
            f"<div style='display:flex;gap:1.5em;flex-wrap:wrap'>"
            f"<div style='flex:1 1 28em;max-width:48em'><h4>The answer</h4>{_paragraphs(c['answer'])}</div>"
            f"<div style='flex:1 1 24em'><table><caption>Judges' scores on {html.escape(c['id'])} "
            f"(scale {html.escape(c['scale'].describe())})</caption><thead><tr><th scope='col'>Judge</th>"
            f"<th scope='col'>Score</th><th scope='col'>Comment</th></tr></thead><tbody>{rows}</tbody></table>"
            f"<p>Mean: {_fmt(c['mean'])}. {moderated}.</p></div></div></section>")
    return "".join(parts)


def trail_html(trail) -> str:
    if not len(trail):
        return "<h2>Audit trail</h2><p>No decisions recorded yet.</p>"
    rows = "".join(
        f"<tr><td>{r.decision_id}</td><td>{html.escape(r.reference)}</td><td>{html.escape(r.criterion)}</td>"
        f"<td>{_fmt(r.before)}</td><td>{_fmt(r.after)}{' (no change)' if r.no_change else ''}</td>"
        f"<td>{html.escape(r.moderator)}</td><td>{r.at:%Y-%m-%d %H:%M}</td><td>{html.escape(r.reason_code)}</td>"
        f"<td>{html.escape(r.rationale)}</td></tr>" for r in trail.iloc[::-1].itertuples(index=False))
    return ("<h2>Audit trail</h2><table><caption>Every moderation decision, newest first (times in UTC)</caption>"
            "<thead><tr>" + "".join(f"<th scope='col'>{h}</th>" for h in (
                "Decision", "Nomination", "Criterion", "Before", "After", "Moderator", "When", "Reason",
                "Rationale")) + f"</tr></thead><tbody>{rows}</tbody></table>")


def download_link(data: bytes, *, filename: str, mime: str, label: str) -> str:
    """An HTML link that downloads ``data`` (a data: URI, so nothing is written on the server)."""
    encoded = base64.b64encode(data).decode("ascii")
    return (f'<a download="{html.escape(filename)}" href="data:{mime};base64,{encoded}" '
            f'class="workbench-download">{html.escape(label)}</a>')


class ModerationView(widgets.VBox):
    """The queue, one nomination side by side, the decision form and the audit trail."""

    def __init__(self, *, url: str | None = None, round_name: str | None = None, moderator: str = ""):
        self.url, self.round_name = url, round_name
        self.round_label = ""
        self.criteria: list[tuple[str, str]] = []
        self.levels: dict[str, list[tuple[str, int]]] = {}
        self.alert = Alert()
        self.show_resolved = widgets.Checkbox(value=False, description="Show resolved nominations too",
                                              indent=False)
        self.queue = widgets.Select(options=[], description="Flagged nominations", rows=8, style=_WIDE,
                                    layout=widgets.Layout(width="32em"))
        self.refresh_button = widgets.Button(description="Refresh queue", icon="refresh",
                                             tooltip="Read the latest scores and decisions")
        self.detail = widgets.HTML()
        self.criterion = widgets.Dropdown(description="Question", options=[], style=_WIDE)
        self.outcome = widgets.RadioButtons(options=[("Set a moderated score", "score"),
                                                     ("No change: the judges' scores stand", "no_change")],
                                            value="score", description="Decision", style=_WIDE,
                                            layout=widgets.Layout(width="auto"))
        self.score = widgets.Dropdown(description="Moderated score", options=[], style=_WIDE)
        self.reason = widgets.Dropdown(description="Reason", options=[(f"{c}: {t}", c) for c, t in
                                                                      REASON_CODES.items()],
                                       style=_WIDE, layout=widgets.Layout(width="60em"))
        self.rationale = widgets.Textarea(description="Rationale", placeholder="Why: what in the answer or the "
                                          "panel discussion supports this decision", style=_WIDE,
                                          layout=widgets.Layout(width="60em", height="5em"))
        self.moderator = widgets.Text(value=moderator, description="Your name (moderator)", style=_WIDE)
        self.record_button = widgets.Button(description="Record decision", button_style="primary", icon="check",
                                            tooltip="Store the decision with the reason; it is added to the audit "
                                                    "trail and cannot be edited")
        self.trail = widgets.HTML()
        self.download = widgets.HTML()
        self.heading = widgets.HTML("<h1>Moderation</h1>")

        self.refresh_button.on_click(lambda _: self.refresh())
        self.show_resolved.observe(lambda _: self.refresh(), names="value")
        self.queue.observe(lambda change: self.show(change["new"]), names="value")
        self.criterion.observe(lambda _: self._levels(), names="value")
        self.outcome.observe(lambda change: setattr(self.score, "disabled", change["new"] == "no_change"),
                             names="value")
        self.record_button.on_click(lambda _: self.record())

        form = widgets.VBox([widgets.HTML("<h2>Record a decision</h2>"), self.criterion, self.outcome, self.score,
                             self.reason, self.rationale, self.moderator, self.record_button])
        super().__init__([self.heading, self.alert, widgets.HBox([self.queue, widgets.VBox(
            [self.show_resolved, self.refresh_button])]), self.detail, form, self.trail, self.download])
        self.refresh()

    # -- callbacks --------------------------------------------------------------------

    @reports_errors()
    def refresh(self) -> None:
        """Reload the queue and the audit trail; keep the chosen nomination if it is still listed."""
        with session_scope(self.url) as s:
            round_ = get_round(s, self.round_name)
            self.round_label = round_.name
            items = moderation_queue(s, round_=round_, include_resolved=self.show_resolved.value)
            trail = audit_trail(s, round_=round_)
        current = self.queue.value
        self.queue.options = [(item.summary(), item.nomination_id) for item in items]
        self.heading.value = f"<h1>Moderation: {html.escape(self.round_label)}</h1>"
        self._show_trail(trail)
        if not items:
            self.detail.value = ""
            self.alert.show("Nothing to moderate: no nomination has an open flag." if not self.show_resolved.value
                            else "No nomination has been flagged.", "info")
            return
        self.alert.clear()
        ids = [item.nomination_id for item in items]
        self.queue.value = current if current in ids else ids[0]
        if self.queue.value == current:
            self.show(current)

    @reports_errors()
    def show(self, nomination_id: int | None) -> None:
        if nomination_id is None:
            self.detail.value = ""
            return
        with session_scope(self.url) as s:
            view = nomination_for_moderation(s, round_=get_round(s, self.round_name), nomination_id=nomination_id)
        self.detail.value = nomination_html(view)
        self.levels = {c["id"]: [(f"{lv.value} – {lv.label}", lv.value) for lv in c["scale"].levels]
                       for c in view["criteria"]}
        flagged = [f.criterion for f in view["open_flags"] if f.criterion]
        options = [(f"{c['id']}. {c['title']}", c["id"]) for c in view["criteria"]]
        keep = self.criterion.value
        self.criterion.options = options
        ids = [c["id"] for c in view["criteria"]]
        self.criterion.value = keep if keep in ids and keep in flagged else (flagged[0] if flagged else ids[0])
        self._levels()

    def _levels(self) -> None:
        levels = self.levels.get(self.criterion.value, [])
        keep = self.score.value
        self.score.options = levels
        values = [v for _, v in levels]
        self.score.value = keep if keep in values else (values[len(values) // 2] if values else None)

    @reports_errors()
    def record(self) -> None:
        if self.queue.value is None:
            raise NotAllowed("Choose a nomination from the queue first.")
        no_change = self.outcome.value == "no_change"
        with session_scope(self.url) as s:
            decision = record_decision(
                s, round_=get_round(s, self.round_name), nomination_id=self.queue.value,
                criterion_id=self.criterion.value, after=None if no_change else self.score.value,
                no_change=no_change, reason_code=self.reason.value, rationale=self.rationale.value,
                moderator=self.moderator.value)
        self.rationale.value = ""
        self.refresh()
        self.show(self.queue.value)
        self.alert.show(f"Decision recorded: {decision.describe()}", "success")

    # -- rendering --------------------------------------------------------------------

    def _show_trail(self, trail) -> None:
        from workbench.export import moderation_log_sheet, render_csv

        self.trail.value = trail_html(trail)
        if not len(trail):
            self.download.value = ""
            return
        text = io.StringIO(newline="")
        render_csv(moderation_log_sheet(trail), text)
        self.download.value = download_link(("\ufeff" + text.getvalue()).encode("utf-8"),
                                            filename="moderation-audit-trail.csv", mime="text/csv",
                                            label="Download the audit trail (CSV)")
