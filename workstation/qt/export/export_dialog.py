"""The export dialog: File ▸ "Export labelled set…" writes the open project's labelled set (csv,
MONAI datalist, ImageFolder tree or NIfTI) through `workstation.core.export.from_project.export_project`,
in the background, with a progress bar, a one-line error (`ExportError`) and a summary at the end.

`install(ctx)` adds the menu action (an `ExportMenu`, whose dialog is made on first use). The
export runs on a thread of its own with its own connection to the project (as training does), so
the GUI keeps its connection to itself; the project is the review session's.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QApplication, QCheckBox, QComboBox, QDialog, QDoubleSpinBox, QFileDialog,
                               QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit, QProgressBar,
                               QPushButton, QSpinBox, QVBoxLayout)

from workstation.qt.threads import Job, Subscriptions, in_gui, run_in_background
from workstation.core.vocab import Task

ACTION_TEXT = "Export labelled set…"
FORMAT_TITLES = {"csv": "CSV table + images", "monai": "MONAI datalist (JSON)",
                 "imagefolder": "ImageFolder tree (2D classes)", "nifti": "NIfTI images (+ masks, points)"}
PLAIN_2D = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
SAMPLE_CASES = 20  # enough to tell a 2D set from a 3D one without reading a big project


def image_kinds(project, sample: int = SAMPLE_CASES) -> set[str]:
    """"2d" / "3d" for the first `sample` cases, from headers only (a case that cannot be told is left out)."""
    kinds = set()
    for case in project.cases()[:sample]:
        kind = _case_kind([Path(p) for p in case.paths])
        if kind:
            kinds.add(kind)
    return kinds


def _case_kind(paths: list[Path]) -> str | None:
    if len(paths) > 1:
        return "3d"  # a DICOM series of several slices
    if not paths:
        return None
    path = paths[0]
    if path.suffix.lower() in PLAIN_2D:
        return "2d"
    try:
        from workstation.core.io.dicom_headers import looks_like_dicom, read_header

        if looks_like_dicom(path):
            return "3d" if read_header(path).frames > 1 else "2d"
        import SimpleITK as sitk

        reader = sitk.ImageFileReader()
        reader.SetFileName(str(path))
        reader.ReadImageInformation()
        size = reader.GetSize()
        return "3d" if len(size) > 2 and size[2] > 1 else "2d"
    except Exception:  # noqa: BLE001 - an unreadable file is the export's to report
        return None


def formats_for(task: str, kinds: set[str]) -> list[str]:
    """The formats that fit a project: ImageFolder only for 2D single-label sets, NIfTI for
    detection or 3D images; csv and MONAI always."""
    formats = ["csv", "monai"]
    if task in (Task.BINARY, Task.MULTICLASS) and "3d" not in kinds:
        formats.append("imagefolder")
    if task == Task.DETECTION or "3d" in kinds:
        formats.append("nifti")
    return formats


def gui_message(error: str) -> str:
    """The core's messages name CLI options; say what to do in the dialog instead."""
    return error.replace("use --force to replace", "tick “Force” to replace")


class ExportDialog(QDialog):
    finished_export = Signal(object, str)  # ExportResult or None, one-line error

    def __init__(self, session, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.setWindowTitle("Export labelled set")
        self.thread: Job | None = None
        self.result = None
        self.error = ""
        self._progress = in_gui(self._on_progress, self)  # called by the export thread
        self._build()
        Subscriptions(self).add(session.events.project_changed, self.refresh)
        self.refresh()

    # ---- widgets -------------------------------------------------------------------------------
    def _build(self) -> None:
        self.project_label = QLabel("")
        self.out = QLineEdit(placeholderText="a new or empty folder (or an earlier export, with Force)")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        out_row = QHBoxLayout()
        out_row.addWidget(self.out, 1)
        out_row.addWidget(browse)
        self.format = QComboBox()
        self.truth = QComboBox(toolTip="Which labels are the truth of the exported set")
        self.deidentify = QCheckBox("De-identify DICOM (PS3.15 basic profile: pseudonyms, shifted dates, new UIDs)")
        self.splits = []
        split_row = QHBoxLayout()
        for name, value in (("training", 0.7), ("validation", 0.15), ("test", 0.15)):
            box = QDoubleSpinBox(minimum=0.0, maximum=1.0, singleStep=0.05, decimals=2, value=value,
                                 toolTip=f"fraction of patients' cases in {name}")
            box.valueChanged.connect(self._check_splits)
            split_row.addWidget(QLabel(name))
            split_row.addWidget(box)
            self.splits.append(box)
        self.split_hint = QLabel("")
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1, value=0, toolTip="seed of the patient-grouped split")
        self.force = QCheckBox("Force: replace an earlier export in this folder")
        form = self._form = QFormLayout()
        form.addRow("Project", self.project_label)
        form.addRow("Output folder", out_row)
        form.addRow("Format", self.format)
        form.addRow("Truth", self.truth)
        form.addRow("Splits", split_row)
        form.addRow("", self.split_hint)
        form.addRow("Seed", self.seed)
        form.addRow("", self.deidentify)
        form.addRow("", self.force)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.status = QLabel("", wordWrap=True, textInteractionFlags=Qt.TextSelectableByMouse)
        self.summary = QPlainTextEdit(readOnly=True)
        self.summary.setMaximumHeight(160)
        self.progress.hide()
        self.summary.hide()
        self.export_button = QPushButton("Export", default=True)
        self.export_button.clicked.connect(self.start)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.summary)
        layout.addLayout(buttons)
        self.setMinimumWidth(560)
        self._check_splits()

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Export to folder", self.out.text())
        if path:
            self.out.setText(path)

    def refresh(self, *_project) -> None:
        """Fill the choices that depend on the project (formats, readers); kept while exporting."""
        if self.running:
            return
        project = self.session.project
        self.format.clear()
        self.truth.clear()
        if project is None:
            self.project_label.setText("no project open")
            self.export_button.setEnabled(False)
            return
        kinds = image_kinds(project)
        self.project_label.setText(f"{Path(project.directory).name} — {project.task}, "
                                   f"{', '.join(project.classes)}")
        for fmt in formats_for(project.task, kinds):
            self.format.addItem(FORMAT_TITLES[fmt], fmt)
        self.truth.addItem("Final (adjudicated, else newest final label)", "final")
        if project.task != "detection":
            self.truth.addItem("Consensus (adjudicated, else readers' majority)", "consensus")
        self.truth.addItem("Original (imported labels)", "original")
        for reader in project.readers():
            self.truth.addItem(f"Reader: {reader}", reader)
        self._check_splits()

    def set_format(self, fmt: str) -> None:
        index = self.format.findData(fmt)
        if index < 0:
            raise ValueError(f"format {fmt!r} is not offered for this project")
        self.format.setCurrentIndex(index)

    def set_truth(self, truth: str) -> None:
        index = self.truth.findData(truth)
        if index < 0:
            raise ValueError(f"truth {truth!r} is not offered for this project")
        self.truth.setCurrentIndex(index)

    def offered_formats(self) -> list[str]:
        return [self.format.itemData(i) for i in range(self.format.count())]

    def split_values(self) -> tuple[float, float, float]:
        return tuple(round(box.value(), 4) for box in self.splits)

    def _check_splits(self) -> bool:
        total = sum(self.split_values())
        ok = abs(total - 1.0) < 1e-6
        self.split_hint.setText("" if ok else f"the three fractions must sum to 1 (now {total:.2f})")
        self._form.setRowVisible(self.split_hint, not ok)
        self.split_hint.setStyleSheet("" if ok else "color: #c0392b")
        self.export_button.setEnabled(ok and self.session.project is not None and not self.running)
        return ok

    # ---- export --------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def start(self) -> bool:
        """Export in the background; False (with the reason shown) when it cannot start."""
        project = self.session.project
        if project is None:
            return self._fail("open a project first")
        if self.running:
            return self._fail("an export is already running")
        out = self.out.text().strip()
        if not out:
            return self._fail("choose an output folder")
        if not self._check_splits():
            return self._fail(self.split_hint.text())
        kwargs = dict(fmt=self.format.currentData(), truth=self.truth.currentData(), splits=self.split_values(),
                      seed=self.seed.value(), deidentify=self.deidentify.isChecked(), force=self.force.isChecked())
        self.result, self.error = None, ""
        self.summary.clear()
        self.summary.hide()
        self.progress.setValue(0)
        self.progress.show()
        self._set_status(f"exporting {Path(project.directory).name} as {kwargs['fmt']}…")
        self.export_button.setEnabled(False)
        self.thread = run_in_background(self._work, Path(project.directory), Path(out), kwargs, owner=self,
                                        name="workstation-export",
                                        on_result=lambda result: self._on_finished(result, ""),
                                        on_error=lambda text: self._on_finished(None, gui_message(text)))
        return True

    def _work(self, directory: Path, out: Path, kwargs: dict):
        from workstation.core.export.from_project import export_project
        from workstation.core.project import Project

        with Project.open(directory) as project:  # its own connection, off the GUI thread
            return export_project(project, out, kwargs.pop("fmt"), progress=self._progress, **kwargs)

    def _on_progress(self, fraction: float, text: str) -> None:
        self.progress.setValue(int(round(1000 * max(0.0, min(1.0, fraction)))))
        if text:
            self._set_status(text)

    def _on_finished(self, result, error: str) -> None:
        self.thread = None
        self.result, self.error = result, error
        self._check_splits()
        try:
            if result is None:
                self.progress.hide()
                self._set_status(f"Export failed: {error}", error=True)
                self.adjustSize()
            else:
                self.progress.setValue(1000)
                self._set_status(f"Exported. Manifest: {self.manifest_path}")
                self.summary.setPlainText(summary_text(result))
                self.summary.show()
        finally:
            self.finished_export.emit(result, error)

    @property
    def manifest_path(self) -> Path | None:
        if self.result is None:
            return None
        from workstation.core.export import MANIFEST_NAME

        return Path(self.result.out) / MANIFEST_NAME

    def _set_status(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #c0392b" if error else "")

    def _fail(self, text: str) -> bool:
        self.error = text
        self._set_status(text, error=True)
        return False

    def shutdown(self, timeout: float = 120.0) -> None:
        """Let a running export finish (it cleans up its staging folder) before the app exits."""
        if self.thread is not None:
            self.thread.join(timeout)


def summary_text(result) -> str:
    m = result.manifest
    c = m["counts"]
    lines = [f"{c['cases']} case(s) of {c['patients']} patient(s), {c['image_files']} image file(s), "
             f"{len(m.get('files', []))} file(s) in the manifest",
             f"training {c['training']}, validation {c['validation']}, test {c['test']}; "
             f"label source: {m['label_source']}"]
    if c.get("not_exported_without_truth"):
        lines.append(f"{c['not_exported_without_truth']} case(s) without truth left out")
    balance = m.get("class_balance", {}).get("all", {})
    if balance:
        lines.append("classes: " + ", ".join(f"{k} {v}" for k, v in balance.items()))
    if m.get("deidentified"):
        method = m.get("deidentification", {}).get("method") or ["yes"]
        lines.append("de-identified: " + (method[0] if isinstance(method, list) else str(method)))
    lines += [f"warning: {w}" for w in result.warnings]
    return "\n".join(lines)


class ExportMenu(QObject):
    """File ▸ "Export labelled set…" (enabled while the session has a project) and its dialog."""

    def __init__(self, ctx) -> None:
        super().__init__(ctx.host.widget)
        self.ctx = ctx
        self.dialog: ExportDialog | None = None
        menu = ctx.host.menu("File")
        self.action = QAction(ACTION_TEXT, ctx.host.widget)
        self.action.triggered.connect(lambda _checked=False: self.open_dialog())
        separators = [a for a in menu.actions() if a.isSeparator()]
        if separators:  # before the Quit group
            menu.insertAction(separators[-1], self.action)
        else:
            menu.addAction(self.action)
        Subscriptions(self).add(ctx.session.events.project_changed, self._project_changed)
        self._project_changed(ctx.session.project)

    def _project_changed(self, project) -> None:
        self.action.setEnabled(project is not None)

    def open_dialog(self) -> ExportDialog:
        if self.dialog is None:
            self.dialog = ExportDialog(self.ctx.session, self.ctx.host.widget)
            app = QApplication.instance()
            if app is not None:
                app.aboutToQuit.connect(self.dialog.shutdown)
        self.dialog.refresh()
        self.dialog.show()
        self.dialog.raise_()
        return self.dialog


def install(ctx) -> dict:
    return {"export": ExportMenu(ctx)}
