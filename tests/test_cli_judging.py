"""The judging commands end to end on a real database: judges, rounds, conflicts, allocation, links, sheets."""

from __future__ import annotations

import json

from openpyxl import load_workbook

from workbench.cli import main
from workbench.panel import add_nomination, get_round
from workbench.serve import identify
from workbench.store import session_scope


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _seed(url: str, capsys) -> None:
    assert run(capsys, "round", "create", "CLI round", "--rubric", "inclusive-leader", "--k", "2", "--db", url)[0] == 0
    for name, email, org in (("Ada One", "ada@panel.example", "Northshire NHS Trust"),
                             ("Bo Two", "bo@panel.example", "Eastmoor Council"),
                             ("Cy Three", "cy@panel.example", "Lowmoor PCN")):
        code, _, _ = run(capsys, "judges", "add", "--name", name, "--email", email, "--organisation", org, "--db", url)
        assert code == 0
    with session_scope(url) as s:
        round_ = get_round(s, "CLI round")
        for i, org in enumerate(["Northshire NHS Foundation Trust", "Riverside Trust", "Greyfriars Care", "Oak Ltd"]):
            add_nomination(s, round_=round_, source_key=str(i), answers={"Q1": "An answer."},
                           nominee={"name": f"Person {i}", "organisation": org,
                                    "nominator_email": "cy@panel.example" if i == 3 else "x@nhs.example"})


def test_round_judges_conflicts_and_allocation(sqlite_url, capsys):
    url = sqlite_url
    _seed(url, capsys)
    code, out, _ = run(capsys, "conflicts", "detect", "--db", url)
    assert code == 0
    assert out.splitlines() == [
        "2 conflict(s) of interest found in round 'CLI round', 2 new.",
        "  organisation Ada One works at 'Northshire NHS Trust', the same organisation as the nominee of N0001 "
        "('Northshire NHS Foundation Trust').",
        "  nominator    Cy Three nominated N0004."]
    code, out, _ = run(capsys, "allocate", "--seed", "4", "--json", "--db", url)
    result = json.loads(out)
    assert (code, result["created"], result["balanced"], sorted(result["loads"].values())) == (0, 8, True, [2, 3, 3])
    code, out, _ = run(capsys, "assignments", "explain", "--judge", "ada@panel.example", "--nomination", "N0001",
                       "--db", url)
    assert out.strip() == ("Ada One does not have N0001: conflict of interest (organisation). Ada One works at "
                           "'Northshire NHS Trust', the same organisation as the nominee of N0001 ('Northshire NHS "
                           "Foundation Trust').")
    code, out, _ = run(capsys, "judges", "list", "--json", "--db", url)
    assert [(j["email"], j["assigned"]) for j in json.loads(out)] == [
        ("ada@panel.example", result["loads"]["1"]), ("bo@panel.example", result["loads"]["2"]),
        ("cy@panel.example", result["loads"]["3"])]
    code, out, _ = run(capsys, "conflicts", "list", "--json", "--db", url)
    assert [(c["nomination"], c["judge"], c["source"]) for c in json.loads(out)] == [
        ("N0001", "Ada One", "organisation"), ("N0004", "Cy Three", "nominator")]
    code, out, _ = run(capsys, "round", "show", "--json", "--db", url)
    shown = json.loads(out)
    assert (shown["conflicts"], shown["assigned"], shown["blind"], shown["short_of_judges"]) == (2, 8, True, [])


def test_declare_from_the_command_line_reports_what_happened(sqlite_url, capsys):
    _seed(sqlite_url, capsys)
    run(capsys, "allocate", "--seed", "1", "--db", sqlite_url)
    code, out, err = run(capsys, "conflicts", "declare", "--judge", "bo@panel.example", "--nomination", "N0002",
                         "--reason", "Former line manager", "--db", sqlite_url)
    assert (code, err) == (0, "")
    assert out.startswith("Conflict of interest recorded: ")
    code, _, err = run(capsys, "conflicts", "declare", "--judge", "nobody@panel.example", "--nomination", "N0002",
                       "--reason", "x", "--db", sqlite_url)
    assert (code, err) == (1, "error: No judge 'nobody@panel.example'. List judges with `workbench judges`.\n")


def test_links_are_new_secrets_that_identify_their_holder(sqlite_url, capsys):
    _seed(sqlite_url, capsys)
    code, out, _ = run(capsys, "links", "--base-url", "https://awards.example", "--json", "--db", sqlite_url)
    links = json.loads(out)
    assert code == 0 and len(links["judges"]) == 3
    assert links["judges"][0]["link"].startswith("https://awards.example/voila/render/judge.ipynb?key=")
    assert links["organiser"].startswith("https://awards.example/voila/render/overview.ipynb?key=")
    first = links["judges"][0]["link"].split("key=")[1]
    with session_scope(sqlite_url) as s:
        assert identify(s, first).judge_id == links["judges"][0]["id"]
    run(capsys, "links", "--judge", "ada@panel.example", "--db", sqlite_url)
    with session_scope(sqlite_url) as s:
        assert identify(s, first) is None  # reissued: the old link no longer works


def test_scoresheet_out_and_scores_back_in(sqlite_url, capsys, tmp_path):
    _seed(sqlite_url, capsys)
    run(capsys, "allocate", "--seed", "1", "--db", sqlite_url)
    sheet = tmp_path / "bo.xlsx"
    code, out, _ = run(capsys, "scoresheets", "--judge", "bo@panel.example", "--out", str(sheet), "--db", sqlite_url)
    assert code == 0 and out.startswith("Scoresheet for Bo Two written to")
    wb = load_workbook(sheet)
    wb["Scores"]["C4"] = 4
    wb["Scores"]["F4"] = 9
    wb.save(sheet)
    code, out, _ = run(capsys, "import", "scores", str(sheet), "--db", sqlite_url)
    lines = out.splitlines()
    assert code == 0
    assert lines[0].endswith("1 score(s) saved, 0 unchanged, 1 problem(s).")
    assert lines[2].startswith("  row 4, column F (Q2 score): 9 for Q2 is not on the scale.")
    code, out, _ = run(capsys, "import", "scores", str(sheet), "--round", "Another", "--json", "--db", sqlite_url)
    assert (code, json.loads(out)["fatal"].startswith("This scoresheet is from another round")) == (1, True)
