"""The case workflow as data: states, events, who may fire each event, and the turnaround clock.

The table :data:`TRANSITIONS` is the single source of truth: :func:`transition` reads it, the
service fires only its events, and the tests generate the full allowed/forbidden matrix from it,
so a state added later cannot slip past the checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum


class CaseState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    ASSIGNED = "assigned"
    IN_REVIEW = "in_review"
    NEEDS_MORE_INFORMATION = "needs_more_information"
    ANSWERED = "answered"
    CLOSED = "closed"
    DECLINED = "declined"
    CANCELLED = "cancelled"


class CaseEvent(StrEnum):
    SUBMIT = "submit"
    ASSIGN = "assign"  # matching found a doctor (system) or an admin chose one
    REASSIGN = "reassign"
    START_REVIEW = "start_review"
    REQUEST_MORE_INFORMATION = "request_more_information"
    PROVIDE_INFORMATION = "provide_information"
    DECLINE = "decline"
    SIGN = "sign"
    CLOSE = "close"
    CANCEL = "cancel"


class Party(StrEnum):
    """Who fires an event, relative to the case (not the account role: a doctor who is not the
    assigned one is no party to the case at all)."""

    PATIENT = "patient"
    ASSIGNED_DOCTOR = "assigned_doctor"
    ADMIN = "admin"
    SYSTEM = "system"


class TransitionNotAllowed(Exception):
    """The event is not allowed in this state, or not for this party (interfaces answer 409)."""

    code = "transition_not_allowed"
    status = 409

    def __init__(self, state: CaseState, event: CaseEvent, party: Party):
        self.state, self.event, self.party = state, event, party
        self.message = (f"A case that is {state.value.replace('_', ' ')} cannot be "
                        f"{_EVENT_WORDS[event]} by the {party.value.replace('_', ' ')}.")
        super().__init__(self.message)


_EVENT_WORDS = {
    CaseEvent.SUBMIT: "submitted", CaseEvent.ASSIGN: "assigned", CaseEvent.REASSIGN: "reassigned",
    CaseEvent.START_REVIEW: "taken into review",
    CaseEvent.REQUEST_MORE_INFORMATION: "sent back for information",
    CaseEvent.PROVIDE_INFORMATION: "returned with more information", CaseEvent.DECLINE: "declined",
    CaseEvent.SIGN: "signed", CaseEvent.CLOSE: "closed", CaseEvent.CANCEL: "cancelled",
}

S, E, P = CaseState, CaseEvent, Party

#: (state, event) -> (the new state, the parties who may fire it). Anything absent is refused.
TRANSITIONS: dict[tuple[CaseState, CaseEvent], tuple[CaseState, frozenset[Party]]] = {
    (S.DRAFT, E.SUBMIT): (S.SUBMITTED, frozenset({P.PATIENT})),
    (S.DRAFT, E.CANCEL): (S.CANCELLED, frozenset({P.PATIENT})),
    (S.SUBMITTED, E.ASSIGN): (S.ASSIGNED, frozenset({P.SYSTEM, P.ADMIN})),
    (S.SUBMITTED, E.CANCEL): (S.CANCELLED, frozenset({P.PATIENT, P.ADMIN})),
    (S.ASSIGNED, E.START_REVIEW): (S.IN_REVIEW, frozenset({P.ASSIGNED_DOCTOR})),
    (S.ASSIGNED, E.DECLINE): (S.DECLINED, frozenset({P.ASSIGNED_DOCTOR})),
    (S.ASSIGNED, E.REASSIGN): (S.ASSIGNED, frozenset({P.ADMIN})),
    (S.ASSIGNED, E.CANCEL): (S.CANCELLED, frozenset({P.PATIENT, P.ADMIN})),
    (S.IN_REVIEW, E.REQUEST_MORE_INFORMATION): (S.NEEDS_MORE_INFORMATION, frozenset({P.ASSIGNED_DOCTOR})),
    (S.IN_REVIEW, E.SIGN): (S.ANSWERED, frozenset({P.ASSIGNED_DOCTOR})),
    (S.IN_REVIEW, E.DECLINE): (S.DECLINED, frozenset({P.ASSIGNED_DOCTOR})),
    (S.IN_REVIEW, E.REASSIGN): (S.ASSIGNED, frozenset({P.ADMIN})),
    (S.IN_REVIEW, E.CANCEL): (S.CANCELLED, frozenset({P.PATIENT, P.ADMIN})),
    (S.NEEDS_MORE_INFORMATION, E.PROVIDE_INFORMATION): (S.IN_REVIEW, frozenset({P.PATIENT})),
    (S.NEEDS_MORE_INFORMATION, E.REASSIGN): (S.ASSIGNED, frozenset({P.ADMIN})),
    (S.NEEDS_MORE_INFORMATION, E.CANCEL): (S.CANCELLED, frozenset({P.PATIENT, P.ADMIN})),
    # a declined case is not lost: an admin can route it to another doctor, or the patient cancels
    (S.DECLINED, E.REASSIGN): (S.ASSIGNED, frozenset({P.ADMIN})),
    (S.DECLINED, E.CANCEL): (S.CANCELLED, frozenset({P.PATIENT, P.ADMIN})),
    (S.ANSWERED, E.CLOSE): (S.CLOSED, frozenset({P.PATIENT, P.ADMIN, P.SYSTEM})),
}

#: States in which nothing more happens.
FINAL_STATES = frozenset(s for s in CaseState if not any(k[0] is s for k in TRANSITIONS))
#: States in which the turnaround clock runs (the case waits for a doctor).
WAITING_FOR_DOCTOR = frozenset({S.SUBMITTED, S.ASSIGNED, S.IN_REVIEW, S.DECLINED})
#: States in which the patient may still change questions and attachments.
PATIENT_EDITABLE = frozenset({S.DRAFT, S.NEEDS_MORE_INFORMATION})


def transition(state: CaseState, event: CaseEvent, party: Party) -> CaseState:
    """The state after ``event`` fired by ``party``; raises TransitionNotAllowed otherwise."""
    allowed = TRANSITIONS.get((CaseState(state), CaseEvent(event)))
    if allowed is None or party not in allowed[1]:
        raise TransitionNotAllowed(CaseState(state), CaseEvent(event), party)
    return allowed[0]


def allowed_events(state: CaseState, party: Party) -> list[CaseEvent]:
    """What ``party`` may do next: the buttons an interface shows."""
    return [event for (s, event), (_, parties) in TRANSITIONS.items() if s is state and party in parties]


# -- turnaround ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Turnaround:
    """The promised time to an answer, in working days (Monday to Friday) from submission.

    Public holidays differ by country and are not counted: the target is a promise to the
    patient, and erring a day early is the safe side. The due time keeps the submission's time of
    day, so a case submitted on Friday at 16:00 with 5 working days is due the next Friday at 16:00.
    """

    working_days: int = 5

    def __post_init__(self) -> None:
        if not 1 <= self.working_days <= 30:
            raise ValueError("the turnaround is between 1 and 30 working days")

    def due(self, submitted_at: datetime) -> datetime:
        day = _next_working_day(submitted_at.date()) if submitted_at.weekday() >= 5 else submitted_at.date()
        weekday = submitted_at.weekday() < 5
        start_time = submitted_at.timetz() if weekday else time(0, tzinfo=submitted_at.tzinfo)
        for _ in range(self.working_days):
            day = _next_working_day(day)
        return datetime.combine(day, start_time)

    def is_overdue(self, state: CaseState, due_at: datetime | None, now: datetime) -> bool:
        """Overdue: still waiting for the doctor after the due time. Waiting for the patient
        (needs more information) and finished cases are never overdue."""
        return due_at is not None and state in WAITING_FOR_DOCTOR and now > due_at


def _next_working_day(day: date) -> date:
    day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day
