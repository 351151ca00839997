"""`workbench agreement RATINGS.csv [--json]`: agreement statistics for any ratings table.

The CSV has the unit id in the first column and one column per rater; an empty cell is a
missing rating. ``--json`` prints the report as JSON (keys in
:data:`workbench.agreement.REPORT_KEYS`), otherwise a readable table.

``workbench agreement --db URL [--round NAME]`` gives the same report per criterion and
overall (each judge's weighted total) for a judging round; without ``--round``, the newest.
"""

from __future__ import annotations

import argparse
import json

from workbench.agreement import agreement_report, format_report, read_ratings_csv
from workbench.errors import WorkbenchError


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "agreement", help="agreement statistics (alpha, kappa, AC1, ICC, …) for a ratings table or a round",
        description="How far do the raters agree? Give a CSV with the unit id in the first column and one column "
                    "per rater (an empty cell is a missing rating), or a judging round with --db and --round. "
                    "Statistics that cannot be computed for the data are shown as — (null in JSON) with the "
                    "reason under Notes.",
    )
    parser.add_argument("file", nargs="?", metavar="RATINGS.csv",
                        help="ratings table: unit id, then one column per rater")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--scale", metavar="VALUES",
                        help="the possible ratings in order, comma-separated, e.g. 0,1,2,3,4,5 or "
                             "'Not met,Partly met,Met'; weights follow it (default: the values used)")
    parser.add_argument("--nominal", action="store_true",
                        help="treat the ratings as unordered labels (e.g. codes 1 = depression, 2 = neurosis): "
                             "only the nominal statistics are computed")
    parser.add_argument("--db", metavar="URL", help="a workbench database URL or SQLite file, with --round")
    parser.add_argument("--round", metavar="NAME", help="the judging round to report on (with --db; default: the newest)")
    parser.set_defaults(handler=_agreement)


def _scale(text: str | None) -> list[str] | None:
    if text is None:
        return None
    values = [v.strip() for v in text.split(",") if v.strip()]
    if len(values) < 2:
        raise WorkbenchError(f"--scale needs at least two values separated by commas, e.g. 0,1,2,3; got {text!r}.")
    return values


def round_reports(*, url: str, round_name: str | None) -> dict:
    """Agreement per criterion and overall for a judging round (the ``--db`` form)."""
    from workbench.agreement.panel import round_report_json
    from workbench.panel import get_round
    from workbench.store import session_scope

    with session_scope(url) as session:
        return round_report_json(session, round_=get_round(session, round_name))


def _agreement(args: argparse.Namespace) -> int:
    if args.file and args.db:
        raise WorkbenchError("Give either a ratings file or --db with --round, not both.")
    if args.db or args.round:
        if not args.db:
            raise WorkbenchError("--round needs --db URL: the database that holds the round.")
        report = round_reports(url=args.db, round_name=args.round)
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return 0
    if not args.file:
        raise WorkbenchError("Give a ratings CSV file (unit id, then one column per rater), "
                             "or --db URL --round NAME for a judging round.")
    table = read_ratings_csv(args.file)
    report = agreement_report(table, scale=_scale(args.scale), nominal_only=args.nominal)
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        print(f"{args.file}")
        print(format_report(report))
    return 0
