"""Review results as DICOM objects that go back to a PACS (highdicom): a SEG per case for masks,
a Comprehensive 3D SR measurement report (TID 1500) per detection case, an SR per labelled case."""
from workstation.core.export.results.writer import RESULT_FORMATS, export_results

__all__ = ["RESULT_FORMATS", "export_results"]
