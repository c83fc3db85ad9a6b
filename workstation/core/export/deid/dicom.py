"""De-identification of DICOM datasets to the whole of PS3.15 Table E.1-1 and its options.

Every element, at every depth of every sequence, is handled by one rule:
- a row of E.1-1 (exact tag, or the masks (50xx,xxxx), (60xx,3000), (60xx,4000) and the private
  row (gggg,eeee) odd): its code with the chosen options applied, a combination code resolved by
  the attribute's Type in the IOD (X where optional, Z where Type 2, D or U where Type 1);
- not in the table: removed when no dictionary knows the tag (nobody can say what it holds) or
  when the IOD of the SOP class does not define it; else person names emptied, instance UIDs
  remapped, dates handled as the table's dates are (note 4 of E.1.1: by VR, since the table grows
  with the standard), everything else kept (pixel module, geometry, acquisition parameters: the
  structure the image needs);
- group 0000 (command elements, what a reader makes of padding after the data) and group 0002
  inside the dataset are dropped; the file meta is written anew and the preamble zeroed.

Names and patient ids get a pseudonym (a dummy value as Z and D allow), a keyed hash
(HMAC-SHA256) of the patient's key under a per-export secret; UIDs become `2.25.<keyed hash>`,
so references between files of one export stay consistent. Pixel data is never touched.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pydicom
from pydicom.datadict import dictionary_description, keyword_for_tag
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.sr.codedict import codes
from pydicom.uid import (PYDICOM_IMPLEMENTATION_UID, ExplicitVRBigEndian, ExplicitVRLittleEndian,
                         ImplicitVRLittleEndian)

import workstation
from workstation.core.export.deid import values
from workstation.core.export.deid.elements import dictionary_vr, known, put, strings, tag_label
from workstation.core.export.deid.reading import burned_in_status, has_header, read_tolerant
from workstation.core.export.deid.table import (DeidOptions, code_for, iod_attributes, lookup, resolve,
                                                safe_private, table)

_STANDARD_UID_ROOT = "1.2.840.10008."
_PATIENT_NAME, _PATIENT_ID = 0x00100010, 0x00100020
_IDENTIFYING_VRS = frozenset({"PN", "LO", "SH", "AE", "DA", "DT", "LT", "ST", "UC"})
_FREE_TEXT_VRS = frozenset({"ST", "LT", "UT", "UC"})
_DE_ID_TAGS = (0x00120062, 0x00120063, 0x00120064, 0x00280303)
_OPTION_CODES = {  # option column -> CID 7050 concept
    "retain_safe_private": "RetainSafePrivateOption", "retain_uids": "RetainUidsOption",
    "retain_device_identity": "RetainDeviceIdentityOption",
    "retain_institution_identity": "RetainInstitutionIdentityOption",
    "retain_patient_characteristics": "RetainPatientCharacteristicsOption",
    "retain_dates_full": "RetainLongitudinalTemporalInformationFullDatesOption",
    "retain_dates_modified": "RetainLongitudinalTemporalInformationModifiedDatesOption",
    "clean_descriptors": "CleanDescriptorsOption", "clean_structured_content": "CleanStructuredContentOption",
    "clean_graphics": "CleanGraphicsOption",
}
# Where a rule comes from, in the report
FROM_TABLE, NOT_IN_TABLE, UNKNOWN, GROUP_0000 = "E.1-1", "not in E.1-1", "unknown tag", "group 0000/0002"
NOT_IN_IOD = "not in E.1-1 nor in the IOD"


def method_codes(options: DeidOptions) -> list[tuple[str, str]]:
    """(code value, meaning) of CID 7050 for the profile and each option applied."""
    concepts = [codes.cid7050.BasicApplicationConfidentialityProfile]
    concepts += [getattr(codes.cid7050, _OPTION_CODES[c]) for c in options.columns()]
    return [(c.value, c.meaning) for c in concepts]


def method_text(options: DeidOptions) -> list[str]:
    """De-identification Method values (LO: at most 64 characters each, so one per code)."""
    return [meaning[:64] for _, meaning in method_codes(options)]


@dataclass
class DeidReport:
    """What de-identifying one dataset did; `burned_in` is "yes", "likely" or "". `actions` counts
    (tag, name, rule, action, source) — never a value."""
    pseudonym: str
    date_offset_days: int
    burned_in: str = ""
    warnings: list[str] = field(default_factory=list)
    actions: Counter = field(default_factory=Counter)


@dataclass
class _Context:
    sop_class: str
    pseudonym: str
    offset: timedelta
    report: DeidReport
    identifiers: frozenset[str] = frozenset()
    iod_tags: frozenset[int] | None = None
    cleaning: int = 0  # inside a sequence being cleaned (C): free text not in the table is scrubbed


class Deidentifier:
    """Applies the profile with one secret and one set of options; use one instance per export so
    that pseudonyms, date offsets and UIDs are consistent across all files of the export and
    unlinkable to other exports (pass the same `secret` to link two exports on purpose). `actions`
    adds up what every file got, for the export's report."""

    def __init__(self, secret: bytes | None = None, *, options: DeidOptions | None = None,
                 min_shift_days: int = 180, max_shift_days: int = 3650) -> None:
        self.secret = secret if secret is not None else secrets.token_bytes(32)
        if not 0 < min_shift_days < max_shift_days:
            raise ValueError("need 0 < min_shift_days < max_shift_days")
        self._min_shift, self._max_shift = min_shift_days, max_shift_days
        self.options = options or DeidOptions()
        self._columns = self.options.columns()
        self._codes: dict[int, tuple[str, str, str, str]] = {}
        self.actions: Counter = Counter()
        self.files = 0

    # --- keyed hashes ---
    def _digest(self, purpose: str, value: str) -> bytes:
        return hmac.new(self.secret, f"{purpose}\0{value}".encode(), hashlib.sha256).digest()

    def pseudonym(self, patient_key: str) -> str:
        return "ANON-" + self._digest("patient", patient_key.strip()).hex()[:12].upper()

    def case_pseudonym(self, case_id: str) -> str:
        return "case-" + self._digest("case", case_id).hex()[:12]

    def file_pseudonym(self, name: str) -> str:
        return "f-" + self._digest("file", name).hex()[:16]

    def date_offset_days(self, patient_key: str) -> int:
        """A negative whole number of days, the same for every date of this patient."""
        n = int.from_bytes(self._digest("date", patient_key.strip())[:8], "big")
        return -(self._min_shift + n % (self._max_shift - self._min_shift + 1))

    def uid(self, uid: str) -> str:
        uid = uid.strip().rstrip("\0")
        if not uid or uid.startswith(_STANDARD_UID_ROOT):
            return uid
        return "2.25." + str(int.from_bytes(self._digest("uid", uid)[:16], "big"))

    # --- datasets ---
    def deidentify(self, ds: Dataset, patient_key: str | None = None) -> DeidReport:
        """De-identify `ds` in place (its file meta is replaced). `patient_key` groups files by
        patient for the pseudonym and the date offset; it defaults to the header's PatientID
        (then name)."""
        key = (patient_key or str(ds.get("PatientID", "") or "").strip()
               or str(ds.get("PatientName", "") or "").strip())
        report = DeidReport(pseudonym=self.pseudonym(key), date_offset_days=self.date_offset_days(key))
        report.burned_in = burned_in_status(ds)
        if report.burned_in:
            source = ("declares burned-in annotation" if report.burned_in == "yes"
                      else "is of a kind that often has text burned into the pixels")
            report.warnings.append(f"image {source}: pixels were not changed, check them by eye")
        sop_class = str(ds.get("SOPClassUID", "") or "")
        ctx = _Context(sop_class, report.pseudonym, timedelta(days=report.date_offset_days), report,
                       iod_tags=iod_attributes(sop_class))
        if self.options.clean_descriptors or self.options.clean_structured_content or \
                self.options.clean_graphics or self.options.retain_patient_characteristics:
            ctx.identifiers = self._identifiers(ds)
        old_meta = getattr(ds, "file_meta", None)
        self._clean(ds, ctx, 0)
        self._mark(ds)
        ds.file_meta = self._new_meta(ds, old_meta)
        self._count_meta(old_meta, report)
        if getattr(ds, "preamble", None):
            ds.preamble = b"\0" * 128  # a preamble may hold another format's header (TIFF)
        self.actions.update(report.actions)
        self.files += 1
        return report

    def deidentify_file(self, src: str | Path, dst: str | Path,
                        patient_key: str | None = None) -> DeidReport:
        """De-identify a DICOM file into `dst`. Files without the DICM preamble or file meta (older
        raw datasets) are read too and written as standard DICOM files. Raises ValueError for a
        file that holds no DICOM dataset."""
        ds = read_tolerant(src)
        if not has_header(ds):
            raise ValueError(f"{Path(src).name} holds no DICOM image header")
        report = self.deidentify(ds, patient_key)
        complete = all(k in ds.file_meta for k in ("MediaStorageSOPClassUID", "MediaStorageSOPInstanceUID"))
        ds.save_as(dst, enforce_file_format=complete)
        return report

    def _new_meta(self, ds: Dataset, old: FileMetaDataset | None) -> FileMetaDataset:
        """File meta written anew (E.1.1 item 7): only what describes the file and this program."""
        meta = FileMetaDataset()
        syntax = old.get("TransferSyntaxUID") if old is not None else None
        if syntax is None:
            implicit, little = getattr(ds, "original_encoding", (True, True))
            syntax = (ImplicitVRLittleEndian if implicit else
                      ExplicitVRLittleEndian if little else ExplicitVRBigEndian)
        meta.TransferSyntaxUID = syntax
        if "SOPClassUID" in ds:
            meta.MediaStorageSOPClassUID = ds.SOPClassUID
        if "SOPInstanceUID" in ds:
            meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
        meta.ImplementationVersionName = f"WORKSTATION_{workstation.__version__}"[:16]
        return meta

    def _count_meta(self, old: FileMetaDataset | None, report: DeidReport) -> None:
        """The file meta is replaced whole; the report says what became of each old element."""
        if old is None:
            return
        kept = {0x00020001, 0x00020002, 0x00020010}
        replaced = {0x00020012, 0x00020013}
        for elem in old.values():
            t = int(elem.tag)
            row = self._rule(t)
            if t == 0x00020000:
                continue
            if row is not None:  # (0002,0003): the instance UID, remapped with SOP Instance UID
                label, name, code, source = row
                action = "K" if code == "K" else "U"
            else:
                label, name, source = tag_label(t), dictionary_description(t) if known(t) else "unknown", "file meta"
                code = action = "K" if t in kept else "D" if t in replaced else "X"
            report.actions[(label, name, code, action, source)] += 1

    def _identifiers(self, ds: Dataset) -> frozenset[str]:
        """Words of the identifying values this profile removes or replaces (names, ids, places,
        dates), to scrub from the free text the clean options keep. Descriptors themselves (rows
        with a C option) are what gets cleaned, so they are not a source."""
        found = []
        for elem in ds.iterall():
            if elem.VR not in _IDENTIFYING_VRS or not elem.value:
                continue
            row = lookup(int(elem.tag))
            if elem.VR == "PN" or (row is not None and code_for(row, ()) not in ("K", "U")
                                   and not any(code == "C" for _, code in row.options)):
                found.append(elem.value)
        return values.identifier_words(found)

    def _rule(self, tag: int) -> tuple[str, str, str, str] | None:
        """(label, name, code after the options, source) of a tag's row, or None."""
        hit = self._codes.get(tag)
        if hit is None:
            row = lookup(tag)
            if row is None:
                return None
            label = row.tag if "x" in row.tag or "g" in row.tag else tag_label(tag)
            hit = (label, row.name, code_for(row, self._columns), FROM_TABLE)
            self._codes[tag] = hit
        return hit

    def _default(self, tag: int, vr: str, ctx: _Context) -> tuple[str, str, str, str]:
        """A rule for an element that E.1-1 does not list."""
        if not known(tag):
            return tag_label(tag), "unknown", "X", UNKNOWN
        name = dictionary_description(tag) or "unknown"
        group = tag >> 16
        first = (tag & 0xFF00FFFF) if 0x6000 <= group <= 0x60FF else tag  # repeating groups: as 6000
        if ctx.iod_tags is not None and first not in ctx.iod_tags:
            return tag_label(tag), name, "X", NOT_IN_IOD
        dates = self.options.retain_dates
        if vr == "PN":
            code = "Z"
        elif vr == "UI":  # a class or a syntax names a kind of object, not an instance
            kind = keyword_for_tag(tag).endswith(("ClassUID", "SyntaxUID"))
            code = "K" if self.options.retain_uids or kind else "U"
        elif vr in ("DA", "DT"):
            code = {"full": "K", "modified": "C"}.get(dates, "X")
        elif vr == "TM":
            code = "K" if dates else "X"
        elif ctx.cleaning and vr in _FREE_TEXT_VRS:
            code = "C"  # the text of a structured report or a graphic annotation
        else:
            code = "K"
        return tag_label(tag), name, code, NOT_IN_TABLE

    def _clean(self, ds: Dataset, ctx: _Context, parent: int) -> None:
        elements = ds._dict
        count = ctx.report.actions
        private_kept: set[tuple[int, int]] = set()
        for tag in list(elements):
            t = int(tag)
            group = t >> 16
            if group == 0 or group == 2:
                del elements[tag]
                count[(tag_label(t), "command or file meta element in the dataset", "X", "X", GROUP_0000)] += 1
                continue
            if group & 1:
                self._private(ds, tag, ctx, parent, private_kept)
                continue
            raw = elements[tag]
            vr = raw.VR if raw.VR and raw.VR != "UN" else dictionary_vr(t)  # UN of a known tag: its real VR
            rule = self._rule(t) or self._default(t, vr, ctx)
            label, name, code, source = rule
            action = resolve(code, ctx.sop_class, t, parent)
            action = self._apply(ds, tag, t, vr, action, ctx)
            count[(label, name, code, action, source)] += 1
        if self.options.retain_safe_private:
            row = table().private
            for tag in list(elements):  # creators of blocks with nothing kept go too
                t = int(tag)
                if t >> 16 & 1 and 0x10 <= (t & 0xFFFF) <= 0xFF:
                    kept = (t >> 16, t & 0xFF) in private_kept
                    if not kept:
                        del elements[tag]
                    count[(row.tag, row.name, "C", "K" if kept else "X", FROM_TABLE)] += 1

    def _private(self, ds: Dataset, tag, ctx: _Context, parent: int, kept: set) -> None:
        t = int(tag)
        row = table().private
        count = ctx.report.actions
        element = t & 0xFFFF
        if self.options.retain_safe_private and element >= 0x1000:
            creator_tag = (t & 0xFFFF0000) | (element >> 8)
            creator = ds._dict.get(pydicom.tag.Tag(creator_tag))
            name = str(ds[creator_tag].value).strip().upper() if creator is not None else ""
            safe = safe_private().get(((t >> 16) << 8 | (element & 0xFF), name))
            if safe is not None:
                kept.add((t >> 16, element >> 8))
                elem = ds[tag]
                if elem.VR == "SQ":
                    for item in elem.value:
                        self._clean(item, ctx, t)
                elif elem.VR == "UI" and not self.options.retain_uids:
                    elem.value = values.map_values(elem.value, self.uid)
                count[(f"({t >> 16:04X},xx{element & 0xFF:02X})", f"{safe['creator']}: {safe['meaning']}"[:80],
                       "C", "K", "E.3.10-1")] += 1
                return
        if self.options.retain_safe_private and 0x10 <= element <= 0xFF:
            return  # a private creator: kept while its block keeps something (see _clean)
        del ds._dict[tag]
        count[(row.tag, row.name, code_for(row, self._columns), "X", FROM_TABLE)] += 1

    def _apply(self, ds: Dataset, tag, t: int, vr: str, action: str, ctx: _Context) -> str:
        """Do `action` to one element; returns the action done."""
        if action == "X":
            del ds._dict[tag]
            return "X"
        if action == "K":
            if vr == "SQ":
                for item in ds[tag].value:
                    self._clean(item, ctx, t)
            return "K"
        if action == "Z":
            if t in (_PATIENT_ID, _PATIENT_NAME):
                put(ds, tag, vr, ctx.pseudonym)  # Z allows a dummy: the pseudonym
            else:
                put(ds, tag, vr, None)
            return "Z"
        if action == "D":
            if t in (_PATIENT_ID, _PATIENT_NAME):
                put(ds, tag, vr, ctx.pseudonym)
            elif vr == "UI":  # a dummy UID: the keyed remapping, so references still agree
                self._apply(ds, tag, t, vr, "U", ctx)
            elif vr == "SQ":
                ds[tag] = DataElement(tag, vr, Sequence([Dataset()]))  # one empty item: nothing inside
            else:
                put(ds, tag, vr, values.dummy(vr))
            return "D"
        if action == "U":
            if vr == "SQ":  # X/Z/U* on a Type 1 sequence: kept, every UID inside remapped
                for item in ds[tag].value:
                    self._clean(item, ctx, t)
            elif vr == "UI":
                before = strings(ds, tag)
                after = [self.uid(v) for v in before]
                if after == [v.strip().rstrip("\0") for v in before] and lookup(t) is None:
                    return "K"  # registry UIDs outside the table (SOP classes, syntaxes) stay as they are
                put(ds, tag, vr, after)
            return "U"
        if action == "C":
            return self._clean_value(ds, tag, t, vr, ctx)
        raise ValueError(f"unknown action {action!r}")

    def _clean_value(self, ds: Dataset, tag, t: int, vr: str, ctx: _Context) -> str:
        if vr == "SQ":
            ctx.cleaning += 1
            try:
                for item in ds[tag].value:
                    self._clean(item, ctx, t)
            finally:
                ctx.cleaning -= 1
            return "C"
        if vr in ("DA", "DT"):
            if self.options.retain_dates != "modified":
                return "K"
            shift = values.shift_da if vr == "DA" else values.shift_dt
            put(ds, tag, vr, [shift(v, ctx.offset) for v in strings(ds, tag)])
            return "C"
        if vr == "TM":
            return "K"  # dates move by whole days: times of day stay true
        if vr in values.TEXT_VRS:
            elem = ds[tag]
            elem.value = values.map_values(elem.value, lambda v: values.scrub(v, ctx.identifiers))
            return "C"
        if vr in ("OB", "OW", "UN"):
            del ds._dict[tag]  # an overlay or curve bitmap: no way to clean it here, so it goes
            return "X"
        return "K"

    def _mark(self, ds: Dataset) -> None:
        for tag in _DE_ID_TAGS:
            ds._dict.pop(pydicom.tag.Tag(tag), None)
        ds.PatientIdentityRemoved = "YES"
        ds.DeidentificationMethod = method_text(self.options)
        items = Sequence()
        for value, meaning in method_codes(self.options):
            item = Dataset()
            item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, "DCM", meaning
            items.append(item)
        ds.DeidentificationMethodCodeSequence = items
        ds.LongitudinalTemporalInformationModified = {"full": "UNMODIFIED", "modified": "MODIFIED"}.get(
            self.options.retain_dates, "REMOVED")
