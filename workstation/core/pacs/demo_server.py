"""A PACS to try the workstation against: a private Orthanc (orthanc_server.py) holding real DICOM
series of pydicom-data, with three saved nodes that reach it: `demo-web` (DICOMweb), `demo-dimse`
(C-GET) and `demo-move` (C-MOVE to our storage SCP on a free port, which this Orthanc knows)."""
from __future__ import annotations

from pathlib import Path

from workstation.core.pacs.errors import PacsError
from workstation.core.pacs.nodes import Node, add_node
from workstation.core.pacs.orthanc_server import OrthancServer, available, free_port

DEMO_AET = "WSDEMO"
SERIES = ("CT_small.dcm", "MR_small.dcm", "dicomdirtests/77654033/CT2", "dicomdirtests/98892001/CT5N")


def demo_files() -> list[Path]:
    from pydicom.data import get_testdata_file

    root = Path(get_testdata_file("CT_small.dcm")).parent
    files: list[Path] = []
    for name in SERIES:
        path = root / name
        files += sorted(path.iterdir()) if path.is_dir() else [path]
    return files


def start_demo(folder) -> tuple[OrthancServer, list[Node]]:
    """Start the Orthanc in `folder` (its storage is kept there: a second start finds the studies),
    upload the series, save the nodes; raises PacsError."""
    missing = available()
    if missing:
        raise PacsError(missing)
    move_port = free_port()
    server = OrthancServer(folder, modalities={"workstation": (DEMO_AET, move_port)})
    try:
        server.start()
        for f in demo_files():
            server.upload(f)
    except Exception as exc:  # noqa: BLE001 - Orthanc's start and upload fail in their own ways
        server.stop()
        raise PacsError(f"the demo Orthanc did not start: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    common = dict(aet=server.aet, host="127.0.0.1", port=server.dicom_port, calling_aet=DEMO_AET)
    nodes = [Node("demo-web", "dicomweb", url=server.dicomweb_url), Node("demo-dimse", "dimse", **common),
             Node("demo-move", "dimse", retrieve="move", move_port=move_port, **common)]
    for node in nodes:
        add_node(node, replace=True)
    return server, nodes
