"""A worker's task thread keeps the memory of one batch for the next: glibc's arena of a thread
that is not the main one is made of heaps of at most 64 MB, and without the top pad that
`tasks._keep_freed_memory` sets, a batch needing more than one heap got a fresh heap mapped (and
page-faulted in) every time and unmapped after."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

ROUNDS = r"""
import ctypes, json, resource, threading
from workstation.batch import tasks

libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
faults = []

def task_thread():
    tasks._keep_freed_memory()
    for _ in range(5):  # five "batches" of 96 MB of 12 MB activations, all freed after
        before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
        blocks = [libc.malloc(12 << 20) for _ in range(8)]
        for block in blocks:
            libc.memset(block, 1, 12 << 20)
        for block in blocks:
            libc.free(block)
        faults.append(resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before)

thread = threading.Thread(target=task_thread)
thread.start()
thread.join()
print(json.dumps(faults))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator (Linux)")
def test_a_task_thread_reuses_its_heaps_from_batch_to_batch():
    # as a Dask nanny starts its workers
    env = {"MALLOC_TRIM_THRESHOLD_": "65536", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", ROUNDS], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    faults = json.loads(done.stdout)
    assert faults[0] > 20_000  # the first batch touches its 96 MB (4 kB pages)
    assert max(faults[1:]) < 100, faults  # the later ones find them in place (9,217 each without the pad)
