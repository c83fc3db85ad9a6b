"""The active-learning loop's second half: run a (newly trained) model over the project through
the plugin host (`InferenceRunner`, a worker process, as for any plugin) and store the outputs with
`ProjectSink`. `Project.add_predictions` emits `predictions_changed`, which the live metrics, the
worklist and its orderings listen to. (The GUI does the same through the model dock, which stores
results on the GUI thread.) It lives in the host, not in `ml`: training never runs plugins."""
from __future__ import annotations

import threading
from typing import Callable


def predict_project(project, plugin_id: str, checkpoint: str, device: str = "auto", which: str = "all",
                    case_ids: list[str] | None = None, progress: Callable[[float, int], None] | None = None,
                    cancel: threading.Event | None = None, runner=None):
    """Run `plugin_id` with `checkpoint` over the project's cases ("all", "unlabelled", or
    `case_ids`) and store the predictions. Returns the runner's JobReport (failures per case)."""
    from workstation.plugin_host import InferenceRunner, JobSpec, usable_manifest
    from workstation.plugin_host.project_sink import ProjectSink, case_inputs

    spec = JobSpec(manifest=usable_manifest(plugin_id), cases=case_inputs(project, which, case_ids),
                   checkpoint=str(checkpoint), device=device)
    own = runner is None
    runner = runner or InferenceRunner()
    try:
        return runner.run(spec, ProjectSink(project), progress, cancel=cancel)
    finally:
        if own:
            runner.close()
