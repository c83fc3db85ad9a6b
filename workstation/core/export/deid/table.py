"""PS3.15 Table E.1-1 as kept in `e1_1.json`, the profile options, and the choice of one action
code per attribute: the option columns override the basic profile, and a combination code
(X/Z, X/D, X/Z/D, Z/D, X/Z/U*) is resolved by the attribute's Type in the IOD (`iod_types.json`)."""
from __future__ import annotations

import json
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
ACTION_CODES = frozenset({"D", "Z", "X", "K", "C", "U", "X/Z", "X/D", "X/Z/D", "X/Z/U*", "Z/D"})
OPTION_CODES = frozenset({"K", "C"})
PRIVATE_ROW = "(gggg,eeee) where gggg is odd"


@dataclass(frozen=True)
class Row:
    tag: str
    name: str
    basic: str
    options: tuple[tuple[str, str], ...]
    retired: bool
    in_std_comp_iod: bool


@dataclass(frozen=True)
class DeidOptions:
    """The profile's options (PS3.15 E.3); all off is the basic profile alone. `retain_dates` is
    "" (off), "full" or "modified" (every date of a patient shifted by one number of days)."""
    retain_safe_private: bool = False
    retain_uids: bool = False
    retain_device_identity: bool = False
    retain_institution_identity: bool = False
    retain_patient_characteristics: bool = False
    retain_dates: str = ""
    clean_descriptors: bool = False
    clean_structured_content: bool = False
    clean_graphics: bool = False

    def __post_init__(self) -> None:
        if self.retain_dates not in ("", "full", "modified"):
            raise ValueError(f"retain_dates must be '', 'full' or 'modified', not {self.retain_dates!r}")

    def columns(self) -> tuple[str, ...]:
        """The option columns of E.1-1 that apply, in the table's order."""
        cols = [f.name for f in fields(self) if f.name != "retain_dates" and getattr(self, f.name)]
        if self.retain_dates:
            cols.append(f"retain_dates_{self.retain_dates}")
        order = table().option_columns
        return tuple(sorted(cols, key=order.index))


@dataclass(frozen=True)
class Table:
    edition: str
    source: dict
    option_columns: tuple[str, ...]
    rows: tuple[Row, ...]
    by_tag: dict[int, Row]
    curve: Row
    overlay: dict[int, Row]       # element (3000, 4000) -> row of (60xx,eeee)
    private: Row


def _hex_tag(tag: str) -> int:
    return int(tag[1:5] + tag[6:10], 16)


@lru_cache(1)
def table() -> Table:
    doc = json.loads((HERE / "e1_1.json").read_text())
    rows = tuple(Row(r["tag"], r["name"], r["basic"], tuple(sorted(r["options"].items())), r["retired"],
                     r["in_std_comp_iod"]) for r in doc["rows"])
    by_tag, overlay, curve, private = {}, {}, None, None
    for row in rows:
        if row.tag == PRIVATE_ROW:
            private = row
        elif row.tag.startswith("(50xx"):
            curve = row
        elif row.tag.startswith("(60xx"):
            overlay[int(row.tag[6:10], 16)] = row
        else:
            by_tag[_hex_tag(row.tag)] = row
    return Table(doc["edition"], doc["source"], tuple(doc["option_columns"]), rows, by_tag, curve,
                 overlay, private)


def lookup(tag: int) -> Row | None:
    """The row of E.1-1 for a data element tag (repeating groups and private tags included)."""
    t = table()
    row = t.by_tag.get(tag)
    if row is not None:
        return row
    group = tag >> 16
    if group & 1:
        return t.private
    if 0x5000 <= group <= 0x50FF:
        return t.curve
    if 0x6000 <= group <= 0x60FF:
        return t.overlay.get(tag & 0xFFFF)
    return None


def code_for(row: Row, columns: tuple[str, ...]) -> str:
    """The code of `row` with the given option columns applied: an option that names an action
    overrides the basic profile; where two options name one, keeping wins (the user asked to
    retain) over cleaning."""
    chosen = [code for col, code in row.options if col in columns]
    if not chosen:
        return row.basic
    return "K" if "K" in chosen else chosen[0]


@lru_cache(1)
def _iod_types() -> dict:
    return json.loads((HERE / "iod_types.json").read_text())


@lru_cache(4096)
def attribute_type(sop_class: str, tag: int, parent: int) -> str:
    """The Type ("1", "2", "3") of an attribute in the IOD of `sop_class`, inside the sequence
    `parent` (0 = top level); "" when the IOD does not have it there. For a SOP class the tables
    do not know, the strictest Type it has in any IOD."""
    data = _iod_types()
    key, where = f"{tag:08X}", f"{parent:08X}" if parent else ""
    iod = data["sop_class_iod"].get(sop_class)
    if iod is not None:
        return data["types"].get(iod, {}).get(key, {}).get(where, "")
    found = [types[key][where] for types in data["types"].values() if where in types.get(key, {})]
    return min(found) if found else ""


def resolve(code: str, sop_class: str, tag: int, parent: int) -> str:
    """One of D, Z, X, K, C, U for a code of the table."""
    if "/" not in code:
        return code
    kind = attribute_type(sop_class, tag, parent) or "3"
    if code == "Z/D":
        return "D" if kind == "1" else "Z"
    if code == "X/Z":
        return "X" if kind == "3" else "Z"
    if code == "X/D":
        return "X" if kind == "3" else "D"
    if code == "X/Z/D":
        return {"1": "D", "2": "Z"}.get(kind, "X")
    if code == "X/Z/U*":
        return {"1": "U", "2": "Z"}.get(kind, "X")
    raise ValueError(f"unknown action code {code!r}")


@lru_cache(1)
def safe_private() -> dict[tuple[int, str], dict]:
    """Table E.3.10-1: {(group, element low byte) and creator: row}, creators compared without
    case or surrounding spaces."""
    doc = json.loads((HERE / "safe_private.json").read_text())
    return {(int(r["group"], 16) << 8 | int(r["element"], 16), r["creator"].strip().upper()): r
            for r in doc["rows"]}


@lru_cache(1)
def _iod_attributes() -> dict:
    return json.loads((HERE / "iod_attributes.json").read_text())


@lru_cache(256)
def iod_attributes(sop_class: str) -> frozenset[int] | None:
    """Every tag the IOD of `sop_class` defines (any module, any depth) plus those of the generic
    image modules; None when the tables do not know the SOP class."""
    iod = _iod_types()["sop_class_iod"].get(sop_class)
    data = _iod_attributes()
    if iod is None or iod not in data["iods"]:
        return None
    modules = set(data["iods"][iod]) | set(data["generic_modules"])
    return frozenset(int(t, 16) for m in modules for t in data["modules"].get(m, ()))
