"""Import this before any VTK Qt widget: it tells VTK's Qt bridge to use PySide6."""
import vtkmodules.qt

vtkmodules.qt.PyQtImpl = "PySide6"
