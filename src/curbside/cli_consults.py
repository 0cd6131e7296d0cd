"""``curbside doctors add|verify|suspend|list``: the doctors' directory from the command line, as
the operator (an admin without an account). Also the demo doctors that ``curbside demo seed`` adds.

Every failure is one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from curbside.accounts import AccountService
    from curbside.consults.service import ConsultService, DoctorView

doctors_app = typer.Typer(help="Second-opinion doctors: register, verify, suspend, list.",
                          no_args_is_help=True)
console = Console()

#: Development only, documented in docs/second-opinion.md: fictional doctors with published
#: passwords, so that a newcomer can sign in as one and answer a case.
DEMO_DOCTORS = (
    # email, name, specialty, country, languages, licence, authority
    ("demo-dr-surgery@example.org", "Dr Alex Morgan (fictional)", "general_surgery", "US", ("en", "es"),
     "DEMO-US-1001", "Demo Medical Board of California (fictional)"),
    ("demo-dr-ortho@example.org", "Dr Lena Fischer (fictional)", "orthopedics", "DE", ("de", "en"),
     "DEMO-DE-2002", "Demo Ärztekammer Berlin (fictional)"),
    ("demo-dr-sports@example.org", "Dr Sam Carter (fictional)", "sports_medicine", "US", ("en",),
     "DEMO-US-3003", "Demo New York State Medical Board (fictional)"),
    ("demo-dr-vascular@example.org", "Dr Marie Laurent (fictional)", "vascular_surgery", "FR", ("fr", "en"),
     "DEMO-FR-4004", "Demo Ordre des médecins (fictional)"),
    ("demo-dr-family@example.org", "Dr Pablo Ruiz (fictional)", "family_medicine", "ES", ("es", "en"),
     "DEMO-ES-5005", "Demo Colegio de Médicos de Madrid (fictional)"),
    ("demo-dr-urology@example.org", "Dr Chris Lee (fictional)", "urology", "US", ("en",),
     "DEMO-US-6006", "Demo Texas Medical Board (fictional)"),
    ("demo-dr-hematology@example.org", "Dr Anna Rossi (fictional)", "hematology", "IT", ("it", "en"),
     "DEMO-IT-7007", "Demo Ordine dei Medici di Roma (fictional)"),
)
DEMO_DOCTOR_PASSWORD = "doctor-demo-curbside-2026"


def _fail(message: str, code: int = 2) -> typer.Exit:
    from curbside.cli import fail

    return fail(message, code)


def _services() -> tuple[AccountService, ConsultService]:
    """The account and consult services on the configured, migrated database (no knowledge base)."""
    from curbside.cli import _accounts
    from curbside.consults.service import ConsultService
    from curbside.settings import Settings

    accounts = _accounts(Settings())
    return accounts, ConsultService.from_settings(Settings(), accounts.database, accounts.mailer,
                                                  accounts=accounts)


def _row(doctor: DoctorView) -> dict[str, object]:
    return {"id": doctor.id, "email": doctor.email, "name": doctor.name, "specialty": doctor.specialty,
            "country": doctor.country, "region": doctor.region, "languages": list(doctor.languages),
            "licence_number": doctor.licence_number, "licence_authority": doctor.licence_authority,
            "verification": doctor.verification.value, "verified_by": doctor.verified_by,
            "verified_at": doctor.verified_at.isoformat() if doctor.verified_at else None,
            "accepting": doctor.accepting, "capacity": doctor.capacity, "open_cases": doctor.load,
            "fictional": doctor.fictional}


def _errors() -> tuple[type[Exception], ...]:
    from curbside.access import Forbidden, NotFound
    from curbside.accounts import AccountError
    from curbside.consults.service import ConsultError

    return AccountError, ConsultError, NotFound, Forbidden


def _message(exc: Exception) -> str:
    return str(getattr(exc, "message", None) or exc)


@doctors_app.command("add")
def doctors_add(
    email: Annotated[str, typer.Option(help="The doctor's email (their sign-in name).")],
    name: Annotated[str, typer.Option(help="Their name as patients see it.")],
    specialty: Annotated[str, typer.Option(help="A specialty id, e.g. orthopedics, urology.")],
    country: Annotated[str, typer.Option(help="Where they are licensed: US or an EU country code.")],
    languages: Annotated[str, typer.Option(help="Languages they answer in, comma-separated: en,de.")],
    licence: Annotated[str, typer.Option(help="The licence (registration) number.")],
    authority: Annotated[str, typer.Option(help="The authority that issued the licence.")],
    capacity: Annotated[int, typer.Option(help="Open cases at most.", min=1, max=200)] = 10,
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the password from standard input; otherwise a random one is set "
                                 "and the doctor chooses theirs with 'forgot password'.")] = False,
) -> None:
    """Create a doctor account with a profile pending verification."""
    from curbside.access import Actor
    from curbside.consults.service import parse_profile

    password = secrets.token_urlsafe(24)
    if password_stdin:
        from curbside.cli import _read_password

        password = _read_password(True)
    accounts, consults = _services()
    try:
        profile = parse_profile(specialty=specialty, country=country, capacity=capacity,
                                languages=tuple(languages.split(",")), licence_number=licence,
                                licence_authority=authority)
        doctor = consults.register_doctor(Actor.system(), email=email, password=password, name=name,
                                          profile=profile)
    except _errors() as exc:
        raise _fail(_message(exc)) from None
    finally:
        accounts.database.dispose()
    console.print(f"added {doctor.email} ({doctor.id}), {doctor.specialty_name}, pending verification: "
                  f"check the licence, then 'curbside doctors verify {doctor.email}'",
                  highlight=False, soft_wrap=True)


def _set_state(email: str, verify: bool) -> None:
    from curbside.access import Actor

    accounts, consults = _services()
    try:
        doctor = consults.doctor_by_email(Actor.system(), email)
        changed = (consults.verify_doctor if verify else consults.suspend_doctor)(Actor.system(), doctor.id)
    except _errors() as exc:
        raise _fail(_message(exc)) from None
    finally:
        accounts.database.dispose()
    console.print(f"{changed.email}: {changed.verification.value}", highlight=False, soft_wrap=True)


@doctors_app.command("verify")
def doctors_verify(email: Annotated[str, typer.Argument(help="The doctor's email.")]) -> None:
    """Mark the doctor verified (after checking the licence): they may receive cases."""
    _set_state(email, verify=True)


@doctors_app.command("suspend")
def doctors_suspend(email: Annotated[str, typer.Argument(help="The doctor's email.")]) -> None:
    """Suspend the doctor: no new cases, no access to assigned ones (reassign them)."""
    _set_state(email, verify=False)


@doctors_app.command("list")
def doctors_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Every doctor, whatever their verification state."""
    from curbside.access import Actor

    accounts, consults = _services()
    try:
        doctors = consults.list_doctors(Actor.system(), include_unverified=True)
    finally:
        accounts.database.dispose()
    if as_json:
        print(json.dumps([_row(d) for d in doctors], indent=2, ensure_ascii=False))
        return
    table = Table(title=f"{len(doctors)} doctor(s)")
    for column in ("email", "name", "specialty", "country", "languages", "state", "cases", "fictional"):
        table.add_column(column)
    for d in doctors:
        table.add_row(d.email, d.name, d.specialty, d.country, ",".join(d.languages), d.verification.value,
                      f"{d.load}/{d.capacity}", "yes" if d.fictional else "")
    console.print(table)


def seed_demo_doctors(accounts: AccountService) -> list[tuple[str, str, str]]:
    """Create (or keep) the fictional, verified demo doctors; (email, password, created|exists) each."""
    from curbside.access import Actor
    from curbside.accounts import EmailTaken
    from curbside.consults.service import ConsultService, DoctorProfile

    consults = ConsultService(accounts.database, accounts.mailer, accounts=accounts,
                              attachments_dir=_attachments())
    operator = Actor.system()
    seeded = []
    for email, name, specialty, country, languages, licence, authority in DEMO_DOCTORS:
        profile = DoctorProfile(specialty=specialty, country=country, languages=languages,
                                licence_number=licence, licence_authority=authority, fictional=True)
        try:
            doctor = consults.register_doctor(operator, email=email, password=DEMO_DOCTOR_PASSWORD, name=name,
                                              profile=profile)
            consults.verify_doctor(operator, doctor.id)
            seeded.append((email, DEMO_DOCTOR_PASSWORD, "created"))
        except EmailTaken:
            seeded.append((email, DEMO_DOCTOR_PASSWORD, "exists"))
    return seeded


def _attachments() -> Path:
    from curbside.settings import Settings

    return Settings().data_dir / "attachments"
