"""The export dialog in the real main window: File menu action, fields set as a user would, the
export in the background, its manifest and files, de-identified headers, and the refusal to
overwrite an earlier export without Force."""
from __future__ import annotations

import json

import pydicom
import pytest

from workstation.qt.export import export_dialog
pytestmark = pytest.mark.gui


@pytest.fixture
def window(qtbot):
    from workstation.qt.main_window import MainWindow

    win = MainWindow()
    win.export = win.panels["export"]
    win.show()
    yield win
    dialog = win.export.dialog
    if dialog is not None:
        dialog.shutdown()
        dialog.close()
    project, win.project = win.project, None
    win.session.set_project(None)
    win.project_changed.emit(None)
    win.close()
    win.deleteLater()
    qtbot.wait(50)
    if project is not None:
        project.close()


def _file_menu_texts(win) -> list[str]:
    menu = next(a.menu() for a in win.menuBar().actions() if a.text().replace("&", "") == "File")
    return [a.text() for a in menu.actions()]


def _run(qtbot, dialog) -> tuple[object, str]:
    with qtbot.waitSignal(dialog.finished_export, timeout=120_000) as done:
        assert dialog.start()
    return tuple(done.args)


def _header_strings(path) -> list[str]:
    ds = pydicom.dcmread(path)
    values = []
    for elem in list(ds.file_meta.iterall()) + list(ds.iterall()):
        if elem.tag == 0x7FE00010 or elem.VR == "SQ":
            continue
        v = elem.value
        values.append(v.decode("latin-1") if isinstance(v, bytes) else str(v))
    return values


def _tree(folder) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_menu_action_follows_the_project_and_offers_fitting_choices(qtbot, window, labelled_project):
    assert export_dialog.ACTION_TEXT in _file_menu_texts(window)
    texts = _file_menu_texts(window)
    assert texts.index(export_dialog.ACTION_TEXT) < texts.index("&Quit")
    assert not window.export.action.isEnabled()
    window.open_project(labelled_project.directory)
    assert window.export.action.isEnabled()
    window.export.action.trigger()
    dialog = window.export.dialog
    assert dialog.isVisible()
    # 2D single-file DICOM cases of a binary project: ImageFolder fits, NIfTI does not
    assert dialog.offered_formats() == ["csv", "monai", "imagefolder"]
    truths = [dialog.truth.itemData(i) for i in range(dialog.truth.count())]
    assert truths == ["final", "consensus", "original", "alice", "bob"]
    assert "proj" in dialog.project_label.text() and "binary" in dialog.project_label.text()


def test_formats_fit_the_task_and_image_kind():
    assert export_dialog.formats_for("binary", {"2d"}) == ["csv", "monai", "imagefolder"]
    assert export_dialog.formats_for("multiclass", {"3d"}) == ["csv", "monai", "nifti"]
    assert export_dialog.formats_for("multilabel", {"2d"}) == ["csv", "monai"]
    assert export_dialog.formats_for("detection", {"2d"}) == ["csv", "monai", "nifti"]


def test_deidentified_export_then_refused_then_forced(qtbot, window, labelled_project, tmp_path):
    from workstation.core.export import verify_manifest

    window.open_project(labelled_project.directory)
    window.export.action.trigger()
    dialog = window.export.dialog
    out = tmp_path / "export"
    dialog.out.setText(str(out))
    dialog.set_format("monai")
    dialog.set_truth("alice")
    for box, value in zip(dialog.splits, (0.5, 0.25, 0.25)):
        box.setValue(value)
    dialog.seed.setValue(7)
    dialog.deidentify.setChecked(True)

    result, error = _run(qtbot, dialog)
    assert error == "" and result is not None
    manifest_path = out / "manifest.json"
    assert dialog.manifest_path == manifest_path and str(manifest_path) in dialog.status.text()
    manifest = json.loads(manifest_path.read_text())
    assert manifest["format"] == "monai" and manifest["label_source"] == "reader:alice"
    assert manifest["deidentified"] is True and manifest["splits"]["seed"] == 7
    assert manifest["counts"]["cases"] == 4 and manifest["counts"]["patients"] == 4
    assert manifest["class_balance"]["all"] == {"abnormal": 2, "normal": 2}
    assert verify_manifest(out) == []
    datalist = json.loads((out / "datalist.json").read_text())
    listed = [e["image"] for split in ("training", "validation", "test") for e in datalist[split]]
    assert len(listed) == 4 and all((out / image).exists() for image in listed)
    dicoms = list(out.rglob("*.dcm"))
    assert len(dicoms) == 4
    forbidden = labelled_project.names + labelled_project.patient_ids
    for path in dicoms:
        texts = _header_strings(path)
        assert not [f for f in forbidden for t in texts if f in t], path
        assert pydicom.dcmread(path).PatientIdentityRemoved == "YES"
    assert dialog.summary.isVisible()
    summary = dialog.summary.toPlainText()
    assert "4 case(s) of 4 patient(s)" in summary
    burned = [line for line in summary.splitlines() if line.startswith("warning:") and "declares burned-in" in line]
    assert len(burned) == 1 and manifest["deidentification"]["burned_in_annotation"]  # the one image that says so
    assert dialog.progress.value() == 1000

    # the same folder again without Force: a clear error, nothing written or changed
    before = _tree(out)
    dialog.set_format("csv")
    result, error = _run(qtbot, dialog)
    assert result is None and "not empty" in error and "Force" in error and "--force" not in error
    assert "Export failed" in dialog.status.text() and not dialog.summary.isVisible()
    assert _tree(out) == before
    assert dialog.export_button.isEnabled()

    # with Force: replaced by the csv export
    dialog.force.setChecked(True)
    dialog.deidentify.setChecked(False)
    dialog.set_truth("bob")
    result, error = _run(qtbot, dialog)
    assert error == "", error
    manifest = json.loads(manifest_path.read_text())
    assert manifest["format"] == "csv" and manifest["label_source"] == "reader:bob"
    assert manifest["counts"]["labelled"] == 2 and manifest["counts"]["unlabelled"] == 2
    assert not (out / "datalist.json").exists() and verify_manifest(out) == []


def test_imagefolder_export_of_the_2d_dicoms(qtbot, window, labelled_project, tmp_path):
    window.open_project(labelled_project.directory)
    dialog = window.export.open_dialog()
    out = tmp_path / "folder"
    dialog.out.setText(str(out))
    dialog.set_format("imagefolder")
    for box, value in zip(dialog.splits, (1.0, 0.0, 0.0)):
        box.setValue(value)
    result, error = _run(qtbot, dialog)
    assert error == "", error
    pngs = sorted(p.relative_to(out).parts[:2] for p in out.rglob("*.png"))
    assert pngs == [("train", "abnormal")] * 2 + [("train", "normal")] * 2
    assert json.loads((out / "manifest.json").read_text())["counts"]["training"] == 4


def test_splits_that_do_not_sum_to_one_are_refused(qtbot, window, labelled_project, tmp_path):
    window.open_project(labelled_project.directory)
    dialog = window.export.open_dialog()
    out = tmp_path / "never"
    dialog.out.setText(str(out))
    dialog.splits[1].setValue(0.3)
    assert not dialog.export_button.isEnabled()
    assert "sum to 1" in dialog.split_hint.text()
    assert dialog.start() is False and "sum to 1" in dialog.status.text()
    dialog.out.setText("")
    dialog.splits[1].setValue(0.15)
    assert dialog.export_button.isEnabled()
    assert dialog.start() is False and "output folder" in dialog.status.text()
    assert not out.exists()


def test_an_unknown_reader_error_is_one_line(qtbot, window, labelled_project, tmp_path):
    window.open_project(labelled_project.directory)
    dialog = window.export.open_dialog()
    dialog.out.setText(str(tmp_path / "o"))
    dialog.truth.addItem("Reader: carol", "carol")  # a reader the project does not know
    dialog.set_truth("carol")
    result, error = _run(qtbot, dialog)
    assert result is None and "no reader 'carol'" in error and "\n" not in error
    assert not (tmp_path / "o" / "manifest.json").exists()
