"""Training classifiers on a review project's labels: transfer learning (`features` / `finetune`
from our checkpoints or torchvision densenet121 ImageNet weights), multi-task heads, early stopping
on validation AUC, model cards, and the active-learning loop (re-running inference with the new
model). Imports torch and MONAI: import this package lazily from the CLI and the GUI.

    from workstation.ml.training import TrainConfig, train, compare_multitask, predict_project
"""
from .compare import compare_multitask
from .config import TrainConfig, TrainProgress, TrainResult
from .errors import TrainingCancelled, TrainingError
from .loop import predict_project
from .pretrained import PretrainedError, load_pretrained, torchvision_to_monai
from .trainer import train, use_amp, validation_auc

__all__ = ["TrainConfig", "TrainProgress", "TrainResult", "TrainingCancelled", "TrainingError", "train",
           "compare_multitask", "predict_project", "PretrainedError", "load_pretrained", "torchvision_to_monai",
           "use_amp", "validation_auc"]
