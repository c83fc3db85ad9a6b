"""--pretrained: torchvision densenet121 ImageNet state dicts mapped onto MONAI's DenseNet121, and
our own checkpoints; `features` leaves the backbone untouched, `finetune` trains it slower."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from workstation.core.volume import Volume
from workstation.ml.training import PretrainedError, TrainConfig, load_pretrained, train

from training_shapes import make_shapes_project


def torchvision_densenet121_state(old_names: bool = False, seed: int = 0) -> dict:
    """A state dict with torchvision's densenet121 names and shapes (written from torchvision's
    layer layout: growth 32, bottleneck 4 x 32, 64 initial features, blocks 6-12-24-16)."""
    g = torch.Generator().manual_seed(seed)
    state = {}

    def bn(prefix, c):
        state[f"{prefix}.weight"] = torch.rand(c, generator=g) + 0.5
        state[f"{prefix}.bias"] = torch.randn(c, generator=g) * 0.1
        state[f"{prefix}.running_mean"] = torch.randn(c, generator=g) * 0.1
        state[f"{prefix}.running_var"] = torch.rand(c, generator=g) + 0.5
        if not old_names:
            state[f"{prefix}.num_batches_tracked"] = torch.tensor(0)

    def conv(name, out, inp, k):
        state[name] = torch.randn(out, inp, k, k, generator=g) * (2.0 / (inp * k * k)) ** 0.5

    conv("features.conv0.weight", 64, 3, 7)
    bn("features.norm0", 64)
    channels, sep = 64, "." if old_names else ""
    for block, layers in enumerate((6, 12, 24, 16), start=1):
        for layer in range(1, layers + 1):
            prefix = f"features.denseblock{block}.denselayer{layer}"
            bn(f"{prefix}.norm{sep}1", channels + (layer - 1) * 32)
            conv(f"{prefix}.conv{sep}1.weight", 128, channels + (layer - 1) * 32, 1)
            bn(f"{prefix}.norm{sep}2", 128)
            conv(f"{prefix}.conv{sep}2.weight", 32, 128, 3)
        channels += layers * 32
        if block < 4:
            bn(f"features.transition{block}.norm", channels)
            conv(f"features.transition{block}.conv.weight", channels // 2, channels, 1)
            channels //= 2
    bn("features.norm5", channels)
    state["classifier.weight"] = torch.randn(1000, channels, generator=g) * 0.01
    state["classifier.bias"] = torch.zeros(1000)
    return state


class PickledObject:
    pass


@pytest.mark.parametrize("old_names", [False, True])
def test_torchvision_densenet121_maps_onto_monai(tmp_path, old_names):
    from monai.networks.nets import DenseNet121

    source = torchvision_densenet121_state(old_names)
    path = tmp_path / "densenet121_imagenet.pth"
    torch.save(source, path)
    pre = load_pretrained(path, "densenet2d")
    assert pre.source == "torchvision-densenet121" and pre.architecture["in_channels"] == 3
    assert pre.preprocessing["mean"] == [0.485, 0.456, 0.406] and pre.preprocessing["size"] == [224, 224]
    net = DenseNet121(spatial_dims=2, in_channels=3, out_channels=1000)
    missing, unexpected = net.load_state_dict(pre.state_dict, strict=False)
    assert unexpected == [] and all(k.endswith("num_batches_tracked") for k in missing)
    sep = "." if old_names else ""
    assert torch.equal(net.features.denseblock3.denselayer24.layers.conv2.weight,
                       source[f"features.denseblock3.denselayer24.conv{sep}2.weight"])
    assert torch.equal(net.class_layers.out.weight, source["classifier.weight"])
    assert torch.equal(net.features.transition2.norm.running_var, source["features.transition2.norm.running_var"])


def test_unusable_files_are_refused(tmp_path):
    other = tmp_path / "other.pt"
    torch.save({"encoder.weight": torch.zeros(3)}, other)
    with pytest.raises(PretrainedError, match="neither a workstation checkpoint nor a torchvision densenet121"):
        load_pretrained(other, "densenet2d")
    imagenet = tmp_path / "imagenet.pth"
    torch.save(torchvision_densenet121_state(), imagenet)
    with pytest.raises(PretrainedError, match="fit densenet2d, not densenet3d"):
        load_pretrained(imagenet, "densenet3d")
    broken = torchvision_densenet121_state()
    del broken["features.denseblock2.denselayer3.conv1.weight"]
    torch.save(broken, tmp_path / "broken.pth")
    with pytest.raises(PretrainedError, match="does not fit MONAI DenseNet121"):
        load_pretrained(tmp_path / "broken.pth", "densenet2d")
    torch.save({"x": PickledObject()}, tmp_path / "code.pt")  # pickled objects are never unpickled
    with pytest.raises(PretrainedError, match="weights_only"):
        load_pretrained(tmp_path / "code.pt", "densenet2d")


def test_features_mode_on_imagenet_weights_trains_only_the_head(tmp_path):
    from plugins.densenet2d.plugin import DenseNet2D

    imagenet = tmp_path / "imagenet.pth"
    source = torchvision_densenet121_state()
    torch.save(source, imagenet)
    project = make_shapes_project(tmp_path / "p", 12, classes=("hbar", "vbar"), per_patient=1)
    result = train(project, TrainConfig(mode="features", pretrained=str(imagenet), epochs=1, size=(32, 32),
                                        batch_size=4, device="cpu", augment=False, splits=(0.5, 0.25, 0.25),
                                        out=str(tmp_path / "run")))
    saved = torch.load(result.checkpoint, weights_only=True)
    assert saved["architecture"]["name"] == "DenseNet121" and saved["architecture"]["in_channels"] == 3
    assert saved["preprocessing"]["std"] == [0.229, 0.224, 0.225]
    state = saved["state_dict"]
    for tv_key, monai_key in [("features.conv0.weight", "features.conv0.weight"),
                              ("features.denseblock4.denselayer16.conv2.weight",
                               "features.denseblock4.denselayer16.layers.conv2.weight"),
                              ("features.norm5.running_mean", "features.norm5.running_mean")]:
        assert torch.equal(state[monai_key], source[tv_key]), f"{monai_key} changed in features mode"
    assert state["class_layers.out.weight"].shape == (1, 1024)
    assert result.card["pretrained"]["source"] == "torchvision-densenet121"
    plugin = DenseNet2D(checkpoint=result.checkpoint)
    plugin.load("cpu")
    grey = Volume(np.random.default_rng(0).integers(0, 255, (1, 50, 40)).astype(np.uint8))
    assert np.isclose(plugin.predict([grey])[0].probabilities.values.sum(), 1.0)


def test_finetune_from_our_checkpoint_with_other_classes(tmp_path):
    source = make_shapes_project(tmp_path / "src", 18, classes=("hbar", "vbar", "disc"), task="multiclass")
    first = train(source, TrainConfig(tiny=True, size=(32, 32), epochs=1, device="cpu", augment=False,
                                      out=str(tmp_path / "src-run")))
    target = make_shapes_project(tmp_path / "tgt", 16, classes=("square", "disc"), seed=4)
    result = train(target, TrainConfig(mode="finetune", pretrained=first.checkpoint, epochs=1, size=(32, 32),
                                       device="cpu", augment=False, lr=1e-2, out=str(tmp_path / "run")))
    groups = {g["name"]: g["lr"] for g in result.card["settings"]["parameter_groups"]}
    assert groups == {"backbone": pytest.approx(1e-3), "head": 1e-2}
    assert result.card["pretrained"]["source_classes"] == ["hbar", "vbar", "disc"]
    before = torch.load(first.checkpoint, weights_only=True)["state_dict"]
    after = torch.load(result.checkpoint, weights_only=True)["state_dict"]
    assert not torch.equal(before["features.conv0.weight"], after["features.conv0.weight"])  # finetuned
    assert after["class_layers.out.weight"].shape[0] == 1
