"""The export folder: safe names, containment, staging and the all-or-nothing finish.

Case ids and class names are untrusted (they become file names), so every name goes through
`safe_name` and every path through `OutputTree.path`, which refuses anything that would resolve
outside OUT (`..`, absolute paths, symlinks pointing out). The whole set, manifest.json included, is
written into a hidden staging folder beside OUT and swapped with OUT in one step (see OutputTree): a
failed or killed export (full disk, no permission, kill -9) leaves the previous set as it was.
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
    """Staged writing of a whole export set. Use `path(rel)` for every file, then `commit(manifest)`
    or `abort()`.

    The set is written into a hidden sibling folder of OUT and swapped with OUT in one rename
    (Linux `renameat2(RENAME_EXCHANGE)`; elsewhere two renames, with recovery on the next run), so a
    killed export leaves either the previous complete set or the new one, never a mix. A lock file
    beside OUT keeps two exports from writing the same OUT; whoever holds it removes staging folders
    left by killed runs."""

    def __init__(self, out: str | Path, force: bool = False) -> None:
        self.out = Path(out).expanduser().absolute()
        self.previous: list[str] = []
        self.force = force
        if self.out.exists() and not self.out.is_dir():
            raise ExportError(f"{self.out} exists and is not a folder")
        parent = self.out.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
            self._lock = _lock(parent / f".{self.out.name}.workstation-export.lock")
        except OSError as exc:
            raise ExportError(f"cannot write to {parent}: {describe_os_error(exc)}") from None
        try:
            self._recover()
            entries = sorted(p.name for p in self.out.iterdir()) if self.out.is_dir() else []
            entries = [e for e in entries if not e.startswith(_STAGING_PREFIX)]
            if entries and not force:
                raise ExportError(f"{self.out} is not empty; use --force to replace the export there")
            if entries:
                self.previous = self._previous_files()
            self.staging = parent / f"{self._sibling_prefix}{uuid.uuid4().hex[:12]}"
            self.staging.mkdir()
        except OSError as exc:
            self._unlock()
            raise ExportError(f"cannot write to {self.out}: {describe_os_error(exc)}") from None
        except BaseException:
            self._unlock()
            raise

    @property
    def _sibling_prefix(self) -> str:
        return f".{self.out.name}{_STAGING_PREFIX}"

    def _recover(self) -> None:
        """Under the lock: put back a set that a killed two-rename swap left aside, and remove every
        staging folder of killed runs."""
        parent = self.out.parent
        aside = sorted(parent.glob(f"{self._sibling_prefix}*-previous"))
        if not self.out.exists() and aside and (aside[-1] / MANIFEST_NAME).is_file():
            os.rename(aside[-1], self.out)
        for stale in parent.glob(f"{self._sibling_prefix}*"):
            if stale.is_dir() and not stale.is_symlink():
                shutil.rmtree(stale, ignore_errors=True)
        if self.out.is_dir():
            for stale in self.out.glob(f"{_STAGING_PREFIX}*"):  # left by versions that staged inside OUT
                if stale.is_dir() and not stale.is_symlink():
                    shutil.rmtree(stale, ignore_errors=True)
                elif stale.is_file():
                    stale.unlink(missing_ok=True)

    def _previous_files(self) -> list[str]:
        """Files listed by an earlier export's manifest here: they are replaced. Other files in OUT
        are carried into the new set (a forced export never deletes what it did not write)."""
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
        """Hash every staged file into `manifest["files"]`, write manifest.json into the staged set,
        carry over files of OUT that no export wrote, then swap the set into place. Returns the manifest."""
        try:
            return self._commit(manifest)
        finally:
            self._unlock()

    def _commit(self, manifest: dict) -> dict:
        files = self.staged_files()
        manifest = {"kind": MANIFEST_KIND, **manifest}
        manifest["files"] = [{"path": rel, "sha256": sha256_file(self.staging / rel),
                              "bytes": (self.staging / rel).stat().st_size} for rel in files]
        (self.staging / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n")
        if not self.out.exists():
            os.rename(self.staging, self.out)
            return manifest
        self._carry_foreign_files(set(files))
        if _exchange(self.staging, self.out):
            shutil.rmtree(self.staging, ignore_errors=True)  # now the previous set
        else:  # no atomic exchange here: two renames; a kill between them is undone by _recover
            aside = self.out.parent / f"{self.staging.name}-previous"
            os.rename(self.out, aside)
            os.rename(self.staging, self.out)
            shutil.rmtree(aside, ignore_errors=True)
        return manifest

    def _carry_foreign_files(self, new_files: set[str]) -> None:
        replaced = set(self.previous) | new_files | {MANIFEST_NAME}
        for path in self.out.rglob("*"):
            rel = path.relative_to(self.out).as_posix()
            if rel in replaced or rel.startswith(_STAGING_PREFIX) or path.is_dir() and not path.is_symlink():
                continue
            dest = self.staging / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            if path.is_symlink():
                os.symlink(os.readlink(path), dest)
                continue
            try:
                os.link(path, dest)
            except OSError:
                shutil.copy2(path, dest)

    def abort(self) -> None:
        """Remove what this export staged."""
        try:
            shutil.rmtree(self.staging, ignore_errors=True)
        finally:
            self._unlock()

    def _unlock(self) -> None:
        lock, self._lock = getattr(self, "_lock", None), None
        if lock is not None:
            _release(lock)


def _lock(path: Path):
    """An exclusive lock held while the returned file is open (released by the OS if killed). The
    file is removed on release (`_release`), so a finished export leaves nothing beside OUT; after
    locking, the path must still name the file locked, or another export removed it meanwhile."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; exports to one OUT must not overlap
        return None
    for _ in range(20):
        handle = open(path, "a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise ExportError(f"another export to {path.name[1:].removesuffix('.workstation-export.lock')} is "
                              f"running; wait for it to finish") from None
        try:
            if os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino:
                return handle
        except FileNotFoundError:
            pass
        handle.close()
    raise ExportError(f"cannot lock {path}")


def _release(handle) -> None:
    try:
        os.unlink(handle.name)
    except OSError:
        pass
    handle.close()


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders atomically (Linux renameat2 RENAME_EXCHANGE); False where that is not available."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EXDEV, errno.EBUSY, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def verify_manifest(out: str | Path) -> list[str]:
    """Problems found checking an export against its manifest (missing or changed files, files
    outside the manifest); empty when every sha256 matches."""
    out = Path(out)
    try:
        manifest = json.loads((out / MANIFEST_NAME).read_text())
    except (OSError, ValueError) as exc:
        return [f"{out / MANIFEST_NAME}: cannot read ({exc})"]
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), list):
        return [f"{out / MANIFEST_NAME}: not a workstation export manifest"]
    problems, listed = [], set()
    for entry in manifest["files"]:
        rel = entry.get("path", "") if isinstance(entry, dict) else ""
        if not isinstance(rel, str) or not rel:
            problems.append(f"{MANIFEST_NAME}: an entry without a path")
            continue
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


def missing_image(case_id: str, path) -> ExportError:
    """The one line for a case file that is not there (a PACS case added with --defer has its
    paths before its images)."""
    from workstation.core.pacs.cache import CACHE

    hint = "; retrieve it first: workstation pacs retrieve DIR --case " + case_id if CACHE in Path(path).parts else ""
    return ExportError(f"case {case_id!r}: image file {path} is missing{hint}")
