"""Ask the AI doctor: retrieval over curbside's own sourced content, and grounded answers.

Retrieval (docs/answerer-retrieval.md): ``passages`` (the unit of retrieval), ``corpus`` (guides,
knowledge base and MedQuAD as passages), ``embed`` (MiniLM sentence vectors in NumPy) and ``index``
(one SQLite file: FTS5 + vectors; hybrid ranking).
"""

# --- Answers: safety, composition, backends and the service (docs/answerer.md) -----------------
from curbside.answerer.compose import Citation as Citation
from curbside.answerer.safety import SAFETY_LABELS as SAFETY_LABELS
from curbside.answerer.safety import QuestionError as QuestionError
from curbside.answerer.safety import SafetyAssessment as SafetyAssessment
from curbside.answerer.safety import SafetyChecker as SafetyChecker
from curbside.answerer.safety import SafetyLabel as SafetyLabel
from curbside.answerer.service import Answer as Answer
from curbside.answerer.service import Answerer as Answerer
from curbside.answerer.service import SearchIndex as SearchIndex
from curbside.answerer.service import Turn as Turn
