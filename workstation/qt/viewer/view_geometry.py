"""Geometry of a slice view, in plain numpy (no Qt, no VTK): which world plane a view shows,
where its pixels lie, how its slices step, and which patient side each screen edge faces.

A view shows the plane spanned by two orthonormal world (LPS) directions: `ex` points to the
screen's right and `ey` to the screen's top; `en = ex x ey` is the plane normal. The view's 2D
scene coordinates of a world point p are (p . ex, p . ey) in mm, and the plane at offset s along
`en` is {p : p . en = s}. Radiological convention: the patient's right is on the screen's left in
axial and coronal views, anterior is up in axial and on the left in sagittal views.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from workstation.core.volume import Volume

# (screen right, screen up) as LPS unit vectors.
STANDARD_FRAMES = {
    "axial": ((1.0, 0.0, 0.0), (0.0, -1.0, 0.0)),     # right: L, up: A
    "coronal": ((1.0, 0.0, 0.0), (0.0, 0.0, 1.0)),    # right: L, up: S
    "sagittal": ((0.0, 1.0, 0.0), (0.0, 0.0, 1.0)),   # right: P, up: S
}
_LETTERS = (("R", "L"), ("A", "P"), ("I", "S"))  # (negative, positive) side of LPS x, y, z


@dataclass(frozen=True)
class ViewFrame:
    name: str
    ex: np.ndarray
    ey: np.ndarray

    @functools.cached_property  # (read at every slice step: np.cross is slow on 3-vectors)
    def en(self) -> np.ndarray:
        return np.cross(self.ex, self.ey)

    @functools.cached_property
    def matrix(self) -> np.ndarray:
        """3x3 with columns ex, ey, en: view coordinates (u, v, s) -> world."""
        return np.column_stack([self.ex, self.ey, self.en])

    def to_scene(self, world) -> np.ndarray:
        """World points (..., 3) -> scene (u, v) in mm."""
        world = np.asarray(world, dtype=float)
        return np.stack([world @ self.ex, world @ self.ey], axis=-1)

    def to_world(self, u: float, v: float, offset: float) -> np.ndarray:
        return u * self.ex + v * self.ey + offset * self.en

    def letters(self) -> dict[str, str]:
        """Patient-side letters for the screen edges: keys left, right, top, bottom."""
        return {"right": side_letters(self.ex), "left": side_letters(-self.ex),
                "top": side_letters(self.ey), "bottom": side_letters(-self.ey)}


def standard_frame(name: str) -> ViewFrame:
    ex, ey = STANDARD_FRAMES[name]
    return ViewFrame(name, np.array(ex), np.array(ey))


def native_frame(volume: Volume) -> ViewFrame:
    """The image's own plane, rows going down the screen: how a 2D image (X-ray, photo) is
    meant to be seen, whatever its direction cosines say."""
    ex = volume.direction[:, 0] / np.linalg.norm(volume.direction[:, 0])
    ey = -volume.direction[:, 1] / np.linalg.norm(volume.direction[:, 1])
    return ViewFrame("native", ex, ey)


def acquisition_plane(volume: Volume) -> str:
    """The standard plane closest to the plane the slices were acquired in."""
    normal = volume.direction[:, 2]
    return ("sagittal", "coronal", "axial")[int(np.argmax(np.abs(normal)))]


def side_letters(direction) -> str:
    """'L', 'PS', ...: the patient sides a direction points to, strongest first (> 0.3)."""
    direction = np.asarray(direction, dtype=float)
    order = np.argsort(-np.abs(direction))
    letters = [_LETTERS[a][int(direction[a] > 0)] for a in order if abs(direction[a]) > 0.3]
    return "".join(letters[:2])


@dataclass(frozen=True)
class SliceGrid:
    """Where a view's pixels lie for one volume: output origin, spacing and size (u, v), and
    how its slices step along the normal."""

    frame: ViewFrame
    origin: tuple[float, float]      # scene (u, v) of the first pixel's centre
    spacing: tuple[float, float]     # mm per pixel along u, v
    size: tuple[int, int]            # pixels along u, v
    axis: int                        # volume axis (0=i, 1=j, 2=k) the slices step along
    count: int                       # number of slices

    @property
    def extent_mm(self) -> tuple[float, float, float, float]:
        """(u0, u1, v0, v1): the outer edges of the slice image in scene mm."""
        (ou, ov), (su, sv), (nu, nv) = self.origin, self.spacing, self.size
        return (ou - su / 2, ou + su * (nu - 0.5), ov - sv / 2, ov + sv * (nv - 0.5))


def _axis_along(volume: Volume, direction: np.ndarray) -> int:
    return int(np.argmax(np.abs(volume.direction.T @ direction)))


def slice_grid(volume: Volume, frame: ViewFrame) -> SliceGrid:
    spacing = np.asarray(volume.spacing)
    au, av, an = (_axis_along(volume, d) for d in (frame.ex, frame.ey, frame.en))
    su = spacing[au]
    sv = spacing[av] if av != au else spacing[au]
    size = np.asarray(volume.size, dtype=float)
    corners = np.array([[x, y, z] for x in (-0.5, size[0] - 0.5) for y in (-0.5, size[1] - 0.5)
                        for z in (-0.5, size[2] - 0.5)])
    scene = frame.to_scene(volume.index_to_world(corners))
    (u0, v0), (u1, v1) = scene.min(axis=0), scene.max(axis=0)
    nu = max(1, int(round((u1 - u0) / su)))
    nv = max(1, int(round((v1 - v0) / sv)))
    return SliceGrid(frame, (u0 + su / 2, v0 + sv / 2), (float(su), float(sv)), (nu, nv), an,
                     int(volume.size[an]))


def slice_index(volume: Volume, grid: SliceGrid, point) -> int:
    """The slice (voxel index along `grid.axis`) holding a world point, clipped to the volume."""
    index = volume.world_to_index(point)[grid.axis]
    return int(np.clip(np.floor(index + 0.5), 0, grid.count - 1))


def slice_offset(volume: Volume, grid: SliceGrid, point, index: int) -> float:
    """The plane offset (along the normal, mm) of slice `index`, passing near `point`."""
    ijk = volume.world_to_index(point)
    ijk[grid.axis] = index
    return float(volume.index_to_world(ijk) @ grid.frame.en)


def snap_to_slice(volume: Volume, grid: SliceGrid, point, index: int) -> np.ndarray:
    """`point` moved along the view normal onto slice `index`."""
    point = np.asarray(point, dtype=float)
    offset = slice_offset(volume, grid, point, index)
    return point + (offset - point @ grid.frame.en) * grid.frame.en


def reslice_axes(grid_volume: Volume, frame: ViewFrame, offset: float) -> np.ndarray:
    """4x4 matrix from view coordinates (u, v, w) to voxel indices (i, j, k) of `grid_volume`
    for the plane at `offset`: what vtkImageReslice needs when its input is in index space."""
    to_index = _to_index(np.ascontiguousarray(grid_volume.direction, dtype=float).tobytes(),
                         tuple(grid_volume.spacing))
    matrix = np.eye(4)
    matrix[:3, :3] = to_index @ frame.matrix
    matrix[:3, 3] = to_index @ (offset * frame.en - np.asarray(grid_volume.origin))
    return matrix


@functools.lru_cache(maxsize=64)
def _to_index(direction: bytes, spacing: tuple[float, float, float]) -> np.ndarray:
    """World directions -> voxel index steps (inverse direction, per spacing)."""
    inverse = np.linalg.inv(np.frombuffer(direction, dtype=float).reshape(3, 3))
    out = inverse / np.asarray(spacing)[:, None]
    out.flags.writeable = False  # shared by every caller
    return out


def voxel_plane(array: np.ndarray, axes: np.ndarray, grid: SliceGrid) -> np.ndarray | None:
    """The view's slice as a numpy view of `array` ([k, j, i]), rows going up the screen, when the
    view's pixels are exactly the voxels of one plane (axis-aligned volume, the grid inside it):
    what vtkImageReslice would output with nearest-neighbour sampling, without copying. None
    otherwise (oblique volumes, a grid reaching outside: the reslice does those). `axes` is
    `reslice_axes(...)` for the slice shown."""
    (ou, ov), (su, sv), (nu, nv) = grid.origin, grid.spacing, grid.size
    start = axes[:3, :3] @ np.array([ou, ov, 0.0]) + axes[:3, 3]  # voxel (i, j, k) of pixel (0, 0)
    steps = [axes[:3, 0] * su, axes[:3, 1] * sv]  # voxel steps per pixel along u and v
    picked = []
    for step in steps:
        axis = int(np.argmax(np.abs(step)))
        if abs(abs(step[axis]) - 1.0) > 1e-9 or np.abs(np.delete(step, axis)).max() > 1e-9:
            return None
        picked.append((axis, 1 if step[axis] > 0 else -1))
    first = np.rint(start)
    if picked[0][0] == picked[1][0] or np.abs(start - first).max() > 1e-6:
        return None
    first = first.astype(int)
    size = array.shape[2], array.shape[1], array.shape[0]  # voxels along i, j, k
    index: list = [None, None, None]  # per voxel axis i, j, k
    for (axis, sign), count in zip(picked, (nu, nv)):
        last = first[axis] + sign * (count - 1)
        if not (0 <= first[axis] < size[axis] and 0 <= last < size[axis]):
            return None
        stop = last + sign
        index[axis] = slice(first[axis], None if stop < 0 else stop, sign)
    (normal,) = {0, 1, 2} - {picked[0][0], picked[1][0]}
    if not 0 <= first[normal] < size[normal]:
        return None
    index[normal] = int(first[normal])
    plane = array[index[2], index[1], index[0]]  # numpy order k, j, i
    # the plane's axes are the two picked voxel axes in numpy order (k before j before i)
    u_axis, v_axis = picked[0][0], picked[1][0]
    return plane.T if u_axis > v_axis else plane  # rows along v, columns along u
