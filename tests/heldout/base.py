"""The held-out base head: pydeface's mean T1 head (skull, scalp, face, neck), fetched with pip into a
cache folder, with a brain mask, tissue classes and placement regions of our own.

Nothing here comes from the project's training code. The brain mask is an intensity extraction of
the head (threshold, erosion, largest component) cut below by nilearn's MNI152 brain mask registered
affinely with SimpleITK; regions (lobar / deep / infratentorial) and iron-rich nuclei are defined in
MNI coordinates and carried over by the same transform."""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

PYDEFACE = "pydeface==2.1.0"
MEMBER = "pydeface/data/mean_reg2mean.nii.gz"
BASE_VERSION = 1
REGIONS = ("lobar", "deep", "infratentorial")


class BaseUnavailable(RuntimeError):
    pass


def cache_dir() -> Path:
    env = os.environ.get("WORKSTATION_HELDOUT_CACHE")
    if env:
        return Path(env)
    data = os.environ.get("WORKSTATION_DATA_DIR")
    return (Path(data) if data else Path.home() / ".cache" / "workstation") / "heldout"


def fetch_head(cache: Path | None = None) -> Path:
    """The mean head NIfTI, downloaded once with `pip download` into the cache."""
    cache = Path(cache or cache_dir())
    target = cache / "mean_reg2mean.nii.gz"
    if target.exists():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    wheels = list(cache.glob("pydeface-2.1.0-*.whl"))
    if not wheels:
        proc = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", PYDEFACE, "-d", str(cache)],
                              capture_output=True, text=True)
        wheels = list(cache.glob("pydeface-2.1.0-*.whl"))
        if proc.returncode or not wheels:
            reason = (proc.stderr.strip().splitlines() or ["no wheel"])[-1]
            raise BaseUnavailable(f"cannot fetch {PYDEFACE} with pip into {cache}: {reason}")
    with zipfile.ZipFile(wheels[0]) as zf:
        target.write_bytes(zf.read(MEMBER))
    return target


@dataclass
class Base:
    t1: np.ndarray          # float32 (i, j, k), the mean T1 head
    affine: np.ndarray      # 4x4 voxel index -> world mm LPS
    brain: np.ndarray       # bool brain mask (parenchyma and CSF inside it)
    tissue: np.ndarray      # uint8: 0 outside brain, 1 CSF, 2 GM, 3 WM
    region: np.ndarray      # uint8: 0 none, 1 lobar, 2 deep, 3 infratentorial (placement cores)
    iron_strong: np.ndarray  # float32 soft mask: pallidum, substantia nigra, red nucleus, dentate
    iron_moderate: np.ndarray  # float32 soft mask: putamen, caudate, thalamus
    peaks: np.ndarray       # T1 class centres (CSF, GM, WM)
    depth: np.ndarray       # float32 mm from each voxel to the nearest voxel outside the parenchyma
    brain_depth: np.ndarray  # float32 mm from each voxel to the nearest voxel outside the brain
    mni_to_world: np.ndarray  # 4x4, MNI mm RAS -> base world mm LPS

    def world_to_index(self, pts):
        inv = np.linalg.inv(self.affine)
        return np.asarray(pts, float) @ inv[:3, :3].T + inv[:3, 3]

    def index_to_world(self, idx):
        return np.asarray(idx, float) @ self.affine[:3, :3].T + self.affine[:3, 3]

    def mni(self, pts_ras):
        pts = np.atleast_2d(np.asarray(pts_ras, float))
        return pts @ self.mni_to_world[:3, :3].T + self.mni_to_world[:3, 3]


# Ellipsoids in MNI mm (RAS): centre, semi-axes; mirrored in x. Approximate atlas positions.
STRONG_IRON = [((19, -3, -1), (3.5, 8, 4.5)), ((10, -17, -12), (3, 6, 3)), ((5, -20, -9), (3, 3, 3)),
               ((15, -57, -34), (5, 7, 5))]
MODERATE_IRON = [((25, 2, 1), (5, 13, 8)), ((13, 11, 10), (4.5, 9, 7)), ((11, -18, 7), (7, 11, 7))]
DEEP_CORE = [((20, -6, 4), (12, 22, 11)), ((11, -18, 7), (6, 10, 6))]


def _sitk_image(arr, affine):
    import SimpleITK as sitk
    img = sitk.GetImageFromArray(np.ascontiguousarray(arr.transpose(2, 1, 0)).astype(np.float32))
    spacing = np.linalg.norm(affine[:3, :3], axis=0)
    img.SetSpacing([float(s) for s in spacing])
    img.SetDirection([float(v) for v in (affine[:3, :3] / spacing).ravel()])
    img.SetOrigin([float(v) for v in affine[:3, 3]])
    return img


def _register_mni(t1, affine, rough):
    """Affine transform (4x4, base world LPS -> MNI world LPS) of nilearn's MNI152 T1 onto the head:
    a similarity fitted on the top 75 mm of the rough brain (the neck misleads it), then an affine
    restricted to the rough brain near the similarity's mask."""
    import SimpleITK as sitk
    from nilearn import datasets
    mni_img = datasets.load_mni152_template(resolution=1)
    mni_aff = np.diag([-1.0, -1.0, 1.0, 1.0]) @ mni_img.affine  # RAS -> LPS world
    moving = _sitk_image(np.asarray(mni_img.dataobj, np.float32), mni_aff)
    fixed = _sitk_image(t1, affine)
    zs = np.nonzero(rough.any(axis=(0, 1)))[0]
    top = rough.copy()
    top[:, :, : zs.max() - 75] = False

    def reg(fmask, init):
        r = sitk.ImageRegistrationMethod()
        r.SetMetricAsMattesMutualInformation(32)
        r.SetMetricSamplingStrategy(r.RANDOM)
        r.SetMetricSamplingPercentage(0.2, seed=1)
        r.SetMetricFixedMask(sitk.Cast(_sitk_image(fmask, affine), sitk.sitkUInt8))
        r.SetInterpolator(sitk.sitkLinear)
        r.SetOptimizerAsRegularStepGradientDescent(2.0, 1e-3, 200, relaxationFactor=0.6)
        r.SetOptimizerScalesFromPhysicalShift()
        r.SetShrinkFactorsPerLevel([4, 2])
        r.SetSmoothingSigmasPerLevel([2, 1])
        r.SmoothingSigmasAreSpecifiedInPhysicalUnitsOn()
        r.SetInitialTransform(init, inPlace=True)
        r.Execute(fixed, moving)
        return init

    sim = sitk.CenteredTransformInitializer(_sitk_image(rough.astype(np.float32), affine),
                                            sitk.Cast(moving > 0, sitk.sitkFloat32), sitk.Similarity3DTransform(),
                                            sitk.CenteredTransformInitializerFilter.MOMENTS)
    reg(top, sim)
    aff = sitk.AffineTransform(3)
    aff.SetCenter(sim.GetCenter())
    aff.SetMatrix(sim.GetMatrix())
    aff.SetTranslation(sim.GetTranslation())
    m = _to_matrix(sim)
    near = _mni_mask_in_base(m, t1.shape, affine) > 0.5
    near = ndi.binary_dilation(near, iterations=3) & ndi.binary_dilation(rough, iterations=2)
    reg(near, aff)
    return _to_matrix(aff)


def _to_matrix(tx) -> np.ndarray:
    a = np.array(tx.GetMatrix()).reshape(3, 3)
    c, t = np.array(tx.GetCenter()), np.array(tx.GetTranslation())
    out = np.eye(4)
    out[:3, :3] = a
    out[:3, 3] = t + c - a @ c
    return out


def _mni_mask_in_base(world_to_mni_lps, shape, affine):
    from nilearn import datasets
    mask = datasets.load_mni152_brain_mask(resolution=1)
    m_aff = np.diag([-1.0, -1.0, 1.0, 1.0]) @ mask.affine
    idx = np.linalg.inv(m_aff) @ world_to_mni_lps @ affine  # base index -> MNI index
    return ndi.affine_transform(np.asarray(mask.dataobj, np.float32), idx[:3, :3], idx[:3, 3], output_shape=shape,
                                order=1)


def _ellipsoids(mni_ras, shapes):
    out = np.zeros(mni_ras.shape[1:], bool)
    for centre, axes in shapes:
        for sx in (1, -1):
            c = np.array(centre, float) * (sx, 1, 1)
            q = sum(((mni_ras[i] - c[i]) / axes[i]) ** 2 for i in range(3))
            out |= q <= 1
    return out


def _kmeans1d(values, k=3, iters=30):
    c = np.quantile(values, np.linspace(0.15, 0.85, k))
    for _ in range(iters):
        lab = np.argmin(np.abs(values[:, None] - c[None]), axis=1)
        c = np.array([values[lab == i].mean() for i in range(k)])
    return np.sort(c)


def build(head: Path) -> Base:
    import nibabel as nib
    img = nib.load(str(head))
    t1 = np.asarray(img.dataobj, np.float32)
    affine = np.diag([-1.0, -1.0, 1.0, 1.0]) @ img.affine
    spacing = np.linalg.norm(affine[:3, :3], axis=0)
    head_vox = t1 > 150
    core = ndi.binary_erosion(head_vox, ndi.generate_binary_structure(3, 1), iterations=4)
    lab, n = ndi.label(core)
    rough = lab == (np.argmax(ndi.sum(core, lab, range(1, n + 1))) + 1)
    rough = ndi.binary_fill_holes(ndi.binary_dilation(rough, ndi.generate_binary_structure(3, 1), iterations=4)
                                  & head_vox)
    w2m = _register_mni(t1, affine, rough)
    mni_mask = _mni_mask_in_base(w2m, t1.shape, affine) > 0.5
    brain = rough & (ndi.distance_transform_edt(~mni_mask, sampling=spacing) <= 7)
    lab, n = ndi.label(brain)
    brain = lab == (np.argmax(ndi.sum(brain, lab, range(1, n + 1))) + 1)
    brain = ndi.binary_fill_holes(ndi.binary_opening(brain, iterations=2))
    # three k-means classes of the brain are CSF/GM partial volume, GM and WM in this blurred mean head
    gm_wm = _kmeans1d(t1[brain].astype(np.float64))[1:]
    peaks = np.array([0.35 * gm_wm[1], gm_wm[0], gm_wm[1]])  # ventricular CSF is rare in the mask: from WM
    tissue = np.zeros(t1.shape, np.uint8)
    edges = (peaks[:-1] + peaks[1:]) / 2
    tissue[brain] = 1 + np.digitize(t1[brain], edges).astype(np.uint8)

    ijk = np.indices(t1.shape, dtype=np.float32)
    vox_to_mni = np.diag([-1.0, -1.0, 1.0, 1.0]) @ w2m @ affine  # base index -> MNI RAS
    mni = np.einsum("ij,jxyz->ixyz", vox_to_mni[:3, :3].astype(np.float32), ijk) + \
        vox_to_mni[:3, 3].astype(np.float32)[:, None, None, None]
    del ijk
    x, y, z = mni
    parenchyma = tissue >= 2
    infra = ((y < -40) & (z < -14 - 0.2 * np.abs(x))) | ((np.abs(x) < 10) & (y > -40) & (y < -15) & (z < -14))
    deep = _ellipsoids(mni, DEEP_CORE) & (z > -8) & ~infra
    near_other = ndi.distance_transform_edt(~(infra | deep), sampling=spacing) < 8
    gm = tissue == 2
    juxta = ndi.distance_transform_edt(~gm, sampling=spacing) <= 3
    lobar = brain & ~near_other & ~infra & ~deep & juxta & (z > -25)
    region = np.zeros(t1.shape, np.uint8)
    region[lobar & parenchyma] = 1
    region[deep & parenchyma] = 2
    region[infra & parenchyma] = 3

    def soft(mask):
        return (ndi.gaussian_filter(mask.astype(np.float32), 1.0 / spacing) * brain).astype(np.float32)

    strong = _ellipsoids(mni, STRONG_IRON)
    moderate = _ellipsoids(mni, MODERATE_IRON) & ~strong
    depth = ndi.distance_transform_edt(parenchyma, sampling=spacing).astype(np.float32)
    brain_depth = ndi.distance_transform_edt(brain, sampling=spacing).astype(np.float32)
    return Base(t1, affine, brain, tissue, region, soft(strong), soft(moderate), peaks, depth, brain_depth,
                np.linalg.inv(w2m) @ np.diag([-1.0, -1.0, 1.0, 1.0]))


def load_base(cache: Path | None = None) -> Base:
    """The prepared base, built once (about half a minute) and cached as .npz."""
    cache = Path(cache or cache_dir())
    stored = cache / f"base-v{BASE_VERSION}.npz"
    if stored.exists():
        with np.load(stored) as z:
            return Base(**{k: z[k] for k in z.files})
    base = build(fetch_head(cache))
    tmp = stored.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **base.__dict__)
    tmp.replace(stored)
    return base
