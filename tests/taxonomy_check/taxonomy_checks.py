"""Running the real command, and comparing its JSON with the reference numbers.

The issue names no JSON key for a level's extras. Learnt from a sample run (never from the source):
`excluded` (a count), `excluded_cases` (their ids), `level_classes`, and for a two-node level
`positive` / `negative`; the rest is the documented binary or multi-class evaluate JSON. The classes
of a level are matched by name (`class_names`), and matrices compared after putting them in the
reference's order."""
from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from taxonomy_reference import delong

CLI = Path(sys.executable).with_name("workstation")
TOL = 1e-9


@dataclass
class Run:
    rc: int
    out: str
    err: str

    def json(self):
        assert self.rc == 0, f"exit {self.rc}: {self.err.strip()[-2000:]}"
        return json.loads(self.out)

    def tail(self) -> str:
        return f"exit {self.rc}\nstdout: {self.out[-1500:]}\nstderr: {self.err[-1500:]}"


def cli(*args) -> Run:
    done = subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True)
    return Run(done.returncode, done.stdout, done.stderr)


def assert_one_clear_line(run: Run, *words: str) -> str:
    """Nonzero exit, exactly one non-empty line on stderr, no traceback; that line names `words`."""
    assert run.rc != 0, f"bad input accepted: {run.tail()}"
    lines = [line for line in run.err.splitlines() if line.strip()]
    assert "Traceback" not in run.err, f"a traceback reached the user: {run.err[-2000:]}"
    assert len(lines) == 1, f"expected exactly one line on stderr, got {len(lines)}: {run.err[-2000:]}"
    for w in words:
        assert w.lower() in lines[0].lower(), f"the message does not name {w!r}: {lines[0]}"
    return lines[0]


def find_excluded(doc) -> list[int]:
    """Every count found under a key containing 'exclu' (an int, the length of a list of cases, or
    an int inside a small object such as {"n": 3, "reason": ...})."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if "exclu" in str(k).lower():
                    if isinstance(v, bool):
                        pass
                    elif isinstance(v, int):
                        found.append(v)
                    elif isinstance(v, list):
                        found.append(len(v))
                    elif isinstance(v, dict):
                        found.extend(x for x in v.values() if isinstance(x, int) and not isinstance(x, bool))
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(doc)
    return found


def close(a, b, tol=TOL, what=""):
    assert a is not None, f"{what}: the output gives null, expected {b}"
    assert abs(float(a) - float(b)) <= tol, f"{what}: output {a} != expected {b}"


def check_level(doc: dict, exp, label: str = "") -> None:
    """The output of one level against the reference (`taxonomy_reference.LevelResult`)."""
    where = f"{label} level {exp.level}"
    assert doc.get("n") == exp.n, f"{where}: n = {doc.get('n')}, expected {exp.n} counted cases"
    counts = find_excluded(doc)
    assert counts and all(c == exp.excluded for c in counts), \
        f"{where}: {exp.excluded} labels are coarser than the level, the output's excluded counts are {counts}"
    if "excluded_cases" in doc:
        assert sorted(doc["excluded_cases"]) == sorted(exp.excluded_ids), f"{where}: excluded cases"
    assert sorted(doc.get("level_classes", exp.nodes)) == sorted(exp.nodes), f"{where}: level_classes"
    if exp.binary is not None:
        check_binary(doc, exp.binary, where)
    else:
        check_multiclass(doc, exp, where)


def check_multiclass(doc: dict, exp, where: str) -> None:
    assert doc.get("task") == "multiclass", f"{where}: task {doc.get('task')}"
    names = doc["class_names"]
    assert sorted(names) == sorted(exp.nodes), f"{where}: classes {names}, expected {exp.nodes}"
    order = [exp.nodes.index(n) for n in names]
    cm = np.asarray(doc["confusion_matrix"])
    want = exp.confusion[np.ix_(order, order)]
    assert cm.shape == want.shape and (cm == want).all(), \
        f"{where}: confusion matrix (rows truth, columns prediction, order {names})\n{cm}\nexpected\n{want}"
    close(doc["accuracy"], exp.accuracy, what=f"{where} accuracy")
    for node in exp.nodes:
        got = doc["classes"][node]
        assert got["n_positive"] == int((exp.y == exp.nodes.index(node)).sum()), f"{where} {node}: n_positive"
        if exp.auc_ovr[node] is None:
            assert got["auc"] is None, f"{where} {node}: AUC should be undefined"
        else:
            close(got["auc"], exp.auc_ovr[node], what=f"{where} {node}: one-vs-rest AUC")
            k = exp.nodes.index(node)
            if got.get("auc_se") is not None:
                _, se = delong((exp.y == k).astype(int), exp.p[:, k])
                close(got["auc_se"], se, tol=1e-7, what=f"{where} {node}: one-vs-rest DeLong standard error")
                lo, hi = got["auc_ci"]
                assert 0.0 <= lo <= got["auc"] <= hi <= 1.0, f"{where} {node}: CI {got['auc_ci']}"
    if exp.hand_till is not None:
        close(doc["auc_hand_till"], exp.hand_till, what=f"{where}: Hand & Till M")


def check_binary(doc: dict, b: dict, where: str) -> None:
    assert doc.get("task") == "binary", f"{where}: a two-class top should get the binary treatment, " \
                                        f"task is {doc.get('task')}"
    if "positive" in doc:
        assert doc["positive"] == b["positive"], f"{where}: positive {doc['positive']}, expected {b['positive']}"
    assert doc["n_positive"] == b["n_positive"] and doc["n_negative"] == b["n_negative"], \
        (f"{where}: positives/negatives {doc['n_positive']}/{doc['n_negative']}, expected "
         f"{b['n_positive']}/{b['n_negative']} with {b['positive']} positive")
    close(doc["auc"], b["sklearn_auc"], what=f"{where}: AUC vs sklearn.roc_auc_score ({b['positive']} positive)")
    close(doc["auc_se"], b["se"], tol=1e-7, what=f"{where}: DeLong standard error")
    lo, hi = doc["auc_ci"]
    assert lo <= doc["auc"] <= hi and 0.0 <= lo < hi <= 1.0, f"{where}: CI {doc['auc_ci']} vs AUC {doc['auc']}"
    close(lo, b["ci"][0], tol=1e-4, what=f"{where}: DeLong CI low")
    close(hi, b["ci"][1], tol=1e-4, what=f"{where}: DeLong CI high")
    cm = np.asarray(doc["confusion_matrix"])
    assert (cm == b["confusion"]).all(), \
        f"{where}: confusion [[TN, FP], [FN, TP]] at 0.5\n{cm}\nexpected\n{b['confusion']}"
    youden = doc["operating_points"]["youden"]
    close(youden["sensitivity"] + youden["specificity"] - 1, b["youden_j"], tol=1e-9,
          what=f"{where}: Youden's J")
