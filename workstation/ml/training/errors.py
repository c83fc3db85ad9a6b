"""Training failures with one-line messages."""
from workstation.core.errors import WorkstationError


class TrainingError(WorkstationError, RuntimeError):
    """Training cannot run (no labels, an empty split, unusable weights); str() is one line."""


class TrainingCancelled(TrainingError):
    def __init__(self, message: str = "training was cancelled; no checkpoint was written"):
        super().__init__(message)
