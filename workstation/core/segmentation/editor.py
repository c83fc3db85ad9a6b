"""A reader's segmentation of one case being edited: one 0/1 mask per segment on the image grid,
the editing tools, and undo/redo per stroke.

A stroke (the dabs between pressing and releasing the mouse, one fill, one interpolation) records,
for each voxel block it changed, the block as it was and as it became; undo writes the old blocks
back, so the mask is restored exactly (same bytes, same sha256).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from workstation.core.segmentation import brush
from workstation.core.segmentation.grid import Grid


class EditError(ValueError):
    """An edit that cannot be done (unknown segment, point off the image, bad range); the text says why."""


@dataclass
class Patch:
    segment: str
    box: tuple[slice, slice, slice]
    before: np.ndarray
    after: np.ndarray | None = None


@dataclass
class Stroke:
    name: str
    patches: list[Patch] = field(default_factory=list)


def mask_sha256(mask: np.ndarray) -> str:
    return hashlib.sha256(memoryview(np.ascontiguousarray(mask, dtype=np.uint8)).cast("B")).hexdigest()


class SegmentationEditor:
    def __init__(self, grid: Grid, image: np.ndarray | None = None, masks: dict[str, np.ndarray] | None = None):
        self.grid = grid
        self.image = None if image is None else np.asarray(image)
        if self.image is not None and self.image.shape[:3] != grid.shape:
            raise EditError(f"image shape {self.image.shape} is not the grid's {grid.shape}")
        self.masks: dict[str, np.ndarray] = {}
        for name, mask in (masks or {}).items():
            self.set_mask(name, mask)
        self._done: list[Stroke] = []
        self._undone: list[Stroke] = []
        self._open: Stroke | None = None
        self.dirty: set[str] = set()
        self.last_box: tuple[slice, slice, slice] | None = None  # the block the last change wrote

    # ---- segments ------------------------------------------------------------------------------
    def set_mask(self, name: str, mask: np.ndarray) -> None:
        mask = np.asarray(mask)
        if mask.shape != self.grid.shape:
            raise EditError(f"mask shape {mask.shape} is not the image grid {self.grid.shape}")
        self.masks[name] = (mask != 0).astype(np.uint8)

    def mask(self, name: str) -> np.ndarray:
        if name not in self.masks:
            self.masks[name] = self.grid.empty()
        return self.masks[name]

    def volume_mm3(self, name: str) -> float:
        return float(np.count_nonzero(self.mask(name))) * self.grid.voxel_mm3

    def sha256(self, name: str) -> str:
        return mask_sha256(self.mask(name))

    # ---- strokes and undo ----------------------------------------------------------------------
    def begin(self, name: str = "stroke") -> None:
        if self._open is None:
            self._open = Stroke(name)

    def end(self) -> Stroke | None:
        stroke, self._open = self._open, None
        if stroke is None or not stroke.patches:
            return None
        for patch in stroke.patches:
            patch.after = self.masks[patch.segment][patch.box].copy()
        self._done.append(stroke)
        self._undone.clear()
        return stroke

    def _write(self, segment: str, box, new_block: np.ndarray) -> int:
        """Write a block of one segment inside the open stroke (one is opened and closed around a
        lone edit); returns how many voxels changed."""
        target = self.mask(segment)
        lone = self._open is None
        if lone:
            self.begin("edit")
        current = target[box]
        changed = int(np.count_nonzero(current != new_block))
        if changed:
            self._open.patches.append(Patch(segment, box, current.copy()))
            target[box] = new_block
            self.dirty.add(segment)
            self.last_box = box
        if lone:
            self.end()
        return changed

    def can_undo(self) -> bool:
        return bool(self._done)

    def clear_history(self) -> None:
        """Forget the finished strokes (a viewer whose undo is the stored versions' keeps no blocks)."""
        self._done.clear()
        self._undone.clear()

    def can_redo(self) -> bool:
        return bool(self._undone)

    def undo(self) -> Stroke | None:
        if not self._done:
            return None
        stroke = self._done.pop()
        for patch in reversed(stroke.patches):
            self.masks[patch.segment][patch.box] = patch.before
            self.dirty.add(patch.segment)
        self._undone.append(stroke)
        return stroke

    def redo(self) -> Stroke | None:
        if not self._undone:
            return None
        stroke = self._undone.pop()
        for patch in stroke.patches:
            self.masks[patch.segment][patch.box] = patch.after
            self.dirty.add(patch.segment)
        self._done.append(stroke)
        return stroke

    # ---- tools ---------------------------------------------------------------------------------
    def _range_ok(self, box, value_range) -> np.ndarray | None:
        if value_range is None:
            return None
        if self.image is None:
            raise EditError("an intensity range needs the image")
        lo, hi = value_range
        if lo > hi:
            raise EditError(f"intensity range {lo}..{hi} is empty (low above high)")
        block = self.image[box]
        if block.ndim == 4:  # colour: the mean of the channels
            block = block.mean(axis=-1)
        return (block >= lo) & (block <= hi)

    def dab(self, segment: str, centre, radius_mm: float, erase: bool = False, value_range=None,
            normal=None) -> int:
        """Paint (or erase) a sphere of radius_mm around the world point (with `normal`, its disk in
        that plane); with value_range only the voxels whose image value lies in [low, high].
        Returns how many voxels changed."""
        found = brush.sphere_box(self.grid, centre, radius_mm, normal)
        if found is None:
            return 0
        box, inside = found
        allowed = self._range_ok(box, value_range)
        if allowed is not None:
            inside = inside & allowed
        block = self.mask(segment)[box].copy()
        block[inside] = 0 if erase else 1
        return self._write(segment, box, block)

    def paint_mask(self, segment: str, mask: np.ndarray, erase: bool = False) -> int:
        """Add (or with erase remove) a whole mask on the grid, as one stroke."""
        mask = np.asarray(mask)
        if mask.shape != self.grid.shape:
            raise EditError(f"mask shape {mask.shape} is not the image grid {self.grid.shape}")
        full = (slice(None),) * 3
        block = self.mask(segment).copy()
        block[mask != 0] = 0 if erase else 1
        return self._write(segment, full, block)

    def fill_region(self, segment: str, seed, value_range) -> int:
        """Region fill: the face-connected component of voxels with values in [low, high] that holds
        the world point `seed` (scipy.ndimage.label)."""
        from scipy import ndimage

        full = (slice(None),) * 3
        allowed = self._range_ok(full, value_range)
        k, j, i = self._voxel(seed)
        if not allowed[k, j, i]:
            raise EditError(f"the seed's value {float(self.image[k, j, i]):g} is outside the range "
                            f"{value_range[0]:g}..{value_range[1]:g}")
        labels, _ = ndimage.label(allowed)
        region = labels == labels[k, j, i]
        block = self.mask(segment).copy()
        block[region] = 1
        return self._write(segment, full, block)

    def remove_islands(self, segment: str, keep: int = 1, min_voxels: int = 0) -> int:
        """Keep the `keep` largest face-connected pieces (and any of at least min_voxels when
        min_voxels > 0); remove the rest."""
        from scipy import ndimage

        mask = self.mask(segment)
        labels, n = ndimage.label(mask)
        if n <= keep:
            return 0
        sizes = np.bincount(labels.ravel())[1:]
        order = np.argsort(sizes)[::-1]
        kept = set((order[:keep] + 1).tolist())
        if min_voxels > 0:
            kept |= set((np.nonzero(sizes >= min_voxels)[0] + 1).tolist())
        keep_lut = np.zeros(n + 1, dtype=np.uint8)
        keep_lut[list(kept)] = 1
        return self._write(segment, (slice(None),) * 3, keep_lut[labels])

    def interpolate(self, segment: str, axis: int = 0) -> int:
        """Fill the slices between painted slices along a numpy axis (0: k) by morphological
        contour interpolation (see interpolation.py)."""
        from workstation.core.segmentation.interpolation import interpolate_slices

        filled = interpolate_slices(self.mask(segment), axis=axis, spacing=self.grid.spacing[::-1])
        return self._write(segment, (slice(None),) * 3, filled)

    def _voxel(self, point) -> tuple[int, int, int]:
        i, j, k = np.rint(self.grid.world_to_index(point)).astype(int)
        if not all(0 <= a < n for a, n in zip((k, j, i), self.grid.shape)):
            raise EditError(f"point {tuple(round(float(v), 2) for v in point)} mm is off the image")
        return int(k), int(j), int(i)
