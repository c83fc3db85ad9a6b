"""Screen reading for the candidate review tests."""
import numpy as np


def grab(widget) -> np.ndarray:
    from PySide6.QtGui import QImage

    image = widget.screen().grabWindow(widget.winId()).toImage().convertToFormat(QImage.Format_RGB888)
    w, h = image.width(), image.height()
    buf = np.frombuffer(image.constBits(), dtype=np.uint8, count=image.sizeInBytes())
    return buf.reshape(h, image.bytesPerLine())[:, : w * 3].reshape(h, w, 3).copy()
