"""The import page (``notebooks/import.ipynb``): upload, preview, confirm the mapping, import.

Each callback reads the widgets, calls one service function from
:mod:`workbench.intake.importing`, and shows the result, or the error, on screen
(:func:`workbench.app.reports_errors`). Nothing here decides anything about the data.
"""

from __future__ import annotations

import html
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from workbench.app import Alert, reports_errors
from workbench.errors import WorkbenchError
from workbench.intake.importing import ImportReport, Preview, import_nominations, preview
from workbench.intake.mapping import CHECK_CONFIDENCE, ColumnMapping, load_mapping
from workbench.intake.reading import EXCEL_SUFFIXES, sheet_names
from workbench.rubric import available_rubrics

KEEP_AS_EXTRA = "(not mapped: keep as extra data)"
DUPLICATE_CHOICES = [
    ("Decide later: import all, marked 'duplicate-pending'", None),
    ("Keep the newer nomination", "newer"),
    ("Keep the older nomination", "older"),
    ("Keep both", "both"),
]
PREVIEW_CELL_CHARS = 120


def _cell(text: Any) -> str:
    text = str(text)
    short = text if len(text) <= PREVIEW_CELL_CHARS else text[:PREVIEW_CELL_CHARS] + "…"
    return html.escape(short).replace("\n", "<br>")


def _table(caption: str, headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th scope='col'>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    return (f"<table class='wb-table'><caption>{html.escape(caption)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>")


def report_html(report: ImportReport) -> str:
    """The report as HTML: summary, duplicates, skipped rows and warnings (answers not shown)."""
    parts = [f"<p>{html.escape(report.summary())}</p>"]
    if report.duplicates:
        parts.append(_table("Nominated more than once", ["Nominee", "Rows", "Newer row", "Decision", "What to do"],
                            [[d.nominee, ", ".join(map(str, d.rows)), d.newest.row, d.decision, d.message]
                             for d in report.duplicates]))
    if report.changes:
        parts.append(_table("What changed", ["Nomination", "Row", "Field", "Before", "After"],
                            [[c.nomination, c.row, c.field, c.before, c.after] for c in report.changes]))
    if report.skipped:
        parts.append(_table("Rows not imported", ["Row", "Reason"], [[s.row, s.reason] for s in report.skipped]))
    if report.warnings:
        parts.append(_table("Warnings", ["Row", "Column", "Question", "Message"],
                            [[w.row or "", w.column or "", w.criterion or "", w.message] for w in report.warnings]))
    if report.missing_from_file:
        parts.append(_table("Imported earlier but not in this file (kept)", ["Nomination", "Was row"],
                            [[m["nomination"], m["row"]] for m in report.missing_from_file]))
    for note in report.notes:
        parts.append(f"<p><em>{html.escape(note)}</em></p>")
    return "".join(parts)


class ImportView(widgets.VBox):
    """Upload a nominations spreadsheet, check it, confirm the column mapping and import it."""

    def __init__(self, *, url: str | None = None, rubric: str | None = None, round_name: str | None = None):
        self.url = url
        self.path: Path | None = None
        self.result: Preview | None = None
        self.mapping: ColumnMapping | None = None
        self.saved_mapping = None
        self.report: ImportReport | None = None
        self._folder = tempfile.mkdtemp(prefix="workbench-import-")  # removed with the view
        weakref.finalize(self, shutil.rmtree, self._folder, True)
        self._building = False

        rubrics = available_rubrics()
        self.alert = Alert()
        self.rubric = widgets.Dropdown(options=rubrics, description="Rubric",
                                       value=rubric or ("inclusive-leader" if "inclusive-leader" in rubrics
                                                        else (rubrics[0] if rubrics else None)))
        self.round = widgets.Text(value=round_name or "", description="Round",
                                  placeholder="e.g. Inclusive Leader 2026 (default: the rubric's name)")
        self.upload = widgets.FileUpload(accept=",".join(sorted(EXCEL_SUFFIXES | {".csv"})), multiple=False,
                                         description="Nominations file")
        self.mapping_upload = widgets.FileUpload(accept=".yaml,.yml", multiple=False,
                                                 description="Saved mapping (optional)")
        self.sheet = widgets.Dropdown(options=[], description="Sheet", disabled=True)
        self.preview_table = widgets.HTML()
        self.mapping_box = widgets.VBox()
        self.check_button = widgets.Button(description="Check again", icon="refresh", disabled=True,
                                           tooltip="Re-check the file with the mapping as you have set it")
        self.duplicates = widgets.Dropdown(options=DUPLICATE_CHOICES, value=None, description="Duplicates",
                                           style={"description_width": "initial"})
        self.report_html = widgets.HTML()
        self.import_button = widgets.Button(description="Import", icon="upload", button_style="primary",
                                            disabled=True, tooltip="Import the nominations into the round")
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="Progress", bar_style="info")
        self.result_html = widgets.HTML()
        #: One dropdown per column (by letter): what the column holds.
        self.dropdowns: dict[str, widgets.Dropdown] = {}

        self.upload.observe(lambda _: self.load_file(), names="value")
        self.mapping_upload.observe(lambda _: self.load_saved_mapping(), names="value")
        self.sheet.observe(lambda _: self._recheck(), names="value")
        self.rubric.observe(lambda _: self._recheck(), names="value")
        self.check_button.on_click(lambda _: self.check())
        self.import_button.on_click(lambda _: self.run_import())
        super().__init__([
            widgets.HTML("<h1>Import nominations</h1><p>Upload the Excel or CSV file from Microsoft Forms, Google "
                         "Forms or your own sheet. Check the columns and the report, then import. Importing the "
                         "same file again changes nothing; a corrected file updates what changed.</p>"),
            self.alert, widgets.HBox([self.rubric, self.round]), widgets.HBox([self.upload, self.mapping_upload]),
            self.sheet, widgets.HTML("<h2>First rows</h2>"), self.preview_table,
            widgets.HTML("<h2>Columns</h2>"), self.mapping_box, self.check_button,
            widgets.HTML("<h2>Report</h2>"), self.report_html, self.duplicates,
            widgets.HBox([self.import_button, self.progress]), self.result_html,
        ])

    def __repr__(self) -> str:
        return "ImportView(upload a nominations file to begin)"

    # --- callbacks

    @reports_errors()
    def load_file(self) -> None:
        """Keep the uploaded file, list its sheets and check it."""
        if not self.upload.value:
            return
        item = self.upload.value[0]
        name = Path(item["name"]).name or "upload"
        if self.path is not None:
            self.path.unlink(missing_ok=True)
        self.path = Path(self._folder) / name
        self.path.write_bytes(bytes(item["content"]))
        self.mapping = self.result = self.report = None
        self._building = True
        try:
            sheets = sheet_names(self.path) if self.path.suffix.lower() in EXCEL_SUFFIXES else []
            self.sheet.options = [("(choose automatically)", None)] + [(s, s) for s in sheets] if sheets else []
            self.sheet.value = None
            self.sheet.disabled = not sheets
        finally:
            self._building = False
        self.check()

    @reports_errors()
    def load_saved_mapping(self) -> None:
        """Use a mapping saved last time (``workbench import nominations --save-mapping``)."""
        if not self.mapping_upload.value:
            return
        item = self.mapping_upload.value[0]
        path = Path(self._folder) / f"mapping-{Path(item['name']).name}"
        path.write_bytes(bytes(item["content"]))
        self.saved_mapping = load_mapping(path)
        self.mapping = None
        if self.path:
            self.check()
        else:
            self.alert.show("Saved mapping loaded; now upload the nominations file.", "info")

    @reports_errors()
    def check(self) -> None:
        """Preview the file with the current mapping and show the report (nothing is imported)."""
        if self.path is None:
            raise WorkbenchError("Upload a nominations file first.")
        mapping = self._mapping_from_widgets() or self.saved_mapping
        self.result_html.value = ""
        self.progress.value, self.progress.bar_style = 0, "info"
        self.result = preview(self.path, rubric=self.rubric.value, sheet=self.sheet.value, mapping=mapping,
                              progress=self._on_progress)
        self.mapping = self.result.mapping
        self.report = self.result.report
        self._show_preview(self.result)
        self._show_mapping(self.result.mapping)
        self.report_html.value = report_html(self.result.report)
        self.import_button.disabled = False
        self.check_button.disabled = False
        questions = [t for t in self.result.mapping.targets if t.group == "criterion"]
        if len(self.result.mapping.missing("criterion")) == len(questions):
            self.alert.show(f"No column in {self.result.file} matches any question of the rubric "
                            f"{self.rubric.value!r}. Choose the answer columns below, or check the file, sheet and "
                            "rubric.", "warning")
            return
        pending = len(self.result.report.warnings)
        self.alert.show(f"Checked {self.result.file}: {self.result.report.nominations} nominations, {pending} "
                        "warnings. Look at the columns and the report, then import.", "info")

    @reports_errors()
    def run_import(self) -> None:
        """Import with the mapping shown on screen; show what was imported and what changed."""
        if self.path is None or self.mapping is None:
            raise WorkbenchError("Upload a nominations file and check it before importing.")
        mapping = self._mapping_from_widgets() or self.mapping
        choice = {"keep": self.duplicates.value} if self.duplicates.value else None
        self.progress.value, self.progress.bar_style = 0, "info"
        self.import_button.disabled = True
        try:
            self.report = import_nominations(path=self.path, rubric=self.rubric.value, url=self.url,
                                             round=self.round.value.strip() or None, sheet=self.sheet.value,
                                             mapping=mapping, duplicates=choice, progress=self._on_progress)
        finally:
            self.import_button.disabled = False
        self.progress.bar_style = "success"
        self.report_html.value = report_html(self.report)
        self.result_html.value = f"<p><strong>{html.escape(self.report.summary())}</strong></p>"
        self.alert.show(f"Imported into round {self.report.round!r}: {self.report.imported} new, "
                        f"{self.report.updated} updated, {self.report.unchanged} unchanged.", "success")

    # --- helpers (display only)

    def _recheck(self) -> None:
        """Another sheet or rubric: its columns are matched afresh."""
        if self.path is None or self._building:
            return
        self.mapping, self.dropdowns = None, {}
        self.check()

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.max = max(1, total)
        self.progress.value = min(done, self.progress.max)

    def _mapping_from_widgets(self) -> ColumnMapping | None:
        if self.mapping is None or not self.dropdowns:
            return None
        changes = {}
        for match in self.mapping.matches:
            dropdown = self.dropdowns.get(match.column)
            if dropdown is not None and dropdown.value != match.target:
                changes[match.column] = dropdown.value
        return self.mapping.override(changes) if changes else self.mapping

    def _show_preview(self, result: Preview) -> None:
        headers = ["Row", *[c["header"] for c in result.columns]]
        rows = [[r["row"], *r["values"].values()] for r in result.rows]
        where = f"sheet {result.sheet!r}, " if result.sheet else ""
        self.preview_table.value = _table(f"{result.file}: {where}header in row {result.header_row}", headers, rows)

    def _show_mapping(self, mapping: ColumnMapping) -> None:
        options = [(KEEP_AS_EXTRA, None)] + [(t.label, t.id) for t in mapping.targets]
        self.dropdowns = {}
        rows = []
        for match in mapping.matches:
            if match.merged_from:
                rows.append(widgets.HTML(f"<b>{match.column}</b> {html.escape(match.header)}: joined with column "
                                         f"{match.merged_from} (merged header)"))
                continue
            dropdown = widgets.Dropdown(options=options, value=match.target, layout=widgets.Layout(width="26em"),
                                        description=f"{match.column}", style={"description_width": "2em"})
            self.dropdowns[match.column] = dropdown
            if match.target is None:
                how = ""
            elif match.source == "auto":
                weak = " — please check" if match.confidence < CHECK_CONFIDENCE else ""
                how = f"confidence {match.confidence:.2f}{weak}"
            else:
                how = match.source
            rows.append(widgets.HBox([dropdown, widgets.HTML(f"{html.escape(match.header[:90])} "
                                                             f"<small>{html.escape(how)}</small>")]))
        self.mapping_box.children = rows
