"""`curbside kb check`'s errors: each broken pack names the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from curbside.engine.kb import KnowledgeBaseError, load_knowledge_base, read_knowledge_base

TINY = (Path(__file__).parent / "fixtures" / "tiny" / "pack.yaml").read_text()


def pack_with(tmp_path: Path, old: str, new: str) -> Path:
    assert old in TINY, old
    directory = tmp_path / "pack"
    directory.mkdir()
    (directory / "pack.yaml").write_text(TINY.replace(old, new, 1))
    return directory


def errors(directory: Path) -> list[str]:
    _, problems = read_knowledge_base([directory])
    return [f"{p.where}: {p.message}" for p in problems if p.severity == "error"]


def test_the_fixture_pack_is_clean(tmp_path: Path) -> None:
    assert errors(pack_with(tmp_path, "Tiny", "Tiny")) == []


def test_unknown_key_is_an_error(tmp_path: Path) -> None:
    found = errors(pack_with(tmp_path, "    default_triage: self_care",
                             "    default_triage: self_care\n    colour: blue"))
    assert any("colour: unknown key" in e for e in found)


def test_dangling_finding_in_likelihoods(tmp_path: Path) -> None:
    found = errors(pack_with(tmp_path, "    f2: {value: 0.5", "    f9: {value: 0.5"))
    assert any("likelihoods.cond_a.f9" in e and "unknown finding" in e for e in found)


def test_dangling_condition_in_likelihoods(tmp_path: Path) -> None:
    found = errors(pack_with(tmp_path, "  cond_c:\n    f3:", "  cond_z:\n    f3:"))
    assert any("likelihoods.cond_z" in e and "unknown condition" in e for e in found)
    assert any("conditions.cond_c" in e and "no likelihoods" in e for e in found)


def test_dangling_finding_in_red_flag(tmp_path: Path) -> None:
    found = errors(pack_with(tmp_path, "all: [f3]", "all: [f7]"))
    assert any("red_flags.f3_is_an_emergency" in e and "'f7'" in e for e in found)


def test_probability_out_of_range(tmp_path: Path) -> None:
    found = errors(pack_with(tmp_path, "f1: {value: 0.8,", "f1: {value: 1.8,"))
    assert any("likelihoods.cond_a.f1.value" in e and "less than or equal to 1" in e for e in found)


def test_number_without_source_is_an_error(tmp_path: Path) -> None:
    found = errors(pack_with(tmp_path, "f2: {value: 0.5, source: [T1]}", "f2: {value: 0.5}"))
    assert any("needs a source, or an estimate" in e for e in found)


def test_unknown_source_is_an_error(tmp_path: Path) -> None:
    found = errors(pack_with(tmp_path, "f2: {value: 0.5, source: [T1]}",
                             "f2: {value: 0.5, source: [T7]}"))
    assert any("likelihoods.cond_a.f2: unknown source 'T7'" in e for e in found)


def test_estimate_without_rationale_is_an_error(tmp_path: Path) -> None:
    found = errors(pack_with(tmp_path, "f3: {value: 0.9, source: [T1]}",
                             "f3: {value: 0.9, estimate: guessed}"))
    assert any("estimate 'guessed' has no rationale" in e for e in found)


def test_invalid_icd10_code_is_an_error(tmp_path: Path) -> None:
    found = errors(pack_with(tmp_path, "icd10: [R25.2]", "icd10: [R25.99]"))
    assert any("'R25.99' is not in the ICD-10-CM table" in e for e in found)


def test_duplicate_condition_is_an_error(tmp_path: Path) -> None:
    directory = pack_with(tmp_path, "Tiny", "Tiny")
    (directory / "more.yaml").write_text(
        "conditions:\n  - id: cond_a\n    name: Again\n    icd10: [R25.2]\n"
        "    default_triage: self_care\n    specialty: x\n    description: A duplicate entry.\n"
        "    prior: {rate: {value: 1, source: [T1]}}\n"
    )
    assert any("cond_a" in e and "defined twice" in e for e in errors(directory))


def test_broken_yaml_is_reported_not_raised(tmp_path: Path) -> None:
    directory = tmp_path / "pack"
    directory.mkdir()
    (directory / "pack.yaml").write_text("conditions: [\n")
    assert any("not valid YAML" in e for e in errors(directory))


def test_strict_loading_refuses_a_broken_pack(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeBaseError, match="error"):
        load_knowledge_base([pack_with(tmp_path, "icd10: [R25.2]", "icd10: [XX]")])


SECOND_PACK = """
pack: {id: second, title: Second, version: "1", description: A second pack., licence: CC0}
sources:
  T9: {citation: "Second source", tier: B}
conditions:
  - id: cond_d
    name: Condition D
    icd10: [J02.9]
    default_triage: self_care
    specialty: family_medicine
    description: A condition only the second pack knows.
    prior: {rate: {value: 50, source: [T9]}}
  - id: cond_alias_of_a
    name: Condition A again
    icd10: [R25.2]
    default_triage: emergency
    specialty: other
    description: The second pack's name for condition A.
    prior: {rate: {value: 99999, source: [T9]}}
findings:
  - {id: f1, kind: symptom, name: Finding one, question: "Do you have one?", synonyms: [extra phrase],
     background: {value: 0.5, source: [T9]}}
  - {id: g1, kind: symptom, name: Finding g, question: "Do you have g?",
     background: {value: 0.1, source: [T9]}}
likelihoods:
  cond_alias_of_a:
    f1: {value: 0.01, source: [T9]}
    g1: {value: 0.7, source: [T9]}
  cond_d:
    g1: {value: 0.9, source: [T9]}
"""


def two_packs(tmp_path: Path, aliases: str | None) -> tuple[list[Path], Path | None]:
    first = pack_with(tmp_path, "Tiny", "Tiny")
    second = tmp_path / "second"
    second.mkdir()
    (second / "pack.yaml").write_text(SECOND_PACK)
    alias_file = None
    if aliases is not None:
        alias_file = tmp_path / "aliases.yaml"
        alias_file.write_text(aliases)
    return [first, second], alias_file


def test_merge_first_pack_wins_and_later_packs_fill_gaps(tmp_path: Path) -> None:
    packs, alias_file = two_packs(tmp_path, "conditions:\n  cond_a: [cond_alias_of_a]\n")
    kb = load_knowledge_base(packs, alias_file)
    assert "cond_alias_of_a" not in kb.conditions
    assert kb.conditions["cond_a"].default_triage.value == "self_care"  # first definition
    assert kb.likelihoods["cond_a"]["f1"].value == 0.8  # first pack's number kept
    assert kb.likelihoods["cond_a"]["g1"].value == 0.7  # gap filled by the second pack
    assert kb.likelihood_pack[("cond_a", "g1")] == "second"
    assert "extra phrase" in kb.findings["f1"].synonyms  # one node, synonyms united
    assert kb.findings["f1"].background.value == 0.1


def test_without_alias_the_same_icd_code_is_flagged(tmp_path: Path) -> None:
    packs, _ = two_packs(tmp_path, None)
    _, problems = read_knowledge_base(packs)
    assert any(p.severity == "warning" and "cond_alias_of_a" in p.where
               and "alias table" in p.message for p in problems)


def test_alias_renames_even_when_the_canonical_pack_is_not_loaded(tmp_path: Path) -> None:
    packs, alias_file = two_packs(tmp_path, "conditions:\n  cond_a: [cond_alias_of_a]\n")
    kb = load_knowledge_base(packs[1:], alias_file)
    assert "cond_a" in kb.conditions and "cond_alias_of_a" not in kb.conditions


def test_a_source_id_cannot_mean_two_things(tmp_path: Path) -> None:
    packs, _ = two_packs(tmp_path, None)
    (packs[1] / "pack.yaml").write_text(SECOND_PACK.replace(
        'T9: {citation: "Second source", tier: B}',
        'T9: {citation: "Second source", tier: B}\n  T1: {citation: "Other", tier: C}'))
    assert any("source 'T1' means something else" in e for e in errors_of(packs))


def errors_of(packs: list[Path]) -> list[str]:
    _, problems = read_knowledge_base(packs)
    return [p.message for p in problems if p.severity == "error"]
