"""Shared test setup: settings and data folders isolated per test session."""
import os
import tempfile

_session_tmp = tempfile.mkdtemp(prefix="workstation-tests-")
os.environ.setdefault("WORKSTATION_CONFIG_DIR", os.path.join(_session_tmp, "config"))
os.environ.setdefault("WORKSTATION_DATA_DIR", os.path.join(_session_tmp, "data"))
