"""PACS nodes and their clients: DICOMweb (QIDO-RS, WADO-RS, STOW-RS through dicomweb-client) and
DIMSE (C-ECHO, C-FIND, C-GET, C-STORE through pynetdicom), behind one `connect(node)` interface."""
from workstation.core.pacs.errors import PacsError
from workstation.core.pacs.nodes import Node, add_node, list_nodes, remove_node, resolve_node
from workstation.core.pacs.query import QueryFilter
from workstation.core.pacs.client import connect

__all__ = ["PacsError", "Node", "add_node", "list_nodes", "remove_node", "resolve_node", "QueryFilter",
           "connect"]
