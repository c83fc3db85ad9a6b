"""A real Orthanc (no auth) for the GUI tests of the PACS dock, holding pydicom-data series."""
from pathlib import Path

import pytest

from workstation.core.pacs.orthanc_server import OrthancServer, available


def pydicom_files(*names) -> list[Path]:
    from pydicom.data import get_testdata_file

    root = Path(get_testdata_file("CT_small.dcm")).parent
    files = []
    for name in names:
        path = root / name
        files += sorted(path.iterdir()) if path.is_dir() else [path]
    return files


def orthanc_with(folder, files) -> OrthancServer:
    if available():
        pytest.fail(available())
    server = OrthancServer(folder).start()
    for f in files:
        server.upload(f)
    return server


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory):
    server = orthanc_with(tmp_path_factory.mktemp("orthanc-gui"), pydicom_files("MR_small.dcm", "dicomdirtests/77654033/CT2"))
    yield server
    server.stop()
