"""De-identification for exports: DICOM to the whole of PS3.15 Table E.1-1 with its options
(`dicom`, rules from `table` and the copies of the standard's tables beside it), metadata out of
other image formats (`files`), and the per-export report (`report`)."""
from workstation.core.export.deid.dicom import (DeidReport, Deidentifier, burned_in_status, method_codes,
                                                method_text)
from workstation.core.export.deid.table import DeidOptions

__all__ = ["Deidentifier", "DeidOptions", "DeidReport", "burned_in_status", "method_codes", "method_text"]
