"""`workstation detect PATH... --plugin microbleeds [--device auto|cpu|cuda|mps] [--checkpoint PATH]
[--min-score P] [--out FILE] [--json]`: run a detector plugin on image files or DICOM folders and
report, per volume, its candidates: centre in world mm (LPS), diameter in mm and score in [0, 1].

The plugin runs in the plugin host's worker process. The JSON (printed with --json, written with
--out) has the schema "workstation.detections/1": {"schema", "plugin": {"id", "version",
"weights_sha256"}, "devices", "volumes": [{"id", "path", "candidates": [{"centre": [x, y, z],
"diameter_mm", "score", "label"}], "error"}], "elapsed_s"}. A volume's id is its file name without
the image suffix (a folder: its name), the id `evaluate-detections` matches against the truth.
Exit 0 when every volume ran, 1 when any failed, 2 on bad arguments."""
from __future__ import annotations

import json
import sys
from pathlib import Path

SCHEMA = "workstation.detections/1"
_SUFFIXES = (".nii.gz", ".nii", ".mha", ".mhd", ".nrrd", ".dcm")


def register(subparsers) -> None:
    parser = subparsers.add_parser("detect", help="run a detector plugin on volumes", description=__doc__)
    parser.add_argument("paths", nargs="+", metavar="PATH", help="image files or DICOM folders")
    parser.add_argument("--plugin", default="microbleeds", metavar="ID", help="detector plugin id (default microbleeds)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default=None,
                        help="where to run (default: the settings' device, else auto)")
    parser.add_argument("--checkpoint", metavar="PATH", help="weights file (default: the plugin's shipped weights)")
    parser.add_argument("--min-score", type=float, default=None, metavar="P",
                        help="drop candidates scoring below P (plugin default otherwise)")
    parser.add_argument("--timeout", type=float, default=None, metavar="S", help="seconds one plugin call may take")
    parser.add_argument("--out", metavar="FILE", help="also write the JSON result to FILE")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(func=run)


def volume_id(path: str) -> str:
    name = Path(path.rstrip("/\\")).name
    for suffix in _SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def _fail(message: str) -> int:
    print(f"workstation detect: {message}", file=sys.stderr)
    return 2


def run(args) -> int:
    from workstation.ml.device import DeviceUnavailable, requested_device
    from workstation.plugin_host import (CaseInput, InferenceRunner, JobSpec, PluginNotFound, PluginUnavailable,
                                         usable_manifest)

    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        return _fail(f"no such file or folder: {missing[0]}")
    if args.checkpoint and not Path(args.checkpoint).is_file():
        return _fail(f"checkpoint {args.checkpoint} does not exist")
    if args.min_score is not None and not 0 <= args.min_score <= 1:
        return _fail("--min-score must lie in [0, 1]")
    try:
        manifest = usable_manifest(args.plugin)
        device = requested_device(args.device)
    except (PluginNotFound, PluginUnavailable, DeviceUnavailable) as exc:
        return _fail(str(exc))
    if manifest.task != "detection":
        return _fail(f"plugin {manifest.id!r} is a {manifest.kind}, not a detector")

    ids: dict[str, int] = {}
    cases = []
    for path in args.paths:
        base = volume_id(path)
        ids[base] = ids.get(base, 0) + 1
        case_id = base if ids[base] == 1 else f"{base}#{ids[base]}"
        cases.append(CaseInput(case_id=case_id, path=str(Path(path).resolve())))
    options = {} if args.min_score is None else {"min_score": args.min_score}
    spec = JobSpec(manifest, cases, checkpoint=args.checkpoint, device=device, batch_size=1, options=options)
    results: dict[str, list] = {}

    def sink(outcomes) -> None:
        for outcome in outcomes:
            results[outcome.case_id] = [c.as_dict() for c in outcome.prediction.candidates]

    with InferenceRunner(timeout_s=args.timeout) as runner:
        report = runner.run(spec, sink, notice=lambda text: print(f"notice: {text}", file=sys.stderr))
    errors = {f.case_id: f.reason for f in report.failures}
    volumes = [{"id": c.case_id, "path": c.path, "candidates": results.get(c.case_id, []),
                "error": errors.get(c.case_id) if c.case_id not in results else None} for c in cases]
    result = {"schema": SCHEMA,
              "plugin": {"id": manifest.id, "version": manifest.version, "weights_sha256": report.weights_sha256},
              "devices": report.devices, "volumes": volumes, "error": report.error,
              "elapsed_s": round(report.elapsed_s, 3)}
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1))
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        for vol in volumes:
            if vol["error"]:
                print(f"{vol['id']}: failed: {vol['error']}", file=sys.stderr)
                continue
            strong = sum(c["score"] >= 0.5 for c in vol["candidates"])
            print(f"{vol['id']}: {len(vol['candidates'])} candidates, {strong} with score >= 0.5")
        if report.error:
            print(f"error: {report.error}", file=sys.stderr)
    return 0 if report.ok and len(results) == len(cases) else 1
