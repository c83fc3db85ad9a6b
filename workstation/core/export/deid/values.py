"""Replacement values: dummies valid for each VR (action D), shifted dates (Retain Longitudinal
Temporal Information with Modified Dates) and the scrub that cleans free text (action C)."""
from __future__ import annotations

import re
from datetime import date, timedelta

from pydicom.multival import MultiValue

DUMMY_TEXT = "ANONYMIZED"
_DUMMIES = {
    "AE": DUMMY_TEXT, "AS": "000D", "CS": DUMMY_TEXT, "DA": "19000101", "DS": "0", "DT": "19000101000000",
    "IS": "0", "LO": DUMMY_TEXT, "LT": DUMMY_TEXT, "PN": DUMMY_TEXT, "SH": DUMMY_TEXT, "ST": DUMMY_TEXT,
    "TM": "000000", "UC": DUMMY_TEXT, "UR": "urn:anonymized", "UT": DUMMY_TEXT, "FL": 0.0, "FD": 0.0, "SL": 0, "SS": 0,
    "UL": 0, "US": 0, "SV": 0, "UV": 0, "AT": 0, "OB": b"\0\0", "OW": b"\0\0", "OD": b"\0" * 8,
    "OF": b"\0" * 4, "OL": b"\0" * 4, "OV": b"\0" * 8, "UN": b"\0\0",
}
TEXT_VRS = frozenset({"AE", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UT", "UR"})
# Things in free text that identify whatever the dataset says: dates, long numbers, e-mail
# addresses, telephone numbers.
_PATTERNS = re.compile(
    r"\b\d{4}[-/.]?\d{2}[-/.]?\d{2}\b|\b\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}\b|[\w.+-]+@[\w-]+\.[\w.-]+"
    r"|\+?\d[\d ()-]{6,}\d|\b[A-Za-z]*\d[\w-]{3,}\b")


def dummy(vr: str):
    return _DUMMIES.get(vr, DUMMY_TEXT)


def map_values(value, func):
    if value is None:
        return None
    if isinstance(value, (list, tuple, MultiValue)):
        return [func(str(v)) for v in value]
    return func(str(value))


def parse_date(text: str) -> date | None:
    text = text.strip().replace(".", "")  # the old ACR-NEMA form YYYY.MM.DD
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


def shift_da(text: str, offset: timedelta) -> str:
    parsed = parse_date(text)
    return "" if parsed is None else (parsed + offset).strftime("%Y%m%d")  # unparsable: emptied


def shift_dt(text: str, offset: timedelta) -> str:
    text = text.strip()
    parsed = parse_date(text[:8])
    if parsed is None:
        return ""
    return (parsed + offset).strftime("%Y%m%d") + text[8:]


def scrub(text: str, identifiers: frozenset[str]) -> str:
    """Free text with the dataset's own identifiers (names, ids, places: each word of three or
    more characters) and identifying patterns replaced by `*`. Best effort: what the text says
    about a patient in words that appear nowhere else in the header cannot be found here."""
    out = _PATTERNS.sub("*", text)
    for word in sorted(identifiers, key=len, reverse=True):
        if word.lower() in out.lower():
            out = re.sub(re.escape(word), "*", out, flags=re.IGNORECASE)
    return out


def identifier_words(values) -> frozenset[str]:
    words = set()
    for value in values:
        for word in re.split(r"[\s^=,;:/\\()\[\]]+", str(value)):
            if len(word) >= 3 and not word.isdigit() or len(word) >= 5:
                words.add(word)
    return frozenset(words)
