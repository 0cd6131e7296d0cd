"""What each triage level tells a person to do: one wording for the web pages, the API, the CLI and
the health report, so that the advice cannot drift between them.

Two phrases depend on where the advice is shown (a page lists warning signs "below", a report "in
this report"; self-care help is in "the guides linked below" or "the self-care section of this
report"): :meth:`TriageAdvice.actions_for` fills them in.
"""

from __future__ import annotations

from dataclasses import dataclass

from curbside.engine.kb.schema import TriageLevel

EMERGENCY_NUMBERS = "911 (US), 112 (Europe) or 999 (UK)"


@dataclass(frozen=True)
class TriageAdvice:
    label: str  #: a few words, for lists and tables
    summary: str  #: one sentence, for the API and the command line
    headline: str  #: the banner of a result page or report
    detail: str
    actions: tuple[str, ...]  #: may hold ``{signs}`` and ``{self_care}``
    usual: str  #: how a list of conditions names this level ("usually needs ...")

    def actions_for(self, signs: str, self_care: str) -> tuple[str, ...]:
        """The actions, saying where the warning signs (``signs``: "listed below") and the
        self-care advice (``self_care``: "the guides linked below explain how") are."""
        return tuple(a.format(signs=signs, self_care=self_care) for a in self.actions)


ADVICE: dict[TriageLevel, TriageAdvice] = {
    TriageLevel.emergency_ambulance: TriageAdvice(
        label="Call an ambulance",
        summary=f"Call an ambulance now: {EMERGENCY_NUMBERS}.",
        headline="Call an ambulance now (911 US / 112 EU / 999 UK)",
        detail="Your answers include signs of a problem that can be life-threatening.",
        actions=(f"Call {EMERGENCY_NUMBERS} now.",
                 "Do not drive yourself.",
                 "If you can, tell them the warning signs {signs}."),
        usual="an ambulance",
    ),
    TriageLevel.emergency: TriageAdvice(
        label="Emergency department now",
        summary="Go to an emergency department now. Do not drive yourself.",
        headline="Go to an emergency department now",
        detail="Your answers include signs of a problem that needs to be seen in hospital today.",
        actions=("Go to the nearest emergency department (A&E, ER) now.",
                 "Do not drive yourself: ask someone to take you.",
                 f"If you get worse or cannot get there safely, call {EMERGENCY_NUMBERS}."),
        usual="an emergency department",
    ),
    TriageLevel.consultation_24: TriageAdvice(
        label="See a doctor today",
        summary="See a doctor today or within 24 hours.",
        headline="See a doctor today",
        detail="Your answers suggest a problem that a doctor should check within 24 hours.",
        actions=("Contact a doctor today: your GP or family doctor, an urgent care centre, "
                 "or a phone service such as NHS 111 in England.",
                 "If it gets worse, or a warning sign {signs} appears, go to an emergency "
                 "department."),
        usual="a doctor today",
    ),
    TriageLevel.consultation: TriageAdvice(
        label="See a doctor in the next few days",
        summary="Book an appointment with a doctor in the next few days.",
        headline="See a doctor in the next few days",
        detail="Your answers suggest a problem that a doctor should look at, but not urgently.",
        actions=("Book an appointment with your GP or family doctor in the next few days.",
                 "Get help sooner if it gets worse or new symptoms appear."),
        usual="a doctor in the next few days",
    ),
    TriageLevel.self_care: TriageAdvice(
        label="Self-care",
        summary="Self-care at home is reasonable; see a doctor if it does not improve or gets "
                "worse.",
        headline="Self-care is reasonable",
        detail="Your answers suggest a problem you can usually look after yourself.",
        actions=("Look after yourself at home: {self_care}.",
                 "See a doctor if it does not get better, keeps coming back or gets worse."),
        usual="self-care",
    ),
}
