"""A detection project on nilearn's MNI152 T1 (real brain) and pydicom's CT slice (real HU)."""
from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def mni152_path() -> str:
    import importlib.util

    # found without importing nilearn (seconds of imports for one file name)
    path = Path(importlib.util.find_spec("nilearn").origin).parent / "datasets" / "data" / "mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz"
    assert path.is_file(), path
    return str(path)


@pytest.fixture
def seg_project(tmp_path, mni152_path):
    from workstation.core.project import Project

    project = Project.create(tmp_path / "proj", "detection", ["microbleed"], readers=["ann", "bob"])
    project.add_case([mni152_path], case_id="s0")
    yield project
    project.close()
