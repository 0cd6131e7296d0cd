"""Safety, first and last: what a question needs before anything is retrieved, and the answer's check.

Before composition (:class:`SafetyChecker`), a question gets one of six labels (shared/clinical/qa/QA.md):

- ``emergency``: a red flag of the knowledge base (clinical-brief.md section 4) or of the general
  emergencies (general-red-flags.md) fires on what the person says is happening *now*;
- ``refuse_dose``: it asks for the dose of a prescription medicine (quinine, muscle relaxants,
  opioids...): no dose is given, whatever else the question says;
- ``out_of_scope``: it is not a health question (a poem, code, the weather);
- ``urgent`` / ``doctor`` / ``self_care``: the engine's triage of the described symptoms
  (``consultation_24`` / ``consultation`` / ``self_care``), or ``self_care`` for a question that
  describes none.

Symptoms are read with the symptom checker's own parser (negation: "no fever" is no fever; hedges;
mentions about other people; misspellings) and triaged with its red-flag rules and Bayes triage: the
red flags are the loaded packs' (the thigh-and-groin pack's clinical-brief section 4, the general
pack's general-red-flags.md), with their synonyms; nothing here adds a rule of its own. On top come
the features keyword lists miss: past history ("I had a DVT in 2019"), figures of speech ("gave me a
heart attack"), a condition named as a topic ("can an abscess cause a heart attack?") and educational
or hypothetical framing ("what are the signs of a stroke") do not raise an alarm; an information
request ("what foods help my cramps?") is not turned into an appointment by the Bayes triage of one
finding; prompt injection ("ignore your rules...") is recorded and otherwise treated as part of the
question, never as an instruction, and it never unlocks a dose.

After composition, :func:`post_check` checks the text once more: no dose, no certain diagnosis, no
reassurance that could talk someone out of care, the emergency message present when needed, and no
"call 999 now" in an answer that is not an emergency.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np

from curbside.engine.inference import Evidence, posterior
from curbside.engine.kb.schema import FindingKind, TriageLevel
from curbside.engine.parse import ParsedText
from curbside.engine.parse.mentions import Mention
from curbside.engine.session import Engine
from curbside.engine.triage import triage

SafetyLabel = Literal["emergency", "urgent", "doctor", "self_care", "out_of_scope", "refuse_dose"]
SAFETY_LABELS: tuple[SafetyLabel, ...] = get_args(SafetyLabel)

MAX_QUESTION_CHARS = 2000
#: Age assumed when the question states none (an adult); sex unknown means both are tried.
DEFAULT_AGE = 40.0

DISCLAIMER = (
    "This is information, not a diagnosis. It cannot replace a health professional who can examine "
    "you; if you are worried or feel worse, get medical help."
)


# =============================================================================================
# Input
# =============================================================================================


class QuestionError(ValueError):
    """A question that cannot be answered as typed (empty, too long, not text)."""

    def __init__(self, code: Literal["empty", "too_long", "unreadable"], message: str) -> None:
        super().__init__(message)
        self.code = code


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\ufeff]")


def clean_question(text: object) -> str:
    """The question as plain text: NFC, control characters removed, whitespace collapsed.

    Raises :class:`QuestionError` for an empty question, one over 2,000 characters, and binary junk
    (NUL bytes, replacement characters, or too few letters to be words).
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise QuestionError("unreadable", "the question is not readable text") from None
    if not isinstance(text, str):
        raise QuestionError("unreadable", "the question must be text")
    text = unicodedata.normalize("NFC", text)
    if not text.strip():
        raise QuestionError("empty", "the question is empty: type what you want to know")
    if len(text) > MAX_QUESTION_CHARS:
        raise QuestionError(
            "too_long", f"the question is {len(text):,} characters long; the limit is "
                        f"{MAX_QUESTION_CHARS:,}: shorten it to the essentials")
    if "\x00" in text or text.count("\ufffd") > 2:
        raise QuestionError("unreadable", "the question contains binary data, not text")
    visible = "".join(text.split())
    # ASCII needs no Unicode table: only its control characters are junk.
    junk = sum(1 for c in visible if (c < " " or c == "\x7f") if c.isascii()) + sum(
        1 for c in visible if not c.isascii() and (
            unicodedata.category(c)[0] in "CZ" or unicodedata.category(c) in ("So", "Co")))
    letters = sum(1 for c in visible if c.isalpha())
    if junk > max(3, len(visible) // 10) or letters < max(2, len(visible) // 3):
        raise QuestionError("unreadable", "the question does not look like text: type it in words")
    text = _CONTROL.sub(" ", text)
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r"\s*\n\s*", "\n", text).strip()
    return text


# =============================================================================================
# Words that look like a red flag and are not one (general-red-flags.md "must NOT trigger")
# =============================================================================================

#: Figures of speech and look-alikes. They are masked (replaced by spaces, so offsets stay valid)
#: before the knowledge base's parser reads the text: "this hill gave me a heart attack" reports no
#: heart attack, "a septic tank" no sepsis, "breast stroke" no stroke. These are not red-flag
#: rules; the rules and their synonyms come from the loaded packs.
_FIGURES_OF_SPEECH = re.compile(
    r"\b(?:gave|give|giving|nearly\s+gave|almost\s+gave)\s+(?:me|him|her|us|them|everyone)\s+a\s+"
    r"heart\s+attack\b|\b(?:nearly|almost)\s+had\s+a\s+heart\s+attack\b|\bheart\s+attack\s+on\s+a\s+plate\b"
    r"|\bdying\s+(?:to|for)\b|\bdead\s+(?:tired|on\s+my\s+feet)\b|\bcould\s+kill\s+(?:him|her|them|you)\b"
    r"|\bkill\s+for\s+a\b|\bkilling\s+it\b|\bkiller\s+workout\b"
    r"|\blaughing\s+so\s+(?:hard|much)\s+(?:that\s+)?i\s+(?:can'?t|cannot|couldn'?t)\s+breathe?\b"
    r"|\ballergic\s+to\s+(?:my\s+)?(?:homework|mondays?|work|exercise|mornings?)\b"
    r"|\boverdosed\s+on\s+(?:chocolate|sugar|coffee|netflix|tv|sun)\w*"
    r"|\b(?:swim(?:ming)?|breast|back|golf|tennis)\s*stroke\b|\bstroke\s+of\s+(?:luck|genius)\b"
    r"|\bstroke\s+(?:the|my|his|her)\s+(?:cat|dog|hair|beard)\b|\bseptic\s+tank\b"
    r"|\b(?:laughing|giggling)\s+fit\b|\b(?:have|having|throw|had)\s+a\s+(?:hissy\s+)?fit\s+(?:if|when|about|over)\b"
    r"|\b(?:will|i'?ll|would)\s+have\s+a\s+fit\b|\bpoison\s+(?:ivy|oak|sumac)\b",
    re.I)
#: "Confused" and "drowsy" used about a leaflet or a medicine's label, not about a person's state.
_CONFUSED_ABOUT = re.compile(
    r"\bconfus(?:ed|ing)\s+(?:about|by|as\s+to|whether|what|why|how|if|with|because|on|over|"
    r"reading)\b|\b(?:makes?|made|making)\s+(?:you|me|people|him|her)\s+drowsy\b"
    r"|\bcauses?\s+drowsiness\b|\bdrowsy\s+side[- ]effects?\b|\bnon[- ]?drowsy\b",
    re.I)


def mask_look_alikes(text: str) -> str:
    """The text with figures of speech and "confused about the leaflet" blanked out (same length)."""
    def blank(match: re.Match[str]) -> str:
        return " " * len(match.group(0))
    return _CONFUSED_ABOUT.sub(blank, _FIGURES_OF_SPEECH.sub(blank, text))


# =============================================================================================
# Intent features: injection, doses, scope, framing
# =============================================================================================

_INJECTION = re.compile(
    r"\b(?:ignore|disregard|forget|override|bypass|skip|drop)\b[^.?!\n]{0,40}?"
    r"\b(?:rules?|instructions?|guidelines?|prompts?|polic(?:y|ies)|restrictions?|"
    r"safety|filters?|programming|training|the medical stuff|warnings?|disclaimers?)\b"
    r"|\b(?:system|developer|hidden|initial)\s+(?:prompt|message|instructions?)\b"
    r"|\b(?:reveal|show|print|repeat|tell me)\s+(?:me\s+)?(?:your|the)\s+"
    r"(?:prompt|instructions|rules|configuration)\b"
    r"|\bpretend\s+(?:to\s+be|you\s+are|you're|that)\b|\brole[- ]?play\b"
    r"|\bact\s+as\s+(?:a|an|my)\b|\byou\s+are\s+now\b|\bfrom\s+now\s+on\b"
    r"|\b(?:jailbreak|dan\s+mode|developer\s+mode|god\s+mode|no\s+restrictions|unfiltered)\b"
    r"|\bwithout\s+(?:any\s+)?(?:warnings?|disclaimers?|restrictions|safety)\b"
    r"|\bdo\s+anything\s+now\b|\bno\s+(?:disclaimers?|warnings?)\b"
    r"|<\|?(?:im_start|im_end|system|endoftext)\|?>|\[/?(?:INST|SYS)\]|^\s*#{2,}\s*system",
    re.IGNORECASE | re.MULTILINE,
)


def injection_phrases(text: str) -> tuple[str, ...]:
    """Phrases that try to give the assistant instructions; they are data, never obeyed."""
    return tuple(m.group(0).strip() for m in _INJECTION.finditer(text))


def strip_injection(text: str) -> str:
    """The question without the sentences that only carry instructions to the assistant."""
    parts = re.split(r"(?<=[.!?\n])\s+", text)
    kept = []
    for part in parts:
        if _INJECTION.search(part):
            rest = _INJECTION.sub(" ", part)
            rest = re.sub(r"^\W*(?:and|but|just|so|then|now|please)\b\W*", "", rest.strip(),
                          flags=re.I)
            if len(re.findall(r"[A-Za-z]{3,}", rest)) >= 3:
                kept.append(rest)
        else:
            kept.append(part)
    return " ".join(kept).strip()


#: Prescription-only medicines (and classes) a dose of which is never given. Names are matched as
#: whole words, case-insensitively; a trailing "s" is allowed.
PRESCRIPTION_DRUGS: dict[str, str] = {
    **dict.fromkeys(("quinine", "qualaquin", "quinine sulfate", "quinine sulphate", "tonic water"),
                    "quinine"),
    **dict.fromkeys((
        "muscle relaxant", "muscle relaxer", "cyclobenzaprine", "flexeril", "baclofen", "tizanidine",
        "zanaflex", "methocarbamol", "robaxin", "carisoprodol", "soma", "orphenadrine",
        "metaxalone", "dantrolene", "chlorzoxazone"), "muscle relaxant"),
    **dict.fromkeys((
        "benzodiazepine", "benzo", "diazepam", "valium", "lorazepam", "ativan", "alprazolam",
        "xanax", "clonazepam", "klonopin", "temazepam", "sleeping pill", "sleeping tablet",
        "zopiclone", "zolpidem", "ambien"), "sedative"),
    **dict.fromkeys((
        "opioid", "opiate", "codeine", "co-codamol", "cocodamol", "tramadol", "oxycodone",
        "oxycontin", "hydrocodone", "vicodin", "percocet", "morphine", "fentanyl",
        "dihydrocodeine", "buprenorphine", "tapentadol", "methadone", "strong painkiller",
        "stronger painkiller", "prescription painkiller"), "opioid"),
    **dict.fromkeys((
        "gabapentin", "neurontin", "pregabalin", "lyrica", "amitriptyline", "nortriptyline",
        "duloxetine", "carbamazepine"), "nerve-pain medicine"),
    **dict.fromkeys((
        "antibiotic", "amoxicillin", "amoxycillin", "penicillin", "flucloxacillin", "ciprofloxacin",
        "cipro", "trimethoprim", "nitrofurantoin", "doxycycline", "cephalexin", "cefalexin",
        "clindamycin", "azithromycin", "clarithromycin", "metronidazole", "co-amoxiclav"),
        "antibiotic"),
    **dict.fromkeys((
        "warfarin", "apixaban", "eliquis", "rivaroxaban", "xarelto", "dabigatran", "edoxaban",
        "heparin", "enoxaparin", "clexane", "clopidogrel", "blood thinner", "anticoagulant"),
        "anticoagulant"),
    **dict.fromkeys((
        "diltiazem", "verapamil", "naftidrofuryl", "mexiletine", "furosemide", "frusemide",
        "bendroflumethiazide", "hydrochlorothiazide", "spironolactone", "diuretic", "water pill",
        "statin", "atorvastatin", "simvastatin", "rosuvastatin", "pravastatin"), "heart medicine"),
    **dict.fromkeys((
        "prednisolone", "prednisone", "dexamethasone", "steroid", "corticosteroid",
        "steroid injection"), "steroid"),
    **dict.fromkeys((
        "insulin", "metformin", "gliclazide", "levothyroxine", "thyroxine", "potassium chloride",
        "sando-k", "colchicine", "allopurinol", "methotrexate", "ketorolac", "meloxicam",
        "celecoxib", "indomethacin", "diclofenac", "etoricoxib", "tamsulosin", "sildenafil",
        "viagra", "finasteride", "hydroxychloroquine", "chloroquine", "ivermectin",
        "isotretinoin", "lithium"), "prescription medicine"),
}
#: Medicines sold without prescription: a dose question gets "follow the pack or ask a pharmacist".
OTC_DRUGS: frozenset[str] = frozenset((
    "ibuprofen", "advil", "nurofen", "motrin", "paracetamol", "acetaminophen", "tylenol", "panadol",
    "aspirin", "naproxen", "aleve", "magnesium", "potassium", "calcium", "vitamin", "vitamins",
    "vitamin b", "vitamin d", "vitamin k2", "vitamin e", "b12", "electrolyte", "salt tablet",
    "pickle juice", "antacid", "painkiller", "painkillers", "supplement", "supplements",
    "antihistamine", "cetirizine", "loratadine", "voltarol gel", "ibuprofen gel",
))
_GENERIC_PRESCRIPTION = re.compile(
    r"\b(?:prescription|prescribed|prescribe|rx|prescription[- ]only|controlled drug)\b", re.I)


def _drug_regex(names: Iterable[str]) -> re.Pattern[str]:
    alternatives = sorted({re.escape(n).replace(r"\ ", r"[\s-]+").replace(r"\-", r"[\s-]?")
                           for n in names}, key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(alternatives) + r")(?:e?s)?\b", re.I)


_PRESCRIPTION_RE = _drug_regex(PRESCRIPTION_DRUGS)
_OTC_RE = _drug_regex(OTC_DRUGS)

_DOSE_INTENT = re.compile(
    r"\bhow\s+(?:much|many|often|frequently)\b"
    r"|\b(?:dose|doses|dosage|dosing|dosed|posology|higher\s+strength|stronger\s+dose)\b"
    r"|\b\d+(?:[.,]\d+)?\s*(?:mg|mcg|µg|ug|g|ml|milligrams?|micrograms?|grams?|units?|iu)\b"
    r"|\b(?:max(?:imum)?|most|safe|upper)\s+(?:amount|dose|daily|limit|i\s+can)\b"
    r"|\b(?:double|extra|another|more|increase|up)\s+(?:the\s+|my\s+|a\s+)?"
    r"(?:dose|tablet|pill|capsule|one|amount)s?\b"
    r"|\b(?:double|triple|increase|up|raise)\s+(?:up\s+)?(?:on\s+)?(?:the|my|a|his|her)\b"
    r"|\btake\s+more\b|\b(?:how\s+many|how\s+much)\b"
    r"|\b(?:take|have|give|use)\s+(?:\d+|one|two|three|four|five|a\s+couple\s+of|several|extra)\s+"
    r"(?:tablets?|pills?|capsules?|drops?|puffs?)\b"
    r"|\b(?:tablets?|pills?|capsules?)\s+(?:a|per|each)\s+(?:day|night)\b"
    r"|\bwhich\b[^.?!]{0,60}\b(?:works?\s+best|is\s+best|is\s+strongest|should\s+i\s+(?:take|get))"
    r"|\bwhat\s+(?:should|can)\s+i\s+take\b|\bprescribe\s+me\b",
    re.I,
)


@dataclass(frozen=True)
class DoseRequest:
    """A question asking how much of a medicine to take."""

    drugs: tuple[str, ...]  # the medicine words found, lower case
    prescription: bool  # a prescription-only medicine (or "prescription" itself) is involved
    classes: tuple[str, ...] = ()

    @property
    def quinine(self) -> bool:
        return "quinine" in self.classes


def dose_request(text: str) -> DoseRequest | None:
    """A request for a medicine's dose (or a prescription choice), or None.

    Needs both an intent ("how much", "dose", "600 mg", "double my tablets", "which ... works
    best") and a medicine. "Is ibuprofen ok for a groin strain?" has no dose intent.
    """
    if not _DOSE_INTENT.search(text):
        return None
    prescription = [m.group(0).lower() for m in _PRESCRIPTION_RE.finditer(text)]
    otc = [m.group(0).lower() for m in _OTC_RE.finditer(text)]
    generic = bool(_GENERIC_PRESCRIPTION.search(text))
    generic_medicine = re.search(r"\b(?:medicines?|medications?|meds|drugs?|pills?|tablets?)\b",
                                 text, re.I)
    if not prescription and not otc and not (generic and generic_medicine):
        return None
    classes = tuple(dict.fromkeys(
        PRESCRIPTION_DRUGS.get(_drug_key(p), "prescription medicine") for p in prescription))
    return DoseRequest(drugs=tuple(dict.fromkeys(prescription + otc)),
                       prescription=bool(prescription) or generic, classes=classes)


def _drug_key(found: str) -> str:
    key = re.sub(r"[\s-]+", " ", found.lower()).strip()
    for candidate in (key, key[:-1], key[:-2]):
        if candidate in PRESCRIPTION_DRUGS:
            return candidate
        spaced = candidate.replace(" ", "-")
        if spaced in PRESCRIPTION_DRUGS:
            return spaced
    return key


def mentions_quinine(text: str) -> bool:
    return re.search(r"\b(?:quinine|qualaquin|tonic\s+water)\b", text, re.I) is not None


#: Taking many tablets at once is an overdose, whatever the words around it.
_OVERDOSE_COUNT = re.compile(
    r"\b(?:took|taken|swallowed|had|ate|been\s+taking)\s+(?:about\s+|around\s+|like\s+|over\s+)?"
    r"(?P<n>\d{2,3})\s+(?:\w+\s+){0,2}?(?:tablets?|pills?|capsules?|paracetamol|acetaminophen|"
    r"tylenol|panadol|ibuprofen|aspirin|co-?codamol|codeine|tramadol|sleeping)\b", re.I)

#: Asking for something that is not health information.
_OFF_TOPIC_TASK = re.compile(
    r"\b(?:write|compose|create|generate|make\s+up|draft|sing|rap)\b[^.?!]{0,40}?\b(?:poem|poetry|"
    r"story|stories|song|lyrics|essay|joke|limerick|haiku|sonnet|code|program|script|function|"
    r"email|letter|tweet|novel|rap|speech|cover\s+letter|cv|resume)s?\b"
    r"|\btell\s+me\s+(?:a\s+)?(?:joke|story|riddle)s?\b"
    r"|\b(?:weather|forecast)\b|\b(?:python|javascript|typescript|java|sql|html|css|regex|c\+\+|"
    r"rust|golang|kotlin|excel\s+formula)\b|\btranslate\b|\bcapital\s+of\b"
    r"|\b(?:stock|stocks|bitcoin|crypto|lottery|horoscope|zodiac)\b|\bwho\s+won\b"
    r"|\b(?:football|soccer|basketball|cricket)\s+(?:score|match|results?)\b"
    r"|\b(?:movie|film|tv\s+show|netflix|video\s+game)\s+(?:recommendation|to\s+watch)s?\b"
    r"|\b(?:homework|math|maths|algebra|equation)\b",
    re.I,
)

#: Words that make a question a health question even when the parser finds no symptom in it
#: (measured on K-QA, LiveQA and MedicationQA consumer questions: docs/answerer.md).
_HEALTH_VOCABULARY = re.findall(r"\S+", """
health healthy medical medicine medicines medication medications meds drug drugs doctor doctors gp
nurse midwife physio physiotherapy physiotherapist pharmacist pharmacy chemist hospital clinic a&e
emergency ambulance surgeon specialist dentist dermatologist urologist gynaecologist gynecologist
symptom symptoms diagnosis diagnosed treat treated treating treatment treatments therapy cure
remedy remedies disease diseases illness illnesses condition conditions disorder disorders syndrome
infection infections infected inflamed inflammation injury injuries injured pain pains painful ache
aches aching achy hurt hurts hurting sore soreness swell swelling swollen cramp cramps cramping spasm
spasms strain strained sprain sprained muscle muscles tendon tendons ligament ligaments bone bones
joint joints nerve nerves blood vein veins artery arteries heart lung lungs kidney kidneys liver
bladder bowel bowels stomach belly tummy abdomen abdominal groin thigh thighs leg legs calf calves
hip hips knee knees ankle ankles foot feet toe toes shin back spine neck head headache chest skin
rash rashes lump lumps bump bumps bulge hernia clot clots stone stones fever temperature vomit
vomiting nausea nauseous dizzy dizziness faint fainting breath breathing breathless cough coughing
tired tiredness fatigue sleep insomnia pregnant pregnancy period periods menstrual menopause diet
nutrition vitamin vitamins mineral minerals magnesium potassium calcium sodium electrolyte
electrolytes hydration hydrated dehydrated dehydration fluids exercise exercising stretch stretches
stretching workout weight obese obesity diabetes diabetic cholesterol surgery operation scan xray
x-ray mri ultrasound biopsy test tests testing results pill pills tablet tablets capsule capsules
dose dosage vaccine vaccines vaccination jab booster allergy allergies allergic anxiety depression
depressed stress mental suicidal numb numbness tingling weak weakness bruise bruising bleed bleeding
urine urinate urination pee peeing wee poo stool stools constipation constipated diarrhea diarrhoea
cancer tumour tumor arthritis osteoporosis fracture fractured broken massage ice compress stockings
quinine ibuprofen paracetamol acetaminophen aspirin statin statins sick ill unwell wellbeing body
baby babies child children contagious infectious virus viral bacteria bacterial fungal std sti
chlamydia herpes hiv flu influenza cold covid strep throat tonsils sinus sinuses congestion
congested mucus phlegm sneezing itch itchy itching eye eyes vision ear ears hearing nose nasal
mouth teeth tooth gums tongue lips face forehead scalp hair nails hand hands arm arms wrist elbow
shoulder shoulders ribs pelvis pelvic vagina vaginal penis testicle testicles scrotum prostate
breast breasts nipple uterus womb ovary ovaries cervix rectum anus bottom bum genitals discharge
swab smear cyst cysts wart warts mole moles acne eczema psoriasis hives blister blisters wound
wounds cut cuts burn burns scar scars stitches sunburn bite bites sting stings tick ticks lice
scabies fungus thrush yeast uti ulcer ulcers reflux heartburn indigestion gas bloating bloated
hemorrhoids haemorrhoids piles migraine migraines seizure seizures epilepsy stroke asthma inhaler
copd pneumonia bronchitis blood-pressure hypertension thyroid hormone hormones estrogen
testosterone insulin glucose sugar anemia anaemia iron deficiency side-effect side-effects effects
interaction interactions overdose prescription prescribed antibiotic antibiotics antidepressant
steroid steroids cream ointment gel drops spray inhaler injection injections shot shots topical
generic brand otc counter supplement supplements herbal probiotic contraception contraceptive
condom condoms ovulation fertility ivf miscarriage labour labor birth breastfeeding formula
newborn infant toddler puberty adhd autism dementia alzheimer alzheimers parkinson parkinsons
cardiac cardiologist ecg ekg pulse heartbeat palpitations recovery recover recovering rehab
rehabilitation physiotherapy crutches cast brace splint sciatica disc posture limp limping walking
mobility stiffness stiff tremor shaking chills sweats sweating night-sweats appetite thirst
thirsty lethargic lethargy drowsy drowsiness immune immunity lymph glands gland swollen-glands
tonsillitis laryngitis ear-infection conjunctivitis pinkeye stye hernias appendix appendicitis
gallbladder gallstones pancreas pancreatitis hepatitis jaundice kidney-stones dialysis catheter
sepsis meningitis embolism thrombosis aneurysm ectopic seizure anaphylaxis overdose poisoning
smoking smoker alcohol drinking hangover caffeine nicotine vaping cannabis addiction withdrawal
panic wheeze wheezing narcotic narcotics antiviral antivirals discomfort ent culture suppository
suppositories syringe duct hoarse voice titrate natural-remedy remedy-for lyme sulfur sulfa
otitis antihistamine decongestant laxative antacid nasal-spray eyedrops eye-drops tears
""")
#: Medication talk ("can I take X", "should I try Y instead", "X or Y?") with any drug name.
_MEDICATION_TALK = re.compile(
    r"\b(?:can|could|should|may|do|would)\s+i\s+(?:take|try|use|start|stop|switch|combine|mix)\b"
    r"|\b(?:took|taking|take)\s+(?:my\s+|the\s+|some\s+)?[A-Z][a-z]+\b"
    r"|\binstead\s+of\b|\b(?:recommend|suggest)\s+(?:trying|taking|using|i\s+take)\b"
    r"|\bside\s+effects?\b|\bover\s+the\s+counter\b")
_HEALTH_WORDS = re.compile(
    r"\b(?:" + "|".join(sorted({re.escape(w).replace(r"\-", r"[\s-]") for w in _HEALTH_VOCABULARY},
                               key=len, reverse=True)) + r")\b", re.I)
#: Medical word endings (tendinitis, thrombosis, anaemia, mastectomy, neuropathy, myalgia...).
_MEDICAL_MORPHOLOGY = re.compile(
    r"\b[a-z]{3,}(?:itis|osis|oses|aemia|emia|ectomy|otomy|pathy|algia|oma|omas|plasty|scopy|"
    r"ology|ologist|iasis|cillin|mycin|azole|olol|pril|sartan|statin|prazole|tidine|triptan|"
    r"oxetine|pam|lam|done|codone|phine|mab|nib|vir)\b", re.I)

#: Educational, general or hypothetical questions: answer them, raise no alarm (general rule 2-3).
_EDUCATIONAL = re.compile(
    r"\b(?:what|which)\s+(?:are|is)\s+(?:the\s+)?(?:(?:early|warning|main|typical|common|first)\s+)?"
    r"(?:signs?|symptoms?|causes?|risk\s+factors?|red\s+flags?|warning\s+signs?|difference|"
    r"treatments?|complications?)\b"
    r"|\bhow\s+(?:do|can|would|will|should)\s+(?:you|one|someone|people|a\s+person|i)\s+"
    r"(?:know|tell|recogni[sz]e|spot|identify|check)\b"
    r"|\bwhat\s+(?:should|do|would|can)\s+(?:i|you|we|one|someone|people)\s+do\s+if\b"
    r"|\bwhat\s+(?:happens|to\s+do)\s+if\b|\bwhat\s+if\b|\bin\s+case\b|\bif\s+someone\b"
    r"|\b(?:i'?m|i\s+am)\s+(?:a|an)\s+(?:nurse|doctor|student|medical\s+student|paramedic|"
    r"carer|caregiver|teacher|first\s+aider|researcher|writer)\b"
    r"|\bfor\s+(?:my|an?|the)\s+(?:essay|homework|class|exam|course|project|assignment|article)\b"
    r"|\bin\s+general\b|\bgenerally\b|\bis\s+it\s+true\s+that\b"
    r"|^\W*(?:what|whats|what's)(?:\s+(?:is|are))?\s+(?:an?\s+|the\s+)?[\w' -]{2,40}\W*$"
    r"|\bhow\s+(?:is|are|would|do|does|will|can)\s+(?:they|doctors?|you|it|one|an?\s+\w+)\s+"
    r"(?:\w+\s+)?(?:treated|diagnosed|treat|diagnose|tested|test|prevented|prevent)\b"
    r"|\bwhat\s+causes\b|\bhow\s+(?:common|serious|dangerous|rare)\s+(?:is|are)\b"
    r"|\bcan\s+you\s+die\s+(?:from|of)\b"
    r"|^\W*(?:is|are|can|does|do)\s+(?:an?\s+|the\s+)?\w+(?:\s+\w+)?\s+(?:dangerous|serious|"
    r"contagious|common|hereditary|genetic|curable|life[- ]threatening|fatal|cancerous)\b",
    re.I,
)
_FIRST_PERSON_NOW = re.compile(
    r"\b(?:i\s+(?:have|had|got|get|feel|felt|am|was|can'?t|cannot|keep|noticed|woke|think)|"
    r"i'?m|i'?ve|my\s+\w+\s+(?:is|are|has|have|hurts?|feels?|keeps?|went|was|looks?)|"
    r"(?:he|she|they)\s+(?:is|has|was|have|are|can'?t|cannot|just|suddenly|keeps?))\b", re.I)
_PROFESSION = re.compile(
    r"\b(?:i'?m|i\s+am)\s+(?:a|an)\s+(?:nurse|doctor|student|medical\s+student|paramedic|carer|"
    r"caregiver|teacher|first\s+aider|researcher|writer)\b", re.I)

#: Past history in a sentence ("in 2015", "years ago") and signs that the sentence is about now.
_PAST = re.compile(
    r"\b(?:(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|several|many|few|"
    r"couple\s+of)\s+)?(?:years?|yrs?|decades?|months?)\s+ago\b|\b(?:long|ages|a\s+while)\s+ago\b|\bin\s+(?:19|20)\d\d\b|\blast\s+year\b|"
    r"\bas\s+a\s+(?:child|kid|teenager|baby)\b|\bwhen\s+i\s+was\s+(?:young|younger|little|a|an|\d+)"
    r"|\b(?:years|decades)\s+back\b|\bin\s+the\s+past\b|\bhistory\s+of\b|\bpreviously\b|"
    r"\bused\s+to\b|\bonce\s+had\b|\bback\s+in\s+(?:19|20)\d\d\b|\bback\s+in\s+the\s+day\b",
    re.I)
_NOW = re.compile(
    r"\b(?:now|today|tonight|currently|at\s+the\s+moment|right\s+now|this\s+(?:morning|afternoon|"
    r"evening|week)|since|still|again|keeps?|getting\s+worse|yesterday|last\s+night|just|suddenly|"
    r"started|is|are|am|has\s+been|have\s+been)\b", re.I)


#: Asking for information or self-help about a complaint ("what foods help cramps?", "is magnesium
#: any good for cramps?", "how long does a pulled groin take to heal?"), as opposed to asking what
#: one's own symptoms mean (:data:`_ASSESSMENT_REQUEST`).
_INFORMATION_REQUEST = re.compile(
    r"\bwhat\s+(?:foods?|drinks?|exercises?|stretch(?:es|ing)?|vitamins?|minerals?|supplements?|"
    r"remed(?:y|ies)|home\s+remed(?:y|ies)|helps?|works?|can\s+(?:i|you|we)\s+(?:do|take|eat|drink|"
    r"use|try)|should\s+i\s+(?:eat|drink|do|avoid|try))\b"
    r"|\b(?:best|good|safe|gentle)\s+(?:stretch(?:es)?|exercises?|foods?|drinks?|ways?|remed(?:y|ies)|"
    r"things?)\b"
    r"|\bhow\s+(?:do|can|should)\s+(?:i|you|we)\s+(?:\w+\s+)?(?:stretch|prevent|stop|avoid|treat|ease|"
    r"relieve|reduce|help|get\s+rid|cut\s+down|strengthen|warm\s+up|look\s+after)\b"
    r"|\bhow\s+to\s+(?:stretch|prevent|stop|avoid|treat|ease|relieve|reduce|get\s+rid)\b"
    r"|\bhow\s+long\s+(?:does|do|will|should|can|is)\b[^.?!]{0,60}?\b(?:heal|last|recover\w*|"
    r"take|get\s+better)\b"
    r"|\bwhy\s+do(?:es)?\s+(?:i|we|people|you|my\s+\w+)\s+(?:\w+\s+){0,2}?(?:get|getting|have|"
    r"cramp|cramps|ache|hurt)\b"
    r"|\b(?:is|are)\s+(?:it|\w+(?:\s+\w+)?)\s+(?:any\s+)?(?:good|ok|okay|alright|safe|helpful|bad|"
    r"effective|useful|worth\s+it|a\s+good\s+idea)\b"
    r"|\b(?:does|do|can|will|would)\s+(?:\w+\s+){1,4}?(?:help|work|prevent|stop|ease|relieve|"
    r"reduce|cause)\b"
    r"|\bcan\s+i\s+(?:still\s+)?(?:take|drink|eat|use|try|do|keep|go|exercise|run|swim|play|train|"
    r"stretch|work\s+out)\b"
    r"|\b(?:is|are)\s+(?:\w+\s+){1,4}?(?:an?\s+)?(?:signs?|symptoms?|side[- ]effects?|causes?)\s+of\b"
    r"|\bwhat\s+(?:causes|triggers|brings\s+on)\b|\bor\s+is\s+(?:that|it|this)\s+a\s+myth\b",
    re.I)
#: Asking what one's own symptoms mean or what to do about them: the triage stands.
_ASSESSMENT_REQUEST = re.compile(
    r"\bwhat\s+(?:is|could|might|would)\s+(?:it|this|that)\b|\bwhat\s+(?:could|might)\s+(?:be\s+)?"
    r"(?:causing|wrong)\b|\bwhat'?s\s+(?:wrong|going\s+on|this|that|happening|causing)\b"
    r"|\b(?:could|can|might|may)\s+(?:it|this|that|these)\s+be\b"
    r"|\bis\s+(?:it|this|that)\s+(?:serious|normal|dangerous|bad|worrying|something|cancer|an?\s+(?!myth\b)\w+)\b"
    r"|\bshould\s+i\s+(?:be\s+)?(?:worried|worry|concerned|see|go|get|call|visit|ring)\b"
    r"|\bdo\s+i\s+need\b|\bam\s+i\s+(?:ok|okay|ill|sick|dying)\b|\bwhy\s+(?:is|are|am|has|have)\s+"
    r"(?:my|i)\b|\bwhat\s+do\s+i\s+have\b",
    re.I)


def is_information_request(text: str) -> bool:
    """Does the question ask for information or self-help rather than what the symptoms mean?"""
    return _INFORMATION_REQUEST.search(text) is not None \
        and _ASSESSMENT_REQUEST.search(text) is None


def is_educational(text: str) -> bool:
    """A general, hypothetical or professional question rather than a person describing symptoms."""
    if not _EDUCATIONAL.search(text):
        return False
    rest = _PROFESSION.sub(" ", text)
    return _FIRST_PERSON_NOW.search(rest) is None


# =============================================================================================
# The assessment
# =============================================================================================


@dataclass(frozen=True)
class Flag:
    """A red-flag rule that fired: the knowledge base's or a general one."""

    id: str
    level: TriageLevel
    message: str
    findings: tuple[str, ...]
    sources: tuple[str, ...]
    pack: str  # "kb" for the knowledge base's rules, "general" for general-red-flags.md


@dataclass(frozen=True)
class LikelyCondition:
    id: str
    name: str
    probability: float
    guide: str | None


@dataclass(frozen=True)
class SafetyAssessment:
    """Everything the composer and the post-check need to know about a question."""

    label: SafetyLabel
    level: TriageLevel | None  # the triage level of the described symptoms, if any
    flags: tuple[Flag, ...] = ()  # fired red flags, most urgent first
    present: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    past: tuple[str, ...] = ()  # findings mentioned only as past history
    conditions: tuple[LikelyCondition, ...] = ()
    educational: bool = False
    injection: tuple[str, ...] = ()
    dose: DoseRequest | None = None
    crisis: bool = False  # suicidal thoughts or self-harm
    quinine: bool = False
    health: bool = True
    reasons: tuple[str, ...] = ()
    age: float | None = None
    sex: str | None = None
    guides: tuple[str, ...] = field(default=())  # guide slugs of the likely conditions
    concern: LikelyCondition | None = None  # the condition the answer should be about, if any
    off_topic: bool = False  # asks for something that is not health information (a poem, code)

    @property
    def emergency(self) -> bool:
        return self.label == "emergency"

    @property
    def ambulance(self) -> bool:
        return any(f.level is TriageLevel.emergency_ambulance for f in self.flags)


_LABEL_OF_LEVEL: dict[TriageLevel, SafetyLabel] = {
    TriageLevel.emergency_ambulance: "emergency",
    TriageLevel.emergency: "emergency",
    TriageLevel.consultation_24: "urgent",
    TriageLevel.consultation: "doctor",
    TriageLevel.self_care: "self_care",
}


def label_of_level(level: TriageLevel) -> SafetyLabel:
    return _LABEL_OF_LEVEL[level]


class SafetyChecker:
    """Labels questions with the engine's own parser, red-flag rules and Bayes triage.

    Every red flag comes from the loaded knowledge-base packs (their rules and synonyms): with the
    general pack loaded, the general emergencies are found; with the thigh-and-groin pack alone,
    only its own. Build once; thread-safe.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        kb = engine.kb
        self._history_kinds = frozenset(
            f.id for f in kb.findings.values()
            if f.kind in (FindingKind.history, FindingKind.risk_factor))
        # What someone complains of: a symptom or sign, not a qualifier ("since yesterday") or an
        # exposure ("I play football").
        self._complaints = frozenset(
            f.id for f in kb.findings.values()
            if f.kind in (FindingKind.symptom, FindingKind.sign)) - _QUALIFIERS
        words: set[str] = set()
        names: set[str] = set()
        for condition in kb.conditions.values():
            for name in (condition.name, condition.lay_name or ""):
                words.update(w for w in re.findall(r"[a-z]+", name.lower()) if len(w) >= 6)
                names.update(_name_forms(name))
        self._condition_words = frozenset(words - _NOT_MEDICAL)
        self._condition_names = frozenset(n for n in names if len(n) >= 4)
        self._crisis_findings = CRISIS_FINDINGS & set(kb.findings)
        self._overdose_finding = OVERDOSE_FINDING if OVERDOSE_FINDING in kb.findings else None

    def assess(self, question: str, history: Sequence[str] = ()) -> SafetyAssessment:
        """The safety label of ``question``, read together with earlier questions of the session.

        Earlier questions add what they described (the current question's own statements win on
        conflicts), so "and now I'm short of breath" after "my leg is swollen" is read as one story.
        Out of scope and dose requests are decided on the current question alone.
        """
        text = question
        context = "\n".join([*history, question]) if history else question
        injection = injection_phrases(text)
        dose = dose_request(text)
        educational = is_educational(text)
        # The question without instructions to the assistant (only re-read when it has some).
        asked = (strip_injection(text) or text) if injection else text
        information = is_information_request(asked)

        context = _clause_breaks(mask_look_alikes(context))
        parsed = self.engine.parse(context)
        present, past = self._current(parsed, context, self._history_kinds)
        present = [f for f in present if not self._only_named_as_topic(parsed, context, f)]
        # Someone else's symptoms happening now count ("my dad is suddenly confused"); their
        # history does not ("my dad had a stroke in 2015").
        third_party: list[str] = []
        neutral = _relative_sentences(context)
        if neutral:
            other = self.engine.parse(neutral)
            for finding in other.present:
                if finding in present or finding in past:
                    continue
                mentions = [m for m in other.mentions if m.finding_id == finding and m.present]
                if any(_third_party_now(neutral, m) for m in mentions) \
                        and not self._only_named_as_topic(other, neutral, finding):
                    present.append(finding)
                    third_party.append(finding)
        # Ten or more tablets at once is an overdose, whatever words carry it ("I took 30
        # paracetamol"): a quantity the synonyms cannot list. It feeds the pack's own finding.
        overdose = _OVERDOSE_COUNT.search(context)
        if overdose and int(overdose.group("n")) >= 10 and not educational \
                and self._overdose_finding is not None and self._overdose_finding not in present:
            present.append(self._overdose_finding)
        absent = tuple(parsed.absent)
        age, sex = parsed.age, parsed.sex

        flags: list[Flag] = []
        level: TriageLevel | None = None
        conditions: tuple[LikelyCondition, ...] = ()
        if any(f not in _MODIFIERS for f in present):
            complaint = any(f in self._complaints for f in present)
            level, flags, conditions = self._triage(present, parsed.absent, age, sex,
                                                    bayes=complaint)
        flags.sort(key=lambda f: -f.level.rank)
        flags = _dedupe_flags(flags)
        rule_level = flags[0].level if flags else None

        crisis = any(set(f.findings) & self._crisis_findings for f in flags)
        quinine = mentions_quinine(context)
        health = bool(present) or bool(past) or bool(parsed.absent) or dose is not None \
            or _HEALTH_WORDS.search(asked) is not None or self._names_condition(asked) \
            or _MEDICAL_MORPHOLOGY.search(asked) is not None \
            or _MEDICATION_TALK.search(asked) is not None \
            or _PRESCRIPTION_RE.search(asked) is not None or _OTC_RE.search(asked) is not None
        off_topic = _OFF_TOPIC_TASK.search(asked) is not None
        reasons: list[str] = []

        label: SafetyLabel
        emergency_now = level is not None and level.rank >= TriageLevel.emergency.rank
        if educational and emergency_now and not crisis:
            reasons.append("educational or hypothetical question: emergency advice given as "
                           "information, no alarm")
            emergency_now = False
        # An information request ("what foods help my cramps?") is answered with information and
        # a safety net. The Bayes decision on one or two volunteered findings may ask for a
        # routine appointment; that alone does not make it a consultation. Red flags still count,
        # and so do a Bayes decision for same-day care and a complaint that has lasted for weeks.
        information_only = information and level is not None \
            and level.rank <= TriageLevel.consultation.rank and PERSISTENT not in present \
            and (rule_level is None or rule_level.rank < TriageLevel.consultation.rank)
        if emergency_now:
            label = "emergency"
            reasons.append(f"red flag: {flags[0].id}" if flags else "triage: emergency")
        elif dose is not None and dose.prescription:
            label = "refuse_dose"
            reasons.append("asks for the dose of a prescription medicine: "
                           + ", ".join(dose.drugs or ("prescription",)))
        elif not health or (off_topic and (level is None or level is TriageLevel.self_care)):
            label = "out_of_scope"
            reasons.append("not a health question" if not health else
                           "asks for something other than health information")
        elif level is not None and not educational and not information_only:
            label = label_of_level(level)
            reasons.append(f"triage of the described symptoms: {level.value}")
        else:
            label = "self_care"
            reasons.append("educational question" if educational
                           else "information request; no red flag, no same-day triage"
                           if information_only else "information question")
        if third_party:
            reasons.append("symptoms of another person, happening now: " + ", ".join(third_party))
        if injection:
            reasons.append("instructions inside the question were ignored: "
                           + "; ".join(injection))
        guides = tuple(dict.fromkeys(c.guide for c in conditions
                                     if c.guide is not None and c.probability >= 0.05))
        concern = self._concern(conditions, label) if not educational else None
        return SafetyAssessment(
            label=label, level=level, flags=tuple(flags), present=tuple(sorted(set(present))),
            absent=absent, past=tuple(past), conditions=conditions, educational=educational,
            injection=injection, dose=dose, crisis=crisis and label == "emergency",
            quinine=quinine, health=health, reasons=tuple(reasons), age=age, sex=sex,
            guides=guides, concern=concern, off_topic=off_topic,
        )

    def _only_named_as_topic(self, parsed: ParsedText, text: str, finding: str) -> bool:
        """"Can an abscess cause a heart attack?" names a condition as the topic of a question; it
        reports none. True when every mention of ``finding`` is a condition's name used so."""
        mentions = [m for m in parsed.mentions if m.finding_id == finding and m.present]
        if not mentions:
            return False
        for m in mentions:
            said = " ".join(re.findall(r"[a-z]+", text[m.start:m.end].lower()))
            said = re.sub(r"^(?:an?|the|my|his|her|having\s+an?)\s+", "", said)
            if said not in self._condition_names \
                    or not _TOPIC_BEFORE.search(text[max(0, m.start - 40):m.start]):
                return False
        return True

    def _concern(self, conditions: Sequence[LikelyCondition],
                 label: SafetyLabel) -> LikelyCondition | None:
        """What the answer should be about: the likeliest condition that needs the care the label
        asks for (a clot, not the pulled muscle, when the label is emergency), else the likeliest."""
        if label in ("out_of_scope", "refuse_dose") or not conditions:
            return None
        need = {"emergency": TriageLevel.emergency, "urgent": TriageLevel.consultation_24,
                "doctor": TriageLevel.consultation}.get(label)
        if need is not None:
            matching = [c for c in conditions if c.probability >= 0.05 and self.engine.kb.conditions[
                c.id].default_triage.rank >= need.rank]
            if matching and (label == "emergency" or matching[0].probability >= 0.2):
                return matching[0]
        return conditions[0] if conditions[0].probability >= 0.3 else None

    def _names_condition(self, text: str) -> bool:
        lower = text.lower()
        return any(name in lower for name in self._condition_words)

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _current(parsed: ParsedText, text: str,
                 history_kinds: frozenset[str]) -> tuple[list[str], list[str]]:
        """Present findings, minus those mentioned only as the past: in sentences about the past,
        or inside a longer phrase of a history finding ("I *had a heart attack*" is a history of
        heart disease, not a heart attack now)."""
        current: list[str] = []
        past: list[str] = []
        history_spans = [(m.start, m.end) for m in parsed.mentions
                         if m.present and m.finding_id in history_kinds]
        for finding in parsed.present:
            if finding in history_kinds:
                current.append(finding)
                continue
            mentions = [m for m in parsed.mentions if m.finding_id == finding and m.present]
            if mentions and all(_in_past_sentence(text, m) or any(
                    start <= m.start and m.end <= end
                    and _HAD.search(text[max(0, start - 12):end]) is not None
                    for start, end in history_spans) for m in mentions):
                past.append(finding)
            else:
                current.append(finding)
        return current, past

    def _triage(self, present: Sequence[str], absent: Sequence[str], age: float | None,
                sex: str | None, *, bayes: bool = True
                ) -> tuple[TriageLevel | None, list[Flag], tuple[LikelyCondition, ...]]:
        """The engine's triage (red flags + Bayes loss); an unknown sex tries both, keeps the worst.

        What the person volunteers is their opening complaint, as in an interview (``Engine.start``).
        Without a symptom (``bayes`` false: only exposures or history, "I play football") the
        red-flag rules alone decide, and no rule means no level.
        """
        model = self.engine.model
        known = set(model.finding_index)
        volunteered = list(dict.fromkeys(f for f in present if f in known))
        evidence = Evidence.of(present=volunteered,
                               absent=[f for f in absent if f in known and f not in present],
                               complaint=[f for f in volunteered if f in self._complaints])
        use_age = age if age is not None else DEFAULT_AGE
        best: tuple[int, list[Flag], tuple[LikelyCondition, ...]] | None = None
        for use_sex in ((sex,) if sex else ("female", "male")):
            probabilities = posterior(model, use_age, use_sex, evidence)
            result = triage(model, use_age, use_sex, evidence, probabilities)
            flags = [Flag(r.id, r.level, r.message, r.findings, r.source, "kb")
                     for r in result.red_flags]
            order = np.argsort(-probabilities, kind="stable")[:8]
            conditions = tuple(
                LikelyCondition(model.condition_ids[i], self.engine.kb.conditions[
                    model.condition_ids[i]].name, float(probabilities[i]),
                    self.engine.kb.conditions[model.condition_ids[i]].guide)
                for i in (int(j) for j in order))
            rank = result.level.rank
            if best is None or rank > best[0]:
                best = (rank, flags, conditions)
            elif rank == best[0]:
                seen = {f.id for f in best[1]}
                best[1].extend(f for f in flags if f.id not in seen)
        assert best is not None
        if not bayes:
            floor = max((f.level.rank for f in best[1]), default=None)
            return (TRIAGE_LEVELS[floor] if floor is not None else None), best[1], best[2]
        return TRIAGE_LEVELS[best[0]], best[1], best[2]


#: Findings that only qualify a complaint: on their own they are no reason to triage.
_MODIFIERS = frozenset({"duration_hours", "duration_days", "duration_weeks", "sudden_onset",
                        "gradual_onset", "episode_seconds_to_minutes", "recurrent_episodes",
                        "constant_pain", "pain_at_rest", "occurs_at_night", "duration", "onset"})
#: Qualifiers of a complaint that are no complaint of their own ("since yesterday", "sudden").
_QUALIFIERS = frozenset({"duration_hours", "duration_days", "duration_weeks", "sudden_onset",
                         "gradual_onset", "episode_seconds_to_minutes", "recurrent_episodes",
                         "duration", "onset"})
#: Words of condition names too common to make a text a health question.
_NOT_MEDICAL = frozenset({"before", "around", "coming", "during", "little", "without", "another",
                          "sitting", "speaking", "talking", "working", "moving", "ground",
                          "through", "whole", "feeling", "having", "things", "getting"})
_RELATIVE_WORDS = (
    "husband wife son daughter boy girl mum mom mam mother mommy mummy dad daddy father brother "
    "sister grandma grandmother nan nana granny grandad granddad grandfather grandpa boyfriend "
    "girlfriend partner baby child kid toddler infant uncle aunt auntie nephew niece cousin grandson "
    "granddaughter friend teammate colleague flatmate roommate neighbour neighbor fiance fiancee "
    "spouse")
_RELATIVE = re.compile(r"\b(?:" + "|".join(_RELATIVE_WORDS.split()) + r")s?\b", re.I)
_THIRD_NOW = re.compile(
    r"\b(?:now|today|tonight|right\s+now|currently|at\s+the\s+moment|this\s+(?:morning|afternoon|"
    r"evening)|just|suddenly|since|still|keeps?|(?:minutes?|hours?)\s+ago|yesterday|last\s+night|"
    r"won't|can't|cannot|isn't|is|are|has|have|'s)\b", re.I)


_CLAUSE_BREAK = re.compile(r",(?=\s+(?:just|only|apart\s+from|except|other\s+than)\b)", re.I)


#: Findings of the general pack that mean a crisis (suicidal thoughts, a plan, self-harm): the
#: answer opens with the crisis lines rather than the ambulance message.
CRISIS_FINDINGS = frozenset({"suicidal_thoughts", "suicide_plan_intent", "self_harm"})
#: A complaint that has lasted for weeks: asked as a question for information, it still gets the
#: triage's appointment ("my groin has ached for 3 weeks, what stretches help?").
PERSISTENT = "duration_weeks"
#: The general pack's finding for an overdose or poisoning, fed by a counted overdose.
OVERDOSE_FINDING = "overdose_taken"


def _name_forms(name: str) -> set[str]:
    """A condition's name as people write it: "Acute coronary syndrome (heart attack)" gives the
    full name, the part before the brackets and the bracketed part."""
    lower = name.lower()
    parts = [lower, re.sub(r"\s*\(.*?\)", "", lower), *re.findall(r"\((.*?)\)", lower)]
    parts += [p for part in list(parts) for p in re.split(r"\s*(?:,|/|\bor\b)\s*", part)]
    return {" ".join(re.findall(r"[a-z]+", p)) for p in parts if p.strip()}


_TOPIC_BEFORE = re.compile(
    r"\b(?:cause[sd]?|causing|treat(?:s|ed|ing|ment)?|prevent(?:s|ed|ing|ion)?|risks?|chances?|"
    r"lead(?:s|ing)?\s+to|linked(?:\s+to|\s+with)?|associated\s+with|used\s+(?:for|to\s+treat)|"
    r"against|avoid(?:ing)?|reduce[sd]?|stating|called|statistics|rates?)\s+(?:\w+\s+){0,2}$",
    re.I)


def _clause_breaks(text: str) -> str:
    """", just a swollen calf" starts a new clause: a negation before it does not reach it.
    (Same length: mention offsets stay valid.)"""
    return _CLAUSE_BREAK.sub(".", text)


_THIRD_PERSON = re.compile(r"\b(?:he|she|they|him|her|his|hers|them)\b", re.I)


def _relative_sentences(text: str) -> str:
    """The sentences about someone else, with relatives replaced by "he" so the parser keeps what
    happens to them; one per line. Only these are parsed a second time (a long question about
    oneself is not read twice)."""
    sentences = re.split(r"(?<=[.!?;\n])", text)
    return "\n".join(_RELATIVE.sub("he", s.strip()) for s in sentences
                     if _RELATIVE.search(s) or _THIRD_PERSON.search(s))


def _third_party_now(text: str, mention: Mention) -> bool:
    """Is this mention, about someone else, in a sentence about the present?"""
    start, end = _sentence_bounds(text, mention.start, mention.end)
    sentence = text[start:end]
    return not _PAST.search(sentence) and _THIRD_NOW.search(sentence) is not None


TRIAGE_LEVELS: tuple[TriageLevel, ...] = (
    TriageLevel.self_care, TriageLevel.consultation, TriageLevel.consultation_24,
    TriageLevel.emergency, TriageLevel.emergency_ambulance,
)


def _dedupe_flags(flags: list[Flag]) -> list[Flag]:
    seen: set[str] = set()
    out = []
    for f in flags:
        if f.id not in seen:
            seen.add(f.id)
            out.append(f)
    return out


#: A past-tense verb in front of a phrase that also names a history finding ("I had a heart attack").
_HAD = re.compile(r"\b(?:had|was|were|suffered|survived|recovered\s+from)\b", re.I)


def _sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    left = max(text.rfind(c, 0, start) for c in ".!?\n;")
    right_candidates = [i for i in (text.find(c, end) for c in ".!?\n;") if i >= 0]
    right = min(right_candidates) if right_candidates else len(text)
    return left + 1, right


def _in_past_sentence(text: str, mention: Mention) -> bool:
    start, end = _sentence_bounds(text, mention.start, mention.end)
    sentence = text[start:end]
    if not _PAST.search(sentence):
        return False
    # "I had a DVT in 2019 and now my leg is swollen": the present part of the sentence counts.
    without_past = _PAST.sub(" ", sentence)
    clause_now = re.search(r"\b(?:now|today|tonight|currently|at\s+the\s+moment|right\s+now|"
                           r"this\s+(?:morning|afternoon|evening|week)|since\s+(?:yesterday|"
                           r"this|last)|again|getting\s+worse|last\s+night)\b", without_past, re.I)
    return clause_now is None


# =============================================================================================
# Messages
# =============================================================================================

AMBULANCE_MESSAGE = (
    "This could be an emergency. Call an ambulance now: 911 in the US, 999 in the UK, 112 in Europe. "
    "Do not wait to see if it settles, and do not drive yourself."
)
EMERGENCY_MESSAGE = (
    "This could be an emergency. Go to the nearest emergency department (A&E/ER) now, or call an "
    "ambulance (911 in the US, 999 in the UK, 112 in Europe) if you cannot get there safely. Do "
    "not drive yourself."
)
CRISIS_MESSAGE = (
    "If you are thinking about ending your life or harming yourself, please reach out now. If you "
    "are in immediate danger or have taken an overdose, call 911 (US), 999 (UK) or 112 (Europe) "
    "right away, or go to an emergency department. You can talk to someone any time: call or text "
    "988 in the US (988 Suicide & Crisis Lifeline), call Samaritans on 116 123 in the UK and "
    "Ireland, or 116 123 in many EU countries."
)
URGENT_MESSAGE = (
    "See a doctor today (your GP, an urgent care centre or NHS 111), within 24 hours at most."
)
DOCTOR_MESSAGE = "Book an appointment with a doctor (your GP) in the next few days."
SELF_CARE_NET = "See a doctor if it does not get better, keeps coming back or gets worse."
DOSE_MESSAGE = (
    "I can't tell you a dose or which prescription medicine to take: that has to come from the "
    "doctor or pharmacist who knows your health and your other medicines. Ask them before "
    "starting, stopping or changing a medicine."
)
OTC_DOSE_MESSAGE = (
    "For medicines bought without a prescription, follow the dose on the pack or leaflet and ask "
    "a pharmacist if you are unsure, especially if you take other medicines."
)
QUININE_WARNING = (
    "Quinine is not recommended for leg cramps. The US FDA has warned that quinine taken for leg "
    "cramps can cause serious and life-threatening blood problems (a very low platelet count, HUS/"
    "TTP) and kidney damage, and that the risk outweighs any benefit; do not treat yourself with "
    "quinine or tonic water. Talk to a doctor about safer options."
)
OUT_OF_SCOPE_MESSAGE = (
    "I can only answer health questions, using curbside's guides and sourced medical content, so "
    "I can't help with this request. If you have a question about a symptom or a condition, ask "
    "it and I will answer it with sources."
)
EDUCATIONAL_EMERGENCY_NOTE = (
    "If these warning signs happen, treat them as an emergency: call 911 (US), 999 (UK) or 112 "
    "(Europe) straight away."
)


def safety_preamble(assessment: SafetyAssessment) -> list[str]:
    """The safety paragraphs that open an answer (emergency first), before any retrieved content."""
    out: list[str] = []
    if assessment.label == "emergency":
        if assessment.crisis:
            out.append(CRISIS_MESSAGE)
        else:
            out.append(AMBULANCE_MESSAGE if assessment.ambulance else EMERGENCY_MESSAGE)
        reasons = [f.message for f in assessment.flags
                   if f.level.rank >= TriageLevel.emergency.rank][:2]
        out.extend(_strip_imperatives(r) for r in reasons)
    elif assessment.label == "refuse_dose":
        out.append(DOSE_MESSAGE)
        if assessment.quinine:
            out.append(QUININE_WARNING)
        if assessment.level is not None and assessment.level.rank >= TriageLevel.consultation_24.rank:
            out.append(URGENT_MESSAGE)
    elif assessment.label == "out_of_scope":
        out.append(OUT_OF_SCOPE_MESSAGE)
    elif assessment.label == "urgent":
        out.append(URGENT_MESSAGE)
        out.extend([f.message for f in assessment.flags
                    if f.level is TriageLevel.consultation_24][:1])
    elif assessment.label == "doctor":
        out.append(DOCTOR_MESSAGE)
        out.extend([f.message for f in assessment.flags
                    if f.level is TriageLevel.consultation][:1])
    else:
        if assessment.quinine:
            out.append(QUININE_WARNING)
        if assessment.dose is not None:
            out.append(OTC_DOSE_MESSAGE)
        if assessment.educational and any(
                f.level.rank >= TriageLevel.emergency.rank for f in assessment.flags):
            out.append(EDUCATIONAL_EMERGENCY_NOTE)
    return out


def safety_closing(assessment: SafetyAssessment) -> list[str]:
    """What to do next, after the content."""
    if assessment.label == "self_care":
        return [SELF_CARE_NET]
    if assessment.label == "doctor":
        return ["Get help the same day if it gets much worse, and emergency care if you have "
                "severe pain, a fever with shivers, or feel faint."]
    if assessment.label == "urgent":
        return ["Go to an emergency department if it becomes severe, or you get a fever, "
                "vomiting or faintness."]
    return []


def _strip_imperatives(message: str) -> str:
    """A rule's reason without its own 'go to an emergency department now' (the preamble has it)."""
    parts = re.split(r"(?<=[.!?])\s+", message)
    kept = [p for p in parts if not EMERGENCY_IMPERATIVE.search(p)]
    return " ".join(kept) if kept else message


# =============================================================================================
# The post-check
# =============================================================================================

_UNITS = (r"(?:mg|mcg|µg|ug|g|grams?|milligrams?|micrograms?|ml|millilit(?:re|er)s?|units?|iu|"
          r"tablets?|pills?|capsules?|caplets?|puffs?|drops?|sachets?|teaspoons?|tsp|doses?)")
_NUMBER = r"(?:\d+(?:[.,]\d+)?|one|two|three|four|five|six|seven|eight|half|a\s+couple\s+of)"
_DOSE_PATTERN = re.compile(
    rf"\b{_NUMBER}\s*(?:-|to|–|or)?\s*(?:{_NUMBER}\s*)?{_UNITS}\b(?:\s*(?:/|a|per|each)\s*"
    r"(?:day|night|daily|kg|hour|hours))?"
    r"|\b(?:mg|mcg|µg)\s+(?:of|tablets?)\b"
    r"|\b(?:once|twice|three\s+times|four\s+times)\s+(?:a|per|each)\s+day\b"
    r"|\bevery\s+\d+\s*(?:-\s*\d+\s*)?hours\b",
    re.I,
)
_MEDICATION_CONTEXT = re.compile(
    r"\b(?:take|taking|taken|dose|doses|dosage|daily|tablets?|pills?|capsules?|prescri\w+|"
    r"medicines?|medications?|drugs?|supplements?|mg|mcg|µg)\b", re.I)
_CERTAINTY = [
    (re.compile(r"\byou\s+(?:definitely|certainly|clearly|surely|obviously|undoubtedly)\s+"
                r"(?:have|had|are)\b", re.I), "you may have"),
    (re.compile(r"\b(?:it|this|that)(?:'s|\s+is)\s+(?:definitely|certainly|clearly|surely|"
                r"obviously|undoubtedly|without\s+(?:a\s+)?doubt)\b", re.I), "it may be"),
    (re.compile(r"\b(?:it|this|that)\s+(?:must|has\s+to)\s+be\b", re.I), "it could be"),
    (re.compile(r"\bi\s+(?:am|'m)\s+(?:sure|certain|confident)\s+(?:that\s+)?(?:it|you|this)\b",
                re.I), "it may be that it"),
    (re.compile(r"\byour\s+diagnosis\s+is\b", re.I), "one possibility is"),
    (re.compile(r"\b(?:the\s+)?diagnosis\s+is\s+(?:clearly|definitely|certainly)\b", re.I),
     "one possibility is"),
]
_YOU_HAVE = re.compile(r"(?<![\w'])you(?:'ve|\s+have)\s+(?:got\s+)?(?:an?\s+)?(?P<what>[a-z][\w -]{2,40})",
                       re.I)
_CONDITIONAL = re.compile(r"\b(?:if|when|whether|unless|until|once|in\s+case|do|does|did|may|might|"
                          r"could|think|worried|whenever|as\s+long\s+as|so)\b[^.?!]*$", re.I)
REASSURANCE = re.compile(
    r"\bnothing\s+to\s+worry\b|\bno\s+need\s+to\s+(?:worry|see\s+a\s+doctor|seek)\b|"
    r"\b(?:probably|most\s+likely|surely|certainly|definitely)\s+(?:just|only)\b|"
    r"\bjust\s+a\s+pulled\s+muscle\b|\bcan\s+wait\s+and\s+see\b|\bwait\s+and\s+see\b|"
    r"\bself-care\s+is\s+enough\b|\bdon'?t\s+need\s+(?:a|to\s+see\s+a)\s+doctor\b|"
    r"\bis\s+(?:completely\s+)?harmless\b|\bnormal\s+in\s+pregnancy\b",
    re.I)
EMERGENCY_IMPERATIVE = re.compile(
    r"\b(?:call\s+(?:911|999|112|an\s+ambulance|for\s+an\s+ambulance|emergency\s+services)|"
    r"go\s+(?:straight\s+)?to\s+(?:an?|the|your\s+nearest|the\s+nearest)\s+(?:emergency\s+"
    r"department|a&e|er|hospital)|get\s+emergency\s+(?:help|care))\s+(?:now|immediately|"
    r"right\s+away|straight\s+away|at\s+once)\b",
    re.I)
_CONDITIONAL_WORDS = re.compile(r"\b(?:if|when|should|whenever|in\s+case|unless)\b", re.I)


@dataclass(frozen=True)
class PostCheck:
    text: str
    changes: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def split_sentences(text: str) -> list[str]:
    """Sentences of a paragraph (a simple splitter that keeps citation markers attached)."""
    pieces = re.split(r"(?<=[.!?])(?:\s*\[\d+(?:,\s*\d+)*\])?\s+(?=[A-Z0-9\"'(])", text)
    # keep the citation markers that follow a sentence end with their sentence
    out: list[str] = []
    position = 0
    for piece in pieces:
        index = text.find(piece, position)
        if index < 0:
            out.append(piece)
            continue
        end = index + len(piece)
        marker = re.match(r"\s*\[\d+(?:,\s*\d+)*\]", text[end:])
        if marker:
            piece += marker.group(0)
            end += len(marker.group(0))
        out.append(piece.strip())
        position = end
    return [p for p in out if p]


def contains_dose(sentence: str) -> bool:
    """Does this sentence state an amount of a medicine?"""
    if not _DOSE_PATTERN.search(sentence):
        return False
    return _MEDICATION_CONTEXT.search(sentence) is not None or bool(
        _PRESCRIPTION_RE.search(sentence) or _OTC_RE.search(sentence))


def post_check(text: str, assessment: SafetyAssessment,
               condition_names: Iterable[str] = ()) -> PostCheck:
    """Check a composed answer once more and repair it.

    Paragraph by paragraph: sentences that state a dose are removed; reassurance that could talk
    someone out of care ("nothing to worry about", "probably just a pulled muscle") is removed;
    certainty about a diagnosis is softened ("you definitely have" -> "you may have"; "you have a
    hernia" -> "you may have a hernia"); in an answer that is not an emergency, unconditional "call
    999 now" sentences are removed and conditional ones say "straight away"; an emergency answer
    gets its emergency message back at the top if it went missing.
    """
    changes: list[str] = []
    names = [n.lower() for n in condition_names if len(n) > 3]
    paragraphs = [p for p in text.split("\n\n")]
    out_paragraphs: list[str] = []
    emergency = assessment.label == "emergency"
    for paragraph in paragraphs:
        if not paragraph.strip():
            continue
        if paragraph.lstrip().startswith(("Sources:", "[")) and re.match(r"\s*\[\d+\]", paragraph):
            out_paragraphs.append(paragraph)
            continue
        kept: list[str] = []
        for sentence in split_sentences(paragraph):
            if contains_dose(sentence) and not _is_safety_message(sentence):
                changes.append(f"removed a dose: {sentence[:80]!r}")
                continue
            if REASSURANCE.search(sentence):
                changes.append(f"removed reassurance: {sentence[:80]!r}")
                continue
            fixed = sentence
            for pattern, replacement in _CERTAINTY:
                fixed = pattern.sub(replacement, fixed)
            fixed = _soften_you_have(fixed, names)
            if fixed != sentence:
                changes.append(f"softened certainty: {sentence[:80]!r}")
            if not emergency and EMERGENCY_IMPERATIVE.search(fixed):
                if _CONDITIONAL_WORDS.search(fixed):
                    fixed = re.sub(r"\b(now|immediately|right\s+away|at\s+once)\b(?=[\s.,;!]|$)",
                                   "straight away", fixed, count=1, flags=re.I) \
                        if re.search(r"\bnow\b", fixed, re.I) else fixed
                    if fixed != sentence:
                        changes.append("made an emergency instruction conditional")
                else:
                    changes.append(f"removed an emergency instruction from a non-emergency "
                                   f"answer: {sentence[:80]!r}")
                    continue
            kept.append(fixed)
        if kept:
            out_paragraphs.append(" ".join(kept))
    result = "\n\n".join(out_paragraphs)
    if emergency:
        message = CRISIS_MESSAGE if assessment.crisis else (
            AMBULANCE_MESSAGE if assessment.ambulance else EMERGENCY_MESSAGE)
        if message not in result:
            result = message + ("\n\n" + result if result else "")
            changes.append("re-inserted the emergency message")
    if assessment.label == "refuse_dose" and DOSE_MESSAGE not in result:
        result = DOSE_MESSAGE + ("\n\n" + result if result else "")
        changes.append("re-inserted the dose refusal")
    if assessment.quinine and assessment.label in ("refuse_dose", "self_care") \
            and QUININE_WARNING not in result:
        result = QUININE_WARNING + ("\n\n" + result if result else "")
        changes.append("re-inserted the quinine warning")
    return PostCheck(result, tuple(changes))


def _is_safety_message(sentence: str) -> bool:
    return any(sentence in message for message in (AMBULANCE_MESSAGE, EMERGENCY_MESSAGE,
                                                      CRISIS_MESSAGE))


def _soften_you_have(sentence: str, names: Sequence[str]) -> str:
    """'You have a femoral hernia.' -> 'You may have a femoral hernia.' (not after 'if', 'when'...)."""
    def replace(match: re.Match[str]) -> str:
        before = sentence[:match.start()]
        if _CONDITIONAL.search(before) or re.search(r"\b(?:if|when|do|did|whether)\s*$", before, re.I):
            return match.group(0)
        what = match.group("what").lower()
        if names and not any(what.startswith(n) or n in what[: len(n) + 10] for n in names):
            return match.group(0)
        lead = match.group(0)
        first = "You" if lead[:1] == "Y" else "you"
        return first + " may have " + lead.split(None, 2)[-1] if lead.lower().startswith(
            "you have") else first + " may have " + match.group("what")
    return _YOU_HAVE.sub(replace, sentence)


def violations(text: str, assessment: SafetyAssessment) -> list[str]:
    """What :func:`post_check` would still object to (empty for a clean answer): for tests and logs."""
    problems = []
    for sentence in split_sentences(text.replace("\n\n", " ")):
        if contains_dose(sentence) and not _is_safety_message(sentence):
            problems.append(f"dose: {sentence[:80]!r}")
        if REASSURANCE.search(sentence):
            problems.append(f"reassurance: {sentence[:80]!r}")
        if any(p.search(sentence) for p, _ in _CERTAINTY):
            problems.append(f"certainty: {sentence[:80]!r}")
        if assessment.label != "emergency" and EMERGENCY_IMPERATIVE.search(sentence) \
                and not _CONDITIONAL_WORDS.search(sentence):
            problems.append(f"emergency instruction: {sentence[:80]!r}")
    if assessment.label == "emergency" and not any(
            m in text for m in (AMBULANCE_MESSAGE, EMERGENCY_MESSAGE, CRISIS_MESSAGE)):
        problems.append("emergency message missing")
    return problems
