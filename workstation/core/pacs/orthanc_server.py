"""A private Orthanc (Debian packages `orthanc` and `orthanc-dicomweb`) on free 127.0.0.1 ports, with
its configuration and storage in a folder of ours: the tests, the benchmark and the demo use it.
The system service is never touched."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import requests

DICOMWEB_PLUGIN = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def available() -> str | None:
    """None when Orthanc and its DICOMweb plugin are installed, else what is missing."""
    if shutil.which("Orthanc") is None:
        return "Orthanc is not installed (apt-get install orthanc)"
    if not Path(DICOMWEB_PLUGIN).exists():
        return f"{DICOMWEB_PLUGIN} is missing (apt-get install orthanc-dicomweb)"
    return None


class OrthancServer:
    def __init__(self, folder, users: dict[str, str] | None = None, aet: str = "ORTHANC",
                 modalities: dict[str, tuple[str, int]] | None = None) -> None:
        self.folder = Path(folder)
        self.users = users or {}
        self.aet = aet
        self.modalities = modalities or {}
        self.http_port = free_port()
        self.dicom_port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def dicomweb_url(self) -> str:
        return f"{self.url}/dicom-web"

    @property
    def dimse_url(self) -> str:
        return f"dimse://{self.aet}@127.0.0.1:{self.dicom_port}"

    @property
    def auth(self):
        return next(iter(self.users.items())) if self.users else None

    def write_config(self) -> Path:
        storage = self.folder / "storage"
        storage.mkdir(parents=True, exist_ok=True)
        config = {
            "Name": "workstation-test", "StorageDirectory": str(storage), "IndexDirectory": str(storage),
            "HttpPort": self.http_port, "DicomPort": self.dicom_port, "DicomAet": self.aet,
            "RemoteAccessAllowed": False, "AuthenticationEnabled": bool(self.users),
            "RegisteredUsers": self.users, "Plugins": [DICOMWEB_PLUGIN],
            "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "EnableWado": True},
            "DicomModalities": {name: [aet, "127.0.0.1", port] for name, (aet, port) in self.modalities.items()},
            "DicomAlwaysAllowEcho": True, "DicomAlwaysAllowStore": True, "DicomAlwaysAllowFind": True,
            "DicomAlwaysAllowGet": True, "DicomAlwaysAllowMove": True, "DicomCheckCalledAet": False,
            "StableAge": 1, "HttpThreadsCount": 8, "DicomThreadsCount": 4,
            "MaximumStorageCacheSize": 0,  # serve what is on disk (a test damages a stored file)
        }
        path = self.folder / "orthanc.json"
        path.write_text(json.dumps(config, indent=2))
        return path

    def start(self, timeout_s: float = 30.0) -> "OrthancServer":
        config = self.write_config()
        log = open(self.folder / "orthanc.log", "ab")
        self.process = subprocess.Popen(["Orthanc", str(config)], stdout=log, stderr=subprocess.STDOUT,
                                        cwd=self.folder, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Orthanc exited at start (see {self.folder / 'orthanc.log'})")
            try:
                if requests.get(self.url + "/system", auth=self.auth, timeout=2).ok:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"Orthanc did not answer in {timeout_s:.0f} s (see {self.folder / 'orthanc.log'})")

    def kill(self) -> None:
        """SIGKILL: the server dies as in a crash."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None

    def upload(self, path) -> dict:
        answer = requests.post(self.url + "/instances", data=Path(path).read_bytes(), auth=self.auth, timeout=30)
        answer.raise_for_status()
        return answer.json()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
