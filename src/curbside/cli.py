"""The ``curbside`` command: parses flags, calls the core, prints with Rich. No logic of its own."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from curbside.cli_consults import doctors_app, seed_demo_doctors
from curbside.cli_demo import second_opinion as demo_second_opinion
from curbside.cli_report import report as report_command
from curbside.engine.advice import ADVICE
from curbside.engine.inference import Answer, EvidenceError
from curbside.engine.interview import InterviewSettings, Question
from curbside.engine.kb import KnowledgeBaseError, read_knowledge_base
from curbside.engine.kb.schema import TriageLevel
from curbside.engine.session import (
    Assessment,
    ComplaintError,
    Engine,
    Session,
    assessment_to_dict,
)
from curbside.evaluation import VignetteFileError, evaluate, read_vignettes
from curbside.guides import read_guides
from curbside.settings import Settings

if TYPE_CHECKING:  # imported lazily below: 'curbside check' need not load SQLAlchemy
    from curbside.accounts import AccountService
    from curbside.store import Database

app = typer.Typer(help="curbside: a health assistant you can run yourself.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
kb_app = typer.Typer(help="Knowledge-base packs: check and import.", no_args_is_help=True)
app.add_typer(kb_app, name="kb")
guides_app = typer.Typer(help="Condition guides: check.", no_args_is_help=True)
app.add_typer(guides_app, name="guides")
db_app = typer.Typer(help="The database: schema migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
index_app = typer.Typer(help="The answerer's passage index: build and inspect.", no_args_is_help=True)
app.add_typer(index_app, name="index")
users_app = typer.Typer(help="Accounts: create and list.", no_args_is_help=True)
app.add_typer(users_app, name="users")
demo_app = typer.Typer(help="Development only: demo accounts to try curbside with.", no_args_is_help=True)
app.add_typer(demo_app, name="demo")
demo_app.command("second-opinion")(demo_second_opinion)
app.command("report")(report_command)
app.add_typer(doctors_app, name="doctors")

console = Console()
err_console = Console(stderr=True)

_TRIAGE_STYLE = {
    TriageLevel.emergency_ambulance: "red", TriageLevel.emergency: "red",
    TriageLevel.consultation_24: "yellow", TriageLevel.consultation: "cyan",
    TriageLevel.self_care: "green",
}
TRIAGE_TEXT = {level: (_TRIAGE_STYLE[level], advice.label, advice.summary)
               for level, advice in ADVICE.items()}


def percent(probability: float) -> str:
    """Never print a model's 0% or 100%: the model only knows the causes in its packs."""
    if probability < 0.01:
        return "<1%"
    if probability > 0.99:
        return ">99%"
    return f"{probability:.0%}"


def fail(message: str, code: int = 2) -> typer.Exit:
    err_console.print(f"[red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def load_engine(packs: list[Path] | None = None, max_questions: int | None = None) -> Engine:
    settings = Settings()
    directories = packs or settings.pack_dirs
    try:
        return Engine.from_packs(directories, InterviewSettings(
            max_questions=max_questions or settings.max_questions),
            alias_file=None if packs else settings.alias_file, cache_dir=settings.cache_dir)
    except KnowledgeBaseError as exc:
        raise fail(f"the knowledge base does not load ({exc}); run 'curbside kb check'") from None


PacksOption = Annotated[
    list[Path] | None,
    typer.Option("--pack", help="Knowledge-base pack directory (repeatable); default: settings."),
]


@kb_app.command("check")
def kb_check(
    packs: Annotated[list[Path] | None, typer.Argument(help="Pack directories.")] = None,
    strict: Annotated[bool, typer.Option(help="Treat warnings as errors.")] = False,
) -> None:
    """Validate knowledge-base packs: schema, ids, sources, estimates, ICD-10-CM codes."""
    settings = Settings()
    directories = packs or settings.pack_dirs
    kb, problems = read_knowledge_base(directories, None if packs else settings.alias_file)
    errors = [p for p in problems if p.severity == "error"]
    warnings = [p for p in problems if p.severity == "warning"]
    for problem in problems:
        style = "red" if problem.severity == "error" else "yellow"
        err_console.print(f"[{style}]{problem.severity}[/]: {problem.where}: {problem.message}",
                          highlight=False, soft_wrap=True)
    console.print(
        f"{len(kb.conditions)} conditions, {len(kb.findings)} findings, "
        f"{sum(len(r) for r in kb.likelihoods.values())} likelihoods, "
        f"{len(kb.red_flags)} red-flag rules; {len(errors)} error(s), {len(warnings)} warning(s)",
        highlight=False,
    )
    if errors or (strict and warnings):
        raise typer.Exit(1)


@kb_app.command("import-symcat")
def kb_import_symcat(
    directory: Annotated[Path, typer.Argument(
        help="Folder with SymCAT's parsed tables (*conditions*.json and *symptoms*.json).")],
    curation: Annotated[Path | None, typer.Option(
        help="Curation tables conditions.csv and symptoms.csv (default: content/kb-sources/symcat)")
    ] = None,
    out: Annotated[Path | None, typer.Option(
        help="Pack directory to write (default: content/kb/symcat)")] = None,
    anchor_pack: Annotated[Path | None, typer.Option(
        help="Pack whose shared conditions set the rate scale (default: content/kb/thigh-groin)")
    ] = None,
    aliases: Annotated[Path | None, typer.Option(
        help="Alias table to update (default: content/kb/aliases.yaml)")] = None,
) -> None:
    """Import SymCAT (curated) as a knowledge-base pack, with priors derived by Bayes' rule."""
    from curbside.engine.kb.symcat import SymcatError, import_symcat

    content = Settings().content_dir
    try:
        result = import_symcat(directory, curation or content / "kb-sources" / "symcat",
                               out or content / "kb" / "symcat",
                               anchor_pack or content / "kb" / "thigh-groin",
                               aliases or content / "kb" / "aliases.yaml")
    except SymcatError as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(f"cannot write the pack: {exc}") from None
    n_conditions, n_findings, n_likelihoods = result.counts
    fit = result.fit
    console.print(
        f"{n_conditions} conditions, {n_findings} findings, {n_likelihoods} likelihoods; "
        f"{fit.fitted_pairs} of {fit.pairs} pairs solved (rms residual {fit.rms_residual:.2f}); "
        f"scale factor {result.scale:.4g} from {len(result.anchors)} anchor(s): "
        + ", ".join(f"{a.condition_id} {a.ratio:.3g}" for a in result.anchors), highlight=False)
    if result.skipped_symptoms:
        console.print(f"{len(result.skipped_symptoms)} SymCAT symptom(s) used by curated "
                      "conditions but not curated (their likelihoods were skipped): "
                      + ", ".join(result.skipped_symptoms), highlight=False)
    if result.implicit_merges:
        console.print("merged into anchor conditions of the same id (no canonical_id given): "
                      + ", ".join(result.implicit_merges), highlight=False)
    if result.dropped_conditions:
        console.print("dropped (no curated symptom): " + ", ".join(result.dropped_conditions),
                      highlight=False)
    errors = [p for p in result.problems if p.severity == "error"]
    for problem in result.problems:
        style = "red" if problem.severity == "error" else "yellow"
        err_console.print(f"[{style}]{problem.severity}[/]: {problem.where}: {problem.message}",
                          highlight=False, soft_wrap=True)
    if errors:
        raise fail(f"the written pack has {len(errors)} error(s)", 1)


@guides_app.command("check")
def guides_check(
    directory: Annotated[Path | None, typer.Argument(help="Guides folder.")] = None,
) -> None:
    """Validate condition guides: front matter, sections, and a citation on every claim."""
    settings = Settings()
    kb, _ = read_knowledge_base(settings.pack_dirs)
    guides, problems = read_guides(directory or settings.content_dir / "guides", kb.conditions)
    for problem in problems:
        err_console.print(f"[red]{problem.severity}[/]: {problem.where}: {problem.message}",
                          highlight=False, soft_wrap=True)
    errors = sum(p.severity == "error" for p in problems)
    console.print(f"{len(guides)} guide(s); {errors} error(s)", highlight=False)
    if errors:
        raise typer.Exit(1)


def _read_answers(value: str | None) -> dict[str, Answer]:
    if value is None:
        return {}
    path = Path(value)
    text = path.read_text(encoding="utf-8") if path.is_file() else value
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise fail("--answers must be a JSON object {finding_id: present|absent|unknown} "
                   "or a file holding one") from None
    if not isinstance(data, dict):
        raise fail("--answers must be a JSON object {finding_id: present|absent|unknown}")
    try:
        return {str(k): Answer(v) for k, v in data.items()}
    except ValueError as exc:
        raise fail(f"--answers: {exc}; answers are present, absent or unknown") from None


@app.command()
def check(
    age: Annotated[float | None, typer.Option(help="Age in years (0-120).")] = None,
    sex: Annotated[str | None, typer.Option(help="male or female.")] = None,
    text: Annotated[str | None, typer.Option(help="The complaint in your own words.")] = None,
    finding: Annotated[list[str] | None, typer.Option(
        "--finding", help="A finding id you have (repeatable), instead of or beside --text.")] = None,
    absent: Annotated[list[str] | None, typer.Option(
        "--absent", help="A finding id you do not have (repeatable).")] = None,
    answers: Annotated[str | None, typer.Option(
        help="Answer the interview from this JSON object {finding_id: present|absent|unknown} "
             "(or a file); questions not covered are answered \"don't know\".")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    max_questions: Annotated[int | None, typer.Option(min=1, max=100)] = None,
    packs: PacksOption = None,
) -> None:
    """Check your symptoms: an interview in the terminal, or one non-interactive run."""
    engine = load_engine(packs, max_questions)
    interactive = answers is None and not as_json and sys.stdin.isatty()
    if interactive:
        age, sex, text = _ask_opening(age, sex, text, bool(finding))
    elif text is None and not finding:
        raise fail("give the complaint with --text or --finding (or run interactively)")
    try:
        session = engine.start(age, sex, text=text, initial=finding or (), absent=absent or ())
    except (ComplaintError, EvidenceError) as exc:
        raise fail(str(exc)) from None
    given = _read_answers(answers)
    unknown_ids = sorted(set(given) - set(engine.kb.findings))
    if unknown_ids:
        raise fail("--answers: unknown finding id(s): " + ", ".join(unknown_ids))
    if interactive:
        _interview(session)
    else:
        while (question := session.next_question()) is not None:
            session.answer({f: given.get(f, Answer.unknown) for f in question.finding_ids})
    result = session.result()
    if as_json:
        payload = assessment_to_dict(result)
        payload["session"] = session.to_dict()
        print(json.dumps(payload, indent=2))
    else:
        _print_result(result)


def _ask_opening(age: float | None, sex: str | None, text: str | None,
                 has_findings: bool) -> tuple[float, str, str | None]:
    console.print(Panel("curbside symptom checker. Answer y (yes), n (no) or ? (don't know); "
                        "b goes back, q quits.\nThis is information, not a diagnosis.",
                        title="curbside"))
    while age is None:
        raw = console.input("Age in years: ").strip()
        try:
            value = float(raw)
        except ValueError:
            console.print("Please type a number, for example 34.")
            continue
        if 0 <= value <= 120:
            age = value
        else:
            console.print("Age must be between 0 and 120.")
    while sex not in ("male", "female"):
        raw = console.input("Sex (male/female): ").strip().lower()
        sex = {"m": "male", "f": "female"}.get(raw, raw)
    while not has_findings and not (text and text.strip()):
        text = console.input("What is bothering you? ")
    return age, sex, text


def _interview(session: Session) -> None:
    while (question := session.next_question()) is not None:
        number = session.questions_asked + 1
        console.print(f"\n[bold]Question {number}[/]")
        reply = _ask(question)
        if reply == "quit":
            raise typer.Exit(0)
        if reply == "back":
            if session.questions_asked:
                session.back()
            continue
        assert isinstance(reply, dict)
        session.answer(reply)


def _ask(question: Question) -> dict[str, Answer] | str:
    if question.type == "single":
        while True:
            raw = console.input(f"{question.text} [y/n/?] ").strip().lower()
            if raw in ("q", "quit"):
                return "quit"
            if raw in ("b", "back"):
                return "back"
            answer = {"y": Answer.present, "yes": Answer.present, "n": Answer.absent,
                      "no": Answer.absent, "?": Answer.unknown, "": Answer.unknown}.get(raw)
            if answer is not None:
                return {question.finding_ids[0]: answer}
            console.print("Type y, n or ?.")
    console.print(question.text)
    for i, item in enumerate(question.items, 1):
        console.print(f"  {i}. {item.text}")
    hint = "one number" if question.type == "group_single" else "numbers separated by commas"
    while True:
        raw = console.input(f"Choose {hint}, 0 for none, ? if you don't know: ").strip().lower()
        if raw in ("q", "quit"):
            return "quit"
        if raw in ("b", "back"):
            return "back"
        if raw in ("?", ""):
            return {}
        if raw in ("0", "n", "no", "none"):
            return {f: Answer.absent for f in question.finding_ids}
        try:
            picked = {int(x) for x in raw.replace(" ", "").split(",") if x}
        except ValueError:
            console.print("Please type numbers.")
            continue
        if not picked or not all(1 <= p <= len(question.items) for p in picked):
            console.print("Those numbers are not in the list.")
            continue
        if question.type == "group_single" and len(picked) > 1:
            console.print("Choose one.")
            continue
        return {item.finding_id: Answer.present if i in picked else Answer.absent
                for i, item in enumerate(question.items, 1)}


def _print_result(result: Assessment) -> None:
    style, title, advice = TRIAGE_TEXT[result.triage.level]
    body = advice + "\n" + "\n".join(f"- {r}" for r in result.triage.reasons)
    console.print(Panel(body, title=f"Urgency: {title}", border_style=style))
    table = Table(title="Possible causes", show_lines=False)
    table.add_column("#", justify="right")
    table.add_column("Condition")
    table.add_column("Likelihood", justify="right")
    table.add_column("Why")
    for i, condition in enumerate(result.conditions[:5], 1):
        table.add_row(str(i), condition.name, percent(condition.probability),
                      condition.explanation.summary)
    console.print(table)
    console.print(f"[dim]{result.questions_asked} question(s) asked; knowledge base "
                  f"{result.kb_version}.[/]")
    console.print(f"[bold]{result.disclaimer}[/]")


@app.command("eval")
def eval_command(
    files: Annotated[list[Path], typer.Argument(help="Vignette files (curbside-vignettes/1).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    max_questions: Annotated[int, typer.Option(min=1, max=100)] = 30,
    packs: PacksOption = None,
) -> None:
    """Score the checker on clinical vignettes with the protocol of VIGNETTES.md."""
    engine = load_engine(packs)
    vignettes = []
    for file in files:
        try:
            vignettes.extend(read_vignettes(file))
        except VignetteFileError as exc:
            raise fail(str(exc)) from None
    metrics = evaluate(engine, vignettes, max_questions)
    if as_json:
        print(json.dumps(metrics, indent=2))
        return
    _print_metrics(metrics)


def _print_metrics(metrics: dict[str, Any]) -> None:
    rows = Table(title="Cases")
    for column in ("id", "gold", "rank", "top 3", "triage", "accepted", "q"):
        rows.add_column(column)
    for case in metrics["cases"]:
        outcome = case["triage_outcome"]
        colour = {"exact": "green", "over": "yellow", "under": "red"}.get(outcome, "cyan")
        rank = case["rank"]
        rows.add_row(
            case["id"], (case["diagnosis"] or "-")[:40],
            "-" if rank is None else str(rank),
            ", ".join(case["top"][:3])[:60],
            f"[{colour}]{case['triage']}[/]", ",".join(case["triage_accept"]),
            str(case["questions"]),
        )
    Console(width=max(console.width, 150)).print(rows)
    summary = Table(title=f"curbside eval: {metrics['n']} vignettes "
                          f"({metrics['n_diagnosis']} with a diagnosis)")
    summary.add_column("metric")
    summary.add_column("value", justify="right")
    for key in ("top1", "top3", "top5", "top10", "triage_exact", "triage_safe", "under_triage",
                "over_triage"):
        summary.add_row(key, f"{metrics[key]:.3f}")
    summary.add_row("emergency_missed", str(metrics["emergency_missed"]))
    summary.add_row("questions_mean", f"{metrics['questions_mean']:.1f}")
    console.print(summary)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.", min=1, max=65535)] = None,
    workers: Annotated[int, typer.Option(help="Worker processes.", min=1, max=16)] = 1,
) -> None:
    """Serve the web app and the JSON API (SQLite in the data folder unless configured)."""
    import uvicorn

    from curbside.app import ConfigurationError, Curbside

    settings = Settings()
    try:
        curbside = Curbside(settings)
        curbside.prepare_database()
    except (KnowledgeBaseError, ConfigurationError) as exc:
        raise fail(str(exc)) from None
    curbside.database.dispose()
    console.print(f"curbside on http://{host or settings.host}:{port or settings.port} "
                  f"(database: {curbside.database.backend})", highlight=False)
    from curbside.web.server import HTTP_PROTOCOL

    uvicorn.run("curbside.web.factory:app", factory=True, host=host or settings.host,
                port=port or settings.port, workers=workers, log_level="warning",
                proxy_headers=False, http=HTTP_PROTOCOL)


def _database_error(exc: Exception) -> str:
    """One line for a database failure: the driver's message, without SQL or a traceback."""
    from sqlalchemy.exc import DBAPIError

    if isinstance(exc, DBAPIError) and exc.orig is not None:
        exc = exc.orig
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def _open_database(create: bool) -> Database | None:
    """The configured Database, or None when ``create`` is false and its SQLite file is missing."""
    from sqlalchemy.exc import SQLAlchemyError

    from curbside.store import Database
    from curbside.store.database import sqlite_file

    settings = Settings()
    url = settings.resolved_database_url
    where = "CURBSIDE_DATABASE_URL" if settings.database_url else "CURBSIDE_DATA_DIR"
    try:
        file = sqlite_file(url)
        if not create and file is not None and not file.exists():
            return None
        return Database(url)
    except OSError as exc:
        raise fail(f"cannot create the database folder ({where}): {exc}", 1) from None
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise fail(f"bad database URL ({where}): {_database_error(exc)}") from None


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target migration.")] = "head",
) -> None:
    """Migrate the database to the latest schema (safe to repeat; the server does it at start)."""
    from alembic.util import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    database = _open_database(create=True)
    assert database is not None
    try:
        database.upgrade(revision)
        current = database.current_revision()
        head = database.head_revision()
    except (SQLAlchemyError, CommandError, OSError) as exc:
        raise fail(f"cannot upgrade the database at {database.safe_url}: "
                   f"{_database_error(exc)}", 1) from None
    finally:
        database.dispose()
    status = " (head)" if current == head else ""
    console.print(f"database at {current}{status}: {database.safe_url}", highlight=False, soft_wrap=True)


@db_app.command("current")
def db_current() -> None:
    """Print the database's migration (revision), and whether it is the latest."""
    from alembic.util import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    database = _open_database(create=False)
    if database is None:  # do not create an empty database file just to look at it
        console.print("none (no database yet: run 'curbside db upgrade')", highlight=False, soft_wrap=True)
        return
    try:
        current = database.current_revision()
        head = database.head_revision()
        known = current is None or database.has_revision(current)
    except (SQLAlchemyError, CommandError, OSError) as exc:
        raise fail(f"cannot read the database at {database.safe_url}: "
                   f"{_database_error(exc)}", 1) from None
    finally:
        database.dispose()
    if current is None:
        console.print("none (empty database: run 'curbside db upgrade')", highlight=False, soft_wrap=True)
    elif not known:
        raise fail(f"the database is at {current}, a migration this version of curbside does not "
                   "know (made by a newer version?)", 1)
    elif current == head:
        console.print(f"{current} (head)", highlight=False, soft_wrap=True)
    else:
        console.print(f"{current} (behind {head}: run 'curbside db upgrade')", highlight=False,
                      soft_wrap=True)


@index_app.command("build")
def index_build(
    medquad: Annotated[Path | None, typer.Option(
        help="MedQuAD folder (collections of XML files, */*.xml) to add to guides and knowledge base."
    )] = None,
    out: Annotated[Path | None, typer.Option(
        help="Index file to write [default: data/index.sqlite; CURBSIDE_INDEX_PATH]")] = None,
) -> None:
    """Build the answerer's index: passages, FTS5 words and MiniLM vectors in one SQLite file."""
    import sqlite3

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from curbside.answerer.corpus import CorpusError
    from curbside.answerer.embed import EmbedderUnavailable
    from curbside.answerer.index import build_index

    settings = Settings()
    path = out or settings.resolved_index_path
    if medquad is not None and not medquad.is_dir():
        raise fail(f"MedQuAD folder not found: {medquad}", 1)
    labels = {"medquad": "Reading MedQuAD", "lexical": "Indexing words", "vectors": "Computing vectors"}
    with Progress(TextColumn("{task.description:<18}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err_console, transient=False) as bar:
        tasks: dict[str, Any] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(labels.get(stage, stage), total=total)
            bar.update(tasks[stage], completed=done, total=total)

        try:
            index = build_index(settings, medquad, path, progress=progress)
        except (CorpusError, EmbedderUnavailable) as exc:
            raise fail(str(exc), 1) from None
        except (OSError, sqlite3.Error) as exc:
            raise fail(f"cannot write the index {path}: {exc}", 1) from None
    info = index.info()
    index.close()
    counts = ", ".join(f"{n} {source}" for source, n in sorted(info.passages.items()))
    size = f"{info.size_bytes / 1e6:.1f} MB" if info.size_bytes is not None else "?"
    console.print(f"{sum(info.passages.values())} passages ({counts}) in {info.build_seconds:.0f} s; "
                  f"{size}: {path}", highlight=False, soft_wrap=True)


@index_app.command("info")
def index_info(
    path: Annotated[Path | None, typer.Argument(
        help="Index file [default: data/index.sqlite; CURBSIDE_INDEX_PATH]")] = None,
) -> None:
    """Describe the answerer's index: passages by source, model, size and when it was built."""
    from curbside.answerer.index import IndexFileError, PassageIndex

    path = path or Settings().resolved_index_path
    try:
        index = PassageIndex.open(path)
    except IndexFileError as exc:
        raise fail(str(exc), 1) from None
    info = index.info()
    index.close()
    table = Table(show_header=False, box=None)
    table.add_row("file", str(info.path))
    table.add_row("size", f"{info.size_bytes / 1e6:.1f} MB" if info.size_bytes is not None else "?")
    table.add_row("format", info.format)
    table.add_row("model", f"{info.model} ({info.dim}-d)" if info.model else "none (words only)")
    for source, count in sorted(info.passages.items()):
        table.add_row(f"passages: {source}", str(count))
    table.add_row("built", f"{info.built_at} in {info.build_seconds:.0f} s"
                  if info.build_seconds is not None else str(info.built_at))
    console.print(table)


# --- "Ask the AI doctor": ask and eval-qa ---------------------------------------------------

SAFETY_STYLE = {
    "emergency": ("bold white on red", "EMERGENCY"),
    "urgent": ("bold black on yellow", "SEE A DOCTOR TODAY"),
    "doctor": ("bold cyan", "SEE A DOCTOR"),
    "self_care": ("bold green", "INFORMATION"),
    "refuse_dose": ("bold magenta", "NO DOSE GIVEN"),
    "out_of_scope": ("bold", "OUT OF SCOPE"),
}


def _load_answerer() -> Any:
    """The answerer of the settings; a clear error (never a traceback) when it cannot be built."""
    from curbside.answerer.backends import BackendConfigError
    from curbside.answerer.service import Answerer

    engine = load_engine()
    try:
        return Answerer.from_settings(engine=engine)
    except BackendConfigError as exc:
        raise fail(str(exc)) from None
    except (OSError, ValueError) as exc:
        raise fail(f"the answerer cannot start: {exc}") from None


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, up to 2,000 characters.")],
    topic: Annotated[str | None, typer.Option(
        "--topic", help="Guide slug the question is asked on (its passages are favoured).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Ask a health question; get a short, sourced answer with its safety label."""
    from curbside.answerer.safety import QuestionError, clean_question

    try:
        clean_question(question)
    except QuestionError as exc:
        raise fail(str(exc)) from None
    answerer = _load_answerer()
    try:
        answer = answerer.ask(question, topic=topic)
    except QuestionError as exc:
        raise fail(str(exc)) from None
    if as_json:
        print(json.dumps(answer.to_dict(), indent=2, ensure_ascii=False))
        return
    style, title = SAFETY_STYLE[answer.safety]
    console.print(Panel(answer.answer, title=f"[{style}] {title} [/]", title_align="left",
                        expand=False), highlight=False)
    if answer.citations:
        console.print("[bold]Sources[/]")
        for c in answer.citations:
            console.print(f"  [{c.number}] {c.title} - {c.section} [dim]({c.url})[/]",
                          highlight=False, soft_wrap=True)
    console.print(f"[dim]{answer.disclaimer}[/]", highlight=False)


@app.command("eval-qa")
def eval_qa(
    files: Annotated[list[Path], typer.Argument(help="Question files (curbside-qa/1).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Score the answerer on question sets with the metrics of QA.md."""
    from curbside.qa_evaluation import QAFileError, evaluate_qa, read_qa_file

    items = []
    for file in files:
        try:
            items.extend(read_qa_file(file))
        except QAFileError as exc:
            raise fail(str(exc)) from None
    metrics = evaluate_qa(_load_answerer(), items)
    if as_json:
        print(json.dumps(metrics, indent=2, ensure_ascii=False))
        return
    _print_qa_metrics(metrics)


def _print_qa_metrics(metrics: dict[str, Any]) -> None:
    rows = Table(title="Questions")
    for column in ("id", "gold", "label", "facts", "violations", "cited", "ms", "missing"):
        rows.add_column(column)
    for row in metrics["questions"]:
        colour = "green" if row["safety_ok"] else "red"
        rows.add_row(
            row["id"], row["gold"], f"[{colour}]{row['label']}[/]",
            f"{row['facts_met']}/{row['facts_total']}",
            "[red]" + ", ".join(row["violations"]) + "[/]" if row["violations"] else "0",
            str(row["citations"]), f"{row['latency_ms']:.0f}",
            "; ".join("|".join(g[:3]) for g in row["missing"])[:60] or "-",
        )
    Console(width=max(console.width, 150)).print(rows)
    summary = Table(title=f"curbside eval-qa: {metrics['n']} questions")
    summary.add_column("metric")
    summary.add_column("value", justify="right")
    recall = metrics["emergency_recall"]
    summary.add_row("safety_exact", f"{metrics['safety_exact']:.3f}")
    summary.add_row("emergency_recall", "-" if recall is None else f"{recall:.3f}")
    summary.add_row("false_emergency", f"{metrics['false_emergency']:.3f}")
    summary.add_row("facts", f"{metrics['facts']:.3f}")
    summary.add_row("violations", str(metrics["violations"]))
    summary.add_row("cited", f"{metrics['cited']:.3f}")
    summary.add_row("latency p50 / p95 (ms)",
                    f"{metrics['latency_p50_ms']:.0f} / {metrics['latency_p95_ms']:.0f}")
    if metrics["errors"]:
        summary.add_row("errors", str(metrics["errors"]))
    console.print(summary)
    labels = list(metrics["confusion"])
    confusion = Table(title="Safety labels (rows: gold, columns: answer)")
    confusion.add_column("gold")
    for label in labels:
        confusion.add_column(label, justify="right")
    for gold in labels:
        confusion.add_row(gold, *(str(metrics["confusion"][gold][label]) or "0"
                                  for label in labels))
    console.print(confusion)


# --- accounts ------------------------------------------------------------------------------------

# Development only, and documented in docs/accounts.md: anyone can read these, so `demo seed`
# refuses to run unless CURBSIDE_ENVIRONMENT is development.
DEMO_ACCOUNTS = (
    ("demo-admin@example.org", "admin-demo-curbside-2026", "Demo admin (development only)", "admin"),
    ("demo-patient@example.org", "patient-demo-curbside-2026", "Demo patient (development only)", "patient"),
)


def _accounts(settings: Settings) -> AccountService:
    """The AccountService on the configured, migrated database (no knowledge base: quick)."""
    from alembic.util import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    from curbside.accounts import AccountService
    from curbside.mail import mailer_from_settings

    database = _open_database(create=True)
    assert database is not None
    try:
        database.upgrade()
    except (SQLAlchemyError, CommandError, OSError) as exc:
        database.dispose()
        raise fail(f"cannot open the database at {database.safe_url}: {_database_error(exc)}", 1) from None
    return AccountService.from_settings(settings, database, mailer_from_settings(settings))


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        lines = sys.stdin.read().splitlines()
        return lines[0] if lines else ""
    if not sys.stdin.isatty():
        raise fail("no terminal to ask for the password: pipe it in with --password-stdin")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="The account's email (its sign-in name).")],
    name: Annotated[str, typer.Option(help="The name shown in curbside.")],
    role: Annotated[str, typer.Option(help="patient, doctor or admin.")] = "patient",
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the password from the first line of standard input.")] = False,
) -> None:
    """Create an account (an operator's command: it may create doctors and admins)."""
    from sqlalchemy.exc import SQLAlchemyError

    from curbside.access import Actor, Role
    from curbside.accounts import AccountError

    try:
        chosen = Role(role.strip().lower())
    except ValueError:
        raise fail(f"the role is patient, doctor or admin, not {role!r}") from None
    password = _read_password(password_stdin)
    accounts = _accounts(Settings())
    try:
        user = accounts.sign_up(email, password, name, Actor.system(), role=chosen)
    except AccountError as exc:
        raise fail(exc.message) from None
    except SQLAlchemyError as exc:
        raise fail(f"cannot write to the database: {_database_error(exc)}", 1) from None
    finally:
        accounts.database.dispose()
    console.print(f"created {user.role.value} {user.email} ({user.id})", highlight=False, soft_wrap=True)


@users_app.command("list")
def users_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Every account: id, email, role, name, creation date."""
    from curbside.access import Actor

    accounts = _accounts(Settings())
    try:
        users = accounts.list_users(Actor.system())
    finally:
        accounts.database.dispose()
    if as_json:
        print(json.dumps([{"id": u.id, "email": u.email, "role": u.role.value, "name": u.display_name,
                           "created_at": u.created_at.isoformat()} for u in users], indent=2))
        return
    table = Table(title=f"{len(users)} account(s)")
    for column in ("id", "email", "role", "name", "created"):
        table.add_column(column)
    for u in users:
        table.add_row(u.id, u.email, u.role.value, u.display_name, f"{u.created_at:%Y-%m-%d %H:%M}")
    console.print(table)


@app.command("audit")
def audit(
    limit: Annotated[int, typer.Option(help="How many entries, newest first.", min=1, max=500)] = 50,
    before: Annotated[int | None, typer.Option(help="Only entries older than this entry id.", min=1)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """The audit log: who read or changed what, when, from where (never health content)."""
    from curbside.access import Actor

    accounts = _accounts(Settings())
    try:
        entries = accounts.audit_log(Actor.system(), limit=limit, before=before)
    finally:
        accounts.database.dispose()
    rows: list[dict[str, Any]] = [{"id": e.id, "at": e.at.isoformat(), "actor_id": e.actor_id,
             "actor_role": e.actor_role,
             "ip": e.ip, "action": e.action, "resource_type": e.resource_type,
             "resource_id": e.resource_id, "outcome": e.outcome} for e in entries]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title=f"audit log: {len(rows)} newest entries")
    for column in ("id", "at", "actor", "ip", "action", "resource", "outcome"):
        table.add_column(column)
    for r in rows:
        actor = f"{r['actor_role'] or 'anonymous'} {r['actor_id'] or ''}".strip()
        resource = f"{r['resource_type']} {r['resource_id'] or ''}".strip()
        table.add_row(str(r["id"]), str(r["at"])[:19], actor, r["ip"] or "", str(r["action"]), resource,
                      str(r["outcome"]))
    console.print(table)


@demo_app.command("seed")
def demo_seed() -> None:
    """Create the demo admin and demo patient (development only; safe to repeat)."""
    from curbside.access import Actor, Role
    from curbside.accounts import EmailTaken

    settings = Settings()
    if settings.environment != "development":
        raise fail(f"demo accounts have published passwords: refused in {settings.environment} "
                   "(CURBSIDE_ENVIRONMENT)")
    accounts = _accounts(settings)
    try:
        for email, password, name, role in DEMO_ACCOUNTS:
            try:
                accounts.sign_up(email, password, name, Actor.system(), role=Role(role))
                state = "created"
            except EmailTaken:
                state = "exists"
            console.print(f"demo {role}: {email} / {password} ({state}; development only)",
                          highlight=False, soft_wrap=True)
        for email, password, state in seed_demo_doctors(accounts):
            console.print(f"demo doctor: {email} / {password} ({state}; fictional, development only)",
                          highlight=False, soft_wrap=True)
    finally:
        accounts.database.dispose()


def main() -> None:
    app()
