"""`workstation info --json` on damaged files made from real ones (tests/robustness/corpus.py).

A damaged file gives exit 2, exactly one line on stderr naming it, nothing but JSON on stdout,
no record of it as an image, no traceback, no MemoryError, within a 3 GB address space.
Tolerable damage is never a traceback; when its pixels are untouched and it is accepted, it
reads as the intact file does."""
from __future__ import annotations

import math
import sys
from collections import Counter

import pytest

corpus = sys.modules["ws_robustness_corpus"]

FAMILIES = ["dicom", "nifti", "png", "jpeg", "other"]


def _describe(e) -> str:
    return f"{e.path.name} [{e.source}: {e.mutation}; {e.why}]"


def refusal_problems(e, o) -> list[str]:
    p = []
    if o.crash:
        p.append(o.crash)
    if not o.stdout_is_json:
        p.append("stdout is not only JSON: " + repr(o.run.out[:120]))
    if o.rc != 2:
        p.append(f"exit {o.rc}, not 2")
    if len(o.lines) != 1:
        p.append(f"{len(o.lines)} stderr lines, not 1: {o.lines[:3]!r}"[:400])
    elif not o.lines[0].startswith("workstation info: ") or e.path.name not in o.lines[0]:
        p.append(f"the stderr line does not name the file: {o.lines[0]!r}"[:300])
    if o.records:
        r = o.records[0]
        p.append(f"ACCEPTED as an image: size {r.get('size')} min {r.get('min')} "
                 f"max {r.get('max')} spacing {r.get('spacing')} warnings {r.get('warnings')}"
                 [:300])
    if o.refused is not None and len(o.refused) != 1:
        p.append(f"listed {len(o.refused)} times in the JSON 'refused' list")
    return p


def _report(entries, outcomes, check) -> str:
    bad = []
    for e in entries:
        problems = check(e, outcomes[e.path])
        if problems:
            bad.append(f"- {_describe(e)}: " + "; ".join(problems))
    return "\n".join(bad)


@pytest.mark.parametrize("family", FAMILIES)
def test_info_refuses_damaged_files(family, damaged, info_outcomes):
    entries = [e for e in damaged if e.family == family and e.verdict == corpus.MUST_REFUSE
               and not e.solo]
    assert entries
    bad = _report(entries, info_outcomes, refusal_problems)
    assert not bad, f"{bad.count(chr(10)) + 1} of {len(entries)} damaged {family} files:\n{bad}"


def test_info_refuses_bombs_loops_and_devices_within_memory(damaged, info_outcomes):
    """Decompression bombs (8 GiB gzip, 40000x40000 PNG, 65535x65535 DICOM, 65000x65000 JPEG,
    a million frames), a FIFO, links to /dev/zero and symlink-loop folders: each run alone
    under RLIMIT_AS = 3 GB."""
    entries = [e for e in damaged if e.solo]
    assert len(entries) >= 12
    bad = _report(entries, info_outcomes, refusal_problems)
    assert not bad, f"{bad.count(chr(10)) + 1} of {len(entries)}:\n{bad}"


def test_info_reports_a_damaged_slice_in_a_series(damaged, info_outcomes):
    def check(e, o):
        p = []
        if o.crash:
            p.append(o.crash)
        if not o.stdout_is_json:
            p.append("stdout is not only JSON")
        if o.rc != 2:
            p.append(f"exit {o.rc}, not 2")
        if len(o.lines) != 1:
            p.append(f"{len(o.lines)} stderr lines, not 1: {o.lines[:3]!r}")
        elif str(e.path) not in o.lines[0]:
            p.append(f"the line does not name a file of the series: {o.lines[0]!r}")
        return p
    entries = [e for e in damaged if e.verdict == corpus.MUST_ERROR]
    assert len(entries) == 3
    bad = _report(entries, info_outcomes, check)
    assert not bad, bad


def tolerated_problems(e, o) -> list[str]:
    p = []
    if o.crash:
        p.append(o.crash)
    if not o.stdout_is_json:
        p.append("stdout is not only JSON: " + repr(o.run.out[:120]))
    if o.rc not in (0, 2):
        p.append(f"exit {o.rc}")
    if o.rc == 0 and o.lines:
        p.append(f"exit 0 but stderr has {o.lines[:2]!r}")
    if o.rc == 2 and len(o.lines) != 1:
        p.append(f"refused with {len(o.lines)} stderr lines, not 1: {o.lines[:3]!r}"[:400])
    return p


@pytest.mark.parametrize("family", FAMILIES)
def test_info_on_tolerable_damage_is_clean(family, damaged, info_outcomes):
    entries = [e for e in damaged if e.family == family and e.verdict == corpus.MAY_ACCEPT]
    if family == "other":
        assert not entries
        return
    assert entries
    bad = _report(entries, info_outcomes, tolerated_problems)
    assert not bad, f"{bad.count(chr(10)) + 1} of {len(entries)}:\n{bad}"


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(float(a), float(b), rel_tol=1e-6, abs_tol=1e-9)


def test_accepted_variants_with_untouched_pixels_read_as_the_intact_file(damaged,
                                                                         info_outcomes):
    """A file whose pixels the damage did not touch, if accepted, must show the intact file's
    size and values: never a zero-filled or partly read image."""
    bad, checked = [], 0
    for e in damaged:
        if e.same_as is None:
            continue
        o, ref = info_outcomes[e.path], info_outcomes[e.same_as]
        assert ref.records, f"the intact {e.same_as.name} was not read: {ref.lines}"
        if not o.records:
            continue
        checked += 1
        a, b = o.records[0], ref.records[0]
        diff = [k for k in ("size", "dtype") if a.get(k) != b.get(k)]
        diff += [k for k in ("min", "max", "mean") if not _same(a.get(k), b.get(k))]
        if diff:
            bad.append(f"- {_describe(e)}: " + ", ".join(
                f"{k} {a.get(k)} (intact: {b.get(k)})" for k in diff))
    assert checked >= 5
    assert not bad, "\n".join(bad)


def test_info_reads_the_intact_originals(damaged, info_outcomes):
    """The controls: the real files the corpus was made from are read (else the damage tests
    would prove nothing)."""
    bad = []
    for e in damaged:
        if e.verdict != corpus.VALID:
            continue
        o = info_outcomes[e.path]
        if o.crash or o.rc != 0 or o.lines or len(o.records) != 1:
            bad.append(f"- {e.path.name}: exit {o.rc}, {o.crash or ''} {o.lines[:2]} "
                       f"{len(o.records)} records")
    assert not bad, "\n".join(bad)


def test_corpus_covers_the_damage_the_issue_names(damaged):
    verdicts = Counter(e.verdict for e in damaged)
    assert verdicts[corpus.MUST_REFUSE] + verdicts[corpus.MUST_ERROR] + verdicts[
        corpus.MAY_ACCEPT] >= 200
    assert verdicts[corpus.MUST_REFUSE] >= 200
    muts = " | ".join(e.mutation for e in damaged).lower()
    for needle in ("cut@", "cut at 50%", "cut last", "flip header", "flip pixel", "rows x2",
                   "bitsallocated", "numberofframes", "iop nan", "ipp nan", "pixelspacing nan",
                   "rescaleslope nan", "dim1 x2", "bitpix", "datatype", "vox_offset",
                   "sform nan", "qoffset nan", "quaternion invalid", "pixdim1 negative",
                   "gzip bomb", "bomb 40000x40000", "plain nifti named .gz", "gz cut",
                   "ts labelled", "symlink loop", "empty file", "random bytes", "fifo",
                   "/dev/zero"):
        assert needle in muts, needle
    sources = {e.source for e in damaged}
    for name in ("CT_small.dcm", "MR_small.dcm", "JPGExtended.dcm", "MR_small_RLE.dcm",
                 "MR_small_jp2klossless.dcm", "emri_small.dcm", "eCT_Supplemental.dcm",
                 "US1_UNCR.dcm", "MNI152", "RG1_UNCR.dcm pixels"):
        assert name in sources, name
