"""The report labeler a command or a dock uses: an enabled `report_labeler` plugin, built and
loaded in this process (a labeler reads text: no model weights, no worker process needed).
It lives in the host because it discovers and builds plugins; `commands.mine_labels` and the
report dock both call it (qt never imports commands)."""
from __future__ import annotations

BUNDLED = "report-labeler-cxr14"


def load_labeler(plugin_id: str | None = None):
    """(labeler object, manifest) of an enabled report_labeler plugin (default: the bundled one,
    else the first installed); PluginNotFound / PluginUnavailable (one line) when there is none."""
    from workstation.plugin_host import discovery

    if plugin_id is None:
        labelers = [e for e in discovery.discover()
                    if e.manifest and not e.error and e.enabled and e.manifest.kind == "report_labeler"]
        if not labelers:
            raise discovery.PluginUnavailable("no enabled report_labeler plugin is installed")
        plugin_id = next((e.id for e in labelers if e.id == BUNDLED), labelers[0].id)
    manifest = discovery.usable_manifest(plugin_id)
    if manifest.kind != "report_labeler":
        raise discovery.PluginUnavailable(f"plugin {plugin_id!r} is a {manifest.kind}, not a report_labeler")
    labeler = discovery.load_factory(manifest)(checkpoint=None, options={})
    labeler.load("cpu")
    return labeler, manifest
