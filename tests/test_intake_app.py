"""The import page, driven headlessly: set widget values, click, assert on the screen and the database."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from intake_files import FORMS_HEADER, forms_row, write_csv, write_xlsx
from workbench.intake.app import ImportView
from workbench.store import Nomination, session_scope

# Every Excel case runs twice: loaded by columns (fastexcel) and cell by cell (python-calamine).
pytestmark = pytest.mark.usefixtures("excel_lane")

AL = ("Al Jones", "al.jones@nhs.example")


def upload(widget, path):
    content = path.read_bytes()
    widget.value = ({"name": path.name, "type": "", "size": len(content), "content": memoryview(content),
                     "last_modified": datetime(2026, 3, 1)},)


@pytest.fixture
def forms_file(tmp_path):
    rows = [FORMS_HEADER,
            forms_row(1, datetime(2026, 3, 1, 9, 0), AL, "Zoë Ní Bhriain", q1="Line one\nLine two 😀"),
            forms_row(2, datetime(2026, 3, 2, 9, 0), AL, "Zoe Ni Bhriain", q3="-"),
            forms_row(3, datetime(2026, 3, 3, 9, 0), AL, "Kwame Mensah")]
    return write_xlsx(tmp_path / "forms.xlsx", rows, other_sheets={"Notes": [["read me"]]}, first_sheet_blank=True)


def test_upload_previews_maps_and_reports_without_importing(forms_file, sqlite_url):
    view = ImportView(url=sqlite_url)

    upload(view.upload, forms_file)

    assert view.sheet.options == (("(choose automatically)", None), ("Notes", "Notes"), ("Form1", "Form1"))
    assert view.result.sheet == "Form1"
    assert "Zoë Ní Bhriain" in view.preview_table.value
    assert "Line one<br>Line two 😀" in view.preview_table.value
    assert {c: d.value for c, d in view.dropdowns.items()}["K"] == "Q1"
    assert view.alert.kind == "info"
    assert view.alert.text == ("Checked forms.xlsx: 3 nominations, 5 warnings. Look at the columns and the report, "
                               "then import.")
    assert "Nominated more than once" in view.report_html.value
    assert view.import_button.disabled is False
    with session_scope(sqlite_url) as s:
        assert s.scalars(select(Nomination)).all() == []


def test_override_in_a_dropdown_is_checked_and_imported(forms_file, sqlite_url):
    view = ImportView(url=sqlite_url, round_name="IL 2026")
    upload(view.upload, forms_file)

    view.dropdowns["Q"].value = "submission.category"  # "Anything else?" holds the award category
    view.check_button.click()
    view.duplicates.value = "newer"
    view.import_button.click()

    assert view.mapping.target_for("Q") == "submission.category"
    assert view.alert.kind == "success"
    assert view.alert.text == "Imported into round 'IL 2026': 3 new, 0 updated, 0 unchanged."
    assert (view.progress.value, view.progress.max, view.progress.bar_style) == (3, 3, "success")
    with session_scope(sqlite_url) as s:
        assert [(n.reference, n.status) for n in s.scalars(select(Nomination).order_by(Nomination.id))] == [
            ("N0001", "superseded"), ("N0002", "active"), ("N0003", "active")]
    assert "Anything else?" not in [m.header for m in view.report.mapping.unmapped]


def test_errors_are_shown_on_screen(tmp_path, sqlite_url):
    view = ImportView(url=sqlite_url)

    view.import_button.click()
    first = (view.alert.kind, view.alert.text)
    bad = tmp_path / "nominations.csv"
    write_csv(bad, [["Judge", "Room"], ["Ann", "4"]])
    upload(view.upload, bad)
    checked = (view.alert.kind, view.alert.text)
    view.import_button.click()

    assert first == ("error", "Upload a nominations file and check it before importing.")
    assert checked == ("warning", "No column in nominations.csv matches any question of the rubric "
                                  "'inclusive-leader'. Choose the answer columns below, or check the file, sheet "
                                  "and rubric.")
    assert view.alert.kind == "error"
    assert view.alert.text.startswith("No column in nominations.csv matches any question of the rubric")
    with session_scope(sqlite_url) as s:
        assert s.scalars(select(Nomination)).all() == []


def test_a_saved_mapping_can_be_uploaded_first(tmp_path, forms_file, sqlite_url):
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("rubric: inclusive-leader\ncolumns:\n  Anything else?: Q4\n", encoding="utf-8")
    view = ImportView(url=sqlite_url)

    upload(view.mapping_upload, mapping)
    waiting = view.alert.text
    upload(view.upload, forms_file)

    assert waiting == "Saved mapping loaded; now upload the nominations file."
    assert view.mapping.target_for("Q") == "Q4"
    assert [m.source for m in view.mapping.matches if m.column == "Q"] == ["saved"]
