"""`workbench demo`: build the synthetic demo panel and open it in the browser."""

from __future__ import annotations

import argparse

from workbench.demo import DEMO_SEED, build_demo, demo_exists
from workbench.store import database_url, describe_url


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo", help="create a synthetic demo panel (40 nominations, 6 judges) and open the apps",
        description="Creates a demo judging round with made-up nominations and judges in the database "
                    "(SQLite ./workbench.db by default), then serves the apps with Voilà. Nobody in it is real.",
    )
    parser.add_argument("--db", metavar="URL", help="database URL or SQLite file (default: ./workbench.db)")
    parser.add_argument("--seed", type=int, default=DEMO_SEED, help="random seed (default: %(default)s)")
    parser.add_argument("--no-serve", action="store_true", help="only build the demo data; do not start Voilà")
    parser.add_argument("--port", type=int, default=8866, help="port for the apps (default: %(default)s)")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    parser.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> int:
    url = database_url(args.db)
    if demo_exists(url):
        if not args.quiet:
            print(f"The demo panel is already in {describe_url(url)}; using it.")
    else:
        from workbench.marking import build_unit_demo

        summary = build_demo(url=url, seed=args.seed)
        unit = build_unit_demo(url=url, seed=args.seed)
        if not args.quiet:
            print(summary.describe())
            print(unit.describe())
    if args.no_serve:
        return 0
    from workbench.serve import serve

    print_links(url=url, base_url=f"http://127.0.0.1:{args.port}")
    return serve(url=url, port=args.port)


def print_links(*, url: str, base_url: str) -> None:
    """Issue fresh secret links for the organiser and each judge, and print them."""
    from sqlalchemy import select

    from workbench.serve import issue_judge_token, issue_organiser_token, link
    from workbench.store import Assignment, Judge, session_scope

    with session_scope(url) as s:
        organiser = issue_organiser_token(s, label="demo organiser")
        people = []
        for judge in s.scalars(select(Judge).order_by(Judge.id)):
            roles = set(s.scalars(select(Assignment.role).where(Assignment.judge_id == judge.id)))
            page = "judge.ipynb" if "judge" in roles or not roles else "unit_marking.ipynb"
            people.append((judge.name, page, issue_judge_token(s, judge=judge)))
    print("\nOrganiser (overview, agreement, moderation, shortlist):")
    print(f"  {link(base_url, 'overview.ipynb', organiser)}")
    print("Judges (each sees only their own nominations) and unit assessors:")
    for name, page, token in people:
        print(f"  {name:24} {link(base_url, page, token)}")
    print(flush=True)
