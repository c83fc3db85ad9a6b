"""The densenet3d plugin object (imported on first use: it pulls in torch and MONAI)."""
from workstation.ml.classifier_plugin import DenseNetClassifier


class DenseNet3D(DenseNetClassifier):
    plugin_id = "densenet3d"
    dims = 3
    default_size = (96, 96, 96)
    default_spacing = (2.0, 2.0, 2.0)
