"""`workbench unit ...`: mark learners' work for a unit, with an IQA second-marking a sample.

    workbench unit import FILE_OR_FOLDER [--cohort NAME]     learners' work from .xlsx/.csv or .docx/.txt files
    workbench unit assign --assessor PERSON [...]            give learners without one an assessor
    workbench unit learners                                  every learner: assessor, progress, outcome, sample
    workbench unit mark --learner ID --by PERSON MP1=Met ... record marks, notes and misconceptions
    workbench unit sample --seed N --iqa PERSON              draw the IQA sample (documented rule)
    workbench unit agreement [--json]                        assessor–IQA agreement
    workbench unit feedback --out DIR [--format docx|xlsx|both]
    workbench unit demo                                      a marked demo cohort of fictional learners
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from workbench import marking
from workbench.errors import WorkbenchError
from workbench.store import database_url


def _common(parser: argparse.ArgumentParser, *, cohort: bool = True) -> None:
    if cohort:
        parser.add_argument("--cohort", metavar="NAME", help="the cohort (default: the newest)")
    parser.add_argument("--db", metavar="URL", help="database URL or SQLite file (default: ./workbench.db)")


def register(subparsers) -> None:
    unit = subparsers.add_parser(
        "unit", help="mark learners' work for a unit (edi-unit); IQA second-marks a sample",
        description="Unit marking: import learners' written work, assessors mark each marking point (Not met / "
                    "Partly met / Met / Exceeded) with evidence notes and tick common misconceptions, the outcome "
                    "(Pass or Refer) follows the rubric's rule, an IQA second-marks a sample blind, and feedback "
                    "is exported for each learner.")
    actions = unit.add_subparsers(dest="unit_command", metavar="ACTION", title="actions")
    unit.set_defaults(handler=lambda args: unit.print_help() or 0)

    p = actions.add_parser(
        "import", help="import learners' work from a spreadsheet or a folder of .docx/.txt files",
        description="A spreadsheet (.xlsx, .csv) has one row per learner with columns such as 'Learner ID', "
                    "'Learner name', 'Email', 'Assessor' and 'Submission'. In a folder, each .docx or .txt file is "
                    "one learner and its name is the learner ID (L0042.docx). Every row or file is reported: "
                    "imported, unchanged, updated, or not imported with the reason. Importing again is safe.")
    p.add_argument("source", metavar="FILE_OR_FOLDER")
    p.add_argument("--cohort", metavar="NAME", help="cohort to import into (default: the rubric id); created if new")
    p.add_argument("--rubric", default=marking.DEFAULT_RUBRIC, help="unit rubric (default: %(default)s)")
    p.add_argument("--column", action="append", default=[], metavar="FIELD=HEADER",
                   help=f"name the column for a field ({', '.join(marking.COLUMN_FIELDS)}), e.g. "
                        "--column submission='Essay'")
    p.add_argument("--sheet", metavar="NAME", help="the Excel sheet to read")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    _common(p, cohort=False)
    p.set_defaults(handler=_import)

    p = actions.add_parser("assign", help="give learners an assessor, balancing the load",
                           description="Learners without an assessor (or those named with --learner) are shared "
                                       "out among the assessors given, fewest learners first.")
    p.add_argument("--assessor", action="append", required=True, metavar="PERSON",
                   help="'Name <email>', an email or a name; repeat for several")
    p.add_argument("--learner", action="append", metavar="ID", help="only these learners (repeatable)")
    _common(p)
    p.set_defaults(handler=_assign)

    p = actions.add_parser("learners", help="list learners with assessor, progress, outcome and IQA sample")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    _common(p)
    p.set_defaults(handler=_learners)

    p = actions.add_parser(
        "mark", help="record one marker's marks, evidence notes and misconceptions for a learner",
        description="Example: workbench unit mark --learner L0001 --by morag@example.org MP1=Met "
                    "MP2='Partly met' --note MP2='No evidence of leading training' --tick MC3 --submit. "
                    "Without marks it shows the marking so far (an IQA sees the assessor's only after submitting).")
    p.add_argument("marks", nargs="*", metavar="MP=LEVEL", help="a level label (Met) or value (2) per marking point")
    p.add_argument("--learner", required=True, metavar="ID", help="learner ID, email or reference")
    p.add_argument("--by", required=True, metavar="PERSON", help="the assessor or IQA (email or name)")
    p.add_argument("--note", action="append", default=[], metavar="MP=TEXT", help="evidence note for a marking point")
    p.add_argument("--tick", action="append", default=[], metavar="CHECK", help="tick a misconception (e.g. MC1)")
    p.add_argument("--untick", action="append", default=[], metavar="CHECK", help="untick a misconception")
    p.add_argument("--submit", action="store_true", help="submit and lock this marking")
    p.add_argument("--json", action="store_true", help="print the marking sheet as JSON")
    _common(p)
    p.set_defaults(handler=_mark)

    p = actions.add_parser("sample", help="draw the IQA sample by the documented rule",
                           description=marking.SAMPLE_RULE.format(percent=10))
    p.add_argument("--seed", type=int, required=True, help="random seed; the same seed gives the same sample")
    p.add_argument("--iqa", action="append", required=True, metavar="PERSON",
                   help="'Name <email>', an email or a name; repeat for several IQAs")
    p.add_argument("--percent", type=float, default=10.0, help="least share of the cohort (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="print the sample as JSON")
    _common(p)
    p.set_defaults(handler=_sample)

    p = actions.add_parser("agreement", help="how far the IQA agrees with the assessors",
                           description=marking.AGREEMENT_METHOD)
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    _common(p)
    p.set_defaults(handler=_agreement)

    p = actions.add_parser("feedback", help="write a feedback document for each marked learner",
                           description="One file per learner, named feedback-<learner id>.docx/.xlsx, from the "
                                       "assessor's marks, evidence notes, misconceptions ticked and the unit's "
                                       "guidance. Learners not marked yet are listed.")
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write into (created if missing)")
    p.add_argument("--format", choices=["docx", "xlsx", "both"], default="docx", help="default: %(default)s")
    p.add_argument("--learner", action="append", metavar="ID", help="only these learners (repeatable)")
    _common(p)
    p.set_defaults(handler=_feedback)

    p = actions.add_parser("demo", help="build a marked demo cohort of fictional learners",
                           description="24 fictional learners, 3 assessors, an IQA sample marked blind. "
                                       "Nobody in it is real.")
    p.add_argument("--seed", type=int, default=marking.DEMO_SEED, help="random seed (default: %(default)s)")
    _common(p, cohort=False)
    p.set_defaults(handler=_demo)


def _pairs(items: list[str], what: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise WorkbenchError(f"{item!r} is not {what}; write it as KEY=VALUE, e.g. MP1=Met.")
        out[key.strip()] = value.strip()
    return out


def _import(args: argparse.Namespace) -> int:
    report = marking.import_submissions(source=args.source, cohort=args.cohort, rubric=args.rubric,
                                        columns=_pairs(args.column, "a column") or None, sheet=args.sheet,
                                        url=database_url(args.db))
    print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) if args.json else report.summary())
    return 0


def _assign(args: argparse.Namespace) -> int:
    done = marking.assign_assessors(assessors=args.assessor, learners=args.learner, cohort=args.cohort,
                                    url=database_url(args.db))
    for a in done:
        print(f"{a.learner_id}: {a.marker}")
    print(f"{len(done)} learner(s) assigned.")
    return 0


def _learners(args: argparse.Namespace) -> int:
    rows = marking.cohort_status(cohort=args.cohort, url=database_url(args.db))
    if args.json:
        print(json.dumps([asdict(r) for r in rows], ensure_ascii=False, indent=2))
        return 0
    print(f"{'Learner':<12} {'Name':<24} {'Assessor':<20} {'Marking':<26} {'Outcome':<8} IQA")
    for r in rows:
        iqa = f"{r.iqa}: {r.iqa_status}" + (f", {r.iqa_outcome}" if r.iqa_outcome else "") if r.sampled else ""
        print(f"{r.learner_id:<12} {r.name[:24]:<24} {r.assessor[:20] or '-':<20} {r.assessor_status:<26} "
              f"{r.outcome or '':<8} {iqa}")
    return 0


def _mark(args: argparse.Namespace) -> int:
    marks = _pairs(args.marks, "a mark")
    notes = _pairs(args.note, "a note")
    both = set(args.tick) & set(args.untick)
    if both:
        raise WorkbenchError(f"{', '.join(sorted(both))} is both ticked and unticked; choose one.")
    ticks = {c: True for c in args.tick} | {c: False for c in args.untick}
    sheet = marking.record_marking(learner=args.learner, marker=args.by, marks=marks, notes=notes, ticks=ticks,
                                   submit=args.submit, cohort=args.cohort, url=database_url(args.db))
    if args.json:
        data = asdict(sheet)
        data.pop("submission", None)
        if data.get("counterpart"):
            data["counterpart"].pop("submission", None)
        print(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        print(sheet.describe())
    return 0


def _sample(args: argparse.Namespace) -> int:
    report = marking.draw_iqa_sample(iqa=args.iqa, seed=args.seed, percent=args.percent, cohort=args.cohort,
                                     actor="cli", url=database_url(args.db))
    print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) if args.json else report.describe())
    return 0


def _agreement(args: argparse.Namespace) -> int:
    report = marking.agreement_report(cohort=args.cohort, url=database_url(args.db))
    print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) if args.json else report.describe())
    return 0


def _feedback(args: argparse.Namespace) -> int:
    formats = ("docx", "xlsx") if args.format == "both" else (args.format,)
    result = marking.export_feedback(out=args.out, formats=formats, learners=args.learner, cohort=args.cohort,
                                     url=database_url(args.db))
    print(result.describe())
    return 0


def _demo(args: argparse.Namespace) -> int:
    url = database_url(args.db)
    if marking.DEMO_COHORT in marking.list_cohorts(url=url):
        print(f"The demo cohort {marking.DEMO_COHORT!r} is already there; using it.", file=sys.stdout)
        return 0
    print(marking.build_unit_demo(url=url, seed=args.seed).describe())
    return 0
