"""Fixtures for the plugin tests: the fault plugins' folder on sys.path, small images, a runner."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from workstation.core.volume import Volume
from workstation.plugin_host import CaseInput, InferenceRunner

HERE = Path(__file__).parent
if str(HERE) not in sys.path:  # test modules import fault_plugins; spawned workers inherit sys.path
    sys.path.insert(0, str(HERE))


@pytest.fixture
def fault_path(monkeypatch):
    monkeypatch.syspath_prepend(str(HERE))
    return HERE


@pytest.fixture
def runner(fault_path):
    with InferenceRunner(timeout_s=3, load_timeout_s=60) as r:
        yield r


def grey_case(case_id: str, value: int = 100, shape=(32, 40)) -> CaseInput:
    array = np.full(shape, value, dtype=np.uint8)
    return CaseInput(case_id, volume=Volume(array, spacing=(0.5, 0.5, 1.0)))


class Collect:
    """A result sink that keeps what it is given."""
    def __init__(self):
        self.outcomes = []

    def __call__(self, outcomes):
        self.outcomes.extend(outcomes)

    @property
    def case_ids(self):
        return [o.case_id for o in self.outcomes]


@pytest.fixture
def make_case():
    return grey_case


@pytest.fixture
def collect():
    return Collect()
