"""`workstation metrics DIR [--json] [--truth final|consensus|original|report|READER] [--model PLUGIN]
[--threshold T] [--ci delong|bootstrap]`: a project's model-vs-truth metrics and reader agreement."""
from __future__ import annotations

import argparse
import json
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser("metrics", help="a project's metrics: the model against the readers' labels")
    p.add_argument("dir", metavar="DIR", help="project folder")
    p.add_argument("--json", action="store_true", help="print the full result as JSON")
    p.add_argument("--truth", default="final",
                   help="final (default), consensus, original, report (labels mined from reports), or a reader's "
                        "name (that reader's final labels)")
    p.add_argument("--model", default=None, help="plugin id of the predictions (default: the most recent)")
    p.add_argument("--threshold", type=float, default=0.5, help="score >= T is called positive (default 0.5)")
    p.add_argument("--ci", choices=("delong", "bootstrap"), default="delong", help="AUC interval method")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from workstation.commands.evaluate import summary
    from workstation.core.metrics.report import report
    from workstation.core.metrics.tables import evaluate_table
    from workstation.core.project import Project, ProjectError

    try:
        with Project.open(args.dir) as project:
            if project.task == "detection":
                raise ProjectError("a detection project is scored per candidate (FROC), not with case metrics")
            if args.model is not None and args.model not in project.prediction_plugins():
                known = ", ".join(project.prediction_plugins()) or "none"
                raise ProjectError(f"no predictions from model {args.model!r} (models: {known})")
            table = project.evaluation_table(args.truth, args.model)
            head = {"project": str(project.directory), "task": project.task, "classes": project.classes,
                    "truth": args.truth, "model": table.plugin_id, "n_cases": len(project)}
            if len(table):
                result = {**head, **report(evaluate_table(table, args.ci), args.threshold)}
            else:
                reason = ("no predictions in this project" if table.plugin_id is None
                          else f"no case has both a {args.truth} label and a prediction")
                result = {**head, "n": 0, "reason": reason}
            result["task"] = project.task
            result["reader_agreement"] = reader_agreement(project)
    except (ProjectError, ValueError, OSError) as exc:
        print(f"workstation metrics: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=2, allow_nan=False))
    elif result.get("n"):
        print(f"{result['project']}: model {result['model']} vs {result['truth']} labels")
        print(summary(result))
    else:
        print(f"{result['project']}: {result['reason']}")
    return 0


def reader_agreement(project) -> dict:
    """The project's reader agreement (workstation.core.project.readers) as JSON."""
    from workstation.core.metrics.report import clean
    from workstation.core.project.readers import agreement

    a = agreement(project)

    def kappa(k) -> dict:
        if k is None:
            return {"n": 0, "kappa": None, "kappa_ci": [None, None], "reason": "no case labelled by all of them"}
        return {"n": k.n, "kappa": k.kappa, "kappa_ci": list(k.ci), "z": k.z, "p_value": k.p_value, "reason": k.reason}

    if a.method is None:
        return {"readers": a.readers, "method": None, "reason": a.summary()}
    return clean({"readers": a.readers, "method": a.method, **kappa(a.kappa),
                  "pairwise": {pair: kappa(k) for pair, k in a.pairwise.items()}})
