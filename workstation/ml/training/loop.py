"""The active-learning loop's second half: run the newly trained model over the project through
the plugin host's `InferenceRunner` (a worker process, as for any plugin) and store the outputs as
the project's predictions. `Project.add_predictions` emits `predictions_changed`, which the live
metrics, the worklist and the orderings listen to."""
from __future__ import annotations

import threading
from typing import Callable

from workstation.core.project.records import PredictionRecord


def case_inputs(project, case_ids=None) -> list:
    """One runner input per case: its single file or folder by path (read in the worker); a case
    of several files is read here and passed as a volume."""
    from workstation.core.io import read_volume
    from workstation.plugin_host import CaseInput

    wanted = None if case_ids is None else set(case_ids)
    out = []
    for case in project.cases():
        if wanted is not None and case.case_id not in wanted:
            continue
        if len(case.paths) == 1:
            out.append(CaseInput(case.case_id, path=case.paths[0]))
        else:
            out.append(CaseInput(case.case_id, volume=read_volume(case.paths)))
    return out


def records_from(outcomes) -> list[PredictionRecord]:
    return [PredictionRecord(case_id=o.case_id, probabilities=o.prediction.probabilities.as_dict(),
                             plugin_id=o.plugin_id, plugin_version=o.plugin_version,
                             weights_sha256=o.weights_sha256, device=o.device, created_at=o.created_at)
            for o in outcomes if o.prediction.probabilities is not None]


def predict_project(project, plugin_id: str, checkpoint: str, device: str = "auto", case_ids=None,
                    progress: Callable[[float, int], None] | None = None, cancel: threading.Event | None = None,
                    runner=None):
    """Run `plugin_id` with `checkpoint` over the project's cases (all, or `case_ids`) and store the
    predictions. Returns the runner's JobReport (failures per case, never an exception per case)."""
    from workstation.plugin_host import InferenceRunner, JobSpec, usable_manifest

    spec = JobSpec(manifest=usable_manifest(plugin_id), cases=case_inputs(project, case_ids),
                   checkpoint=str(checkpoint), device=device)
    own = runner is None
    runner = runner or InferenceRunner()
    try:
        return runner.run(spec, lambda outcomes: project.add_predictions(records_from(outcomes)), progress,
                          cancel=cancel)
    finally:
        if own:
            runner.close()
