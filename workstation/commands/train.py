"""`workstation train DIR --plugin densenet2d|densenet3d --mode features|finetune` — train a
classifier on a project's final labels, write its checkpoint and model card, then re-run it over
the project so that the predictions, live metrics and worklist orderings follow the new model."""
from __future__ import annotations

import argparse
import json
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train", help="train a DenseNet classifier on a project's labels (transfer learning, multi-task)",
        description="Train on the project's final labels with the export's patient-grouped splits; early "
                    "stopping on validation AUC; writes model.pt (the plugin's checkpoint format) and "
                    "model_card.json/.md into <project>/models/<plugin>/<run>/ (or --out), then predicts "
                    "every case with the new model (unless --no-predict). Nothing is downloaded.")
    p.add_argument("dir", help="project folder")
    p.add_argument("--plugin", default="densenet2d", choices=["densenet2d", "densenet3d"])
    p.add_argument("--mode", default="finetune", choices=["features", "finetune"],
                   help="features: freeze the pretrained backbone, train a new final layer; finetune "
                        "(default): train all layers, the pretrained backbone at a lower learning rate")
    p.add_argument("--pretrained", metavar="PATH", default=None,
                   help="starting weights: one of our checkpoints, or a torchvision densenet121 state dict")
    p.add_argument("--epochs", type=int, default=20, help="most epochs (default 20; early stopping may end sooner)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    p.add_argument("--seed", type=int, default=0, help="seed of the split, the initialisation and the augmentation")
    p.add_argument("--multitask", action="store_true",
                   help="add a second head (segmentation where cases have masks, else a localisation heat map)")
    p.add_argument("--compare", action="store_true",
                   help="with --multitask: also train the single-task model on the same split and compare them")
    p.add_argument("--aux-weight", type=float, default=0.5, help="multi-task weight of the second head's loss (0.5)")
    p.add_argument("--cls-weight", type=float, default=1.0, help="multi-task weight of the classification loss (1.0)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--lr", type=float, default=1e-3, help="learning rate of the new head (default 1e-3)")
    p.add_argument("--backbone-lr-factor", type=float, default=0.1,
                   help="finetune: the pretrained backbone's learning rate is lr times this (default 0.1)")
    p.add_argument("--patience", type=int, default=5, help="epochs without a better validation AUC before stopping")
    p.add_argument("--splits", default="0.7,0.15,0.15", help="training,validation,test fractions (as export)")
    p.add_argument("--truth", default=None,
                   help="label source: final, consensus, original (imported) or a reader; default final, or "
                        "original when no reader has labelled yet")
    p.add_argument("--size", default=None, help="network input size, e.g. 224,224 or 96,96,96")
    p.add_argument("--amp", default="auto", choices=["auto", "on", "off"], help="mixed precision (CUDA only)")
    p.add_argument("--no-augment", action="store_true", help="train without MONAI augmentations")
    p.add_argument("--tiny", action="store_true", help="a small DenseNet instead of DenseNet121 (quick trials)")
    p.add_argument("--out", default=None, help="folder for model.pt and the model card")
    p.add_argument("--no-predict", action="store_true", help="do not re-run the project with the new model")
    p.add_argument("--level", default=None, metavar="DEPTH|leaf",
                   help="a project with a taxonomy: train on the labels mapped to this level (1 = the top split; "
                        "a model of a coarser level than leaf is not re-run over the project, whose predictions "
                        "are leaf probabilities)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def _fail(message: str) -> int:
    print(f"workstation train: {message}", file=sys.stderr)
    return 2


class ProgressBar:
    """A one-line bar on stderr (a line per epoch when stderr is not a terminal)."""

    def __init__(self, stream=None, width: int = 30):
        self.stream = stream or sys.stderr
        self.width = width
        self.tty = self.stream.isatty()
        self.last_epoch = -1

    def __call__(self, p) -> None:
        filled = int(round(self.width * p.fraction))
        text = f"[{'#' * filled}{'-' * (self.width - filled)}] {p.fraction * 100:3.0f}% {p.message}"
        if p.train_loss is not None:
            text += f" loss {p.train_loss:.4f}"
        if p.val_auc is not None and p.val_auc == p.val_auc:
            text += f" val AUC {p.val_auc:.3f}"
        if self.tty:
            self.stream.write("\r" + text[:120].ljust(120))
            if p.stage == "finish":
                self.stream.write("\n")
        elif p.stage in ("ready", "validate", "finish"):
            self.stream.write(text + "\n")
        self.stream.flush()


def _parse_size(text):
    if not text:
        return None
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"--size {text!r}: expected integers such as 224,224") from None


def _choose_truth(project, requested: str | None) -> str:
    """The label source: as asked; by default the readers' final labels, or the imported (original)
    ones when no reader has labelled yet (said on stderr); with neither, which --truth to pass."""
    if requested:
        return requested
    if project.truth("final", nodes=True):
        return "final"
    imported = project.truth("original")
    if imported:
        print(f"workstation train: no reader has labelled yet; training on the {len(imported)} imported "
              f"(original) labels (--truth original)", file=sys.stderr)
        return "original"
    return "final"


def run(args: argparse.Namespace) -> int:
    from workstation.core.export import parse_ratios
    from workstation.core.project import Project, ProjectError

    try:
        splits = parse_ratios(args.splits)
        size = _parse_size(args.size)
    except ValueError as exc:
        return _fail(str(exc))
    if args.compare and not args.multitask:
        return _fail("--compare compares the multi-task model with the single-task one: add --multitask")
    import torch

    from workstation.ml.training import TrainConfig, TrainingError, compare_multitask, train
    from workstation.plugin_host.predict import predict_project

    if args.threads:
        torch.set_num_threads(args.threads)
    config = TrainConfig(plugin=args.plugin, mode=args.mode, pretrained=args.pretrained, epochs=args.epochs,
                         device=args.device, seed=args.seed, batch_size=args.batch_size, lr=args.lr,
                         backbone_lr_factor=args.backbone_lr_factor, patience=args.patience,
                         truth=args.truth or "final",
                         splits=splits, size=size, multitask=args.multitask, cls_weight=args.cls_weight,
                         aux_weight=args.aux_weight, augment=not args.no_augment, amp=args.amp, tiny=args.tiny,
                         out=args.out, level=args.level)
    bar = ProgressBar()
    try:
        with Project.open(args.dir) as project:
            config.truth = _choose_truth(project, args.truth)
            if args.compare:
                result, single = compare_multitask(project, config, bar)
            else:
                result, single = train(project, config, bar), None
            inference = None
            from workstation.ml.training import levels

            coarse = levels.resolved(project, args.level) is not None
            if coarse and not args.no_predict:
                print(f"workstation train: a model of level {args.level} predicts that level's nodes, not the "
                      f"project's classes: it is not re-run over the project", file=sys.stderr)
            if not args.no_predict and not coarse:
                report = predict_project(project, args.plugin, result.checkpoint, args.device)
                inference = report.to_json()
    except (TrainingError, ProjectError, ValueError) as exc:
        return _fail(str(exc).splitlines()[0])
    out = result.to_json()
    out["inference"] = inference
    if single is not None:
        out["single_task"] = single.to_json()
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        _print_summary(result, inference)
    return 0 if inference is None or not inference.get("error") else 1


def _auc(block) -> str:
    if not block or block.get("auc") is None:
        return "undefined"
    ci = block.get("auc_ci")
    return f"{block['auc']:.3f}" + (f" (95% CI {ci[0]:.3f}-{ci[1]:.3f})" if ci and None not in ci else "")


def _print_summary(result, inference) -> None:
    card = result.card
    print(f"checkpoint: {result.checkpoint}")
    print(f"model card: {result.card_md}")
    print(f"best epoch {result.best_epoch} of {card['epochs_run']}; validation AUC {_auc(card['validation'])}; "
          f"test AUC {_auc(card['test'])}")
    comparison = card.get("comparison")
    if comparison:
        print(f"multi-task vs single-task ({comparison['split']}): {comparison['multitask_auc']} vs "
              f"{comparison['single_task_auc']}")
    if inference is not None:
        print(f"predictions stored for {inference['stored']} of {inference['total']} case(s)"
              + (f"; {len(inference['failed'])} failed" if inference["failed"] else "")
              + (f"; error: {inference['error']}" if inference.get("error") else ""))
