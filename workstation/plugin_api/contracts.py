"""The interface a plugin object implements. The manifest's `factory` is called as
`factory(checkpoint=PATH_OR_NONE, options=DICT)` and returns an object with `load` and `predict`.

Options every plugin should accept (and may ignore): `heatmap` (bool: compute heat maps),
`allow_untrained` (bool: with no checkpoint, run a randomly initialised network instead of refusing;
for tests and benchmarks only).
"""
from __future__ import annotations

from typing import Callable, Protocol, Sequence, runtime_checkable

from workstation.core.errors import WorkstationError
from workstation.core.volume import Volume

from workstation.plugin_api.results import Prediction

Progress = Callable[[float], None]  # fraction of this batch done, 0..1
Cancel = Callable[[], bool]  # True once the user asked to stop


class PluginError(WorkstationError):
    """A failure the plugin explains in one line for the user (no traceback shown)."""


class CheckpointMissing(PluginError):
    """The plugin needs weights and none were given."""


class Cancelled(Exception):
    """Raised by a plugin that stops early because `cancel()` became true."""


@runtime_checkable
class Plugin(Protocol):
    def load(self, device: str) -> None:
        """Build the model on `device` ("cpu", "cuda", "mps"); read weights now."""

    def predict(self, batch: Sequence[Volume], progress: Progress | None = None,
                cancel: Cancel | None = None) -> list[Prediction]:
        """One Prediction per volume, in order. Heat maps lie on each volume's own voxel grid."""


def weights_sha256(plugin: object) -> str:
    """The sha256 of the weights a loaded plugin runs, as it reports it ("" when it has none)."""
    value = getattr(plugin, "weights_sha256", "")
    return value if isinstance(value, str) else ""
