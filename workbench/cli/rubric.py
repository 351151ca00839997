"""`workbench rubric ...`: check, list and show rubric files."""

from __future__ import annotations

import argparse
import json

from workbench.rubric import available_rubrics, check_rubric_file, load_rubric, resolve_rubric_path


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "rubric", help="check, list or show rubrics (the questions and score scales)",
        description="Rubrics are YAML files in rubrics/. Check one after editing it.",
    )
    commands = parser.add_subparsers(dest="rubric_command", metavar="ACTION", title="actions")
    check = commands.add_parser("check", help="check rubric files and print every problem at once")
    check.add_argument("files", nargs="+", metavar="FILE", help="rubric YAML file(s) or rubric names")
    check.set_defaults(handler=_check)
    listing = commands.add_parser("list", help="list the rubrics shipped in rubrics/")
    listing.set_defaults(handler=_list)
    show = commands.add_parser("show", help="show a rubric's criteria, weights and scales")
    show.add_argument("name", help="rubric name (e.g. inclusive-leader) or file")
    show.add_argument("--json", action="store_true", help="print the validated rubric as JSON")
    show.set_defaults(handler=_show)
    parser.set_defaults(handler=lambda args: parser.print_help() or 0)


def _check(args: argparse.Namespace) -> int:
    failed = 0
    for name in args.files:
        path = resolve_rubric_path(name)
        problems = check_rubric_file(path)
        if problems:
            failed += 1
            print(f"{path}: {len(problems)} problem(s)")
            for problem in problems:
                print(f"  - {problem.path or '(file)'}: {problem.message}")
        else:
            rubric = load_rubric(path)
            print(f"{path}: OK ({len(rubric.criteria)} criteria, hash {rubric.hash[:12]})")
    return 1 if failed else 0


def _list(args: argparse.Namespace) -> int:
    for name in available_rubrics():
        problems = check_rubric_file(resolve_rubric_path(name))
        if problems:
            print(f"{name:28} (has {len(problems)} problem(s); run `workbench rubric check {name}`)")
            continue
        rubric = load_rubric(name)
        print(f"{name:28} {rubric.title} — {len(rubric.criteria)} criteria")
    return 0


def _show(args: argparse.Namespace) -> int:
    rubric = load_rubric(args.name)
    if args.json:
        print(json.dumps({"hash": rubric.hash, **rubric.document}, indent=2, ensure_ascii=False))
        return 0
    print(f"{rubric.title} ({rubric.id}, hash {rubric.hash[:12]})")
    for c in rubric.criteria:
        print(f"  {c.id:5} weight {c.weight:g}  scale {c.scale.describe()}  {c.title}")
    return 0
