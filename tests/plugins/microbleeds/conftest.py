"""Shared phantoms for the microbleed tests (made once per session: a few seconds each)."""
import pytest

from workstation.core.phantoms import make_phantom, write_phantom


@pytest.fixture(scope="session")
def phantom_1mm():
    return make_phantom(seed=4242, index=0, resolution="1mm", n_microbleeds=6)


@pytest.fixture(scope="session")
def phantom_files(tmp_path_factory, phantom_1mm):
    """One phantom on disk (NIfTI + truth) and a truth.json index naming it."""
    import json

    out = tmp_path_factory.mktemp("phantom")
    truth = write_phantom(phantom_1mm, out, "case_a")
    index = out / "truth.json"
    index.write_text(json.dumps({"schema": "workstation.detection-truth/1",
                                 "subjects": [{"id": "case_a", "lesions": truth["lesions"]}]}))
    return out, index
