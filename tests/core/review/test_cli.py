"""`workstation label` (one case and --from CSV) and `workstation metrics` on a detection project:
the CLI decides and audits through the review session, exactly as the keyboard does."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from workstation.cli import main
from workstation.core.project import Project
from workstation.core.review.session import LabelItem, ReviewError, ReviewSession


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def reopen(project):
    return Project.open(project.directory)


def test_label_confirms_a_multilabel_set_in_the_class_order(cxr14_project, capsys):
    d = cxr14_project.directory
    # the model's set is [Effusion, Consolidation] (class order); typed in either order it agrees
    for case_id, typed in (("c0", "Consolidation;Effusion"), ("c1", "Effusion;Consolidation")):
        code, out, err = run_cli(capsys, "label", d, case_id, typed, "--reader", "alice", "--json")
        assert code == 0, err
        assert json.loads(out) == {"case_id": case_id, "reader": "alice", "tag": "final",
                                   "value": ["Effusion", "Consolidation"], "action": "confirm"}
    code, out, _ = run_cli(capsys, "label", d, "c2", "Effusion", "--reader", "alice")
    assert code == 0 and out.strip() == "c2: ['Effusion'] (alice, final, correct)"
    code, _, _ = run_cli(capsys, "label", d, "c3", "", "--reader", "alice", "--tag", "adjudicated")
    assert code == 0
    with reopen(cxr14_project) as p:
        assert [(e.case_id, e.action) for e in p.audit()] == [("c0", "confirm"), ("c1", "confirm"),
                                                               ("c2", "correct"), ("c3", "adjudicate")]
        assert p.audit()[0].shown["plugin_id"] == "densenet2d"


def test_label_refuses_bad_input_in_one_line(cxr14_project, capsys):
    d = cxr14_project.directory
    for argv, expected in ((["c0", "Pneumonitis"], "unknown label"), (["zz", "Mass"], "no case 'zz'"),
                           ([], "give CASE_ID and LABEL"), (["c0", "Mass", "--from", "x.csv"], "not both")):
        code, out, err = run_cli(capsys, "label", d, *argv, "--reader", "alice")
        assert code == 2 and out == "" and err.startswith("workstation label: ") and expected in err
        assert err.count("\n") == 1
    assert Project.open(d).audit() == []


def write_csv(path, header, rows):
    path.write_text("\n".join([",".join(header)] + [",".join(r) for r in rows]) + "\n")
    return path


def test_from_csv_is_audited_like_single_labels(tmp_path, cxr14_project, capsys):
    """The same labels once from a CSV (in batches) and once one by one through the session: the
    same actions, values, readers, tags, notes and shown model output."""
    from workstation.core.project import PredictionRecord

    project = cxr14_project
    ids = [f"b{i:04d}" for i in range(2500)]
    image = project.case("c0").paths
    project.add_cases([dict(paths=image, case_id=c) for c in ids])
    project.add_predictions([PredictionRecord(c, {k: (0.9 if k in ("Mass", "Edema") else 0.05) for k in project.classes},
                                              "densenet2d") for c in ids])
    choices = ["Edema;Mass", "Mass;Edema", "Mass", "", "uncertain", "Hernia;Edema;Mass"]
    rows = [(c, choices[i % len(choices)], "bob" if i % 3 else "", "", "batch" if i % 7 == 0 else "")
            for i, c in enumerate(ids)]
    csv_path = write_csv(tmp_path / "labels.csv", ["case_id", "label", "reader", "tag", "note"], rows)
    twin_dir = tmp_path / "twin"
    import shutil

    shutil.copytree(project.directory, twin_dir)

    code, out, err = run_cli(capsys, "label", project.directory, "--from", csv_path, "--reader", "alice",
                             "--batch", "1000", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["stored"] == 2500
    assert summary["actions"] == {"confirm": 834, "correct": 1666}  # rows 0, 1 of every 6 agree

    with Project.open(twin_dir) as twin:
        session = ReviewSession(twin, reader="alice", auto_advance=False)
        for case_id, label, reader, _tag, note in rows:
            value = [] if label == "" else label
            session.label(value, case_id, reader=reader or None, note=note or None)
        expected = [(e.case_id, e.reader, e.tag, e.action, e.new_value, e.shown, e.note) for e in twin.audit()]
    with reopen(project) as p:
        got = [(e.case_id, e.reader, e.tag, e.action, e.new_value, e.shown, e.note) for e in p.audit()]
        assert got == expected
        assert p.verify().ok
        assert {e.reader for e in p.audit()} == {"alice", "bob"}


def test_from_csv_checks_every_row_before_writing(tmp_path, cxr14_project, capsys):
    d = cxr14_project.directory
    bad = write_csv(tmp_path / "bad.csv", ["case_id", "label"], [("c0", "Mass"), ("c1", "Mass"), ("c9", "Mass")])
    code, out, err = run_cli(capsys, "label", d, "--from", bad, "--reader", "alice", "--batch", "1")
    assert code == 2 and f"{bad}:4: no case 'c9'" in err and err.count("\n") == 1
    wrong = write_csv(tmp_path / "wrong.csv", ["case", "label"], [("c0", "Mass")])
    code, _, err = run_cli(capsys, "label", d, "--from", wrong)
    assert code == 2 and "missing case_id" in err
    extra = write_csv(tmp_path / "extra.csv", ["case_id", "label", "colour"], [("c0", "Mass", "red")])
    code, _, err = run_cli(capsys, "label", d, "--from", extra)
    assert code == 2 and "unknown column(s) colour" in err
    tag = write_csv(tmp_path / "tag.csv", ["case_id", "label", "tag"], [("c0", "Mass", "report")])
    code, _, err = run_cli(capsys, "label", d, "--from", tag)
    assert code == 2 and f"{tag}:2: unknown tag 'report'" in err
    code, _, err = run_cli(capsys, "label", d, "--from", tmp_path / "missing.csv")
    assert code == 2 and "cannot read" in err
    assert Project.open(d).audit() == []


def test_label_many_rejects_a_bad_row_before_any_batch(cxr14_project):
    s = ReviewSession(cxr14_project, reader="alice")
    items = [LabelItem("c0", "Mass"), {"case_id": "c1", "value": "Mass"}, LabelItem("c2", "Nope", where="x:3")]
    with pytest.raises(ReviewError, match="x:3: unknown label 'Nope'"):
        s.label_many(items, batch_size=1)
    assert cxr14_project.audit() == []


def test_the_installed_command_runs_and_says_one_line(cxr14_project):
    """The real entry point in a fresh process (start-up, exit codes), as a script calls it."""
    exe = [sys.executable, "-m", "workstation.cli"]
    d = str(cxr14_project.directory)
    done = subprocess.run(exe + ["label", d, "c0", "Consolidation;Effusion", "--reader", "alice"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "c0: ['Effusion', 'Consolidation'] (alice, final, confirm)"
    failed = subprocess.run(exe + ["label", d, "c0", "Nope", "--reader", "alice"], capture_output=True, text=True,
                            timeout=120)
    assert failed.returncode == 2 and failed.stderr.count("\n") == 1 and "Traceback" not in failed.stderr


def test_label_imports_nothing_heavy():
    """`workstation label` starts without Qt, VTK, torch, numpy, scipy or the SQLAlchemy ORM."""
    code = ("import sys; from workstation.cli import build_parser; build_parser(); "
            "import workstation.commands.label as l, workstation.core.review.session, workstation.core.project; "
            "print(sorted(m for m in ('PySide6', 'vtkmodules', 'torch', 'numpy', 'scipy', 'sqlalchemy.orm', "
            "'monai', 'pyqtgraph') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_metrics_scores_a_detection_project(detection_project, capsys):
    from workstation.core.review.froc import froc_report

    project = detection_project
    s = ReviewSession(project, reader="alice")
    for case_id in ("s0", "s1"):
        ids = [c["id"] for c in project.latest_predictions()[case_id].candidates]
        s.decide_candidate(case_id, ids[0], "confirmed")
        s.decide_candidate(case_id, ids[1], "rejected")
    s.decide_candidate("s1", None, "added", centre=(0.0, 60.0, 0.0), diameter=3.0)
    code, out, err = run_cli(capsys, "metrics", project.directory, "--json", "--truth", "alice")
    assert code == 0, err
    r = json.loads(out)
    direct = froc_report(project, "alice", threshold=0.5)
    assert r["task"] == "detection" and r["model"] == "cmb-detector"
    assert (r["n_subjects"], r["n_lesions"], r["pending"]) == (2, 3, 2)
    assert r["sensitivity"] == pytest.approx(direct["report"].operating_point["sensitivity"]) == pytest.approx(2 / 3)
    assert r["cpm"] == pytest.approx(direct["report"].cpm)
    assert r["fp"] == 2 and len(r["froc"]) >= 2 and "cpm" in r["ci"]  # the rejected 0.6 of each subject
    code, out, _ = run_cli(capsys, "metrics", project.directory)
    assert code == 0 and "detector cmb-detector vs final decisions" in out and "cpm" in out
    code, _, err = run_cli(capsys, "metrics", project.directory, "--truth", "consensus")
    assert code == 2 and "readers' decisions" in err
    code, _, err = run_cli(capsys, "metrics", project.directory, "--truth", "nobody")
    assert code == 2 and "no reader 'nobody'" in err
