"""``curbside report SOURCE --format html|pdf|fhir|json -o PATH``: a saved check as a health report.

SOURCE is a saved check's id (read from the database through the interview service, as the
command-line operator) or the file ``curbside check ... --json`` wrote (it holds the session
state under ``session``). Every failure is one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from curbside.engine.kb import KnowledgeBaseError
from curbside.engine.session import Engine
from curbside.guides import GuideLibrary
from curbside.settings import Settings

if TYPE_CHECKING:  # imported when the command runs: other commands need not load the renderers
    from curbside.reports.model import HealthReport

err_console = Console(stderr=True)

#: A saved check is a few kilobytes; a larger file is not one.
_MAX_SOURCE_FILE = 5_000_000


class ReportFormat(StrEnum):
    html = "html"
    pdf = "pdf"
    fhir = "fhir"
    json = "json"


def _fail(message: str, code: int = 1) -> typer.Exit:
    err_console.print(f"[red]error:[/] {message}", highlight=False, soft_wrap=True, markup=True)
    return typer.Exit(code)


def _load_engine_and_guides(settings: Settings) -> tuple[Engine, GuideLibrary]:
    from curbside.engine.interview import InterviewSettings
    from curbside.guides import read_guides

    try:
        engine = Engine.from_packs(settings.pack_dirs,
                                   InterviewSettings(max_questions=settings.max_questions),
                                   alias_file=settings.alias_file, cache_dir=settings.cache_dir)
    except KnowledgeBaseError as exc:
        raise _fail(f"the knowledge base does not load ({exc}); run 'curbside kb check'") from None
    guides, _ = read_guides(settings.guides_dir, engine.kb.conditions)
    return engine, GuideLibrary(guides)


def _read_source_file(path: Path) -> Any:
    try:
        if path.stat().st_size > _MAX_SOURCE_FILE:
            raise _fail(f"{path}: too large to be a saved check")
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise _fail(f"{path}: not a JSON file written by 'curbside check --json'") from None
    except OSError as exc:
        raise _fail(f"{path}: cannot read it ({exc.strerror or exc})") from None


def _report_from_file(path: Path, now: datetime) -> HealthReport:
    from curbside.reports.model import ReportError, build_report

    data = _read_source_file(path)
    if not isinstance(data, dict):
        raise _fail(f"{path}: not a saved check (expected the JSON object of 'curbside check --json')")
    engine, guides = _load_engine_and_guides(Settings())
    try:
        return build_report(data, engine, guides, created_at=now)
    except ReportError as exc:
        raise _fail(f"{path}: {exc}") from None


def _report_from_database(interview_id: str, now: datetime) -> HealthReport:
    from sqlalchemy.exc import SQLAlchemyError

    from curbside.access import Actor
    from curbside.app import Curbside
    from curbside.interviews import InterviewNotFound
    from curbside.reports.model import ReportError, build_report
    from curbside.store import Database
    from curbside.store.database import sqlite_file

    missing = (f"no saved check with id {interview_id!r} (nor a file of that name); a check saved "
               "to an account can be read only by its owner, in the web app or the API")
    if not (interview_id.isascii() and interview_id.isalnum()):
        raise _fail(missing)
    settings = Settings()
    try:
        url = settings.resolved_database_url
        file = sqlite_file(url)
        if file is not None and not file.exists():  # reading must not create a database
            raise _fail(missing)
        curbside = Curbside(settings, database=Database(url))
    except (SQLAlchemyError, ImportError, ValueError, OSError) as exc:
        raise _fail(f"cannot open the database: {exc}") from None
    except KnowledgeBaseError as exc:
        raise _fail(f"the knowledge base does not load ({exc}); run 'curbside kb check'") from None
    try:
        # The operator at the command line: reaches anonymous checks by id, never a patient's.
        stored = curbside.interviews.get(interview_id, actor=Actor.system())
        return build_report(stored.session, curbside.engine, curbside.guides, created_at=now,
                            interview_id=stored.id)
    except InterviewNotFound:
        raise _fail(missing) from None
    except ReportError as exc:
        raise _fail(f"check {interview_id}: {exc}") from None
    except SQLAlchemyError as exc:
        raise _fail(f"cannot read the database: {str(exc).splitlines()[0]}") from None
    finally:
        curbside.database.dispose()


def render(report: HealthReport, output_format: ReportFormat) -> bytes:
    if output_format is ReportFormat.pdf:
        from curbside.reports.pdf import render_pdf

        return render_pdf(report)
    if output_format is ReportFormat.fhir:
        from curbside.reports.fhir import to_fhir

        return json.dumps(to_fhir(report), indent=2, ensure_ascii=False).encode()
    if output_format is ReportFormat.json:
        return report.model_dump_json(indent=2).encode()
    from curbside.reports.html import render_html

    return render_html(report, "file").encode()


def report(
    source: Annotated[str, typer.Argument(
        help="A saved check's id, or the JSON file 'curbside check ... --json' wrote.")],
    output_format: Annotated[ReportFormat, typer.Option(
        "--format", "-f", help="html (a standalone page), pdf, fhir (an R4 document Bundle) "
                               "or json (the report model).", case_sensitive=False)],
    output: Annotated[Path, typer.Option(
        "--output", "-o", help="The file to write ('-' writes to standard output).")],
) -> None:
    """Write the health report of a saved check: HTML, PDF or FHIR R4. Information, not a diagnosis."""
    now = datetime.now(UTC).replace(microsecond=0)
    path = Path(source)
    if path.is_file():
        health_report = _report_from_file(path, now)
    elif path.suffix.lower() == ".json" or "/" in source or "\\" in source:
        raise _fail(f"{source}: no such file")
    else:
        health_report = _report_from_database(source, now)
    data = render(health_report, output_format)
    if str(output) == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    try:
        output.write_bytes(data)
    except OSError as exc:
        raise _fail(f"cannot write {output}: {exc.strerror or exc}") from None
    err_console.print(f"wrote {output} ({output_format.value}, {len(data):,} bytes). "
                      "Information, not a diagnosis.", highlight=False)
