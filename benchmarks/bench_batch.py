"""`workstation batch` throughput: images per second with a LocalCluster of 1 and of 2 worker
processes against a plain serial Python loop of the same plugin (densenet2d, a small DenseNet
checkpoint, CPU) in the same run, the engine's overhead per image, and `evaluate` on 1,000,000
Parquet result rows (goals: 2 workers >= 1.7x one on 2 cores for 2D images; evaluate <= 1 s).

    nice .venv/bin/python benchmarks/bench_batch.py [--images 200] [--size 256] [--rows 1000000]
                                                    [--one-per-task] [--skip-batch]

The batch runs use the automatic inputs per task (reported); `--one-per-task` adds runs with one
input per task, `--skip-batch` runs only the evaluate part.

Rates are steady state, from the rows' own `created_at`: the rows finished after every worker
had finished its first one, over the time from then to the last row (worker start and model load
are reported apart; the workers import torch side by side, so one may still be loading while the
other already delivers). Images are distinct crops of the 16 chest X-ray samples, written as PNG.

The machine is shared, so wall-clock rates move with other people's load; CPU seconds do much less:
each run also reports the CPU time of this process and of its children (the LocalCluster's worker
processes, counted once they have exited), whole run and per image, start and model load included,
and, from a second run over only 10 images (one per task, so every worker loads the model), the
start-up CPU and the marginal CPU of one more image (whose excess over the plain loop's is the
engine's CPU overhead per image; the 10-image run's own per-task cost makes it a few ms high), and
`steady_cpu_ms_per_image`: the CPU of this process and its live children (psutil, sampled every
0.2 s) per second of the steady state, over the steady images per second
(`steady_worker_cpu_ms_per_image`: the workers' alone). From these,
`speedup_2_vs_1_cpu_bound`: the ratio two free cores give, 2 x (one worker's own CPU per image) /
(all processes' CPU per image with two workers); the measured `speedup_2_vs_1` is that when
nobody else needs the cores, and anything from 0.6 to 2.4 on the shared 2-core machine. The
ceiling without any engine: `serial_2_processes_vs_1`, the plain loop run as two processes side
by side (half the images each) against one.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FEW = 10  # images of the short run that measures a cluster's start-up CPU
ARCH = {"name": "DenseNet", "spatial_dims": 2, "in_channels": 1, "out_channels": 1, "init_features": 16,
        "growth_rate": 16, "block_config": [4, 4, 4]}


def make_checkpoint(path: Path) -> Path:
    import torch

    from workstation.ml.checkpoint import save_checkpoint
    from workstation.ml.networks import build_network

    torch.manual_seed(0)
    save_checkpoint(path, build_network(ARCH).state_dict(), plugin_id="densenet2d", task="binary",
                    classes=["NORMAL", "PNEUMONIA"], architecture=ARCH,
                    preprocessing={"size": [224, 224], "spacing": None}, metadata={"note": "bench"})
    return path


def make_images(folder: Path, n: int, size: int) -> list[Path]:
    from PIL import Image

    from workstation.core.io.samples import chest_xrays

    sources = [np.asarray(Image.open(p).convert("L")) for p in sorted(chest_xrays().glob("*/*.jpeg"))]
    out = []
    for k in range(n):
        pixels = sources[k % len(sources)]
        step = k // len(sources)
        # offsets wrap inside the image (the smallest X-ray is 968x592): more than 200 stay whole crops
        y = (40 + 23 * step) % (pixels.shape[0] - size)
        x = (60 + 19 * step) % (pixels.shape[1] - size)
        path = folder / f"img{k:04d}.png"
        Image.fromarray(pixels[y:y + size, x:x + size]).save(path)
        out.append(path)
    return out


def cpu_s() -> float:
    """CPU seconds of this process and of its exited children."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def serial(checkpoint: Path, paths: list[Path]) -> dict:
    import torch

    from workstation.core.io import read_volume
    from workstation.plugin_host import usable_manifest
    from workstation.plugin_host.discovery import load_factory

    torch.set_num_threads(1)  # as a Dask worker runs (OMP_NUM_THREADS=1, one thread each)
    cpu = cpu_s()
    start = time.perf_counter()
    plugin = load_factory(usable_manifest("densenet2d"))(checkpoint=str(checkpoint), options={})
    plugin.load("cpu")
    loaded = time.perf_counter()
    for path in paths:
        plugin.predict([read_volume(path)], lambda f: None, lambda: False)
    end = time.perf_counter()
    cpu = cpu_s() - cpu
    return {"images_per_s": round(len(paths) / (end - loaded), 2), "load_s": round(loaded - start, 2),
            "cpu_s": round(cpu, 2), "cpu_ms_per_image": round(1000 * cpu / len(paths), 1)}


def _loop_in_a_process(checkpoint: str, paths: list[str], barrier) -> tuple[float, float]:
    import torch

    from workstation.core.io import read_volume
    from workstation.plugin_host import usable_manifest
    from workstation.plugin_host.discovery import load_factory

    torch.set_num_threads(1)
    plugin = load_factory(usable_manifest("densenet2d"))(checkpoint=checkpoint, options={})
    plugin.load("cpu")
    barrier.wait()  # both loops start together, each with its model loaded
    start = time.time()
    for path in paths:
        plugin.predict([read_volume(path)], lambda f: None, lambda: False)
    return start, time.time()


def two_loops(checkpoint: Path, paths: list[Path]) -> dict:
    """The plain loop in two processes side by side, half the images each: what two cores of this
    machine give with no engine at all (the ceiling for 2 workers / 1 worker)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, ProcessPoolExecutor(2, mp_context=context) as pool:
        barrier = manager.Barrier(2)
        halves = [[str(p) for p in paths[k::2]] for k in (0, 1)]
        spans = list(pool.map(_loop_in_a_process, [str(checkpoint)] * 2, halves, [barrier] * 2))
    return {"images_per_s": round(len(paths) / (max(e for _, e in spans) - min(s for s, _ in spans)), 2)}


def live_cpu_s() -> tuple[float, float]:
    """CPU seconds so far of (this process and its live children, the children alone: the
    cluster's worker processes)."""
    import psutil

    me = psutil.Process()
    own = me.cpu_times()
    children = 0.0
    for proc in me.children(recursive=True):
        try:
            times = proc.cpu_times()
        except psutil.Error:  # ended meanwhile
            continue
        children += times.user + times.system
    return own.user + own.system + children, children


def batch(checkpoint: Path, folder: Path, workers: int, out: Path, inputs_per_task: int | None = None) -> dict:
    from datetime import datetime

    from workstation.batch import BatchSpec, read_results, run_batch

    samples: list[tuple[float, int, tuple[float, float]]] = []  # (time, inputs done, CPU) at a task's end

    def progress(done: int, total: int) -> None:
        # psutil over the process tree costs ~1-2 ms of this process's CPU: at most every 0.2 s
        # (and at the end), not at every task, so that the benchmark does not slow what it measures
        if done and (done == total or not samples or time.time() - samples[-1][0] >= 0.2):
            samples.append((time.time(), done, live_cpu_s()))

    cpu = cpu_s()
    start, started_at = time.perf_counter(), datetime.now().astimezone()
    report = run_batch(BatchSpec(source=str(folder), plugin_id="densenet2d", out=str(out), checkpoint=str(checkpoint),
                                 workers=workers, device="cpu", chunk_rows=64, inputs_per_task=inputs_per_task),
                       progress=progress)
    wall = time.perf_counter() - start
    cpu = cpu_s() - cpu  # the cluster is closed when run_batch returns: its workers are counted
    assert report.ok == report.total, report.failures[:3]
    rows = read_results(out, ["worker", "created_at"]).to_pylist()
    done = sorted((datetime.fromisoformat(r["created_at"]), r["worker"]) for r in rows)
    all_up = max(min(at for at, w in done if w == worker) for worker in {w for _, w in done})
    after = [at for at, _ in done if at > all_up]
    if len(after) < 2:  # a short run where one worker finished only the last row
        all_up, after = done[0][0], [at for at, _ in done[1:]]
    steady = len(after) / (after[-1] - all_up).total_seconds()
    window = [s for s in samples if s[0] > all_up.timestamp()]
    steady_cpu = steady_worker_cpu = None
    if len(window) > 1 and window[-1][0] > window[0][0]:
        # CPU seconds per second over the window, over the steady images per second: the inputs
        # done between two samples count whole tasks (13-16 images each), the CPU does not
        seconds = window[-1][0] - window[0][0]
        steady_cpu = 1000 * (window[-1][2][0] - window[0][2][0]) / seconds / steady
        steady_worker_cpu = 1000 * (window[-1][2][1] - window[0][2][1]) / seconds / steady
    return {"workers": workers, "inputs_per_task": report.inputs_per_task, "tasks": report.tasks,
            "images_per_s": round(steady, 2), "wall_s": round(wall, 2),
            "start_and_load_s": round((done[0][0] - started_at).total_seconds(), 2),
            "all_workers_up_s": round((all_up - started_at).total_seconds(), 2), "cpu_s": round(cpu, 2),
            "cpu_ms_per_image": round(1000 * cpu / report.total, 1),
            "steady_cpu_ms_per_image": round(steady_cpu, 1) if steady_cpu is not None else None,
            "steady_worker_cpu_ms_per_image": round(steady_worker_cpu, 1) if steady_worker_cpu is not None else None}


def evaluate_rows(tmp: Path, rows: int) -> dict:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from workstation.batch import evaluation
    from workstation.batch.results import SCHEMA
    from workstation.core.metrics.report import report

    rng = np.random.default_rng(0)
    ids = [f"c{n}" for n in range(rows)]
    truth = rng.integers(0, 2, rows)
    p = np.clip(rng.normal(0.35 + 0.3 * truth, 0.2), 0, 1)
    folder = tmp / "million"
    folder.mkdir()
    scores = pa.ListArray.from_arrays(pa.array(np.arange(0, 2 * rows + 1, 2, dtype=np.int32)),
                                      pa.array(np.stack([1 - p, p], axis=1).ravel()))
    keys = [hashlib.sha256(i.encode()).hexdigest() for i in ids]  # as `engine.row_key` makes them
    columns = {"key": pa.array(keys), "case_id": pa.array(ids), "status": pa.array(["ok"] * rows),
               "task": pa.array(["binary"] * rows), "created_at": pa.array(["2026-01-01"] * rows),
               "classes": pa.array([["NORMAL", "PNEUMONIA"]] * rows), "scores": scores}
    table = pa.table({name: columns.get(name, pa.nulls(rows, SCHEMA.field(name).type)) for name in SCHEMA.names},
                     schema=SCHEMA)
    pq.write_table(table, folder / "part-0.parquet")
    with open(tmp / "truth.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["case_id", "label"])
        writer.writerows(zip(ids, truth.tolist()))
    cpu = time.process_time()
    start = time.perf_counter()
    loaded = evaluation.load(folder, tmp / "truth.csv")
    load_s = time.perf_counter() - start
    report(loaded.evaluation, 0.5)
    total = time.perf_counter() - start
    return {"rows": rows, "load_s": round(load_s, 2), "load_and_metrics_s": round(total, 2),
            "cpu_s": round(time.process_time() - cpu, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--one-per-task", action="store_true",
                        help="also run 1 and 2 workers with one input per task (what chunking saves)")
    parser.add_argument("--skip-batch", action="store_true", help="only the evaluate figures")
    args = parser.parse_args()
    if args.skip_batch:
        with tempfile.TemporaryDirectory(prefix="bench-batch-") as name:
            print(json.dumps({"evaluate": evaluate_rows(Path(name), args.rows)}, indent=2))
        return
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as name:
        tmp = Path(name)
        (tmp / "images").mkdir()
        paths = make_images(tmp / "images", args.images, args.size)
        checkpoint = make_checkpoint(tmp / "bench.pt")
        (tmp / "few").mkdir()
        for path in paths[:FEW]:
            shutil.copy(path, tmp / "few" / path.name)
        loop = serial(checkpoint, paths)
        loops = two_loops(checkpoint, paths)
        one = batch(checkpoint, tmp / "images", 1, tmp / "out1")
        two = batch(checkpoint, tmp / "images", 2, tmp / "out2")
        for run, workers in ((one, 1), (two, 2)):  # start-up CPU apart: the same run over FEW images,
            # one per task, so that every worker loads the model (one chunk of 10 would load one)
            few = batch(checkpoint, tmp / "few", workers, tmp / f"few{workers}", 1)
            run["marginal_cpu_ms_per_image"] = round(1000 * (run["cpu_s"] - few["cpu_s"]) / (args.images - FEW), 1)
            run["start_up_cpu_s"] = round(few["cpu_s"] - FEW * run["marginal_cpu_ms_per_image"] / 1000, 2)
        result = {
            "images": args.images, "size": args.size, "serial_loop": loop, "batch_1_worker": one, "batch_2_workers": two,
            "serial_loop_2_processes": loops,
            "serial_2_processes_vs_1": round(loops["images_per_s"] / loop["images_per_s"], 2),
            "speedup_2_vs_1": round(two["images_per_s"] / one["images_per_s"], 2),
            # what two free cores give: one worker is bound by its own CPU per image on one core,
            # two workers by all processes' CPU per image (theirs, the scheduler's, the client's) on two
            "speedup_2_vs_1_cpu_bound": round(2 * one["steady_worker_cpu_ms_per_image"] / two["steady_cpu_ms_per_image"], 2)
            if one["steady_worker_cpu_ms_per_image"] and two["steady_cpu_ms_per_image"] else None,
            "batch_1_vs_serial": round(one["images_per_s"] / loop["images_per_s"], 2),
            "overhead_ms_per_image": round(1000 * (1 / one["images_per_s"] - 1 / loop["images_per_s"]), 2),
            "overhead_cpu_ms_per_image_1_worker": round(one["marginal_cpu_ms_per_image"] - loop["cpu_ms_per_image"], 1),
            "steady_overhead_cpu_ms_per_image": {
                f"{n}_worker{'s' if n > 1 else ''}": round(run["steady_cpu_ms_per_image"] - loop["cpu_ms_per_image"], 1)
                for n, run in ((1, one), (2, two)) if run["steady_cpu_ms_per_image"] is not None},
        }
        if args.one_per_task:
            singles = [batch(checkpoint, tmp / "images", w, tmp / f"single{w}", 1) for w in (1, 2)]
            result["one_input_per_task"] = {"batch_1_worker": singles[0], "batch_2_workers": singles[1],
                                            "speedup_2_vs_1": round(singles[1]["images_per_s"] / singles[0]["images_per_s"], 2)}
        result["load_average_1min"] = round(os.getloadavg()[0], 2)
        result["evaluate"] = evaluate_rows(tmp, args.rows)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
