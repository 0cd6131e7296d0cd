"""``curbside index build`` / ``info`` on a tiny MedQuAD-shaped folder, and the corpus readers."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from curbside.answerer.corpus import (
    CorpusError,
    parse_medquad_file,
    read_local_content,
    read_medquad,
)
from curbside.answerer.index import PassageIndex, load_index
from curbside.cli import app
from curbside.settings import Settings
from tests.conftest import SHARED, shared_path

MEDQUAD = Path(__file__).parent / "fixtures" / "medquad"
SHARED_MEDQUAD = shared_path("data", "medquad")
runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One CLI build (guides + knowledge base + the fixture), shared by the tests below."""
    path = tmp_path_factory.mktemp("index") / "index.sqlite"
    code, output = run("index", "build", "--medquad", str(MEDQUAD), "--out", str(path))
    assert code == 0, output
    assert "3 medquad" in output
    return path


def test_medquad_reader_keeps_answered_pairs_of_both_schemas() -> None:
    passages = read_medquad(MEDQUAD)
    assert [p.id for p in passages] == ["medquad:NIDDK_0000001_Sec1", "medquad:NIDDK_0000001_Sec2",
                                        "medquad:NINDS_0000007_Sec1"]
    first = passages[1]
    assert first.title == "Kidney Stones in Adults"
    assert first.section == ("What are the treatments for Kidney Stones in Adults ? "
                             "(Also called: Renal calculi)")
    assert first.heading == first.section
    assert first.url.startswith("https://www.niddk.nih.gov/")
    assert passages[2].title == "Holmes-Adie"


def test_medquad_reader_errors(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="not found"):
        read_medquad(tmp_path / "missing")
    with pytest.raises(CorpusError, match="no MedQuAD XML"):
        read_medquad(tmp_path)
    bad = tmp_path / "1_X" / "0000001.xml"
    bad.parent.mkdir()
    bad.write_text("<Document><QAPairs>", encoding="utf-8")
    with pytest.raises(CorpusError, match="not readable"):
        parse_medquad_file(bad)


def test_local_content_passages() -> None:
    local = read_local_content()
    guides = [p for p in local.passages if p.source == "guide"]
    kb = [p for p in local.passages if p.source == "kb"]
    assert len(guides) > 100 and len(kb) > 20
    assert len({p.id for p in local.passages}) == len(local.passages)
    for passage in guides:
        assert passage.url == f"/guides/{passage.topic}#{passage.id.split('#')[1].split('/')[0]}"
        assert passage.citations, passage.id  # every guide chunk cites its sources
        assert all(f"{c}" in passage.text for c in passage.citations)
        assert len(passage.text.split()) <= 200
    faq = [p for p in guides if "Does magnesium help?" in p.section]
    assert faq and faq[0].topic == "inner-thigh-cramps"
    assert all(p.url == f"/api/v1/conditions/{p.topic}" for p in kb)
    assert "femoral_hernia" in local.related["inner-thigh-cramps"]
    assert any(s.topic == "inner-thigh-cramps" and s.id == "S14" for s in local.sources)


@pytest.mark.slow
def test_cli_build_then_info(built: Path) -> None:
    with PassageIndex.open(built) as index:
        counts = index.info().passages
        assert counts["medquad"] == 3 and counts["guide"] > 100 and counts["kb"] > 20
        hits = index.search("how are kidney stones treated", k=5)
        assert "medquad:NIDDK_0000001_Sec2" in [h.passage.id for h in hits]
        cramps = index.search("what eases an inner thigh cramp?", topic="inner-thigh-cramps", k=3)
        assert all(h.passage.topic == "inner-thigh-cramps" for h in cramps)
    code, output = run("index", "info", str(built))
    assert code == 0
    assert "all-MiniLM-L6-v2" in output and "passages: medquad" in output


@pytest.mark.slow
def test_cli_rebuild_reuses_the_file(built: Path) -> None:
    code, output = run("index", "build", "--out", str(built))  # no MedQuAD this time
    assert code == 0, output
    with PassageIndex.open(built) as index:
        assert "medquad" not in index.info().passages


@pytest.mark.slow
def test_load_index_uses_the_file_or_builds_in_memory(
        built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CURBSIDE_INDEX_PATH", str(built))
    index = load_index(Settings())
    assert index.path == built
    index.close()
    monkeypatch.setenv("CURBSIDE_INDEX_PATH", str(tmp_path / "none.sqlite"))
    memory = load_index(Settings())
    assert memory.path is None and memory.info().passages.get("medquad", 0) == 0
    memory.close()


def test_cli_bad_input_exits_non_zero_with_a_message(tmp_path: Path) -> None:
    code, output = run("index", "build", "--medquad", str(tmp_path / "missing"),
                       "--out", str(tmp_path / "i.sqlite"))
    assert code == 1
    assert "MedQuAD folder not found" in output
    code, output = run("index", "build", "--medquad", str(tmp_path), "--out",
                       str(tmp_path / "i.sqlite"))
    assert code == 1 and "no MedQuAD XML files" in output
    assert not (tmp_path / "i.sqlite").exists()
    code, output = run("index", "info", str(tmp_path / "missing.sqlite"))
    assert code == 1 and "curbside index build" in output


def test_real_medquad_sample_parses() -> None:
    """A sample of the real collection: every 500th file (the whole of the committed snapshot)."""
    files = sorted(SHARED_MEDQUAD.glob("*/*.xml"))
    if SHARED_MEDQUAD.is_relative_to(SHARED):
        files = files[::500]
    passages = [p for f in files for p in parse_medquad_file(f)]
    assert files and all(p.text and p.section for p in passages)
