"""`workbench moderation ...`: the queue, decisions, the audit trail and the rules.

    workbench moderation queue [--db URL] [--round NAME] [--all] [--json]
    workbench moderation decide --nomination REF --criterion ID (--score X | --no-change)
                                --reason CODE --rationale TEXT --moderator NAME
    workbench moderation log --out FILE.csv [--anonymise]
    workbench moderation reasons
    workbench moderation rules [--range-threshold X] [--sd-limit X] [--outlier-share X]
                               [--min-complete N] [--flag-withdrawn yes|no] [--actor NAME]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, replace

from workbench.errors import WorkbenchError
from workbench.moderation import (
    REASON_CODES,
    audit_trail,
    moderation_queue,
    nomination_by_reference,
    queue_rules,
    record_decision,
    set_queue_rules,
)
from workbench.panel import get_round
from workbench.store import session_scope


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", metavar="URL", help="database URL or SQLite file (default: WORKBENCH_DB or "
                                                    "./workbench.db)")
    parser.add_argument("--round", metavar="NAME", help="the judging round (default: the newest)")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "moderation", help="the moderation queue, decisions with reasons, and the audit trail",
        description="Moderators resolve disagreements between judges. Every decision is kept with the value "
                    "before and after, who, when and why.",
    )
    commands = parser.add_subparsers(dest="moderation_command", metavar="ACTION", title="actions")

    queue = commands.add_parser("queue", help="nominations flagged for moderation, with the reasons",
                                description="Lists flagged nominations that still need a decision, each with the "
                                            "reasons in plain words.")
    _common(queue)
    queue.add_argument("--all", action="store_true", help="include nominations already resolved")
    queue.add_argument("--json", action="store_true", help="print JSON")
    queue.set_defaults(handler=_queue)

    decide = commands.add_parser("decide", help="record a moderated score, or no change, with a reason",
                                 description="Records one decision on one criterion of one nomination. The value "
                                             "before is worked out from the data.")
    _common(decide)
    decide.add_argument("--nomination", required=True, metavar="REF", help="the nomination, e.g. N0007")
    decide.add_argument("--criterion", required=True, metavar="ID", help="the criterion, e.g. Q2")
    value = decide.add_mutually_exclusive_group(required=True)
    value.add_argument("--score", metavar="X", help="the moderated score (a number or a level label)")
    value.add_argument("--no-change", action="store_true", help="keep the judges' scores as they are")
    decide.add_argument("--reason", required=True, metavar="CODE",
                        help="reason code: " + ", ".join(REASON_CODES) + " (see `workbench moderation reasons`)")
    decide.add_argument("--rationale", required=True, metavar="TEXT", help="why, in a sentence or more")
    decide.add_argument("--moderator", required=True, metavar="NAME", help="who is recording the decision")
    decide.set_defaults(handler=_decide)

    log = commands.add_parser("log", help="export the audit trail of decisions as CSV",
                              description="Writes every moderation decision, oldest first: before, after, who, "
                                          "when, the reason code and the rationale.")
    _common(log)
    log.add_argument("--out", required=True, metavar="FILE.csv", help="the CSV file to write")
    log.add_argument("--anonymise", action="store_true", help="moderators by letter, names in rationales removed")
    log.set_defaults(handler=_log)

    reasons = commands.add_parser("reasons", help="the reason codes and what they mean")
    reasons.set_defaults(handler=_reasons)

    rules = commands.add_parser("rules", help="show or change the round's moderation rules",
                                description="Without options, shows the rules. Give 'off' to switch a rule off.")
    _common(rules)
    rules.add_argument("--range-threshold", metavar="X", help="flag when highest minus lowest is at least X")
    rules.add_argument("--sd-limit", metavar="X", help="flag when the standard deviation is above X")
    rules.add_argument("--outlier-share", metavar="X", help="flag a judge's total this share of the range away "
                                                            "from the median (0-1)")
    rules.add_argument("--min-complete", metavar="N", help="flag when fewer than N judges scored every criterion")
    rules.add_argument("--flag-withdrawn", choices=("yes", "no"), help="flag nominations with withdrawn scores")
    rules.add_argument("--actor", default="", metavar="NAME", help="who is changing the rules (audit trail)")
    rules.set_defaults(handler=_rules)
    parser.set_defaults(handler=lambda _args: parser.print_help() or 0)


def _queue(args: argparse.Namespace) -> int:
    with session_scope(args.db) as s:
        round_ = get_round(s, args.round)
        items = moderation_queue(s, round_=round_, include_resolved=args.all)
        if args.json:
            print(json.dumps({"round": round_.name, "items": [i.to_dict() for i in items]}, indent=2,
                             ensure_ascii=False))
            return 0
        if not items:
            print(f"Nothing to moderate in {round_.name!r}: no open flags.")
            return 0
        print(f"{round_.name}: {len(items)} nomination(s) to moderate")
        for item in items:
            print(f"\n{item.summary()}")
            for flag in item.flags:
                state = "" if flag in item.open_flags else " (resolved)"
                print(f"  - {flag.reason}{state}")
    return 0


def _decide(args: argparse.Namespace) -> int:
    with session_scope(args.db) as s:
        round_ = get_round(s, args.round)
        nomination = nomination_by_reference(s, round_=round_, reference=args.nomination)
        decision = record_decision(s, round_=round_, nomination_id=nomination.id, criterion_id=args.criterion,
                                   after=args.score, no_change=args.no_change, reason_code=args.reason,
                                   rationale=args.rationale, moderator=args.moderator)
        print(f"Recorded: {decision.describe()}")
    return 0


def _log(args: argparse.Namespace) -> int:
    from workbench.export import _Redactor, letters, moderation_log_sheet, render_csv

    if not args.out.lower().endswith(".csv"):
        raise WorkbenchError(f"The output file should end in .csv; got {args.out!r}.")
    with session_scope(args.db) as s:
        round_ = get_round(s, args.round)
        trail = audit_trail(s, round_=round_)
    labels, redact = None, None
    if args.anonymise:
        moderators = list(dict.fromkeys(trail["moderator"]))
        labels = {m: f"Moderator {letters(i)}" for i, m in enumerate(moderators)}
        redact = _Redactor(moderators)
    render_csv(moderation_log_sheet(trail, moderator_label=labels, redact=redact), args.out)
    print(f"Wrote {len(trail)} decision(s) to {args.out}.")
    return 0


def _reasons(_args: argparse.Namespace) -> int:
    width = max(len(code) for code in REASON_CODES)
    for code, meaning in REASON_CODES.items():
        print(f"{code:<{width}}  {meaning}")
    return 0


def _parse(value: str | None, kind, name: str):
    if value is None:
        return ...
    if value.strip().lower() in {"off", "none"}:
        return None
    try:
        return kind(value)
    except ValueError:
        raise WorkbenchError(f"--{name} needs a {'whole ' if kind is int else ''}number or 'off'; got {value!r}.") \
            from None


def _rules(args: argparse.Namespace) -> int:
    changes = {
        "range_threshold": _parse(args.range_threshold, float, "range-threshold"),
        "sd_limit": _parse(args.sd_limit, float, "sd-limit"),
        "outlier_share": _parse(args.outlier_share, float, "outlier-share"),
        "min_complete": _parse(args.min_complete, int, "min-complete"),
    }
    changes = {k: v for k, v in changes.items() if v is not ...}
    if args.flag_withdrawn is not None:
        changes["flag_withdrawn"] = args.flag_withdrawn == "yes"
    with session_scope(args.db) as s:
        round_ = get_round(s, args.round)
        rules = queue_rules(round_)
        if changes:
            rules = set_queue_rules(s, round_=round_, rules=replace(rules, **changes), actor=args.actor)
        print(f"Moderation rules for {round_.name!r}:")
        for key, value in asdict(rules).items():
            print(f"  {key}: {'off' if value is None else value}")
        for line in rules.describe():
            print(f"  - {line}")
    return 0
