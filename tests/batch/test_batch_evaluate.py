"""`workstation evaluate RESULTS --truth TRUTH.csv` on a batch's Parquet results equals evaluate on
the equivalent CSV; bad arguments give one line and exit 2."""
from __future__ import annotations

import csv
import json

from workstation.batch import BatchSpec, read_results, run_batch
from workstation.batch import results as batch_results
from workstation.cli import main


def test_evaluate_on_parquet_equals_evaluate_on_the_equivalent_csv(xrays, checkpoint, cluster, tmp_path, capsys):
    out = tmp_path / "results"
    run_batch(BatchSpec(source=str(xrays), plugin_id="densenet2d", out=str(out), checkpoint=str(checkpoint),
                        scheduler=cluster.scheduler_address, device="cpu"))
    rows = read_results(out).to_pylist()
    assert len(rows) == 16
    truth = tmp_path / "truth.csv"
    with open(xrays / "labels.csv") as src, open(truth, "w", newline="") as dst:
        writer = csv.writer(dst)
        writer.writerow(["case_id", "label"])
        for row in csv.DictReader(src):
            writer.writerow([row["file"], 1 if row["label"] == "PNEUMONIA" else 0])
    pred = tmp_path / "pred.csv"
    with open(pred, "w", newline="") as dst:
        writer = csv.writer(dst)
        writer.writerow(["case_id", "score"])
        for row in rows:
            writer.writerow([row["case_id"], repr(row["scores"][1])])

    assert main(["evaluate", str(out), "--truth", str(truth), "--json"]) == 0
    from_parquet = json.loads(capsys.readouterr().out)
    assert main(["evaluate", str(pred), "--truth", str(truth), "--json"]) == 0
    from_csv = json.loads(capsys.readouterr().out)
    assert from_parquet == from_csv and from_parquet["n"] == 16 and from_parquet["task"] == "binary"

    # class names as truth labels give the same result as 0/1
    named = tmp_path / "named.csv"
    named.write_text((xrays / "labels.csv").read_text().replace("file,label", "case_id,label"))
    assert main(["evaluate", str(out), "--truth", str(named), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == from_csv


def test_failed_rows_are_left_out_and_a_later_ok_row_wins(tmp_path, capsys):
    base = {"task": "binary", "classes": ["neg", "pos"], "plugin_id": "p", "plugin_version": "1",
            "weights_sha256": "w", "created_at": "2026-01-01T00:00:00+00:00", "reason": ""}
    batch_results.write_part(tmp_path / "r", [
        dict(base, key="a", case_id="a", status="ok", scores=[0.2, 0.8]),
        dict(base, key="b", case_id="b", status="failed", reason="cannot read image: x", scores=[]),
        dict(base, key="c", case_id="c", status="ok", scores=[0.9, 0.1]),
    ])
    batch_results.write_part(tmp_path / "r", [dict(base, key="b", case_id="b", status="ok", scores=[0.6, 0.4],
                                                   created_at="2026-01-02T00:00:00+00:00")])
    assert read_results(tmp_path / "r").num_rows == 3
    (tmp_path / "truth.csv").write_text("case_id,label\na,1\nb,0\nc,0\nd,1\n")
    assert main(["evaluate", str(tmp_path / "r"), "--truth", str(tmp_path / "truth.csv"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == 3 and result["auc"] == 1.0
    assert result["unmatched"] == {"predictions_without_truth": 0, "truth_without_prediction": 1}


def test_bad_arguments_are_one_line_and_exit_2(tmp_path, capsys):
    assert main(["batch", str(tmp_path / "nowhere"), "--plugin", "densenet2d", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"workstation batch: {tmp_path / 'nowhere'}: no such file or folder"
    assert main(["batch", str(tmp_path), "--plugin", "no-such-plugin", "--out", str(tmp_path / "o")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert main(["batch", str(tmp_path), "--plugin", "densenet2d", "--out", str(tmp_path / "o"),
                 "--inputs-per-task", "0"]) == 2
    assert capsys.readouterr().err.strip() == "workstation batch: --inputs-per-task must be at least 1"
    (tmp_path / "r").mkdir()
    batch_results.write_part(tmp_path / "r", [{"key": "a", "case_id": "a", "status": "ok", "task": "binary",
                                               "classes": ["n", "p"], "scores": [0.5, 0.5]}])
    assert main(["evaluate", str(tmp_path / "r"), "--json"]) == 2
    assert "give --truth" in capsys.readouterr().err


def test_bad_truth_is_one_line_naming_the_case(tmp_path, capsys):
    base = {"task": "binary", "classes": ["neg", "pos"], "status": "ok", "created_at": "2026-01-01"}
    batch_results.write_part(tmp_path / "r", [dict(base, key="a", case_id="a", scores=[0.2, 0.8]),
                                              dict(base, key="b", case_id="b", scores=[0.7, 0.3])])
    (tmp_path / "t1.csv").write_text("case_id,label\na,1\nb,maybe\n")
    assert main(["evaluate", str(tmp_path / "r"), "--truth", str(tmp_path / "t1.csv")]) == 2
    assert capsys.readouterr().err.strip() == (f"workstation evaluate: {tmp_path / 't1.csv'}: case 'b': label is "
                                               "'maybe', not 0/1 or one of neg, pos")
    (tmp_path / "t2.csv").write_text("case_id,label\na,1\na,0\n")
    assert main(["evaluate", str(tmp_path / "r"), "--truth", str(tmp_path / "t2.csv")]) == 2
    assert "case_id 'a' appears twice" in capsys.readouterr().err
    (tmp_path / "t3.csv").write_text("case_id,label\nx,1\n")
    assert main(["evaluate", str(tmp_path / "r"), "--truth", str(tmp_path / "t3.csv")]) == 2
    assert "no case_id in common" in capsys.readouterr().err


def _digest(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()


def test_real_keys_written_twice_keep_one_row_each_and_repeated_case_ids_are_one_line(tmp_path, capsys):
    """Keys as `row_key` makes them (64 hex digits) take the fingerprint path: a key written twice
    (a failed row retried) is still found and deduplicated; a case_id in two rows is an error."""
    base = {"task": "binary", "classes": ["neg", "pos"], "status": "ok", "reason": ""}
    rows = [dict(base, key=_digest(f"k{n}"), case_id=f"c{n}", scores=[1 - n / 10, n / 10],
                 created_at="2026-01-01T00:00:00+00:00") for n in range(10)]
    rows[3] = dict(rows[3], status="failed", reason="cannot read image: x", scores=[])
    batch_results.write_part(tmp_path / "r", rows)
    batch_results.write_part(tmp_path / "r", [dict(rows[3], status="ok", reason="", scores=[0.7, 0.3],
                                                   created_at="2026-01-02T00:00:00+00:00")])
    assert batch_results.unique_keys(batch_results.read_table(tmp_path / "r", ["key"])["key"]) is False
    table = read_results(tmp_path / "r", ["case_id", "status", "scores"])
    assert table.num_rows == 10 and table["status"].to_pylist() == ["ok"] * 10
    assert dict(zip(table["case_id"].to_pylist(), table["scores"].to_pylist()))["c3"] == [0.7, 0.3]
    (tmp_path / "truth.csv").write_text("case_id,label\n" + "".join(f"c{n},{n % 2}\n" for n in range(10)))
    assert main(["evaluate", str(tmp_path / "r"), "--truth", str(tmp_path / "truth.csv"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == 10

    # the same case_id under another key (another source listing the same case): one line, exit 2
    batch_results.write_part(tmp_path / "r", [dict(rows[5], key=_digest("other"))])
    (tmp_path / "bad.csv").write_text("case_id,label\na,1\na,0\n")
    for truth in ("truth.csv", "bad.csv", "missing.csv"):  # the results' fault is named first, as before
        assert main(["evaluate", str(tmp_path / "r"), "--truth", str(tmp_path / truth)]) == 2
        assert capsys.readouterr().err.strip() == (f"workstation evaluate: {tmp_path / 'r'}: a case_id appears in "
                                                   "more than one row (several sources?)")


def test_truth_repeats_name_the_first_repeated_case_and_ids_come_in_result_order(tmp_path, capsys):
    from workstation.batch import evaluation

    base = {"task": "binary", "classes": ["neg", "pos"], "status": "ok", "created_at": "2026-01-01"}
    batch_results.write_part(tmp_path / "r", [dict(base, key=_digest(c), case_id=c, scores=[1 - p, p])
                                              for c, p in (("z", 0.9), ("x", 0.2), ("y", 0.6), ("w", 0.4))])
    (tmp_path / "t.csv").write_text("case_id,label\nb,1\na,0\nc,1\na,1\nb,0\n")
    assert main(["evaluate", str(tmp_path / "r"), "--truth", str(tmp_path / "t.csv")]) == 2
    assert capsys.readouterr().err.strip() == f"workstation evaluate: {tmp_path / 't.csv'}: case_id 'b' appears twice"

    (tmp_path / "ok.csv").write_text("case_id,label\n y ,1\nx,0\nv,1\nz,1\n")
    loaded = evaluation.load(tmp_path / "r", tmp_path / "ok.csv")
    assert list(loaded.case_ids) == ["z", "x", "y"] and len(loaded.case_ids) == 3 and loaded.case_ids[-1] == "y"
    assert loaded.evaluation.y_true.tolist() == [1, 0, 1]
    assert loaded.evaluation.y_score.tolist() == [0.9, 0.2, 0.6]
    assert loaded.unmatched == {"predictions_without_truth": 1, "truth_without_prediction": 1}
