"""Readers' measurements in the exported SR (TID 1500): lengths, angles, ROI areas and statistics and a
sphere ROI's volume, with their codes and units, referencing the source images, and valid by
dciodvfy; on a real CT series (world coordinates) and a real CR (pixel coordinates)."""
import json
import shutil
import subprocess

import highdicom as hd
import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from workstation.cli import main
from workstation.core.measurements import store as mstore
from workstation.core.project import Project
from workstation.core.segmentation.grid import Grid
from workstation.core.segmentation.store import case_volume


def dciodvfy_errors(path) -> list[str]:
    if shutil.which("dciodvfy") is None:
        pytest.fail("dciodvfy is not installed (apt-get install dicom3tools; packaging/setup.sh does it)")
    run = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True)
    return [line for line in (run.stdout + run.stderr).splitlines() if line.startswith("Error")]


def _export_sr(directory, out, capsys, *extra) -> pydicom.Dataset:
    capsys.readouterr()
    assert main(["export", str(directory), str(out), "--format", "sr", "--json", *extra]) == 0
    (path,) = json.loads(capsys.readouterr().out)["files"]
    assert dciodvfy_errors(path) == []
    return pydicom.dcmread(path)


def _measurement_groups(ds):
    report = hd.sr.Comprehensive3DSR.from_dataset(ds).content
    return list(report.get_planar_roi_measurement_groups()) + list(report.get_volumetric_roi_measurement_groups()) \
        + list(report.get_image_measurement_groups())


def _by_name(group) -> dict[str, tuple[float, str]]:
    return {m.name.meaning: (float(m.value), m.unit.value) for m in group.get_measurements()}


def _referenced(group) -> set[str]:
    found = [{str(r.referenced_sop_instance_uid) for r in m.referenced_images} for m in group.get_measurements()]
    assert all(f == found[0] for f in found)  # each measurement of a group names the same images
    return found[0]


@pytest.fixture
def ct_project(tmp_path, ct_series):
    directory = tmp_path / "proj"
    with Project.create(directory, "detection", ["lesion"], readers=["ann"]) as project:
        project.add_case([str(p) for p in ct_series], case_id="ct")
    sources = sorted((pydicom.dcmread(p) for p in ct_series), key=lambda d: float(d.ImagePositionPatient[2]))
    return directory, sources


def test_ct_measurements_are_tid1500_groups_with_codes_units_and_source_images(ct_project, tmp_path, capsys):
    directory, sources = ct_project
    middle = sources[3]
    z = float(middle.ImagePositionPatient[2])
    x0, y0 = (float(v) for v in middle.ImagePositionPatient[:2])
    with Project.open(directory) as project:
        volume = case_volume(project, "ct")
        grid, image = Grid.of(volume), volume.array
        line = mstore.add(project, "ct", "ann", "line", [[x0 + 10, y0 + 10, z], [x0 + 40, y0 + 50, z]])
        angle = mstore.add(project, "ct", "ann", "angle", [[x0 + 10, y0, z], [x0, y0, z], [x0, y0 + 10, z]])
        ellipse = mstore.add(project, "ct", "ann", "ellipse", [[x0 + 60, y0 + 60, z], [x0 + 80, y0 + 60, z],
                                                                [x0 + 60, y0 + 70, z]], grid, image,
                             normal=[0, 0, 1])
        polygon = mstore.add(project, "ct", "ann", "polygon", [[x0 + 20, y0 + 80, z], [x0 + 60, y0 + 80, z],
                                                                [x0 + 60, y0 + 110, z]], grid, image)
        sphere = mstore.add(project, "ct", "ann", "sphere", [[x0 + 60, y0 + 60, z], [x0 + 66, y0 + 60, z]],
                            grid, image)
        gone = mstore.add(project, "ct", "ann", "line", [[x0, y0, z], [x0 + 5, y0, z]])
        mstore.delete(project, "ct", "ann", gone.measurement_id)
    ds = _export_sr(directory, tmp_path / "out", capsys)
    groups = {g.tracking_identifier.split(" ")[0]: g for g in _measurement_groups(ds)}
    assert set(groups) == {m.measurement_id for m in (line, angle, ellipse, polygon, sphere)}  # not the deleted

    got = _by_name(groups[line.measurement_id])
    assert got == {"Length": (pytest.approx(50.0), "mm")}
    assert _by_name(groups[angle.measurement_id]) == {"Angle": (pytest.approx(90.0), "deg")}
    assert _referenced(groups[line.measurement_id]) == {str(middle.SOPInstanceUID)}
    for m in (ellipse, polygon):
        got = _by_name(groups[m.measurement_id])
        assert got["Area"] == (pytest.approx(m.result["area_mm2"]), "mm2")
        for name, key in (("Mean", "mean"), ("Standard Deviation", "sd"), ("Minimum", "min"), ("Maximum", "max")):
            assert got[name] == (pytest.approx(m.result[key]), "[hnsf'U]")
        assert _referenced(groups[m.measurement_id]) == {str(middle.SOPInstanceUID)}
        assert groups[m.measurement_id].reference_type.meaning == "Image Region"
    assert _by_name(groups[ellipse.measurement_id])["Area"][0] == pytest.approx(np.pi * 20 * 10)
    region = groups[ellipse.measurement_id].roi
    assert region.graphic_type.value == "ELLIPSE"
    assert np.allclose(region.value, [[x0 + 40, y0 + 60, z], [x0 + 80, y0 + 60, z],
                                      [x0 + 60, y0 + 50, z], [x0 + 60, y0 + 70, z]])
    assert region.frame_of_reference_uid == str(middle.FrameOfReferenceUID)
    assert groups[polygon.measurement_id].roi.graphic_type.value == "POLYGON"
    got = _by_name(groups[sphere.measurement_id])
    assert got["Volume"] == (pytest.approx(4 / 3 * np.pi * 6 ** 3), "mm3")
    assert got["Mean"][0] == pytest.approx(sphere.result["mean"])
    # a 6 mm sphere on 5 mm slices touches the middle slice and its two neighbours
    assert _referenced(groups[sphere.measurement_id]) == {str(sources[k].SOPInstanceUID) for k in (2, 3, 4)}


def test_cr_measurements_are_in_pixel_coordinates_of_the_image(tmp_path, capsys):
    image = shutil.copy(get_testdata_file("RG1_UNCR.dcm"), tmp_path / "cr.dcm")
    directory = tmp_path / "cr"
    with Project.create(directory, "binary", ["normal", "abnormal"], readers=["ann"]) as project:
        project.add_case([str(image)], case_id="cr")
        project.set_label("cr", "abnormal", reader="ann")
        volume = case_volume(project, "cr")
        grid = Grid.of(volume)
        a, b = grid.index_to_world([100, 200, 0]), grid.index_to_world([400, 600, 0])
        line = mstore.add(project, "cr", "ann", "line", [a, b])
    ds = _export_sr(directory, tmp_path / "out", capsys)
    (group,) = [g for g in _measurement_groups(ds) if g.tracking_identifier.startswith(line.measurement_id)]
    (length,) = group.get_measurements()
    assert float(length.value) == pytest.approx(line.result["length_mm"])
    coords = [i for i in length[0].ContentSequence if i.ValueType == "SCOORD"]
    assert len(coords) == 1
    assert np.allclose(np.reshape(coords[0].GraphicData, (-1, 2)), [[100.5, 200.5], [400.5, 600.5]])
    ref = coords[0].ContentSequence[0].ReferencedSOPSequence[0]
    assert str(ref.ReferencedSOPInstanceUID) == str(pydicom.dcmread(image).SOPInstanceUID)


def test_deidentified_sr_references_the_deidentified_images(ct_project, tmp_path, capsys):
    directory, sources = ct_project
    middle = sources[3]
    x0, y0, z = (float(v) for v in middle.ImagePositionPatient)
    with Project.open(directory) as project:
        line = mstore.add(project, "ct", "ann", "line", [[x0 + 10, y0 + 10, z], [x0 + 40, y0 + 50, z]])
    key = tmp_path / "deid.key"
    key.write_bytes(b"k" * 32)
    ds = _export_sr(directory, tmp_path / "out", capsys, "--deidentify", "--deid-key", str(key))
    assert str(ds.PatientID) != str(middle.PatientID)
    (group,) = [g for g in _measurement_groups(ds) if g.tracking_identifier.startswith(line.measurement_id)]
    (uid,) = _referenced(group)
    originals = {str(d.SOPInstanceUID) for d in sources}
    assert uid not in originals  # the new UID of the de-identified middle slice, not the original
    evidence = {str(i.ReferencedSOPInstanceUID) for s in ds.CurrentRequestedProcedureEvidenceSequence
                for series in s.ReferencedSeriesSequence for i in series.ReferencedSOPSequence}
    assert uid in evidence and not evidence & originals
    (coords,) = [i for i in group.get_measurements()[0][0].ContentSequence if i.ValueType == "SCOORD3D"]
    assert str(coords.ReferencedFrameOfReferenceUID) != str(middle.FrameOfReferenceUID)
