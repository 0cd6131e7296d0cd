"""Which doctor gets a case, and why.

Only verified doctors of the needed specialty who accept cases and have room are candidates.
Among them, in this order: a doctor who reads the patient's language (a doctor who cannot read the
questions cannot answer them, so this weighs more than a lighter queue), the lowest load relative
to capacity (turnaround), the patient's region (US or EU: the same practice guidelines and
health system), the lowest absolute load, and finally the doctor's id, so the same inputs always
give the same doctor.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum


class Verification(StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    SUSPENDED = "suspended"


EU_COUNTRIES = frozenset({
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
    "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
})


def region_of(country: str | None) -> str | None:
    """``US``, ``EU`` or None (another or no country)."""
    if not country:
        return None
    code = country.strip().upper()
    if code == "US":
        return "US"
    return "EU" if code in EU_COUNTRIES else None


@dataclass(frozen=True)
class Doctor:
    """A doctor as matching sees them: ``load`` is the number of their open cases."""

    id: str
    name: str
    specialty: str
    country: str
    languages: tuple[str, ...]
    verification: Verification
    accepting: bool
    capacity: int
    load: int = 0

    @property
    def region(self) -> str | None:
        return region_of(self.country)


@dataclass(frozen=True)
class CaseNeeds:
    specialty: str
    language: str | None = None
    region: str | None = None


@dataclass(frozen=True)
class Match:
    doctor: Doctor | None
    reasons: tuple[str, ...]  # why this doctor (or why nobody), in words for the admin


def _exclusion(doctor: Doctor, needs: CaseNeeds) -> str | None:
    if doctor.verification is not Verification.VERIFIED:
        return f"{doctor.name}: not verified ({doctor.verification.value})"
    if doctor.specialty != needs.specialty:
        return f"{doctor.name}: another specialty ({doctor.specialty})"
    if not doctor.accepting:
        return f"{doctor.name}: not accepting cases"
    if doctor.load >= doctor.capacity:
        return f"{doctor.name}: full ({doctor.load} of {doctor.capacity} open cases)"
    return None


def _speaks(doctor: Doctor, language: str | None) -> bool:
    return language is None or language.lower() in {lang.lower() for lang in doctor.languages}


def choose_doctor(needs: CaseNeeds, doctors: Iterable[Doctor]) -> Match:
    everyone: Sequence[Doctor] = list(doctors)
    candidates = [d for d in everyone if _exclusion(d, needs) is None]
    if not candidates:
        excluded = [reason for d in everyone if d.specialty == needs.specialty
                    if (reason := _exclusion(d, needs)) is not None]
        return Match(None, (f"No verified doctor of {needs.specialty} with room is accepting cases.",
                            *excluded))

    def rank(d: Doctor) -> tuple[bool, float, bool, int, str]:
        same_region = needs.region is not None and d.region == needs.region
        return (not _speaks(d, needs.language), d.load / d.capacity, not same_region, d.load, d.id)

    chosen = min(candidates, key=rank)
    reasons = [f"{chosen.name}: verified, {needs.specialty}, accepting, "
               f"{chosen.load} of {chosen.capacity} open cases"]
    if needs.language is not None:
        reasons.append(f"reads {needs.language}" if _speaks(chosen, needs.language)
                       else f"nobody available reads {needs.language}")
    if needs.region is not None:
        reasons.append(f"practises in the patient's region ({needs.region})" if chosen.region == needs.region
                       else f"no available doctor in the patient's region ({needs.region}) came first")
    others = len(candidates) - 1
    if others:
        reasons.append(f"chosen over {others} other candidate(s) by language, load, region, then id")
    return Match(chosen, tuple(reasons))
