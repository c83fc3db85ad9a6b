"""`workstation metrics DIR [--json] [--truth final|consensus|original|report|READER] [--model PLUGIN]
[--threshold T] [--ci delong|bootstrap]`: a project's model-vs-truth metrics and reader agreement.
Detection projects are scored per candidate: FROC, CPM and the operating point of the detector
against the readers' decisions (core/review/froc.py, the same numbers as the FROC tab)."""
from __future__ import annotations

import argparse
import json
import sys

from workstation.core.vocab import Task, Truth

DETECTION_BOOTSTRAP = 1000  # subjects resampled for the detection CIs


def register(subparsers) -> None:
    p = subparsers.add_parser("metrics", help="a project's metrics: the model against the readers' labels")
    p.add_argument("dir", metavar="DIR", help="project folder")
    p.add_argument("--json", action="store_true", help="print the full result as JSON")
    p.add_argument("--truth", default="final",
                   help="final (default), consensus, original, report (labels mined from reports), or a reader's "
                        "name (that reader's final labels); detection: final (every reader's newest decision) "
                        "or a reader's name")
    p.add_argument("--model", default=None, help="plugin id of the predictions (default: the most recent)")
    p.add_argument("--threshold", type=float, default=0.5, help="score >= T is called positive (default 0.5)")
    p.add_argument("--ci", choices=("delong", "bootstrap"), default="delong",
                   help="AUC interval method (detection: always a bootstrap over subjects)")
    p.add_argument("--level", default=None, metavar="DEPTH|leaf",
                   help="a project with a taxonomy: labels and predictions read at this level (1 = the top split)")
    p.add_argument("--positive", default=None, metavar="NODE",
                   help="with --level: the positive node of a two-node level (default: the second node)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from workstation.core.errors import WorkstationError
    from workstation.core.project import Project, ProjectError

    try:
        with Project.open(args.dir) as project:
            if args.model is not None and args.model not in project.prediction_plugins():
                known = ", ".join(project.prediction_plugins()) or "none"
                raise ProjectError(f"no predictions from model {args.model!r} (models: {known})")
            result = _detection(project, args) if project.task == Task.DETECTION else _cases(project, args)
            result["reader_agreement"] = reader_agreement(project)
            from workstation.core.segmentation.agreement import segmentation_section

            result["segmentation"] = segmentation_section(project)
    except (WorkstationError, ValueError, OSError) as exc:
        print(f"workstation metrics: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=2, allow_nan=False))
    elif project.task == Task.DETECTION:
        print(_detection_text(result))
    elif result.get("level") is not None:
        from workstation.commands.evaluate import level_summary

        print(f"{result['project']}: model {result['model']} vs {result['truth']} labels")
        print(level_summary(result))
    elif result.get("n"):
        from workstation.commands.evaluate import summary

        print(f"{result['project']}: model {result['model']} vs {result['truth']} labels")
        print(summary(result))
    else:
        print(f"{result['project']}: {result['reason']}")
    return 0


def _head(project, args, model) -> dict:
    return {"project": str(project.directory), "task": project.task, "classes": project.classes,
            "truth": args.truth, "model": model, "n_cases": len(project)}


def _cases(project, args) -> dict:
    from workstation.core.metrics.report import report
    from workstation.core.metrics.tables import evaluate_table

    if args.level is not None or args.positive is not None or project.taxonomy is not None:
        return _at_level(project, args)  # a taxonomy's project: at the leaves, counting coarser labels
    table = project.evaluation_table(args.truth, args.model)
    head = _head(project, args, table.plugin_id)
    if len(table):
        result = {**head, **report(evaluate_table(table, args.ci), args.threshold)}
    else:
        reason = ("no predictions in this project" if table.plugin_id is None
                  else f"no case has both a {args.truth} label and a prediction")
        result = {**head, "n": 0, "reason": reason}
    result["task"] = project.task
    return result


def _at_level(project, args) -> dict:
    from workstation.core.metrics.levels import level_report

    table = project.evaluation_table(args.truth, args.model, level=args.level or "leaf", positive=args.positive)
    result = {**_head(project, args, table.plugin_id), **level_report(table, args.threshold, args.ci)}
    if not len(table) and table.plugin_id is None:
        result["reason"] = "no predictions in this project"
    return result


def _detection(project, args) -> dict:
    from workstation.core.metrics.report import clean
    from workstation.core.project import ProjectError
    from workstation.core.review.froc import froc_report

    if args.truth in (Truth.CONSENSUS, Truth.ORIGINAL, Truth.REPORT):
        raise ProjectError(f"a detection project's truth is the readers' decisions: --truth final or a reader's "
                           f"name, not {args.truth!r}")
    reader = None if args.truth == Truth.FINAL else args.truth
    if reader is not None and reader not in project.readers():
        raise ProjectError(f"no reader {reader!r} in this project (readers: {', '.join(project.readers()) or 'none'})")
    model = args.model or next(iter(project.prediction_plugins()), None)
    froc = froc_report(project, reader, model, args.threshold, bootstrap=DETECTION_BOOTSTRAP)
    report = froc.pop("report")
    result = {**_head(project, args, model), **froc, "threshold": args.threshold}
    if report is not None:
        result.update(report.to_json())
    return clean(result)


def _detection_text(r: dict) -> str:
    head = f"{r['project']}: detector {r['model']} vs {r['truth']} decisions"
    if r.get("reason"):
        return f"{head}\n  {r['reason']}"

    def fmt(key):
        ci = r["ci"].get(key)
        value = r.get(key)
        text = "—" if value is None else f"{value:.3f}"
        return text + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci and None not in ci else "")

    lines = [head, f"  {r['n_subjects']} reviewed subject(s), {r['n_lesions']} lesion(s), "
                   f"{r['pending']} candidate(s) still to review; threshold {r['threshold']}"]
    lines += [f"  {key:15s} {fmt(key)}" for key in ("sensitivity", "precision", "f1", "fp_per_subject", "cpm")]
    return "\n".join(lines)


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
