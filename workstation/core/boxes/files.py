"""Reading and writing box files for `workstation evaluate-boxes`.

JSON (the schema; documented in docs/readme/reports.md):
    {"images": [{"image_id": "00013118_008.png",
                 "boxes": [{"finding": "Atelectasis", "x": 225.1, "y": 547.0, "w": 86.8, "h": 79.2,
                            "score": 0.93}]}]}
    - a bare list of the image objects is accepted too; `"bbox": [x, y, w, h]` may replace x/y/w/h
      and `label` may replace `finding`; `score` is optional; an image with `"boxes": []` is an
      image with no box (it matters with --all-images).
CSV: the NIH `BBox_List_2017.csv` (`Image Index, Finding Label, Bbox [x, y, w, h]`) or any CSV with
    columns image_id, finding, x, y, w, h and optionally score.
Heat maps: a folder of `<image_id>.npy` (one 2D map, or [1, rows, cols]; `finding` names it) or
    `<image_id>.npz` (one array per finding, keyed by finding name) on the image's pixel grid.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from workstation.core.boxes.localisation import Box, boxes_from_heatmap
from workstation.core.errors import WorkstationError


class BoxFileError(WorkstationError, ValueError):
    """A box file that cannot be read; the message names the file and the place."""


def read_boxes(path: str | Path) -> dict[str, list[Box]]:
    path = Path(path)
    if not path.is_file():
        raise BoxFileError(f"{path}: no such file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise BoxFileError(f"{path}: cannot read ({exc})") from None
    if path.suffix.lower() == ".csv":
        return _from_csv(path, text)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BoxFileError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    return boxes_from_json(data, source=str(path))


def boxes_from_json(data: Any, source: str = "boxes") -> dict[str, list[Box]]:
    images = data.get("images") if isinstance(data, Mapping) else data
    if not isinstance(images, list):
        raise BoxFileError(f"{source}: expected {{\"images\": [...]}} or a list of images")
    out: dict[str, list[Box]] = {}
    for n, image in enumerate(images):
        where = f"{source}: images[{n}]"
        if not isinstance(image, Mapping) or not isinstance(image.get("image_id"), (str, int)):
            raise BoxFileError(f"{where} needs an image_id")
        boxes = image.get("boxes", [])
        if not isinstance(boxes, list):
            raise BoxFileError(f"{where}.boxes must be a list")
        target = out.setdefault(str(image["image_id"]), [])
        for m, item in enumerate(boxes):
            target.append(_box(item, f"{where}.boxes[{m}]"))
    return out


def _box(item: Any, where: str) -> Box:
    if not isinstance(item, Mapping):
        raise BoxFileError(f"{where} must be an object")
    try:
        if "bbox" in item:
            x, y, w, h = item["bbox"]
        else:
            x, y, w, h = (item[k] for k in ("x", "y", "w", "h"))
        finding = item.get("finding", item.get("label", ""))
        score = item.get("score")
        return Box(float(x), float(y), float(w), float(h), finding=str(finding or ""),
                   score=None if score is None else float(score))
    except KeyError as exc:
        raise BoxFileError(f"{where} lacks {exc.args[0]!r}") from None
    except (TypeError, ValueError) as exc:
        raise BoxFileError(f"{where}: {exc}") from None


def _from_csv(path: Path, text: str) -> dict[str, list[Box]]:
    rows = [r for r in csv.reader(text.splitlines()) if any(c.strip() for c in r)]
    if not rows:
        raise BoxFileError(f"{path}: empty CSV")
    header = [c.strip().lower() for c in rows[0]]
    if "image index" in header:  # NIH BBox_List_2017.csv
        image_col, finding_col = header.index("image index"), header.index("finding label")
        start = next((i for i, c in enumerate(header) if c.startswith("bbox")), None)
        if start is None:
            raise BoxFileError(f"{path}: NIH box list without a 'Bbox [x' column")
        cols, score_col = [start, start + 1, start + 2, start + 3], None
    else:
        missing = [c for c in ("image_id", "x", "y", "w", "h") if c not in header]
        if missing:
            raise BoxFileError(f"{path}: CSV lacks column(s) {', '.join(missing)}")
        image_col = header.index("image_id")
        finding_col = header.index("finding") if "finding" in header else None
        cols = [header.index(c) for c in ("x", "y", "w", "h")]
        score_col = header.index("score") if "score" in header else None
    out: dict[str, list[Box]] = {}
    for line, row in enumerate(rows[1:], start=2):
        try:
            x, y, w, h = (float(row[c]) for c in cols)
            out.setdefault(row[image_col].strip(), []).append(Box(
                x, y, w, h, finding=row[finding_col].strip() if finding_col is not None else "",
                score=float(row[score_col]) if score_col is not None and row[score_col].strip() else None))
        except (IndexError, ValueError) as exc:
            raise BoxFileError(f"{path}: line {line}: {exc}") from None
    return out


def boxes_to_json(boxes: Mapping[str, Sequence[Box]]) -> dict:
    return {"images": [{"image_id": image_id, "boxes": [b.to_json() for b in items]}
                       for image_id, items in boxes.items()]}


def boxes_from_heatmap_folder(folder: str | Path, threshold: float = 0.5, max_boxes: int = 3,
                              finding: str = "") -> dict[str, list[Box]]:
    """Boxes from every heat map in a folder (see the module notes), with `boxes_from_heatmap`."""
    folder = Path(folder)
    files = sorted(p for p in folder.iterdir() if p.suffix in (".npy", ".npz")) if folder.is_dir() else []
    if not files:
        raise BoxFileError(f"{folder}: no .npy or .npz heat maps")
    out: dict[str, list[Box]] = {}
    for path in files:
        try:
            if path.suffix == ".npy":
                maps = {finding: np.load(path, allow_pickle=False)}
            else:
                with np.load(path, allow_pickle=False) as data:
                    maps = {name: data[name] for name in data.files}
            out[path.stem] = [b for name, array in maps.items()
                              for b in boxes_from_heatmap(array, threshold, max_boxes=max_boxes, finding=name)]
        except (OSError, ValueError) as exc:
            raise BoxFileError(f"{path}: {exc}".splitlines()[0]) from None
    return out
