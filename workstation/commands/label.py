"""`workstation label DIR CASE_ID LABEL --reader NAME` — scriptable review."""
from __future__ import annotations

import argparse
import json
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser("label", help="record a reader's label for one case")
    p.add_argument("dir", help="project folder")
    p.add_argument("case_id")
    p.add_argument("label", help="a class name; multi-label: 'a;b' (empty '' = none); "
                                 "or uncertain / not_assessable")
    p.add_argument("--reader", default=None, help="reader name (default: settings or the OS user)")
    p.add_argument("--tag", default="final", choices=["final", "original", "adjudicated"])
    p.add_argument("--action", default=None, choices=["confirm", "correct", "adjudicate"],
                   help="default: confirm when the label agrees with the model's top class, else correct")
    p.add_argument("--note", default=None)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from workstation.core import settings
    from workstation.core.project import Project, ProjectError

    reader = args.reader or settings.default_reader()
    try:
        with Project.open(args.dir) as project:
            value = args.label
            if project.task == "multilabel":
                value = [v.strip() for v in value.split(";") if v.strip()]
            action = args.action or ("adjudicate" if args.tag == "adjudicated" else None)
            if action is None:
                record = project.latest_predictions().get(args.case_id)
                top = record.top()[0] if record else None
                action = "confirm" if top is None or value == top or value == [top] else "correct"
            stored = project.set_label(args.case_id, value, reader=reader, tag=args.tag, action=action,
                                       note=args.note)
    except ProjectError as exc:
        print(f"workstation label: {exc}", file=sys.stderr)
        return 2
    result = {"case_id": args.case_id, "reader": reader, "tag": args.tag, "value": stored, "action": action}
    print(json.dumps(result) if args.json else f"{args.case_id}: {stored!r} ({reader}, {args.tag}, {action})")
    return 0
