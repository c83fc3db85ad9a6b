"""Measurements on the image: lines, angles, ellipse, polygon and sphere ROIs (world LPS mm), their
results (mm, degrees, mm², HU statistics), storage per reader with audit and undo, CSV export."""
