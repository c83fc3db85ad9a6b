"""Nodes in the user settings: add, list, remove; URLs in place of names; secrets never saved."""
import json

import pytest

from workstation.cli import main
from workstation.core import settings
from workstation.core.pacs import PacsError, resolve_node
from workstation.core.pacs.nodes import parse_url


def test_add_list_remove_and_no_secret_saved(capsys, monkeypatch):
    monkeypatch.setenv("WORKSTATION_PACS_SECRET_HOSP_1", "top-secret-password")
    assert main(["pacs", "node", "add", "hosp-1", "--dicomweb", "https://pacs.example/dicom-web",
                 "--user", "bob"]) == 0
    assert main(["pacs", "node", "add", "mod", "--dimse", "ORTHANC@10.0.0.5:4242", "--calling-aet", "ME"]) == 0
    capsys.readouterr()
    assert main(["pacs", "node", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["hosp-1"]["url"] == "https://pacs.example/dicom-web" and listed["hosp-1"]["auth"] == "basic"
    assert listed["mod"]["aet"] == "ORTHANC" and listed["mod"]["port"] == 4242 and listed["mod"]["calling_aet"] == "ME"
    text = (settings.config_dir() / "settings.json").read_text()
    assert "bob" in text and "top-secret-password" not in text
    assert resolve_node("hosp-1").secret() == "top-secret-password"
    assert main(["pacs", "node", "add", "mod", "--dimse", "X@h:1"]) == 2
    assert "exists" in capsys.readouterr().err
    assert main(["pacs", "node", "remove", "mod"]) == 0
    assert main(["pacs", "node", "remove", "mod"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no node 'mod'" in err
    main(["pacs", "node", "remove", "hosp-1"])


def test_missing_secret_says_where_to_put_it(monkeypatch):
    monkeypatch.delenv("WORKSTATION_PACS_SECRET_X", raising=False)
    node = parse_url("http://h/dicom-web", "x")
    node.auth, node.username = "bearer", ""
    with pytest.raises(PacsError, match="WORKSTATION_PACS_SECRET_X"):
        node.secret()


@pytest.mark.parametrize("text,kind,retrieve", [("dimse://PACS@127.0.0.1:104", "dimse", "get"),
                                                ("dimse://PACS@127.0.0.1:104?move=11112", "dimse", "move"),
                                                ("http://127.0.0.1:8042/dicom-web", "dicomweb", "get")])
def test_urls_stand_for_nodes(text, kind, retrieve):
    node = resolve_node(text)
    assert node.kind == kind and node.retrieve == retrieve
    assert node.move_port == (11112 if retrieve == "move" else 0)


@pytest.mark.parametrize("text", ["ftp://x/y", "dimse://TOOLONGAETITLE_XYZ@h:1", "dimse://A@h:99999", "dimse://A@h:1?move=99999",
                                  "http://user:pw@h/dicom-web", "nosuchnode"])
def test_bad_nodes_are_one_line(text, capsys):
    assert main(["pacs", "echo", text]) == 2
    err = capsys.readouterr().err
    assert err.startswith("workstation pacs: ") and err.count("\n") == 1


def test_secret_without_a_keyring_is_one_line(capsys, monkeypatch):
    import io
    import sys

    assert main(["pacs", "node", "add", "kr", "--dicomweb", "http://h/dicom-web", "--user", "u"]) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO("pw\n"))
    monkeypatch.setitem(sys.modules, "keyring", None)  # as on a machine without the package
    capsys.readouterr()
    assert main(["pacs", "node", "secret", "kr"]) == 2
    err = capsys.readouterr().err
    assert "keyring package is not installed" in err and err.count("\n") == 1
    assert main(["pacs", "node", "secret", "http://h/dicom-web"]) == 2
    main(["pacs", "node", "remove", "kr"])
