"""Regenerate the de-identification tables kept beside this file from their sources (a developer
tool; nothing runs it at export time, and it needs no network):

    python -m workstation.core.export.deid.build_tables \
        --e1-1 dicom-standard/standard/confidentiality_profile_attributes.json \
        --e1-1-commit 8670abdd9ad16c61af5146ef857899699bdd9c5f --edition 2024b \
        --highdicom-standard highdicom/_standard --highdicom-version 0.28.2 \
        --safe-private-rst dicom_standard/source/part15/chapter_E.rst \
        --safe-private-commit 2384a799ebf3a7f2e5746bd8e26e653ad7187a85

- `e1_1.json`: PS3.15 Table E.1-1, every row, from innolitics/dicom-standard's
  `standard/confidentiality_profile_attributes.json` (parsed by that project from the standard's
  own HTML tables). Retired flags come from pydicom's copy of PS3.6.
- `iod_types.json`: for the rows whose basic-profile code is a combination (X/Z, X/D, X/Z/D, Z/D,
  X/Z/U*), the attribute's Type (1, 2 or 3) in each IOD, from highdicom's module tables; that Type
  decides which of the codes keeps the IOD conformant.
- `iod_attributes.json`: every attribute each IOD defines, from the same tables, so that a standard
  attribute outside the IOD (not in E.1-1 either) can be told and removed.
- `safe_private.json`: PS3.15 Table E.3.10-1 (safe private attributes) from an RST copy of PS3.15.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
from pathlib import Path

from pydicom.datadict import dictionary_is_retired, tag_for_keyword

HERE = Path(__file__).resolve().parent
OPTION_COLUMNS = {  # innolitics key -> ours, in the table's column order
    "rtnSafePrivOpt": "retain_safe_private", "rtnUIDsOpt": "retain_uids",
    "rtnDevIdOpt": "retain_device_identity", "rtnInstIdOpt": "retain_institution_identity",
    "rtnPatCharsOpt": "retain_patient_characteristics", "rtnLongFullDatesOpt": "retain_dates_full",
    "rtnLongModifDatesOpt": "retain_dates_modified", "cleanDescOpt": "clean_descriptors",
    "cleanStructContOpt": "clean_structured_content", "cleanGraphOpt": "clean_graphics",
}
COMBINATIONS = {"X/Z", "X/D", "X/Z/D", "Z/D", "X/Z/U*"}
_STRICTNESS = {"1": 1, "1C": 1, "2": 2, "2C": 2, "3": 3}


def _retired(tag: str) -> bool:
    if not re.fullmatch(r"\([0-9A-F]{4},[0-9A-F]{4}\)", tag):
        return False
    try:
        return bool(dictionary_is_retired(int(tag[1:5] + tag[6:10], 16)))
    except KeyError:
        return False


def build_e1_1(source: Path, commit: str, edition: str) -> dict:
    raw = source.read_bytes()
    blob = hashlib.sha1(b"blob %d\0" % len(raw) + raw).hexdigest()  # git's id of the file's content
    rows = []
    for r in json.loads(raw):
        tag = r["tag"].upper()
        if tag.startswith("(GGGG,EEEE)"):
            tag = "(gggg,eeee) where gggg is odd"
        else:
            tag = tag.replace("XX", "xx").replace("XXXX", "xxxx")
        rows.append({"tag": tag, "name": r["name"], "retired": _retired(tag),
                     "in_std_comp_iod": r["stdCompIOD"] == "Y", "basic": r["basicProfile"],
                     "options": {ours: r[theirs] for theirs, ours in OPTION_COLUMNS.items() if theirs in r}})
    return {
        "table": "DICOM PS3.15 Table E.1-1 Application Level Confidentiality Profile Attributes",
        "edition": f"DICOM PS3.15 {edition}",
        "source": {"repository": "https://github.com/innolitics/dicom-standard",
                   "path": "standard/confidentiality_profile_attributes.json", "commit": commit,
                   "git_blob": blob,
                   "note": "parsed by that project from the HTML of the standard's Table E.1-1; "
                           "'retired' is taken from pydicom's data dictionary (PS3.6)"},
        "option_columns": list(OPTION_COLUMNS.values()),
        "row_count": len(rows),
        "rows": rows,
    }


def build_iod_types(e1_1: dict, standard: Path, version: str) -> dict:
    """{iod: {tag: {parent tag or "": type}}} for the combination-coded rows."""
    wanted = {}
    for row in e1_1["rows"]:
        if row["basic"] in COMBINATIONS:
            wanted[row["tag"][1:5] + row["tag"][6:10]] = row["basic"]
    sop_iod = json.loads((standard / "sop_class_iod_map.json").read_text())
    iod_modules = json.loads((standard / "iod_module_map.json").read_text())
    module_attrs = json.loads((standard / "module_attribute_map.json").read_text())
    hex_of = {}
    for module in module_attrs.values():
        for a in module:
            for kw in [a["keyword"], *a["path"]]:
                if kw not in hex_of:
                    t = tag_for_keyword(kw)
                    hex_of[kw] = f"{t:08X}" if t is not None else ""
    types: dict[str, dict[str, dict[str, str]]] = {}
    for iod, modules in iod_modules.items():
        found: dict[str, dict[str, str]] = {}
        for m in modules:
            for a in module_attrs.get(m["key"], []):
                tag = hex_of.get(a["keyword"], "")
                if tag not in wanted:
                    continue
                parent = hex_of.get(a["path"][-1], "") if a["path"] else ""
                old = found.setdefault(tag, {}).get(parent)
                new = a["type"].rstrip("C") or "3"
                if old is None or _STRICTNESS[a["type"]] < _STRICTNESS[old]:
                    found[tag][parent] = new
        types[iod] = found
    return {"source": {"package": f"highdicom=={version}", "files": "highdicom/_standard/*.json",
                       "note": "strictest Type of the attribute among all modules of the IOD, per "
                               "enclosing sequence ('' = top level)"},
            "sop_class_iod": sop_iod, "types": types}


# modules whose attributes describe any image and are kept whatever the IOD says: an attribute
# from them outside its IOD (pixel spacing in a secondary capture) is structure, not identity
GENERIC_MODULES = ("image-pixel", "image-plane", "multi-frame", "modality-lut", "voi-lut", "general-image",
                   "sop-common", "general-series", "general-equipment", "frame-of-reference")


def build_iod_attributes(standard: Path, version: str) -> dict:
    """Every attribute each IOD defines (in any of its modules, at any depth), as module lists
    and per-module tag lists, to tell an attribute outside the IOD."""
    iod_modules = json.loads((standard / "iod_module_map.json").read_text())
    module_attrs = json.loads((standard / "module_attribute_map.json").read_text())
    from pydicom.datadict import RepeatersDictionary

    repeaters = {entry[4]: int(mask.replace("x", "0"), 16) for mask, entry in RepeatersDictionary.items()}
    modules = {}
    for key, attrs in module_attrs.items():
        tags = {tag_for_keyword(a["keyword"]) or repeaters.get(a["keyword"]) for a in attrs}
        modules[key] = sorted(f"{t:08X}" for t in tags if t is not None)
    return {"source": {"package": f"highdicom=={version}", "files": "highdicom/_standard/*.json",
                       "note": "tags of every module, at any depth of its sequences; repeating groups "
                               "(60xx overlays) under their first group"},
            "generic_modules": list(GENERIC_MODULES),
            "iods": {iod: sorted({m["key"] for m in mods}) for iod, mods in iod_modules.items()},
            "modules": modules}


def build_safe_private(rst: Path, commit: str) -> dict:
    text = rst.read_text()
    start = text.index("Safe Private Attributes", text.index("_sect_E.3.10:"))
    end = text.index("\n\n", text.index("+===", start))
    end = text.index("   2. ", start)
    rows, current = [], None
    for line in text[start:end].splitlines():
        line = line.strip()
        if not line.startswith("|"):
            if line.startswith("+-") and current:
                rows.append(current)
                current = None
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) != 5 or cells[0].startswith("**"):
            continue
        if current is None:
            current = cells
        else:
            current = [f"{a} {b}".strip() for a, b in zip(current, cells)]
    out = []
    for tag, creator, vr, vm, meaning in rows:
        m = re.fullmatch(r"\(([0-9A-Fa-f]{4}),xx([0-9A-Fa-f]{2})\)", tag)
        if m:
            out.append({"group": m.group(1).upper(), "element": m.group(2).upper(), "creator": creator,
                        "vr": vr, "vm": vm, "meaning": re.sub(r"\\ :sup:`(\w+)`\\ ", r"\1 ", meaning)})
    return {"table": "DICOM PS3.15 Table E.3.10-1 Safe Private Attributes (a sample list, per its note)",
            "source": {"repository": "https://github.com/chsasank/dicom_standard",
                       "path": "source/part15/chapter_E.rst", "commit": commit,
                       "note": "an RST conversion of PS3.15 (2020 edition); newer editions list more"},
            "rows": out}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--e1-1", type=Path, required=True)
    p.add_argument("--e1-1-commit", required=True)
    p.add_argument("--edition", required=True)
    p.add_argument("--highdicom-standard", type=Path, required=True)
    p.add_argument("--highdicom-version", required=True)
    p.add_argument("--safe-private-rst", type=Path, required=True)
    p.add_argument("--safe-private-commit", required=True)
    a = p.parse_args()
    e1_1 = build_e1_1(a.e1_1, a.e1_1_commit, a.edition)
    (HERE / "e1_1.json").write_text(json.dumps(e1_1, indent=1) + "\n")
    types = build_iod_types(e1_1, a.highdicom_standard, a.highdicom_version)
    (HERE / "iod_types.json").write_text(json.dumps(types, separators=(",", ":")) + "\n")
    attrs = build_iod_attributes(a.highdicom_standard, a.highdicom_version)
    (HERE / "iod_attributes.json").write_text(json.dumps(attrs, separators=(",", ":")) + "\n")
    safe = build_safe_private(a.safe_private_rst, a.safe_private_commit)
    (HERE / "safe_private.json").write_text(json.dumps(safe, indent=1) + "\n")
    print(f"{e1_1['row_count']} rows of E.1-1, {len(types['types'])} IODs, {len(safe['rows'])} safe private")


if __name__ == "__main__":
    main()
