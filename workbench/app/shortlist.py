"""The organiser's shortlist app (``notebooks/shortlist.ipynb``): aggregate, check, download.

The organiser chooses the aggregation (mean, median, trimmed mean), the scores (raw,
normalised, moderated), the rule (top N or a threshold, in the round or per category) and
whether to anonymise, then presses "Build shortlist". The app shows the shortlist with each
nomination's stability, the ties, the robustness scenarios, the equality check of the
nominee pool, and download links for the Excel workbook and the CSV files. Winners can be
recorded for the equality check.

**Organisers only**: the equality check is shown here and nowhere a judge can reach. The
server lets only the organiser link open this notebook, and the app itself refuses to start
for any other role. Every callback reads its widgets, calls one service and shows the result
or the error on screen.
"""

from __future__ import annotations

import html
from collections.abc import Mapping

import ipywidgets as widgets

from workbench.app import Alert, organiser_page, reports_errors
from workbench.app.moderate import download_link
from workbench.errors import WorkbenchError
from workbench.export import Bundle, ExportOptions, export_bundle
from workbench.shortlist import AGGREGATIONS, SOURCES, record_winners

ORGANISERS_ONLY = ("<div role='alert'><h1>Shortlist and export</h1><p>This page is for organisers. Open it from "
                   "the organiser link.</p></div>")
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_WIDE = {"description_width": "initial"}


def shortlist_app(environ: Mapping[str, str] | None = None):
    """The app for an organiser (or a local run without a role); a refusal for anyone else."""
    return organiser_page(environ, ShortlistView, ORGANISERS_ONLY)


def _fmt(value, digits: int = 2) -> str:
    if value is None or value != value:
        return "—"
    if isinstance(value, str):
        return html.escape(value)
    return f"{value:.{digits}f}"


def _pct(value) -> str:
    return "—" if value is None or value != value else f"{value:.0%}"


def _table(caption: str, headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th scope='col'>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return (f"<table><caption>{html.escape(caption)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>")


def shortlist_html(bundle: Bundle, *, anonymise: bool) -> str:
    shortlist = bundle.export.shortlist
    rows = []
    sheet = bundle.export.sheet("Shortlist")
    names = dict(zip(sheet.headers, range(len(sheet.headers))))
    for row in sheet.rows:
        cells = [html.escape(str(row[names["Rank"]])), html.escape(row[names["Nomination"]])]
        if not anonymise:
            cells.append(html.escape(str(row[names["Nominee"]] or "")))
        cells += [html.escape(str(row[names["Category"]] or "")), _fmt(row[names["Total"]]),
                  *(_fmt(row[names[c]]) for c in shortlist.criteria), _pct(row[names["Stability"]]),
                  html.escape(row[names["Note"]] or "")]
        rows.append(cells)
    headers = ["Rank", "Nomination", *([] if anonymise else ["Nominee"]), "Category", "Total", *shortlist.criteria,
               "Stability", "Note"]
    ties = "".join(f"<li>{html.escape(t)}</li>" for t in shortlist.ties) or "<li>No ties.</li>"
    excluded = "".join(f"<li>{html.escape(e['reference'])}: {html.escape(e['reason'])}</li>"
                       for e in shortlist.excluded)
    return (f"<h2>Shortlist</h2><p>{html.escape(shortlist.rule())} {html.escape(AGGREGATIONS[shortlist.aggregation])} "
            f"{html.escape(SOURCES[shortlist.source])} Stability is the share of the {len(shortlist.scenarios)} "
            "robustness scenarios in which the nomination stays on the shortlist.</p>"
            + _table(f"Shortlist ({len(rows)} nominations)", headers, rows)
            + f"<h3>Ties</h3><ul>{ties}</ul>"
            + (f"<h3>Not ranked or left out</h3><ul>{excluded}</ul>" if excluded else ""))


def robustness_html(bundle: Bundle) -> str:
    sheet = bundle.export.sheet("Robustness")
    if len(sheet.columns) < 6:
        return ""
    scenarios = sheet.headers[5:]
    rows = [[html.escape(str(r[1])), html.escape(str(r[3])), _pct(r[4]), *(html.escape(m) for m in r[5:])]
            for r in sheet.rows]
    return ("<h2>Robustness</h2><p>Whether each nomination is on the shortlist under the other aggregations, with "
            "and without normalisation, and with each judge left out in turn.</p>"
            + _table("In or out of the shortlist in each scenario", ["Nomination", "Shortlisted", "Stability",
                                                                     *scenarios], rows))


def equality_html(bundle: Bundle) -> str:
    check = bundle.export.equality
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in check.notes)
    flags = "".join(f"<li>{html.escape(f)}</li>" for f in check.flags) or "<li>No group is flagged.</li>"
    rows = [[html.escape(r.label), html.escape(r.group), _fmt(r.nominated, 0) if not isinstance(r.nominated, str)
             else html.escape(r.nominated), html.escape(str(r.shortlisted)), _pct(r.shortlist_rate),
             _fmt(r.shortlist_ratio), html.escape(str(r.winners)), _pct(r.win_rate), html.escape(r.flag)]
            for r in check.table.itertuples(index=False)]
    table = _table("Nominated, shortlisted and winners by group", [
        "Characteristic", "Group", "Nominated", "Shortlisted", "Shortlisting rate", "Ratio to highest", "Winners",
        "Win rate", "Flag"], rows) if rows else ""
    return (f"<h2>Equality check of the nominee pool (organisers only)</h2>{table}<h3>Four-fifths rule</h3>"
            f"<ul>{flags}</ul><h3>Notes</h3><ul>{notes}</ul>")


class ShortlistView(widgets.VBox):
    """Choices, the shortlist and its checks, and the downloads."""

    def __init__(self, *, url: str | None = None, round_name: str | None = None, build: bool = True):
        self.url, self.round_name = url, round_name
        self.bundle: Bundle | None = None
        self.alert = Alert()
        self.aggregation = widgets.Dropdown(description="Aggregation", style=_WIDE,
                                            options=[(f"{k}: {v}", k) for k, v in AGGREGATIONS.items()],
                                            layout=widgets.Layout(width="48em"))
        self.source = widgets.Dropdown(description="Scores", style=_WIDE,
                                       options=[(f"{k}: {v}", k) for k, v in SOURCES.items()],
                                       layout=widgets.Layout(width="48em"))
        self.rule = widgets.RadioButtons(description="Shortlist", style=_WIDE, value="top",
                                         options=[("The top N", "top"), ("Everyone at or above a total", "threshold")])
        self.top = widgets.BoundedIntText(value=10, min=1, max=100_000, description="N (how many)", style=_WIDE)
        self.threshold = widgets.FloatText(value=14.0, description="Threshold total", style=_WIDE, disabled=True)
        self.by = widgets.Dropdown(description="Within", style=_WIDE, value="round",
                                   options=[("the whole round", "round"), ("each category", "category")])
        self.anonymise = widgets.Checkbox(value=False, indent=False,
                                          description="Anonymise the downloads (no names; judges as Judge A, B…)")
        self.build_button = widgets.Button(description="Build shortlist", button_style="primary", icon="list",
                                           tooltip="Rank the nominations with these choices and prepare the "
                                                   "downloads")
        self.summary = widgets.HTML()
        self.robustness = widgets.HTML()
        self.equality = widgets.HTML()
        self.downloads = widgets.HTML()
        self.winners = widgets.SelectMultiple(description="Winners", options=[], rows=6, style=_WIDE)
        self.winners_button = widgets.Button(description="Record winners", icon="trophy",
                                             tooltip="Record the chosen nominations as winners (for the equality "
                                                     "check); replaces any earlier list")
        self.actor = widgets.Text(description="Your name", style=_WIDE)

        self.rule.observe(self._rule_changed, names="value")
        self.build_button.on_click(lambda _: self.build())
        self.winners_button.on_click(lambda _: self.save_winners())

        controls = widgets.VBox([self.aggregation, self.source, self.rule, self.top, self.threshold, self.by,
                                 self.anonymise, self.build_button])
        winners = widgets.VBox([widgets.HTML("<h2>Winners</h2><p>Once the committee has decided, record the winners "
                                             "so the equality check covers the last stage.</p>"),
                                self.winners, self.actor, self.winners_button])
        super().__init__([widgets.HTML("<h1>Shortlist and export</h1>"), self.alert, controls, self.downloads,
                          self.summary, self.robustness, self.equality, winners])
        if build:
            self.build()

    def _rule_changed(self, change) -> None:
        self.top.disabled = change["new"] != "top"
        self.threshold.disabled = change["new"] != "threshold"

    def options(self) -> ExportOptions:
        top = self.top.value if self.rule.value == "top" else None
        threshold = self.threshold.value if self.rule.value == "threshold" else None
        return ExportOptions(aggregation=self.aggregation.value, source=self.source.value, top=top,
                             threshold=threshold, by=self.by.value, anonymise=self.anonymise.value)

    @reports_errors()
    def build(self) -> None:
        self.alert.show("Building the shortlist…", "info")
        bundle = export_bundle(url=self.url, round_name=self.round_name, options=self.options())
        self.bundle = bundle
        anonymise = self.anonymise.value
        self.summary.value = shortlist_html(bundle, anonymise=anonymise)
        self.robustness.value = robustness_html(bundle)
        self.equality.value = equality_html(bundle)
        self.downloads.value = (
            "<h2>Downloads</h2><p>"
            + download_link(bundle.xlsx, filename=f"{bundle.filename}.xlsx", mime=XLSX_MIME,
                            label="Download the Excel workbook")
            + " · "
            + download_link(bundle.csv_zip, filename=f"{bundle.filename}-csv.zip", mime="application/zip",
                            label="Download every sheet as CSV (zip)")
            + f"</p><p>Data as of {bundle.export.as_of:%d %b %Y %H:%M} UTC"
            + (". Anonymised." if anonymise else ".") + "</p>")
        ranking = bundle.export.shortlist.ranking
        shortlisted = ranking[ranking["shortlisted"]]
        chosen = set(self.winners.value)
        self.winners.options = [(r, n) for r, n in zip(shortlisted["reference"], shortlisted["nomination"])]
        self.winners.value = tuple(n for n in shortlisted["nomination"] if n in chosen)
        if not len(ranking):
            self.alert.show("This round has no nominations yet, so there is nothing to shortlist. Import the "
                            "nominations first.", "warning")
            return
        self.alert.show(f"Shortlist built: {len(shortlisted)} of {len(ranking)} nominations. The downloads are "
                        "ready.", "success")

    @reports_errors()
    def save_winners(self) -> None:
        from workbench.panel import get_round
        from workbench.store import session_scope

        if not self.winners.value:
            raise WorkbenchError("Choose one or more winners from the shortlist first.")
        if not self.actor.value.strip():
            raise WorkbenchError("Give your name: recording winners is kept in the audit trail.")
        references = [label for label, n in self.winners.options if n in set(self.winners.value)]
        with session_scope(self.url) as s:
            record_winners(s, round_=get_round(s, self.round_name), references=references,
                           actor=self.actor.value.strip())
        self.build()
        self.alert.show(f"Winners recorded: {', '.join(references)}. The equality check and the downloads now "
                        "include them.", "success")
