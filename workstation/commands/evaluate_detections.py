"""`workstation evaluate-detections PRED.json TRUTH.json [--threshold P] [--bootstrap N] [--min-radius MM]
[--at-fp F,...] [--gallery OUT/] [--json]`: score detections against ground truth.

PRED.json: the output of `workstation detect` ("workstation.detections/1"). TRUTH.json: the
truth.json index `workstation phantom` writes ("workstation.detection-truth/1": {"subjects": [{"id",
"lesions": [{"centre": [x, y, z], "diameter_mm"}]}]}) or one phantom's NAME.json. Volumes are matched
by id. A candidate hits a lesion when its centre lies within the lesion radius (at least
--min-radius, 2 mm); one hit per lesion, further hits ignored (LUNA16). Reports sensitivity,
precision, f1, fp_per_subject at --threshold, the FROC points, CPM (mean sensitivity at 1/8..8 FP
per subject), sensitivity at the --at-fp rates and bootstrap 95% CIs over subjects.
--gallery OUT/ writes PNG montages of the missed lesions and the top false positives (three
orthogonal slices each, with the score) from the images PRED.json names.
Exit 0 on success, 2 on unreadable or mismatched files."""
from __future__ import annotations

import json
import sys
from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser("evaluate-detections", help="FROC, CPM and sensitivity of detections vs truth",
                                   description=__doc__)
    parser.add_argument("pred", metavar="PRED.json")
    parser.add_argument("truth", metavar="TRUTH.json")
    parser.add_argument("--threshold", type=float, default=0.5, help="score threshold of the operating point")
    parser.add_argument("--bootstrap", type=int, default=1000, metavar="N", help="bootstrap resamples (0: none)")
    parser.add_argument("--min-radius", type=float, default=2.0, metavar="MM", help="smallest hit radius")
    parser.add_argument("--at-fp", default="1,2,2.7,4", metavar="F,...",
                        help="report the best sensitivity with at most these FP per subject")
    parser.add_argument("--gallery", metavar="OUT", help="write PNG montages of misses and top false positives here")
    parser.add_argument("--gallery-fp", type=int, default=3, metavar="N", help="false positives per subject in the gallery")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(func=run)


class InputError(ValueError):
    pass


def _load(path: str) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not readable JSON ({exc})".splitlines()[0]) from None


def truth_subjects(data: dict, path: str) -> dict[str, list[dict]]:
    if isinstance(data, dict) and isinstance(data.get("subjects"), list):
        subjects = data["subjects"]
    elif isinstance(data, dict) and isinstance(data.get("lesions"), list) and data.get("id"):
        subjects = [data]
    else:
        raise InputError(f"{path}: not a truth file (needs 'subjects', or 'id' and 'lesions')")
    out = {}
    for s in subjects:
        try:
            out[str(s["id"])] = [{"centre": [float(v) for v in les["centre"]], "diameter_mm": float(les["diameter_mm"])}
                                 for les in s["lesions"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{path}: subject {s.get('id', '?')!r} has a malformed lesion ({exc})") from None
    return out


def predicted_volumes(data: dict, path: str, wanted) -> dict[str, list[dict]]:
    """Candidates per volume id; a failed volume is an error only where the truth needs it."""
    if not isinstance(data, dict) or not isinstance(data.get("volumes"), list):
        raise InputError(f"{path}: not a detections file (needs 'volumes', as `workstation detect` writes)")
    out = {}
    for vol in data["volumes"]:
        if vol.get("error"):
            if str(vol.get("id")) in wanted:
                raise InputError(f"{path}: volume {vol.get('id')!r} failed in detection: {vol['error']}")
            continue
        out[str(vol["id"])] = vol.get("candidates") or []
    return out


def _gallery(args, truth, pred, matches) -> list:
    from workstation.core.detection.gallery import tiles_of, write_gallery

    paths = {str(v["id"]): v.get("path") for v in _load(args.pred)["volumes"]}
    pairs = []
    for m in matches:
        tiles = tiles_of(m.subject_id, truth[m.subject_id], pred[m.subject_id], m, args.threshold, args.gallery_fp)
        if tiles and paths.get(m.subject_id):
            pairs.append((paths[m.subject_id], tiles))
    return write_gallery(args.gallery, pairs)


def run(args) -> int:
    from workstation.core.metrics.detection import evaluate, match_subject, sensitivity_at

    try:
        truth = truth_subjects(_load(args.truth), args.truth)
        pred = predicted_volumes(_load(args.pred), args.pred, truth)
        at_fp = [float(v) for v in args.at_fp.split(",") if v.strip()]
        missing = sorted(set(truth) - set(pred))
        if missing:
            raise InputError(f"{len(missing)} truth subjects have no detections: {', '.join(missing[:5])}")
        matches = []
        for sid, lesions in truth.items():
            cands = pred[sid]
            matches.append(match_subject([c["centre"] for c in cands], [c["score"] for c in cands],
                                         [les["centre"] for les in lesions], [les["diameter_mm"] for les in lesions],
                                         sid, args.min_radius))
    except (InputError, KeyError, TypeError, ValueError) as exc:
        print(f"workstation evaluate-detections: {exc}", file=sys.stderr)
        return 2
    if args.gallery:
        try:
            result_paths = _gallery(args, truth, pred, matches)
        except Exception as exc:  # an unreadable image must not hide the scores
            print(f"workstation evaluate-detections: gallery not written: {str(exc).splitlines()[0]}", file=sys.stderr)
        else:
            print(f"gallery: {len(result_paths)} PNG in {args.gallery}", file=sys.stderr)
    extra = sorted(set(pred) - set(truth))
    if extra:
        print(f"note: {len(extra)} predicted volumes have no truth and are ignored: {', '.join(extra[:5])}",
              file=sys.stderr)
    report = evaluate(matches, threshold=args.threshold, bootstrap=args.bootstrap)
    result = report.to_json()
    result["min_radius_mm"] = args.min_radius
    result["sensitivity_at_fp"] = []
    for rate in at_fp:
        sens, fp, thr = sensitivity_at(report.froc, rate)
        result["sensitivity_at_fp"].append({"max_fp_per_subject": rate, "sensitivity": sens,
                                            "fp_per_subject": fp, "threshold": thr if thr != float("inf") else None})
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        ci = result["ci"]

        def fmt(key):
            lo_hi = ci.get(key)
            return f"{result[key]:.3f}" + (f" [{lo_hi[0]:.3f}, {lo_hi[1]:.3f}]" if lo_hi else "")

        print(f"{result['n_subjects']} subjects, {result['n_lesions']} lesions; threshold {args.threshold}")
        for key in ("sensitivity", "precision", "f1", "fp_per_subject", "cpm"):
            print(f"  {key:15s} {fmt(key)}")
        for row in result["sensitivity_at_fp"]:
            print(f"  sensitivity at <= {row['max_fp_per_subject']:g} FP/subject: {row['sensitivity']:.3f} "
                  f"({row['fp_per_subject']:.2f} FP)")
    return 0
