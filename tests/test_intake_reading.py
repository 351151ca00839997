"""Readers: encodings, headers, blank rows, merged headers, dates, formulas and text kept verbatim."""

from __future__ import annotations

from datetime import datetime

import pytest

from intake_files import write_csv, write_xlsx
from workbench.errors import NotFound
from workbench.intake.reading import FormulaText, SpreadsheetError, clean_header, detect_encoding, open_table

# Every Excel case runs twice: loaded by columns (fastexcel) and cell by cell (python-calamine).
pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning"), pytest.mark.usefixtures("excel_lane")]

TRICKY = ["=SUM(A1)", "+44 7700 900123", "-", "@all", "007", "1e5", "Zoë Ní Bhriain 😀", "line one\nline two"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig"])
def test_csv_utf8_round_trips_every_character(tmp_path, encoding):
    rows = [["Name", "Answer"], *[["Zoë", t] for t in TRICKY]]
    path = write_csv(tmp_path / "form.csv", rows, encoding=encoding)

    table = open_table(path)

    assert table.encoding == encoding
    assert [c.header for c in table.columns] == ["Name", "Answer"]
    assert [values for _, values in table.rows()] == [["Zoë", t] for t in TRICKY]


def test_csv_windows_1252_is_detected_not_misread(tmp_path):
    rows = [["Nominee", "Answer"], ["Siobhán O’Neill", "Raised £2,000 – and €300 — for the café"]]
    path = write_csv(tmp_path / "form.csv", rows, encoding="cp1252")

    table = open_table(path)

    assert table.encoding == "cp1252"
    assert list(table.rows()) == [(2, ["Siobhán O’Neill", "Raised £2,000 – and €300 — for the café"])]


def test_csv_utf8_with_a_late_accent_is_still_utf8(tmp_path):
    rows = [["Nominee", "Answer"], *[["A", "plain"]] * 5000, ["Zoë", "naïve café"]]
    path = write_csv(tmp_path / "form.csv", rows)

    assert detect_encoding(path) == "utf-8"
    assert list(open_table(path).rows())[-1] == (5002, ["Zoë", "naïve café"])


def test_csv_in_no_known_encoding_says_how_to_fix(tmp_path):
    path = tmp_path / "form.csv"
    path.write_bytes(b"Name,Answer\nA,\x81\x8d\x90\n")

    with pytest.raises(SpreadsheetError, match="neither UTF-8 nor Windows-1252.*CSV UTF-8"):
        open_table(path)


def test_an_undecodable_byte_past_the_first_megabyte_is_located(tmp_path):
    path = tmp_path / "form.csv"
    head = b"Name,Answer\n" + b"A,plain\n" * 200_000  # 1.6 MB, so the byte is in the second chunk read
    path.write_bytes(head + b"B,\x81\n")

    with pytest.raises(SpreadsheetError, match=f"near position {len(head) + 2}\\)"):
        detect_encoding(path)


def test_csv_semicolon_delimiter_and_header_cleaning(tmp_path):
    rows = [["Nominee\u00a0name  ", "Q1\nanswer", " Email "], ["Ann", "Yes; really", "a@x.org"]]
    path = write_csv(tmp_path / "form.csv", rows, delimiter=";")

    table = open_table(path)

    assert table.delimiter == ";"
    assert [(c.header, c.original, c.kind) for c in table.columns] == [
        ("Nominee name", "Nominee\u00a0name  ", "text"),
        ("Q1 answer", "Q1\nanswer", "text"),
        ("Email", " Email ", "email"),
    ]
    assert list(table.rows()) == [(2, ["Ann", "Yes; really", "a@x.org"])]


def test_csv_blank_rows_are_skipped_and_counted(tmp_path):
    path = write_csv(tmp_path / "form.csv", [["Name", "Q1"], ["A", "x"], [], ["", "  "], ["B", "y"], []])

    table = open_table(path)

    assert list(table.rows()) == [(2, ["A", "x"]), (5, ["B", "y"])]
    assert table.blank_rows == [3, 4, 6]


def test_csv_never_converts_types(tmp_path):
    path = write_csv(tmp_path / "form.csv", [["Timestamp", "ID", "Q1"], ["45352.5", "00012", "3.10"]])

    assert list(open_table(path).rows()) == [(2, ["45352.5", "00012", "3.10"])]


def test_header_found_below_title_rows(tmp_path):
    path = write_csv(tmp_path / "form.csv", [["Inclusive Leader nominations 2026"], [], ["Name", "Job title", "Q1"],
                                             ["Ann", "Nurse", "x"]])

    table = open_table(path)

    assert table.header_row == 3
    assert [(s.row, s.reason) for s in table.skipped] == [(1, "above the header row")]
    assert table.blank_rows == [2]
    assert list(table.rows()) == [(4, ["Ann", "Nurse", "x"])]


def test_surveymonkey_second_header_row_is_combined_and_skipped(tmp_path):
    path = write_csv(tmp_path / "sm.csv", [
        ["Respondent ID", "Nominee name", "Which award?", "", "Q1 Communities"],
        ["", "Open-Ended Response", "Inclusive Leader", "Other (please specify)", "Open-Ended Response"],
        ["1", "Ann", "Inclusive Leader", "", "Yes"]])

    table = open_table(path)

    assert [c.header for c in table.columns] == [
        "Respondent ID", "Nominee name", "Which award?: Inclusive Leader", "Which award?: Other (please specify)",
        "Q1 Communities"]
    assert [(s.row, s.reason) for s in table.skipped] == [(2, "second header row")]
    assert list(table.rows()) == [(3, ["1", "Ann", "Inclusive Leader", "", "Yes"])]


def test_clean_header_collapses_every_kind_of_space():
    assert clean_header("\ufeffQ2\u00a0 Promoting\u2007equality\r\n(max 500 words)\u200b ") == \
        "Q2 Promoting equality (max 500 words)"


# --- Excel


def test_xlsx_text_kept_verbatim_and_numbers_as_their_text(tmp_path, excel_lane):
    rows = [["Name", "Answer", "Number", "Flag"], *[["Zoë", t, 12, True] for t in TRICKY], ["Ann", "x", 1.5, False]]
    path = write_xlsx(tmp_path / "form.xlsx", rows)

    table = open_table(path)

    assert table.engine == excel_lane
    assert [v for _, v in table.rows()] == [["Zoë", t, "12", "TRUE"] for t in TRICKY] + [["Ann", "x", "1.5", "FALSE"]]
    assert all(type(v[1]) is str for _, v in table.rows())


def test_xlsx_real_formula_cell_keeps_the_formula_text(tmp_path):
    rows = [["Name", "Q1", "Q2"], ["Ann", "=SUM(A1)", "=\"All \"&A2"], ["Bo", "=typed as text", "ok"]]
    path = write_xlsx(tmp_path / "form.xlsx", rows, formulas=["B2", "C2"])

    table = open_table(path)
    got = list(table.rows())

    assert table.engine == "openpyxl (the sheet has formulas)"
    assert got == [(2, ["Ann", "=SUM(A1)", '="All "&A2']), (3, ["Bo", "=typed as text", "ok"])]
    assert [type(v).__name__ for v in got[0][1]] == ["str", "FormulaText", "FormulaText"]
    assert not isinstance(got[1][1][1], FormulaText)


def test_xlsx_excel_serial_dates_become_datetimes_only_in_timestamp_columns(tmp_path):
    rows = [["Timestamp", "Completion time", "Q1", "Nominee"],
            [45352.5, datetime(2024, 3, 1, 9, 30), 45352.5, "Ann"],
            ["01/03/2024 09:30", 45352.75, "The date was 45352", "Bo"]]
    path = write_xlsx(tmp_path / "form.xlsx", rows)

    table = open_table(path)

    assert [c.kind for c in table.columns] == ["timestamp", "timestamp", "text", "text"]
    assert list(table.rows()) == [
        (2, [datetime(2024, 3, 1, 12, 0), datetime(2024, 3, 1, 9, 30), "45352.5", "Ann"]),
        (3, ["01/03/2024 09:30", datetime(2024, 3, 1, 18, 0), "The date was 45352", "Bo"]),
    ]


def test_xlsx_1904_date_system(tmp_path):
    path = write_xlsx(tmp_path / "mac.xlsx", [["Timestamp", "Q1"], [43890.5, "x"]], date1904=True)

    assert list(open_table(path).rows()) == [(2, [datetime(2024, 3, 1, 12, 0), "x"])]


def test_xlsx_merged_header_over_two_columns_is_one_field(tmp_path):
    rows = [["Nominee name", None, "Q1"], ["Ann", "Lee", "x"]]
    path = write_xlsx(tmp_path / "form.xlsx", rows, merges=["A1:B1"])

    table = open_table(path)

    assert [(c.header, c.merged_from) for c in table.columns] == [
        ("Nominee name", None), ("Nominee name", 0), ("Q1", None)]
    assert table.notes == [
        "Columns A–B share the merged header 'Nominee name'; their values are joined as one field."]
    assert list(table.rows()) == [(2, ["Ann", "Lee", "x"])]


def test_xlsx_two_row_header_from_merged_cells(tmp_path):
    rows = [["Timestamp", "Nominee", None, None, "Answers", None],
            [None, "Name", "Job title", "Organisation", "Q1", "Q2"],
            [datetime(2024, 3, 1, 9, 0), "Ann", "Nurse", "Trust", "yes", "no"]]
    path = write_xlsx(tmp_path / "form.xlsx", rows, merges=["A1:A2", "B1:D1", "E1:F1"])

    table = open_table(path)

    assert [c.header for c in table.columns] == [
        "Timestamp", "Nominee: Name", "Nominee: Job title", "Nominee: Organisation", "Answers: Q1", "Answers: Q2"]
    assert [(s.row, s.reason) for s in table.skipped] == [(2, "second header row")]
    assert list(table.rows()) == [(3, [datetime(2024, 3, 1, 9, 0), "Ann", "Nurse", "Trust", "yes", "no"])]


def test_xlsx_table_not_starting_at_a1_keeps_excel_row_numbers(tmp_path):
    rows = [[], [], [None, None, "Name", "Q1"], [None, None, "Ann", "x"], [], [None, None, "Bo", "y"]]
    path = write_xlsx(tmp_path / "form.xlsx", rows)

    table = open_table(path)

    assert table.header_row == 3
    assert [c.letter for c in table.columns if c.header] == ["C", "D"]
    assert [(n, v[2:]) for n, v in table.rows()] == [(4, ["Ann", "x"]), (6, ["Bo", "y"])]
    assert table.blank_rows == [1, 2, 5]


def test_xlsx_sheet_by_name_and_by_best_header(tmp_path):
    form = [["Nominee", "Q1 communities", "Q2 equality"], ["Ann", "x", "y"]]
    path = write_xlsx(tmp_path / "form.xlsx", form, sheet="Responses",
                      other_sheets={"Notes": [["Read me first"], ["This workbook holds the 2026 nominations"]]},
                      first_sheet_blank=True)
    score = lambda headers: sum(h.startswith("Q") for h in headers)  # noqa: E731

    chosen = open_table(path, header_score=score)
    named = open_table(path, sheet="Notes")

    assert (chosen.sheet, chosen.sheets) == ("Responses", ["Notes", "Responses"])
    assert chosen.notes[-1].startswith("Sheet 'Responses' was chosen because its header best matches the rubric")
    assert named.sheet == "Notes"
    with pytest.raises(NotFound, match="no sheet called 'Form1'. Its sheets are: Notes, Responses"):
        open_table(path, sheet="Form1")


def test_unsupported_and_missing_files_say_what_to_do(tmp_path):
    old = tmp_path / "form.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0")
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip")

    with pytest.raises(SpreadsheetError, match="save it as .xlsx"):
        open_table(old)
    with pytest.raises(SpreadsheetError, match="not a readable Excel workbook"):
        open_table(broken)
    with pytest.raises(NotFound, match="No file at"):
        open_table(tmp_path / "nope.csv")
