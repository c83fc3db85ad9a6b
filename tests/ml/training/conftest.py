"""Fixtures for the training tests; helpers live in training_shapes.py (importable by name because
this folder is put on sys.path: tests here are not a package)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from training_shapes import make_shapes_project  # noqa: E402


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    import torch

    torch.set_num_threads(1)  # the test machine's cores are shared


@pytest.fixture
def shapes_project(tmp_path):
    def make(**kw):
        return make_shapes_project(tmp_path / kw.pop("name", "shapes"), **kw)

    return make
