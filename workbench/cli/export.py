"""`workbench export shortlist`: the shortlist and everything behind it, as Excel (and CSV).

    workbench export shortlist [--db URL] [--round NAME] --out FILE.xlsx [--top N | --threshold X]
        [--by round|category] [--aggregation mean|median|trimmed] [--scores raw|normalised|moderated]
        [--anonymise] [--csv DIR] [--as-of DATE] [--no-robustness]
"""

from __future__ import annotations

import argparse
from datetime import datetime, timezone

from workbench.errors import WorkbenchError
from workbench.export import ExportOptions, export_shortlist
from workbench.shortlist import AGGREGATIONS, SOURCES


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "export", help="export the shortlist to Excel (and CSV) for the awards committee",
        description="Exports for organisers. Run `workbench export shortlist --help` for the options.",
    )
    commands = parser.add_subparsers(dest="export_command", metavar="WHAT", title="what to export")
    shortlist = commands.add_parser(
        "shortlist", help="the shortlist workbook: shortlist, ranking, robustness, scores, agreement, moderation "
                          "log, comments, equality check and method",
        description="Writes an Excel workbook with the sheets Shortlist, Ranking, Robustness, All scores, Agreement, "
                    "Moderation log, Judge comments, Equality check and Method. The same data always gives the "
                    "same workbook. Text typed by people is always written as text, never as a formula.",
    )
    shortlist.add_argument("--db", metavar="URL", help="database URL or SQLite file (default: WORKBENCH_DB or "
                                                        "./workbench.db)")
    shortlist.add_argument("--round", metavar="NAME", help="the judging round (default: the newest)")
    shortlist.add_argument("--out", metavar="FILE.xlsx", required=True, help="the workbook to write")
    choose = shortlist.add_mutually_exclusive_group()
    choose.add_argument("--top", type=int, metavar="N", help="shortlist the top N (default: 10)")
    choose.add_argument("--threshold", type=float, metavar="X", help="shortlist every nomination with a weighted "
                                                                     "total of X or more")
    shortlist.add_argument("--by", choices=("round", "category"), default="round",
                           help="take the top N (or apply the threshold) in the whole round or in each category "
                                "(default: %(default)s)")
    shortlist.add_argument("--aggregation", choices=tuple(AGGREGATIONS), default="mean",
                           help="how the judges' scores on a criterion are combined (default: %(default)s)")
    shortlist.add_argument("--scores", choices=tuple(SOURCES), default="raw",
                           help="raw scores, normalised for judge severity, or with moderation decisions applied "
                                "(default: %(default)s)")
    shortlist.add_argument("--anonymise", action="store_true",
                           help="leave out nominee names and organisations; judges become Judge A, Judge B, ...")
    shortlist.add_argument("--csv", metavar="DIR", help="also write every sheet as a CSV file in DIR")
    shortlist.add_argument("--as-of", metavar="DATE", help="the date written on the Method sheet and in the file "
                                                          "(default: the newest change in the data), e.g. 2026-10-01")
    shortlist.add_argument("--no-robustness", action="store_true", help="skip the robustness scenarios (faster)")
    shortlist.set_defaults(handler=_export_shortlist)
    parser.set_defaults(handler=lambda _args: parser.print_help() or 0)


def _as_of(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise WorkbenchError(f"--as-of {text!r} is not a date; use YYYY-MM-DD or YYYY-MM-DDTHH:MM.") from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _export_shortlist(args: argparse.Namespace) -> int:
    if args.top is not None and args.top < 1:
        raise WorkbenchError(f"--top needs a whole number, 1 or more; got {args.top}.")
    options = ExportOptions(aggregation=args.aggregation, source=args.scores, top=args.top, threshold=args.threshold,
                            by=args.by, anonymise=args.anonymise, as_of=_as_of(args.as_of),
                            robustness=not args.no_robustness)
    result = export_shortlist(url=args.db, round_name=args.round, out=args.out, options=options, csv_dir=args.csv)
    print(result.describe())
    return 0
