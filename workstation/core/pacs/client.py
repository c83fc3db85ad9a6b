"""One interface over both kinds of node: echo, find, list, retrieve, store."""
from __future__ import annotations

from workstation.core.pacs.errors import PacsError
from workstation.core.pacs.nodes import Node
from workstation.core.pacs.query import SERIES_FIELDS, STUDY_FIELDS, QueryFilter, keep_modality, keep_name, row_from_dataset


def connect(node: Node):
    if node.kind == "dicomweb":
        from workstation.core.pacs.dicomweb import DicomWebNode
        return DicomWebNode(node)
    if node.kind == "dimse":
        from workstation.core.pacs.dimse import DimseNode
        return DimseNode(node)
    raise PacsError(f"node {node.name!r}: unknown kind {node.kind!r}")


def query(node: Node, filters: QueryFilter, series: bool = False) -> list[dict[str, str]]:
    """Rows of studies (or, with `series`, of their series, each with its study's fields)."""
    remote = connect(node)
    try:
        keys = filters.study_keys()
        if node.kind == "dicomweb":
            keys.pop("PatientName", None)  # Orthanc's DICOMweb plugin 1.7 matches no PatientName; we match below
        studies = [row_from_dataset(d, STUDY_FIELDS) for d in remote.find_studies(keys)]
        studies = [s for s in studies if keep_name(s, filters.name)]
        if filters.study_uid:  # some servers match UIDs loosely; be exact
            studies = [s for s in studies if s["StudyInstanceUID"] == filters.study_uid]
        if not series:
            return [s for s in studies if keep_modality(s, filters.modality)]
        rows = []
        for study in studies:
            for d in remote.find_series(study["StudyInstanceUID"], filters.modality):
                row = {**study, **row_from_dataset(d, SERIES_FIELDS)}
                if keep_modality(row, filters.modality):
                    rows.append(row)
        return rows
    finally:
        remote.close()
