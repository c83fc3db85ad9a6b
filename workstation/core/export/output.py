"""The export folder: safe names, containment, staging and the all-or-nothing finish.

Case ids and class names are untrusted (they become file names), so every name goes through
`safe_name` and every path through `OutputTree.path`, which refuses anything that would resolve
outside OUT (`..`, absolute paths, symlinks pointing out). Files are written into a hidden staging
folder inside OUT; only when all are written do they move into place, with manifest.json written
last and atomically: a failed export (full disk, no permission) leaves no manifest behind.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import uuid
from pathlib import Path, PurePosixPath

from workstation.core.errors import WorkstationError

MANIFEST_NAME = "manifest.json"
MANIFEST_KIND = "workstation-export"
_STAGING_PREFIX = ".workstation-export-"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_NAME = 100


class ExportError(WorkstationError):
    """An export that cannot be done; str() is a one-line reason the user can act on."""


def safe_name(name: str, fallback: str = "item") -> str:
    """A file-name-safe form of an untrusted name: letters, digits, `.`, `_`, `-` only, starting with
    a letter or digit (no hidden files, no option-like names), at most 100 characters. A name that had to change gets a short hash of the original, so
    two different names never collide ("a/b" and "a_b" stay apart)."""
    text = str(name)
    cleaned = _UNSAFE.sub("_", text).lstrip("._-").rstrip("_") or fallback
    if cleaned != text or len(cleaned) > _MAX_NAME:
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        cleaned = f"{cleaned[:_MAX_NAME - 9]}-{digest}"
    return cleaned


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def describe_os_error(exc: OSError) -> str:
    reasons = {errno.ENOSPC: "no space left on the device", errno.EDQUOT: "disk quota exceeded",
               errno.EACCES: "permission denied", errno.EPERM: "permission denied",
               errno.EROFS: "the file system is read-only"}
    reason = reasons.get(exc.errno, exc.strerror or str(exc))
    return f"{reason} ({exc.filename})" if exc.filename else reason


def _check_relative(rel: str) -> PurePosixPath:
    p = PurePosixPath(rel)
    if not rel or p.is_absolute() or ".." in p.parts or "\\" in rel or any(x in ("", ".") for x in p.parts):
        raise ExportError(f"refusing to write {rel!r}: not a plain path inside the export folder")
    return p


def _inside(root: Path, rel: str) -> Path:
    path = root / _check_relative(rel)
    if not path.resolve().is_relative_to(root.resolve()):
        raise ExportError(f"refusing to write {rel!r}: it resolves outside {root}")
    return path


class OutputTree:
    """Staged writing into OUT. Use `path(rel)` for every file, then `commit(manifest)` or `abort()`."""

    def __init__(self, out: str | Path, force: bool = False) -> None:
        self.out = Path(out).expanduser().absolute()
        self.previous: list[str] = []
        self.force = force
        if self.out.exists() and not self.out.is_dir():
            raise ExportError(f"{self.out} exists and is not a folder")
        entries = sorted(p.name for p in self.out.iterdir()) if self.out.is_dir() else []
        entries = [e for e in entries if not e.startswith(_STAGING_PREFIX)]
        if entries and not force:
            raise ExportError(f"{self.out} is not empty; use --force to replace the export there")
        if entries:
            self.previous = self._previous_files()
        self._created = not self.out.exists()
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            self.staging = self.out / f"{_STAGING_PREFIX}{uuid.uuid4().hex[:12]}"
            self.staging.mkdir()
        except OSError as exc:
            raise ExportError(f"cannot write to {self.out}: {describe_os_error(exc)}") from None

    def _previous_files(self) -> list[str]:
        """Files listed by an earlier export's manifest here: they are replaced. Other files in OUT
        are left alone (a forced export never deletes what it did not write)."""
        try:
            manifest = json.loads((self.out / MANIFEST_NAME).read_text())
        except (OSError, ValueError):
            return []
        if not isinstance(manifest, dict) or manifest.get("kind") != MANIFEST_KIND:
            return []
        return [f["path"] for f in manifest.get("files", []) if isinstance(f, dict) and isinstance(f.get("path"), str)]

    def path(self, rel: str) -> Path:
        """Where to write the export file `rel` (a POSIX path relative to OUT) while staging."""
        _inside(self.out, rel)
        path = _inside(self.staging, rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def staged_files(self) -> list[str]:
        return sorted(p.relative_to(self.staging).as_posix() for p in self.staging.rglob("*") if p.is_file())

    def commit(self, manifest: dict) -> dict:
        """Hash every staged file into `manifest["files"]`, move the files into OUT (replacing the
        previous export's files), then write manifest.json atomically. Returns the manifest."""
        files = self.staged_files()
        manifest = {"kind": MANIFEST_KIND, **manifest}
        manifest["files"] = [{"path": rel, "sha256": sha256_file(self.staging / rel),
                              "bytes": (self.staging / rel).stat().st_size} for rel in files]
        manifest_path = self.out / MANIFEST_NAME
        if manifest_path.exists():
            manifest_path.unlink()  # from here until the new one lands, OUT has no manifest
        emptied = set()
        for rel in self.previous:
            try:
                old = _inside(self.out, rel)
            except ExportError:
                continue  # an old manifest naming a path outside OUT: never follow it
            if old.is_file() or old.is_symlink():
                old.unlink()
                emptied.update(p for p in old.parents if p.is_relative_to(self.out) and p != self.out)
        for rel in files:
            dest = _inside(self.out, rel)
            dest.parent.mkdir(parents=True, exist_ok=True)
            if dest.is_dir() and not dest.is_symlink():
                raise ExportError(f"cannot replace folder {dest} with a file")
            os.replace(self.staging / rel, dest)
        tmp = self.out / f"{_STAGING_PREFIX}{MANIFEST_NAME}.tmp"
        tmp.write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n")
        os.replace(tmp, manifest_path)
        for d in sorted(emptied, key=lambda p: len(p.parts), reverse=True):
            if d.is_dir() and not d.is_symlink() and not any(d.iterdir()):
                d.rmdir()  # folders the previous export made and this one does not use
        shutil.rmtree(self.staging, ignore_errors=True)
        return manifest

    def abort(self) -> None:
        """Remove what this export staged (and OUT itself when this export created it empty)."""
        shutil.rmtree(self.staging, ignore_errors=True)
        tmp = self.out / f"{_STAGING_PREFIX}{MANIFEST_NAME}.tmp"
        try:
            tmp.unlink(missing_ok=True)
            if self._created and not any(self.out.iterdir()):
                self.out.rmdir()
        except OSError:
            pass  # cleaning up after a failure must not hide the failure's own message


def verify_manifest(out: str | Path) -> list[str]:
    """Problems found checking an export against its manifest (missing or changed files, files
    outside the manifest); empty when every sha256 matches."""
    out = Path(out)
    try:
        manifest = json.loads((out / MANIFEST_NAME).read_text())
    except (OSError, ValueError) as exc:
        return [f"{out / MANIFEST_NAME}: cannot read ({exc})"]
    problems, listed = [], set()
    for entry in manifest.get("files", []):
        rel = entry.get("path", "")
        listed.add(rel)
        try:
            path = _inside(out, rel)
        except ExportError as exc:
            problems.append(str(exc))
            continue
        if not path.is_file():
            problems.append(f"{rel}: missing")
        elif sha256_file(path) != entry.get("sha256"):
            problems.append(f"{rel}: sha256 differs from the manifest")
    for path in out.rglob("*"):
        rel = path.relative_to(out).as_posix()
        if path.is_file() and rel != MANIFEST_NAME and rel not in listed and not rel.startswith(_STAGING_PREFIX):
            problems.append(f"{rel}: not in the manifest")
    return problems
