"""`workstation evaluate PRED.csv [--truth TRUTH.csv] [--json] [--threshold T] [--ci delong|bootstrap]`"""
from __future__ import annotations

import argparse
import json
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate", help="metrics of a prediction CSV against the truth (ROC/AUC with CI, confusion matrix)",
        description="Binary: case_id,label,score. Multi-class: case_id,label,p_<class>... "
                    "Multi-label: case_id,<class>...,p_<class>... (see docs/readme/metrics.md).")
    p.add_argument("predictions", metavar="PRED.csv",
                   help="prediction CSV, or the Parquet results folder of `workstation batch` (needs --truth)")
    p.add_argument("--truth", metavar="TRUTH.csv", help="truth from this file instead of PRED.csv's label column(s)")
    p.add_argument("--json", action="store_true", help="print the full result as JSON")
    p.add_argument("--threshold", type=float, default=0.5,
                   help="score >= T is called positive (binary, multi-label; default 0.5)")
    p.add_argument("--ci", choices=("delong", "bootstrap"), default="delong", help="AUC interval method")
    p.add_argument("--taxonomy", metavar="TREE.json", default=None,
                   help="multi-class: read labels (any node) and p_<leaf> predictions at a level of this tree")
    p.add_argument("--level", default=None, metavar="DEPTH|leaf",
                   help="with --taxonomy: 1 (the top split), 2, ... or leaf (default leaf)")
    p.add_argument("--positive", default=None, metavar="NODE",
                   help="the positive node of a two-node level (default: the second node)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from workstation.core.metrics import prediction_files
    from workstation.core.metrics.report import report

    if args.taxonomy or args.level is not None or args.positive is not None:
        return _at_level(args)
    try:
        from workstation.batch import evaluation as batch_results

        if batch_results.is_results(args.predictions):
            loaded = batch_results.load(args.predictions, args.truth, args.ci)
        else:
            loaded = prediction_files.load(args.predictions, args.truth, args.ci)
        result = report(loaded.evaluation, args.threshold)
    except (prediction_files.PredictionFileError, ValueError) as exc:
        print(f"workstation evaluate: {exc}", file=sys.stderr)
        return 2
    if any(loaded.unmatched.values()):
        result["unmatched"] = loaded.unmatched
    if args.json:
        print(json.dumps(result, indent=2, allow_nan=False))
    else:
        print(summary(result))
    return 0


def _at_level(args: argparse.Namespace) -> int:
    from workstation.core.errors import WorkstationError
    from workstation.core.metrics.levels import level_report
    from workstation.core.metrics.taxonomy_files import load_at_level
    from workstation.core.taxonomy import Taxonomy

    try:
        if not args.taxonomy:
            raise ValueError("--level and --positive need --taxonomy TREE.json")
        taxonomy = Taxonomy.load(args.taxonomy)
        level = "leaf" if args.level is None else args.level
        table, unmatched = load_at_level(args.predictions, args.truth, taxonomy, level, args.positive)
        result = level_report(table, args.threshold, args.ci)
    except (WorkstationError, ValueError) as exc:
        print(f"workstation evaluate: {exc}", file=sys.stderr)
        return 2
    if any(unmatched.values()):
        result["unmatched"] = unmatched
    print(json.dumps(result, indent=2, allow_nan=False) if args.json else level_summary(result))
    return 0


def level_summary(r: dict) -> str:
    """The text of a result at a taxonomy level (level_report's JSON)."""
    head = f"level {r['level']}" + (f": {r['positive']} (positive) vs {r['negative']}" if r["task"] == "binary" else "")
    excluded = (f"; {r['excluded']} case(s) excluded: {r['excluded_reason']}" if r.get("excluded") else "")
    body = summary(r) if r.get("n") else f"{r['task']}: {r.get('reason', 'no cases')}"
    return f"{head}{excluded}\n{body}"


def _fmt(v, ci=None) -> str:
    if v is None:
        return "undefined"
    text = f"{v:.4f}"
    if ci and None not in ci:
        text += f" [{ci[0]:.4f}, {ci[1]:.4f}]"
    return text


def _binary_lines(r: dict, indent: str = "") -> list[str]:
    (tn, fp), (fn, tp) = r["confusion_matrix"]
    lines = [f"{indent}AUC {_fmt(r['auc'], r['auc_ci'])} ({r.get('ci_method', 'delong')})"
             + (f" - {r['auc_reason']}" if r.get("auc_reason") else "")]
    if "threshold" in r and r["threshold"] is not None:
        lines.append(f"{indent}threshold {r['threshold']:g}: TN {tn}  FP {fp}  FN {fn}  TP {tp}")
    for name in ("sensitivity", "specificity", "precision", "npv", "accuracy", "f1"):
        lines.append(f"{indent}{name:<12}{_fmt(r[name], r.get(name + '_ci'))}")
    return lines


def summary(r: dict) -> str:
    lines = [f"{r['task']}: {r['n']} cases"]
    if r["task"] == "binary":
        lines += _binary_lines(r, "  ")
    else:
        if r["task"] == "multiclass":
            lines.append(f"  accuracy {_fmt(r['accuracy'], r['accuracy_ci'])}, "
                         f"Hand & Till AUC {_fmt(r['auc_hand_till'])}")
        for kind in ("macro", "micro", "weighted"):
            lines.append(f"  {kind} AUC {_fmt(r['averages'][kind]['auc'])}, F1 {_fmt(r['averages'][kind]['f1'])}")
        for name, block in r["classes"].items():
            lines.append(f"  {name}:")
            lines += _binary_lines(block, "    ")
    if r.get("unmatched"):
        lines.append(f"  unmatched: {r['unmatched']}")
    return "\n".join(lines)
