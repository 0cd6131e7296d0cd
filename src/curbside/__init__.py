"""curbside: an open-source health assistant.

The Python API is the symptom checker's :class:`Engine` and :class:`Session`::

    from curbside import Engine, Settings
    engine = Engine.from_packs(Settings().pack_dirs)
    session = engine.start(age=41, sex="male", text="waves of pain from my side into my groin")
    while (question := session.next_question()) is not None:
        session.answer({finding: "unknown" for finding in question.finding_ids})
    result = session.result()
"""

from curbside.engine.inference import Answer, Evidence, EvidenceError
from curbside.engine.interview import InterviewSettings, Question
from curbside.engine.kb import KnowledgeBase, KnowledgeBaseError, TriageLevel, load_knowledge_base
from curbside.engine.session import (
    DISCLAIMER,
    Assessment,
    ComplaintError,
    Engine,
    RankedCondition,
    Session,
    assessment_to_dict,
)
from curbside.settings import Settings

__all__ = [
    "DISCLAIMER",
    "Answer",
    "Assessment",
    "ComplaintError",
    "Engine",
    "Evidence",
    "EvidenceError",
    "InterviewSettings",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "Question",
    "RankedCondition",
    "Session",
    "Settings",
    "TriageLevel",
    "assessment_to_dict",
    "load_knowledge_base",
]
