"""Export from plain inputs: layouts, de-identification, containment, --force, manifest."""
from __future__ import annotations

import csv
import errno
import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from pydicom.data import get_testdata_file

from workstation.core.export import ExportCase, ExportError, ExportOptions, Point, export, verify_manifest
from workstation.core.export import images as images_mod
from workstation.core.export import output as output_mod
from workstation.core.export.deid import DeidOptions

CLASSES = ["normal", "abnormal"]


def _cases(patients) -> list[ExportCase]:
    a, b = patients
    return [
        ExportCase("Doe_Jane_CT", a.files[:2], patient_id=a.patient_id, study_id="s1", label="abnormal",
                   probabilities={"normal": 0.2, "abnormal": 0.8}, model="demo@1",
                   metadata={"modality": "CT", "series_description": "Doe head"}),
        ExportCase("Doe_Jane_MR", a.files[2:], patient_id=a.patient_id, study_id="s2", label="normal",
                   probabilities={"normal": 0.6, "abnormal": 0.4}, model="demo@1"),
        ExportCase("Roe_Richard_MR", b.files, patient_id=b.patient_id, label="abnormal"),
    ]


def _options(fmt="monai", **kw) -> ExportOptions:
    kw.setdefault("task", "binary")
    kw.setdefault("classes", CLASSES)
    return ExportOptions(format=fmt, project="demo", **kw)


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def test_monai_export_layout_and_manifest(two_patients, tmp_path):
    out = tmp_path / "out"
    result = export(_cases(two_patients), out, _options("monai", splits=(0.5, 0.5, 0.0), seed=3))
    datalist = json.loads((out / "datalist.json").read_text())
    entries = datalist["training"] + datalist["validation"] + datalist["test"]
    assert len(entries) == 3 and datalist["labels"] == {"0": "normal", "1": "abnormal"}
    by_id = {e["case_id"]: e for e in entries}
    assert by_id["Doe_Jane_CT"]["image"] == "images/Doe_Jane_CT"  # a two-file series: the folder
    assert by_id["Doe_Jane_CT"]["label"] == 1 and by_id["Doe_Jane_MR"]["label"] == 0
    assert len(list((out / "images/Doe_Jane_CT").iterdir())) == 2
    assert (out / by_id["Doe_Jane_MR"]["image"]).is_file()
    m = result.manifest
    assert m["kind"] == "workstation-export" and m["label_source"] == "final" and m["project"]["name"] == "demo"
    assert m["counts"]["cases"] == 3 and m["counts"]["patients"] == 2
    assert m["class_balance"]["all"] == {"abnormal": 2, "normal": 1}
    listed = {f["path"] for f in m["files"]}
    assert listed == {p.relative_to(out).as_posix() for p in _files(out)} - {"manifest.json"}
    assert verify_manifest(out) == []
    # tampering is caught
    (out / "cases.csv").write_text("changed\n")
    assert verify_manifest(out) == ["cases.csv: sha256 differs from the manifest"]


def test_no_patient_in_two_splits_and_csv_columns(two_patients, tmp_path):
    out = tmp_path / "out"
    export(_cases(two_patients), out, _options("csv", splits=(0.5, 0.5, 0.0)))
    rows = list(csv.DictReader(open(out / "cases.csv")))
    splits_by_patient = {}
    for row in rows:
        splits_by_patient.setdefault(row["patient_id"], set()).add(row["split"])
    assert all(len(s) == 1 for s in splits_by_patient.values())
    assert len({next(iter(s)) for s in splits_by_patient.values()}) == 2
    ct = next(r for r in rows if r["case_id"] == "Doe_Jane_CT")
    assert ct["label"] == "abnormal" and float(ct["p_abnormal"]) == 0.8 and ct["meta_modality"] == "CT"
    assert ct["images"].count(";") == 1 and ct["source_paths"].endswith("ct2.dcm")


def test_deidentified_export_leaks_nothing_and_keeps_pixels(two_patients, tmp_path, dicom_tools):
    out = tmp_path / "out"
    result = export(_cases(two_patients), out, _options("monai", deidentify=True, splits=(0.5, 0.5, 0.0),
                                                        deid_options=DeidOptions(retain_dates="modified")))
    forbidden = set()
    for p in two_patients:
        forbidden |= {p.name, p.patient_id, p.birth_date, p.other_id, "Elsewhere", "Kildare"}
        forbidden |= {x for x in p.name.split("^") if len(x) >= 3}
        for f in p.files:
            forbidden |= dicom_tools.original_uids(pydicom.dcmread(f))
    forbidden |= {"Doe_Jane", "Roe_Richard", str(tmp_path / "src")}  # case ids and paths too
    dicoms = sorted(out.rglob("*.dcm"))
    assert len(dicoms) == 4
    for path in dicoms:
        leaks = {f for f in forbidden for t in dicom_tools.all_text(path) if f in t}
        assert not leaks, f"{path} holds {leaks}"
    for text_file in ("cases.csv", "datalist.json", "manifest.json"):
        text = (out / text_file).read_text()
        assert not [f for f in forbidden if f in text], text_file
    # rows keep the input order; each case's copies keep its files' order
    rows = list(csv.DictReader(open(out / "cases.csv")))
    shifts = {}
    for case, row in zip(_cases(two_patients), rows):
        assert row["case_id"].startswith("case-") and row["patient_id"].startswith("ANON-")
        for src, rel in zip(case.paths, row["images"].split(";"), strict=True):
            before, after = pydicom.dcmread(src), pydicom.dcmread(out / rel)
            np.testing.assert_array_equal(before.pixel_array, after.pixel_array)
            assert after.PatientID == str(after.PatientName) == row["patient_id"]
            shift = (datetime.strptime(after.StudyDate, "%Y%m%d") - datetime.strptime(before.StudyDate, "%Y%m%d")).days
            assert before.PatientBirthDate and after.PatientBirthDate == ""  # Z in E.1-1: emptied, never shifted
            shifts.setdefault(case.patient_id, set()).add(shift)
    assert rows[0]["patient_id"] == rows[1]["patient_id"] != rows[2]["patient_id"]
    assert all(len(s) == 1 for s in shifts.values()), shifts  # one shift per patient
    datalist = json.loads((out / "datalist.json").read_text())
    entries = {e["case_id"] for s in ("training", "validation", "test") for e in datalist[s]}
    assert result.manifest["deidentified"] and result.manifest["deidentification"]["secret"].startswith("random")
    assert entries == {r["case_id"] for r in rows}


@pytest.mark.parametrize("fmt", ["csv", "monai", "imagefolder", "nifti"])
@pytest.mark.parametrize("evil", ["../../x", "/tmp/abs-x", "a/../../../x", "..", ".hidden", "", "c:\\x\\..\\y"])
def test_untrusted_case_ids_cannot_write_outside_out(fmt, evil, tmp_path):
    src = tmp_path / "src" / "img.dcm"
    src.parent.mkdir()
    src.write_bytes(Path(get_testdata_file("CT_small.dcm")).read_bytes())
    before = _files(tmp_path)
    out = tmp_path / "deep" / "out"
    cases = [ExportCase(evil, [src], patient_id="p", label=evil if fmt == "imagefolder" else "normal")]
    options = _options(fmt, classes=[evil or "x", "other"] if fmt == "imagefolder" else CLASSES)
    export(cases, out, options)
    after = _files(tmp_path)
    assert all(p.resolve().is_relative_to(out.resolve()) for p in after - before)
    assert not (tmp_path / "x").exists() and not Path("/tmp/abs-x").exists()
    assert verify_manifest(out) == []


def test_force_semantics(two_patients, tmp_path):
    out = tmp_path / "out"
    cases = _cases(two_patients)
    export(cases, out, _options("csv"))
    first = (out / "manifest.json").read_text()
    with pytest.raises(ExportError, match="not empty; use --force"):
        export(cases[:1], out, _options("csv"))
    assert (out / "manifest.json").read_text() == first and verify_manifest(out) == []
    (out / "my-notes.txt").write_text("keep me")
    result = export(cases[:1], out, _options("csv", force=True))
    assert (out / "my-notes.txt").read_text() == "keep me"  # not ours: never deleted
    assert not (out / "images" / "Roe_Richard_MR").exists()  # the old export's files are replaced
    assert result.manifest["counts"]["cases"] == 1
    assert verify_manifest(out) == ["my-notes.txt: not in the manifest"]
    # a non-empty folder that never held an export also needs --force
    other = tmp_path / "other"
    other.mkdir()
    (other / "a.txt").write_text("x")
    with pytest.raises(ExportError, match="--force"):
        export(cases, other, _options("csv"))


def test_symlink_in_out_cannot_redirect_writes(two_patients, tmp_path):
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    elsewhere.mkdir()
    export(_cases(two_patients), out, _options("csv"))
    for p in (out / "images").rglob("*"):
        if p.is_file():
            p.unlink()
    for d in sorted((out / "images").rglob("*"), reverse=True):
        d.rmdir()
    (out / "images").rmdir()
    (out / "images").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(ExportError, match="outside"):
        export(_cases(two_patients), out, _options("csv", force=True))
    assert list(elsewhere.iterdir()) == []


def test_full_disk_leaves_no_manifest(two_patients, tmp_path, monkeypatch):
    out = tmp_path / "out"
    export(_cases(two_patients), out, _options("csv"))
    old_manifest = (out / "manifest.json").read_text()
    real_copy, calls = images_mod.shutil.copyfile, []

    def failing_copy(src, dst):
        calls.append(src)
        if len(calls) > 2:
            raise OSError(errno.ENOSPC, "No space left on device", str(dst))
        return real_copy(src, dst)

    monkeypatch.setattr(images_mod.shutil, "copyfile", failing_copy)
    with pytest.raises(ExportError, match="no space left on the device.*no manifest was written"):
        export(_cases(two_patients), out, _options("csv", force=True))
    # the failure came before anything moved: the previous export is intact, nothing staged remains
    assert (out / "manifest.json").read_text() == old_manifest and verify_manifest(out) == []
    assert not [p for p in out.iterdir() if p.name.startswith(".workstation-export-")]

    fresh = tmp_path / "fresh"
    with pytest.raises(ExportError, match="no space"):
        export(_cases(two_patients), fresh, _options("csv"))
    assert not fresh.exists()  # created by the failed export, so removed again


def test_permission_denied_while_finishing_gives_one_line(two_patients, tmp_path, monkeypatch):
    def refuse(src, dst):
        raise PermissionError(errno.EACCES, "Permission denied", str(dst))

    monkeypatch.setattr(output_mod.os, "rename", refuse)  # the final step: the staged set into place
    out = tmp_path / "out"
    with pytest.raises(ExportError) as info:
        export(_cases(two_patients), out, _options("csv"))
    assert "permission denied" in str(info.value) and "\n" not in str(info.value)
    assert not (out / "manifest.json").exists()
    assert [p.name for p in tmp_path.iterdir() if "workstation-export" in p.name or p.name == "out"] == []


def test_out_that_cannot_be_a_folder(two_patients, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ExportError, match="cannot write to"):
        export(_cases(two_patients), blocker / "out", _options("csv"))
    with pytest.raises(ExportError, match="not a folder"):
        export(_cases(two_patients), blocker, _options("csv"))


def test_imagefolder_tree_from_real_2d_images(tmp_path):
    names = {"RG1_UNCR.dcm": "normal", "US1_UNCR.dcm": "abnormal", "SC_rgb.dcm": "abnormal", "CT_small.dcm": "normal"}
    cases = [ExportCase(n.split(".")[0], [get_testdata_file(n)], patient_id=n, label=lab) for n, lab in names.items()]
    out = tmp_path / "out"
    result = export(cases, out, _options("imagefolder", deidentify=True, splits=(0.5, 0.5, 0.0)))
    pngs = sorted(out.rglob("*.png"))
    assert len(pngs) == 4 and not list(out.rglob("*.dcm"))
    for png in pngs:
        split, label = png.parent.parent.name, png.parent.name
        assert split in ("train", "val") and label in CLASSES
        image = sitk.ReadImage(str(png))
        assert image.GetDimension() == 2 and image.GetPixelID() in (sitk.sitkUInt8, sitk.sitkVectorUInt8)
        assert sitk.GetArrayFromImage(image).std() > 0  # a windowed picture, not a blank
    assert result.manifest["counts"]["training"] + result.manifest["counts"]["validation"] == 4
    flagged = result.manifest["deidentification"]["burned_in_annotation"]
    assert len(flagged) == 2 and all("/abnormal/" in p for p in flagged)  # the US and the secondary capture
    assert sum("burned" in w and "not inspected" not in w for w in result.warnings) == 2


def test_imagefolder_refuses_3d_and_multilabel(ct_series, tmp_path):
    case = ExportCase("vol", ct_series, patient_id="p", label="normal")
    with pytest.raises(ExportError, match="3D"):
        export([case], tmp_path / "out", _options("imagefolder"))
    assert not (tmp_path / "out" / "manifest.json").exists()
    with pytest.raises(ExportError, match="ImageFolder"):
        export([case], tmp_path / "out2", _options("imagefolder", task="multilabel"))


def test_nifti_detection_masks_and_points(ct_series, tmp_path):
    from workstation.core.io import read_volume

    volume = read_volume(ct_series[0].parent)
    assert volume.kind == "3d"
    centre = volume.index_to_world([64, 60, 4])
    points = [Point(*centre, radius_mm=4.0, label="microbleed", source="added-1")]
    outside = Point(9999.0, 0.0, 0.0, radius_mm=2.0)
    cases = [ExportCase("with", ct_series, patient_id="p1", points=points + [outside]),
             ExportCase("none", ct_series, patient_id="p2", points=[]),
             ExportCase("unread", ct_series, patient_id="p3", points=None)]
    out = tmp_path / "out"
    result = export(cases, out, ExportOptions(format="nifti", task="detection", classes=["microbleed"],
                                             splits=(0.5, 0.5, 0.0)))
    image = sitk.ReadImage(str(out / "images/with.nii.gz"))
    mask = sitk.ReadImage(str(out / "labels/with.nii.gz"))
    assert mask.GetSize() == image.GetSize() == volume.size
    np.testing.assert_allclose(mask.GetOrigin(), image.GetOrigin(), atol=1e-4)
    np.testing.assert_allclose(mask.GetSpacing(), volume.spacing, atol=1e-6)
    # the mask's geometry puts the finding where its world coordinate says
    assert mask.GetPixel(mask.TransformPhysicalPointToIndex(tuple(centre))) == 1
    voxels = sitk.GetArrayFromImage(mask).sum()
    ball = 4 / 3 * np.pi * 4.0 ** 3 / np.prod(volume.spacing)
    assert 0.5 * ball < voxels < 2.0 * ball
    np.testing.assert_array_equal(sitk.GetArrayFromImage(image), volume.array)
    assert sitk.GetArrayFromImage(sitk.ReadImage(str(out / "labels/none.nii.gz"))).sum() == 0
    doc = json.loads((out / "points/with.json").read_text())
    assert doc["coordinate_system"] == "LPS" and doc["points"][0]["x"] == pytest.approx(centre[0])
    assert not (out / "images/unread.nii.gz").exists()
    assert result.manifest["counts"]["not_exported_without_truth"] == 1
    assert any("outside the image" in w for w in result.warnings)
    rows = list(csv.DictReader(open(out / "points.csv")))
    assert len(rows) == 2 and rows[0]["case_id"] == "with"
    datalist = json.loads((out / "datalist.json").read_text())
    entry = next(e for s in ("training", "validation") for e in datalist[s] if e["case_id"] == "with")
    assert entry["label"] == "labels/with.nii.gz" and entry["points"] == "points/with.json"


def test_multilabel_datalist_one_hot(two_patients, tmp_path):
    cases = _cases(two_patients)
    classes = ["edema", "effusion", "mass"]
    cases[0].label, cases[1].label, cases[2].label = ["edema", "mass"], [], ["effusion"]
    out = tmp_path / "out"
    export(cases, out, _options("monai", task="multilabel", classes=classes))
    datalist = json.loads((out / "datalist.json").read_text())
    labels = {e["case_id"]: e["label"] for s in ("training", "validation", "test") for e in datalist[s]}
    assert labels == {"Doe_Jane_CT": [1, 0, 1], "Doe_Jane_MR": [0, 0, 0], "Roe_Richard_MR": [0, 1, 0]}
    rows = {r["case_id"]: r for r in csv.DictReader(open(out / "cases.csv"))}
    assert rows["Doe_Jane_CT"]["label"] == "edema;mass" and rows["Doe_Jane_MR"]["has_truth"] == "1"


def test_bad_options_are_one_line_errors(two_patients, tmp_path):
    with pytest.raises(ExportError, match="unknown format"):
        export(_cases(two_patients), tmp_path / "o", _options("zip"))
    with pytest.raises(ExportError, match="sum to"):
        export(_cases(two_patients), tmp_path / "o", _options("csv", splits=(0.5, 0.2, 0.2)))
    cases = _cases(two_patients)
    cases[1].case_id = cases[0].case_id
    with pytest.raises(ExportError, match="repeat"):
        export(cases, tmp_path / "o", _options("csv"))
    missing = [ExportCase("gone", [tmp_path / "nope.dcm"], label="normal")]
    with pytest.raises(ExportError, match="missing"):
        export(missing, tmp_path / "o2", _options("csv"))
    assert not (tmp_path / "o2").exists()


def test_imagefolder_keeps_plain_pictures_and_converts_when_deidentifying(tmp_path):
    from workstation.core.io import read_volume

    pictures = []
    for n, name in enumerate(["RG1_UNCR.dcm", "MR_small.dcm"]):
        volume = read_volume(get_testdata_file(name))
        png = tmp_path / f"pic{n}.png"
        sitk.WriteImage(sitk.GetImageFromArray((volume.array[0] // 256).astype(np.uint8) if n == 0 else
                                               np.clip(volume.array[0], 0, 255).astype(np.uint8)), str(png))
        pictures.append(png)
    cases = [ExportCase(f"p{n}", [p], patient_id=str(n), label=CLASSES[n]) for n, p in enumerate(pictures)]
    out = tmp_path / "plain"
    export(cases, out, _options("imagefolder", splits=(1, 0, 0)))
    assert (out / "train/normal/p0.png").read_bytes() == pictures[0].read_bytes()
    assert (out / "train/abnormal/p1.png").read_bytes() == pictures[1].read_bytes()
    out = tmp_path / "deid"
    export(cases, out, _options("imagefolder", splits=(1, 0, 0), deidentify=True))
    written = sorted(out.rglob("*.png"))
    assert len(written) == 2 and all(p.name.startswith("case-") for p in written)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(sitk.ReadImage(str(next(out.rglob("train/abnormal/*.png"))))),
                                  sitk.GetArrayFromImage(sitk.ReadImage(str(pictures[1]))).squeeze())


def test_a_pacs_case_not_yet_retrieved_is_one_line_that_says_how_to_get_it(tmp_path):
    from workstation.core.export.output import ExportError
    from workstation.core.export.results.sources import load_sources

    missing = tmp_path / "p" / "pacs_cache" / "1.2.3" / "1.2.3.4" / "1.2.3.4.5.dcm"
    case = ExportCase(case_id="s1", paths=[missing], label="normal")
    options = ExportOptions(format="csv", task="binary", classes=["normal", "abnormal"])
    for attempt in (lambda: export([case], tmp_path / "out", options), lambda: load_sources("s1", [missing])):
        with pytest.raises(ExportError) as caught:
            attempt()
        text = str(caught.value)
        assert "\n" not in text and "is missing" in text and "workstation pacs retrieve DIR --case s1" in text
    assert not (tmp_path / "out" / "manifest.json").exists()
