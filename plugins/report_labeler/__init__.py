"""Bundled report labeler: the 14 ChestX-ray14 findings plus "No Finding", mined from free-text
chest radiograph reports with a ConText-style rule engine (negation, uncertainty, scope).

Only the manifest lives here, so that discovery imports nothing else; the engine is in
`labeler.py` and is built by `create` on first use.
"""
from workstation.plugin_api import InputSpec, PluginManifest

from .vocabulary import FINDINGS, NO_FINDING

PLUGIN_ID = "report-labeler-cxr14"

MANIFEST = PluginManifest(
    id=PLUGIN_ID,
    name="Chest X-ray report labeler (ChestX-ray14 findings)",
    version="1.0.0",
    kind="report_labeler",
    task="multilabel",
    classes=FINDINGS + (NO_FINDING,),
    input=InputSpec(dims=2),  # the images the labels are for; the labeler itself reads report text
    factory="plugins.report_labeler.labeler:create",
    description="Rule-based (ConText) labels from report text: 1 present, 0 negated, -1 uncertain, "
                "for the findings a report mentions.",
    extra={"input": "text", "values": {"1": "present", "0": "negated", "-1": "uncertain"}},
)
