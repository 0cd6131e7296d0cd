"""``curbside demo second-opinion``: the whole second-opinion flow, end to end, through the HTTP API.

A newcomer's way to see it work, and a test of the real stack: a fresh temporary data directory
(SQLite database, attachments, the mail outbox), the real app served by uvicorn on a free port of
127.0.0.1 in a background thread, and every step an HTTP call with httpx, as the patient, an
administrator and a (fictional) doctor would make it. Nothing is kept afterwards.
"""

from __future__ import annotations

import json
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

if TYPE_CHECKING:
    import httpx

    from curbside.app import Curbside

console = Console()

PATIENT = ("demo-flow-patient@example.org", "a quiet walk by the river 2026", "Robin (demo patient)")
ADMIN = ("demo-flow-admin@example.org", "admin-demo-flow-curbside-2026", "Demo admin")
DOCTOR_PASSWORD = "doctor-demo-flow-curbside-2026"
COMPLAINT = {"age": 34, "sex": "female", "text": "cramp in my inner thigh after running"}
#: A minimal PDF: enough for the type sniffing, a stand-in for a letter from the patient's doctor.
RECORD = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
MAX_ANSWERS = 40


class DemoFailed(Exception):
    """A step did not answer as expected: the message names the step and the response."""


@dataclass
class Flow:
    steps: list[dict[str, Any]] = field(default_factory=list)
    on_step: Callable[[dict[str, Any]], None] | None = None

    def record(self, step: str, state: str | None, **details: Any) -> None:
        entry = {"step": step, "state": state, **details}
        self.steps.append(entry)
        if self.on_step is not None:
            self.on_step(entry)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve(curbside: Curbside) -> Iterator[str]:
    """The real app behind uvicorn on 127.0.0.1 (a thread); yields its base URL."""
    import uvicorn

    from curbside.web.app import create_app

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(curbside), host="127.0.0.1", port=port, log_level="error", lifespan="off")
    )
    thread = threading.Thread(target=server.run, name="curbside-demo", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise DemoFailed("the demo server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _ok(response: httpx.Response, step: str, *expected: int) -> Any:
    if response.status_code not in (expected or (200,)):
        raise DemoFailed(f"{step}: HTTP {response.status_code}: {response.text[:300]}")
    return response.json() if response.content else None


def _sign_in(http: httpx.Client, email: str, password: str, step: str) -> dict[str, str]:
    session = _ok(http.post("/api/v1/auth/sign-in", json={"email": email, "password": password}), step)
    return {"Authorization": f"Bearer {session['token']}"}


def _finish_check(http: httpx.Client, auth: dict[str, str]) -> dict[str, Any]:
    """Start a check and answer "no" to every question until the checker stops asking."""
    interview = _ok(http.post("/api/v1/interviews", json=COMPLAINT, headers=auth), "check", 201)
    for _ in range(MAX_ANSWERS):
        question = interview.get("question")
        if question is None or interview.get("should_stop"):
            break
        answers = {item["id"]: "absent" for item in question["items"]}
        interview = _ok(
            http.post(
                f"/api/v1/interviews/{interview['id']}/answers", json={"answers": answers}, headers=auth
            ),
            "check",
        )
    return dict(interview)


def _doctor_for(curbside: Curbside, specialty: str) -> tuple[str, str]:
    """A pending fictional doctor of the case's specialty (the operator registers them; an admin
    verifies them over HTTP). The demo doctors' data when one practises it."""
    from curbside.access import Actor
    from curbside.cli_consults import DEMO_DOCTORS
    from curbside.consults.service import DoctorProfile
    from curbside.consults.specialties import specialty_name

    known = {d[2]: d for d in DEMO_DOCTORS}
    email, name, _, country, languages, licence, authority = known.get(
        specialty,
        (
            "demo-flow-doctor@example.org",
            f"Dr Jo Demo, {specialty_name(specialty)} (fictional)",
            specialty,
            "US",
            ("en",),
            "DEMO-US-9009",
            "Demo Medical Board (fictional)",
        ),
    )
    profile = DoctorProfile(
        specialty=specialty,
        country=country,
        languages=languages,
        licence_number=licence,
        licence_authority=authority,
        fictional=True,
    )
    doctor = curbside.consults.register_doctor(
        Actor.system(), email=email, password=DOCTOR_PASSWORD, name=name, profile=profile
    )
    return doctor.id, email


def _mails(curbside: Curbside) -> int:
    outbox = curbside.settings.outbox_dir
    return len(list(outbox.glob("*.eml"))) if outbox.exists() else 0


def run_flow(curbside: Curbside, base_url: str, flow: Flow) -> str:
    """Every step of the second opinion over HTTP; returns the final state of the case."""
    import httpx

    from curbside.access import Actor, Role

    with httpx.Client(base_url=base_url, timeout=60) as http:
        email, password, name = PATIENT
        user = _ok(
            http.post(
                "/api/v1/auth/sign-up", json={"email": email, "password": password, "display_name": name}
            ),
            "sign up",
            201,
        )
        patient = _sign_in(http, email, password, "patient sign in")
        flow.record("patient signs up", None, user_id=user["id"])

        interview = _finish_check(http, patient)
        top = interview["conditions"][0]["name"] if interview.get("conditions") else None
        flow.record(
            "patient does a symptom check",
            None,
            interview_id=interview["id"],
            questions_asked=interview["questions_asked"],
            top_condition=top,
        )

        _ok(http.post(f"/api/v1/interviews/{interview['id']}/claim", headers=patient), "save", 204)
        flow.record("patient saves the check", None)

        report = _ok(http.get(f"/api/v1/interviews/{interview['id']}/report", headers=patient), "report")
        flow.record("patient reads the report", None, report_id=report.get("id"))

        case = _ok(
            http.post(
                "/api/v1/cases",
                json={"interview_id": interview["id"], "language": "en", "country": "US"},
                headers=patient,
            ),
            "open case",
            201,
        )
        case_id = case["id"]
        _ok(
            http.post(
                f"/api/v1/cases/{case_id}/questions",
                headers=patient,
                json={"text": "Is this a muscle strain or something I should worry about?"},
            ),
            "question",
            201,
        )
        attachment = _ok(
            http.post(
                f"/api/v1/cases/{case_id}/attachments",
                headers=patient,
                files={"file": ("gp-letter.pdf", RECORD, "application/pdf")},
            ),
            "attachment",
            201,
        )
        case = _ok(http.get(f"/api/v1/cases/{case_id}", headers=patient), "case")
        flow.record(
            "patient opens a case with a question and an attachment",
            case["state"],
            case_id=case_id,
            specialty=case["specialty"],
            attachment=attachment["media_type"],
        )

        doctor_id, doctor_email = _doctor_for(curbside, case["specialty"])
        curbside.accounts.sign_up(ADMIN[0], ADMIN[1], ADMIN[2], Actor.system(), role=Role.ADMIN)
        admin = _sign_in(http, ADMIN[0], ADMIN[1], "admin sign in")
        verified = _ok(http.post(f"/api/v1/admin/doctors/{doctor_id}/verify", headers=admin), "verify")
        flow.record(
            "admin verifies a fictional doctor",
            case["state"],
            doctor=verified["name"],
            verification=verified["verification"],
        )

        case = _ok(http.post(f"/api/v1/cases/{case_id}/submit", json={}, headers=patient), "submit")
        flow.record(
            "patient submits; matching assigns the doctor",
            case["state"],
            doctor=case["doctor_name"],
            due_at=case["due_at"],
        )
        if case["state"] != "assigned":
            raise DemoFailed(f"submit: the case is {case['state']}, not assigned")

        doctor = _sign_in(http, doctor_email, DOCTOR_PASSWORD, "doctor sign in")
        queue = _ok(http.get("/api/v1/cases", headers=doctor), "doctor queue")
        case = _ok(
            http.post(f"/api/v1/cases/{case_id}/start-review", json={}, headers=doctor), "start review"
        )
        flow.record("doctor signs in and starts the review", case["state"], queue=len(queue))

        file = http.get(f"/api/v1/cases/{case_id}/attachments/{attachment['id']}", headers=doctor)
        _ok_bytes = file.status_code == 200 and file.content == RECORD
        draft = {
            "verdicts": {
                c["id"]: {"verdict": "agree" if i == 0 else "uncertain", "comment": ""}
                for i, c in enumerate(case["conditions"])
            },
            "assessment": "The story fits a strain of the adductor muscles; nothing suggests a clot.",
            "recommendations": [
                "Relative rest, then gradual return to running.",
                "See your doctor if the thigh swells, turns red or the pain grows.",
            ],
            "answers": {
                q["id"]: "Most likely a muscle strain; the warning signs to watch are listed."
                for q in case["questions"]
            },
        }
        _ok(http.put(f"/api/v1/cases/{case_id}/review", json=draft, headers=doctor), "save review")
        case = _ok(http.post(f"/api/v1/cases/{case_id}/sign", json={}, headers=doctor), "sign")
        flow.record(
            "doctor reads the attachment, reviews and signs",
            case["state"],
            attachment_read=_ok_bytes,
            content_hash=(case["review"] or {}).get("content_hash"),
        )

        case = _ok(http.get(f"/api/v1/cases/{case_id}", headers=patient), "read opinion")
        with_opinion = _ok(
            http.get(f"/api/v1/cases/{case_id}/report", headers=patient), "report with opinion"
        )
        followup = _ok(
            http.post(
                f"/api/v1/cases/{case_id}/followups",
                headers=patient,
                json={"question": "When can I run again?"},
            ),
            "follow-up",
            201,
        )
        flow.record(
            "patient reads the opinion and asks a follow-up",
            case["state"],
            signed_by=(case["review"] or {}).get("signer_name"),
            opinion_in_report=bool(with_opinion.get("review")),
        )

        _ok(
            http.post(
                f"/api/v1/cases/{case_id}/followups/{followup['id']}/answer",
                headers=doctor,
                json={"answer": "Once walking and stretching are painless, usually in two to three weeks."},
            ),
            "answer follow-up",
        )
        case = _ok(http.get(f"/api/v1/cases/{case_id}", headers=patient), "case")
        flow.record(
            "doctor answers the follow-up",
            case["state"],
            answered=all(f["answer"] for f in case["followups"]),
        )

        case = _ok(http.post(f"/api/v1/cases/{case_id}/close", json={}, headers=patient), "close")
        flow.record(
            "patient closes the case", case["state"], events=len(case["events"]), mails_sent=_mails(curbside)
        )
        return str(case["state"])


def demo_curbside(data_dir: Path) -> Curbside:
    """A Curbside on a fresh temporary data directory, whatever the environment says: its own
    SQLite database, mail to the outbox, no rate limit."""
    from curbside.app import Curbside
    from curbside.settings import Settings

    curbside = Curbside(
        Settings(
            data_dir=data_dir,
            database_url=None,
            environment="development",
            smtp_host=None,
            rate_limit_per_minute=0,
        )
    )
    curbside.prepare_database()
    return curbside


def second_opinion(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of the steps.")
    ] = False,
) -> None:
    """Run the whole second-opinion flow over HTTP against a temporary database, and print each step."""
    import logging

    from rich.table import Table

    logging.getLogger("curbside.mail").setLevel(logging.ERROR)  # the outbox notice: noise here
    flow = Flow()
    if not as_json:
        console.print(
            "[bold]curbside second opinion, end to end[/bold] (a temporary database; fictional people)"
        )
        flow.on_step = lambda s: console.print(
            f"[green]✓[/green] {s['step']}" + (f"  [dim]case: {s['state']}[/dim]" if s["state"] else ""),
            highlight=False,
        )
    with tempfile.TemporaryDirectory(prefix="curbside-demo-") as folder:
        try:
            curbside = demo_curbside(Path(folder))
        except Exception as exc:  # a knowledge base or settings problem: one line, not a traceback
            from curbside.cli import fail

            raise fail(f"cannot start curbside: {exc}", 1) from None
        try:
            with serve(curbside) as base_url:
                final = run_flow(curbside, base_url, flow)
        except DemoFailed as exc:
            from curbside.cli import fail

            raise fail(f"the demo stopped: {exc}", 1) from None
        finally:
            curbside.database.dispose()
    if as_json:
        print(
            json.dumps({"steps": flow.steps, "final_state": final}, indent=2, ensure_ascii=False, default=str)
        )
        return
    table = Table(title="The case, step by step")
    for column in ("step", "case state"):
        table.add_column(column)
    for s in flow.steps:
        table.add_row(s["step"], s["state"] or "–")
    console.print(table)
    console.print(
        f"final state: [bold]{final}[/bold]. The opinion is information, not a diagnosis.", highlight=False
    )
