"""Running the CLI in a subprocess with a memory limit, and attributing batched output to files."""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

MEMORY_LIMIT = 3 * 1024 ** 3  # address space of every CLI run: a bomb must be refused within it
HANG_TIMEOUT = 120  # seconds before a run counts as hung (not a speed limit: a hang detector)
BATCH = 60


@dataclass
class Run:
    args: list
    rc: int | None
    out: str
    err: str
    timed_out: bool = False

    @property
    def text(self) -> str:
        return self.out + self.err

    def tail(self, n=1500) -> str:
        return f"$ workstation {' '.join(map(str, self.args))}\nrc={self.rc}" \
               f"{' (hung)' if self.timed_out else ''}\n--- stdout\n{self.out[-n:]}\n--- stderr\n" \
               f"{self.err[-n:]}"


PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 24, 1, 2


def drop_file_permission_override() -> None:
    """Make a root process honour file modes: drop the two capabilities that let root read
    anything from the bounding set, so the exec'd program never regains them (Linux)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _limits(honour_modes: bool):
    def apply():
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
        if honour_modes and os.geteuid() == 0:
            drop_file_permission_override()
    return apply


def cli(*args, timeout=HANG_TIMEOUT, honour_modes=False, env=None, cwd=None) -> Run:
    cmd = [sys.executable, "-m", "workstation.cli", *map(str, args)]
    full_env = dict(os.environ)
    full_env.update(env or {})
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=timeout, preexec_fn=_limits(honour_modes),
                           env=full_env, cwd=cwd, stdin=subprocess.DEVNULL)
        return Run(list(args), p.returncode, p.stdout.decode("utf-8", "replace"),
                   p.stderr.decode("utf-8", "replace"))
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode("utf-8", "replace")
        err = (e.stderr or b"").decode("utf-8", "replace")
        return Run(list(args), None, out, err, timed_out=True)


def parse_json(text: str):
    """The JSON value printed, or raise ValueError (anything else on stdout is a defect)."""
    return json.loads(text)


def crashed(run: Run) -> str | None:
    """Why the run looks like a crash rather than a clean answer, or None."""
    if run.timed_out:
        return "hung (no answer within the hang timeout)"
    if "Traceback (most recent call last)" in run.text:
        return "traceback"
    if "MemoryError" in run.text:
        return "MemoryError"
    if run.rc is not None and run.rc < 0:
        return f"killed by signal {-run.rc}"
    return None


# ----------------------------------------------------------------------------- workstation info

@dataclass
class InfoOutcome:
    path: Path
    rc: int | None  # the file's own status (2 when it has a refusal line)
    lines: list  # stderr lines about this file
    records: list  # JSON records about this file
    crash: str | None
    stdout_is_json: bool
    alone: bool  # measured in a run of its own
    run: Run = field(repr=False, default=None)
    refused: list | None = None  # its entries in the JSON "refused" list (None: no such list)

    def describe(self) -> str:
        return self.run.tail() if self.run else ""


def _owner(line_or_path: str, paths: list[str]) -> str | None:
    best = None
    for p in paths:
        if line_or_path == p or line_or_path.startswith(p + ":") or line_or_path.startswith(
                p + os.sep):
            if best is None or len(p) > len(best):
                best = p
    return best


def _info_json(text: str):
    """(records, refused paths or None) from ``info --json``; raise ValueError if not JSON."""
    value = parse_json(text)
    if isinstance(value, list):  # the format before issue 12
        return value, None
    if isinstance(value, dict) and isinstance(value.get("images"), list):
        refused = value.get("refused")
        return value["images"], [str(r.get("path")) for r in refused or [] if isinstance(r, dict)]
    raise ValueError("neither a list nor {'images': [...]}")


def info_alone(path: Path) -> InfoOutcome:
    run = cli("info", "--json", path)
    lines = [ln for ln in run.err.splitlines() if ln.strip()]
    records, refused, is_json = [], None, True
    if run.out.strip():
        try:
            records, refused = _info_json(run.out)
        except ValueError:
            is_json = False
    return InfoOutcome(path, run.rc, lines, records, crashed(run), is_json, True, run, refused)


def _attribute(chunk: list[Path], results: dict) -> None:
    names = [str(p) for p in chunk]
    run = cli("info", "--json", *names)
    clean = crashed(run) is None and run.rc in (0, 2)
    per_lines = {n: [] for n in names}
    per_records = {n: [] for n in names}
    per_refused = {n: [] for n in names}
    if clean:
        try:
            records, refused = _info_json(run.out)
        except ValueError:
            clean = False
    if clean:
        prefix = "workstation info: "
        for ln in run.err.splitlines():
            if not ln.strip():
                continue
            owner = _owner(ln[len(prefix):], names) if ln.startswith(prefix) else None
            if owner is None:
                clean = False
                break
            per_lines[owner].append(ln)
        for rec in records:
            owner = _owner(str(rec.get("path", "")), names)
            if owner is None:
                clean = False
                break
            per_records[owner].append(rec)
        for r in refused or []:
            owner = _owner(r, names)
            if owner is not None:
                per_refused[owner].append(r)
    if not clean:
        if len(chunk) == 1:
            results[chunk[0]] = info_alone(chunk[0])
            return
        half = len(chunk) // 2  # bisect: the file that spoils a batch is found in log2 runs
        _attribute(chunk[:half], results)
        _attribute(chunk[half:], results)
        return
    for p, n in zip(chunk, names):
        if per_lines[n] or per_records[n]:
            results[p] = InfoOutcome(p, 2 if per_lines[n] else 0, per_lines[n], per_records[n],
                                     None, True, False, run,
                                     per_refused[n] if refused is not None else None)
        else:  # silent about this file: ask about it alone
            results[p] = info_alone(p)


def info_many(paths: list[Path], batch=BATCH) -> dict[Path, InfoOutcome]:
    """Outcome per file. A batch whose output cannot be attributed line by line (noise on
    stderr, a crash, non-JSON stdout) is bisected down to the file that spoils it, so every
    verdict is the file's own."""
    results: dict[Path, InfoOutcome] = {}
    for start in range(0, len(paths), batch):
        _attribute(paths[start:start + batch], results)
    return results


def project_state(project: Path) -> dict:
    """What `project status --json` and `project cases --json` say (compared before/after)."""
    status = cli("project", "status", project, "--json")
    cases = cli("project", "cases", project, "--json")
    assert status.rc == 0 and cases.rc == 0, status.tail() + cases.tail()
    return {"status": json.loads(status.out), "cases": json.loads(cases.out)}
