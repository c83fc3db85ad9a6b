"""The 14 ChestX-ray14 findings and the phrases a chest radiograph report uses for them.

Patterns are regular expressions matched on whole words, case-insensitively; where two overlap, the
longer wins, which is how "pleural thickening" beats "thickening", "hydropneumothorax" gives both
Pneumothorax and Effusion, and the exclusions at the end ("subcutaneous emphysema", "mass effect",
"pericardial effusion") hide a finding word that does not mean that finding.
"""
from __future__ import annotations

from .context import TargetRule

FINDINGS = (
    "Atelectasis", "Cardiomegaly", "Effusion", "Infiltration", "Mass", "Nodule", "Pneumonia",
    "Pneumothorax", "Consolidation", "Edema", "Emphysema", "Fibrosis", "Pleural_Thickening", "Hernia",
)
NO_FINDING = "No Finding"
NORMAL = "__normal__"  # a statement that the study is normal; it feeds "No Finding" only

_HEART = r"(?:heart(?: size)?|cardiac (?:size|silhouette|shadow)|cardiomediastinal (?:silhouette|contours?)|size of the heart)"
_BE = r"(?:is |are |appears |appear |remains |remain |was |seems )?"
_OPACITY = r"(?:opacit(?:y|ies)|densit(?:y|ies))"

SYNONYMS: dict[str, list[str]] = {
    "Atelectasis": [
        r"atelecta(?:sis|ses|tic)(?: changes?)?", r"(?:lobar|lobe|segmental|subsegmental|lung) collapse",
        r"collapse of the (?:[\w-]+ ){0,3}(?:lobe|lung|segment)", r"collapsed (?:[\w-]+ ){0,2}(?:lobe|lung|segment)",
        r"volume loss",
    ],
    "Cardiomegaly": [
        r"cardiomegaly", r"cardiac enlargement", r"enlarge(?:d|ment of the) " + _HEART,
        r"enlarged heart", rf"{_HEART} {_BE}(?:[\w]+ly |not |now )*enlarged",
    ],
    "Effusion": [
        r"(?:pleural )?effusions?", r"hydrothora(?:x|ces)", r"pleural fluid", r"fluid in the (?:[\w-]+ ){0,2}pleural space",
        r"layering (?:pleural )?fluid", r"blunting of the (?:[\w-]+ ){0,2}(?:costophrenic|cp) (?:angles?|sulc(?:us|i))",
        r"(?:costophrenic|cp) (?:angle|sulcus) blunting", r"blunted (?:[\w-]+ ){0,2}(?:costophrenic|cp) (?:angles?|sulc(?:us|i))",
    ],
    "Infiltration": [r"infiltrat(?:e|es|ion|ions|ive)", r"air[- ]?space (?:disease|process|opacit(?:y|ies))"],
    "Mass": [r"mass(?:es)?", r"mass lesions?", r"tumou?rs?", r"neoplasms?", r"neoplastic", r"malignancy", r"carcinoma",
             r"lung cancer"],
    "Nodule": [r"nodules?", r"micronodul(?:e|es|ar)", rf"nodular (?:{_OPACITY}|lesions?)", r"nodularity",
               r"granulom(?:a|as|ata)", r"coin lesions?"],
    "Pneumonia": [r"(?:broncho)?pneumonias?", r"pneumonic", r"pna", r"infection", r"infectious(?: process| etiology)?"],
    "Pneumothorax": [r"pneumothora(?:x|ces)", r"ptx"],
    "Consolidation": [r"consolidat(?:ion|ions|ive|ed)(?: " + _OPACITY + ")?", r"air[- ]?space consolidation"],
    "Edema": [r"o?edema(?:tous)?", r"(?:pulmonary )?vascular congestion", r"pulmonary congestion", r"kerley(?: b)? lines",
              r"fluid overload"],
    "Emphysema": [r"emphysema(?:tous)?(?: changes?)?", r"bullae", r"bulla", r"bullous(?: changes?| disease| emphysema)?"],
    "Fibrosis": [r"fibros(?:is|es)", r"fibrotic(?: changes?| lung disease)?", r"scar(?:s|ring)?", r"honeycomb(?:ing)?",
                 r"usual interstitial pneumonia", r"uip", r"ipf"],
    "Pleural_Thickening": [r"pleural thickening", r"thickened pleura", r"thickening of the pleura",
                           r"(?:calcified )?pleural (?:plaques?|calcifications?|scarring)", r"(?:apical )?pleural caps?",
                           r"apical caps?"],
    "Hernia": [r"hernias?", r"herniation", r"(?:hiatal|hiatus|diaphragmatic|bochdalek|morgagni) hernias?"],
}

# Phrases with a value of their own: "normal heart size" says Cardiomegaly = 0 without any "no".
FIXED: list[tuple[str, tuple[str, ...], int]] = [
    (rf"(?:normal|unremarkable)(?: sized?)? {_HEART}", ("Cardiomegaly",), 0),
    (rf"{_HEART} {_BE}(?:within normal limits|normal(?: in size)?|unremarkable|not enlarged)", ("Cardiomegaly",), 0),
    (rf"{_HEART} {_BE}(?:at )?(?:the )?(?:upper limits? of normal|top normal|borderline(?: enlarged)?)", ("Cardiomegaly",), -1),
    (rf"(?:borderline|top normal|upper normal) (?:enlarged )?{_HEART}", ("Cardiomegaly",), -1),
    (r"(?:costophrenic|cp) (?:angles?|sulci) (?:is |are |appear |remain )?(?:sharp|clear|preserved|well defined)", ("Effusion",), 0),
    (r"sharp (?:costophrenic|cp) (?:angles?|sulci)", ("Effusion",), 0),
    # normal-study statements: they make "No Finding" a mentioned label
    (r"no (?:(?:radiographic |definite |convincing )?evidence (?:of|for) )?acute (?:[\w-]+ )?"
     r"(?:disease|process|abnormalit(?:y|ies)|findings?|pathology)", (NORMAL,), 1),
    (r"no (?:radiographic )?(?:abnormalit(?:y|ies)|active disease)", (NORMAL,), 1),
    (r"normal (?:chest )?(?:study|exam|examination|radiographs?|x-?rays?|films?|chest)", (NORMAL,), 1),
    (r"lungs? " + _BE + r"(?:(?:well )?(?:expanded|aerated|inflated) and )?clear", (NORMAL,), 1),
    (r"clear lungs", (NORMAL,), 1),
    (r"(?:chest|study|examination|radiograph) (?:is )?(?:unremarkable|normal|within normal limits)", (NORMAL,), 1),
    (r"unremarkable (?:chest|study|examination|exam|radiograph)", (NORMAL,), 1),
]

# Finding words that mean something else here.
EXCLUDED = [
    r"(?:subcutaneous|surgical|soft tissue|mediastinal|chest wall) emphysema",
    r"(?:soft tissue|subcutaneous|chest wall|extremity|peripheral) o?edema",
    r"(?:pericardial|joint) effusions?", r"mass effect", r"(?:body|muscle|bone) mass",
    r"(?:disc|disk) herniation", r"scar(?:ring)? from (?:prior )?surgery", r"sternotomy scar", r"surgical scar",
]


def target_rules() -> list[TargetRule]:
    rules = [TargetRule(p, (finding,)) for finding, patterns in SYNONYMS.items() for p in patterns]
    rules.append(TargetRule(r"hydropneumothora(?:x|ces)", ("Pneumothorax", "Effusion")))
    rules += [TargetRule(p, findings, fixed) for p, findings, fixed in FIXED]
    rules += [TargetRule(p, ()) for p in EXCLUDED]
    return rules
