"""Two patients submitting at the same moment to a doctor with one free place: exactly one case
is assigned, the other waits (the doctors' rows are locked during matching); on both backends."""

from __future__ import annotations

import threading

from curbside.consults.service import CaseState, ConsultService
from curbside.store import Database
from tests.consults.conftest import HERNIA, World, profile, saved_check


def test_the_last_free_place_goes_to_one_case(world: World, consults: ConsultService,
                                              database: Database) -> None:
    doctor, _ = world.doctor("dr@example.org", "Dr S", profile(capacity=1))
    cases = []
    for patient in (world.patient, world.other_patient):
        check = world.hernia_check if patient is world.patient else saved_check(database, consults.engine,
                                                                                    patient, HERNIA)
        case = consults.open_case(patient.actor(), check)
        consults.add_question(patient.actor(), case.summary.id, "Is it serious?")
        cases.append((patient.actor(), case.summary.id))

    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def submit(index: int) -> None:
        actor, case_id = cases[index]
        try:
            start.wait()
            consults.submit(actor, case_id)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    states = sorted(consults.case(actor, case_id).summary.state for actor, case_id in cases)
    assert states == [CaseState.ASSIGNED, CaseState.SUBMITTED]
    assert consults.doctor(world.admin.actor(), doctor.id).load == 1
