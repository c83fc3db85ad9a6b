"""DICOMweb over HTTPS (a self-signed certificate, in front of the real Orthanc: see tls_tunnel.py):
untrusted, one line naming TLS; trusted through the node's --ca-bundle, query and fetch work."""
import json
import shutil

import pytest

from workstation.cli import main
from .conftest import PASSWORD, USER, series_uids
from .tls_tunnel import TlsTunnel, self_signed_certificate


@pytest.fixture
def https_url(orthanc, tmp_path):
    if shutil.which("openssl") is None:
        pytest.fail("the openssl command is needed to make the test's certificate (apt-get install openssl)")
    tunnel = TlsTunnel(orthanc.http_port, *self_signed_certificate(tmp_path / "tls"))
    yield f"https://127.0.0.1:{tunnel.port}/dicom-web"
    tunnel.close()


def test_https_node_needs_its_ca_then_works(https_url, samples, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("WORKSTATION_PACS_SECRET_TLS", PASSWORD)
    assert main(["pacs", "node", "add", "tls", "--dicomweb", https_url, "--user", USER,
                 "--replace"]) == 0
    capsys.readouterr()
    assert main(["pacs", "echo", "tls"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "TLS with" in err and "--ca-bundle" in err, err

    assert main(["pacs", "node", "add", "tls", "--dicomweb", https_url, "--user", USER,
                 "--ca-bundle", str(tmp_path / "nothing.pem"), "--replace"]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["pacs", "node", "add", "tls", "--dicomweb", https_url, "--user", USER,
                 "--ca-bundle", str(tmp_path / "tls" / "cert.pem"), "--replace"]) == 0
    capsys.readouterr()
    assert main(["pacs", "query", "tls", "--json"]) == 0
    study, series = series_uids(samples["mr_small"])
    assert study in [r["StudyInstanceUID"] for r in json.loads(capsys.readouterr().out)]
    assert main(["project", "init", str(tmp_path / "p"), "--task", "binary", "--classes", "a,b"]) == 0
    capsys.readouterr()
    assert main(["project", "add", str(tmp_path / "p"), "--from-pacs", "tls", "--study", study, "--json"]) == 0
    # the shared Orthanc may hold more series of this study (other tests store derived objects,
    # SEG/SR, into it): the MR series must be among those fetched, in whatever order they come
    assert series in [s["series_uid"] for s in json.loads(capsys.readouterr().out)["series"]]
    main(["pacs", "node", "remove", "tls"])
