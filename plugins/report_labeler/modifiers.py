"""Negation, uncertainty, pseudo-trigger and termination phrases for chest radiograph reports.

Pseudo-triggers contain a negation or uncertainty word but are not one ("no change in the
effusion", "gram negative", "no consolidation ... to suggest pneumonia"); being longer, they win
over the word inside them and so disarm it. Scope rules are in context.py.
"""
from __future__ import annotations

from .context import BACKWARD, BOTH, FORWARD, NEGATED, PSEUDO, TERMINATE, UNCERTAIN, ModifierRule

_SEEN = r"(?:seen|identified|visuali[sz]ed|demonstrated|appreciated|present|evident|visible|detected|noted|observed)"

NEGATION = [
    ModifierRule(r"no|not|without|neither|nor|never|denies", NEGATED, FORWARD),
    ModifierRule(r"no (?:[\w-]+ ){0,2}(?:evidence|signs?|suggestion|findings?) (?:of|for)", NEGATED, FORWARD),
    ModifierRule(r"negative for|free of|clear of|absence of|resolution of|interval resolution of", NEGATED, FORWARD),
    ModifierRule(r"fail(?:s|ed)? to (?:demonstrate|show|reveal)|rules out|excludes", NEGATED, FORWARD),
    ModifierRule(rf"(?:(?:is|are|was|were|has been|have been) )?(?:not|no longer) {_SEEN}", NEGATED, BACKWARD),
    ModifierRule(r"no longer " + _SEEN, NEGATED, BACKWARD),
    ModifierRule(r"(?:(?:is|are|has|have|has been|have been) )?(?:resolved|absent|cleared|excluded)", NEGATED, BACKWARD),
    ModifierRule(r"(?:(?:has|have) been |was |were |is |are )?ruled out", NEGATED, BOTH),
    ModifierRule(r"unlikely|absent", NEGATED, BOTH),
]

UNCERTAINTY = [
    ModifierRule(r"possible|possibly|probable|probably|likely|less likely|more likely|questionable|presumed|presumably|"
                 r"perhaps|suspicious for|suspicion (?:of|for)|concern(?:ing)? for|worrisome for|equivocal(?: for)?|"
                 r"indeterminate|uncertain|question of|suggest(?:s|ive of|ing)?|could|might|may|may represent|"
                 r"could represent|may be|could be", UNCERTAIN, FORWARD),
    ModifierRule(r"rule out|r/o|to exclude|(?:evaluate|evaluation|eval|assess|assessment) for|"
                 r"differential(?: diagnosis)? (?:includes?|considerations? includes?|of)|"
                 r"(?:cannot|can not|can't) (?:be )?(?:entirely |completely |totally )?(?:excluded?|ruled? out)",
                 UNCERTAIN, BOTH),
    ModifierRule(r"(?:is |are )?not (?:be )?(?:entirely |completely )?(?:excluded|ruled out)", UNCERTAIN, BACKWARD),
    ModifierRule(r"suspected|versus|vs\.?", UNCERTAIN, BOTH, window=5),
    ModifierRule(r"(?:is|are) (?:also |still )?(?:possible|questioned|suspected|a consideration|considered)|"
                 r"(?:may|might|could) (?:also )?be present", UNCERTAIN, BACKWARD),
    ModifierRule(r"borderline", UNCERTAIN, FORWARD, window=2),
]

PSEUDO_TRIGGERS = [
    ModifierRule(r"no (?:significant |substantial |appreciable |definite )?(?:interval )?(?:change|increase|decrease)|"
                 r"without (?:significant |interval )?(?:change|increase|decrease)|unchanged|"
                 r"not (?:significantly |substantially )?(?:changed|increased|decreased|only)|gram[- ]negative|"
                 r"to suggest|to indicate", PSEUDO, FORWARD),
]

TERMINATION = [
    ModifierRule(r"but|however|although|though|except(?: for)?|apart from|aside from|other than|besides|which|whereas|"
                 r"while|yet|nevertheless|otherwise|(?:and )?there (?:is|are|has been|have been)|"
                 r"with the exception of|in addition|additionally", TERMINATE),
]

# After a comma, these start a new clause: "No effusion, small left pneumothorax."
COMMA_CLAUSE = (r"(?:and |with )?(?:a |an |the )?(?:mild|moderate|severe|small|large|minimal|trace|tiny|stable|persistent|new|"
                r"increas\w*|decreas\w*|worsen\w*|improv\w*|residual|again|chronic|extensive|massive|subtle|known)|with")

# "atelectasis or scarring": either may be the truth.
ALTERNATIVE = r"or|and/or"


def modifier_rules() -> list[ModifierRule]:
    return NEGATION + UNCERTAINTY + PSEUDO_TRIGGERS + TERMINATION
