"""Images per second through `workstation infer` (the real code path: CLI, worker process, image
reading, preprocessing, validation, storing in the project) against a raw MONAI DenseNet121 forward
pass of the same network and batch size on ready-made tensors, in the same run.

    nice .venv/bin/python benchmarks/bench_infer.py [--n 48] [--batch 16] [--size 224] [--device cpu]

Prints both rates and the overhead: raw rate / infer rate - 1 (goal <= 15% on the CPU). The infer
rate counts the job from its first batch to its last (model load and process start excluded, and
reported separately); the raw pass is timed before and after it and averaged, as other work on
the machine shifts both.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def make_project(directory: Path, n: int, size: int):
    import torch
    from pydicom.data import get_testdata_file

    from workstation.core.project import Project
    from workstation.ml.checkpoint import save_checkpoint
    from workstation.ml.networks import build_network

    images = directory / "images"
    images.mkdir(parents=True)
    source = get_testdata_file("CT_small.dcm")  # a real CT slice, 128 x 128, resized to `size` by the plugin
    with Project.create(directory / "study", task="binary", classes=["normal", "abnormal"]) as project:
        for i in range(n):
            path = images / f"ct{i:03d}.dcm"
            shutil.copy(source, path)
            project.add_case([str(path)])
    torch.manual_seed(0)
    arch = {"name": "DenseNet121", "spatial_dims": 2, "in_channels": 1, "out_channels": 1}
    model = build_network(arch)
    checkpoint = directory / "densenet121.pt"
    save_checkpoint(checkpoint, model.state_dict(), plugin_id="densenet2d", task="binary",
                    classes=["normal", "abnormal"], architecture=arch, preprocessing={"size": [size, size]})
    return directory / "study", checkpoint, model


def raw_rate(model, n: int, batch: int, size: int, device: str) -> float:
    import torch

    model = model.to(device).eval()
    x = torch.rand(n, 1, size, size)
    with torch.inference_mode():
        model(x[:batch].to(device))  # warm-up, as the infer job's model is warm after loading
        start = time.perf_counter()
        for chunk in x.split(batch):
            logits = model(chunk.to(device))
            torch.sigmoid(logits).cpu()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        return n / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=48)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    import torch

    with tempfile.TemporaryDirectory(prefix="bench-infer-") as tmp:
        study, checkpoint, model = make_project(Path(tmp), args.n, args.size)
        before = raw_rate(model, args.n, args.batch, args.size, args.device)
        cmd = [sys.executable, "-m", "workstation.cli", "infer", str(study), "--plugin", "densenet2d",
               "--checkpoint", str(checkpoint), "--device", args.device, "--batch-size", str(args.batch), "--json"]
        start = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            print(done.stdout, done.stderr, file=sys.stderr)
            return 1
        report = json.loads(done.stdout)
        after = raw_rate(model, args.n, args.batch, args.size, args.device)
    raw = (before + after) / 2
    job_s = report["elapsed_s"] - report["load_s"]
    infer = report["stored"] / job_s
    result = {
        "device": args.device, "torch_threads": torch.get_num_threads(), "images": args.n, "batch": args.batch,
        "size": args.size, "raw_monai_images_per_s": round(raw, 2),
        "raw_before_after": [round(before, 2), round(after, 2)],
        "infer_images_per_s": round(infer, 2),
        "infer_plugin_predict_images_per_s": report["images_per_s"],
        "overhead": round(raw / infer - 1, 4),
        "infer_load_s": report["load_s"], "infer_end_to_end_s": round(wall, 2),
        "infer_end_to_end_images_per_s": round(args.n / wall, 2),
    }
    print(json.dumps(result, indent=2))
    print(f"raw MONAI {raw:.2f} img/s, workstation infer {infer:.2f} img/s: overhead {100 * (raw / infer - 1):+.1f}% "
          f"(goal <= 15%); end to end incl. process start and model load {args.n / wall:.2f} img/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
