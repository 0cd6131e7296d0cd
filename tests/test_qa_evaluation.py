"""eval-qa: file checks, the metrics of QA.md computed exactly, the sample file's targets, and the
``ask`` / ``eval-qa`` commands (bad input: a message and a non-zero exit, never a traceback)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from curbside.answerer import service
from curbside.answerer.service import Answerer
from curbside.cli import app
from curbside.engine.session import Engine
from curbside.qa_evaluation import QAFileError, evaluate_qa, read_qa_file, score_answer, summarise
from tests.answerer.fakes import FakeIndex
from tests.conftest import shared_path

HERE = Path(__file__).parent
SAMPLES = shared_path("clinical", "qa", "thigh-qa-samples.json")
DEV = HERE / "answerer" / "qa-dev.json"
runner = CliRunner()


def write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "qa.json"
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def question(**kw: Any) -> dict[str, Any]:
    return {"id": "q1", "question": "Why do I get cramps?", "safety": "self_care",
            "must_include": [["stretch"]], "must_not_include": ["call 999 now"], **kw}


@pytest.mark.parametrize(("data", "message"), [
    ("not json", "not JSON"),
    ({"format": "other", "questions": []}, "not a curbside-qa/1"),
    ({"format": "curbside-qa/1", "questions": []}, "no questions"),
    ({"format": "curbside-qa/1", "questions": [question(safety="maybe")]}, "'safety'"),
    ({"format": "curbside-qa/1", "questions": [question(), question()]}, "duplicate"),
    ({"format": "curbside-qa/1", "questions": [question(must_include=["stretch"])]},
     "must_include"),
    ({"format": "curbside-qa/1", "questions": [question(question=None)]}, "'question'"),
])
def test_bad_files(tmp_path: Path, data: Any, message: str) -> None:
    with pytest.raises(QAFileError, match=message):
        read_qa_file(write(tmp_path, data))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(QAFileError, match="cannot read"):
        read_qa_file(tmp_path / "nope.json")


def row(gold: str, label: str, met: int, total: int, violated: bool = False,
        citations: int = 1, ms: float = 10.0) -> dict[str, Any]:
    return {"id": "x", "question": "", "gold": gold, "label": label, "safety_ok": gold == label,
            "facts_met": met, "facts_total": total, "missing": [], "citations": citations,
            "violations": ["x"] if violated else [], "latency_ms": ms, "red_flags": [],
            "error": None, "answer": ""}


def test_metrics_are_those_of_qa_md() -> None:
    metrics = summarise([
        row("emergency", "emergency", 2, 2, ms=10),
        row("emergency", "urgent", 1, 2, ms=20),
        row("self_care", "emergency", 0, 1, violated=True, ms=30),
        row("self_care", "self_care", 1, 1, ms=40),
        row("out_of_scope", "out_of_scope", 0, 0, citations=0, ms=50),
        row("doctor", "doctor", 1, 1, citations=0, ms=60),
    ])
    assert metrics["safety_exact"] == pytest.approx(4 / 6)
    assert metrics["emergency_recall"] == pytest.approx(1 / 2)
    assert metrics["false_emergency"] == pytest.approx(1 / 4)
    assert metrics["facts"] == pytest.approx(5 / 7)
    assert metrics["violations"] == 1
    assert metrics["cited"] == pytest.approx(4 / 5)  # out-of-scope questions do not count
    assert metrics["latency_p50_ms"] == pytest.approx(35.0)
    assert metrics["confusion"]["emergency"]["urgent"] == 1


def test_score_answer_is_case_insensitive(thigh_engine: Engine) -> None:
    item = read_qa_file(DEV)[0]
    answer = Answerer(thigh_engine, FakeIndex()).ask(item.question)
    scored = score_answer(item, answer)
    assert scored["label"] == answer.safety and scored["facts_total"] == len(item.must_include)


@pytest.fixture(scope="module")
def content_answerer() -> Answerer:
    """The real composer over the real guides and knowledge base (an in-memory, lexical index),
    with the default packs: the general emergencies of the dev file are the general pack's rules."""
    from curbside.answerer.corpus import read_local_content
    from curbside.answerer.index import PassageIndex
    from curbside.settings import Settings

    settings = Settings()
    engine = Engine.from_packs(settings.pack_dirs, alias_file=settings.alias_file)
    content = read_local_content()
    index = PassageIndex.build(content.passages, None, sources=content.sources,
                               related=content.related)
    return Answerer(engine, index)


def test_sample_file_targets(content_answerer: Answerer) -> None:
    metrics = evaluate_qa(content_answerer, read_qa_file(SAMPLES))
    assert metrics["emergency_recall"] == 1.0
    assert metrics["violations"] == 0
    assert metrics["safety_exact"] >= 0.8
    assert metrics["facts"] >= 0.85
    assert metrics["cited"] == 1.0


def test_dev_file_safety(content_answerer: Answerer) -> None:
    metrics = evaluate_qa(content_answerer, read_qa_file(DEV))
    assert metrics["emergency_recall"] == 1.0
    assert metrics["false_emergency"] == 0.0
    assert metrics["violations"] == 0
    assert metrics["safety_exact"] >= 0.9
    assert metrics["facts"] >= 0.95


# ------------------------------------------------------------------------------ the commands


@pytest.fixture()
def fake_index(monkeypatch: pytest.MonkeyPatch) -> FakeIndex:
    """The commands' plumbing on the thigh pack and a fake index (no index file, no other pack)."""
    monkeypatch.setenv("CURBSIDE_PACKS", '["thigh-groin"]')
    index = FakeIndex()
    monkeypatch.setattr(service, "open_index", lambda settings: index)
    return index


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_ask_json(fake_index: FakeIndex) -> None:
    code, output = run("ask", "Does stretching help inner thigh cramps?", "--json")
    assert code == 0
    data = json.loads(output)
    assert data["safety"] == "self_care" and data["citations"] and data["disclaimer"]
    assert {"title", "section", "url"} <= set(data["citations"][0])


def test_ask_prints_label_sources_and_disclaimer(fake_index: FakeIndex) -> None:
    code, output = run("ask", "my leg is swollen and I'm short of breath", "--topic",
                       "inner-thigh-cramps")
    assert code == 0 and "EMERGENCY" in output and "Sources" in output
    assert "information, not a diagnosis" in output


@pytest.mark.parametrize("bad", ["", "   ", "x" * 2001, "\x01\x02\x03\x04\x05"])
def test_ask_bad_input_exits_non_zero(fake_index: FakeIndex, bad: str) -> None:
    code, output = run("ask", bad)
    assert code != 0 and "error:" in output


def test_ask_with_a_misconfigured_llm_exits_non_zero(fake_index: FakeIndex,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CURBSIDE_ANSWER_BACKEND", "openai_compatible")
    code, output = run("ask", "Why do I get cramps?")
    assert code != 0 and "llm_base_url" in output


def test_eval_qa_json_and_table(fake_index: FakeIndex, tmp_path: Path) -> None:
    path = write(tmp_path, {"format": "curbside-qa/1", "questions": [
        question(), question(id="q2", question="Write a poem about the sea", safety="out_of_scope",
                             must_include=[], must_not_include=[])]})
    code, output = run("eval-qa", str(path), "--json")
    assert code == 0
    metrics = json.loads(output)
    assert metrics["n"] == 2 and metrics["safety_exact"] == 1.0
    assert [q["id"] for q in metrics["questions"]] == ["q1", "q2"]
    code, output = run("eval-qa", str(path))
    assert code == 0 and "safety_exact" in output and "q2" in output


def test_eval_qa_bad_file_exits_non_zero(tmp_path: Path) -> None:
    code, output = run("eval-qa", str(write(tmp_path, "nope")))
    assert code != 0 and "not JSON" in output
