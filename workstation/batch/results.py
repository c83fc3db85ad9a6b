"""The results dataset: a folder of Parquet files, one per completed chunk of tasks, each written
under a hidden temporary name and renamed into place (a killed run leaves whole parts or none;
readers skip names starting with "."). A row's `key` is (path, content hash, plugin, version,
weights): reading keeps one row per key, an "ok" row over a failed one, then the newest."""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

SCHEMA = pa.schema([
    ("key", pa.string()),
    ("case_id", pa.string()),
    ("path", pa.string()),
    ("content_hash", pa.string()),
    ("status", pa.string()),  # ok | failed
    ("reason", pa.string()),
    ("task", pa.string()),
    ("classes", pa.list_(pa.string())),
    ("scores", pa.list_(pa.float64())),  # probabilities in `classes` order
    ("prediction", pa.string()),  # JSON: {"probabilities": {...}, "candidates": [...]}
    ("image_shape", pa.list_(pa.int64())),
    ("plugin_id", pa.string()),
    ("plugin_version", pa.string()),
    ("weights_sha256", pa.string()),
    ("device", pa.string()),
    ("worker", pa.string()),
    ("created_at", pa.string()),
    ("task_s", pa.float64()),
])
COLUMNS = SCHEMA.names


class ResultsError(ValueError):
    """The results folder cannot be read or written; a one-line reason."""


def write_part(folder, rows: list[dict]) -> Path | None:
    if not rows:
        return None
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist([{c: row.get(c) for c in COLUMNS} for row in rows], schema=SCHEMA)
    name = f"part-{uuid.uuid4().hex}.parquet"
    tmp = folder / f".{name}.tmp"
    pq.write_table(table, tmp)
    with open(tmp, "rb") as handle:  # durable before it becomes visible
        os.fsync(handle.fileno())
    tmp.replace(folder / name)
    return folder / name


def parts(folder) -> list[Path]:
    folder = Path(folder)
    return sorted(p for p in folder.glob("part-*.parquet")) if folder.is_dir() else []


def read_table(folder, columns: list[str] | None = None) -> pa.Table:
    """All rows of all parts, not deduplicated (empty table with the schema when there are none)."""
    return _read(_files(folder), columns)


def _files(folder) -> list[Path]:
    path = Path(folder)
    if path.is_file():
        return [path]
    if path.is_dir():
        return parts(path)
    raise ResultsError(f"{folder}: no such results folder")


def _read(files: list[Path], columns: list[str] | None, dictionary: tuple[str, ...] = ()) -> pa.Table:
    wanted = columns or COLUMNS
    as_dictionary = [d for d in dictionary if d.split(".")[0] in wanted] or None
    tables = []
    for file in files:
        try:
            # ParquetFile, not read_table: that one imports pyarrow.dataset (a second or more of a
            # fresh `workstation evaluate`)
            with pq.ParquetFile(file, read_dictionary=as_dictionary) as handle:
                tables.append(handle.read(columns=wanted))
        except (OSError, pa.ArrowException) as exc:
            raise _unreadable(file, exc) from None
    if not tables:
        return SCHEMA.empty_table().select(wanted)
    return pa.concat_tables(tables, promote_options="default")


_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93,
                 0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53, 0x94D049BB133111EB, 0xBF58476D1CE4E5B9], dtype=np.uint64)


def _fingerprints(chunk: pa.Array) -> np.ndarray | None:
    """A 64-bit fingerprint of each 64-character key (the hex sha256 digests `row_key` makes): its
    eight 8-byte words, each times an odd constant, summed. None when a key is null or another
    length."""
    if chunk.null_count or not pa.types.is_string(chunk.type):
        return None
    if len(chunk) == 0:
        return np.zeros(0, np.uint64)
    _, offsets, data = chunk.buffers()
    ends = np.frombuffer(offsets, np.int32)[chunk.offset:chunk.offset + len(chunk) + 1]
    if (np.diff(ends) != 64).any():
        return None
    words = np.frombuffer(data, np.uint8)[ends[0]:ends[-1]].view(np.uint64).reshape(-1, 8)
    return words @ _MIX  # wraps modulo 2**64, as it should


def _unreadable(file, exc: Exception) -> ResultsError:
    return ResultsError(f"{file}: not a readable Parquet file ({str(exc).splitlines()[0]})")


def _keys_unique(files: list[Path]) -> bool:
    """Whether the parts' keys are all 64 hex digits with distinct fingerprints (so no key
    repeats), read 64k at a time: the key column of a million rows (64 MB) is never held, and
    the few MB of each batch are reused, not freshly paged in."""
    handles, n = [], 0
    try:
        for file in files:
            try:
                handles.append(pq.ParquetFile(file))
            except (OSError, pa.ArrowException) as exc:
                raise _unreadable(file, exc) from None
            n += handles[-1].metadata.num_rows
        prints, at = np.empty(n, np.uint64), 0
        for file, handle in zip(files, handles):
            try:
                for batch in handle.iter_batches(batch_size=1 << 16, columns=["key"]):
                    found = _fingerprints(batch.column(0))
                    if found is None:
                        return False
                    prints[at:at + len(found)] = found
                    at += len(found)
            except (OSError, pa.ArrowException) as exc:
                raise _unreadable(file, exc) from None
    finally:
        for handle in handles:
            handle.close()
    return _distinct(prints)


def _distinct(prints: np.ndarray) -> bool:
    ordered = np.sort(prints)
    return not (ordered[1:] == ordered[:-1]).any()


def unique_keys(keys: pa.ChunkedArray) -> bool:
    """Whether no key repeats. Hashing a million 64-character strings costs ~0.15 s here, sorting
    their 64-bit fingerprints a tenth of that: distinct fingerprints prove distinct keys; a
    repeated one (a key written twice, or keys not made by `row_key`) is settled on the strings."""
    import pyarrow.compute as pc

    prints = [_fingerprints(chunk) for chunk in keys.chunks]
    if all(p is not None for p in prints) and _distinct(np.concatenate(prints) if prints else np.zeros(0, np.uint64)):
        return True
    return len(pc.unique(keys)) == len(keys)


def dedupe(table: pa.Table) -> pa.Table:
    """One row per key: an ok row over a failed one, then the newest."""
    import pyarrow.compute as pc

    if table.num_rows == 0 or unique_keys(table["key"]):
        return table  # the usual case: nothing to drop, no sort

    order = pa.table({"key": table["key"], "ok": pc.equal(table["status"], "ok"),
                      "at": table["created_at"], "i": pa.array(range(table.num_rows))})
    order = order.sort_by([("key", "ascending"), ("ok", "descending"), ("at", "descending")])
    keys = order["key"].to_numpy(zero_copy_only=False)
    first = np.ones(len(keys), dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    keep = np.sort(order["i"].to_numpy()[first])
    return table.take(pa.array(keep))


def read_results(folder, columns: list[str] | None = None, dictionary: tuple[str, ...] = ()) -> pa.Table:
    """The deduplicated results. `columns`: only these (when no key repeats, which the keys'
    fingerprints tell, only these are read); `dictionary`: columns (or nested paths such as
    `classes.list.element`) to read as dictionary arrays, for few distinct values."""
    files = _files(folder)
    if columns is None:
        return dedupe(_read(files, None, dictionary))
    if "key" not in columns and _keys_unique(files):
        return _read(files, columns, dictionary)
    table = _read(files, list(dict.fromkeys(["key", "status", "created_at", *columns])), dictionary)
    return dedupe(table).select(columns)
