"""Evaluation metrics (Qt-free): binary, multi-class and multi-label confusion matrices, ROC/AUC
with DeLong intervals, PR curves, calibration, operating points and reader agreement."""
