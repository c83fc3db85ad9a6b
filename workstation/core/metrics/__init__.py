"""Evaluation metrics (Qt-free): binary, multi-class and multi-label confusion matrices and rates
with Wilson intervals, ROC/AUC with DeLong or bootstrap intervals, the paired DeLong test, PR
curves, calibration, operating points and reader agreement (Cohen's and Fleiss' kappa).

    from workstation.core.metrics import BinaryEvaluation, report
    ev = BinaryEvaluation(y_true, scores)          # sorts once
    ev.auc.auc, ev.auc.ci, ev.roc.fpr, ev.at(0.3).rates["sensitivity"]
    report(ev, threshold=0.5)                      # the JSON of `workstation evaluate`

`live.LiveMetrics` keeps a project's evaluation current; `agreement` holds the kappas.
"""
from workstation.core.metrics.agreement import Kappa, cohen_kappa, cohen_kappa_table, fleiss_kappa, ratings_to_table
from workstation.core.metrics.binary import DEFAULT_THRESHOLD, AtThreshold, BinaryEvaluation
from workstation.core.metrics.calibration import Reliability, expected_calibration_error, reliability
from workstation.core.metrics.confusion import binary_confusion, confusion_matrix, rates, wilson_interval
from workstation.core.metrics.multiclass import MulticlassEvaluation, hand_till
from workstation.core.metrics.multilabel import MultilabelEvaluation
from workstation.core.metrics.operating import OperatingPoint, at_sensitivity, at_specificity, youden
from workstation.core.metrics.pr import PrCurve, average_precision, pr_curve
from workstation.core.metrics.report import report
from workstation.core.metrics.roc import (AucResult, PairedTest, RocCurve, auc, auc_with_ci, bootstrap, delong, delong_paired, roc_curve,
                  sort_scores)
from workstation.core.metrics.tables import evaluate, evaluate_table

__all__ = [
    "Kappa", "cohen_kappa", "cohen_kappa_table", "fleiss_kappa", "ratings_to_table",
    "DEFAULT_THRESHOLD", "AtThreshold", "BinaryEvaluation", "Reliability", "expected_calibration_error",
    "reliability", "binary_confusion", "confusion_matrix", "rates", "wilson_interval", "MulticlassEvaluation",
    "hand_till", "MultilabelEvaluation", "OperatingPoint", "at_sensitivity", "at_specificity", "youden",
    "PrCurve", "average_precision", "pr_curve", "report", "AucResult", "PairedTest", "RocCurve", "auc",
    "auc_with_ci", "bootstrap", "delong", "delong_paired", "roc_curve", "sort_scores", "evaluate",
    "evaluate_table",
]
