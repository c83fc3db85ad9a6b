"""Comprehensive 3D SR measurement reports (TID 1500): the detection findings of a case (each with
its centre, diameter, model score and the reader's decision, and the count per region), and a
case's classification label (the reader's decision beside the model's output and provenance).
Our own concepts use the private coding scheme 99WSTN."""
from __future__ import annotations

SCHEME = "99WSTN"


def _code(value: str, meaning: str, scheme: str = SCHEME):
    import highdicom as hd
    return hd.sr.CodedConcept(value=str(value)[:16], scheme_designator=scheme, meaning=str(meaning)[:64])


def _concept(text: str):
    """A local code for a free name (a class, a region, a decision)."""
    import hashlib
    return _code("WS" + hashlib.sha1(text.encode()).hexdigest()[:12].upper(), text)


def _context(reader: str):
    """One person observer (TID 1002): the first reader; a one-word name gets the trailing caret that
    marks it as a family name."""
    import highdicom as hd
    from pydicom.sr.codedict import codes

    reader = (reader or "unknown").split(", ")[0]
    reader = reader if "^" in reader else reader + "^"
    return hd.sr.ObservationContext(observer_person_context=hd.sr.ObserverContext(
        observer_type=codes.DCM.Person,
        observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(name=reader or "unknown")))


def _algorithm(model: dict):
    import highdicom as hd
    if not model.get("plugin_id"):
        return None
    params = [p for p in (f"weights_sha256={model.get('weights_sha256', '')}" if model.get("weights_sha256") else "",
                          f"device={model.get('device', '')}" if model.get("device") else "") if p]
    return hd.sr.AlgorithmIdentification(name=model["plugin_id"][:64], version=model.get("plugin_version") or "0",
                                         parameters=params or None)


def _document(sources, report, title: str, series_number: int):
    import highdicom as hd
    from pydicom.uid import generate_uid
    return hd.sr.Comprehensive3DSR(
        evidence=sources, content=report, series_instance_uid=generate_uid(), series_number=series_number,
        sop_instance_uid=generate_uid(), instance_number=1, manufacturer="workstation", is_complete=True,
        series_description=title[:64], institution_name=None)


def detection_report(sources, findings: list[dict], reader: str, model: dict, series_number: int = 901,
                     extra_groups=()):
    """findings: dicts with id, centre (LPS mm), diameter_mm, score, decision, region; extra_groups:
    more measurement groups (the readers' measurements, measurement_sr.py)."""
    import highdicom as hd
    import numpy as np
    from collections import Counter

    mm, unity = hd.sr.CodedConcept("mm", "UCUM", "millimeter"), hd.sr.CodedConcept("1", "UCUM", "no units")
    frame_of_reference = str(sources[0].get("FrameOfReferenceUID", ""))
    algorithm = _algorithm(model)
    groups = []
    for f in findings:
        surface = hd.sr.VolumeSurface(
            hd.sr.GraphicTypeValues3D.POINT, np.asarray([f["centre"]], float), frame_of_reference,
            source_series=hd.sr.SourceSeriesForSegmentation(str(sources[0].SeriesInstanceUID))) \
            if frame_of_reference else None
        measurements = [hd.sr.Measurement(name=hd.sr.CodedConcept("81827009", "SCT", "Diameter"),
                                          value=float(f.get("diameter_mm") or 0.0), unit=mm)]
        if f.get("score") is not None:
            measurements.append(hd.sr.Measurement(name=_code("WSSCORE", "Model score"), value=float(f["score"]),
                                                  unit=unity, algorithm_id=algorithm))
        evaluations = [hd.sr.QualitativeEvaluation(_code("WSDECISION", "Reader decision"),
                                                   _concept(str(f.get("decision") or "proposed")))]
        if f.get("region"):
            evaluations.append(hd.sr.QualitativeEvaluation(_code("WSREGION", "Region"), _concept(str(f["region"]))))
        uid = hd.UID()
        tracking = hd.sr.TrackingIdentifier(uid=uid, identifier=f"candidate {f.get('id', '')}"[:64])
        if surface is not None:
            groups.append(hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations(
                tracking_identifier=tracking, referenced_volume_surface=surface, finding_type=_concept("detection finding"),
                measurements=measurements, qualitative_evaluations=evaluations))
        else:
            groups.append(hd.sr.MeasurementsAndQualitativeEvaluations(
                tracking_identifier=tracking, finding_type=_concept("detection finding"),
                measurements=measurements, qualitative_evaluations=evaluations))
    accepted = [f for f in findings if f.get("decision") in ("confirmed", "added")]
    counts = Counter(str(f.get("region") or "unassigned") for f in accepted)
    count_measurements = [hd.sr.Measurement(name=_code("WSCOUNT", "Accepted findings"), value=len(accepted), unit=unity)]
    count_measurements += [hd.sr.Measurement(name=_concept(f"count {r}"), value=n, unit=unity)
                           for r, n in sorted(counts.items())]
    groups.append(hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(uid=hd.UID(), identifier="counts by region"),
        finding_type=_concept("finding counts"), measurements=count_measurements))
    report = hd.sr.MeasurementReport(observation_context=_context(reader), procedure_reported=_procedure(sources),
                                     imaging_measurements=groups + list(extra_groups),
                                     referenced_images=_library(sources))
    return _document(sources, report, "workstation detection report", series_number)


def _library(sources):
    """The sources for the report's image library (TID 1600), or None where highdicom cannot describe
    them: a projection image (CR, DX) without Imager Pixel Spacing."""
    projection = [d for d in sources if "ImagePositionPatient" not in d]
    return None if any("ImagerPixelSpacing" not in d for d in projection) else sources


def _procedure(sources):
    from pydicom.sr.codedict import codes

    return codes.LN.CTUnspecifiedBodyRegion if str(sources[0].get("Modality", "")) == "CT" \
        else _concept("imaging procedure")


def measurement_report(sources, groups: list, reader: str, series_number: int = 903):
    """A report of the readers' measurements alone (a case with no label, finding or model output)."""
    import highdicom as hd

    report = hd.sr.MeasurementReport(observation_context=_context(reader), procedure_reported=_procedure(sources),
                                     imaging_measurements=groups, referenced_images=_library(sources))
    return _document(sources, report, "workstation measurements", series_number)


def classification_report(sources, decision: str | list | None, reader: str, model: dict,
                          probabilities: dict | None, series_number: int = 902, extra_groups=()):
    import highdicom as hd

    unity = hd.sr.CodedConcept("1", "UCUM", "no units")
    algorithm = _algorithm(model)
    labels = decision if isinstance(decision, list) else [decision] if decision else []
    evaluations = [hd.sr.QualitativeEvaluation(_code("WSREADER", "Reader decision"), _concept(str(v)))
                   for v in labels]
    measurements = []
    if probabilities:
        top = max(probabilities, key=probabilities.get)
        evaluations.append(hd.sr.QualitativeEvaluation(_code("WSMODEL", "Model output"), _concept(top)))
        measurements = [hd.sr.Measurement(name=_concept(f"probability {name}"), value=float(p), unit=unity,
                                          algorithm_id=algorithm)
                        for name, p in sorted(probabilities.items())]
    group = hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(uid=hd.UID(), identifier="classification"),
        finding_type=_concept("classification"), algorithm_id=algorithm if probabilities else None,
        measurements=measurements or None, qualitative_evaluations=evaluations or None)
    report = hd.sr.MeasurementReport(observation_context=_context(reader), procedure_reported=_concept("imaging procedure"),
                                     imaging_measurements=[group, *extra_groups],
                                     referenced_images=_library(sources))
    return _document(sources, report, "workstation classification", series_number)


__all__ = ["detection_report", "classification_report", "measurement_report"]
