"""Training failures with one-line messages."""


class TrainingError(RuntimeError):
    """Training cannot run (no labels, an empty split, unusable weights); str() is one line."""


class TrainingCancelled(TrainingError):
    def __init__(self, message: str = "training was cancelled; no checkpoint was written"):
        super().__init__(message)
