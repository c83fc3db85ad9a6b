"""`workstation evaluate` on real CSV files of the three schemas."""
import csv
import json

import numpy as np
import pytest
from sklearn import metrics as skm

from workstation.cli import main


def write_csv(path, header, rows):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return str(path)


def run_json(capsys, *argv):
    assert main(["evaluate", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def binary(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 150)
    s = np.round(np.clip(0.35 * y + 0.65 * rng.random(150), 0, 1), 2)
    path = write_csv(tmp_path / "pred.csv", ["case_id", "label", "score"],
                     [(f"case{i:03d}", y[i], s[i]) for i in range(150)])
    return path, y, s


def test_binary_file(capsys, binary):
    path, y, s = binary
    r = run_json(capsys, path)
    assert r["n"] == 150 and r["threshold"] == 0.5
    assert r["auc"] == pytest.approx(skm.roc_auc_score(y, s))
    assert r["confusion_matrix"] == skm.confusion_matrix(y, s >= 0.5).tolist()
    for key, fn in [("sensitivity", skm.recall_score), ("precision", skm.precision_score),
                    ("accuracy", skm.accuracy_score), ("f1", skm.f1_score)]:
        assert r[key] == pytest.approx(fn(y, s >= 0.5))
    assert r["specificity"] == pytest.approx(1 - r["fpr"])
    r2 = run_json(capsys, path, "--threshold", "0.3", "--ci", "bootstrap")
    assert r2["confusion_matrix"] == skm.confusion_matrix(y, s >= 0.3).tolist()
    assert r2["ci_method"] == "bootstrap" and r2["auc_ci"][0] < r2["auc"] < r2["auc_ci"][1]


def test_binary_with_separate_truth_file(capsys, tmp_path, binary):
    _, y, s = binary
    pred = write_csv(tmp_path / "p.csv", ["case_id", "score"], [(f"case{i:03d}", s[i]) for i in range(150)])
    truth = write_csv(tmp_path / "t.csv", ["case_id", "label"],
                      [(f"case{i:03d}", y[i % 150]) for i in range(10, 160)])  # 10 missing each way
    r = run_json(capsys, pred, "--truth", truth)
    assert r["n"] == 140
    assert r["unmatched"] == {"predictions_without_truth": 10, "truth_without_prediction": 10}
    assert r["auc"] == pytest.approx(skm.roc_auc_score(y[10:], s[10:]))


def test_multiclass_file(capsys, tmp_path):
    rng = np.random.default_rng(1)
    names = ["normal", "benign", "malignant"]
    y = rng.integers(0, 3, 120)
    p = rng.dirichlet([1, 1, 1], 120)
    p[np.arange(120), y] += 0.6
    p /= p.sum(1, keepdims=True)
    path = write_csv(tmp_path / "mc.csv", ["case_id", "label"] + [f"p_{n}" for n in names],
                     [(i, names[y[i]], *p[i]) for i in range(120)])
    r = run_json(capsys, path)
    assert r["task"] == "multiclass" and r["class_names"] == names
    assert r["auc_hand_till"] == pytest.approx(skm.roc_auc_score(y, p, multi_class="ovo"), abs=1e-9)
    assert r["averages"]["macro"]["auc"] == pytest.approx(skm.roc_auc_score(y, p, multi_class="ovr"), abs=1e-9)
    assert r["confusion_matrix"] == skm.confusion_matrix(y, p.argmax(1)).tolist()
    assert r["classes"]["benign"]["auc"] == pytest.approx(skm.roc_auc_score(y == 1, p[:, 1]), abs=1e-9)


def test_multilabel_file(capsys, tmp_path):
    rng = np.random.default_rng(2)
    names = ["atelectasis", "effusion"]
    Y = rng.integers(0, 2, (80, 2))
    S = np.clip(0.4 * Y + 0.6 * rng.random((80, 2)), 0, 1)
    path = write_csv(tmp_path / "ml.csv", ["case_id", *names, *[f"p_{n}" for n in names]],
                     [(i, *Y[i], *S[i]) for i in range(80)])
    r = run_json(capsys, path, "--threshold", "0.6")
    assert r["task"] == "multilabel" and set(r["classes"]) == set(names)
    assert r["classes"]["effusion"]["auc"] == pytest.approx(skm.roc_auc_score(Y[:, 1], S[:, 1]), abs=1e-9)
    assert r["classes"]["effusion"]["confusion_matrix"] == skm.confusion_matrix(Y[:, 1], S[:, 1] >= 0.6).tolist()
    assert r["averages"]["micro"]["auc"] == pytest.approx(skm.roc_auc_score(Y, S, average="micro"), abs=1e-9)


def test_text_summary(capsys, binary):
    assert main(["evaluate", binary[0]]) == 0
    out = capsys.readouterr().out
    assert out.startswith("binary: 150 cases") and "AUC" in out and "TN" in out


@pytest.mark.parametrize("header,rows,message", [
    (["case_id", "label", "score"], [("a", 1, "0.3"), ("b", 2, "0.4")], "must be 0 or 1"),
    (["case_id", "label", "score"], [("a", 1, "0.3"), ("a", 0, "0.4")], "appears twice"),
    (["case_id", "label", "score"], [("a", 1, "nan")], "not a number"),
    (["id", "label", "score"], [("a", 1, "0.3")], "no case_id column"),
    (["case_id", "label"], [("a", 1)], "needs a score column"),
    (["case_id", "label", "p_x", "p_y"], [("a", "z", 0.5, 0.5)], "not one of x, y"),
    (["case_id", "x", "p_x", "p_y"], [("a", 1, 0.5, 0.5)], "lacks column(s) y"),
])
def test_bad_files_give_one_line_reasons(capsys, tmp_path, header, rows, message):
    path = write_csv(tmp_path / "bad.csv", header, rows)
    assert main(["evaluate", path, "--json"]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "bad.csv" in err


def test_missing_file(capsys, tmp_path):
    assert main(["evaluate", str(tmp_path / "none.csv")]) == 2
    assert "cannot read" in capsys.readouterr().err
