"""Segmentation editing: segments per project, masks per case and reader on the image grid, brush and
fill tools, interpolation between slices, per-stroke undo, audited storage and agreement (Dice, HD95)."""
