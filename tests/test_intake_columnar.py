"""Plain sheets are loaded by columns (fastexcel); every other sheet cell by cell. Both give the same rows."""

from __future__ import annotations

import threading
import zipfile
from datetime import datetime, time
from xml.etree import ElementTree

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intake_files import FORMS_HEADER, LONG_ANSWER, forms_row, write_xlsx
from workbench.intake import columnar, importing, reading, validation
from workbench.intake.importing import preview
from workbench.intake.reading import open_table
from workbench.intake.validation import AnswerScreen, RowChecker, break_counts, screen_answers, word_count
from workbench.rubric import load_rubric

AL = ("Al Jones", "al.jones@nhs.example")
TRICKY = ["=SUM(A1)", "+44 7700 900123", "-", "@all", "007", "Zoë Ní Bhriain 😀", "line one\nline two", "  spaced  "]


def _both_ways(path, monkeypatch):
    fast = open_table(path)
    fast_rows, fast_blank = list(fast.rows()), list(fast.blank_rows)
    monkeypatch.setattr(reading, "COLUMNAR", False)
    slow = open_table(path)
    slow_rows, slow_blank = list(slow.rows()), list(slow.blank_rows)
    monkeypatch.setattr(reading, "COLUMNAR", True)
    assert [c.header for c in fast.columns] == [c.header for c in slow.columns]
    assert [c.kind for c in fast.columns] == [c.kind for c in slow.columns]
    assert (fast.header_row, fast.skipped, fast.notes) == (slow.header_row, slow.skipped, slow.notes)
    assert fast_rows == slow_rows
    assert [[type(v) for v in values] for _, values in fast_rows] == [[type(v) for v in values] for _, values in slow_rows]
    assert fast_blank == slow_blank
    return fast, fast_rows


def test_a_plain_forms_export_is_loaded_by_columns_with_the_same_rows(tmp_path, monkeypatch):
    rows = [FORMS_HEADER]
    for i, text in enumerate(TRICKY):
        rows.append(forms_row(i + 1, datetime(2024, 3, 1, 9, i), AL, f"Nominee {i}", q1=text, q2=LONG_ANSWER,
                              team=True if i % 2 else False, extra=1.5 * i))
    rows.append(forms_row(99, datetime(2024, 3, 2), AL, "Last", q1="", q4="n/a", extra=1e20, team=False))
    rows.append([*forms_row(100, datetime(2024, 3, 3), AL, "Beyond", extra=2.0, team=True), None, "beyond the header"])
    path = write_xlsx(tmp_path / "forms.xlsx", rows)

    table, got = _both_ways(path, monkeypatch)

    assert table.engine == "fastexcel"
    assert [n for n, _ in got] == list(range(2, 4 + len(TRICKY)))
    assert [values[10] for _, values in got[:len(TRICKY)]] == TRICKY
    assert got[1][1][16] == "1.5" and got[-2][1][16] == "1e+20"
    assert isinstance(got[0][1][2], datetime) and got[-1][1][-1] == "beyond the header"


def test_a_1904_workbook_gives_the_same_dates_by_columns(tmp_path, monkeypatch):
    path = write_xlsx(tmp_path / "mac.xlsx", [["Timestamp", "Q1"], [datetime(2024, 3, 1, 9, 30), "x"],
                                               [datetime(2024, 3, 2), "y"]], date1904=True)

    table, got = _both_ways(path, monkeypatch)

    assert table.engine == "fastexcel"
    assert [v[0] for _, v in got] == [datetime(2024, 3, 1, 9, 30), datetime(2024, 3, 2)]


@pytest.mark.parametrize(("case", "rows", "options", "engine"), [
    ("title row above the header", [["Nominations 2024"], ["Name", "Q1"], ["Ann", "x"]], {}, "calamine"),
    ("merged header cells", [["Name", "Nominee", None], ["Ann", "Bo", "Lee"]], {"merges": ["B1:C1"]}, "calamine"),
    ("a formula cell", [["Name", "Q1"], ["Ann", "=1+1"]], {"formulas": ["B2"]}, "openpyxl (the sheet has formulas)"),
    ("Excel serials among dates", [["Timestamp", "Q1"], [datetime(2024, 3, 1), "x"], [45352.5, "y"]], {}, "calamine"),
    ("text among numbers", [["ID", "Q1"], [1, "x"], ["007", "y"]], {}, "calamine"),
    # fastexcel must look at every row for a column's type: from a sample it would read "007" as 7.0
    ("text among numbers after row 1,000", [["ID", "Q1"], *([i, "x"] for i in range(1, 1200)), ["007", "y"]], {},
     "calamine"),
    ("n/a among numbers", [["ID", "Q1"], [1, "x"], ["n/a", "y"]], {}, "calamine"),
    ("NA among dates", [["Timestamp", "Q1"], [datetime(2024, 3, 1), "x"], ["NA", "y"]], {}, "calamine"),
    ("nan among numbers", [["ID", "Q1"], [1, "x"], ["nan", "y"]], {}, "calamine"),
    ("a blank row", [["ID", "Q1"], [1, "x"], [None, None], [2, "y"]], {}, "calamine"),
    ("times of day", [["Time", "Q1"], [time(9, 30), "x"]], {}, "calamine"),
    ("an empty header cell", [["Name", None, "Q1"], ["Ann", "x", "y"]], {}, "calamine"),
    ("a repeated header", [["Q1", "Q1"], ["x", "y"]], {}, "calamine"),
    ("a number as a header", [["Name", 2024], ["Ann", "x"]], {}, "calamine"),
    ("header not in column A", [[None, "Name", "Q1"], [None, "Ann", "x"]], {}, "calamine"),
    ("an empty text header cell", [["Name", "", "Q1"], ["Ann", "x", "y"]], {}, "calamine"),
    ("a header named as fastexcel names a column with none", [["Name", "__UNNAMED__1"], ["Ann", "x"]], {},
     "calamine"),
    ("a header named as fastexcel names a repeated one", [["Q1", "Q1_1"], ["x", "y"]], {}, "calamine"),
])
def test_other_sheets_are_read_cell_by_cell_with_the_same_rows(tmp_path, monkeypatch, case, rows, options, engine):
    path = write_xlsx(tmp_path / "other.xlsx", rows, **options)

    table, _ = _both_ways(path, monkeypatch)

    assert table.engine == engine, case


def test_answer_columns_left_out_of_rows_are_read_as_bytes(tmp_path):
    path = write_xlsx(tmp_path / "forms.xlsx", [["Name", "Q1", "Q2"], ["Ann", "Zoë 😀\nline", "x"], [None, None, None],
                                                [None, "only an answer", None], [None, "   ", None]])
    table = open_table(path)

    got = list(table.rows(frozenset({1})))

    assert got == [(2, ["Ann", "", "x"]), (4, ["", "", ""])]
    assert table.blank_rows == [3, 5]
    column = table.text_column(1)
    assert [column.text(n - column.first_row) for n in (2, 3, 4)] == ["Zoë 😀\nline", "", "only an answer"]
    assert table.text_column(0) is not None and table.text_column(7) is None


@pytest.mark.parametrize("columnar", [True, False])
def test_batches_by_column_hold_the_same_rows_and_blank_rows(tmp_path, monkeypatch, columnar):
    rows = [["Name", "Q1", "Q2"]]
    for i in range(45):  # past the first batch of a plain sheet
        rows.append([[f"N{i}", "x", "y"], [None, None, None], [None, "only an answer", None], [None, "   ", None],
                     [None, None, "late"], [" ", "x", None]][i % 6])
    path = write_xlsx(tmp_path / "forms.xlsx", rows)
    monkeypatch.setattr(reading, "COLUMNAR", columnar)
    table = open_table(path)
    assert table.engine == ("fastexcel" if columnar else "calamine")
    omit = frozenset({1})
    by_row, blank = list(table.rows(omit)), table.blank_rows

    batches = list(table.batches(omit, size=20))

    regrouped = [(n, [column[j] for column in cells]) for numbers, cells in batches for j, n in enumerate(numbers)]
    assert regrouped == by_row and table.blank_rows == blank
    assert len(batches) > 1 and len(by_row) == 30 and len(blank) == 15


@pytest.mark.parametrize("columnar", [True, False])
def test_batches_start_below_a_second_header_row(tmp_path, monkeypatch, columnar):
    rows = [["Respondent ID", "Nominee's name", "Q1 Do they actively promote equality?"],
            ["Response", "Open-Ended Response", "Open-Ended Response"],
            ["1", "Ann Lee", "Led the forum."], [None, None, None], ["2", "Bo Chan", "Ran the panel."]]
    monkeypatch.setattr(reading, "COLUMNAR", columnar)
    table = open_table(write_xlsx(tmp_path / "survey.xlsx", rows))

    batches = list(table.batches())

    assert batches == [([3, 5], [["1", "2"], ["Ann Lee", "Bo Chan"], ["Led the forum.", "Ran the panel."]])]
    assert table.blank_rows == [4]


def test_preview_reports_the_same_whichever_way_the_sheet_is_read(tmp_path, monkeypatch):
    rows = [FORMS_HEADER]
    for i in range(12):
        rows.append(forms_row(i + 1, datetime(2024, 3, 1, 9, i), AL, f"Nominee {i % 9}",
                              q1=["Led the forum. " * 20, LONG_ANSWER, "n/a", "", " " * 200, "-"][i % 6],
                              q2=("\u00a0" * 130) if i == 3 else "Ran a campaign " * 10))
    path = write_xlsx(tmp_path / "forms.xlsx", rows)

    fast = preview(path, rubric="inclusive-leader").report.to_dict()
    monkeypatch.setattr(reading, "COLUMNAR", False)
    slow = preview(path, rubric="inclusive-leader").report.to_dict()

    assert fast == slow
    codes = [(w["row"], w["criterion"], w["code"]) for w in fast["warnings"] if w["criterion"]]
    assert (3, "Q1", "over_word_limit") in codes and (5, "Q2", "missing_answer") in codes
    assert (6, "Q1", "missing_answer") in codes and (7, "Q1", "placeholder_answer") in codes


def test_a_preview_still_checks_every_answer_when_the_screen_fails(tmp_path, monkeypatch):
    rows = [FORMS_HEADER] + [forms_row(i + 1, datetime(2024, 3, 1, 9, i), AL, f"Nominee {i}",
                                       q1=["Led the forum. " * 20, "n/a", LONG_ANSWER][i % 3]) for i in range(6)]
    path = write_xlsx(tmp_path / "forms.xlsx", rows)
    expected = preview(path, rubric="inclusive-leader").report.to_dict()

    calls = []

    def broken(*args):
        calls.append(args)
        raise MemoryError

    monkeypatch.setattr(validation, "screen_answers", broken)
    got = preview(path, rubric="inclusive-leader").report.to_dict()

    assert calls and got == expected
    assert [(w["row"], w["code"]) for w in got["warnings"] if w["criterion"] == "Q1"] == [
        (3, "placeholder_answer"), (4, "over_word_limit"), (6, "placeholder_answer"), (7, "over_word_limit")]


def test_dates_by_columns_are_exact_in_every_arrow_unit():
    epoch = datetime(1970, 1, 1)
    moments = [epoch, datetime(2026, 1, 5, 9, 0, 0, 123000), datetime(1900, 1, 1), datetime(1969, 12, 31, 23, 59, 59),
               datetime(9999, 12, 31, 23, 59, 59)]
    for scale, per_ms, per_second in (("s", 1000, 1), ("ms", 1, 10**3), ("us", 1 / 1000, 10**6), ("ns", 1e-6, 10**9)):
        wanted = [m for m in moments if (scale != "s" or not m.microsecond) and (scale != "ns" or m.year < 2262)]
        ticks = np.array([((m - epoch).days * 86400 + (m - epoch).seconds) * per_second
                          + (m - epoch).microseconds * per_second // 10**6 for m in wanted], dtype=np.int64)
        column = columnar._Column("timestamp", ticks, None, per_ms, None if scale == "ns" else f"datetime64[{scale}]")

        assert columnar._python_values(column, 0, len(ticks)) == wanted, scale


# --- Screening answers as bytes


def _column(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    encoded = [t.encode("utf-8") for t in texts]
    return np.cumsum([0, *map(len, encoded)]), np.frombuffer(b"".join(encoded) or b"\0", dtype=np.uint8)


_CHECKER = RowChecker(rubric=load_rubric("inclusive-leader"), columns={"Q1": "Q1"})
_PIECES = st.sampled_from(["word", "Zoë", "😀", "n/a", "-", " ", "  ", "\t", "\n", "\r\n", "\r", "\u00a0", "\u2003",
                           "\u3000", "\x0b", "—", "’", "."])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_PIECES, max_size=160).map("".join), min_size=1, max_size=6), st.integers(1, 150))
def test_an_answer_screened_as_fine_never_has_a_problem(texts, limit):
    _CHECKER.limit = limit
    offsets, data = _column(texts)

    cleared, over = screen_answers(offsets, data, limit)

    for i, (text, ok) in enumerate(zip(texts, cleared)):
        issue = _CHECKER.answer_issue(2, "Q1", "Q1", text)
        if ok:
            assert issue is None, (text, limit)
        if i in over:  # counted exactly, and reported just as the check on the text reports it
            assert not ok and over[i] == word_count(text) > limit
            assert issue == _CHECKER.over_limit_issue(2, "Q1", "Q1", over[i])


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=1, max_size=700), st.lists(st.tuples(st.integers(0, 700), st.integers(0, 700)), min_size=1,
                                                     max_size=20))
def test_break_counts_count_each_range_exactly(raw, ranges):
    data = np.frombuffer(raw, dtype=np.uint8)
    ranges = [(min(a, b, len(raw)), min(max(a, b), len(raw))) for a, b in ranges]
    starts, stops = np.array([a for a, _ in ranges]), np.array([b for _, b in ranges])

    got = break_counts(data, starts, stops)

    assert got.tolist() == [sum(byte <= 0x20 for byte in raw[a:b]) for a, b in ranges]


def test_most_ordinary_answers_are_cleared_without_reading_them():
    texts = ["Led the forum with staff and patients. " * 12, LONG_ANSWER, "n/a", "", " " + "word " * 40,
             "\u00a0" * 200, "x " * 499 + "x", "x " * 500 + "x"]
    offsets, data = _column(texts)

    cleared, over = screen_answers(offsets, data, 500)

    assert cleared.tolist() == [True, False, False, False, False, False, True, False]
    assert over == {1: word_count(LONG_ANSWER), 7: 501}


def test_the_answer_screen_runs_in_chunks_and_matches_the_whole(monkeypatch):
    texts = [("word " * (i % 700)) or "-" for i in range(5000)]
    offsets, data = _column(texts)
    column = reading.TextColumn(offsets, data, None, 2)
    monkeypatch.setattr(AnswerScreen, "CHUNK", 333)

    screen = AnswerScreen([column, column], 500)

    expected, over = screen_answers(offsets, data, 500)
    assert [screen.cleared(i) for i in (0, 4999)] == [0, 3]
    got = [(screen.cleared(i), screen.over_limit(i)) for i in range(5000)]
    assert got == [(3 if ok else 0, {0: over[i], 1: over[i]} if i in over else {}) for i, ok in enumerate(expected)]
    assert len(over) == 5000 // 700 * 199  # 501 to 699 words in every 700 rows


def test_the_answer_screen_never_clears_a_cell_arrow_marks_empty():
    texts = ["word " * 40] * 3  # a null slot may still span bytes
    offsets, data = _column(texts)
    valid = np.array([True, False, True])

    screen = AnswerScreen([reading.TextColumn(offsets, data, valid, 2)], 500)

    assert [screen.cleared(i) for i in range(3)] == [1, 0, 1]


# The header is read from the sheet's XML while fastexcel loads the sheet (open_table's on_header),
# so the import proposes its mapping meanwhile; it keeps that work only for the same columns.


def _shared_strings_xlsx(path, rows):
    import xlsxwriter  # writes text as shared strings, as Excel does (openpyxl writes inline strings)

    with xlsxwriter.Workbook(path, {"strings_to_formulas": False, "strings_to_numbers": False,
                                    "strings_to_urls": False}) as wb:
        ws = wb.add_worksheet("Form1")
        dates = wb.add_format({"num_format": "dd/mm/yyyy hh:mm:ss"})
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if isinstance(value, datetime):
                    ws.write_datetime(r, c, value, dates)
                elif value is not None and value != "":
                    ws.write(r, c, value)
    return path


@pytest.mark.parametrize("strings", ["shared", "inline"])
def test_the_header_is_handed_over_from_the_xml_while_the_sheet_loads(tmp_path, monkeypatch, strings):
    rows = [FORMS_HEADER] + [forms_row(i, datetime(2024, 3, 1, 9, i), AL, f"Nominee {i}", q1=text)
                             for i, text in enumerate(TRICKY, start=1)]
    path = (_shared_strings_xlsx(tmp_path / "s.xlsx", rows) if strings == "shared"
            else write_xlsx(tmp_path / "i.xlsx", rows))
    told = []

    table = open_table(path, on_header=told.append)
    _, got = _both_ways(path, monkeypatch)

    assert table.engine == "fastexcel"
    assert (reading._xlsx_parts(path).shared_strings is not None) == (strings == "shared")
    assert told == [table.columns]
    assert [c.original for c in told[0]][5:8] == ["Nominee's name ", "Nominee's job\u00a0title", "Nominee's organisation\n"]
    assert [values[10] for _, values in got] == TRICKY


def test_a_header_the_xml_gives_otherwise_is_proposed_again_from_the_table(tmp_path, monkeypatch):
    # A SurveyMonkey second header row changes the columns after the first row was handed over.
    rows = [["Respondent ID", "Nominee's name", "Which award?", "Q1 Do they actively promote equality?"],
            ["", "Open-Ended Response", "Other (please specify)", "Open-Ended Response"],
            ["1", "Ann Lee", "Inclusive Leader", "Led the forum."]]
    path = write_xlsx(tmp_path / "survey.xlsx", rows)
    told = []
    open_table(path, on_header=told.append)
    proposed = []
    real = importing.propose_mapping
    monkeypatch.setattr(importing, "propose_mapping", lambda columns, **kw: proposed.append(columns) or real(columns, **kw))

    got = preview(path, rubric="inclusive-leader")

    assert len(proposed) == 2 and proposed[0] == told[0] and proposed[1] != told[0]
    assert [m.header for m in got.mapping.matches][2] == "Which award?: Other (please specify)"
    assert got.mapping.target_for("B") == "nominee.name"


def test_a_mapping_that_fails_early_is_proposed_again_and_any_error_shown(tmp_path, monkeypatch):
    path = write_xlsx(tmp_path / "forms.xlsx", [FORMS_HEADER, forms_row(1, datetime(2024, 3, 1, 9), AL, "Ann Lee")])
    real = importing.propose_mapping
    calls = []

    def flaky(columns, **kw):
        calls.append(threading.current_thread() is threading.main_thread())
        if len(calls) == 1:
            raise RuntimeError("early failure")
        return real(columns, **kw)

    monkeypatch.setattr(importing, "propose_mapping", flaky)

    got = preview(path, rubric="inclusive-leader")

    assert calls == [False, True]  # first on the helper thread while the sheet loaded, then again
    assert got.mapping.target_for("K") == "Q1"


def test_shared_and_rich_text_strings_read_as_excel_shows_them():
    rich = ElementTree.fromstring('<si xmlns="{0}"><r><t>Nominee</t></r><r><rPr/><t xml:space="preserve">’s name</t>'
                                  '</r><rPh><t>ふりがな</t></rPh></si>'.format(reading._MAIN[1:-1]))
    inline = ElementTree.fromstring("<is><t>Q1 &amp; Q2</t></is>")

    assert reading._string_item(rich, reading._MAIN) == "Nominee’s name"
    assert reading._string_item(inline, "") == "Q1 & Q2"


def test_a_header_whose_strings_are_far_down_the_table_is_left_to_the_parse(tmp_path):
    path = _shared_strings_xlsx(tmp_path / "forms.xlsx", [["Name", "Q1"], ["Ann", "x"]])
    member = reading._xlsx_parts(path).shared_strings

    assert reading._shared_strings(path, member, 1) == ["Name", "Q1"]
    assert reading._shared_strings(path, member, 5) is None  # fewer strings than that
    assert reading._shared_strings(path, None, 1) is None  # no shared strings in the workbook
    assert reading._shared_strings(path, member, 20_000) is None  # too far to read ahead
    assert reading._header_columns(path, b'<row r="1"><c r="A1" t="s"><v>x</v></c></row>', member) is None


def test_a_header_that_cannot_be_read_ahead_is_left_to_the_parse(tmp_path, monkeypatch):
    path = _shared_strings_xlsx(tmp_path / "forms.xlsx", [["Name", "Q1"], ["Ann", "x"]])

    def damaged(*args):
        raise zipfile.BadZipFile("Bad CRC-32 for file 'xl/sharedStrings.xml'")

    monkeypatch.setattr(reading, "_shared_strings", damaged)
    told = []

    table = open_table(path, on_header=told.append)

    assert told == [] and table.engine == "fastexcel"
    assert [c.header for c in table.columns] == ["Name", "Q1"] and list(table.rows()) == [(2, ["Ann", "x"])]


def test_the_sheet_list_comes_from_the_workbook_xml_as_python_calamine_gives_it(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.title = "Form1"
    wb.active.append(["Name", "Q1"])
    wb.create_sheet("Old & hidden").sheet_state = "hidden"
    wb.create_sheet("Very hidden").sheet_state = "veryHidden"
    wb.create_chartsheet("Chart")
    wb.create_sheet("Notes")
    wb.save(tmp_path / "book.xlsx")
    path = tmp_path / "book.xlsx"
    layout = reading._xlsx_parts(path)

    from_xml = reading._Calamine(path).sheets(layout)
    from_calamine = reading._Calamine(path).sheets(reading._Layout({}))

    assert from_xml == from_calamine == (["Form1", "Old & hidden", "Very hidden", "Notes"], ["Form1", "Notes"])


def test_a_plain_sheet_never_opens_python_calamine(tmp_path, monkeypatch):
    import python_calamine

    plain = write_xlsx(tmp_path / "plain.xlsx", [["Name", "Q1"], ["Ann", "x"]])
    merged = write_xlsx(tmp_path / "merged.xlsx", [["Name", "Nominee", None], ["Ann", "Bo", "Lee"]], merges=["B1:C1"])

    def refuse(*args, **kwargs):
        raise OSError("python-calamine was opened")

    monkeypatch.setattr(python_calamine.CalamineWorkbook, "from_path", refuse)

    assert open_table(plain).engine == "fastexcel" and reading.sheet_names(plain) == ["Form1"]
    with pytest.raises(reading.SpreadsheetError, match="python-calamine was opened"):
        open_table(merged)
