"""Benchmark: one interview step (posterior + next question) on the full model, and the same
posterior computed by pgmpy on the equivalent Bayesian network, in one run.

    .venv/bin/python bench/engine_step.py [--pack DIR ...] [--states 300] [--pgmpy-states 30]

Evidence states are drawn from the model itself: a condition is sampled from the prior, then 3-12
findings are answered from its likelihoods, so the states look like real interviews in progress.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from curbside.engine.inference import Evidence, posterior
from curbside.engine.interview import next_question
from curbside.engine.kb import load_knowledge_base
from curbside.engine.model import Model, compile_model
from curbside.settings import Settings


def sample_states(model: Model, count: int, seed: int = 1) -> list[tuple[float, str, Evidence]]:
    rng = np.random.default_rng(seed)
    states = []
    for _ in range(count):
        age = float(rng.integers(1, 90))
        sex = "male" if rng.random() < 0.5 else "female"
        prior = np.exp(model.log_prior(age, sex) - model.log_prior(age, sex).max())
        prior /= prior.sum()
        ci = rng.choice(len(prior), p=prior)
        listed = np.flatnonzero(model.listed[ci])
        chosen = rng.choice(listed, size=min(len(listed), int(rng.integers(3, 13))), replace=False)
        present, absent = [], []
        for fi in chosen:
            target = present if rng.random() < model.likelihood[ci, fi] else absent
            target.append(model.finding_ids[fi])
        if not present:
            present.append(model.finding_ids[chosen[0]])
            absent = [f for f in absent if f != present[0]]
        states.append((age, sex, Evidence.of(present=present, absent=absent)))
    return states


def time_ms(function, *args) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    function(*args)
    return (time.perf_counter() - start) * 1000


def engine_step(model: Model, age: float, sex: str, evidence: Evidence) -> None:
    probabilities = posterior(model, age, sex, evidence)
    next_question(model, age, sex, evidence, probabilities, asked=0)


def pgmpy_network(model: Model, age: float, sex: str):  # type: ignore[no-untyped-def]
    from pgmpy.factors.discrete import TabularCPD
    from pgmpy.models import DiscreteBayesianNetwork

    prior = np.exp(model.log_prior(age, sex) - model.log_prior(age, sex).max())
    prior /= prior.sum()
    network = DiscreteBayesianNetwork([("condition", f) for f in model.finding_ids])
    n = len(model.condition_ids)
    cpds = [TabularCPD("condition", n, prior.reshape(n, 1))]
    for fi, finding_id in enumerate(model.finding_ids):
        p = model.likelihood[:, fi]
        cpds.append(TabularCPD(finding_id, 2, np.vstack([1 - p, p]),
                               evidence=["condition"], evidence_card=[n]))
    network.add_cpds(*cpds)
    return network


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pack", action="append", type=Path)
    parser.add_argument("--states", type=int, default=300)
    parser.add_argument("--pgmpy-states", type=int, default=30)
    args = parser.parse_args()
    model = compile_model(load_knowledge_base(args.pack or Settings().pack_dirs))
    states = sample_states(model, args.states)

    for age, sex, evidence in states[:20]:  # warm-up
        engine_step(model, age, sex, evidence)
    step_ms = [time_ms(engine_step, model, *s) for s in states]
    posterior_ms = [time_ms(posterior, model, *s) for s in states]

    table = Table(title=f"Interview step: {len(model.condition_ids)} conditions x "
                        f"{len(model.finding_ids)} findings, {len(states)} evidence states")
    table.add_column("measure")
    table.add_column("median ms", justify="right")
    table.add_column("p95 ms", justify="right")
    table.add_row("curbside step (posterior + next question)", f"{statistics.median(step_ms):.3f}",
                  f"{np.percentile(step_ms, 95):.3f}")
    table.add_row("curbside posterior only", f"{statistics.median(posterior_ms):.3f}",
                  f"{np.percentile(posterior_ms, 95):.3f}")

    try:
        from pgmpy.inference import VariableElimination
    except ImportError:
        table.add_row("pgmpy posterior", "not installed (pip install pgmpy)", "")
    else:
        pg_ms, max_diff = [], 0.0
        by_patient: dict[tuple[float, str], object] = {}
        for age, sex, evidence in states[: args.pgmpy_states]:
            key = (age, sex)
            if key not in by_patient:
                by_patient[key] = VariableElimination(pgmpy_network(model, age, sex))
            engine = by_patient[key]
            observed = {f: 1 for f in evidence.present} | {f: 0 for f in evidence.absent}
            start = time.perf_counter()
            result = engine.query(["condition"], evidence=observed,  # type: ignore[attr-defined]
                                  show_progress=False)
            pg_ms.append((time.perf_counter() - start) * 1000)
            ours = posterior(model, age, sex, evidence)
            max_diff = max(max_diff, float(np.abs(np.asarray(result.values) - ours).max()))
        ratio = statistics.median(pg_ms) / statistics.median(posterior_ms)
        table.add_row(f"pgmpy posterior (VariableElimination, {len(pg_ms)} states)",
                      f"{statistics.median(pg_ms):.3f}", f"{np.percentile(pg_ms, 95):.3f}")
        table.add_row("pgmpy / curbside posterior (median)", f"{ratio:.0f}x", "")
        table.add_row("max |pgmpy - curbside| posterior", f"{max_diff:.2e}", "")
    Console().print(table)


if __name__ == "__main__":
    main()
