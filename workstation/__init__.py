"""workstation: medical image review with live model-vs-truth evaluation."""

__version__ = "0.1.0"
