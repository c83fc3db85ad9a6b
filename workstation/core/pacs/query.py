"""What a query asks (a `QueryFilter`) and what it answers (rows of plain strings), the same for
QIDO-RS and C-FIND. A series query is done in two steps, studies then each study's series, because
C-FIND in the Study Root model needs the study's UID at the series level."""
from __future__ import annotations

import re
from dataclasses import dataclass

from pydicom.dataset import Dataset

from workstation.core.pacs.errors import PacsError

STUDY_FIELDS = ("PatientID", "PatientName", "PatientBirthDate", "StudyInstanceUID", "StudyDate", "StudyTime",
                "AccessionNumber", "StudyDescription", "ModalitiesInStudy", "NumberOfStudyRelatedSeries",
                "NumberOfStudyRelatedInstances")
SERIES_FIELDS = ("StudyInstanceUID", "SeriesInstanceUID", "Modality", "SeriesNumber", "SeriesDescription",
                 "NumberOfSeriesRelatedInstances")
_DATE = re.compile(r"^(\d{8})?(-)?(\d{8})?$")


@dataclass
class QueryFilter:
    patient_id: str = ""
    name: str = ""           # DICOM wildcard pattern: * and ?
    modality: str = ""
    date: str = ""           # YYYYMMDD, or a range YYYYMMDD-YYYYMMDD (either side may be open)
    accession: str = ""
    study_uid: str = ""

    def __post_init__(self) -> None:
        m = _DATE.match(self.date or "")
        if self.date and (not m or not (m[1] or m[3]) or (m[1] and m[3] and not m[2])):
            raise PacsError(f"--date {self.date!r}: give YYYYMMDD or YYYYMMDD-YYYYMMDD")
        if self.modality and not re.fullmatch(r"[A-Z0-9]{1,16}", self.modality):
            raise PacsError(f"--modality {self.modality!r}: a DICOM modality code such as MR or CT")

    def study_keys(self) -> dict[str, str]:
        """The matching keys of the study level (empty values are left out)."""
        keys = {"PatientID": self.patient_id, "PatientName": self.name, "StudyDate": self.date,
                "AccessionNumber": self.accession, "StudyInstanceUID": self.study_uid}
        return {k: v for k, v in keys.items() if v}


def row_from_dataset(ds: Dataset, fields) -> dict[str, str]:
    row = {}
    for keyword in fields:
        value = ds.get(keyword)
        if value is None or value == "":
            row[keyword] = ""
        elif isinstance(value, (list, tuple)) or getattr(value, "is_multi", False) or type(value).__name__ == "MultiValue":
            row[keyword] = "\\".join(str(v) for v in value)
        else:
            row[keyword] = str(value)
    return row


def keep_name(row: dict[str, str], pattern: str) -> bool:
    """DICOM PN wildcard match (* and ?), case-insensitive as most PACS match."""
    if not pattern:
        return True
    import fnmatch

    glob = pattern.replace("[", "[[]")
    return fnmatch.fnmatchcase(row.get("PatientName", "").upper(), glob.upper())


def keep_modality(row: dict[str, str], modality: str) -> bool:
    """Servers differ in matching ModalitiesInStudy; check the answer ourselves."""
    if not modality:
        return True
    have = row.get("Modality") or row.get("ModalitiesInStudy") or ""
    return modality in have.split("\\")
