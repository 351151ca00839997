"""The `workbench` command. Each command group lives in its own module here."""

from __future__ import annotations

import argparse
import importlib
import sys

from workbench import __version__
from workbench.errors import WorkbenchError

#: Modules in this package that define ``register(subparsers)``.
COMMAND_MODULES = [
    "demo",
    "rubric",
    "intake",
    "judging",
    "agreement",
    "moderation",
    "export",
    "marking",
]

DESCRIPTION = """\
The award-evaluation workbench: import nominations, judge them against a rubric,
check that judges agree, moderate, and export a shortlist to Excel.

The database is SQLite at ./workbench.db unless you give --db URL or set WORKBENCH_DB."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="workbench",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="In workflow order: set up a round, import, allocate, judge, check agreement, moderate, export.\n"
               "Run `workbench COMMAND --help` for the details of one command.",
    )
    parser.add_argument("--version", action="version", version=f"workbench {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"workbench.cli.{name}")
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 0
    try:
        return int(args.handler(args) or 0)
    except WorkbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
