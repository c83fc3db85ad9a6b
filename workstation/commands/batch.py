"""`workstation batch SOURCE --plugin ID [--checkpoint PATH] --out RESULTS [--project DIR]
[--workers N | --scheduler tcp://HOST:PORT] [--device auto|cpu|cuda] [--json]`: run a model plugin
over every image or series of a folder tree (or the `path` column of a CSV file) on Dask
distributed, one task per input, and write one row per input to the Parquet dataset RESULTS.

`workstation batch --pacs NODE [--patient ID] [--name PATTERN] [--modality M] [--date D]
[--accession N] [--study UID] --plugin ID --out RESULTS ...`: the inputs are the series that
`workstation pacs query NODE --series` lists with the same filters; each task retrieves its series
(into DIR/pacs_cache with --project, else RESULTS/_pacs) and runs the model on it.

A rerun skips inputs already done (same content, plugin and weights); a killed run resumes; a
damaged file becomes a failed row with its reason. --project also stores the predictions in a
review project. Exit 0 when every input has an ok row, 1 when any failed, 2 on bad arguments.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import sys

from workstation.commands.pacs import add_query_filters, query_filter


def register(subparsers) -> None:
    parser = subparsers.add_parser("batch", help="run a model plugin over an archive on Dask (Parquet results)",
                                   description=__doc__)
    parser.add_argument("source", metavar="SOURCE", nargs="?",
                        help="folder tree of images, or a CSV file with a path column (or use --pacs)")
    pacs = parser.add_argument_group("a PACS query as the source (the filters of `workstation pacs query`)")
    pacs.add_argument("--pacs", metavar="NODE", help="a saved node's name, or http(s)://host/dicom-web or "
                                                     "dimse://AET@HOST:PORT: every series found is one input")
    add_query_filters(pacs)
    parser.add_argument("--plugin", required=True, metavar="ID", help="plugin id (see `workstation plugins`)")
    parser.add_argument("--checkpoint", metavar="PATH", help="weights file")
    parser.add_argument("--out", required=True, metavar="RESULTS", help="Parquet results folder (created)")
    parser.add_argument("--project", metavar="DIR", help="also store the predictions in this review project")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=2, metavar="N",
                       help="worker processes of the local Dask cluster (default 2)")
    where.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="run on this existing Dask cluster")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--inputs-per-task", type=int, default=None, metavar="N",
                        help="inputs read and predicted together by one Dask task (default: automatic, "
                             "at most the plugin's batch size, at least 8 tasks per worker)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(func=run)


def _fail(message: str) -> int:
    print(f"workstation batch: {message}", file=sys.stderr)
    return 2


class _Progress:
    """tqdm on stderr (rate and ETA); quiet but harmless when stderr is not a terminal."""

    def __init__(self) -> None:
        self.bar = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="img", file=sys.stderr, dynamic_ncols=True, mininterval=0.5,
                            desc="batch")
        self.bar.n = done
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


@contextlib.contextmanager
def _quiet_dask():
    """distributed logs its own tracebacks (a lost scheduler, a reconnect) on stderr; the run ends
    with one line of ours instead."""
    import distributed  # noqa: F401 - importing it sets the levels overridden here

    names = [n for n in list(logging.root.manager.loggerDict) if n.split(".")[0] in ("distributed", "tornado", "asyncio")]
    loggers = [logging.getLogger(name) for name in {"distributed", "distributed.client", "tornado", "asyncio", *names}]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def run(args) -> int:
    from workstation.batch import BatchError, BatchSpec, run_batch
    from workstation.core.pacs import PacsError

    if args.workers < 1:
        return _fail("--workers must be at least 1")
    if args.inputs_per_task is not None and args.inputs_per_task < 1:
        return _fail("--inputs-per-task must be at least 1")
    if bool(args.source) == bool(args.pacs):
        return _fail("give a SOURCE (folder or CSV file) or --pacs NODE, one of the two")
    try:
        filters = dataclasses.asdict(query_filter(args))
    except PacsError as exc:
        return _fail(str(exc))
    if not args.pacs and any(filters.values()):
        return _fail("--patient, --name, --modality, --date, --accession and --study filter a --pacs query")
    spec = BatchSpec(source=args.source, plugin_id=args.plugin, out=args.out, checkpoint=args.checkpoint,
                     project=args.project, workers=args.workers, scheduler=args.scheduler, device=args.device,
                     inputs_per_task=args.inputs_per_task,
                     pacs=args.pacs, pacs_filters={k: v for k, v in filters.items() if v})
    bar = _Progress()

    def started(report) -> None:
        print(f"Dask dashboard: {report.dashboard or 'none'} ({report.workers} workers)", file=sys.stderr)

    try:
        with _quiet_dask():
            report = run_batch(spec, progress=bar, on_start=started)
    except BatchError as exc:
        bar.close()  # the line goes below the bar, not onto it
        return _fail(str(exc))
    except KeyboardInterrupt:
        bar.close()
        print("workstation batch: interrupted; rerun the same command to resume", file=sys.stderr)
        return 1
    finally:
        bar.close()
    if report.total == 0:
        return _fail(f"{args.pacs or args.source}: no {'series match the query' if args.pacs else 'images or series found'}")
    if args.json:
        print(json.dumps(dict(report.to_json(), out=args.out), indent=2))
    else:
        print(f"{report.total} inputs: {report.skipped} already done, {report.copied} copied, "
              f"{report.ok} ok, {report.failed} failed in {report.elapsed_s:.1f} s -> {args.out}")
        if args.project:
            print(f"{report.stored} predictions stored in {args.project}")
        for case_id, reason in report.failures[:20]:
            print(f"{case_id}: {reason}", file=sys.stderr)
        if len(report.failures) > 20:
            print(f"... and {len(report.failures) - 20} more failures", file=sys.stderr)
    if report.project_error:
        print(f"workstation batch: {report.project_error}", file=sys.stderr)
    return 0 if not report.failed and not report.project_error and not report.cancelled else 1
