"""The densenet2d plugin object (imported on first use: it pulls in torch and MONAI)."""
from workstation.ml.classifier_plugin import DenseNetClassifier


class DenseNet2D(DenseNetClassifier):
    plugin_id = "densenet2d"
    dims = 2
    default_size = (224, 224)
