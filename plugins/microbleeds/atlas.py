"""Where a candidate sits in the brain: an affine registration of a T2*-like MNI152 template to the
working image, and per candidate its distance to the sites of physiological calcification.

A reader knows that a dark focus in the pineal region, in the choroid plexus of a trigone or in
both globi pallidi is far more often mineral than blood, and that the choroid plexus lies in the
ventricles, where no microbleed does (docs/phantom-spec.md section 6). Stage 2 reads that as five
measurements (ATLAS_FEATURES): the distance in template mm to the nearest pineal, choroid and
pallidal site, the template's CSF share around the candidate, and its depth in the template's
brain (a brain mask that runs on into the neck or keeps a strip of skull lets stage 1 screen
tissue that is no brain at all).

The template (`weights/atlas_2mm.npz`, ~1 MB) is nilearn's MNI152 2009 brain, given the T2*
contrast of the spec (CSF 1, GM 0.75, WM 0.6, iron-dark deep nuclei) and normalised exactly as
the working image is (screening.normalise), on a 2 mm grid. It is built once by
`python -m plugins.microbleeds.atlas OUT` (needs nilearn; the run time does not).

The registration (SimpleITK, ~1.5 s): a similarity transform from the intensity moments, then an
affine one, by correlation sampled only within 6 mm of the template's brain. That mask matters:
a brain mask that runs on into the neck otherwise pulls the template 20 mm down."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import ndimage

from plugins.microbleeds.screening import block_mean

ATLAS = Path(__file__).parent / "weights" / "atlas_2mm.npz"
ATLAS_SPACING = 2.0
ATLAS_FEATURES = ("site_pineal_mm", "site_choroid_mm", "site_pallidum_mm", "atlas_csf", "atlas_depth_mm")
# MNI152 (RAS mm) sites of physiological calcification, mirrored in x: the pineal gland, the
# glomus of the choroid plexus in each trigone, the globus pallidus
SITES_RAS = {"site_pineal_mm": [(0.0, -30.0, 3.0)],
             "site_choroid_mm": [(28.0, -42.0, 16.0), (-28.0, -42.0, 16.0)],
             "site_pallidum_mm": [(19.0, -3.0, -1.0), (-19.0, -3.0, -1.0)]}
SCALE_LIMITS = (0.6, 1.6)  # an affine outside these stretches is a failed registration
# a brain mask under this share of the template's brain is a slab or a part of the brain: an affine
# fit to it is not trusted, and the candidates' atlas measurements are missing (NaN), which the
# trees send the way most of their training went
MIN_BRAIN_SHARE = 0.5


@dataclass
class Atlas:
    image: np.ndarray   # normalised T2*-like template [k, j, i], 2 mm, LPS
    brain: np.ndarray   # bool: where the metric samples (the brain and 6 mm around it)
    csf: np.ndarray     # CSF share 0..1, smoothed (sigma 2 mm) as the features read it
    depth: np.ndarray   # signed mm to the template brain's surface, > 0 inside
    origin: np.ndarray  # LPS mm of voxel [0, 0, 0]

    @classmethod
    def load(cls, path: Path = ATLAS) -> "Atlas":
        with np.load(path, allow_pickle=False) as z:
            csf = ndimage.gaussian_filter(z["csf"].astype(np.float32) / 255.0, 1.0)
            return cls(z["image"].astype(np.float32), z["brain"].astype(bool), csf,
                       z["depth"].astype(np.float32), z["origin"].astype(float))

    @property
    def brain_mm3(self) -> float:
        return float((self.depth > 0).sum()) * ATLAS_SPACING ** 3


@lru_cache(maxsize=1)
def shipped_atlas() -> Atlas:
    """The shipped template, read once per process (every volume's registration uses it)."""
    return Atlas.load()


def build_atlas(out: Path) -> None:
    """The shipped template, from nilearn's MNI152 (the phantoms' anatomy)."""
    from plugins.microbleeds.screening import normalise
    from workstation.core.phantoms.anatomy import load_anatomy

    a = load_anatomy()
    t2s = np.where(a.brain, a.csf * 1.0 + a.gm * 0.75 + a.wm * 0.6, 0) * (1 - 0.5 * a.iron)
    norm, _ = normalise(t2s.astype(np.float32), a.brain)
    image = ndimage.gaussian_filter(block_mean(norm, 2), 0.7)
    around = ndimage.binary_dilation(a.brain, iterations=6)
    depth = ndimage.distance_transform_edt(a.brain) - ndimage.distance_transform_edt(~a.brain)
    np.savez_compressed(out, image=image.astype(np.float16), brain=block_mean(around.astype(np.float32), 2) > 0.5,
                        csf=np.round(255 * np.clip(block_mean(a.csf, 2), 0, 1)).astype(np.uint8),
                        depth=np.clip(np.round(block_mean(depth, 2)), -60, 60).astype(np.int8),
                        origin=np.asarray(a.origin, float) + 0.5)


def _sitk_image(array: np.ndarray, origin, spacing: float):
    import SimpleITK as sitk

    image = sitk.GetImageFromArray(np.ascontiguousarray(array, np.float32))
    image.SetOrigin(tuple(float(o) for o in origin))
    image.SetSpacing((float(spacing),) * 3)
    return image


def _register(fixed, moving, mask, transform, shrink, smooth_mm):
    import SimpleITK as sitk

    r = sitk.ImageRegistrationMethod()
    r.SetMetricAsCorrelation()
    r.SetMetricMovingMask(mask)
    r.SetMetricSamplingStrategy(r.RANDOM)
    r.SetMetricSamplingPercentage(0.3, seed=1)
    r.SetInterpolator(sitk.sitkLinear)
    r.SetOptimizerAsRegularStepGradientDescent(2.0, 1e-3, 100, relaxationFactor=0.6)
    r.SetOptimizerScalesFromPhysicalShift()
    r.SetShrinkFactorsPerLevel(list(shrink))
    r.SetSmoothingSigmasPerLevel(list(smooth_mm))
    r.SmoothingSigmasAreSpecifiedInPhysicalUnitsOn()
    r.SetInitialTransform(transform, inPlace=False)
    out = r.Execute(fixed, moving)
    return out.GetNthTransform(0) if out.GetName() == "CompositeTransform" else out


def to_atlas(work, atlas: Atlas) -> tuple[np.ndarray, np.ndarray]:
    """(A, t): template LPS mm = A @ working-grid LPS mm + t. Registration on a 2 mm grid."""
    import SimpleITK as sitk

    image = np.where(work.mask, work.array, 0).astype(np.float32)
    fixed = _sitk_image(ndimage.gaussian_filter(block_mean(image, 2), 0.7), np.asarray(work.origin) + 0.5, 2.0)
    moving = _sitk_image(atlas.image, atlas.origin, ATLAS_SPACING)
    mask = sitk.Cast(_sitk_image(atlas.brain.astype(np.float32), atlas.origin, ATLAS_SPACING), sitk.sitkUInt8)
    start = sitk.CenteredTransformInitializer(fixed, moving, sitk.Similarity3DTransform(),
                                              sitk.CenteredTransformInitializerFilter.MOMENTS)
    similar = sitk.Similarity3DTransform(_register(fixed, moving, mask, start, (2, 1), (2.0, 0.0)))
    affine = sitk.AffineTransform(3)
    affine.SetCenter(similar.GetCenter())
    affine.SetMatrix(similar.GetMatrix())
    affine.SetTranslation(similar.GetTranslation())
    result = sitk.AffineTransform(_register(fixed, moving, mask, affine, (1,), (0.0,)))
    matrix = np.array(result.GetMatrix()).reshape(3, 3)
    stretch = np.linalg.svd(matrix, compute_uv=False)
    if stretch.min() < SCALE_LIMITS[0] or stretch.max() > SCALE_LIMITS[1]:
        result = affine  # the similarity's answer: no shear or stretch to go wrong
        matrix = np.array(result.GetMatrix()).reshape(3, 3)
    centre = np.array(result.GetCenter())
    return matrix, centre + np.array(result.GetTranslation()) - matrix @ centre


def atlas_features(work, kji: np.ndarray, atlas: Atlas | None = None) -> dict[str, np.ndarray]:
    """ATLAS_FEATURES at working-grid voxels `kji` (NaN where the brain is too partial to register)."""
    atlas = atlas or shipped_atlas()
    kji = np.asarray(kji, int).reshape(-1, 3)
    missing = {name: np.full(len(kji), np.nan, np.float32) for name in ATLAS_FEATURES}
    if float(work.mask.sum()) * float(work.spacing) ** 3 < MIN_BRAIN_SHARE * atlas.brain_mm3:
        return missing
    try:
        matrix, shift = to_atlas(work, atlas)
    except RuntimeError:  # SimpleITK found too few samples to compare: no registration
        return missing
    lps = work.to_world(kji) @ matrix.T + shift
    out = {}
    for name, sites in SITES_RAS.items():
        sites_lps = np.asarray(sites) * [-1.0, -1.0, 1.0]
        out[name] = np.linalg.norm(lps[:, None] - sites_lps[None], axis=2).min(axis=1).astype(np.float32)
    at = ((lps - atlas.origin) / ATLAS_SPACING)[:, ::-1]
    out["atlas_csf"] = ndimage.map_coordinates(atlas.csf, at.T, order=1, mode="constant").astype(np.float32)
    out["atlas_depth_mm"] = ndimage.map_coordinates(atlas.depth, at.T, order=1, mode="nearest").astype(np.float32)
    return out


if __name__ == "__main__":
    import sys

    build_atlas(Path(sys.argv[1]) if len(sys.argv) > 1 else ATLAS)
