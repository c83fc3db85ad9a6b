"""What a training run is asked to do, and what it hands back."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

PLUGINS = ("densenet2d", "densenet3d")
AMP_CHOICES = ("auto", "on", "off")


@dataclass
class TrainConfig:
    plugin: str = "densenet2d"
    mode: str = "finetune"  # features: frozen backbone, new head | finetune: all layers
    pretrained: str | None = None  # our checkpoint or a torchvision densenet121 state dict
    epochs: int = 20
    device: str = "auto"
    seed: int = 0
    batch_size: int = 8
    lr: float = 1e-3  # the new head's; from scratch, every layer's
    backbone_lr_factor: float = 0.1  # finetune: the pretrained backbone learns at lr * this
    weight_decay: float = 1e-4
    patience: int = 5  # epochs without a better validation AUC before stopping
    truth: str = "final"
    splits: tuple[float, float, float] = (0.7, 0.15, 0.15)
    size: tuple[int, ...] | None = None  # network input (x, y[, z]); default: pretrained's, else the plugin's
    spacing: tuple[float, ...] | None = None  # 3D resampling target (mm); default: the plugin's
    multitask: bool = False
    cls_weight: float = 1.0  # multitask loss = cls_weight * classification + aux_weight * auxiliary
    aux_weight: float = 0.5
    augment: bool = True
    amp: str = "auto"  # mixed precision: auto (CUDA only) | on | off
    tiny: bool = False  # a small DenseNet instead of DenseNet121 (tests, quick trials; from scratch only)
    out: str | None = None  # folder for model.pt and the model card; default <project>/models/<plugin>/<run>
    level: str | None = None  # a taxonomy level to train at (levels.py); None: the project's classes

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["splits"] = list(self.splits)
        out["size"] = list(self.size) if self.size else None
        out["spacing"] = list(self.spacing) if self.spacing else None
        return out


@dataclass
class TrainProgress:
    stage: str  # "prepare" (per case) | "ready" (data prepared) | "train" (per step) | "validate" (per epoch) | "finish"
    fraction: float  # of the whole run, 0..1
    epoch: int = 0
    epochs: int = 0
    message: str = ""
    train_loss: float | None = None
    val_auc: float | None = None


@dataclass
class TrainResult:
    checkpoint: str
    sha256: str
    card_json: str
    card_md: str
    card: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int = 0
    val_auc: float = float("nan")
    test_auc: float = float("nan")
    # per-split predictions of the best model: {split: {"case_ids", "y_true", "probs"}}
    predictions: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"checkpoint": self.checkpoint, "sha256": self.sha256, "model_card": self.card_json,
                "model_card_md": self.card_md, "best_epoch": self.best_epoch,
                "val_auc": _num(self.val_auc), "test_auc": _num(self.test_auc), "history": self.history,
                "validation": self.card.get("validation"), "test": self.card.get("test"),
                "comparison": self.card.get("comparison")}


def _num(x):
    return None if x is None or x != x else float(x)
