"""`workbench import nominations FILE ...` and `workbench nominations`.

The ``import`` command group is shared with other modules. To add an action (for example
``workbench import scores``), call :func:`import_subparsers` from your ``register``::

    from workbench.cli.intake import import_subparsers

    def register(subparsers):
        scores = import_subparsers(subparsers).add_parser("scores", help="...")
        scores.set_defaults(handler=...)

It creates ``workbench import`` the first time it is called for a parser and returns the same
action group every later time, so the order of ``COMMAND_MODULES`` does not matter.
"""

from __future__ import annotations

import argparse
import json
import sys

from workbench.intake.importing import ImportReport, import_nominations, preview
from workbench.intake.mapping import save_mapping
from workbench.panel import get_round, list_nominations
from workbench.store import session_scope

_ATTRIBUTE = "_workbench_import_actions"


def import_subparsers(subparsers) -> argparse._SubParsersAction:
    """The actions of ``workbench import`` (created on first use, then shared)."""
    actions = getattr(subparsers, _ATTRIBUTE, None)
    if actions is None:
        parser = subparsers.add_parser(
            "import", help="import nominations (or other data) from a spreadsheet",
            description="Import data from spreadsheets into the workbench database.")
        actions = parser.add_subparsers(dest="import_command", metavar="WHAT", title="what to import")
        parser.set_defaults(handler=lambda args: parser.print_help() or 0)
        setattr(subparsers, _ATTRIBUTE, actions)
    return actions


def register(subparsers) -> None:
    nominations = import_subparsers(subparsers).add_parser(
        "nominations", help="import nomination forms from an .xlsx or .csv file",
        description="Import nominations exported from Microsoft Forms, Google Forms, SurveyMonkey or a hand-made "
                    "sheet. Columns are matched to the rubric's questions and nominee fields; every problem is "
                    "reported with its row and column. Importing the same file again changes nothing; importing "
                    "a corrected file updates only what changed.")
    nominations.add_argument("file", metavar="FILE", help="the .xlsx, .xlsm or .csv file")
    nominations.add_argument("--rubric", required=True, help="rubric name or YAML file, e.g. inclusive-leader")
    nominations.add_argument("--mapping", metavar="FILE", help="a column mapping saved earlier (--save-mapping)")
    nominations.add_argument("--save-mapping", metavar="FILE", help="save the column mapping used, to reuse next time")
    nominations.add_argument("--sheet", metavar="NAME", help="the Excel sheet to read (default: the one that matches)")
    nominations.add_argument("--round", metavar="NAME", help="round to import into (default: the rubric id); "
                                                               "created if new")
    nominations.add_argument("--duplicates", choices=["newer", "older", "both"],
                             help="for nominees nominated more than once: which nomination(s) to keep. "
                                  "Without it they all wait for your decision (status duplicate-pending).")
    nominations.add_argument("--dry-run", action="store_true", help="check the file and report; import nothing")
    nominations.add_argument("--db", metavar="URL", help="database URL or SQLite file (default: ./workbench.db)")
    nominations.add_argument("--json", action="store_true", help="print the report as one JSON object")
    nominations.set_defaults(handler=_import_nominations)

    listing = subparsers.add_parser(
        "nominations", help="list nominations with their answers",
        description="List the nominations of a round (the newest round unless --round is given).")
    listing.add_argument("--round", metavar="NAME", help="the round (default: the newest)")
    listing.add_argument("--db", metavar="URL", help="database URL or SQLite file (default: ./workbench.db)")
    listing.add_argument("--json", action="store_true", help="print a JSON list of nominations")
    listing.set_defaults(handler=_list_nominations)


def _import_nominations(args: argparse.Namespace) -> int:
    duplicates = {"keep": args.duplicates} if args.duplicates else None
    if args.dry_run:
        report = preview(args.file, rubric=args.rubric, sheet=args.sheet, mapping=args.mapping).report
    else:
        report = import_nominations(path=args.file, rubric=args.rubric, url=args.db, round=args.round,
                                    sheet=args.sheet, mapping=args.mapping, duplicates=duplicates)
    if args.save_mapping:
        save_mapping(report.mapping, args.save_mapping)
    if args.json:
        print(report.to_json())
    else:
        _print_report(report, saved=args.save_mapping)
    return 0


def _print_report(report: ImportReport, *, saved: str | None, out=None) -> None:
    out = out or sys.stdout
    print(report.summary(), file=out)
    print("\nColumns:", file=out)
    for m in report.mapping.matches:
        target = report.mapping.label(m.target) if m.target else "(kept as extra data)"
        how = "merged with the column before" if m.source == "merged" else (
            "no good match" if not m.target and m.source == "auto" else
            f"confidence {m.confidence:.2f}" if m.source == "auto" else m.source)
        print(f"  {m.column:>3}  {m.header[:60]:60}  -> {target} ({how})", file=out)
    if report.skipped:
        print("\nSkipped rows:", file=out)
        for s in report.skipped:
            print(f"  row {s.row}: {s.reason}", file=out)
    if report.duplicates:
        print("\nNominated more than once:", file=out)
        for d in report.duplicates:
            print(f"  [{d.id}] {d.message} Decision: {d.decision}.", file=out)
        if any(d.decision == "pending" for d in report.duplicates):
            print("  To choose for all of them, import again with --duplicates newer|older|both.", file=out)
    if report.warnings:
        print("\nWarnings:", file=out)
        for w in report.warnings:
            where = ", ".join(p for p in (f"row {w.row}" if w.row else "", w.column and repr(w.column)) if p)
            print(f"  {where or 'file'}: {w.message}", file=out)
    if report.changes:
        print("\nChanged:", file=out)
        for c in report.changes:
            print(f"  {c.nomination} (row {c.row}) {c.field}: {c.before} -> {c.after}", file=out)
    if report.missing_from_file:
        print("\nImported earlier from this file but not in it now (kept):", file=out)
        for m in report.missing_from_file:
            print(f"  {m['nomination']} (was row {m['row']})", file=out)
    for note in report.notes:
        print(f"\nNote: {note}", file=out)
    if saved:
        print(f"\nColumn mapping saved to {saved}; reuse it with --mapping {saved}.", file=out)


def _list_nominations(args: argparse.Namespace) -> int:
    with session_scope(args.db) as s:
        round_ = get_round(s, args.round)
        items = list_nominations(s, round_=round_)
        name = round_.name
    if args.json:
        print(json.dumps(items, ensure_ascii=False))
        return 0
    print(f"{len(items)} nominations in round {name!r}:")
    for item in items:
        nominee = item.get("nominee", {})
        words = " ".join(f"{c}:{len(t.split())}w" for c, t in item["answers"].items())
        print(f"  {item['reference']:6} {item['status']:18} {nominee.get('name', '')[:30]:30} "
              f"{nominee.get('organisation', '')[:30]:30} {words}")
    return 0
