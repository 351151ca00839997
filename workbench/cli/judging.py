"""Judging commands: judges, rounds, conflicts, allocation, links, scoresheets, serve.

    workbench judges add --name NAME --email EMAIL [--organisation ORG]
    workbench judges list [--json]
    workbench round create NAME --rubric RUBRIC [--k 3] [--not-blind] [--show-panel]
    workbench round show [NAME] [--json]
    workbench conflicts detect | declare --judge J --nomination N --reason TEXT | list [--json]
    workbench allocate [--k 3] [--seed N] [--from-csv FILE] [--json]
    workbench assignments explain|add|remove --judge J --nomination N
    workbench links [--base-url URL] [--judge J]
    workbench scoresheets --judge J --out FILE.xlsx
    workbench import scores FILE
    workbench serve [--db URL] [--port N]
"""

from __future__ import annotations

import argparse
import json

from sqlalchemy import select

from workbench.cli.intake import import_subparsers
from workbench.errors import NotFound
from workbench.store import Judge, Nomination, Round, session_scope


def _db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", metavar="URL", help="database URL or SQLite file (default: ./workbench.db)")


def _round(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--round", metavar="NAME", help="the round (default: the newest)")


def register(subparsers) -> None:
    judges = subparsers.add_parser("judges", help="add and list judges",
                                   description="Judges are people who score nominations. Each has an email "
                                               "address (to tell them apart) and an organisation (to find "
                                               "conflicts of interest).")
    judge_actions = judges.add_subparsers(dest="judges_command", metavar="ACTION", title="actions")
    add = judge_actions.add_parser("add", help="add a judge (or update one with the same email)")
    add.add_argument("--name", required=True)
    add.add_argument("--email", required=True)
    add.add_argument("--organisation", default="", help="where they work, e.g. 'Northshire NHS Foundation Trust'")
    _db(add)
    add.set_defaults(handler=_judges_add)
    listing = judge_actions.add_parser("list", help="list judges with their assignments in the round")
    _db(listing)
    _round(listing)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_judges_list)
    judges.set_defaults(handler=_judges_list, db=None, round=None, json=False)

    round_ = subparsers.add_parser("round", help="create or show a judging round")
    round_actions = round_.add_subparsers(dest="round_command", metavar="ACTION", title="actions")
    create = round_actions.add_parser("create", help="open a judging round on a rubric")
    create.add_argument("name", metavar="NAME", help="e.g. 'Inclusive Leader 2026'")
    create.add_argument("--rubric", required=True, help="rubric name or YAML file, e.g. inclusive-leader")
    create.add_argument("--k", type=int, default=3, help="judges per nomination (default: %(default)s)")
    create.add_argument("--not-blind", action="store_true", help="show judges the nominee's name and organisation")
    create.add_argument("--show-panel", action="store_true",
                        help="after submitting, judges see the other judges' submitted scores")
    _db(create)
    create.set_defaults(handler=_round_create)
    show = round_actions.add_parser("show", help="the round at a glance")
    show.add_argument("name", metavar="NAME", nargs="?")
    show.add_argument("--json", action="store_true")
    _db(show)
    show.set_defaults(handler=_round_show)
    round_.set_defaults(handler=_round_show, name=None, json=False, db=None)

    conflicts = subparsers.add_parser("conflicts", help="detect, declare and list conflicts of interest")
    conflict_actions = conflicts.add_subparsers(dest="conflicts_command", metavar="ACTION", title="actions")
    detect = conflict_actions.add_parser(
        "detect", help="find conflicts: same organisation as the nominee, or the judge is the nominator")
    _db(detect)
    _round(detect)
    detect.set_defaults(handler=_conflicts_detect)
    declare = conflict_actions.add_parser("declare", help="record a conflict (scores withdrawn, nomination "
                                                          "reassigned if it was assigned)")
    declare.add_argument("--judge", required=True, help="judge id or email")
    declare.add_argument("--nomination", required=True, help="nomination reference, e.g. N0012")
    declare.add_argument("--reason", required=True)
    _db(declare)
    _round(declare)
    declare.set_defaults(handler=_conflicts_declare)
    clist = conflict_actions.add_parser("list", help="list the round's conflicts")
    clist.add_argument("--json", action="store_true")
    _db(clist)
    _round(clist)
    clist.set_defaults(handler=_conflicts_list)
    conflicts.set_defaults(handler=_conflicts_list, json=False, db=None, round=None)

    allocate = subparsers.add_parser(
        "allocate", help="give each nomination to k judges, avoiding conflicts",
        description="Each active nomination goes to k judges: never a judge with a conflict of interest, loads "
                    "balanced to within one, review order shuffled per judge. The same seed gives the same "
                    "result. Existing assignments are kept; only gaps are filled.")
    allocate.add_argument("--k", type=int, help="judges per nomination (default: the round's setting)")
    allocate.add_argument("--seed", type=int, default=1, help="random seed (default: %(default)s)")
    allocate.add_argument("--from-csv", metavar="FILE", help="instead, add the (nomination, judge) pairs in FILE")
    allocate.add_argument("--json", action="store_true")
    _db(allocate)
    _round(allocate)
    allocate.set_defaults(handler=_allocate)

    assignments = subparsers.add_parser("assignments", help="explain, add or remove one assignment by hand")
    assignment_actions = assignments.add_subparsers(dest="assignments_command", metavar="ACTION", title="actions")
    for name, text in (("explain", "why this judge has (or has not) got this nomination"),
                       ("add", "assign a nomination to a judge"),
                       ("remove", "take a nomination off a judge (scores withdrawn, kept in history)")):
        action = assignment_actions.add_parser(name, help=text)
        action.add_argument("--judge", required=True, help="judge id or email")
        action.add_argument("--nomination", required=True, help="nomination reference, e.g. N0012")
        if name != "explain":
            action.add_argument("--reason", required=name == "remove", default="")
        _db(action)
        _round(action)
        action.set_defaults(handler=_assignment, action=name)
    assignments.set_defaults(handler=lambda args: assignments.print_help() or 0)

    links = subparsers.add_parser(
        "links", help="print each judge's personal link and the organiser link",
        description="Issues new secret links (only their hashes are stored, so earlier links stop working) and "
                    "prints them. Send each judge their own link; keep the organiser link to yourself.")
    links.add_argument("--base-url", default="http://127.0.0.1:8866", help="where the apps are served "
                                                                           "(default: %(default)s)")
    links.add_argument("--judge", help="only this judge (id or email)")
    links.add_argument("--no-organiser", action="store_true", help="do not issue a new organiser link")
    links.add_argument("--json", action="store_true")
    _db(links)
    links.set_defaults(handler=_links)

    sheets = subparsers.add_parser(
        "scoresheets", help="write a judge's offline Excel scoresheet",
        description="One row per nomination assigned to the judge, answers shown, score cells limited to the "
                    "rubric's scale, everything else locked. Read it back with `workbench import scores FILE`.")
    sheets.add_argument("--judge", required=True, help="judge id or email")
    sheets.add_argument("--out", required=True, metavar="FILE.xlsx")
    _db(sheets)
    _round(sheets)
    sheets.set_defaults(handler=_scoresheets)

    scores = import_subparsers(subparsers).add_parser(
        "scores", help="import scores from an offline scoresheet (.xlsx) or a long CSV",
        description="Reads a scoresheet written by `workbench scoresheets`, or a CSV with the columns nomination, "
                    "judge, criterion, score, comment. Every bad cell is reported with its row and column; "
                    "everything else is saved.")
    scores.add_argument("file", metavar="FILE")
    scores.add_argument("--json", action="store_true")
    _db(scores)
    _round(scores)
    scores.set_defaults(handler=_import_scores)

    serve = subparsers.add_parser("serve", help="serve the apps with Voilà",
                                  description="Serves the apps in notebooks/ with Voilà on this computer "
                                              "(127.0.0.1). Open them with the links from `workbench links`.")
    serve.add_argument("--port", type=int, default=8866, help="port (default: %(default)s)")
    serve.add_argument("--ip", default="127.0.0.1", help="address to listen on (default: %(default)s; put a "
                                                         "proxy with HTTPS in front before opening it up)")
    serve.add_argument("--notebooks", metavar="DIR", help="folder of notebooks (default: the shipped notebooks/)")
    _db(serve)
    _round(serve)
    serve.set_defaults(handler=_serve)


# ---------------------------------------------------------------------------------------


def _get_round(session, name):
    from workbench.panel import get_round

    return get_round(session, name)


def _nomination(session, round_: Round, ref: str) -> Nomination:
    nomination = session.scalar(select(Nomination).where(Nomination.round_id == round_.id,
                                                         Nomination.reference == ref.strip().upper()))
    if nomination is None and ref.strip().isdigit():
        nomination = session.get(Nomination, int(ref))
    if nomination is None or nomination.round_id != round_.id:
        raise NotFound(f"No nomination {ref!r} in round {round_.name!r}. List them with `workbench nominations`.")
    return nomination


def _judges_add(args) -> int:
    from workbench.panel import add_judge

    with session_scope(args.db) as s:
        judge = add_judge(s, name=args.name, email=args.email, organisation=args.organisation)
        print(f"Judge {judge.id}: {judge.name} <{judge.email}>" + (f", {judge.organisation}" if judge.organisation
                                                                   else ""))
    return 0


def _judges_list(args) -> int:
    from workbench.allocation import judge_loads

    with session_scope(args.db) as s:
        judges = list(s.scalars(select(Judge).order_by(Judge.id)))
        round_ = s.scalar(select(Round).order_by(Round.id.desc()).limit(1)) if not args.round else \
            _get_round(s, args.round)
        loads = judge_loads(s, round_=round_) if round_ else {}
        rows = [{"id": j.id, "name": j.name, "email": j.email, "organisation": j.organisation, "active": j.active,
                 "assigned": loads.get(j.id, 0), "has_link": j.token_hash is not None} for j in judges]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    if not rows:
        print("No judges yet. Add one with `workbench judges add --name NAME --email EMAIL`.")
    for r in rows:
        print(f"  {r['id']:>4}  {r['name'][:30]:30} {r['email'][:34]:34} {r['organisation'][:36]:36} "
              f"{r['assigned']:>4} assigned" + ("" if r["active"] else "  (inactive)"))
    return 0


def _round_create(args) -> int:
    from workbench.panel import create_round
    from workbench.rubric import load_rubric

    with session_scope(args.db) as s:
        round_ = create_round(s, name=args.name, rubric=load_rubric(args.rubric), judges_per_nomination=args.k,
                              blind=not args.not_blind, show_panel_after_submit=args.show_panel)
        print(f"Round {round_.name!r} created: {args.k} judges per nomination, "
              f"{'blind' if round_.blind else 'not blind'}, other judges' scores "
              f"{'shown' if round_.show_panel_after_submit else 'not shown'} after submitting.")
    return 0


def _round_show(args) -> int:
    from workbench.allocation import nominations_short_of_judges
    from workbench.panel import round_summary

    with session_scope(args.db) as s:
        round_ = _get_round(s, args.name)
        data = round_summary(s, round_=round_)
        data["blind"] = round_.blind
        data["show_panel_after_submit"] = round_.show_panel_after_submit
        data["short_of_judges"] = nominations_short_of_judges(s, round_=round_)
    if args.json:
        print(json.dumps(data, ensure_ascii=False))
        return 0
    print(f"Round {data['round']!r}: {data['rubric']}; {data['nominations']} nominations, "
          f"{data['judges_per_nomination']} judges each, {'blind' if data['blind'] else 'not blind'}.")
    print(f"Conflicts of interest: {data['conflicts']}. Scoresheets submitted: {data['submitted']} of "
          f"{data['assigned']}.")
    for j in data["judges"]:
        print(f"  {j['judge'][:30]:30} {j['organisation'][:36]:36} {j['submitted']:>3} of {j['assigned']:>3}")
    for n in data["short_of_judges"]:
        print(f"  {n['reference']} has {n['judges']} of {n['wanted']} judges: run `workbench allocate` to fill it.")
    return 0


def _conflicts_detect(args) -> int:
    from workbench.conflicts import detect_conflicts

    with session_scope(args.db) as s:
        round_ = _get_round(s, args.round)
        found = detect_conflicts(s, round_=round_, actor="cli")
        new = [c for c in found if c.new]
        print(f"{len(found)} conflict(s) of interest found in round {round_.name!r}, {len(new)} new.")
        for c in new:
            print(f"  {c.source:12} {c.reason}")
    return 0


def _conflicts_declare(args) -> int:
    from workbench.conflicts import declare_conflict
    from workbench.panel import get_judge

    with session_scope(args.db) as s:
        round_ = _get_round(s, args.round)
        judge = get_judge(s, args.judge)
        nomination = _nomination(s, round_, args.nomination)
        outcome = declare_conflict(s, round_=round_, judge_id=judge.id, nomination_id=nomination.id,
                                   reason=args.reason, source="organiser", actor="cli")
        print(outcome.message)
    return 0


def _conflicts_list(args) -> int:
    from workbench.conflicts import list_conflicts

    with session_scope(args.db) as s:
        rows = list_conflicts(s, round_=_get_round(s, args.round))
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    print(f"{len(rows)} conflict(s) of interest:")
    for r in rows:
        print(f"  {r['nomination']:6} {r['judge'][:28]:28} {r['source']:12} {r['reason']}")
    return 0


def _allocate(args) -> int:
    from workbench.allocation import allocate, import_allocation

    with session_scope(args.db) as s:
        round_ = _get_round(s, args.round)
        if args.from_csv:
            report = import_allocation(s, round_=round_, path=args.from_csv, actor="cli")
            print(json.dumps(report.to_dict(), ensure_ascii=False) if args.json else report.summary())
            return 0
        result = allocate(s, round_=round_, seed=args.seed, k=args.k, actor="cli")
        print(json.dumps(result.to_dict(), ensure_ascii=False) if args.json else result.describe())
    return 0


def _assignment(args) -> int:
    from workbench.allocation import add_assignment, explain, remove_assignment
    from workbench.panel import get_judge

    with session_scope(args.db) as s:
        round_ = _get_round(s, args.round)
        judge = get_judge(s, args.judge)
        nomination = _nomination(s, round_, args.nomination)
        if args.action == "explain":
            print(explain(s, round_=round_, judge_id=judge.id, nomination_id=nomination.id))
        elif args.action == "add":
            add_assignment(s, round_=round_, judge_id=judge.id, nomination_id=nomination.id, actor="cli",
                           reason=args.reason)
            print(f"{nomination.reference} assigned to {judge.name}.")
        else:
            print(remove_assignment(s, round_=round_, judge_id=judge.id, nomination_id=nomination.id, actor="cli",
                                    reason=args.reason))
    return 0


def _links(args) -> int:
    from workbench.panel import get_judge
    from workbench.serve import issue_judge_token, issue_organiser_token, link

    out: dict = {"judges": []}
    with session_scope(args.db) as s:
        judges = [get_judge(s, args.judge)] if args.judge else list(
            s.scalars(select(Judge).where(Judge.active.is_(True)).order_by(Judge.id)))
        for judge in judges:
            token = issue_judge_token(s, judge=judge)
            out["judges"].append({"id": judge.id, "name": judge.name, "email": judge.email,
                                  "link": link(args.base_url, "judge.ipynb", token)})
        if not args.no_organiser and not args.judge:
            out["organiser"] = link(args.base_url, "overview.ipynb", issue_organiser_token(s))
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
        return 0
    print("New personal links (earlier links no longer work). Send each judge only their own:")
    for j in out["judges"]:
        print(f"  {j['name']} <{j['email']}>\n    {j['link']}")
    if "organiser" in out:
        print(f"Organiser link (overview, import, agreement, moderation, shortlist):\n    {out['organiser']}")
    return 0


def _scoresheets(args) -> int:
    from workbench.panel import get_judge
    from workbench.scoresheets import write_scoresheet

    with session_scope(args.db) as s:
        round_ = _get_round(s, args.round)
        judge = get_judge(s, args.judge)
        summary = write_scoresheet(s, round_=round_, judge_id=judge.id, path=args.out)
    print(summary)
    return 0


def _import_scores(args) -> int:
    from workbench.scoresheets import import_scores

    report = import_scores(path=args.file, url=args.db, round_name=args.round)
    print(report.to_json() if args.json else report.summary())
    return 0 if not report.fatal else 1


def _serve(args) -> int:
    from workbench.serve import serve

    return serve(url=args.db, port=args.port, notebook_dir=args.notebooks, round_name=args.round, ip=args.ip)

