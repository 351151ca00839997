"""The organiser's landing page: what is in the round and how far judging has got."""

from __future__ import annotations

import html

import ipywidgets as widgets

from workbench.app import Alert, reports_errors
from workbench.panel import get_round, round_summary
from workbench.store import session_scope

APPS = [
    ("import.ipynb", "Import nominations", "Upload a Forms export, check the mapping and the report."),
    ("judge.ipynb", "Score nominations", "Judges open this from their personal link."),
    ("agreement.ipynb", "Judge agreement", "Reliability per question, judge severity, disagreements."),
    ("moderate.ipynb", "Moderation", "Resolve flagged nominations, with an audit trail."),
    ("shortlist.ipynb", "Shortlist and export", "Aggregate, check robustness and equality, download Excel."),
    ("unit_marking.ipynb", "Unit marking", "Assessors mark the EDI unit; IQA second-marks a sample."),
]


class OverviewView(widgets.VBox):
    """Round summary and judge progress, read from the database at ``url``."""

    def __init__(self, *, url: str | None = None, round_name: str | None = None):
        self.url, self.round_name = url, round_name
        self.alert = Alert()
        self.summary = widgets.HTML()
        self.progress = widgets.HTML()
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh",
                                             tooltip="Read the latest progress from the database")
        self.refresh_button.on_click(lambda _: self.refresh())
        links = "".join(f'<li><a href="{file}">{html.escape(title)}</a>: {html.escape(text)}</li>'
                        for file, title, text in APPS)
        self.apps = widgets.HTML(f"<h2>Apps</h2><ul>{links}</ul>")
        super().__init__([self.alert, self.summary,
                          self.progress, self.refresh_button, self.apps])
        self.refresh()

    @reports_errors()
    def refresh(self) -> None:
        with session_scope(self.url) as s:
            data = round_summary(s, round_=get_round(s, self.round_name))
        self.alert.clear()
        done = f"{data['submitted']} of {data['assigned']}"
        self.summary.value = (
            f"<h2>{html.escape(data['round'])}</h2><p>Rubric: {html.escape(data['rubric'])}. "
            f"{data['nominations']} nominations, {data['judges_per_nomination']} judges each, "
            f"{data['conflicts']} conflicts of interest recorded. Scoresheets submitted: {done}.</p>")
        rows = "".join(
            f"<tr><td>{html.escape(j['judge'])}</td><td>{html.escape(j['organisation'])}</td>"
            f"<td>{j['assigned']}</td><td>{j['submitted']}</td></tr>" for j in data["judges"])
        self.progress.value = ("<table><caption>Progress by judge</caption><thead><tr><th scope='col'>Judge</th>"
                               "<th scope='col'>Organisation</th><th scope='col'>Assigned</th>"
                               f"<th scope='col'>Submitted</th></tr></thead><tbody>{rows}</tbody></table>")
