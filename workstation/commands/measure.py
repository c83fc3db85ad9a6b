"""`workstation measure DIR CASE_ID --reader NAME (--line X1,Y1,Z1,X2,Y2,Z2 | --sphere-roi X,Y,Z,R |
--angle ... | --polygon ...) [--json]`: a measurement in world LPS mm, stored for the reader (audited)
and printed; `--csv` prints the project's measurements instead."""
from __future__ import annotations

import argparse
import json
import re
import sys

from workstation.commands.annotate import numbers


def register(subparsers) -> None:
    p = subparsers.add_parser("measure", help="measure a line, angle or ROI (world mm) and store it for the reader")
    p.add_argument("dir", help="project folder")
    p.add_argument("case_id", nargs="?")
    p.add_argument("--reader", default=None)
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--line", metavar="X1,Y1,Z1,X2,Y2,Z2")
    what.add_argument("--angle", metavar="X1,Y1,Z1,XV,YV,ZV,X2,Y2,Z2", help="the vertex in the middle")
    what.add_argument("--sphere-roi", metavar="X,Y,Z,R")
    what.add_argument("--polygon", metavar="X1,Y1,Z1,...", help="three or more corners in one plane")
    what.add_argument("--csv", action="store_true", help="print the stored measurements as CSV")
    p.add_argument("--label", default="")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)
    # "--sphere -12,5,30,4": a coordinate list that starts with a minus is a value, not an option
    p._negative_number_matcher = re.compile(r"^-\.?\d")


def run(args: argparse.Namespace) -> int:
    from workstation.core.errors import WorkstationError

    try:
        out = _measure(args)
    except (WorkstationError, OSError, ValueError) as exc:
        print(f"workstation measure: {exc}", file=sys.stderr)
        return 2
    if isinstance(out, str):
        sys.stdout.write(out)
    elif args.json:
        print(json.dumps(out, indent=1))
    else:
        print(f"{out['case_id']} {out['measurement_id']} {out['kind']}: "
              + ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in out["result"].items()))
    return 0


def _measure(args):
    from workstation.core.measurements import store
    from workstation.core.project import Project

    if args.csv:
        with Project.open(args.dir) as project:
            return store.to_csv(project, args.case_id, args.reader)
    if not args.case_id or not args.reader:
        raise ValueError("a measurement needs CASE_ID and --reader")
    if args.line:
        kind, v = "line", numbers(args.line, 6, "--line")
        points = [v[:3], v[3:]]
    elif args.angle:
        kind, v = "angle", numbers(args.angle, 9, "--angle")
        points = [v[:3], v[3:6], v[6:]]
    elif args.sphere_roi:
        kind, v = "sphere", numbers(args.sphere_roi, 4, "--sphere-roi")
        if v[3] <= 0:
            raise ValueError(f"--sphere-roi needs a positive radius, got {v[3]:g}")
        points = [v[:3], [v[0] + v[3], v[1], v[2]]]
    else:
        count = args.polygon.count(",") + 1
        if count % 3 or count < 9:
            raise ValueError("--polygon needs three or more X,Y,Z corners")
        kind, v = "polygon", numbers(args.polygon, count, "--polygon")
        points = [v[i:i + 3] for i in range(0, count, 3)]
    with Project.open(args.dir) as project:
        grid = image = None
        if kind in ("sphere", "polygon"):
            from workstation.core.segmentation.grid import Grid
            from workstation.core.segmentation.store import case_volume

            volume = case_volume(project, args.case_id)
            grid, image = Grid.of(volume), volume.array
        from workstation.core.review.session import ReviewSession

        change = ReviewSession(project, reader=args.reader).measure(args.case_id, kind, points, grid, image,
                                                                   label=args.label)
        return next(m for m in store.measurements(project, args.case_id, args.reader)
                    if m.measurement_id == change.candidate_id).to_json()
