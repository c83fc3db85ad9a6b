"""Out-of-memory handling inside the worker, run in-process so the fake plugin can be inspected:
halve the batch, then move to the CPU, and tell the user each time."""
from __future__ import annotations

import threading

import fault_plugins as fp
from workstation.plugin_host import worker


class _Conn:
    def __init__(self):
        self.sent = []

    def send(self, message):
        self.sent.append(message)


def _state(device: str):
    state = worker._State(_Conn(), threading.Event())
    request = {"manifest": fp.manifest("oom").to_dict(), "checkpoint": None, "options": {}, "device": device}
    plugin = fp.OomAboveOne()
    plugin.load(device)
    state.plugin, state.load_request, state.device = plugin, request, device
    return state


def test_is_out_of_memory_recognises_torch_and_cpu_errors():
    assert worker.is_out_of_memory(fp.OutOfMemoryError("x"))
    assert worker.is_out_of_memory(RuntimeError("CUDA out of memory. Tried to allocate"))
    assert worker.is_out_of_memory(RuntimeError("[enforce fail at alloc_cpu.cpp] DefaultCPUAllocator: can't allocate memory"))
    assert worker.is_out_of_memory(MemoryError())
    assert not worker.is_out_of_memory(ValueError("bad shape"))


def test_halves_batch_then_falls_back_to_cpu(make_case):
    fp.OomAboveOne.calls.clear()
    state = _state("cuda")
    cases = [make_case(f"c{i}") for i in range(4)]
    state.conn.sent.clear()
    worker._predict(state, {"cases": cases})
    batch = state.conn.sent[-1]
    assert batch["type"] == "batch"
    assert [(i["case_id"], i["ok"], i["device"]) for i in batch["items"]] == [(f"c{i}", True, "cpu") for i in range(4)]
    # the CPU has its own memory, so the batch size starts afresh there
    assert fp.OomAboveOne.calls[:6] == [("cuda", 4), ("cuda", 2), ("cuda", 1), ("cpu", 4), ("cpu", 2), ("cpu", 1)]
    notices = [m["text"] for m in state.conn.sent if m["type"] == "notice"]
    assert "retrying with batch size 2" in notices[0] and "retrying with batch size 1" in notices[1]
    assert "continuing on the CPU" in notices[2]
    assert any(m["type"] == "loaded" and m["device"] == "cpu" for m in state.conn.sent)


def test_cpu_oom_at_batch_one_fails_the_image(make_case):
    state = _state("cpu")
    state.plugin.predict = lambda batch, progress, cancel: (_ for _ in ()).throw(MemoryError())
    worker._predict(state, {"cases": [make_case("a")]})
    item = state.conn.sent[-1]["items"][0]
    assert not item["ok"] and "MemoryError" in item["reason"]
