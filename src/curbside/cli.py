"""The ``curbside`` command: parses flags, calls the core, prints with Rich."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from curbside.engine.kb import read_knowledge_base

app = typer.Typer(help="curbside: a health assistant you can run yourself.", no_args_is_help=True)
kb_app = typer.Typer(help="Knowledge-base packs: check and import.", no_args_is_help=True)
app.add_typer(kb_app, name="kb")

console = Console()
err_console = Console(stderr=True)

DEFAULT_PACKS = [Path("content/kb/thigh-groin")]


@kb_app.command("check")
def kb_check(
    packs: Annotated[list[Path] | None, typer.Argument(help="Pack directories.")] = None,
    strict: Annotated[bool, typer.Option(help="Treat warnings as errors.")] = False,
) -> None:
    """Validate knowledge-base packs: schema, ids, sources, ICD-10-CM codes."""
    directories = packs or DEFAULT_PACKS
    kb, problems = read_knowledge_base(directories)
    errors = [p for p in problems if p.severity == "error"]
    warnings = [p for p in problems if p.severity == "warning"]
    for problem in problems:
        style = "red" if problem.severity == "error" else "yellow"
        err_console.print(f"[{style}]{problem.severity}[/]: {problem.where}: {problem.message}",
                          highlight=False)
    console.print(
        f"{len(kb.conditions)} conditions, {len(kb.findings)} findings, "
        f"{sum(len(r) for r in kb.likelihoods.values())} likelihoods, "
        f"{len(kb.red_flags)} red-flag rules; {len(errors)} error(s), {len(warnings)} warning(s)"
    )
    if errors or (strict and warnings):
        raise typer.Exit(1)


def main() -> None:
    app()
