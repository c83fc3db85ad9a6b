"""Batch inference over an archive on Dask distributed: one task per chunk of images or series,
results in a Parquet dataset written in parts as tasks finish (resumable, deduplicated by key). No
Qt, no VTK. The names below load on first use, so that `workstation evaluate` reading a results
dataset (`batch.evaluation`) does not import the engine, its sources and the plugin host."""
from __future__ import annotations

__all__ = ["BatchError", "BatchReport", "BatchSpec", "read_results", "run_batch"]


def __getattr__(name: str):
    if name in ("BatchError", "BatchReport", "BatchSpec", "run_batch"):
        from workstation.batch import engine

        return getattr(engine, name)
    if name == "read_results":
        from workstation.batch.results import read_results

        return read_results
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
