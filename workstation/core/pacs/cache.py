"""A project's local copy of PACS series: `<project>/pacs_cache/<study>/<series>/<sop>.dcm`.

A series is fetched into `pacs_cache/.staging/<series>/`, each instance written to a temporary name
and renamed once whole, and the folder is moved into the cache only when every instance the server
listed has arrived, so the cache never holds half a series that looks whole. A cut-off transfer
leaves its instances in staging, and a retry fetches only the rest."""
from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

from workstation.core.pacs.client import connect
from workstation.core.pacs.errors import PacsError, TransferCancelled
from workstation.core.pacs.locks import named_lock
from workstation.core.pacs.nodes import Node

CACHE = "pacs_cache"
Progress = Callable[[float, str], None]
_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")


@dataclass
class Fetched:
    series_uid: str
    folder: Path
    instances: int
    reused: int = 0            # instances already in staging from an earlier, cut-off try
    from_cache: bool = False


@dataclass
class FetchPlan:
    study_uid: str
    series: list[str] = field(default_factory=list)   # empty: every series of the study


def _check_uid(uid: str, what: str) -> str:
    if not _UID.match(uid or "") or len(uid) > 64:
        raise PacsError(f"{what} {uid!r} is not a DICOM UID")
    return uid


def cache_root(project_dir) -> Path:
    return Path(project_dir) / CACHE


def pixel_problem(ds) -> str | None:
    """Why the instance's pixel data cannot be whole, or None. A server may serve a file that was cut
    short in its storage; pydicom reads such a file without complaint, so check the length (native
    transfer syntaxes) or decode it (compressed ones)."""
    if "PixelData" not in ds:
        return None
    try:
        syntax = ds.file_meta.TransferSyntaxUID
        if syntax.is_encapsulated:
            ds.pixel_array  # noqa: B018 - decoding is the check
            return None
        frames = int(ds.get("NumberOfFrames") or 1)
        expected = int(ds.Rows) * int(ds.Columns) * int(ds.get("SamplesPerPixel", 1)) * frames
        expected = expected * int(ds.BitsAllocated) // 8
        have = len(ds.PixelData)
    except Exception as exc:  # noqa: BLE001 - any failure here means the pixels are unusable
        return f"pixel data unreadable: {type(exc).__name__}"
    if have < expected:
        return f"pixel data {have} of {expected} bytes"
    return None


def _write_instance(ds, folder: Path, expected: set[str], series_uid: str) -> str:
    sop = str(ds.get("SOPInstanceUID", ""))
    if sop not in expected or str(ds.get("SeriesInstanceUID", "")) != series_uid:
        raise PacsError(f"the server sent instance {sop or '(no UID)'}, which is not one of series {series_uid}")
    problem = pixel_problem(ds)
    if problem:
        raise PacsError(f"the server sent a broken instance {sop} ({problem}); nothing of it was kept")
    buffer = BytesIO()
    try:
        ds.save_as(buffer, enforce_file_format=True)
    except Exception as exc:
        raise PacsError(f"the server sent a broken instance {sop} ({type(exc).__name__})") from None
    tmp = folder / f".{sop}.part"
    tmp.write_bytes(buffer.getvalue())
    os.replace(tmp, folder / f"{sop}.dcm")
    return sop


def _nothing():
    yield from ()


def fetch_series(node: Node, study_uid: str, series_uid: str, project_dir, progress: Progress | None = None,
                 cancel: Callable[[], bool] | None = None, remote=None) -> Fetched:
    """One series into the project's cache (see the module's docstring); raises PacsError."""
    _check_uid(study_uid, "study"), _check_uid(series_uid, "series")
    root = cache_root(project_dir)
    final = root / study_uid / series_uid
    with named_lock(f"series:{final.resolve()}"):  # a prefetch and a fetch of the same series wait in turn
        return _fetch_series(node, study_uid, series_uid, root, final, progress, cancel, remote)


def _fetch_series(node, study_uid, series_uid, root: Path, final: Path, progress, cancel, remote) -> Fetched:
    if final.is_dir() and any(final.glob("*.dcm")):
        return Fetched(series_uid, final, len(list(final.glob("*.dcm"))), from_cache=True)
    own = remote is None
    remote = remote or connect(node)
    try:
        listed = remote.list_instances(study_uid, series_uid)
        staging = root / ".staging" / series_uid
        staging.mkdir(parents=True, exist_ok=True)
        have = {p.stem for p in staging.glob("*.dcm")} & set(listed)
        wanted = [uid for uid in listed if uid not in have]
        done = len(have)
        # closed at once, not when the traceback goes: a cut-off stream holds an association,
        # a listening C-MOVE port and its lock
        with closing(remote.retrieve(study_uid, series_uid, wanted) if wanted else _nothing()) as stream:
            for ds in stream:
                if cancel and cancel():
                    raise TransferCancelled(f"cancelled; {done} of {len(listed)} instance(s) of series "
                                            f"{series_uid} kept in staging for a retry")
                _write_instance(ds, staging, set(wanted), series_uid)
                done += 1
                if progress:
                    progress(done / len(listed), f"series {series_uid}: {done}/{len(listed)}")
        missing = set(listed) - {p.stem for p in staging.glob("*.dcm")}
        if missing:
            raise PacsError(f"{node.name}: the transfer of series {series_uid} ended with "
                            f"{len(missing)} of {len(listed)} instance(s) missing; run it again to resume")
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging, final)  # whole, or not in the cache at all
        return Fetched(series_uid, final, len(listed), reused=len(have))
    finally:
        if own:
            remote.close()


def series_of(node: Node, plan: FetchPlan, remote) -> list[str]:
    _check_uid(plan.study_uid, "study")
    for uid in plan.series:
        _check_uid(uid, "series")
    found = [str(d.get("SeriesInstanceUID", "")) for d in remote.find_series(plan.study_uid)]
    if not found:
        raise PacsError(f"{node.name}: no study {plan.study_uid} on the server (or it has no series)")
    unknown = [uid for uid in plan.series if uid not in found]
    if unknown:
        raise PacsError(f"{node.name}: study {plan.study_uid} has no series {unknown[0]}")
    return list(plan.series) or found


def fetch(node: Node, plan: FetchPlan, project_dir, progress: Progress | None = None,
          cancel: Callable[[], bool] | None = None) -> list[Fetched]:
    """Every series of `plan` into the cache; all of them arrive whole or the call raises."""
    remote = connect(node)
    try:
        uids = series_of(node, plan, remote)
        results = []
        for n, uid in enumerate(uids):
            def step(fraction, text, n=n):
                if progress:
                    progress((n + fraction) / len(uids), text)
            results.append(fetch_series(node, plan.study_uid, uid, project_dir, step, cancel, remote=remote))
        return results
    finally:
        remote.close()


def discard_staging(project_dir) -> None:
    shutil.rmtree(cache_root(project_dir) / ".staging", ignore_errors=True)
