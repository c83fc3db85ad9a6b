"""The damaged corpus through `workstation project add` and every export format.

A file `info` must refuse never becomes a case: the project (status and cases) is unchanged by
adding it, and `add --json` lists it as skipped with a reason. Whatever `add` takes, every
export format (with and without --deidentify) finishes without a traceback, writes only
complete files, and leaves the project unchanged."""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

corpus = sys.modules["ws_robustness_corpus"]
runner = sys.modules["ws_robustness_runner"]

FAMILIES = ["dicom", "nifti", "png", "jpeg", "other"]
CHUNK = 60
NOT_IN_EXPORT_PROJECTS = ("FIFO", "/dev/zero", "loop")  # would only hang every export


@dataclass
class AddOutcome:
    crash: str | None = None
    skipped: list = field(default_factory=list)
    run: object = None


def _names(path: Path) -> set[str]:
    return {str(path), os.path.realpath(path)}


def _taken(path: Path, cases: dict) -> list[str]:
    """Case ids holding ``path``, or for a folder any file inside it."""
    names = _names(path)
    if path.is_dir() and not path.is_symlink():
        prefixes = tuple(n + os.sep for n in names)
        return sorted({c for p, c in cases.items() if p in names or p.startswith(prefixes)})
    return sorted({cases[n] for n in names if n in cases})


def _add(project: Path, entries, outcomes: dict, extra=()) -> None:
    """`project add` on a chunk; a chunk whose answer is not clean JSON is bisected so that a
    traceback is pinned on the file that causes it."""
    paths = [str(e.path) for e in entries]
    run = runner.cli("project", "add", project, *paths, *extra, "--json")
    crash = runner.crashed(run)
    data = None
    if crash is None and run.rc in (0, 1):
        try:
            data = json.loads(run.out)
        except ValueError:
            crash = "stdout is not JSON"
    elif crash is None:
        crash = f"exit {run.rc}"
    if data is None and len(entries) > 1:
        half = len(entries) // 2
        _add(project, entries[:half], outcomes, extra)
        _add(project, entries[half:], outcomes, extra)
        return
    skipped = (data or {}).get("skipped", [])
    for e, p in zip(entries, paths):
        mine = [s for s in skipped if isinstance(s, str)
                and (s.startswith(p + ":") or s.startswith(p + os.sep))]
        outcomes[e.path] = AddOutcome(crash, mine, run)


def cases_of(state) -> dict[str, str]:
    """Every path named by a case -> its case id."""
    out = {}
    for case in state["cases"]:
        for p in case.get("paths", []):
            out[str(p)] = case["case_id"]
            out[os.path.realpath(p)] = case["case_id"]
    return out


@pytest.fixture(scope="session")
def refused_add(damaged, new_project):
    """Every file info must refuse, added to one project (chunks of 60; the hazards alone)."""
    project = new_project("refuse")
    before = runner.project_state(project)
    entries = [e for e in damaged if e.verdict == corpus.MUST_REFUSE]
    outcomes: dict = {}
    normal = [e for e in entries if not e.solo
              and not any(w in e.mutation for w in NOT_IN_EXPORT_PROJECTS)]
    for start in range(0, len(normal), CHUNK):
        _add(project, normal[start:start + CHUNK], outcomes)
    hazards = [e for e in entries if e.solo]
    alone = [e for e in entries if any(w in e.mutation for w in NOT_IN_EXPORT_PROJECTS)]
    _add(project, [e for e in hazards if e not in alone], outcomes)
    for e in alone:  # a FIFO, /dev/zero or a link loop could spoil a whole batch
        _add(project, [e], outcomes)
    after = runner.project_state(project)
    return entries, outcomes, before, after


@pytest.mark.parametrize("family", FAMILIES)
def test_project_add_never_takes_a_damaged_file(family, refused_add):
    entries, outcomes, _, after = refused_add
    cases = cases_of(after)
    bad = []
    for e in entries:
        if e.family != family:
            continue
        o = outcomes[e.path]
        problems = []
        if o.crash:
            problems.append(o.crash + ": " + o.run.tail(600))
        taken = _taken(e.path, cases)
        if taken:
            problems.append(f"became case {taken[0]!r}")
        elif not o.skipped and not (e.path.is_dir() and not any(e.path.iterdir())):
            problems.append("not listed in 'skipped' with a reason")
        if problems:
            bad.append(f"- {e.path.name} [{e.source}: {e.mutation}]: " + "; ".join(problems))
    assert not bad, f"{len(bad)} damaged {family} files:\n" + "\n".join(bad)


def test_project_unchanged_by_refused_files(refused_add):
    _, _, before, after = refused_add
    assert after["status"] == before["status"], (
        f"status changed: {before['status']} -> {after['status']}")
    added = [c["case_id"] for c in after["cases"]]
    assert added == [c["case_id"] for c in before["cases"]], (
        f"{len(added)} cases appeared: {added[:20]}")


# ----------------------------------------------------------------------------- exports

# an export stops at the first unreadable case: a few formats show the clean failure
DAMAGED_EXPORTS = [("2d", "csv", True), ("2d", "imagefolder", True), ("2d", "nifti", True),
                   ("3d", "csv", True), ("3d", "nifti", False)]
READABLE_EXPORTS = [("2d", fmt, deid) for fmt, deid in (
    ("csv", False), ("csv", True), ("monai", False), ("monai", True), ("imagefolder", True),
    ("nifti", True))] + [("3d", fmt, deid) for fmt, deid in (
        ("csv", True), ("monai", True), ("nifti", False), ("nifti", True))]


def _export_id(combo):
    dims, fmt, deid = combo
    return f"{dims}-{fmt}{'-deidentify' if deid else ''}"


def _project_with(new_project, tmp_path_factory, name, entries, combos):
    """A labelled project holding what `add` takes of ``entries``; every export of ``combos``
    run on it; the project's state before and after the exports."""
    project = new_project(name)
    labels = tmp_path_factory.mktemp(f"labels_{name}") / "labels.csv"
    labels.write_text("path,label\n" + "".join(
        f"{e.path},{'normal' if i % 2 else 'abnormal'}\n" for i, e in enumerate(entries)))
    adds: dict = {}
    for start in range(0, len(entries), CHUNK):
        _add(project, entries[start:start + CHUNK], adds)
    run = runner.cli("project", "add", project, "--labels", labels, "--labels-tag", "final",
                     "--labels-reader", "tester", "--json")
    assert run.rc == 0 and runner.crashed(run) is None, run.tail()
    before = runner.project_state(project)
    out_root = tmp_path_factory.mktemp(f"exports_{name}")
    runs = {}
    for combo in combos:
        out = out_root / _export_id(combo)
        args = ["export", project, out, "--format", combo[1], "--json"]
        if combo[2]:
            args.append("--deidentify")
        runs[combo] = (runner.cli(*args), out)
    return {"adds": adds, "before": before, "runs": runs,
            "after": runner.project_state(project), "entries": entries}


@pytest.fixture(scope="session")
def damaged_exports(damaged, new_project, tmp_path_factory):
    """Per 2D/3D: every intact and tolerable file and a quarter of the damaged ones (whatever
    `add` takes of them)."""
    out = {}
    for dims in ("2d", "3d"):
        refuse = [e for e in damaged if e.verdict == corpus.MUST_REFUSE and e.dims == dims
                  and not any(w in e.mutation for w in NOT_IN_EXPORT_PROJECTS)]
        keep = [e for e in damaged if e.dims == dims and e.verdict != corpus.MUST_REFUSE]
        out[dims] = _project_with(new_project, tmp_path_factory, f"damaged{dims}",
                                  keep + refuse[::4],
                                  [c for c in DAMAGED_EXPORTS if c[0] == dims])
    return out


@pytest.fixture(scope="session")
def readable_exports(damaged, info_outcomes, new_project, tmp_path_factory):
    """Per 2D/3D: the intact and tolerable files that `info` read without a word: every
    export of them must succeed."""
    out = {}
    for dims in ("2d", "3d"):
        entries = [e for e in damaged if e.dims == dims and not e.solo
                   and e.verdict in (corpus.VALID, corpus.MAY_ACCEPT)
                   and info_outcomes[e.path].rc == 0 and info_outcomes[e.path].records]
        out[dims] = _project_with(new_project, tmp_path_factory, f"readable{dims}", entries,
                                  [c for c in READABLE_EXPORTS if c[0] == dims])
    return out


def _manifest_problems(out: Path) -> list[str]:
    manifest = out / "manifest.json"
    if not manifest.is_file():
        return ["exit 0 but no manifest.json"]
    data = json.loads(manifest.read_text())
    problems = []
    for f in data.get("files", []):
        p = out / f["path"]
        if not p.is_file():
            problems.append(f"manifest lists a missing file {f['path']}")
        elif hashlib.sha256(p.read_bytes()).hexdigest() != f.get("sha256"):
            problems.append(f"sha256 of {f['path']} differs from the manifest")
    return problems


def _written_file_problems(out: Path, inputs: set[str]) -> list[str]:
    """Every NIfTI or PNG the export wrote (not a byte copy of an input) must be whole: a
    complete gzip stream that nibabel loads with finite geometry, a PNG that decodes."""
    import nibabel as nib
    import numpy as np
    from PIL import Image

    problems = []
    for p in sorted(out.rglob("*")):
        if not p.is_file() or hashlib.sha256(p.read_bytes()).hexdigest() in inputs:
            continue
        if p.name.endswith(".nii.gz"):
            try:
                with gzip.open(p, "rb") as fh:
                    head = fh.read(348)
                    while fh.read(1 << 20):
                        pass
                if head[344:348] != b"n+1\x00":
                    continue  # a de-identified copy of an odd input (e.g. magic broken)
                img = nib.load(p)
                if not np.all(np.isfinite(img.affine)) or min(img.shape) < 1:
                    problems.append(f"{p.relative_to(out)}: bad geometry or shape")
                else:
                    np.asanyarray(img.dataobj)
            except Exception as exc:  # noqa: BLE001 - any failure is the finding
                problems.append(f"{p.relative_to(out)}: {type(exc).__name__}: {exc}"[:200])
        elif p.suffix.lower() == ".png":
            try:
                with Image.open(p) as im:
                    im.load()
            except Exception as exc:  # noqa: BLE001
                problems.append(f"{p.relative_to(out)}: {type(exc).__name__}: {exc}"[:200])
    return problems


def _inputs(damaged) -> set[str]:
    return {hashlib.sha256(e.path.read_bytes()).hexdigest() for e in damaged
            if e.path.is_file() and not e.solo}


@pytest.mark.parametrize("combo", DAMAGED_EXPORTS, ids=_export_id)
def test_export_with_damaged_cases_is_clean(combo, damaged_exports, damaged):
    """Whatever damaged files `add` let in: exit 0 with a complete set, or exit 2 with a
    message; never a traceback."""
    run, out = damaged_exports[combo[0]]["runs"][combo]
    crash = runner.crashed(run)
    assert crash is None, f"{crash}\n{run.tail(3000)}"
    assert run.rc in (0, 2), run.tail()
    if run.rc == 2:
        assert run.err.strip(), "exit 2 without a message"
        if run.out.strip():
            json.loads(run.out)  # --json: nothing but JSON on stdout, or nothing
        assert not out.exists() or not any(out.iterdir()), "a failed export left files"
        return
    problems = _manifest_problems(out) + _written_file_problems(out, _inputs(damaged))
    assert not problems, "\n".join(problems[:40])


@pytest.mark.parametrize("combo", READABLE_EXPORTS, ids=_export_id)
def test_export_of_every_readable_file_succeeds(combo, readable_exports, damaged):
    """Intact files and tolerable damage that `info` read: each format exports every case
    (all are labelled), with a manifest that verifies and whole written images."""
    result = readable_exports[combo[0]]
    run, out = result["runs"][combo]
    assert runner.crashed(run) is None and run.rc == 0, run.tail(3000)
    manifest = json.loads(run.out)
    assert manifest["counts"]["cases"] == len(result["before"]["cases"]), manifest["counts"]
    problems = _manifest_problems(out) + _written_file_problems(out, _inputs(damaged))
    assert not problems, "\n".join(problems[:40])


@pytest.mark.parametrize("dims", ["2d", "3d"])
def test_add_takes_every_readable_file(dims, readable_exports):
    result = readable_exports[dims]
    cases = cases_of(result["before"])
    missing = [f"- {e.path.name} [{e.source}: {e.mutation}]: {result['adds'][e.path].skipped}"
               for e in result["entries"] if not _taken(e.path, cases)]
    assert not missing, "read by info but not added:\n" + "\n".join(missing)


@pytest.mark.parametrize("which", ["damaged", "readable"])
@pytest.mark.parametrize("dims", ["2d", "3d"])
def test_add_and_exports_never_traceback_and_leave_the_project_unchanged(
        which, dims, request):
    result = request.getfixturevalue(f"{which}_exports")[dims]
    bad = [f"- {p.name}: {o.crash}: {o.run.tail(600)}" for p, o in result["adds"].items()
           if o.crash]
    assert not bad, "\n".join(bad[:20])
    assert result["after"] == result["before"]
