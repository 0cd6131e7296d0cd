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
mentions about other people; misspellings) and triaged with its red-flag rules and Bayes triage.
The general emergencies that the thigh-and-groin pack does not model are a second small pack built
here, :data:`GENERAL_FINDINGS` and :data:`GENERAL_RULES`, read by the *same* parser class. On top
come the features keyword lists miss: past history ("I had a DVT in 2019") and educational or
hypothetical framing ("what are the signs of a stroke") do not raise an alarm; prompt injection
("ignore your rules...") is recorded and otherwise treated as part of the question, never as an
instruction, and it never unlocks a dose.

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
from curbside.engine.kb.knowledge import KnowledgeBase
from curbside.engine.kb.schema import (
    Finding,
    FindingKind,
    Probability,
    RedFlagRule,
    TriageLevel,
)
from curbside.engine.parse import ParsedText, TextParser
from curbside.engine.parse.mentions import Mention
from curbside.engine.session import Engine
from curbside.engine.triage import rule_applies_to, rule_fires, triage

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
    visible = [c for c in text if not c.isspace()]
    junk = sum(1 for c in visible
               if unicodedata.category(c)[0] in "CZ" or unicodedata.category(c) in ("So", "Co"))
    letters = sum(1 for c in visible if c.isalpha())
    if junk > max(3, len(visible) // 10) or letters < max(2, len(visible) // 3):
        raise QuestionError("unreadable", "the question does not look like text: type it in words")
    text = _CONTROL.sub(" ", text)
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r"\s*\n\s*", "\n", text).strip()
    return text


# =============================================================================================
# The general emergencies (general-red-flags.md), as a small pack for the engine's parser
# =============================================================================================

#: (finding id, name, lay and clinical synonyms). The parser handles plurals, verb forms,
#: contractions and misspellings; negation ("no chest pain") and hedges ("signs of a stroke")
#: suppress a mention. Item numbers refer to general-red-flags.md.
GENERAL_FINDINGS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    # 1. heart attack
    ("gx_heart_attack", "heart attack", (
        "having a heart attack", "heart attack", "hart attack", "cardiac arrest", "my heart stopped",
        "angina not going away", "angina that will not go", "angina spray not working")),
    ("gx_chest_crushing", "crushing chest pain", (
        "crushing chest pain", "crushing pain in my chest", "chest feels heavy", "heavy chest",
        "heaviness in my chest", "elephant sitting on my chest", "elephant on my chest",
        "squeezing in my chest", "chest is squeezing", "squeezing chest pain",
        "band around my chest")),
    ("gx_chest_pressure", "tight chest", (
        "chest feels tight", "tight chest", "tightness in my chest", "chest tightness",
        "pressure in my chest", "chest pressure")),
    ("gx_arm_jaw_pain", "pain spreading to the arm or jaw", (
        "pain down my left arm", "pain down my arm", "pain going down my arm", "into my left arm",
        "into my arm", "left arm pain", "arm and jaw", "pain in my jaw", "jaw pain", "jaw ache",
        "spreading to my jaw", "going into my jaw", "spreads to my arm", "going down my left arm")),
    # 2. stroke
    ("gx_stroke", "stroke", (
        "stroke", "having a stroke", "mini stroke", "mini-stroke", "tia", "transient ischaemic attack")),
    ("gx_face_droop", "face drooping on one side", (
        "face drooping", "face droop", "face is drooping", "drooping face", "face has dropped",
        "face dropped", "one side of my face", "one side of his face", "one side of her face",
        "face is lopsided", "lopsided face", "crooked mouth", "mouth is crooked", "mouth drooping",
        "uneven smile", "smile is uneven")),
    ("gx_one_side_weakness", "sudden weakness on one side", (
        "can't lift my arm", "cannot lift my arm", "can't lift his arm", "can't lift her arm",
        "arm went numb", "arm went weak", "arm is weak", "weak arm", "numb down one side",
        "weakness on one side", "weak on one side", "one side of my body", "one side of his body",
        "one side of her body", "arm and leg are weak", "arm and leg went weak", "arm is numb",
        "numb on one side")),
    ("gx_speech", "slurred speech", (
        "slurred speech", "slurring", "slurring my words", "slurring his words",
        "slurring her words", "speech is slurred", "words coming out wrong", "can't find my words",
        "can't find the words", "talking gibberish", "speaking gibberish", "can't speak properly",
        "trouble speaking", "difficulty speaking", "can't talk properly", "garbled speech")),
    ("gx_vision_loss", "sudden loss of vision", (
        "can't see out of one eye", "cannot see out of one eye", "lost my vision", "lost vision",
        "vision loss", "went blind", "gone blind", "sudden blindness", "double vision",
        "curtain over my eye", "curtain coming across my vision", "shadow across my eye",
        "vision went dark", "vision went black", "lost my sight", "lost eyesight",
        "sudden blurred vision", "blurred vision suddenly", "shower of floaters")),
    ("gx_chemical_eye", "chemical in the eye", (
        "bleach in my eye", "chemical in my eye", "chemical splash in my eye", "acid in my eye",
        "oven cleaner in my eye", "drain cleaner in my eye", "cement in my eye")),
    # 3. breathing
    ("gx_severe_breathless", "severe difficulty breathing", (
        "can't breathe", "cannot breathe", "can barely breathe", "struggling to breathe",
        "fighting for breath", "gasping for air", "can't get my words out",
        "can't speak in full sentences", "can't speak in complete sentences",
        "can't speak in sentences", "can't finish a sentence", "can only say a few words",
        "too breathless to talk",
        "choking", "inhaler is not working", "inhaler not working", "inhaler not helping",
        "stopped breathing", "not breathing")),
    ("gx_breathless", "short of breath", (
        "short of breath", "shortness of breath", "out of breath", "breathless", "breathlessness",
        "can't catch my breath", "cannot catch my breath", "can't get my breath", "winded",
        "hard to breathe", "trouble breathing", "difficulty breathing", "struggling for breath")),
    ("gx_leg_swollen", "a swollen leg", (
        "leg is swollen", "swollen leg", "leg swelling", "leg has swollen", "leg is puffy",
        "puffy leg", "calf is swollen", "swollen calf", "thigh is swollen", "swollen thigh")),
    ("gx_blue_lips", "blue or grey lips", (
        "blue lips", "lips are blue", "lips going blue", "lips turning blue", "lips turning grey",
        "lips going grey", "turning blue", "fingers are blue", "face is blue", "cyanosis")),
    # 4. anaphylaxis
    ("gx_anaphylaxis", "anaphylaxis", (
        "anaphylaxis", "anaphylactic", "anaphylactic shock", "anaphalaxis", "anafilaxis",
        "used my epipen", "used my epi pen", "used an epipen", "severe allergic reaction")),
    ("gx_airway_swelling", "swelling of the throat, tongue or lips", (
        "throat closing", "throat is closing", "throat closing up", "throat feels tight",
        "throat is tight", "throat swelling", "throat is swelling", "swollen throat",
        "tongue swelling", "tongue is swelling", "swollen tongue", "lips swelling",
        "lips are swelling", "swollen lips", "face swelling up", "can't swallow", "cannot swallow")),
    ("gx_allergic_reaction", "allergic reaction", (
        "allergic reaction", "allergic to", "bee sting", "wasp sting", "stung by", "ate peanuts",
        "hives all over", "hives everywhere")),
    # 5-6. sepsis, meningitis
    ("gx_sepsis", "sepsis", ("sepsis", "septic", "septicaemia", "blood poisoning", "sepsus")),
    ("gx_mottled", "mottled or blotchy cold skin", (
        "mottled skin", "skin is mottled", "mottled", "blotchy and cold", "cold and blotchy",
        "skin is blotchy", "ashen", "feel like i am going to die", "feel like i'm going to die",
        "going to die")),
    ("gx_nonblanching_rash", "a rash that does not fade under a glass", (
        "rash that doesn't fade", "rash doesn't fade", "rash that does not fade",
        "rash does not fade when pressed", "doesn't fade when i press a glass",
        "doesn't go away when i press a glass", "glass test", "purple spots",
        "purple rash", "spots that don't fade", "non blanching rash", "non-blanching rash")),
    ("gx_stiff_neck", "stiff neck", (
        "stiff neck", "neck is stiff", "neck stiffness", "can't touch my chin to my chest",
        "can't bend my neck", "neck stiff")),
    ("gx_light_hurts", "light hurts the eyes", (
        "light hurts my eyes", "sensitive to light", "light sensitivity", "photophobia",
        "can't stand the light", "bright light hurts")),
    ("gx_meningitis", "meningitis", ("meningitis", "meningitus", "menengitis", "menigitis")),
    # 7. thunderclap headache
    ("gx_thunderclap", "worst headache of my life", (
        "worst headache of my life", "worst headache ever", "worst headache i have ever had",
        "thunderclap headache", "thunderclap", "explosive headache", "sudden severe headache",
        "sudden terrible headache", "something popped in my head", "like being hit on the head")),
    # 8. seizure
    ("gx_seizure", "seizure", (
        "convulsing", "seizure won't stop", "shaking and not responding", "siezure",
        "seizing", "first seizure", "first ever seizure", "had a seizure", "having a seizure")),
    ("gx_unresponsive", "unconscious or unresponsive", (
        "unconscious", "unresponsive", "not responding", "won't wake up", "can't wake him",
        "can't wake her", "can't wake them", "can't be woken", "no pulse", "knocked out",
        "lost consciousness")),
    # 10. bleeding
    ("gx_vomit_blood", "vomiting blood", (
        "vomiting blood", "vomited blood", "throwing up blood", "threw up blood", "puking blood",
        "blood in my vomit", "sick with blood", "coffee grounds", "coffee ground vomit",
        "haematemesis", "hematemesis")),
    ("gx_melaena", "black tarry stool", (
        "black tarry stool", "black tarry poo", "black tarry poop", "tarry stool", "tar like poo",
        "black sticky stool", "black sticky poo", "melena", "melaena", "malena",
        "pooping lots of blood", "lots of blood from my bottom")),
    ("gx_heavy_bleeding", "bleeding that will not stop", (
        "bleeding won't stop", "bleeding will not stop", "can't stop the bleeding",
        "won't stop bleeding", "spurting blood", "blood is spurting", "blood pouring",
        "pouring with blood", "soaked through", "bleeding heavily", "heavy bleeding",
        "losing a lot of blood")),
    # 11-12. acute abdomen, appendicitis
    ("gx_belly_pain", "stomach pain", (
        "stomach pain", "tummy pain", "belly pain", "abdominal pain", "stomach ache", "tummy ache",
        "bellyache", "pain in my stomach", "pain in my tummy", "pain in my belly", "stomach hurts",
        "tummy hurts", "belly hurts", "abdomen hurts")),
    ("gx_rigid_belly", "rigid, very tender belly", (
        "hard as a board", "stomach is rigid", "belly is rigid", "rigid belly", "rigid stomach",
        "rigid abdomen", "hurts to touch my stomach", "hurts to touch my tummy",
        "worst stomach pain", "worst tummy pain", "worst abdominal pain")),
    ("gx_right_lower_pain", "pain low on the right of the belly", (
        "lower right tummy", "lower right side of my tummy", "lower right side of my stomach",
        "lower right abdomen", "bottom right of my tummy", "bottom right of my stomach",
        "right lower abdomen", "moved to the lower right", "right side of my tummy",
        "appendix pain", "appendicitis", "apendicitis", "appendisitis")),
    # 14. pregnancy warning signs
    ("gx_reduced_fetal_movement", "the baby is moving less", (
        "baby not moving", "baby is not moving", "baby hasn't moved", "baby has not moved",
        "baby hasn't kicked", "can't feel the baby move", "can't feel my baby move",
        "baby moving less", "reduced fetal movements", "reduced movements", "fewer kicks")),
    ("gx_waters_broke", "waters broken", (
        "waters broke", "waters have broken", "waters broken", "gush of fluid")),
    ("gx_visual_disturbance", "blurred vision or flashing lights", (
        "blurred vision", "blurry vision", "flashing lights", "seeing spots", "seeing stars")),
    ("gx_sudden_swelling_face_hands", "sudden swelling of the face or hands", (
        "face is swollen", "swollen face", "hands are swollen", "swollen hands", "puffy face",
        "face and hands swollen", "face swelled up")),
    # 15. diabetes
    ("gx_diabetes_emergency", "diabetic emergency", (
        "dka", "ketoacidosis", "keto acidosis", "high ketones", "ketones are high",
        "ketones high", "blood sugar is very high", "blood sugar very low", "sugar is very low",
        "severe hypo", "having a hypo", "pear drops breath")),
    ("gx_low_sugar", "low blood sugar", (
        "low blood sugar", "blood sugar is low", "hypo", "hypoglycaemia", "hypoglycemia")),
    # 16. suicide and self-harm
    ("gx_suicidal", "suicidal thoughts", (
        "want to die", "wanna die", "want to kill myself", "going to kill myself", "kill myself",
        "killing myself", "kms", "end it all", "end my life", "take my own life",
        "don't want to be here anymore", "don't want to live", "do not want to live",
        "better off without me", "better off dead", "suicidal", "suicide", "sucidal",
        "self harm", "self-harm", "selfharm", "hurt myself", "hurting myself", "harm myself",
        "cut myself", "cutting myself", "unalive myself", "no reason to live",
        "take all my pills", "took pills to die", "goodbye note", "i have a plan to die")),
    # 17. overdose and poisoning
    ("gx_overdose", "overdose or poisoning", (
        "overdose", "overdosed", "overdoze", "od'd", "od on", "took too many", "taken too many",
        "took a whole packet", "took the whole packet", "took a whole bottle", "took the whole bottle",
        "swallowed bleach", "drank bleach", "swallowed some bleach", "ate some of my pills",
        "got into my pills", "took all my pills", "swallowed all my pills", "took a bottle of pills",
        "swallowed a bottle of pills", "swallowed a battery", "button battery", "drank antifreeze",
        "poisoned", "poisoning", "carbon monoxide", "took extra paracetamol",
        "taking extra paracetamol")),
    ("gx_food_poisoning", "food poisoning", (
        "food poisoning", "poison ivy", "poison oak", "blood poisoning")),
    # 18. head injury
    ("gx_head_injury", "head injury", (
        "hit my head", "hit his head", "hit her head", "banged my head", "banged his head",
        "banged her head", "head injury", "bumped my head", "fell and hit my head",
        "concussion", "concusion", "knock on the head", "blow to the head")),
    # 23. DVT named by the person (clinical-brief section 4: suspected DVT alone = same day)
    ("gx_clot_leg", "blood clot in the leg", (
        "blood clot in my leg", "clot in my leg", "clot in my calf", "clot in my thigh",
        "blood clot in my calf", "blood clot in my thigh", "dvt", "deep vein thrombosis",
        "thrombosis", "blood clot")),
    # 21. retention
    ("gx_urinary_retention", "cannot pass urine at all", (
        "can't pee at all", "cannot pee at all", "can't wee at all", "nothing comes out",
        "bladder is bursting", "haven't peed all day", "have not peed all day", "haven't peed since",
        "haven't been able to pee", "haven't been able to urinate", "unable to urinate",
        "can't urinate", "cannot urinate", "urinary retention", "urinary retension")),
    # 24. burns
    ("gx_serious_burn", "serious burn", (
        "chemical burn", "electrical burn", "electric shock", "burned my face", "burnt my face",
        "burned face", "smoke inhalation", "breathed in smoke", "burn is white", "burn is black",
        "charred skin", "burn bigger than my hand", "burn bigger than his hand",
        "burn bigger than her hand", "scalded", "scald")),
    # 25-27. babies and small children
    ("gx_baby", "baby", ("baby", "newborn", "infant", "week old", "weeks old", "month old",
                          "months old")),
    ("gx_sick_child_red", "a very unwell baby or child", (
        "floppy", "won't wake", "hard to wake", "no wet nappy", "no wet nappies", "no wet diaper",
        "dry nappy", "dry nappies", "sunken soft spot", "soft spot is sunken", "sunken fontanelle",
        "bulging soft spot", "soft spot is bulging", "bulging fontanelle", "high pitched cry",
        "high-pitched cry", "grunting", "green vomit", "won't feed", "not feeding")),
    # 28-30. confusion, heat, cold
    ("gx_confused_about", "confused about", (
        "confused about", "confused by", "am confused whether", "confused as to", "confused what",
        "confused why", "confused how", "confused if", "confused with", "confused because",
        "confused on", "confused over", "confused reading", "makes you drowsy",
        "makes me drowsy", "make you drowsy", "make me drowsy", "cause drowsiness",
        "causes drowsiness", "drowsy side effect", "non drowsy", "non-drowsy")),
    # figures of speech that contain an alarm word (general-red-flags.md "must NOT trigger")
    ("gx_idiom", "figure of speech", (
        "gave me a heart attack", "give me a heart attack", "nearly had a heart attack",
        "almost had a heart attack", "nearly gave me a heart attack", "heart attack on a plate",
        "dying to", "dead tired", "could kill him", "could kill her", "could kill them",
        "kill for a", "killing it", "killer workout", "laughing so hard i can't breathe",
        "allergic to my homework", "allergic to mondays", "overdosed on", "swim stroke",
        "breast stroke", "breaststroke", "back stroke", "golf stroke", "stroke of luck",
        "stroke the cat", "stroke the dog", "septic tank", "coughing fit", "laughing fit",
        "have a fit if", "will have a fit", "i'll have a fit")),
    ("gx_heat_stroke", "heatstroke", (
        "heat stroke", "heatstroke", "sun stroke", "sunstroke", "stopped sweating",
        "heat exhaustion won't go", "heat exhaustion not getting better")),
    ("gx_hypothermia", "hypothermia", (
        "hypothermia", "hypothermic", "hypothermya", "stopped shivering", "shivering uncontrollably")),
    # past-tense markers of the patient's own history are handled in the checker, not here.
)

_LEVEL = TriageLevel

#: (rule id, all, any, any_second, level, message, general-red-flags.md item). Thigh-pack finding ids
#: (fever, chest_pain, breathlessness, fainting, vomiting, confusion, seizure...) come from the
#: engine's own parse of the same text.
_GENERAL_RULE_TABLE: tuple[tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...],
                                 TriageLevel, str, int], ...] = (
    ("gx_heart_attack", (), ("gx_heart_attack",), (), _LEVEL.emergency_ambulance,
     "A heart attack or cardiac arrest needs an ambulance at once.", 1),
    ("gx_chest_pain_features", (), ("chest_pain", "gx_chest_pressure", "gx_chest_crushing"),
     ("gx_arm_jaw_pain", "heavy_sweating", "breathlessness", "gx_breathless",
      "gx_severe_breathless", "nausea",
      "vomiting", "fainting", "dizziness_standing", "palpitations"), _LEVEL.emergency_ambulance,
     "Chest pain or pressure with pain spreading to the arm or jaw, sweating, breathlessness, "
     "sickness or faintness can be a heart attack.", 1),
    ("gx_chest_crushing", (), ("gx_chest_crushing",), (), _LEVEL.emergency,
     "Crushing, heavy or squeezing chest pain can be a heart attack, even when it feels like "
     "indigestion.", 1),
    ("gx_chest_tight", (), ("gx_chest_pressure",), (), _LEVEL.consultation_24,
     "A tight chest should be checked by a doctor today; it is an emergency if it is crushing, "
     "spreads to the arm or jaw, or comes with sweating or breathlessness.", 1),
    ("gx_chest_pain_sudden", ("chest_pain",), ("sudden_onset", "severe_pain"), (), _LEVEL.emergency,
     "Sudden or severe chest pain needs to be checked in an emergency department.", 1),
    ("gx_chest_pain", ("chest_pain",), (), (), _LEVEL.consultation_24,
     "New chest pain should be checked by a doctor today; it is an emergency if it is heavy or "
     "crushing, spreads to the arm or jaw, or comes with sweating or breathlessness.", 1),
    ("gx_stroke", (), ("gx_stroke", "gx_face_droop", "gx_one_side_weakness", "gx_speech"), (),
     _LEVEL.emergency_ambulance,
     "A drooping face, weakness on one side, slurred speech or sudden loss of balance or vision can "
     "be a stroke, even if it goes away: every minute counts.", 2),
    ("gx_vision_loss", (), ("gx_vision_loss",), (), _LEVEL.emergency,
     "Sudden loss of vision, double vision or a curtain across the sight is an eye or stroke "
     "emergency.", 19),
    ("gx_chemical_eye", (), ("gx_chemical_eye",), (), _LEVEL.emergency,
     "A chemical in the eye: rinse it with plenty of clean running water for at least 15 minutes, "
     "then get emergency care.", 19),
    ("gx_breathing", (), ("gx_severe_breathless", "gx_blue_lips"), (), _LEVEL.emergency_ambulance,
     "Severe difficulty breathing, being unable to speak in sentences or blue or grey lips needs an "
     "ambulance.", 3),
    ("gx_breathless_sudden", (), ("breathlessness", "gx_breathless"),
     ("sudden_onset", "chest_pain", "coughing_blood", "fainting"), _LEVEL.emergency,
     "Sudden breathlessness, or breathlessness with chest pain, coughing blood or fainting, needs "
     "emergency care.", 3),
    ("gx_breathless", (), ("breathlessness", "gx_breathless"), (), _LEVEL.consultation,
     "New or worsening breathlessness should be checked by a doctor.", 3),
    ("gx_anaphylaxis", (), ("gx_anaphylaxis", "gx_airway_swelling"), (), _LEVEL.emergency_ambulance,
     "Swelling of the throat, tongue or lips, or a severe allergic reaction, can block the airway: "
     "use an adrenaline auto-injector if there is one and call an ambulance.", 4),
    ("gx_allergy_breathing", ("gx_allergic_reaction",), ("breathlessness", "gx_breathless", "fainting",
                                                         "dizziness_standing"), (),
     _LEVEL.emergency_ambulance,
     "An allergic reaction with breathing trouble or faintness can be anaphylaxis.", 4),
    ("gx_sepsis", (), ("gx_sepsis",), (), _LEVEL.emergency,
     "Possible sepsis (an infection affecting the whole body) needs emergency care.", 5),
    ("gx_sepsis_signs", (), ("fever", "chills_shaking", "gx_sepsis"),
     ("gx_mottled", "confusion", "gx_severe_breathless", "gx_urinary_retention"),
     _LEVEL.emergency_ambulance,
     "An infection or fever with mottled skin, new confusion, severe breathlessness or no urine can "
     "be sepsis.", 5),
    ("gx_meningitis_rash", (), ("gx_nonblanching_rash",), (), _LEVEL.emergency_ambulance,
     "A rash that does not fade when a glass is pressed on it can be meningitis or blood poisoning.", 6),
    ("gx_meningitis_signs", (), ("fever", "headache", "vomiting"), ("gx_stiff_neck", "gx_light_hurts"),
     _LEVEL.emergency_ambulance,
     "Fever, headache or vomiting with a stiff neck or a dislike of bright light can be meningitis.", 6),
    ("gx_meningitis", (), ("gx_meningitis",), (), _LEVEL.emergency,
     "Suspected meningitis is an emergency.", 6),
    ("gx_thunderclap", (), ("gx_thunderclap",), (), _LEVEL.emergency_ambulance,
     "A sudden, severe 'worst ever' headache can be bleeding in the brain.", 7),
    ("gx_headache_sudden", ("headache", "sudden_onset", "severe_pain"), (), (), _LEVEL.emergency,
     "A sudden, severe headache needs emergency assessment.", 7),
    ("gx_seizure", (), ("seizure", "gx_seizure"), (), _LEVEL.emergency_ambulance,
     "A seizure (fit) in someone without known epilepsy, or one lasting more than 5 minutes, needs "
     "an ambulance.", 8),
    ("gx_unresponsive", (), ("gx_unresponsive",), (), _LEVEL.emergency_ambulance,
     "Someone who is unconscious, unresponsive or not breathing normally needs an ambulance.", 8),
    ("gx_faint_cardiac", ("fainting",), ("chest_pain", "palpitations", "breathlessness", "gx_breathless",
                                         "during_exercise"), (), _LEVEL.emergency_ambulance,
     "Fainting with chest pain, a racing heart, breathlessness or during exercise can come from "
     "the heart.", 9),
    ("gx_faint", ("fainting",), (), (), _LEVEL.consultation_24,
     "A faint should be checked by a doctor today.", 9),
    ("gx_gi_bleed", (), ("gx_vomit_blood", "gx_melaena"), (), _LEVEL.emergency,
     "Vomiting blood, or black, sticky, tar-like stool, can be bleeding in the gut.", 10),
    ("gx_bleeding", (), ("gx_heavy_bleeding",), (), _LEVEL.emergency_ambulance,
     "Bleeding that will not stop with firm pressure needs an ambulance.", 10),
    ("gx_acute_abdomen", (), ("gx_rigid_belly",), (), _LEVEL.emergency,
     "Severe belly pain, or a belly that is rigid or very painful to touch, needs emergency care.", 11),
    ("gx_belly_severe", ("gx_belly_pain",), ("severe_pain",), (), _LEVEL.emergency,
     "Severe belly pain needs emergency care.", 11),
    ("gx_belly_pain", ("gx_belly_pain",), ("vomiting", "fever", "constant_pain"), (),
     _LEVEL.consultation_24,
     "Belly pain with vomiting or fever, or that is constant and getting worse, should be seen "
     "by a doctor today.", 11),
    ("gx_appendicitis", ("gx_right_lower_pain",), ("fever", "vomiting", "nausea", "severe_pain",
                                                   "constant_pain", "worse_cough_strain"), (),
     _LEVEL.emergency,
     "Pain low on the right of the belly with sickness, fever or pain on walking or coughing can be "
     "appendicitis.", 12),
    ("gx_fetal_movements", (), ("gx_reduced_fetal_movement",), (), _LEVEL.emergency,
     "A baby moving less than usual in pregnancy needs a same-day check at the maternity unit.", 14),
    ("gx_preeclampsia", ("pregnant",), ("gx_visual_disturbance", "gx_sudden_swelling_face_hands"),
     ("headache", "gx_visual_disturbance", "pain_lower_abdomen", "vomiting"), _LEVEL.emergency,
     "In pregnancy, a bad headache, blurred vision or flashing lights, or sudden swelling of the "
     "face or hands can be pre-eclampsia.", 14),
    ("gx_pregnancy_waters", ("pregnant", "gx_waters_broke"), (), (), _LEVEL.emergency,
     "Waters breaking in pregnancy: call the maternity unit now.", 14),
    ("gx_diabetes", (), ("gx_diabetes_emergency",), (), _LEVEL.emergency,
     "Very high blood sugar with ketones, or a severe hypo, is a diabetic emergency.", 15),
    ("gx_diabetes_vomiting", ("diabetes",), ("vomiting", "unable_keep_fluids_down", "confusion"), (),
     _LEVEL.emergency,
     "Someone with diabetes who is vomiting, cannot keep fluids down or is confused may have a "
     "diabetic emergency.", 15),
    ("gx_hypo_severe", ("gx_low_sugar",), ("confusion", "seizure", "gx_seizure", "fainting",
                                           "gx_unresponsive"), (), _LEVEL.emergency_ambulance,
     "Low blood sugar with confusion, a fit or unconsciousness needs an ambulance.", 15),
    ("gx_suicidal", (), ("gx_suicidal",), (), _LEVEL.emergency,
     "Thoughts of suicide or self-harm: you do not have to face this alone.", 16),
    ("gx_overdose", (), ("gx_overdose",), (), _LEVEL.emergency,
     "A possible overdose or poisoning needs emergency care even if the person feels fine: some "
     "poisons, paracetamol among them, do harm hours or days later.", 17),
    ("gx_head_injury_signs", ("gx_head_injury",), ("vomiting", "confusion", "seizure", "fainting",
                                                   "gx_seizure", "gx_unresponsive", "headache",
                                                   "gx_vision_loss"), (), _LEVEL.emergency,
     "A head injury followed by vomiting, drowsiness, confusion, a fit, a worsening headache or "
     "having been knocked out needs emergency care.", 18),
    ("gx_leg_and_breath", (), ("leg_swelling_one_side", "pain_whole_leg", "gx_leg_swollen",
                               "gx_clot_leg"),
     ("breathlessness", "gx_breathless", "chest_pain", "coughing_blood", "fainting"),
     _LEVEL.emergency_ambulance,
     "A swollen or painful leg with breathlessness, chest pain, coughing blood or fainting can be a "
     "clot that has travelled to the lungs.", 23),
    ("gx_clot_leg", (), ("gx_clot_leg",), (), _LEVEL.consultation_24,
     "A suspected blood clot in the leg (DVT) needs a doctor's check today; call an ambulance if "
     "you become breathless, have chest pain, cough blood or faint.", 23),
    ("gx_retention", (), ("gx_urinary_retention",), (), _LEVEL.emergency,
     "Being unable to pass urine with a full, painful bladder needs emergency care.", 21),
    ("gx_burn", (), ("gx_serious_burn",), (), _LEVEL.emergency,
     "Large, deep, chemical or electrical burns, and burns to the face, hands, feet or genitals, "
     "need emergency care. Cool the burn under cool running water for 20 minutes.", 24),
    ("gx_baby_red", (), ("gx_sick_child_red",), (), _LEVEL.emergency,
     "A baby or child who is floppy, hard to wake, not feeding, has no wet nappies, a sunken or "
     "bulging soft spot or a high-pitched cry needs emergency care.", 27),
    ("gx_confusion", ("confusion",), (), (), _LEVEL.emergency,
     "New confusion or unusual drowsiness needs emergency assessment.", 28),
    ("gx_heat_stroke", (), ("gx_heat_stroke",), (), _LEVEL.emergency_ambulance,
     "Heatstroke is an emergency: move the person somewhere cool and cool them while waiting.", 29),
    ("gx_hypothermia", (), ("gx_hypothermia",), (), _LEVEL.emergency_ambulance,
     "Suspected hypothermia needs an ambulance: warm the person gently, no hot bath.", 30),
)
#: Babies under 3 months with a temperature of 38 C or more (item 26): an age-limited rule.
_INFANT_FEVER = ("gx_infant_fever", ("fever",), (), (), _LEVEL.emergency,
                 "A baby under 3 months with a temperature of 38 C (100.4 F) or more needs to be "
                 "seen urgently, however well they look.", 26)


def _general_rules() -> tuple[RedFlagRule, ...]:
    rules = [
        RedFlagRule(id=rid, all=list(a), any=list(b), any_second=list(c), level=level,
                    message=message, source=[f"GRF{item}"])
        for rid, a, b, c, level, message, item in _GENERAL_RULE_TABLE
    ]
    rid, a, b, c, level, message, item = _INFANT_FEVER
    rules.append(RedFlagRule(id=rid, all=list(a), any=list(b), any_second=list(c), level=level,
                             message=message, source=[f"GRF{item}"], max_age=0.25))
    return tuple(rules)


GENERAL_RULES: tuple[RedFlagRule, ...] = _general_rules()


#: A finding that is never matched: its description carries the words of the base knowledge base,
#: so the parser's spelling correction knows them ("stone" is not a misspelt "stroke").
KNOWN_WORDS_FINDING = "gx_known_words"


def general_knowledge_base(base: KnowledgeBase | None = None) -> KnowledgeBase:
    """The general emergencies as a findings-only knowledge base for :class:`TextParser`.

    ``base`` (the engine's knowledge base) lends its vocabulary to the spelling correction.
    """
    findings = {
        fid: Finding(id=fid, kind=FindingKind.symptom, name=name,
                     question=f"Do you have {name}?", synonyms=list(synonyms),
                     background=Probability(value=0.01, estimate="general_red_flag"))
        for fid, name, synonyms in GENERAL_FINDINGS
    }
    if base is not None:
        words: set[str] = set()
        for finding in base.findings.values():
            for phrase in (finding.name, *finding.synonyms):
                words.update(re.findall(r"[a-z]+", phrase.lower()))
        findings[KNOWN_WORDS_FINDING] = Finding(
            id=KNOWN_WORDS_FINDING, kind=FindingKind.symptom, name="gx known words vocabulary",
            question="Not asked: vocabulary only.", description=" ".join(sorted(words)),
            background=Probability(value=0.01, estimate="general_red_flag"))
    conditions = dict(base.conditions) if base is not None else {}
    return KnowledgeBase(findings=findings, conditions=conditions, red_flags=list(GENERAL_RULES))


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
    """Labels questions with the engine's parser and rules plus the general emergencies.

    Build once (compiling the general pack's vocabulary takes a fraction of a second); thread-safe.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._general_kb = general_knowledge_base(engine.kb)
        self._general = TextParser(self._general_kb)
        self._history_kinds = frozenset(
            f.id for f in engine.kb.findings.values()
            if f.kind in (FindingKind.history, FindingKind.risk_factor))
        words: set[str] = set()
        for condition in engine.kb.conditions.values():
            for name in (condition.name, condition.lay_name or ""):
                words.update(w for w in re.findall(r"[a-z]+", name.lower()) if len(w) >= 6)
        words.update(w for _, name, synonyms in GENERAL_FINDINGS if not name.startswith(
            ("figure", "confused", "baby", "gx ")) for phrase in (name, *synonyms)
            for w in re.findall(r"[a-z]+", phrase.lower()) if len(w) >= 7)
        self._condition_words = frozenset(words - _NOT_MEDICAL)

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

        context = _clause_breaks(context)
        engine_parse = self.engine.parse(context)
        general_parse = self._general.parse(context)
        engine_present, past = self._current(engine_parse, context, self._history_kinds)
        general_present, general_past = self._current(general_parse, context, frozenset())
        general_present = [f for f in general_present
                           if f not in _CONDITION_NAMES or not _only_as_topic(general_parse, context, f)]
        markers = set(general_parse.present) & _MARKER_FINDINGS
        general_present = [f for f in general_present if f not in _MARKER_FINDINGS]
        if "gx_confused_about" in markers:
            engine_present = [f for f in engine_present if f != "confusion"
                              or self._confusion_stands(engine_parse, general_parse)]
        past += general_past
        # Someone else's symptoms happening now count ("my dad is suddenly confused"); their
        # history does not ("my dad had a stroke in 2015").
        third_party: list[str] = []
        neutral = _neutralise_relatives(context)
        if neutral != context:
            for parsed, known in ((self.engine.parse(neutral), engine_present),
                                  (self._general.parse(neutral), general_present)):
                for finding in parsed.present:
                    if finding in known or finding in _MARKER_FINDINGS or finding in past:
                        continue
                    mentions = [m for m in parsed.mentions if m.finding_id == finding and m.present]
                    if any(_third_party_now(neutral, m) for m in mentions):
                        known.append(finding)
                        third_party.append(finding)
        absent = tuple(engine_parse.absent) + tuple(
            f for f in general_parse.absent if f.startswith("gx_"))
        age = engine_parse.age if engine_parse.age is not None else general_parse.age
        sex = engine_parse.sex or general_parse.sex

        flags: list[Flag] = []
        level: TriageLevel | None = None
        conditions: tuple[LikelyCondition, ...] = ()
        if any(f not in _MODIFIERS for f in engine_present):
            level, engine_flags, conditions = self._triage(engine_present, engine_parse.absent,
                                                           age, sex)
            flags += engine_flags
        present_all = set(engine_present) | set(general_present)
        for rule in GENERAL_RULES:
            if rule_applies_to(rule, age if age is not None else DEFAULT_AGE, sex or "female") \
                    and rule_fires(rule, present_all):
                flags.append(Flag(rule.id, rule.level, rule.message,
                                  tuple(f for f in rule.findings if f in present_all),
                                  tuple(rule.source), "general"))
        overdose = _OVERDOSE_COUNT.search(context)
        if overdose and int(overdose.group("n")) >= 10 and not educational:
            flags.append(Flag("gx_overdose_count", TriageLevel.emergency,
                              "Taking this many tablets at once can be an overdose: get emergency "
                              "care now, even if you feel fine.", (), ("GRF17",), "general"))
        flags.sort(key=lambda f: -f.level.rank)
        flags = _dedupe_flags(flags)
        rule_level = flags[0].level if flags else None
        if rule_level is not None and (level is None or rule_level.rank > level.rank):
            level = rule_level

        crisis = any(f.id == "gx_suicidal" for f in flags)
        quinine = mentions_quinine(context)
        asked = strip_injection(text) or text
        health = bool(present_all) or bool(past) or bool(engine_parse.absent) or dose is not None \
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
        elif level is not None and not educational:
            label = label_of_level(level)
            reasons.append(f"triage of the described symptoms: {level.value}")
        else:
            label = "self_care"
            reasons.append("information question" if not present_all
                           else "educational question")
        if third_party:
            reasons.append("symptoms of another person, happening now: " + ", ".join(third_party))
        if injection:
            reasons.append("instructions inside the question were ignored: "
                           + "; ".join(injection))
        guides = tuple(dict.fromkeys(c.guide for c in conditions
                                     if c.guide is not None and c.probability >= 0.05))
        concern = self._concern(conditions, label) if not educational else None
        return SafetyAssessment(
            label=label, level=level, flags=tuple(flags), present=tuple(sorted(present_all)),
            absent=absent, past=tuple(past), conditions=conditions, educational=educational,
            injection=injection, dose=dose, crisis=crisis and label == "emergency",
            quinine=quinine, health=health, reasons=tuple(reasons), age=age, sex=sex,
            guides=guides, concern=concern, off_topic=off_topic,
        )

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
    def _confusion_stands(engine_parse: ParsedText, general_parse: ParsedText) -> bool:
        """'confused about my tablets' is no confusion: keep it only if mentioned elsewhere too."""
        about = [m for m in general_parse.mentions if m.finding_id == "gx_confused_about"]
        for m in engine_parse.mentions:
            if m.finding_id == "confusion" and m.present and not any(
                    a.start <= m.start < a.end or m.start <= a.start < m.end for a in about):
                return True
        return False

    @staticmethod
    def _current(parsed: ParsedText, text: str,
                 history_kinds: frozenset[str]) -> tuple[list[str], list[str]]:
        """Present findings, minus those mentioned only in sentences about the past."""
        current: list[str] = []
        past: list[str] = []
        for finding in parsed.present:
            if finding in history_kinds:
                current.append(finding)
                continue
            mentions = [m for m in parsed.mentions if m.finding_id == finding and m.present]
            if mentions and all(_in_past_sentence(text, m) for m in mentions):
                past.append(finding)
            else:
                current.append(finding)
        return current, past

    def _triage(self, present: Sequence[str], absent: Sequence[str], age: float | None,
                sex: str | None) -> tuple[TriageLevel, list[Flag], tuple[LikelyCondition, ...]]:
        """The engine's triage (red flags + Bayes loss); an unknown sex tries both, keeps the worst."""
        model = self.engine.model
        known = set(model.finding_index)
        evidence = Evidence.of(present=[f for f in present if f in known],
                               absent=[f for f in absent if f in known and f not in present])
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
        return TRIAGE_LEVELS[best[0]], best[1], best[2]


#: Findings that only qualify a complaint: on their own they are no reason to triage.
_MODIFIERS = frozenset({"duration_hours", "duration_days", "duration_weeks", "sudden_onset",
                        "gradual_onset", "episode_seconds_to_minutes", "recurrent_episodes",
                        "constant_pain", "pain_at_rest", "occurs_at_night", "duration", "onset"})
#: General findings that only block or mark (never a symptom of their own).
_MARKER_FINDINGS = frozenset({"gx_idiom", "gx_confused_about", "gx_known_words", "gx_food_poisoning"})
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


#: General findings that are names of conditions: "can an abscess cause a heart attack?" asks about
#: the condition, it does not report one.
_CONDITION_NAMES = frozenset({
    "gx_heart_attack", "gx_stroke", "gx_meningitis", "gx_sepsis", "gx_overdose", "gx_anaphylaxis",
    "gx_clot_leg", "gx_diabetes_emergency", "gx_heat_stroke", "gx_hypothermia",
    "gx_right_lower_pain", "gx_suicidal"})
_TOPIC_BEFORE = re.compile(
    r"\b(?:cause[sd]?|causing|treat(?:s|ed|ing|ment)?|prevent(?:s|ed|ing|ion)?|risks?|chances?|"
    r"lead(?:s|ing)?\s+to|linked(?:\s+to|\s+with)?|associated\s+with|used\s+(?:for|to\s+treat)|"
    r"against|avoid(?:ing)?|reduce[sd]?|stating|called|statistics|rates?)\s+(?:\w+\s+){0,2}$",
    re.I)


def _only_as_topic(parsed: ParsedText, text: str, finding: str) -> bool:
    """Is every mention of ``finding`` the topic of a question rather than a report?"""
    mentions = [m for m in parsed.mentions if m.finding_id == finding and m.present]
    if not mentions:
        return False
    return all(_TOPIC_BEFORE.search(text[max(0, m.start - 40):m.start]) for m in mentions)


def _clause_breaks(text: str) -> str:
    """", just a swollen calf" starts a new clause: a negation before it does not reach it.
    (Same length: mention offsets stay valid.)"""
    return _CLAUSE_BREAK.sub(".", text)


def _neutralise_relatives(text: str) -> str:
    """The text with relatives replaced by "he", so the parser keeps what happens to them."""
    return _RELATIVE.sub("he", text)


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
