"""`workstation mine-labels DIR [--json]` — label each case from its radiology report with a
`report_labeler` plugin and store the labels under the tag `report`."""
from __future__ import annotations

import argparse
import json
import sys



def register(subparsers) -> None:
    p = subparsers.add_parser("mine-labels", help="mine finding labels from the cases' report text",
                              description=__doc__)
    p.add_argument("dir", help="project folder")
    p.add_argument("--reports", metavar="CSV", help="first import reports (columns case_id or path, and report)")
    p.add_argument("--plugin", default=None, help="report_labeler plugin id (default: the bundled report-labeler-cxr14)")
    p.add_argument("--reader", default=None, help="reader name the labels are stored under (default report-labeler)")
    p.add_argument("--finding", default=None,
                   help="binary projects: the finding the positive class stands for (default: its name)")
    p.add_argument("--agreement", action="store_true",
                   help="also compare the mined labels with each reader's final labels (kappa, sensitivity, "
                        "specificity); with --json the output becomes {cases: [...], agreement: [...]}")
    p.add_argument("--json", action="store_true", help="print [{case_id, path, findings}] as JSON")
    p.set_defaults(func=run)


def _fail(message: str) -> int:
    print(f"workstation mine-labels: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    from workstation.core.reports import importing as reports
    from workstation.core.project import Project, ProjectError
    from workstation.plugin_host.discovery import PluginNotFound, PluginUnavailable
    from workstation.plugin_host.labelers import load_labeler

    try:
        labeler, manifest = load_labeler(args.plugin)
    except (PluginNotFound, PluginUnavailable) as exc:
        return _fail(str(exc))
    problems: list[str] = []
    try:
        with Project.open(args.dir) as project:
            if args.reports:
                _, problems = reports.import_reports(project, args.reports)
            reader = args.reader or reports.DEFAULT_READER
            results, more = reports.mine_labels(project, labeler, plugin_id=manifest.id,
                                                plugin_version=manifest.version, reader=reader, finding=args.finding)
            agreement = None
            if args.agreement:
                from workstation.core.metrics.report_agreement import compare_with_readers

                agreement = compare_with_readers(project, reader)
    except ProjectError as exc:
        return _fail(str(exc))
    problems += more
    for line in problems:
        print(f"skipped {line}", file=sys.stderr)
    if args.json:
        print(json.dumps(results if agreement is None else {"cases": results, "agreement": agreement}, indent=2))
    else:
        for row in results:
            text = ", ".join(f"{f}={v}" for f, v in row["findings"].items()) or "(no finding mentioned)"
            print(f"{row['case_id']}\t{text}")
        print(f"{len(results)} report(s) labelled with {manifest.id} {manifest.version}"
              + (f"; {len(problems)} skipped (see above)" if problems else ""))
        for row in agreement or []:
            print(_agreement_text(row))
    return 1 if problems and len(more) >= len(results) else 0  # every label failed to store


def _agreement_text(row: dict) -> str:
    def cell(v):
        return "-" if v is None else f"{v:.2f}"

    lines = [f"report labels vs {row['reader']}: {row['cases']} case(s) ({row['left_out']} uncertain or not assessable left out)"]
    for name, m in (row.get("classes") or {"all": row.get("overall", {})}).items():
        lines.append(f"  {name:<20} kappa {cell(m.get('kappa'))}  agreement {cell(m.get('agreement'))}"
                     f"  sensitivity {cell(m.get('sensitivity'))}  specificity {cell(m.get('specificity'))}")
    return "\n".join(lines)
