"""PACS nodes kept in the user settings (`pacs_nodes`), and URLs that stand for a node.

Secrets are never written: a node keeps only its user name; the password or bearer token comes from
the environment variable `WORKSTATION_PACS_SECRET_<NAME>` (name upper-cased, non-alphanumerics as
`_`), else from the OS keyring (service "workstation-pacs", the node's name) when the `keyring`
package is installed and has a usable backend.
"""
from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field
from urllib.parse import urlparse

from workstation.core import settings
from workstation.core.pacs.errors import PacsError

KINDS = ("dicomweb", "dimse")
AUTHS = ("none", "basic", "bearer")
RETRIEVES = ("get", "move")
DEFAULT_CALLING_AET = "WORKSTATION"
KEYRING_SERVICE = "workstation-pacs"
_DIMSE_URL = re.compile(r"^dimse://(?P<aet>[^@/]{1,16})@(?P<host>[^:/?]+):(?P<port>\d{1,5})/?"
                        r"(\?move=(?P<move>\d{1,5}))?$")


@dataclass
class Node:
    name: str
    kind: str
    url: str = ""                 # DICOMweb base URL
    auth: str = "none"
    username: str = ""
    ca_bundle: str = ""           # DICOMweb over https: a PEM of the CAs to trust (default: the system's)
    aet: str = ""                 # DIMSE: the called AE title
    host: str = ""
    port: int = 0
    calling_aet: str = DEFAULT_CALLING_AET
    retrieve: str = "get"         # DIMSE: "get" (C-GET) or "move" (C-MOVE to our SCP on move_port)
    move_port: int = 0
    timeout_s: float = 30.0
    extra: dict = field(default_factory=dict)

    def describe(self) -> str:
        where = self.url if self.kind == "dicomweb" else f"dimse://{self.aet}@{self.host}:{self.port}"
        auth = f" ({self.auth} auth as {self.username or '?'})" if self.auth != "none" else ""
        calling = f" calling as {self.calling_aet}" if self.kind == "dimse" else ""
        if self.kind == "dimse" and self.retrieve == "move":
            calling += f", C-MOVE to our port {self.move_port}"
        return f"{self.name}: {where}{auth}{calling}"

    def to_json(self) -> dict:
        data = asdict(self)
        data.pop("name")
        return data

    def secret_env(self) -> str:
        return "WORKSTATION_PACS_SECRET_" + re.sub(r"[^A-Za-z0-9]", "_", self.name).upper()

    def secret(self) -> str | None:
        """The password (basic) or token (bearer): the environment first, then the OS keyring."""
        if self.auth == "none":
            return None
        value = os.environ.get(self.secret_env())
        if value:
            return value
        value = _keyring_get(self.name)
        if value:
            return value
        raise PacsError(f"node {self.name!r} uses {self.auth} auth: set {self.secret_env()} "
                        f"(or store it with `workstation pacs node secret {self.name}` where a keyring works)")


def _keyring_get(name: str) -> str | None:
    try:
        import keyring
        return keyring.get_password(KEYRING_SERVICE, name)
    except Exception:  # no keyring package or no usable backend: the environment is the way then
        return None


def keyring_set(name: str, secret: str) -> None:
    try:
        import keyring
    except ImportError:
        raise PacsError("the keyring package is not installed (pip install keyring); use the "
                        "environment variable instead") from None
    try:
        keyring.set_password(KEYRING_SERVICE, name, secret)
    except Exception as exc:  # keyring's backends raise their own kinds (no backend, locked, denied)
        raise PacsError(f"no usable OS keyring here ({type(exc).__name__}); use the environment "
                        f"variable instead") from None


def parse_url(text: str, name: str | None = None) -> Node:
    """A node from `http(s)://…` (DICOMweb) or `dimse://AET@HOST:PORT`."""
    m = _DIMSE_URL.match(text)
    if m:
        port = int(m["port"])
        if not 0 < port < 65536:
            raise PacsError(f"{text}: port {port} is out of range")
        move = int(m["move"]) if m["move"] else 0
        if m["move"] and not 0 < move < 65536:
            raise PacsError(f"{text}: port {move} is out of range")
        return Node(name or text, "dimse", aet=m["aet"], host=m["host"], port=port,
                    retrieve="move" if move else "get", move_port=move)
    parsed = urlparse(text)
    if parsed.scheme in ("http", "https") and parsed.netloc:
        if parsed.username or parsed.password:
            raise PacsError(f"{text}: put no credentials in the URL; use --user and "
                            f"the WORKSTATION_PACS_SECRET_<NAME> variable")
        return Node(name or text, "dicomweb", url=text.rstrip("/"))
    raise PacsError(f"{text!r} is neither a known node nor a URL (http(s)://host/dicom-web or "
                    f"dimse://AET@HOST:PORT)")


def _stored() -> dict:
    return dict(settings.load().get("pacs_nodes") or {})


def list_nodes() -> list[Node]:
    return [Node(name=name, **{k: v for k, v in data.items() if k in Node.__dataclass_fields__})
            for name, data in sorted(_stored().items())]


def add_node(node: Node, replace: bool = False) -> Node:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", node.name):
        raise PacsError(f"{node.name!r}: a node name is letters, digits, '.', '_' or '-'")
    if node.auth not in AUTHS:
        raise PacsError(f"unknown auth {node.auth!r}; choose one of {', '.join(AUTHS)}")
    if node.auth != "none" and node.kind != "dicomweb":
        raise PacsError("authentication applies to DICOMweb nodes only")
    if node.auth == "basic" and not node.username:
        raise PacsError("basic auth needs a user name (--user)")
    if node.retrieve not in RETRIEVES or (node.retrieve == "move" and node.kind != "dimse"):
        raise PacsError(f"retrieve {node.retrieve!r}: C-GET or C-MOVE, for DIMSE nodes")
    if node.retrieve == "move" and not 0 < node.move_port < 65536:
        raise PacsError("C-MOVE needs the port our storage SCP listens on (--move-port, 1-65535)")
    if node.kind == "dimse" and not 0 < len(node.calling_aet) <= 16:
        raise PacsError(f"calling AE title {node.calling_aet!r}: 1 to 16 characters")
    nodes = _stored()
    if node.name in nodes and not replace:
        raise PacsError(f"node {node.name!r} exists; remove it first or pass --replace")
    nodes[node.name] = node.to_json()
    try:
        settings.update(pacs_nodes=nodes)
    except OSError as exc:
        raise PacsError(f"cannot save the settings ({exc.strerror})") from None
    return node


def remove_node(name: str) -> None:
    nodes = _stored()
    if name not in nodes:
        raise PacsError(f"no node {name!r} (known: {', '.join(sorted(nodes)) or 'none'})")
    del nodes[name]
    settings.update(pacs_nodes=nodes)


def resolve_node(text: str) -> Node:
    """A saved node by name, or a node made from a URL."""
    for node in list_nodes():
        if node.name == text:
            return node
    if "://" in text:
        return parse_url(text)
    known = ", ".join(n.name for n in list_nodes()) or "none saved"
    raise PacsError(f"no node {text!r} (known: {known}); or give a URL")
