"""The segmentation and measurement dock: segments, brush and range, editing tools, measurements."""
