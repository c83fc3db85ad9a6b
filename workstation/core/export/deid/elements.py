"""Element-level helpers of the profile: the dictionary's VR, and reading or setting string values
on elements that pydicom has not decoded yet (raw), without decoding them."""
from __future__ import annotations

from functools import lru_cache

from pydicom import config
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence


@lru_cache(8192)
def dictionary_vr(tag: int) -> str:
    try:
        return dictionary_VR(tag).split(" ")[0]
    except KeyError:
        return "UN"


@lru_cache(8192)
def known(tag: int) -> bool:
    try:
        dictionary_VR(tag)
        return True
    except KeyError:
        return False


def strings(ds: Dataset, tag) -> list[str]:
    """The values of a string element; an element still raw is decoded as ASCII (UIDs and dates
    are ASCII by definition), without pydicom's conversion."""
    elem = ds._dict[tag]
    if isinstance(elem, RawDataElement):
        if not elem.value:
            return []
        return elem.value.decode("ascii", "replace").rstrip("\0 ").split("\\")
    value = elem.value
    if value is None or value == "":
        return []
    return [str(v) for v in value] if isinstance(value, (list, tuple, MultiValue)) else [str(value)]


def put(ds: Dataset, tag, vr: str, value) -> None:
    """Set a value (a str, a list of them, bytes, a number, or None for empty). While the element is still
    raw and the text is ASCII, the bytes are written in place: nothing decoded, validated or
    encoded by pydicom (that was most of the time on headers with thousands of elements)."""
    old = ds._dict[tag]
    text = None if value is None else "\\".join(value) if isinstance(value, list) else value
    raw_ok = text is None or isinstance(text, bytes) or (isinstance(text, str) and text.isascii())
    if isinstance(old, RawDataElement) and raw_ok:
        data = text if isinstance(text, bytes) else b"" if not text else text.encode("ascii")
        if len(data) % 2:
            data += b" " if isinstance(text, str) and vr != "UI" else b"\0"
        ds._dict[tag] = RawDataElement(old.tag, old.VR, len(data), data, old.value_tell, old.is_implicit_VR,
                                       old.is_little_endian, True, False)
        return
    if vr == "SQ":
        value = Sequence()
    elif isinstance(value, list):
        value = value if len(value) != 1 else value[0]
    ds[tag] = DataElement(tag, vr, value, validation_mode=config.IGNORE)


def tag_label(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"
