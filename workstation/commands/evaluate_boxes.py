"""`workstation evaluate-boxes PRED TRUTH [--json]` — localisation accuracy and average false
positives per image at IoU and IoBB thresholds, per finding and pooled (Wang et al., CVPR 2017)."""
from __future__ import annotations

import argparse
import json
import sys


def _thresholds(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of numbers: {text!r}") from None
    if not values or any(not 0 <= v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"thresholds must lie in [0, 1): {text!r}")
    return values


def register(subparsers) -> None:
    p = subparsers.add_parser("evaluate-boxes", help="score predicted boxes against ground-truth boxes",
                              description=__doc__)
    p.add_argument("pred", help="predicted boxes: JSON (see docs) or CSV, or a folder of heat maps "
                                "(<image_id>.npy / .npz) to turn into boxes")
    p.add_argument("truth", help="ground-truth boxes: JSON, CSV or the NIH BBox_List_2017.csv")
    p.add_argument("--iou", type=_thresholds, default=None, metavar="T,T,...",
                   help="IoU thresholds (default 0.1,0.2,...,0.7)")
    p.add_argument("--iobb", type=_thresholds, default=None, metavar="T,T,...",
                   help="IoBB thresholds (default 0.1,0.25,0.5,0.75,0.9)")
    p.add_argument("--all-images", action="store_true",
                   help="score every truth image for every finding, not only the images with that finding")
    p.add_argument("--threshold", type=float, default=0.5,
                   help="heat-map folder: threshold as a fraction of each map's range (default 0.5)")
    p.add_argument("--max-boxes", type=int, default=3, help="heat-map folder: largest regions kept per map (default 3)")
    p.add_argument("--finding", default="", help="heat-map folder: the finding a .npy map shows")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from workstation.core.boxes import localisation as boxes
    from pathlib import Path

    from workstation.core.boxes.files import BoxFileError, boxes_from_heatmap_folder, read_boxes

    try:
        if Path(args.pred).is_dir():
            predicted = boxes_from_heatmap_folder(args.pred, args.threshold, args.max_boxes, args.finding)
        else:
            predicted = read_boxes(args.pred)
        truth = read_boxes(args.truth)
    except BoxFileError as exc:
        print(f"workstation evaluate-boxes: {exc}", file=sys.stderr)
        return 2
    if not any(truth.values()) and not args.all_images:
        print(f"workstation evaluate-boxes: {args.truth}: no ground-truth boxes", file=sys.stderr)
        return 2
    result = boxes.evaluate(predicted, truth, iou_thresholds=args.iou or boxes.IOU_THRESHOLDS,
                            iobb_thresholds=args.iobb or boxes.IOBB_THRESHOLDS, all_images=args.all_images)
    data = result.to_json()
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    print(_table(data))
    if data["unmatched_images"]:
        print(f"note: {len(data['unmatched_images'])} predicted image(s) are not in the truth file and were ignored")
    return 0


def _table(data: dict) -> str:
    rows = [("overall", data["overall"])] + list(data["findings"].items())
    lines = []
    for measure in ("iou", "iobb"):
        ts = list(data["overall"].get(measure, {}))
        if not ts:
            continue
        lines.append(f"{measure.upper():<20}" + "".join(f"{'T=' + t:>15}" for t in ts) + "   (accuracy / AFP)")
        for name, scores in rows:
            cells = "".join(f"{_fmt(scores[measure][t]['accuracy'])} / {_fmt(scores[measure][t]['afp']):>5}".rjust(15)
                            for t in ts)
            lines.append(f"{name[:19]:<20}{cells}")
        lines.append("")
    o = data["overall"]
    lines.append(f"{o['images']} image-finding pairs, {o['truth_boxes']} truth boxes, {o['predicted_boxes']} predicted boxes "
                 f"({data['image_set']} images)")
    return "\n".join(lines)


def _fmt(v) -> str:
    return "  -  " if v is None else f"{v:.3f}"
