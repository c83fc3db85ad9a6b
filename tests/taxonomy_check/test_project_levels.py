"""A project with a taxonomy, end to end through the CLI: `project init --task multiclass --taxonomy`,
cases from real DICOM files (pydicom-data's MR_small, one copy per case with its own UIDs),
predictions at the leaves, labels at leaves and inner nodes (`label --from` and single `label`), then
`metrics DIR --level DEPTH|leaf --json` against the reference; and bad labels that must store nothing."""
from __future__ import annotations

import csv
from types import SimpleNamespace

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

import taxonomy_checks as ck
import taxonomy_reference as ref

N = 60
LEVELS = [1, 2, 3, "leaf"]


def _images(folder, ids):
    folder.mkdir()
    ds = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    for n, cid in enumerate(ids):
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID = generate_uid(), generate_uid(), generate_uid()
        ds.PatientID = f"TAX{n:04d}"
        ds.save_as(folder / f"{cid}.dcm")
    return folder


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """The SIX tree; every case labelled by reader alice (a fifth at an inner node); case 0's label
    then changed by a single `label` command to its top node."""
    d = tmp_path_factory.mktemp("project")
    tree = ref.Tree(ref.SIX)
    cases = ref.make_cases(tree, N, 21, coarse_fraction=0.25)
    tree_file = ref.write_tree(d / "tree.json", ref.SIX)
    proj = d / "proj"
    init = ck.cli("project", "init", proj, "--task", "multiclass", "--taxonomy", tree_file, "--json")
    assert init.rc == 0, init.tail()
    images = _images(d / "images", cases.ids)
    preds = ref.write_predictions(d / "preds.csv", cases, with_label=False)
    added = ck.cli("project", "add", proj, images, "--headers-only", "--predictions", preds, "--json").json()
    assert sorted(added["added"]) == sorted(cases.ids) and added["predictions"] == N, added
    labels = ref.write_truth(d / "labels.csv", cases.ids, cases.labels)
    stored = ck.cli("label", proj, "--from", labels, "--reader", "alice", "--json").json()
    assert stored["stored"] == N, stored
    first = cases.ids[0]
    top = tree.path(cases.labels[0])[0]
    single = ck.cli("label", proj, first, top, "--reader", "alice", "--json")
    cases.labels[0] = top
    # an imported reading (tag original) that names the level-2 node for every third case
    original = [tree.path(lab)[min(1, tree.depth[lab] - 1)] if n % 3 == 0 else lab
                for n, lab in enumerate(cases.labels)]
    imported = ck.cli("project", "add", proj, "--labels", ref.write_truth(d / "original.csv", cases.ids, original),
                      "--json").json()
    assert imported["labels"] == N, imported
    return SimpleNamespace(dir=proj, tree=tree, cases=cases, tree_file=tree_file, first=first, top=top,
                           single=single, init=init, tmp=d, original=original, baseline=_snapshot(proj))


def test_the_project_classes_are_the_leaves(project):
    status = ck.cli("project", "status", project.dir, "--json").json()
    assert status["task"] == "multiclass"
    assert sorted(status["classes"]) == sorted(project.tree.leaves), status["classes"]
    assert status["with_predictions"] == N


def test_an_inner_node_label_is_stored_and_audited(project):
    assert project.single.rc == 0, project.single.tail()
    assert project.single.json()["value"] == project.top
    audit = ck.cli("project", "audit", project.dir, "--case", project.first, "--json").json()
    mine = [row for row in audit if row["reader"] == "alice" and row["tag"] == "final"]
    assert mine[-1]["new_value"] == project.top and len(mine) == 2, mine
    cases = {c["case_id"]: c for c in ck.cli("project", "cases", project.dir, "--json").json()}
    assert cases[project.first]["labels"]["alice"]["final"]["value"] == project.top
    stored = {cid: c["labels"]["alice"]["final"]["value"] for cid, c in cases.items()}
    assert stored == dict(zip(project.cases.ids, project.cases.labels))


@pytest.mark.parametrize("level", LEVELS)
def test_metrics_at_a_level_match_the_reference(project, level):
    doc = ck.cli("metrics", project.dir, "--level", level, "--model", "csv:preds.csv", "--json").json()
    ck.check_level(doc, ref.expected(project.tree, project.cases, level), "project")


@pytest.mark.parametrize("level", [2, 3])
def test_metrics_on_imported_inner_node_labels(project, level):
    """`--truth original`: the imported labels, a third of them at a level-2 node."""
    doc = ck.cli("metrics", project.dir, "--truth", "original", "--level", level, "--model", "csv:preds.csv",
                 "--json").json()
    exp = ref.expected(project.tree, project.cases, level, labels=project.original)
    assert exp.n != ref.expected(project.tree, project.cases, level).n or level == 2
    ck.check_level(doc, exp, "project --truth original")


def test_metrics_with_a_positive_node(project):
    doc = ck.cli("metrics", project.dir, "--level", 1, "--positive", "abnormal", "--model", "csv:preds.csv",
                 "--json").json()
    ck.check_level(doc, ref.expected(project.tree, project.cases, 1, positive="abnormal"), "project --positive")


def _snapshot(directory):
    """Every label change is an audit row; status counts the labels and lists the prediction sources."""
    return (ck.cli("project", "status", directory, "--json").json(),
            ck.cli("project", "audit", directory, "--json").json())


def test_a_label_naming_no_node_is_refused_and_stores_nothing(project):
    ck.assert_one_clear_line(ck.cli("label", project.dir, project.cases.ids[1], "wart", "--reader", "bob"), "wart")
    bad = project.tmp / "bad_labels.csv"
    ref.write_truth(bad, project.cases.ids[2:6], ["pneumonia", "inflammatory", "wart", "normal"])
    ck.assert_one_clear_line(ck.cli("label", project.dir, "--from", bad, "--reader", "bob"), "wart")
    assert _snapshot(project.dir) == project.baseline


@pytest.mark.parametrize("wart", [0.1, 0.0])
def test_predictions_outside_the_taxonomy_are_refused_and_store_nothing(project, wart):
    """A prediction file with a class the tree does not have (the taxonomy does not cover the model's
    classes), holding 10% of the probability or none of it (the rows then still sum to 1 over the leaves)."""
    path = project.tmp / f"wart_preds_{wart}.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["case_id"] + [f"p_{c}" for c in project.cases.leaf_names] + ["p_wart"])
        for cid, row in zip(project.cases.ids, ref.read_back(project.cases)):
            w.writerow([cid] + [f"{p * (1 - wart):.7f}" for p in row] + [str(wart)])
    run = ck.cli("project", "add", project.dir, "--predictions", path, "--plugin-id", f"wart-model-{wart}", "--json")
    try:
        ck.assert_one_clear_line(run, "wart")
    finally:
        after = _snapshot(project.dir)
    assert f"wart-model-{wart}" not in after[0]["plugins"], "the predictions were stored"
    assert after == project.baseline
