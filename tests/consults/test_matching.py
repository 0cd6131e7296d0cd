"""Matching: who is a candidate, the order of preferences, determinism, and the reasons given."""

from __future__ import annotations

from dataclasses import replace

from curbside.consults.matching import CaseNeeds, Doctor, Verification, choose_doctor, region_of

BASE = Doctor(id="d1", name="Dr One", specialty="urology", country="US", languages=("en",),
              verification=Verification.VERIFIED, accepting=True, capacity=10, load=0)


def doctor(id: str, **changes: object) -> Doctor:
    return replace(BASE, id=id, name=f"Dr {id}", **changes)  # type: ignore[arg-type]


def test_only_verified_accepting_doctors_of_the_specialty_with_room() -> None:
    doctors = [doctor("pending", verification=Verification.PENDING),
               doctor("suspended", verification=Verification.SUSPENDED),
               doctor("other", specialty="orthopedics"), doctor("closed", accepting=False),
               doctor("full", capacity=2, load=2)]
    match = choose_doctor(CaseNeeds("urology"), doctors)
    assert match.doctor is None
    reasons = " ".join(match.reasons)
    for why in ("not verified (pending)", "not verified (suspended)", "not accepting", "full (2 of 2"):
        assert why in reasons
    assert choose_doctor(CaseNeeds("urology"), [*doctors, doctor("ok")]).doctor == doctor("ok")


def test_lowest_load_relative_to_capacity() -> None:
    busy = doctor("busy", capacity=10, load=5)  # half full
    light = doctor("light", capacity=4, load=1)  # a quarter full
    idle = doctor("idle", capacity=20, load=6)  # 30 %
    assert choose_doctor(CaseNeeds("urology"), [busy, light, idle]).doctor == light


def test_the_patients_language_comes_before_load() -> None:
    english = doctor("en", languages=("en",), load=0)
    german = doctor("de", languages=("de", "en"), load=8)
    match = choose_doctor(CaseNeeds("urology", language="de"), [english, german])
    assert match.doctor == german
    assert "reads de" in match.reasons


def test_region_breaks_ties_of_load() -> None:
    us = doctor("us", country="US")
    eu = doctor("eu", country="DE")
    assert choose_doctor(CaseNeeds("urology", region="EU"), [us, eu]).doctor == eu
    assert choose_doctor(CaseNeeds("urology", region="US"), [eu, us]).doctor == us
    # but a lighter queue wins over the region
    assert choose_doctor(CaseNeeds("urology", region="EU"), [us, replace(eu, load=3)]).doctor == us


def test_deterministic_whatever_the_order() -> None:
    twins = [doctor("b"), doctor("a"), doctor("c")]
    assert choose_doctor(CaseNeeds("urology"), twins).doctor == doctor("a")
    assert choose_doctor(CaseNeeds("urology"), list(reversed(twins))).doctor == doctor("a")


def test_no_speaker_of_the_language_still_gets_a_doctor_and_says_so() -> None:
    match = choose_doctor(CaseNeeds("urology", language="fi"), [doctor("x")])
    assert match.doctor == doctor("x")
    assert "nobody available reads fi" in match.reasons


def test_regions() -> None:
    assert region_of("us") == "US"
    assert region_of("DE") == "EU"
    assert region_of("GB") is None  # not in the European Union
    assert region_of(None) is None
