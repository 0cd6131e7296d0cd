"""Knowledge-base packs: schema, loading, merging and validation."""

from curbside.engine.kb.knowledge import (
    KnowledgeBase,
    build_knowledge_base,
    load_knowledge_base,
    read_knowledge_base,
)
from curbside.engine.kb.load import KnowledgeBaseError, Problem
from curbside.engine.kb.schema import AGE_BANDS, TRIAGE_ORDER, TriageLevel, age_band

__all__ = [
    "AGE_BANDS",
    "TRIAGE_ORDER",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "Problem",
    "TriageLevel",
    "age_band",
    "build_knowledge_base",
    "load_knowledge_base",
    "read_knowledge_base",
]
