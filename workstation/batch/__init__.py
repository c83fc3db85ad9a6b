"""Batch inference over an archive on Dask distributed: one task per image or series, results in a
Parquet dataset written in parts as tasks finish (resumable, deduplicated by key). No Qt, no VTK."""
from workstation.batch.engine import BatchError, BatchReport, BatchSpec, run_batch
from workstation.batch.results import read_results

__all__ = ["BatchError", "BatchReport", "BatchSpec", "read_results", "run_batch"]
