"""The core stays free of Qt, VTK and torch: import-linter's contracts, and a fresh interpreter that
imports the core I/O (and answers `workstation --version`) without loading them."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("PySide6", "vtkmodules", "vtk", "torch", "monai", "pyqtgraph", "superqt")


def test_import_linter_contracts_hold():
    lint = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    proc = subprocess.run([lint], cwd=ROOT,  # reads pyproject.toml from the working folder
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


def _loaded_heavy(code: str) -> list[str]:
    probe = code + f"\nimport sys\nprint(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))"
    proc = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return eval(proc.stdout.strip().splitlines()[-1])


def test_core_io_imports_no_qt_vtk_torch():
    assert _loaded_heavy("import workstation.core.io, workstation.core.volume\n"
                         "import workstation.core.io.dicom, workstation.core.io.itk") == []


def test_version_imports_no_qt_vtk_torch():
    code = ("import contextlib, io\nfrom workstation import cli\nbuf = io.StringIO()\n"
            "with contextlib.redirect_stdout(buf):\n    rc = cli.main(['--version'])\n"
            "assert rc == 0 and buf.getvalue().startswith('workstation '), buf.getvalue()")
    assert _loaded_heavy(code) == []


def test_info_command_imports_no_qt_vtk_torch(tmp_path):
    code = ("import contextlib, io\nfrom workstation import cli\n"
            "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
            f"    cli.main(['info', {str(tmp_path / 'missing.dcm')!r}])")
    assert _loaded_heavy(code) == []
