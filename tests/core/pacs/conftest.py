"""A real Orthanc 1.10 with its DICOMweb plugin for the session, on free 127.0.0.1 ports, holding
real pydicom-data files: CT_small, MR_small and two multi-file CT series of dicomdirtests."""
from __future__ import annotations

from pathlib import Path

import pydicom
import pytest

from workstation.core.pacs.orthanc_server import OrthancServer, available, free_port
from workstation.core.io.samples import stacked_ct  # noqa: F401 - the tests import it from here

USER, PASSWORD = "alice", "s3cret-pw"
OUR_AET = "WSTEST"
MOVE_PORT = free_port()  # our storage SCP for C-MOVE; every Orthanc of the tests knows it as OUR_AET


def sample_files() -> dict[str, list[Path]]:
    from pydicom.data import get_testdata_file

    root = Path(get_testdata_file("CT_small.dcm")).parent
    return {"ct_small": [root / "CT_small.dcm"], "mr_small": [root / "MR_small.dcm"],
            "ct4": sorted((root / "dicomdirtests/77654033/CT2").iterdir()),
            "ct5": sorted((root / "dicomdirtests/98892001/CT5N").iterdir())}


def series_uids(files) -> tuple[str, str]:
    ds = pydicom.dcmread(files[0], stop_before_pixels=True)
    return str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID)


def start_orthanc(folder, files=None) -> OrthancServer:
    missing = available()
    if missing:
        pytest.fail(missing + " — packaging/setup.sh installs it")
    server = OrthancServer(folder, users={USER: PASSWORD}, modalities={"ws": (OUR_AET, MOVE_PORT)}).start()
    for group in (files or sample_files()).values():
        for f in group:
            server.upload(f)
    return server


@pytest.fixture(scope="session")
def samples():
    return sample_files()


@pytest.fixture(scope="session")
def orthanc(tmp_path_factory):
    server = start_orthanc(tmp_path_factory.mktemp("orthanc"))
    yield server
    server.stop()


@pytest.fixture
def nodes(orthanc, monkeypatch):
    """Names of the three ways to the session's Orthanc, the secret in the environment."""
    monkeypatch.setenv("WORKSTATION_PACS_SECRET_WEB", PASSWORD)
    from workstation.core.pacs import Node, add_node

    add_node(Node("web", "dicomweb", url=orthanc.dicomweb_url, auth="basic", username=USER), replace=True)
    add_node(Node("dimse", "dimse", aet=orthanc.aet, host="127.0.0.1", port=orthanc.dicom_port,
                  calling_aet=OUR_AET), replace=True)
    add_node(Node("move", "dimse", aet=orthanc.aet, host="127.0.0.1", port=orthanc.dicom_port,
                  calling_aet=OUR_AET, retrieve="move", move_port=MOVE_PORT), replace=True)
    return {"dicomweb": "web", "dimse": "dimse", "move": "move"}


