"""Box files (JSON schema, NIH CSV) and `workstation evaluate-boxes`."""
import json

import pytest

from workstation.cli import main
from workstation.core.boxes.files import BoxFileError, boxes_to_json, read_boxes
from workstation.core.boxes.localisation import Box


def write(path, data):
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def test_json_schema_round_trip_and_aliases(tmp_path):
    boxes = {"img1": [Box(1, 2, 3, 4, "Mass", 0.5)], "img2": []}
    assert read_boxes(write(tmp_path / "a.json", boxes_to_json(boxes))) == boxes
    bare = [{"image_id": "img1", "boxes": [{"label": "Mass", "bbox": [1, 2, 3, 4], "score": 0.5}]}]
    assert read_boxes(write(tmp_path / "b.json", bare)) == {"img1": [Box(1, 2, 3, 4, "Mass", 0.5)]}


def test_nih_box_list_csv(tmp_path):
    text = ("Image Index,Finding Label,Bbox [x,y,w,h],,,\n"
            "00000001_000.png,Atelectasis,225.08,547.02,86.78,79.19\n"
            "00000001_000.png,Nodule,10,20,30,40\n"
            "00000002_000.png,Cardiomegaly,300.5,400,500,250\n")
    got = read_boxes(write(tmp_path / "BBox_List_2017.csv", text))
    assert got["00000001_000.png"][0] == Box(225.08, 547.02, 86.78, 79.19, "Atelectasis")
    assert [b.finding for b in got["00000001_000.png"]] == ["Atelectasis", "Nodule"] and len(got) == 2


def test_plain_csv_with_scores(tmp_path):
    text = "image_id,finding,x,y,w,h,score\na,Mass,0,0,5,5,0.7\n"
    assert read_boxes(write(tmp_path / "p.csv", text)) == {"a": [Box(0, 0, 5, 5, "Mass", 0.7)]}


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    ({"images": {"a": []}}, "expected"),
    ({"images": [{"boxes": []}]}, "needs an image_id"),
    ({"images": [{"image_id": "a", "boxes": [{"x": 1, "y": 1, "w": 2}]}]}, "lacks 'h'"),
    ({"images": [{"image_id": "a", "boxes": [{"x": 1, "y": 1, "w": -2, "h": 2}]}]}, "must be positive"),
])
def test_bad_files_get_a_one_line_message(tmp_path, content, message):
    with pytest.raises(BoxFileError) as info:
        read_boxes(write(tmp_path / "bad.json", content))
    assert message in str(info.value) and "bad.json" in str(info.value) and "\n" not in str(info.value)


def test_cli_json(tmp_path, capsys):
    truth = write(tmp_path / "truth.json", {"images": [
        {"image_id": "a", "boxes": [{"finding": "Nodule", "x": 0, "y": 0, "w": 10, "h": 10}]},
        {"image_id": "b", "boxes": [{"finding": "Nodule", "x": 0, "y": 0, "w": 10, "h": 10}]}]})
    pred = write(tmp_path / "pred.json", {"images": [
        {"image_id": "a", "boxes": [{"finding": "Nodule", "x": 2, "y": 2, "w": 4, "h": 4, "score": 0.9},
                                    {"finding": "Nodule", "x": 50, "y": 50, "w": 10, "h": 10}]},
        {"image_id": "b", "boxes": [{"finding": "Nodule", "x": 5, "y": 5, "w": 10, "h": 10}]}]})
    assert main(["evaluate-boxes", str(pred), str(truth), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["overall"]["iobb"]["0.25"] == {"accuracy": 0.5, "afp": 1.0, "hits": 1, "false_positives": 2}
    assert data["findings"]["Nodule"]["iou"]["0.1"]["accuracy"] == 1.0
    assert main(["evaluate-boxes", str(pred), str(truth), "--iobb", "0.5", "--iou", "0.3"]) == 0
    table = capsys.readouterr().out
    assert "IOBB" in table and "T=0.5" in table and "Nodule" in table


def test_cli_bad_input_exits_2_with_one_line(tmp_path, capsys):
    truth = write(tmp_path / "truth.json", {"images": []})
    assert main(["evaluate-boxes", str(tmp_path / "missing.json"), str(truth)]) == 2
    err = capsys.readouterr().err.strip()
    assert "missing.json: no such file" in err and "\n" not in err
    assert main(["evaluate-boxes", str(truth), str(truth)]) == 2
    assert "no ground-truth boxes" in capsys.readouterr().err


def test_cli_scores_a_folder_of_heat_maps(tmp_path, capsys):
    import numpy as np

    maps = tmp_path / "maps"
    maps.mkdir()
    heat = np.zeros((40, 60), dtype=np.float32)
    heat[10:20, 5:25] = 1.0  # region 1: x 5, y 10, w 20, h 10
    heat[30:34, 50:54] = 0.7  # region 2, nowhere near the truth
    np.save(maps / "img1.png.npy", heat[None])
    np.savez(maps / "img2.png.npz", Nodule=heat, Mass=np.zeros((40, 60)))
    truth = write(tmp_path / "truth.json", {"images": [
        {"image_id": "img1.png", "boxes": [{"finding": "Nodule", "x": 5, "y": 10, "w": 20, "h": 10}]},
        {"image_id": "img2.png", "boxes": [{"finding": "Nodule", "x": 0, "y": 0, "w": 10, "h": 10}]}]})
    assert main(["evaluate-boxes", str(maps), str(truth), "--finding", "Nodule", "--json"]) == 0
    nodule = json.loads(capsys.readouterr().out)["findings"]["Nodule"]
    assert (nodule["images"], nodule["truth_boxes"], nodule["predicted_boxes"]) == (2, 2, 4)
    assert nodule["iobb"]["0.9"] == {"accuracy": 0.5, "afp": 1.5, "hits": 1, "false_positives": 3}
    assert main(["evaluate-boxes", str(tmp_path / "empty"), str(truth)]) == 2
    (tmp_path / "empty").mkdir()
    assert main(["evaluate-boxes", str(tmp_path / "empty"), str(truth)]) == 2
    assert "no .npy or .npz heat maps" in capsys.readouterr().err
