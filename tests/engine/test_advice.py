"""The triage advice: one wording for every level, complete wherever it is shown."""

from __future__ import annotations

from curbside.engine.advice import ADVICE
from curbside.engine.kb.schema import TriageLevel
from curbside.reports.model import TRIAGE_TEXT
from curbside.web.api import TRIAGE_TEXT as API_TEXT
from curbside.web.pages import TRIAGE


def test_every_level_has_advice() -> None:
    assert set(ADVICE) == set(TriageLevel)


def test_placeholders_are_filled_wherever_the_advice_is_shown() -> None:
    for level, advice in ADVICE.items():
        shown = advice.actions_for(signs="listed below", self_care="the guides explain how")
        assert not any("{" in action or "}" in action for action in shown), level
    for actions in [v.actions for v in TRIAGE.values()] + [t.actions for t in TRIAGE_TEXT.values()]:
        assert not any("{" in action for action in actions)


def test_page_report_and_api_say_the_same_thing() -> None:
    for level, advice in ADVICE.items():
        assert TRIAGE[level].headline == TRIAGE_TEXT[level].headline == advice.headline
        assert API_TEXT[level.value] == (advice.label, advice.summary)
    assert "listed below" in " ".join(TRIAGE[TriageLevel.consultation_24].actions)
    assert "in this report" in " ".join(TRIAGE_TEXT[TriageLevel.consultation_24].actions)
