"""The per-export de-identification report (`deidentification.json`): the table's edition, the
options and CID 7050 codes applied, and for every attribute met the rule and the action taken,
with how often — never a value."""
from __future__ import annotations

from collections import Counter

from workstation.core.export.deid.dicom import Deidentifier, method_codes
from workstation.core.export.deid.table import table

REPORT_NAME = "deidentification.json"
PIXELS_WARNING = ("pixels are not inspected for burned-in text: {n} image file(s) were written with "
                  "their pixels unchanged; check them by eye before sharing")


def build_report(deid: Deidentifier, non_dicom: Counter, non_dicom_files: Counter, warnings: list[str]) -> dict:
    t = table()
    rows = [{"tag": tag, "name": name, "rule": rule, "action": action, "source": source, "count": n}
            for (tag, name, rule, action, source), n in sorted(deid.actions.items())]
    return {
        "profile": "DICOM PS3.15 E.1 Basic Application Level Confidentiality Profile",
        "table": {"edition": t.edition, "rows": len(t.rows), "source": t.source},
        "options": list(deid.options.columns()),
        "method_codes": [{"code_value": v, "coding_scheme": "DCM", "meaning": m} for v, m in method_codes(deid.options)],
        "dicom_files": deid.files,
        "attributes": rows,
        "non_dicom_files": dict(sorted(non_dicom_files.items())),
        "non_dicom_metadata_removed": dict(sorted(non_dicom.items())),
        "file_names": "pseudonymised (keyed hash of case and original name)",
        "warnings": list(warnings),
    }
