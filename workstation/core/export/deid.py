"""De-identification of DICOM headers: the DICOM PS3.15 E.1 Basic Application Level Confidentiality
Profile, with the Retain Longitudinal Temporal Information with Modified Dates option (every date
of a patient shifted by the same number of days, so intervals survive) and the Retain Patient
Characteristics option (sex, age, size, weight).

- names and patient ids become a pseudonym, a keyed hash (HMAC-SHA256) of the patient's key under a
  per-export secret: the same patient gets the same pseudonym in every file of one export, and no
  table linking pseudonyms to identities is ever written;
- dates (DA, DT) are shifted by a per-patient offset derived from the same keyed hash;
- UIDs are remapped to `2.25.<128-bit keyed hash>`, so references between files stay consistent;
  the registry's own UIDs (1.2.840.10008.*: SOP classes, transfer syntaxes) are kept;
- private tags, curves, overlay data and elements of unknown meaning (VR UN) are dropped; any
  person name not in the table is emptied;
  sequences are cleaned item by item, at any depth;
- pixel data is never touched. Text burned into the pixels cannot be removed here, so images that
  declare it (BurnedInAnnotation YES) or are likely to carry it (ultrasound, secondary capture,
  endoscopy photos) are flagged with a warning.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pydicom
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.datadict import tag_for_keyword
from pydicom.sequence import Sequence
from pydicom.uid import (PYDICOM_IMPLEMENTATION_UID, ExplicitVRBigEndian, ExplicitVRLittleEndian,
                         ImplicitVRLittleEndian)

import workstation

# Action codes, as in PS3.15 Table E.1-1 (with the two options above applied):
#   P  replace with the patient's pseudonym      S  shift the date by the patient's offset
#   Z  keep the element, empty its value          U  remap the UID
#   X  remove the element (a sequence with all it holds)    K  keep as is
PROFILE: dict[str, str] = {
    # patient identity
    "PatientName": "P", "PatientID": "P",
    "OtherPatientIDs": "X", "OtherPatientIDsSequence": "X", "OtherPatientNames": "X",
    "PatientBirthName": "X", "PatientMotherBirthName": "X", "ReferencedPatientAliasSequence": "X",
    "IssuerOfPatientID": "X", "IssuerOfPatientIDQualifiersSequence": "X",
    "PatientBirthDate": "S", "PatientBirthTime": "X",
    "PatientBirthDateInAlternativeCalendar": "X", "PatientDeathDateInAlternativeCalendar": "X",
    "PatientAlternativeCalendar": "X",
    "PatientAddress": "X", "PatientTelephoneNumbers": "X", "PatientTelecomInformation": "X",
    "CountryOfResidence": "X", "RegionOfResidence": "X", "MilitaryRank": "X", "BranchOfService": "X",
    "MedicalRecordLocator": "X", "InsurancePlanIdentification": "X",
    "PatientInsurancePlanCodeSequence": "X", "PatientPrimaryLanguageCodeSequence": "X",
    "PatientReligiousPreference": "X", "Occupation": "X", "ResponsiblePerson": "X",
    "ResponsibleOrganization": "X", "PatientComments": "X", "AdditionalPatientHistory": "X",
    "MedicalAlerts": "X", "Allergies": "X", "EthnicGroup": "X", "SmokingStatus": "X",
    "PregnancyStatus": "X", "LastMenstrualDate": "X", "PatientState": "X",
    "CurrentPatientLocation": "X", "PatientInstitutionResidence": "X",
    "ScheduledPatientInstitutionResidence": "X",
    # patient characteristics (Retain Patient Characteristics option)
    "PatientSex": "K", "PatientAge": "K", "PatientSize": "K", "PatientWeight": "K",
    "PatientSexNeutered": "K",
    # clinical trial
    "ClinicalTrialSubjectID": "Z", "ClinicalTrialSubjectReadingID": "Z",
    "ClinicalTrialSponsorName": "Z", "ClinicalTrialProtocolID": "Z", "ClinicalTrialSiteID": "Z",
    "ClinicalTrialSiteName": "Z",
    # study, visit and request
    "AccessionNumber": "Z", "StudyID": "Z", "StudyDate": "S", "StudyTime": "K",
    "StudyDescription": "X", "SeriesDescription": "X", "ProtocolName": "X", "StudyComments": "X",
    "VisitComments": "X", "AdmittingDiagnosesDescription": "X", "AdmittingDiagnosesCodeSequence": "X",
    "AdmissionID": "X", "IssuerOfAdmissionID": "X", "ServiceEpisodeID": "X",
    "ServiceEpisodeDescription": "X", "ReasonForStudy": "X", "RequestedProcedureDescription": "X",
    "RequestedProcedureID": "X", "RequestAttributesSequence": "X", "RequestingService": "X",
    "PerformedProcedureStepID": "X", "PerformedProcedureStepDescription": "X",
    "ScheduledProcedureStepID": "X", "ScheduledProcedureStepDescription": "X",
    "FillerOrderNumberImagingServiceRequest": "X", "PlacerOrderNumberImagingServiceRequest": "X",
    "ImagingServiceRequestComments": "X", "OrderEnteredBy": "X", "OrderEntererLocation": "X",
    "OrderCallbackPhoneNumber": "X", "DischargeDiagnosisDescription": "X",
    "ReferencedPatientSequence": "X", "ReferencedStudySequence": "X",
    "ReferencedPerformedProcedureStepSequence": "X", "ContrastBolusAgent": "Z",
    # people
    "ReferringPhysicianName": "Z", "ReferringPhysicianAddress": "X",
    "ReferringPhysicianTelephoneNumbers": "X", "ReferringPhysicianIdentificationSequence": "X",
    "ConsultingPhysicianName": "X", "ConsultingPhysicianIdentificationSequence": "X",
    "PhysiciansOfRecord": "X", "PhysiciansOfRecordIdentificationSequence": "X",
    "PerformingPhysicianName": "X", "PerformingPhysicianIdentificationSequence": "X",
    "NameOfPhysiciansReadingStudy": "X", "PhysiciansReadingStudyIdentificationSequence": "X",
    "OperatorsName": "X", "OperatorIdentificationSequence": "X", "RequestingPhysician": "X",
    "ScheduledPerformingPhysicianName": "X", "ContentCreatorName": "Z", "PersonName": "X",
    "PersonAddress": "X", "PersonTelephoneNumbers": "X", "VerifyingObserverName": "X",
    "VerifyingObserverSequence": "X", "VerifyingOrganization": "X", "AuthorObserverSequence": "X",
    "ParticipantSequence": "X", "CustodialOrganizationSequence": "X", "HumanPerformerName": "X",
    "HumanPerformerOrganization": "X", "NamesOfIntendedRecipientsOfResults": "X",
    "InterpretationAuthor": "X", "InterpretationRecorder": "X", "InterpretationTranscriber": "X",
    "InterpretationText": "X", "InterpretationDiagnosisDescription": "X", "InterpretationID": "X",
    "Impressions": "X", "ResultsID": "X", "ResultsComments": "X", "DistributionName": "X",
    "DistributionAddress": "X",
    # institution, station and device identity
    "InstitutionName": "X", "InstitutionAddress": "X", "InstitutionalDepartmentName": "X",
    "InstitutionalDepartmentTypeCodeSequence": "X", "InstitutionCodeSequence": "X",
    "StationName": "X", "DeviceSerialNumber": "X", "DetectorID": "X", "GantryID": "X",
    "GeneratorID": "X", "CassetteID": "X", "PlateID": "X", "ModifyingDeviceID": "X",
    "ScheduledStationName": "X", "ScheduledStationAETitle": "X", "PerformedStationName": "X",
    "PerformedStationAETitle": "X", "PerformedLocation": "X", "SourceApplicationEntityTitle": "X",
    "SoftwareVersions": "X", "DateOfLastCalibration": "X", "TimeOfLastCalibration": "X",
    "DateOfSecondaryCapture": "X", "TimezoneOffsetFromUTC": "X",
    # free text and embedded content that may name the patient
    "ImageComments": "X", "ImagePresentationComments": "X", "IdentifyingComments": "X",
    "AcquisitionComments": "X", "AcquisitionDeviceProcessingDescription": "X",
    "DerivationDescription": "X", "FrameComments": "X", "ModifiedImageDescription": "X",
    "TextString": "X", "TextComments": "X", "Arbitrary": "X", "ContentSequence": "X",
    "IconImageSequence": "X", "OriginalAttributesSequence": "X", "ModifiedAttributesSequence": "X",
    "DigitalSignaturesSequence": "X", "DataSetTrailingPadding": "X",
    "ReferencedImageSequence": "X", "SourceImageSequence": "X",
    # UIDs
    "StudyInstanceUID": "U", "SeriesInstanceUID": "U", "SOPInstanceUID": "U",
    "MediaStorageSOPInstanceUID": "U", "FrameOfReferenceUID": "U",
    "SynchronizationFrameOfReferenceUID": "U", "RelatedFrameOfReferenceUID": "U",
    "ReferencedFrameOfReferenceUID": "U", "ReferencedSOPInstanceUID": "U", "InstanceCreatorUID": "U",
    "IrradiationEventUID": "U", "DimensionOrganizationUID": "U", "ConcatenationUID": "U",
    "StorageMediaFileSetUID": "U", "TransactionUID": "U", "UID": "U", "DeviceUID": "U",
    "FiducialUID": "U", "TargetUID": "U",
}

_BY_TAG: dict[int, str] = {int(tag_for_keyword(k)): a for k, a in PROFILE.items()}
_STANDARD_UID_ROOT = "1.2.840.10008."
_OVERLAY_DATA_ELEMENTS = (0x3000, 0x4000)  # (60xx,3000) Overlay Data, (60xx,4000) Overlay Comments
# SOP classes whose pixels are often screenshots or photos with text in them
_LIKELY_BURNED_IN_SOP_PREFIXES = ("1.2.840.10008.5.1.4.1.1.7", "1.2.840.10008.5.1.4.1.1.77.1")
_LIKELY_BURNED_IN_MODALITIES = {"US", "IVUS", "ES", "XC", "GM", "SM", "OT", "DOC"}

# De-identification Method is LO (64 characters a value), so one value per profile and option
METHOD = ["PS3.15 Basic Application Level Confidentiality Profile",
          "Retain Longitudinal Temporal Information Modified Dates",
          "Retain Patient Characteristics"]
_METHOD_CODES = (("113100", "Basic Application Confidentiality Profile"),
                 ("113107", "Retain Longitudinal Temporal Information Modified Dates Option"),
                 ("113108", "Retain Patient Characteristics Option"))


@dataclass
class DeidReport:
    """What de-identifying one dataset did; `burned_in` is "yes", "likely" or ""."""
    pseudonym: str
    date_offset_days: int
    burned_in: str = ""
    warnings: list[str] = field(default_factory=list)


def burned_in_status(ds: Dataset) -> str:
    """"yes" when the header declares burned-in annotation, "likely" for kinds of image that often
    carry it and do not say NO, else ""."""
    flag = str(ds.get("BurnedInAnnotation", "") or "").strip().upper()
    if flag == "YES":
        return "yes"
    if flag == "NO":
        return ""
    sop = str(ds.get("SOPClassUID", "") or "")
    modality = str(ds.get("Modality", "") or "").strip().upper()
    if modality in _LIKELY_BURNED_IN_MODALITIES or sop.startswith(_LIKELY_BURNED_IN_SOP_PREFIXES):
        return "likely"
    return ""


class Deidentifier:
    """Applies the profile with one secret; use one instance per export so that pseudonyms, date
    offsets and UIDs are consistent across all files of the export and unlinkable to other exports
    (pass the same `secret` to link two exports on purpose)."""

    def __init__(self, secret: bytes | None = None, *, min_shift_days: int = 180,
                 max_shift_days: int = 3650) -> None:
        self.secret = secret if secret is not None else secrets.token_bytes(32)
        if not 0 < min_shift_days < max_shift_days:
            raise ValueError("need 0 < min_shift_days < max_shift_days")
        self._min_shift, self._max_shift = min_shift_days, max_shift_days

    def _digest(self, purpose: str, value: str) -> bytes:
        return hmac.new(self.secret, f"{purpose}\0{value}".encode(), hashlib.sha256).digest()

    def pseudonym(self, patient_key: str) -> str:
        return "ANON-" + self._digest("patient", patient_key.strip()).hex()[:12].upper()

    def case_pseudonym(self, case_id: str) -> str:
        return "case-" + self._digest("case", case_id).hex()[:12]

    def date_offset_days(self, patient_key: str) -> int:
        """A negative whole number of days, the same for every date of this patient."""
        n = int.from_bytes(self._digest("date", patient_key.strip())[:8], "big")
        return -(self._min_shift + n % (self._max_shift - self._min_shift + 1))

    def uid(self, uid: str) -> str:
        uid = uid.strip().rstrip("\0")
        if not uid or uid.startswith(_STANDARD_UID_ROOT):
            return uid
        return "2.25." + str(int.from_bytes(self._digest("uid", uid)[:16], "big"))

    def deidentify(self, ds: Dataset, patient_key: str | None = None) -> DeidReport:
        """De-identify `ds` in place (its file meta too). `patient_key` groups files by patient for
        the pseudonym and the date offset; it defaults to the header's PatientID (then name)."""
        key = (patient_key or str(ds.get("PatientID", "") or "").strip()
               or str(ds.get("PatientName", "") or "").strip())
        report = DeidReport(pseudonym=self.pseudonym(key), date_offset_days=self.date_offset_days(key))
        report.burned_in = burned_in_status(ds)
        if report.burned_in:
            source = ("declares burned-in annotation" if report.burned_in == "yes"
                      else "is of a kind that often has text burned into the pixels")
            report.warnings.append(f"image {source}: pixels were not changed, check them by eye")
        offset = timedelta(days=report.date_offset_days)

        self._clean(ds, report.pseudonym, offset)
        self._mark(ds)
        if getattr(ds, "file_meta", None) is not None:
            meta = ds.file_meta
            if "SOPInstanceUID" in ds:
                meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
            meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
            meta.ImplementationVersionName = f"WORKSTATION_{workstation.__version__}"[:16]
            for keyword in ("SourceApplicationEntityTitle", "SendingApplicationEntityTitle",
                            "ReceivingApplicationEntityTitle", "PrivateInformation",
                            "PrivateInformationCreatorUID"):
                if keyword in meta:
                    delattr(meta, keyword)
        if getattr(ds, "preamble", None):
            ds.preamble = b"\0" * 128  # a preamble may hold another format's header (TIFF)
        return report

    def deidentify_file(self, src: str | Path, dst: str | Path,
                        patient_key: str | None = None) -> DeidReport:
        """De-identify a DICOM file into `dst`. Files without the DICM preamble or file meta (older
        raw datasets) are read too and written as standard DICOM files. Raises ValueError for a
        file that holds no DICOM dataset."""
        ds = pydicom.dcmread(src, force=True)
        if not any(k in ds for k in ("SOPClassUID", "SOPInstanceUID", "PatientID", "StudyInstanceUID")):
            raise ValueError(f"{Path(src).name} holds no DICOM image header")
        report = self.deidentify(ds, patient_key)
        meta = ds.file_meta
        if "TransferSyntaxUID" not in meta:
            implicit, little = getattr(ds, "original_encoding", (True, True))
            meta.TransferSyntaxUID = (ImplicitVRLittleEndian if implicit else
                                      ExplicitVRLittleEndian if little else ExplicitVRBigEndian)
        for meta_kw, ds_kw in (("MediaStorageSOPClassUID", "SOPClassUID"),
                               ("MediaStorageSOPInstanceUID", "SOPInstanceUID")):
            if ds_kw in ds:
                setattr(meta, meta_kw, ds[ds_kw].value)
        complete = all(k in meta for k in ("MediaStorageSOPClassUID", "MediaStorageSOPInstanceUID"))
        ds.save_as(dst, enforce_file_format=complete)
        return report

    def _clean(self, ds: Dataset, pseudonym: str, offset: timedelta) -> None:
        """Apply the profile to every element, recursing into sequence items. Like
        `Dataset.remove_private_tags` + `Dataset.walk` in one pass, but private and dropped elements
        are deleted before pydicom decodes them (decoding them was two thirds of the time)."""
        for tag in list(ds.keys()):
            group, element = tag.group, tag.element
            if tag.is_private or 0x5000 <= group <= 0x50FF or (
                    0x6000 <= group <= 0x60FF and element in _OVERLAY_DATA_ELEMENTS):
                del ds[tag]  # private data, curves, overlay bitmaps and their comments
                continue
            if _BY_TAG.get(int(tag)) == "X":
                del ds[tag]
                continue
            elem = ds[tag]
            self._apply(ds, elem, pseudonym, offset)
            if tag in ds and elem.VR == "SQ":
                for item in elem.value:
                    self._clean(item, pseudonym, offset)

    def _apply(self, ds: Dataset, elem: DataElement, pseudonym: str, offset: timedelta) -> None:
        tag = int(elem.tag)
        action = _BY_TAG.get(tag)
        if action is None:  # not in the table: rules by value representation
            # UN: an element this dictionary does not know, so nobody can say what it holds
            action = {"UI": "U", "DA": "S", "DT": "S", "PN": "Z", "UN": "X"}.get(elem.VR, "K")
        if action == "X":
            del ds[elem.tag]
        elif action == "Z":
            elem.value = Sequence() if elem.VR == "SQ" else ""
        elif action == "P":
            elem.value = pseudonym
        elif action == "U" and elem.VR == "UI":
            elem.value = _map_values(elem.value, self.uid)
        elif action == "S" and elem.VR in ("DA", "DT"):
            shift = _shift_da if elem.VR == "DA" else _shift_dt
            elem.value = _map_values(elem.value, lambda v: shift(v, offset))

    @staticmethod
    def _mark(ds: Dataset) -> None:
        ds.PatientIdentityRemoved = "YES"
        ds.DeidentificationMethod = METHOD
        codes = Sequence()
        for value, meaning in _METHOD_CODES:
            item = Dataset()
            item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, "DCM", meaning
            codes.append(item)
        ds.DeidentificationMethodCodeSequence = codes
        ds.LongitudinalTemporalInformationModified = "MODIFIED"


def _map_values(value, func):
    if value is None:
        return value
    if isinstance(value, (list, tuple, MultiValue)):
        return [func(str(v)) for v in value]
    return func(str(value))


def _parse_date(text: str) -> date | None:
    text = text.strip().replace(".", "")  # the old ACR-NEMA form YYYY.MM.DD
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


def _shift_da(text: str, offset: timedelta) -> str:
    parsed = _parse_date(text)
    return "" if parsed is None else (parsed + offset).strftime("%Y%m%d")  # unparsable: emptied


def _shift_dt(text: str, offset: timedelta) -> str:
    text = text.strip()
    parsed = _parse_date(text[:8])
    if parsed is None:
        return ""
    return (parsed + offset).strftime("%Y%m%d") + text[8:]
