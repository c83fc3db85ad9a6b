"""SEG and SR of review results (highdicom), validated by dciodvfy, pushed to the real Orthanc over
STOW-RS and C-STORE, and read back from it."""
import json
import shutil
import subprocess

import numpy as np
import pydicom
import pytest

from workstation.cli import main
from workstation.core.pacs import resolve_node
from workstation.core.pacs.cache import FetchPlan
from workstation.core.pacs.client import connect
from workstation.core.pacs.to_project import add_from_pacs
from workstation.core.project import Project
from workstation.core.project.records import PredictionRecord

from .conftest import series_uids


def dciodvfy_errors(path) -> list[str]:
    if shutil.which("dciodvfy") is None:
        pytest.fail("dciodvfy is not installed (apt-get install dicom3tools; packaging/setup.sh does it)")
    run = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True)
    return [line for line in (run.stdout + run.stderr).splitlines() if line.startswith("Error")]


@pytest.fixture
def detection_project(nodes, samples, tmp_path):
    directory = tmp_path / "det"
    assert main(["project", "init", str(directory), "--task", "detection", "--classes", "microbleed"]) == 0
    study, series = series_uids(samples["ct5"])
    with Project.open(directory) as project:
        (case,), _, _ = add_from_pacs(project, resolve_node("web"), FetchPlan(study, [series]))
        sources = sorted((pydicom.dcmread(p) for p in case.paths), key=lambda d: float(d.ImagePositionPatient[2]))
        middle = sources[2]
        centre = [float(v) for v in middle.ImagePositionPatient]
        centre[0] += 8 * float(middle.PixelSpacing[1])
        centre[1] += 8 * float(middle.PixelSpacing[0])
        candidates = [{"id": "c1", "centre": centre, "diameter_mm": 6.0, "score": 0.91, "region": "lobar"},
                      {"id": "c2", "centre": [centre[0] + 1, centre[1], centre[2]], "diameter_mm": 3.0,
                       "score": 0.40, "region": "deep"}]
        project.add_predictions([PredictionRecord(case.case_id, {}, "detector-x", "1.2", "ab" * 32, "cpu",
                                                  candidates=candidates)])
        project.set_candidate_state(case.case_id, "c1", "confirmed", reader="dr-a")
        project.set_candidate_state(case.case_id, "c2", "rejected", reader="dr-a")
    return directory, case, sources


def test_seg_and_sr_of_detections_pass_dciodvfy_and_round_trip(detection_project, nodes, tmp_path, capsys):
    directory, case, sources = detection_project
    for fmt, backend in (("seg", "dicomweb"), ("sr", "dimse")):
        out = tmp_path / f"out-{fmt}"
        capsys.readouterr()
        assert main(["export", str(directory), str(out), "--format", fmt, "--push", nodes[backend], "--json"]) == 0
        summary = json.loads(capsys.readouterr().out)
        assert summary["pushed"] == 1
        (path,) = summary["files"]
        assert dciodvfy_errors(path) == []
        ds = pydicom.dcmread(path)
        assert ds.StudyInstanceUID == sources[0].StudyInstanceUID and ds.PatientID == sources[0].PatientID
        remote = connect(resolve_node("web"))
        back = [str(d.SeriesInstanceUID) for d in remote.find_series(str(ds.StudyInstanceUID))]
        assert str(ds.SeriesInstanceUID) in back  # it is on the PACS now
        got = next(remote.retrieve(str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID), [str(ds.SOPInstanceUID)]))
        if fmt == "seg":
            import highdicom as hd
            seg = hd.seg.Segmentation.from_dataset(got)
            referenced = {str(r.ReferencedSOPInstanceUID) for s in got.ReferencedSeriesSequence
                          for r in s.ReferencedInstanceSequence}
            assert referenced == {str(d.SOPInstanceUID) for d in sources}
            assert seg.number_of_segments == 1
            # the confirmed 6 mm finding only: a disc on the middle slice, nothing from the rejected one
            frames = {str(f.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID)
                      for f in got.PerFrameFunctionalGroupsSequence}
            assert str(sources[2].SOPInstanceUID) in frames
            pixels = got.pixel_array.reshape(len(frames), int(got.Rows), int(got.Columns))
            assert pixels.sum() > 0
        else:
            text = str(got)
            assert "candidate c1" in text and "candidate c2" in text and "confirmed" in text and "rejected" in text
            assert "detector-x" in text and "count lobar" in text and "count deep" not in text
            import highdicom as hd
            sr = hd.sr.srread(path) if hasattr(hd.sr, "srread") else hd.sr.Comprehensive3DSR.from_dataset(got)
            groups = sr.content.get_volumetric_roi_measurement_groups() if hasattr(sr, "content") else []
            assert len(groups) == 2
        remote.close()


def test_deidentified_results_carry_no_identity(detection_project, tmp_path, capsys):
    directory, case, sources = detection_project
    out = tmp_path / "deid"
    assert main(["export", str(directory), str(out), "--format", "seg", "--deidentify", "--json"]) == 0
    (path,) = json.loads(capsys.readouterr().out)["files"]
    ds = pydicom.dcmread(path)
    assert ds.PatientID != sources[0].PatientID and ds.StudyInstanceUID != sources[0].StudyInstanceUID
    referenced = {str(r.ReferencedSOPInstanceUID) for s in ds.ReferencedSeriesSequence for r in s.ReferencedInstanceSequence}
    assert not referenced & {str(d.SOPInstanceUID) for d in sources}
    assert dciodvfy_errors(path) == []


def test_classification_sr(nodes, samples, tmp_path, capsys):
    directory = tmp_path / "cls"
    assert main(["project", "init", str(directory), "--task", "binary", "--classes", "normal,abnormal"]) == 0
    study, series = series_uids(samples["mr_small"])
    with Project.open(directory) as project:
        (case,), _, _ = add_from_pacs(project, resolve_node("dimse"), FetchPlan(study, [series]))
        project.add_predictions([PredictionRecord(case.case_id, {"normal": 0.2, "abnormal": 0.8}, "cls-y", "3",
                                                  "cd" * 32, "cpu")])
        project.set_label(case.case_id, "normal", reader="dr-b")
    capsys.readouterr()
    assert main(["export", str(directory), str(tmp_path / "o"), "--format", "sr", "--push", "web", "--json"]) == 0
    (path,) = json.loads(capsys.readouterr().out)["files"]
    assert dciodvfy_errors(path) == []
    text = str(pydicom.dcmread(path))
    assert "Reader decision" in text and "normal" in text and "Model output" in text and "abnormal" in text
    assert "cls-y" in text and "dr-b" in text


def test_push_to_a_dead_node_is_one_line(detection_project, tmp_path, capsys):
    from workstation.core.pacs.orthanc_server import free_port

    directory, _, _ = detection_project
    capsys.readouterr()
    assert main(["export", str(directory), str(tmp_path / "x"), "--format", "sr", "--push",
                 f"http://127.0.0.1:{free_port()}/dicom-web"]) == 2
    err = capsys.readouterr().err
    assert "cannot reach" in err and err.count("\n") == 1


def test_the_validator_sees_errors(detection_project, tmp_path, capsys):
    directory, _, _ = detection_project
    assert main(["export", str(directory), str(tmp_path / "s"), "--format", "seg", "--json"]) == 0
    (path,) = json.loads(capsys.readouterr().out)["files"]
    ds = pydicom.dcmread(path)
    del ds.SegmentSequence, ds.Modality
    ds.save_as(tmp_path / "broken.dcm")
    assert any("Modality" in line for line in dciodvfy_errors(tmp_path / "broken.dcm"))


def test_seg_of_a_reader_mask_matches_it_voxel_for_voxel(detection_project, tmp_path, capsys):
    """A label map on the image grid (NIfTI, the case's metadata["mask"]) becomes one segment per
    label, each frame equal to the mask's slice."""
    import SimpleITK as sitk

    from workstation.core.io import read_volume

    directory, case, sources = detection_project
    volume = read_volume(case.paths)
    labels = np.zeros(volume.array.shape, np.uint8)
    k, rows, cols = labels.shape
    labels[1, 2:6, 3:9] = 1
    labels[3, rows // 2:, : cols // 2] = 2
    image = sitk.GetImageFromArray(labels)
    image.SetSpacing([float(v) for v in volume.spacing])
    image.SetOrigin([float(v) for v in volume.origin])
    image.SetDirection([float(v) for v in np.asarray(volume.direction).ravel()])
    mask_path = tmp_path / "mask.nii.gz"
    sitk.WriteImage(image, str(mask_path))
    with Project.open(directory) as project:
        project.update_case_metadata(case.case_id, {"mask": str(mask_path)})
    capsys.readouterr()
    assert main(["export", str(directory), str(tmp_path / "m"), "--format", "seg", "--json"]) == 0
    (path,) = json.loads(capsys.readouterr().out)["files"]
    assert dciodvfy_errors(path) == []
    import highdicom as hd
    seg = hd.seg.segread(path)
    assert seg.number_of_segments == 2
    by_sop = {str(d.SOPInstanceUID): n for n, d in enumerate(sources)}
    # the volume's slice order is the sources' order (both sorted along the slice normal)
    for number, label in ((1, 1), (2, 2)):
        for sop, n in by_sop.items():
            frame = seg.get_pixels_by_source_instance(
                source_sop_instance_uids=[sop], segment_numbers=[number], assert_missing_frames_are_empty=True)
            np.testing.assert_array_equal(frame[0, ..., 0].astype(bool), labels[n] == label)


def test_deidentified_seg_references_the_deidentified_images_of_the_same_key(detection_project, tmp_path, capsys):
    """With one --deid-key, a csv export's DICOM files and the SEG agree on the new UIDs."""
    directory, _, _ = detection_project
    key = tmp_path / "key"
    key.write_bytes(b"0123456789abcdef-secret")
    assert main(["export", str(directory), str(tmp_path / "csv"), "--format", "csv", "--deidentify",
                 "--deid-key", str(key)]) == 0
    assert main(["export", str(directory), str(tmp_path / "seg"), "--format", "seg", "--deidentify",
                 "--deid-key", str(key), "--json"]) == 0
    (path,) = (tmp_path / "seg" / "seg").glob("*.dcm")
    seg = pydicom.dcmread(path)
    images = [pydicom.dcmread(p, stop_before_pixels=True) for p in (tmp_path / "csv").rglob("*")
              if p.is_file() and p.suffix not in (".csv", ".json")]
    exported = {str(d.SOPInstanceUID) for d in images}
    referenced = {str(r.ReferencedSOPInstanceUID) for s in seg.ReferencedSeriesSequence for r in s.ReferencedInstanceSequence}
    assert len(exported) == 5 and referenced == exported
    assert {str(d.PatientID) for d in images} == {str(seg.PatientID)}
