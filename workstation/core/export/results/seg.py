"""A DICOM SEG (binary) of a case's segments, referencing its source images."""
from __future__ import annotations

import numpy as np

import workstation
from workstation.core.export.results.masks import Segment

_LESION = ("Morphologically Altered Structure", "49755003")


def build_seg(sources, segments: list[Segment], series_number: int = 900):
    import highdicom as hd
    from pydicom.sr.codedict import codes
    from pydicom.uid import generate_uid

    descriptions = []
    for n, seg in enumerate(segments, start=1):
        descriptions.append(hd.seg.SegmentDescription(
            segment_number=n, segment_label=seg.label[:64],
            segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
            segmented_property_type=hd.sr.CodedConcept(_LESION[1], "SCT", _LESION[0]),
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL))
    pixels = np.stack([s.frames for s in segments], axis=-1).astype(np.uint8)  # (frames, rows, cols, segments)
    if len(sources) == 1:
        pixels = pixels[0]
    return hd.seg.Segmentation(
        source_images=sources, pixel_array=pixels, segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions, series_instance_uid=generate_uid(), series_number=series_number,
        sop_instance_uid=generate_uid(), instance_number=1, manufacturer="workstation",
        manufacturer_model_name="workstation", software_versions=workstation.__version__,
        device_serial_number="0", series_description="workstation review masks",
        omit_empty_frames=True)
