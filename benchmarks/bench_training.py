"""Training figures against their baselines, on synthetic shapes (CPU, tiny DenseNet):

1. multi-task (classification + segmentation head) vs single-task on the same split and seed,
   faint discs on noise, 40 training / 40 test cases, per seed: test AUCs, DeLong's paired test;
2. seconds per training step: DenseNet121 against the tiny DenseNet on 224 x 224 inputs;
3. with --cuda (a GPU machine): DenseNet121 trained by `train` on 224 x 224 images for 2 epochs
   with mixed precision against float32, seconds and peak GPU memory.

    nice .venv/bin/python benchmarks/bench_training.py [--seeds 2] [--threads 1] [--cuda]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "ml" / "training"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cuda", action="store_true", help="also time mixed precision on CUDA")
    args = parser.parse_args()
    import torch

    from training_shapes import make_shapes_project
    from workstation.ml.networks import build_network
    from workstation.ml.training import TrainConfig, compare_multitask

    torch.set_num_threads(args.threads)
    root = Path(tempfile.mkdtemp(prefix="bench-training-"))
    print("multi-task vs single-task (faint discs, test split n=40):")
    for seed in range(args.seeds):
        project = make_shapes_project(root / f"p{seed}", 100, classes=("blank", "disc"), masks=True, contrast=0.3,
                                      noise=0.3, seed=10 + seed)
        multi, single = compare_multitask(project, TrainConfig(
            tiny=True, size=(32, 32), epochs=15, patience=15, batch_size=8, device="cpu", augment=False, seed=seed,
            splits=(0.4, 0.2, 0.4), out=str(root / f"run{seed}")))
        c = multi.card["comparison"]
        ci_m, ci_s = multi.card["test"]["auc_ci"], single.card["test"]["auc_ci"]
        print(f"  seed {seed}: multi-task AUC {c['multitask_auc']:.3f} ({ci_m[0]:.3f}-{ci_m[1]:.3f}), "
              f"single-task {c['single_task_auc']:.3f} ({ci_s[0]:.3f}-{ci_s[1]:.3f}); "
              f"difference {c['difference']:+.3f}, paired DeLong p = {c['p_value']:.3f}; "
              f"{multi.card['seconds']:.1f} s vs {single.card['seconds']:.1f} s for {len(multi.history)} epochs")

    print(f"seconds per training step (batch 8, 224 x 224, {args.threads} thread(s)):")
    x, y = torch.randn(8, 1, 224, 224), torch.rand(8, 1)
    for name, arch in [("tiny DenseNet", {"name": "DenseNet", "init_features": 8, "growth_rate": 8,
                                          "block_config": [2, 2]}),
                       ("DenseNet121", {"name": "DenseNet121"})]:
        net = build_network({**arch, "spatial_dims": 2, "in_channels": 1, "out_channels": 1})
        optimiser = torch.optim.AdamW(net.parameters())
        times = []
        for _ in range(3):
            start = time.perf_counter()
            optimiser.zero_grad()
            torch.nn.functional.binary_cross_entropy_with_logits(net(x), y).backward()
            optimiser.step()
            times.append(time.perf_counter() - start)
        print(f"  {name}: {min(times):.3f} s")
    if args.cuda:
        cuda_amp(root)


def cuda_amp(root: Path) -> None:
    import torch

    from training_shapes import make_shapes_project
    from workstation.ml.training import TrainConfig, train

    project = make_shapes_project(root / "cuda", 64, classes=("hbar", "vbar"), seed=3)
    print("CUDA, DenseNet121, 64 images upsampled to 224 x 224, batch 16, 2 epochs:")
    for amp in ("on", "off"):
        torch.cuda.reset_peak_memory_stats()
        result = train(project, TrainConfig(device="cuda", amp=amp, size=(224, 224), epochs=2, patience=5,
                                            batch_size=16, out=str(root / f"cuda-{amp}")))
        print(f"  mixed precision {amp}: {result.card['seconds']:.1f} s (incl. data preparation), "
              f"peak {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB, validation AUC {result.val_auc:.3f}, "
              f"device {result.card['settings']['device_used']}, amp {result.card['settings']['mixed_precision']}")


if __name__ == "__main__":
    main()
