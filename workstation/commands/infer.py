"""`workstation infer DIR --plugin ID [--checkpoint PATH] [--device auto|cpu|cuda|mps]
[--cases all|unlabelled] [--batch-size N] [--heatmaps] [--allow-untrained] [--timeout S] [--json]`:
run a model plugin on a review project's cases and store its predictions in the project.

Without --checkpoint the newest DIR/models/ID/*.pt is used; a plugin that needs weights and gets
none refuses (nothing is downloaded). --allow-untrained runs a randomly initialised network instead
(for pipeline checks only; such predictions are recorded with weights "untrained").
Exit 0 when every case was stored, 1 when any case failed or the job stopped, 2 on bad arguments.
"""
from __future__ import annotations

import json
import sys
import threading


def register(subparsers) -> None:
    parser = subparsers.add_parser("infer", help="run a model plugin on a project's cases", description=__doc__)
    parser.add_argument("directory", metavar="DIR", help="review project folder")
    parser.add_argument("--plugin", required=True, metavar="ID", help="plugin id (see `workstation plugins`)")
    parser.add_argument("--checkpoint", metavar="PATH", help="weights file (default: newest DIR/models/ID/*.pt)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default=None,
                        help="where to run (default: the settings' device, else auto: CUDA, MPS, CPU)")
    parser.add_argument("--cases", choices=("all", "unlabelled"), default="all")
    parser.add_argument("--batch-size", type=int, default=None, metavar="N")
    parser.add_argument("--heatmaps", action="store_true", help="also compute and store heat maps (slower)")
    parser.add_argument("--allow-untrained", action="store_true",
                        help="with no checkpoint, run a randomly initialised network (testing only)")
    parser.add_argument("--timeout", type=float, default=None, metavar="S",
                        help="seconds one plugin call may take before it is stopped (default: settings)")
    parser.add_argument("--json", action="store_true", help="print the job report as JSON")
    parser.set_defaults(func=run)


class _Bar:
    """A one-line progress bar on a terminal's stderr; silent when stderr is not a terminal."""

    def __init__(self, label: str) -> None:
        self.label, self.active = label, sys.stderr.isatty()

    def __call__(self, done: float, total: int) -> None:
        if self.active and total:
            width = 30
            filled = int(width * done / total)
            sys.stderr.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {int(done)}/{total}")
            sys.stderr.flush()

    def close(self) -> None:
        if self.active:
            sys.stderr.write("\n")


def _fail(message: str) -> int:
    print(f"workstation infer: {message}", file=sys.stderr)
    return 2


def run(args) -> int:
    from workstation.core.project import Project, ProjectError
    from workstation.ml.device import DeviceUnavailable, requested_device
    from workstation.plugin_host import InferenceRunner, JobSpec, PluginNotFound, PluginUnavailable, usable_manifest
    from workstation.plugin_host.project_sink import ProjectSink, case_inputs, default_checkpoint

    if args.batch_size is not None and args.batch_size < 1:
        return _fail("--batch-size must be at least 1")
    try:
        project = Project.open(args.directory)
    except (ProjectError, OSError) as exc:
        return _fail(str(exc))
    try:
        manifest = usable_manifest(args.plugin)
        device = requested_device(args.device)
    except (PluginNotFound, PluginUnavailable, DeviceUnavailable) as exc:
        return _fail(str(exc))
    checkpoint = args.checkpoint or default_checkpoint(project.directory, manifest.id)
    if args.checkpoint and not __import__("os").path.isfile(args.checkpoint):
        return _fail(f"checkpoint {args.checkpoint} does not exist")
    cases = case_inputs(project, args.cases)
    spec = JobSpec(manifest, cases, checkpoint=str(checkpoint) if checkpoint else None, device=device,
                   batch_size=args.batch_size,
                   options={"heatmap": bool(args.heatmaps), "allow_untrained": bool(args.allow_untrained)})
    bar = _Bar(f"{manifest.id}")
    cancel = threading.Event()
    try:
        with InferenceRunner(timeout_s=args.timeout) as runner:
            report = runner.run(spec, ProjectSink(project), progress=bar,
                                notice=lambda text: print(f"\nnotice: {text}" if bar.active else f"notice: {text}",
                                                          file=sys.stderr), cancel=cancel)
    finally:
        bar.close()
        project.close()
    result = report.to_json()
    result.update({"project": str(project.directory), "plugin_version": manifest.version,
                   "checkpoint": spec.checkpoint, "requested_device": device, "cases": args.cases,
                   "images_per_s": round(report.stored / report.predict_s, 3) if report.predict_s else None})
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{manifest.id} {manifest.version} on {', '.join(report.devices) or device}: "
              f"{report.stored}/{report.total} cases stored in {report.elapsed_s:.1f} s")
        if report.error:
            print(f"error: {report.error}", file=sys.stderr)
        for failure in report.failures[:20]:
            print(f"{failure.case_id}: {failure.reason}", file=sys.stderr)
        if len(report.failures) > 20:
            print(f"... and {len(report.failures) - 20} more failures", file=sys.stderr)
    return 0 if report.ok and report.stored == report.total else 1
