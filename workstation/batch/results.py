"""The results dataset: a folder of Parquet files, one per completed chunk of tasks, each written
under a hidden temporary name and renamed into place (a killed run leaves whole parts or none;
readers skip names starting with "."). A row's `key` is (path, content hash, plugin, version,
weights): reading keeps one row per key, an "ok" row over a failed one, then the newest."""
from __future__ import annotations

import os
import uuid
from pathlib import Path

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
    path = Path(folder)
    if path.is_file():
        files = [path]
    elif path.is_dir():
        files = parts(path)
    else:
        raise ResultsError(f"{folder}: no such results folder")
    wanted = columns or COLUMNS
    tables = []
    for file in files:
        try:
            tables.append(pq.read_table(file, columns=wanted))
        except (OSError, pa.ArrowException) as exc:
            raise ResultsError(f"{file}: not a readable Parquet file ({str(exc).splitlines()[0]})") from None
    if not tables:
        return SCHEMA.empty_table().select(wanted)
    return pa.concat_tables(tables, promote_options="default")


def dedupe(table: pa.Table) -> pa.Table:
    """One row per key: an ok row over a failed one, then the newest."""
    import pyarrow.compute as pc

    if table.num_rows == 0 or len(pc.unique(table["key"])) == table.num_rows:
        return table  # the usual case: nothing to drop, no sort

    order = pa.table({"key": table["key"], "ok": pc.equal(table["status"], "ok"),
                      "at": table["created_at"], "i": pa.array(range(table.num_rows))})
    order = order.sort_by([("key", "ascending"), ("ok", "descending"), ("at", "descending")])
    keys = order["key"].to_numpy(zero_copy_only=False)
    import numpy as np

    first = np.ones(len(keys), dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    keep = np.sort(order["i"].to_numpy()[first])
    return table.take(pa.array(keep))


def read_results(folder, columns: list[str] | None = None) -> pa.Table:
    """The deduplicated results."""
    cols = None if columns is None else list(dict.fromkeys(["key", "status", "created_at", *columns]))
    table = dedupe(read_table(folder, cols))
    return table if columns is None else table.select(columns)
