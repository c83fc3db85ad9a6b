"""The demo: two review projects built from real runs, cached in `<data dir>/demo`.

1. `microbleeds/` — a detection project of SWI-like microbleed phantoms (`workstation.core.phantoms`,
   on the real MNI152 brain) whose candidates come from the `microbleeds` plugin run by the plugin
   host (`workstation infer`). When the plugin's trained weights are not shipped, nothing is run
   and the demo says so: no candidate is ever made up.
2. `chest-xrays/` — a binary project of the 16 real paediatric chest X-rays (`samples.chest_xrays`)
   with their folder names imported as `original` labels, and the predictions of a small DenseNet
   trained on them by `workstation train` (a workflow demonstration: 16 images say nothing about
   accuracy). If training fails, the project says that no model has run.

The model runs go through the real command line in a child process (`python -m workstation.cli
infer|train`), exactly what a user would type, which also keeps torch out of this core module.
Each finished step is recorded in `demo.json`; a second build only redoes what is missing or
stale (e.g. the detector's weights appeared since)."""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from workstation.core import resources, settings

FORMAT = 1
# what the demo builds is data: resources/demo/recipes.json
RECIPES = resources.read_json("demo", "recipes.json")
DETECTION, CLASSIFICATION = RECIPES["detection"], RECIPES["classification"]
PHANTOM_SEED = DETECTION["phantom_seed"]  # a series never used by the detector's training (1000) or held-out test (777)
DETECTION_DIR, CLASSIFICATION_DIR = DETECTION["folder"], CLASSIFICATION["folder"]
PLUGIN = DETECTION["plugin"]


class DemoError(Exception):
    """The demo could not be built; str() is one line."""


@dataclass
class DemoInfo:
    root: Path
    detection: Path
    classification: Path
    notes: list[str] = field(default_factory=list)
    state: dict = field(default_factory=dict)


def demo_dir() -> Path:
    return settings.data_dir() / "demo"


def shipped_weights() -> Path | None:
    """The microbleed plugin's shipped weights file, or None when it is not there."""
    try:
        spec = importlib.util.find_spec("plugins.microbleeds")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "weights" / "patchnet.pt"
    return path if path.is_file() else None


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _cli(args: list[str], log: Callable[[str], None], timeout_s: float) -> tuple[int, dict | None, str]:
    """Run `workstation ARGS --json` in a child process: (exit code, parsed JSON or None, last stderr line)."""
    cmd = [sys.executable, "-m", "workstation.cli", *args, "--json"]
    log("running: workstation " + " ".join(args))
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, env=os.environ.copy())
    except subprocess.TimeoutExpired:
        return 1, None, f"workstation {args[0]} took over {timeout_s:.0f} s"
    try:
        result = json.loads(proc.stdout) if proc.stdout.strip() else None
    except ValueError:
        result = None
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    return proc.returncode, result, (lines[-1] if lines else "")


class _State:
    def __init__(self, root: Path):
        self.path = root / "demo.json"
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            data = {}
        self.data = data if data.get("format") == FORMAT else {"format": FORMAT}

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=1))
        tmp.replace(self.path)


def build(root: Path | None = None, n_phantoms: int = 3, rebuild: bool = False, epochs: int = 8,
          log: Callable[[str], None] = lambda text: None, timeout_s: float = 1800) -> DemoInfo:
    """Build (or reuse) the demo projects under `root` (default `<data dir>/demo`)."""
    import shutil

    root = Path(root) if root else demo_dir()
    if rebuild and root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    state = _State(root)
    if state.data.get("n_phantoms") not in (None, n_phantoms):
        shutil.rmtree(root / DETECTION_DIR, ignore_errors=True)
        state.data = {"format": FORMAT}
    state.data["n_phantoms"] = n_phantoms
    info = DemoInfo(root, root / DETECTION_DIR, root / CLASSIFICATION_DIR, state=state.data)
    _detection_project(root, state, n_phantoms, log, timeout_s)
    _classification_project(root, state, epochs, log, timeout_s)
    state.save()
    info.notes = list(state.data.get("detection", {}).get("notes", [])) + \
        list(state.data.get("classification", {}).get("notes", []))
    return info


# ---- the microbleed detection project ------------------------------------------------------------
def _detection_project(root: Path, state: _State, n: int, log, timeout_s: float) -> None:
    from workstation.core.phantoms import make_phantom, write_phantom
    from workstation.core.project import Project

    folder = root / DETECTION_DIR
    step = state.data.setdefault("detection", {})
    weights = shipped_weights()
    sha = _sha256(weights) if weights else None
    # New weights give new candidate ids: decisions on the old ones must not carry over, so the
    # project starts again (the phantoms are regenerated identically from their seed).
    stale = "weights_sha256" in step and step["weights_sha256"] != sha
    if stale or not step.get("cases") or not Project.is_project_dir(folder):
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
        step.clear()
        images = root / "phantoms"
        items = []
        for index in range(n):
            name = f"phantom_s{PHANTOM_SEED}_{index:03d}"
            log(f"phantom {index + 1}/{n}: {name}")
            truth = write_phantom(make_phantom(PHANTOM_SEED, index, resolution=DETECTION["resolution"]), images, name)
            items.append({"paths": [str(images / truth["image"])], "case_id": name,
                          "metadata": {"truth": str(images / f"{name}.json"),
                                       "template_from_world": truth["template_from_world"],
                                       "phantom_lesions": len(truth["lesions"])}})
        project = Project.create(folder, DETECTION["task"], DETECTION["classes"])
        try:
            project.add_cases(items)
        finally:
            project.close()
        step["cases"] = [item["case_id"] for item in items]
        state.save()

    if step.get("weights_sha256") == sha and step.get("ran") is not None:
        return  # done with these weights (or known to be missing)
    step["weights_sha256"], step["notes"] = sha, []
    if weights is None:
        note = ("The microbleed detector's trained weights are not shipped in this build "
                "(plugins/microbleeds/weights/patchnet.pt is missing), so the detector has not run: "
                "the phantoms have no candidates. `workstation demo` runs it once the weights exist.")
        step["ran"] = False
        step["notes"].append(note)
        _note_cases(folder, note)
        state.save()
        return
    code, result, last = _cli(["infer", str(folder), "--plugin", PLUGIN], log, timeout_s)
    stored = (result or {}).get("stored", 0)
    step["ran"] = True if code == 0 and stored else None  # None: the next build tries again
    step["infer"] = result
    if code != 0 or not stored:
        reason = (result or {}).get("error") or last or f"exit status {code}"
        note = f"The microbleed detector run failed ({reason}); no candidates are shown."
        step["notes"].append(note)
        _note_cases(folder, note)
    else:
        _note_cases(folder, None)
    state.save()


def _note_cases(folder: Path, note: str | None) -> None:
    from workstation.core.project import Project

    project = Project.open(folder)
    try:
        for case_id in project.case_ids():
            project.update_case_metadata(case_id, {"note": note})
    finally:
        project.close()


# ---- the chest X-ray classification project -------------------------------------------------------
def _classification_project(root: Path, state: _State, epochs: int, log, timeout_s: float) -> None:
    from workstation.core.io import samples
    from workstation.core.project import Project

    folder = root / CLASSIFICATION_DIR
    step = state.data.setdefault("classification", {})
    if not step.get("cases") or not Project.is_project_dir(folder):
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
        step.clear()
        log("chest X-rays: preparing the 16 samples (fetched once with pip)")
        try:
            source = samples.chest_xrays()
        except samples.SampleError as exc:
            raise DemoError(f"chest X-rays unavailable: {exc}") from None
        files = sorted(source.glob("*/*.jpeg"))
        project = Project.create(folder, CLASSIFICATION["task"], CLASSIFICATION["classes"])
        try:
            cases = project.add_cases([{"paths": [str(f)], "case_id": f.stem,
                                        "metadata": {"source": CLASSIFICATION["source"]}}
                                       for f in files])
            for f, case in zip(files, cases):
                project.set_label(case.case_id, f.parent.name.lower(), reader="import", tag="original",
                                  action="import", undoable=False, note=f"folder {f.parent.name}")
        finally:
            project.close()
        step["cases"] = [c.case_id for c in cases]
        state.save()
    if step.get("trained") is not None:
        return
    step["notes"] = []
    code, result, last = _cli(["train", str(folder), "--plugin", "densenet2d", "--truth", "original", "--tiny",
                               "--epochs", str(epochs), "--seed", "0", "--threads", "1"], log, timeout_s)
    stored = ((result or {}).get("inference") or {}).get("stored", 0)
    step["train"] = {k: (result or {}).get(k) for k in ("checkpoint", "sha256", "best_epoch", "val_auc", "test_auc")}
    step["trained"] = code == 0 and bool(stored)
    if not step["trained"]:
        note = (f"No model has run on the chest X-rays: training failed ({last or f'exit status {code}'}); "
                "the worklist shows the imported folder labels only.")
        step["notes"].append(note)
    state.save()
