"""Projects for the review-session tests, on real images: pydicom's test DICOMs (a chest CR, a CT
and an MR slice) for the classification projects, nilearn's MNI152 T1 for the detection project."""
from __future__ import annotations

import shutil

import pytest
from pydicom.data import get_testdata_file

# ChestX-ray14's class order (Wang et al. 2017, as the NIH labels list it): not alphabetical
CXR14 = ["Atelectasis", "Cardiomegaly", "Effusion", "Infiltration", "Mass", "Nodule", "Pneumonia",
         "Pneumothorax", "Consolidation", "Edema", "Emphysema", "Fibrosis", "Pleural_Thickening", "Hernia"]


def copy_dicoms(folder, names):
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, name in enumerate(names):
        target = folder / f"c{i}.dcm"
        shutil.copy(get_testdata_file(name), target)
        paths.append(str(target))
    return paths


def prediction(case_id, probabilities, plugin="densenet2d"):
    from workstation.core.project import PredictionRecord

    return PredictionRecord(case_id, probabilities, plugin, "1.0", weights_sha256="0" * 64, device="cpu")


@pytest.fixture
def binary_project(tmp_path):
    """Six real DICOM cases, P(abnormal) 0.9, 0.2, 0.3, 0.55, 0.7, 0.1."""
    from workstation.core.project import Project

    names = ["RG1_UNCR.dcm", "CT_small.dcm", "MR_small.dcm"] * 2
    project = Project.create(tmp_path / "binary", "binary", ["normal", "abnormal"])
    for i, path in enumerate(copy_dicoms(tmp_path / "images", names)):
        project.add_case([path], case_id=f"c{i}")
    project.add_predictions([prediction(f"c{i}", {"normal": 1 - p, "abnormal": p})
                             for i, p in enumerate([0.9, 0.2, 0.3, 0.55, 0.7, 0.1])])
    yield project
    project.close()


def cxr14_probabilities(present, high=0.8, low=0.1):
    return {c: (high if c in present else low) for c in CXR14}


@pytest.fixture
def cxr14_project(tmp_path):
    """A multi-label project in ChestX-ray14's class order on real chest CR images. The model finds
    Effusion and Consolidation on every case: in class order [Effusion, Consolidation], which is
    not their alphabetical order."""
    from workstation.core.project import Project

    project = Project.create(tmp_path / "cxr14", "multilabel", CXR14)
    for i, path in enumerate(copy_dicoms(tmp_path / "cxr", ["RG1_UNCR.dcm"] * 4)):
        project.add_case([path], case_id=f"c{i}")
    project.add_predictions([prediction(f"c{i}", cxr14_probabilities({"Effusion", "Consolidation"}))
                             for i in range(4)])
    yield project
    project.close()


@pytest.fixture
def mni152_path():
    import nilearn.datasets

    from pathlib import Path

    path = Path(nilearn.datasets.__file__).parent / "data" / "mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz"
    assert path.is_file(), path
    return str(path)


@pytest.fixture
def detection_project(tmp_path, mni152_path):
    """Three cases of the MNI152 T1 with detector candidates (world mm) and scores."""
    from workstation.core.project import PredictionRecord, Project

    project = Project.create(tmp_path / "cmb", "detection", ["microbleed"])
    for i in range(3):
        project.add_case([mni152_path], case_id=f"s{i}")
    records = []
    for i in range(3):
        candidates = [{"id": f"k{j}", "centre": [10.0 * j, -20.0 + i, 5.0], "diameter_mm": 4.0, "score": s}
                      for j, s in enumerate([0.9, 0.6, 0.3])]
        records.append(PredictionRecord(f"s{i}", {"microbleed": 0.9}, "cmb-detector", "1.0", candidates=candidates))
    project.add_predictions(records)
    yield project
    project.close()
