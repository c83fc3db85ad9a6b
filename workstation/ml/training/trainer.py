"""The training loop: data from the project, the transfer mode, task loss (plus the auxiliary
head's in multi-task runs), MONAI augmentations, early stopping on the validation AUC, mixed
precision on CUDA, and a checkpoint with its model card at the end.

    result = train(project, TrainConfig(plugin="densenet2d", mode="finetune", pretrained="imagenet.pth"),
                   progress=print, cancel=lambda: False)
"""
from __future__ import annotations

import copy
import math
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from workstation.core.metrics import evaluate
from workstation.core.vocab import Task
from workstation.ml import device as devices
from workstation.ml.checkpoint import save_checkpoint
from workstation.ml.networks import probabilities

from workstation.ml.training import card as cards
from workstation.ml.training.config import TrainConfig, TrainProgress, TrainResult
from workstation.ml.training import levels
from workstation.ml.training.data import Preparation, augmentations, prepare, project_items
from workstation.ml.training.errors import TrainingCancelled, TrainingError
from workstation.ml.training.losses import TaskLoss, aux_loss, multilabel_weights
from workstation.ml.training.model import build_model, parameter_groups, set_train_mode
from workstation.ml.training.plugin_input import plugin_input
from workstation.ml.training.pretrained import PretrainedError, load_pretrained

ProgressFn = Callable[[TrainProgress], None]
CancelFn = Callable[[], bool]


def use_amp(device: str, amp: str = "auto") -> bool:
    """Mixed precision runs on CUDA only: "auto" and "on" enable it there; elsewhere it is off
    ("on" off CUDA is refused, so nobody believes they trained in half precision when they did not)."""
    if amp not in ("auto", "on", "off"):
        raise ValueError(f"amp must be auto, on or off, not {amp!r}")
    cuda = str(device).startswith("cuda")
    if amp == "on" and not cuda:
        raise TrainingError(f"mixed precision needs a CUDA device; this run uses {device}")
    return cuda and amp != "off"


def validation_auc(task: str, y_true: np.ndarray, probs: np.ndarray, classes: list[str]) -> float:
    """The early-stopping score: AUC (binary), macro one-vs-rest AUC (multiclass), macro AUC over
    labels (multilabel); NaN when undefined (a class missing from the validation cases)."""
    if len(y_true) == 0:
        return math.nan
    ev = evaluate(task, y_true, probs, classes)
    return float(ev.auc.auc) if task == Task.BINARY else float(ev.auc_averages["macro"])


def _truth_array(records, task: str) -> np.ndarray:
    if not records:
        return np.zeros((0,), int)
    labels = torch.stack([r["label"] for r in records]).numpy()
    return labels.reshape(-1).astype(int) if task in (Task.BINARY, Task.MULTICLASS) else labels.astype(int)


def _predict(model, records, task: str, device: str, amp: bool, batch_size: int) -> np.ndarray:
    model.eval()
    out = []
    with torch.inference_mode():
        for start in range(0, len(records), batch_size):
            x = torch.stack([r["image"] for r in records[start:start + batch_size]]).to(device)
            with devices.autocast(device) if amp else _null():
                logits = model(x)
            logits = logits[0] if isinstance(logits, tuple) else logits
            out.append(probabilities(logits, task))
    return np.concatenate(out) if out else np.zeros((0, 1))


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _preparation(config: TrainConfig, spec, pretrained) -> Preparation:
    prep = dict(pretrained.preprocessing) if pretrained else {}
    size = tuple(config.size or prep.get("size") or spec.size or ())
    if len(size) != spec.dims:
        raise TrainingError(f"network size {size} does not fit a {spec.dims}D network")
    spacing = config.spacing or prep.get("spacing") or spec.spacing
    in_channels = int(pretrained.architecture["in_channels"]) if pretrained else int(spec.channels[0])
    return Preparation(spec.dims, in_channels, tuple(int(s) for s in size),
                       tuple(float(s) for s in spacing) if spacing and spec.dims == 3 else None,
                       prep.get("mean"), prep.get("std"))


def output_paths(project, config: TrainConfig) -> dict[str, Path]:
    """Where a run writes. Default: <project>/models/<plugin>/<run>.pt (where the model dock and
    `workstation infer` look for the newest checkpoint) with <run>.model_card.json/.md beside it;
    with `out`: out/model.pt, out/model_card.json, out/model_card.md."""
    if config.out:
        folder, stem, card = Path(config.out), "model", "model_card"
    else:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
        stem = f"{stamp}-{config.mode}{'-multitask' if config.multitask else ''}-seed{config.seed}"
        folder = Path(project.directory) / "models" / config.plugin
        base, n = stem, 1
        while (folder / f"{stem}.pt").exists():  # two runs in one second
            n += 1
            stem = f"{base}-{n}"
        card = f"{stem}.model_card"
    return {"checkpoint": folder / f"{stem}.pt", "card_json": folder / f"{card}.json",
            "card_md": folder / f"{card}.md", "aux_head": folder / f"{stem}.aux_head.pth"}


def train(project, config: TrainConfig, progress: ProgressFn | None = None, cancel: CancelFn | None = None) -> TrainResult:
    """Train on the project's final labels; write model.pt and model_card.json/.md; TrainingError
    (one line) when it cannot, TrainingCancelled when `cancel()` turned true (nothing written)."""
    from monai.data import DataLoader, Dataset
    from monai.utils import set_determinism

    report = progress or (lambda p: None)
    stop = cancel or (lambda: False)
    started = time.perf_counter()
    if config.epochs < 1:
        raise TrainingError("epochs must be at least 1")
    if config.mode == "features" and not config.pretrained:
        raise TrainingError("--mode features trains only a new final layer on a frozen backbone: it needs "
                            "--pretrained (our checkpoint or a torchvision densenet121 state dict)")
    if config.tiny and config.pretrained:
        raise TrainingError("the tiny network is for training from scratch; a pretrained file brings its own")
    spec = plugin_input(config.plugin)
    try:
        device = devices.choose_device(config.device)
    except devices.DeviceUnavailable as exc:
        raise TrainingError(str(exc)) from None
    amp = use_amp(device, config.amp)
    set_determinism(seed=config.seed)
    try:
        pretrained = load_pretrained(config.pretrained, config.plugin) if config.pretrained else None
    except PretrainedError as exc:
        raise TrainingError(str(exc)) from None

    try:
        items = project_items(project, config.truth, config.splits, config.seed, with_aux=config.multitask,
                              level=config.level)
        task, classes = levels.target(project, config.level)
    except ValueError as exc:
        raise TrainingError(str(exc)) from None
    if config.multitask and not any(i.aux_kind for split in items.values() for i in split):
        raise TrainingError("--multitask needs a second target on some cases: a mask (case metadata 'mask') "
                            "or localisation points (accepted findings, or case metadata 'points')")
    prep = _preparation(config, spec, pretrained)
    total = sum(len(v) for v in items.values())
    done = [0]

    def on_prepared(n, of, case_id):
        done[0] += 1
        report(TrainProgress("prepare", 0.1 * done[0] / max(total, 1), message=f"prepared {case_id}"))

    records, skipped = {}, []
    for split, split_items in items.items():
        records[split], bad = prepare(split_items, prep, config.multitask, on_prepared, stop)
        skipped += [dict(b, split=split) for b in bad]
    report(TrainProgress("ready", 0.1, 0, config.epochs,
                         f"prepared {sum(len(r) for r in records.values())} case(s)"
                         + (f", skipped {len(skipped)} unreadable" if skipped else "")))
    if not records["training"]:
        raise TrainingError("no labelled training cases (label some cases, or check the splits; labels imported with `project add --labels` are tagged original: pass --truth original)")
    if not records["validation"]:
        raise TrainingError("no labelled validation cases: early stopping needs some (more labels, or other --splits)")

    model, net, arch = build_model(task, classes, prep.dims, prep.in_channels, pretrained, config.tiny,
                                   config.seed, config.multitask)
    model.to(device)
    groups = parameter_groups(model, net, config.mode, pretrained is not None, config.lr, config.backbone_lr_factor)
    optimizer = torch.optim.AdamW([{k: v for k, v in g.items() if k != "name"} for g in groups],
                                  weight_decay=config.weight_decay)
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    train_targets = np.stack([r["label"].numpy() for r in records["training"]])
    loss_fn = TaskLoss(task, *multilabel_weights(train_targets)) if task == Task.MULTILABEL else TaskLoss(task)
    aux_kind = "mask" if any(i.mask_path for i in items["training"]) else "heatmap"

    transform = augmentations(prep.dims, config.seed) if config.augment else None
    keys = ("image", "label", "aux", "has_aux")
    train_data = Dataset([{k: r[k] for k in keys} for r in records["training"]], transform=transform)
    generator = torch.Generator().manual_seed(config.seed)
    loader = DataLoader(train_data, batch_size=min(config.batch_size, len(train_data)), shuffle=True,
                        num_workers=0, generator=generator, drop_last=len(train_data) > config.batch_size)
    y_val = _truth_array(records["validation"], task)

    history, best = [], {"auc": -math.inf, "loss": math.inf, "epoch": 0, "state": None}
    since_best = 0
    for epoch in range(1, config.epochs + 1):
        set_train_mode(model, config.mode, pretrained is not None)
        losses = []
        for step, batch in enumerate(loader):
            if stop():
                raise TrainingCancelled()
            x, y = batch["image"].to(device), batch["label"].to(device)
            optimizer.zero_grad(set_to_none=True)
            with devices.autocast(device) if amp else _null():
                out = model(x)
                if config.multitask:
                    logits, dense = out
                    loss = config.cls_weight * loss_fn(logits, y) + config.aux_weight * aux_loss(
                        aux_kind, dense, batch["aux"].to(device), batch["has_aux"].to(device))
                else:
                    loss = loss_fn(out, y)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            losses.append(float(loss.detach()))
            fraction = 0.1 + 0.85 * ((epoch - 1) + (step + 1) / max(len(loader), 1)) / config.epochs
            report(TrainProgress("train", fraction, epoch, config.epochs, f"epoch {epoch}/{config.epochs}",
                                 float(np.mean(losses))))
        probs = _predict(model, records["validation"], task, device, amp, config.batch_size)
        auc = validation_auc(task, y_val, probs, classes)
        val_loss = float(loss_fn(torch.from_numpy(_logits_from(probs, task)),
                                 torch.as_tensor(_label_tensor(records["validation"])))) if len(probs) else math.nan
        history.append({"epoch": epoch, "train_loss": float(np.mean(losses)) if losses else math.nan,
                        "val_loss": val_loss, "val_auc": auc})
        # early stopping: a higher AUC wins; with an undefined AUC (one class in validation) the loss decides
        better = (auc > best["auc"]) if not math.isnan(auc) else (math.isinf(best["auc"]) and val_loss < best["loss"])
        if better or best["state"] is None:
            best.update(auc=auc if not math.isnan(auc) else -math.inf, loss=val_loss, epoch=epoch,
                        state=copy.deepcopy(model.state_dict()))
            since_best = 0
        else:
            since_best += 1
        report(TrainProgress("validate", 0.1 + 0.85 * epoch / config.epochs, epoch, config.epochs,
                             f"epoch {epoch}/{config.epochs}", history[-1]["train_loss"], auc))
        if since_best >= config.patience:
            break

    model.load_state_dict(best["state"])
    predictions = {}
    for split in ("validation", "test", "training"):
        recs = records[split]
        predictions[split] = {"case_ids": [r["case_id"] for r in recs], "y_true": _truth_array(recs, task),
                              "probs": _predict(model, recs, task, device, amp, config.batch_size)}
    paths = output_paths(project, config)
    checkpoint = paths["checkpoint"]
    settings = {**config.to_json(), "device_used": device, "mixed_precision": amp,
                "input_size": list(prep.size), "input_spacing": list(prep.spacing) if prep.spacing else None,
                "architecture": arch, "parameter_groups": [{"name": g["name"], "lr": g["lr"]} for g in groups],
                **loss_fn.describe(), "aux_target": aux_kind if config.multitask else None,
                "torch": torch.__version__, "monai": _monai_version()}
    card = cards.build_card(project, config, items, skipped, predictions, history, best["epoch"], settings,
                            pretrained, time.perf_counter() - started)
    sha = save_checkpoint(checkpoint, net.state_dict(), plugin_id=config.plugin, task=task, classes=classes,
                          architecture=arch, preprocessing=prep.as_checkpoint(),
                          metadata={"trained_on": str(Path(project.directory).resolve()), "best_epoch": best["epoch"],
                                    "mode": config.mode, "multitask": config.multitask, "seed": config.seed,
                                    "val_auc": cards.number(card["validation"].get("auc")),
                                    "pretrained_sha256": pretrained.sha256 if pretrained else None})
    if config.multitask:
        torch.save({k: v.detach().cpu() for k, v in model.aux.state_dict().items()}, paths["aux_head"])
    card["checkpoint"] = {"path": str(checkpoint), "sha256": sha}
    card_json, card_md = cards.write_card(paths["card_json"], paths["card_md"], card)
    report(TrainProgress("finish", 1.0, best["epoch"], config.epochs, f"wrote {checkpoint}"))
    return TrainResult(str(checkpoint), sha, str(card_json), str(card_md), card, history, best["epoch"],
                       card["validation"].get("auc", math.nan), card["test"].get("auc", math.nan), predictions)


def _label_tensor(records):
    return torch.stack([r["label"] for r in records]).numpy()


def _logits_from(probs: np.ndarray, task: str) -> np.ndarray:
    """Logits back from the stored probabilities, for the validation loss."""
    p = np.clip(probs, 1e-7, 1 - 1e-7)
    if task == Task.BINARY:
        p1 = p[:, 1:2]
        return np.log(p1 / (1 - p1)).astype(np.float32)
    if task == Task.MULTICLASS:
        return np.log(p).astype(np.float32)
    return np.log(p / (1 - p)).astype(np.float32)


def _monai_version() -> str:
    import monai

    return monai.__version__
