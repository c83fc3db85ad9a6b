"""Cerebral microbleed detector: stage 1 multiscale-LoG screening, stage 2 on a 20 mm patch around each
candidate: boosted trees on its physical measurements, its mirror image and its place in a
registered template (default) or a 3D patch CNN (after Dou et al.
2016), which also estimates the diameter. The shipped weights are trained on phantoms only. This module is the cheap manifest;
the model code is imported by the factory on first use."""
from workstation.plugin_api import InputSpec, PluginManifest

MANIFEST = PluginManifest(
    id="microbleeds",
    name="Cerebral microbleeds (phantom-trained)",
    version="1.0.0",
    kind="detector",
    task="detection",
    classes=("microbleed",),
    input=InputSpec(dims=3, channels=(1,), spacing=(1.0, 1.0, 1.0)),
    factory="plugins.microbleeds.detector:build",
    description="Two-stage detector for SWI/T2* volumes: a multiscale LoG screen, then boosted trees on "
                "44 physical measurements of a 20 mm patch around each candidate, its mirror image and "
                "its place in a registered MNI152 template (or a 3D patch CNN), the CNN estimating diameters. Trained on synthetic phantoms: retrain on real SWI "
                "before any clinical use.",
    devices=("cuda", "mps", "cpu"),
    batch_size=1,
)
