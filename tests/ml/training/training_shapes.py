"""Small synthetic projects for the training tests: real PNG files in a real project database,
images of a few shapes on noise, so that a tiny DenseNet learns something in seconds on one CPU."""
from __future__ import annotations

import numpy as np

SIZE = 32


def _shape_image(rng, kind: str, size: int = SIZE, contrast: float = 1.0, noise: float = 0.25):
    """uint8 image and the shape's mask: kind in disc | square | hbar | vbar | blank (noise only)."""
    yy, xx = np.mgrid[:size, :size]
    r = rng.uniform(4, 7)
    cy, cx = rng.uniform(r + 2, size - r - 2, 2)
    if kind == "disc":
        mask = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    elif kind == "square":
        mask = (np.abs(yy - cy) <= r * 0.85) & (np.abs(xx - cx) <= r * 0.85)
    elif kind in ("hbar", "vbar"):
        half_long, half_short = rng.uniform(6, 10), rng.uniform(1.5, 2.5)
        dy, dx = (half_short, half_long) if kind == "hbar" else (half_long, half_short)
        cy, cx = rng.uniform(dy + 1, size - dy - 1), rng.uniform(dx + 1, size - dx - 1)
        mask = (np.abs(yy - cy) <= dy) & (np.abs(xx - cx) <= dx)
    else:
        mask = np.zeros((size, size), bool)
    image = 0.3 + 0.4 * contrast * mask + rng.normal(0, noise, (size, size))
    return (np.clip(image, 0, 1) * 255).astype(np.uint8), mask.astype(np.uint8)


def write_png(path, array) -> str:
    import SimpleITK as sitk

    sitk.WriteImage(sitk.GetImageFromArray(array), str(path))
    return str(path)


def make_shapes_project(root, n: int, classes=("square", "disc"), seed: int = 0, task: str = "binary",
                        masks: bool = False, contrast: float = 1.0, noise: float = 0.25, per_patient: int = 2):
    """A project of n images, a balanced mix of `classes` (each class name is a shape kind; for a
    multilabel task each image holds any subset); every `per_patient` cases share a patient id."""
    from workstation.core.project import Project

    root.mkdir(parents=True, exist_ok=True)
    images = root / "images"
    images.mkdir(exist_ok=True)
    project = Project.create(root / "project", task=task, classes=list(classes))
    rng = np.random.default_rng(seed)
    items, labels = [], {}
    for i in range(n):
        if task == "multilabel":
            chosen = [c for c in classes if rng.random() < 0.5]
            image = np.zeros((SIZE, SIZE), np.float64)
            for c in chosen:
                part, _ = _shape_image(rng, c, contrast=contrast, noise=0.0)
                image = np.maximum(image, part / 255.0)
            image = np.clip(image + rng.normal(0, noise, image.shape), 0, 1)
            array, mask = (image * 255).astype(np.uint8), None
            label = chosen
        else:
            label = classes[i % len(classes)]
            array, mask = _shape_image(rng, label, contrast=contrast, noise=noise)
        case_id = f"c{i:03d}"
        metadata = {}
        if masks and mask is not None:
            metadata["mask"] = write_png(images / f"{case_id}_mask.png", mask)
        items.append({"paths": [write_png(images / f"{case_id}.png", array)], "case_id": case_id,
                      "patient_id": f"p{i // per_patient:03d}", "metadata": metadata})
        labels[case_id] = label
    project.add_cases(items)
    for case_id, label in labels.items():
        project.set_label(case_id, label, reader="reader1", undoable=False)
    return project


def write_nifti(path, array, spacing=(2.0, 2.0, 2.0)) -> str:
    import SimpleITK as sitk

    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    sitk.WriteImage(image, str(path))
    return str(path)


def make_ball_project(root, n: int, seed: int = 0, size: int = 20):
    """3D volumes (NIfTI, 2 mm voxels): a bright ball ("lesion") or none ("clear"), with the ball's
    mask as each case's segmentation target."""
    from workstation.core.project import Project

    root.mkdir(parents=True, exist_ok=True)
    project = Project.create(root / "project", task="binary", classes=["clear", "lesion"])
    rng = np.random.default_rng(seed)
    zz, yy, xx = np.mgrid[:size, :size, :size]
    items, labels = [], {}
    for i in range(n):
        label = ("clear", "lesion")[i % 2]
        mask = np.zeros((size, size, size), np.uint8)
        if label == "lesion":
            r = rng.uniform(2, 4)
            c = rng.uniform(r + 1, size - r - 1, 3)
            mask = (((zz - c[0]) ** 2 + (yy - c[1]) ** 2 + (xx - c[2]) ** 2) <= r * r).astype(np.uint8)
        volume = (100 + 80 * mask + rng.normal(0, 20, mask.shape)).astype(np.int16)
        case_id = f"v{i:03d}"
        items.append({"paths": [write_nifti(root / f"{case_id}.nii.gz", volume)], "case_id": case_id,
                      "patient_id": f"p{i}", "metadata": {"mask": write_nifti(root / f"{case_id}_mask.nii.gz", mask)}})
        labels[case_id] = label
    project.add_cases(items)
    for case_id, label in labels.items():
        project.set_label(case_id, label, reader="reader1", undoable=False)
    return project
