"""The state machine: every (state, event, party) triple is either in the table and allowed, or
refused; the matrix is generated from the enums, so a state or event added later is covered."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from curbside.consults.workflow import (
    FINAL_STATES,
    TRANSITIONS,
    CaseEvent,
    CaseState,
    Party,
    TransitionNotAllowed,
    Turnaround,
    allowed_events,
    transition,
)

TRIPLES = list(itertools.product(CaseState, CaseEvent, Party))
ALLOWED = [(s, e, p) for s, e, p in TRIPLES if (s, e) in TRANSITIONS and p in TRANSITIONS[(s, e)][1]]
FORBIDDEN = [t for t in TRIPLES if t not in ALLOWED]


def test_the_matrix_covers_every_combination() -> None:
    assert len(ALLOWED) + len(FORBIDDEN) == len(CaseState) * len(CaseEvent) * len(Party)
    assert len(ALLOWED) == sum(len(parties) for _, parties in TRANSITIONS.values())


@pytest.mark.parametrize(("state", "event", "party"), ALLOWED, ids=lambda v: str(v))
def test_allowed_transition(state: CaseState, event: CaseEvent, party: Party) -> None:
    assert transition(state, event, party) is TRANSITIONS[(state, event)][0]
    assert event in allowed_events(state, party)


@pytest.mark.parametrize(("state", "event", "party"), FORBIDDEN, ids=lambda v: str(v))
def test_forbidden_transition(state: CaseState, event: CaseEvent, party: Party) -> None:
    with pytest.raises(TransitionNotAllowed) as refused:
        transition(state, event, party)
    assert refused.value.status == 409
    assert refused.value.state is state and refused.value.event is event
    assert event not in allowed_events(state, party)


def test_the_happy_path_reaches_closed() -> None:
    state = CaseState.DRAFT
    for event, party in [(CaseEvent.SUBMIT, Party.PATIENT), (CaseEvent.ASSIGN, Party.SYSTEM),
                         (CaseEvent.START_REVIEW, Party.ASSIGNED_DOCTOR),
                         (CaseEvent.REQUEST_MORE_INFORMATION, Party.ASSIGNED_DOCTOR),
                         (CaseEvent.PROVIDE_INFORMATION, Party.PATIENT),
                         (CaseEvent.SIGN, Party.ASSIGNED_DOCTOR),
                         (CaseEvent.CLOSE, Party.PATIENT)]:
        state = transition(state, event, party)
    assert state is CaseState.CLOSED


def test_every_state_is_reachable_and_only_final_states_are_dead_ends() -> None:
    reached = {CaseState.DRAFT}
    frontier = [CaseState.DRAFT]
    while frontier:
        state = frontier.pop()
        for (source, _), (target, _) in TRANSITIONS.items():
            if source is state and target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == set(CaseState)
    assert {CaseState.CLOSED, CaseState.CANCELLED} == FINAL_STATES


def test_a_doctor_cannot_sign_for_the_patient_nor_the_patient_for_the_doctor() -> None:
    with pytest.raises(TransitionNotAllowed, match="cannot be signed by the patient"):
        transition(CaseState.IN_REVIEW, CaseEvent.SIGN, Party.PATIENT)
    with pytest.raises(TransitionNotAllowed):
        transition(CaseState.DRAFT, CaseEvent.SUBMIT, Party.ASSIGNED_DOCTOR)


# -- turnaround ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("submitted", "due"), [
    ("2026-11-24T09:00:00+00:00", "2026-12-01T09:00:00+00:00"),  # Tuesday -> next Tuesday
    ("2026-11-27T16:00:00+00:00", "2026-12-04T16:00:00+00:00"),  # Friday -> next Friday
    ("2026-11-28T10:00:00+00:00", "2026-12-07T00:00:00+00:00"),  # Saturday: counted from Monday
])
def test_due_date_counts_working_days(submitted: str, due: str) -> None:
    assert Turnaround(5).due(datetime.fromisoformat(submitted)).isoformat() == due


def test_turnaround_is_configurable_and_bounded() -> None:
    monday = datetime(2026, 11, 23, 12, tzinfo=UTC)
    assert Turnaround(3).due(monday) == datetime(2026, 11, 26, 12, tzinfo=UTC)
    with pytest.raises(ValueError):
        Turnaround(0)


def test_overdue_only_while_waiting_for_the_doctor() -> None:
    due = datetime(2026, 12, 1, 9, tzinfo=UTC)
    later = datetime(2026, 12, 2, tzinfo=UTC)
    policy = Turnaround()
    assert policy.is_overdue(CaseState.IN_REVIEW, due, later)
    assert policy.is_overdue(CaseState.SUBMITTED, due, later)
    assert not policy.is_overdue(CaseState.IN_REVIEW, due, datetime(2026, 11, 30, tzinfo=UTC))
    assert not policy.is_overdue(CaseState.NEEDS_MORE_INFORMATION, due, later)
    assert not policy.is_overdue(CaseState.ANSWERED, due, later)
    assert not policy.is_overdue(CaseState.DRAFT, None, later)
