"""Benchmark: rendering a health report as PDF (target < 300 ms) and as FHIR (target < 20 ms).

    .venv/bin/python bench/report_render.py [--vignettes FILE ...] [--reports 20] [--repeat 3]

Reports come from real checks: each vignette (by default the thigh-and-groin samples and the
general Levine vignettes of ../shared/clinical/vignettes) is interviewed to the end, answering
from the vignette's findings ("don't know" elsewhere), then built into a report. Each report is
rendered ``--repeat`` times after one warm-up render (the first PDF of a process loads fonts and
parses the stylesheet once). Wall time (what a user waits) and process CPU time (what the render
costs, which other processes on a busy machine do not inflate) are both shown; the load average
is printed beside them.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from curbside.engine.inference import Answer
from curbside.engine.session import ComplaintError, Engine, Session
from curbside.evaluation import Vignette, read_vignettes
from curbside.guides import GuideLibrary, read_guides
from curbside.reports.fhir import build_bundle, to_fhir
from curbside.reports.model import HealthReport, build_report
from curbside.reports.pdf import render_pdf
from curbside.settings import Settings

VIGNETTES = Path(__file__).resolve().parents[2] / "shared" / "clinical" / "vignettes"
DEFAULT_FILES = [VIGNETTES / "thigh-samples.json", VIGNETTES / "levine48.json"]
TARGET_PDF_MS = 300.0
TARGET_FHIR_MS = 20.0


@dataclass
class Timing:
    wall_ms: list[float]
    cpu_ms: list[float]


def interview(engine: Engine, vignette: Vignette) -> Session | None:
    truth = {f: Answer.present for f in vignette.present or ()}
    truth.update({f: Answer.absent for f in vignette.absent or ()})
    try:
        if vignette.initial:
            session = engine.start(vignette.age, vignette.sex, initial=vignette.initial)
        else:
            session = engine.start(vignette.age, vignette.sex, text=vignette.text)
    except ComplaintError:
        return None
    if not vignette.structured:
        parsed = engine.parse(vignette.text)
        truth.update({f: Answer.present for f in parsed.present})
        truth.update({f: Answer.absent for f in parsed.absent})
    while (question := session.next_question()) is not None:
        session.answer({f: truth.get(f, Answer.unknown) for f in question.finding_ids})
    return session


def reports_from(files: list[Path], count: int, engine: Engine,
                 guides: GuideLibrary) -> list[HealthReport]:
    vignettes = [v for file in files for v in read_vignettes(file)]
    # Spread the picks over every file rather than taking the first file's vignettes only.
    step = max(1, len(vignettes) // count)
    picked = vignettes[::step][:count]
    created = datetime.now(UTC)
    reports = []
    for vignette in picked:
        session = interview(engine, vignette)
        if session is not None:
            reports.append(build_report(session, engine, guides, created_at=created))
    return reports


def measure(function: Callable[[HealthReport], object], reports: list[HealthReport],
            repeat: int) -> Timing:
    function(reports[0])  # warm-up: fonts, the parsed stylesheet, pydantic's validators
    timing = Timing([], [])
    for report in reports:
        for _ in range(repeat):
            wall, cpu = time.perf_counter(), time.process_time()
            function(report)
            timing.cpu_ms.append((time.process_time() - cpu) * 1000)
            timing.wall_ms.append((time.perf_counter() - wall) * 1000)
    return timing


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def page_count(pdf: bytes) -> int:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as file:
        file.write(pdf)
        file.flush()
        info = subprocess.run(["pdfinfo", file.name], capture_output=True, text=True,
                              check=True).stdout
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vignettes", type=Path, nargs="*", default=DEFAULT_FILES)
    parser.add_argument("--reports", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    console = Console(width=120)

    settings = Settings()
    engine = Engine.from_packs(settings.pack_dirs, alias_file=settings.alias_file,
                               cache_dir=settings.cache_dir)
    guides = GuideLibrary(read_guides(settings.guides_dir, engine.kb.conditions)[0])
    reports = reports_from(args.vignettes, args.reports, engine, guides)
    # As a long-running server would: the knowledge base loaded at start-up is moved out of the
    # collector's reach, so a full collection during a render does not walk it (without this the
    # p95 of a PDF is about twice its median, all of it garbage collection).
    gc.collect()
    gc.freeze()
    pages = [page_count(render_pdf(report)) for report in reports]

    rows = [
        ("PDF (WeasyPrint)", measure(render_pdf, reports, args.repeat), TARGET_PDF_MS),
        ("FHIR bundle, validated (R4B)", measure(to_fhir, reports, args.repeat), TARGET_FHIR_MS),
        ("FHIR bundle, built only", measure(build_bundle, reports, args.repeat), TARGET_FHIR_MS),
    ]
    table = Table(title=f"Report rendering: {len(reports)} reports from vignettes, "
                        f"{args.repeat} renders each")
    for column in ("rendering", "wall p50 ms", "wall p95 ms", "CPU p50 ms", "CPU p95 ms",
                   "target ms", "p95 within target"):
        table.add_column(column, justify="left" if column == "rendering" else "right")
    for name, timing, target in rows:
        wall95 = percentile(timing.wall_ms, 0.95)
        table.add_row(name, f"{statistics.median(timing.wall_ms):.1f}", f"{wall95:.1f}",
                      f"{statistics.median(timing.cpu_ms):.1f}",
                      f"{percentile(timing.cpu_ms, 0.95):.1f}", f"{target:.0f}",
                      "[green]yes[/]" if wall95 < target else "[red]no[/]")
    console.print(table)
    load = os.getloadavg()
    console.print(f"PDF pages per report: median {statistics.median(pages):.0f}, max {max(pages)}; "
                  f"load average {load[0]:.2f} on {os.cpu_count()} CPU(s).", highlight=False)


if __name__ == "__main__":
    main()
