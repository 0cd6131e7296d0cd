"""The SymCAT importer: a hand-made fixture in SymCAT's JSON shape, two small curation tables and a
two-condition anchor pack (tests/engine/fixtures/symcat/)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from curbside.cli import app
from curbside.engine.kb.knowledge import build_knowledge_base, read_alias_table
from curbside.engine.kb.load import read_pack
from curbside.engine.kb.symcat import (
    SymcatError,
    fit_frequencies,
    import_symcat,
    parse_symcat,
    read_curation,
    read_symcat,
    short_description,
)

FIXTURE = Path(__file__).parent / "fixtures" / "symcat"
DATA = FIXTURE / "data"
CURATION = FIXTURE / "curation"
ANCHOR = FIXTURE / "anchor"


@pytest.fixture
def imported(tmp_path: Path) -> Path:
    """Import the fixture into tmp_path/symcat (and tmp_path/aliases.yaml)."""
    result = import_symcat(DATA, CURATION, tmp_path / "symcat", ANCHOR, tmp_path / "aliases.yaml")
    assert [p for p in result.problems if p.severity == "error"] == []
    return tmp_path


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_written_pack_validates_alone_and_merged(imported: Path) -> None:
    pack, problems = read_pack(imported / "symcat")
    assert problems == []
    kb, kb_problems = build_knowledge_base([pack])
    assert [p for p in kb_problems if p.severity == "error"] == []
    assert sorted(kb.conditions) == ["acute_sinusitis", "common_cold", "hernia_groin",
                                     "kidney_stone", "migraine"]
    assert {f.id for f in pack.findings} == {"pain_groin", "pain_flank", "nausea", "headache",
                                             "cough", "sore_throat"}
    assert pack.info is not None and "no licence file" in pack.info.licence
    assert set(pack.sources) == {"SYMCAT", "SYMCAT_DERIVED", "SYMCAT_TEXT"}


def test_likelihoods_are_the_percentages(imported: Path) -> None:
    conditions = json.loads((DATA / "symcat_conditions.json").read_text(encoding="utf-8"))
    curation = read_curation(CURATION)
    pack, _ = read_pack(imported / "symcat")
    checked = 0
    for slug, row in conditions.items():
        condition_id = curation.conditions[slug].id
        for symptom, entry in row["symptoms"].items():
            if symptom not in curation.symptoms:
                continue  # vomiting is not curated: its likelihoods are skipped
            likelihood = pack.likelihoods[condition_id][curation.symptoms[symptom].finding_id]
            expected = min(entry["probability"] / 100, 0.99)
            assert likelihood.value == pytest.approx(expected)
            assert likelihood.source == ["SYMCAT"]
            checked += 1
    assert checked == 13
    clipped = pack.likelihoods["migraine"]["headache"]  # SymCAT: 100%
    assert clipped.value == 0.99 and clipped.estimate == "lk_symcat_clip"
    assert "vomiting" not in {f for row in pack.likelihoods.values() for f in row}


def test_priors_and_modifiers_are_marked(imported: Path) -> None:
    pack, _ = read_pack(imported / "symcat")
    by_id = {c.id: c for c in pack.conditions}
    for condition in pack.conditions:
        rate = condition.prior.rate
        assert rate.source == ["SYMCAT_DERIVED"] and rate.estimate in pack.estimates
        assert condition.prior.age is not None and condition.prior.age.source == ["SYMCAT"]
        assert all(v > 0 for v in condition.prior.age.values.values())  # 0.0 odds are floored
    # acute-sinusitis is no symptom's common cause: it gets the upper bound, not a fit
    assert by_id["acute_sinusitis"].prior.rate.estimate == "pr_symcat_bound"
    assert by_id["migraine"].prior.rate.estimate == "pr_symcat_lsq"
    assert by_id["hernia_groin"].prior.age is not None
    assert by_id["hernia_groin"].prior.age.values["0"] == 0.01
    # descriptions: SymCAT's first sentence, or a neutral one for disambiguation/wrong texts
    assert by_id["hernia_groin"].description.startswith("An inguinal hernia is a protrusion")
    assert "may refer" not in by_id["common_cold"].description
    assert "J00" in by_id["common_cold"].description
    assert "plastic" not in by_id["acute_sinusitis"].description


def test_rates_are_anchored_on_the_shared_conditions(tmp_path: Path) -> None:
    result = import_symcat(DATA, CURATION, tmp_path / "symcat", ANCHOR, tmp_path / "aliases.yaml")
    assert [a.condition_id for a in result.anchors] == ["hernia_groin", "kidney_stone"]
    ratios = [200 / result.fit.condition["inguinal-hernia"], 480 / result.fit.condition["kidney-stone"]]
    assert result.scale == pytest.approx(float(np.median(ratios)))
    rates = {c["id"]: c["prior"]["rate"]["value"]
             for c in result.documents["conditions.yaml"]["conditions"]}
    assert rates["migraine"] == pytest.approx(result.fit.condition["migraine"] * result.scale,
                                              rel=5e-3)
    rationale = result.documents["estimates.yaml"]["estimates"]["pr_symcat_lsq"]
    assert "hernia_groin 200" in rationale and "kidney_stone 480" in rationale


def test_canonical_ids_merge_into_the_anchor_nodes(imported: Path) -> None:
    aliases, alias_problems = read_alias_table(imported / "aliases.yaml")
    assert alias_problems == []
    assert aliases.conditions == {"inguinal_hernia": "hernia_groin"}
    assert aliases.findings == {"groin_pain": "pain_groin", "side_pain": "pain_flank"}
    anchor, _ = read_pack(ANCHOR)
    symcat, _ = read_pack(imported / "symcat")
    kb, problems = build_knowledge_base([anchor, symcat], aliases)
    assert [p for p in problems if p.severity == "error"] == []
    assert not [p for p in problems if "same ICD-10-CM codes" in p.message]
    assert "inguinal_hernia" not in kb.conditions
    assert kb.condition_pack["hernia_groin"] == "symcat_anchor"
    assert kb.conditions["hernia_groin"].name == "Groin hernia"  # the anchor's definition wins
    hernia = kb.likelihoods["hernia_groin"]
    assert hernia["pain_groin"].value == 0.7  # the anchor's number wins
    assert hernia["nausea"].value == 0.08  # SymCAT fills the gap
    assert kb.likelihood_pack[("hernia_groin", "nausea")] == "symcat"
    assert kb.likelihood_pack[("kidney_stone", "pain_flank")] == "symcat_anchor"
    groin = kb.findings["pain_groin"]
    assert groin.question == "Is the pain in your groin?"  # first pack's question
    assert {"groin pain", "groin ache", "sore groin"} <= set(groin.synonyms)


def test_output_is_deterministic(tmp_path: Path) -> None:
    for name in ("a", "b"):
        import_symcat(DATA, CURATION, tmp_path / name, ANCHOR, tmp_path / f"{name}.yaml")
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert files == ["conditions.yaml", "estimates.yaml", "findings.yaml", "likelihoods.yaml",
                     "pack.yaml", "sources.yaml"]
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (tmp_path / "a.yaml").read_bytes() == (tmp_path / "b.yaml").read_bytes()


def test_alias_entries_of_other_packs_are_kept(tmp_path: Path) -> None:
    alias_file = tmp_path / "aliases.yaml"
    alias_file.write_text("conditions:\n  hernia_groin: [inguinal_hernia, groin_rupture]\n"
                          "findings:\n  fever: [high_temperature]\n", encoding="utf-8")
    import_symcat(DATA, CURATION, tmp_path / "symcat", ANCHOR, alias_file)
    table = _yaml(alias_file)
    assert table["conditions"] == {"hernia_groin": ["groin_rupture", "inguinal_hernia"]}
    assert table["findings"]["fever"] == ["high_temperature"]
    assert table["findings"]["pain_groin"] == ["groin_pain"]


def test_same_id_without_canonical_id_merges_and_anchors(tmp_path: Path) -> None:
    shutil.copytree(CURATION, tmp_path / "cur")
    conditions = tmp_path / "cur" / "conditions.csv"
    conditions.write_text(conditions.read_text(encoding="utf-8").replace(
        "urology,kidney_stone,", "urology,,"), encoding="utf-8")
    symptoms = tmp_path / "cur" / "symptoms.csv"
    symptoms.write_text(symptoms.read_text(encoding="utf-8").replace(
        "cough,Cough,cough,", "cough,Cough,coughing,"), encoding="utf-8")
    result = import_symcat(DATA, tmp_path / "cur", tmp_path / "out", ANCHOR,
                           tmp_path / "aliases.yaml")
    assert result.implicit_merges == ["kidney-stone"]
    assert [a.condition_id for a in result.anchors] == ["hernia_groin", "kidney_stone"]
    # 'coughing' is no anchor finding: no alias cough -> coughing (it would break loading the
    # anchor pack alone with this alias table)
    assert "coughing" not in _yaml(tmp_path / "aliases.yaml")["findings"]


# --- the least-squares prior on a synthetic, exactly consistent SymCAT


def _synthetic(p_c: dict[str, float], p_s_given_c: dict[str, dict[str, float]],
               ) -> tuple[dict[str, Any], dict[str, Any]]:
    """SymCAT-shaped tables from P(c) and P(s|c), with P(c|s) computed exactly by Bayes' rule."""
    symptoms = sorted({s for row in p_s_given_c.values() for s in row})
    p_s = {s: sum(p_c[c] * p_s_given_c[c].get(s, 0.0) for c in p_c) for s in symptoms}
    conditions_raw = {c: {"condition_name": c.title(), "condition_description": "",
                          "symptoms": {s: {"probability": 100 * p} for s, p in row.items()}}
                      for c, row in p_s_given_c.items()}
    symptoms_raw = {s: {"name": s.title(), "common_causes": {
        f"cause-{c}": {"probability": 100 * p_s_given_c[c][s] * p_c[c] / p_s[s]}
        for c in p_c if s in p_s_given_c[c]}} for s in symptoms}
    return conditions_raw, symptoms_raw


def test_least_squares_recovers_known_frequencies() -> None:
    rng = np.random.default_rng(7)
    names = [f"cond-{i}" for i in range(6)]
    truth = dict(zip(names, rng.dirichlet(np.ones(6)).tolist(), strict=True))
    p_s_given_c = {c: {f"sym-{j}": float(rng.uniform(0.05, 0.9))
                       for j in range(8) if rng.uniform() < 0.6 or j == i}
                   for i, c in enumerate(names)}
    p_s_given_c["cond-0"]["sym-0"] = 0.5  # make sure every symptom is connected
    for c in names:
        p_s_given_c[c]["sym-7"] = 0.3
    fit = fit_frequencies(parse_symcat(*_synthetic(truth, p_s_given_c)))
    assert fit.components == 1 and fit.rms_residual < 1e-9
    assert set(fit.condition_method.values()) == {"lsq"}
    for a in names:
        for b in names:
            assert fit.condition[a] / fit.condition[b] == pytest.approx(truth[a] / truth[b],
                                                                        rel=1e-9)
    # conditions partition the visits here, so P(s) = sum_c P(s|c) P(c) exactly
    for s, value in fit.symptom.items():
        expected = sum(truth[c] * row.get(s, 0.0) for c, row in p_s_given_c.items())
        assert value == pytest.approx(expected, rel=1e-9)


def test_unpaired_condition_gets_the_top_causes_bound() -> None:
    truth = {"common": 0.6, "middle": 0.3, "rare": 0.1}
    p_s_given_c = {"common": {"a": 0.5, "b": 0.2}, "middle": {"a": 0.4, "b": 0.6},
                   "rare": {"a": 0.3}}
    conditions_raw, symptoms_raw = _synthetic(truth, p_s_given_c)
    del symptoms_raw["a"]["common_causes"]["cause-rare"]  # cut from the list of common causes
    fit = fit_frequencies(parse_symcat(conditions_raw, symptoms_raw))
    assert fit.condition_method["rare"] == "bound"
    # P(rare) <= P(a) * (smallest listed share of a) / P(a | rare), before renormalising
    p_a = 0.6 * 0.5 + 0.3 * 0.4 + 0.1 * 0.3
    bound = p_a * min(0.6 * 0.5, 0.3 * 0.4) / p_a / 0.3
    expected = bound / (0.6 + 0.3 + bound)
    assert fit.condition["rare"] == pytest.approx(expected, rel=1e-9)
    assert fit.condition["common"] / fit.condition["middle"] == pytest.approx(2.0)


# --- bad input


def test_missing_directory_and_file(tmp_path: Path) -> None:
    with pytest.raises(SymcatError, match="not a directory"):
        read_symcat(tmp_path / "nowhere")
    (tmp_path / "symcat_conditions.json").write_text("{}", encoding="utf-8")
    with pytest.raises(SymcatError, match=r"exactly one \*symptoms\*\.json"):
        read_symcat(tmp_path)
    with pytest.raises(SymcatError, match="curation table not found"):
        read_curation(tmp_path)


def test_malformed_json(tmp_path: Path) -> None:
    shutil.copy(DATA / "symcat_symptoms.json", tmp_path)
    (tmp_path / "symcat_conditions.json").write_text('{"a": {"condition_name": }', encoding="utf-8")
    with pytest.raises(SymcatError, match=r"symcat_conditions\.json: malformed JSON at line 1"):
        read_symcat(tmp_path)


def test_wrong_shape_is_reported() -> None:
    with pytest.raises(SymcatError, match=r"probability: 140 is outside 0-100"):
        parse_symcat({"flu": {"condition_name": "Flu",
                              "symptoms": {"fever": {"probability": 140}}}},
                     {"fever": {"name": "Fever", "common_causes": {}}})


def test_invalid_icd_code_in_the_curation(tmp_path: Path) -> None:
    shutil.copytree(CURATION, tmp_path, dirs_exist_ok=True)
    table = tmp_path / "conditions.csv"
    table.write_text(table.read_text(encoding="utf-8").replace("G43.909", "G43.999X"),
                     encoding="utf-8")
    with pytest.raises(SymcatError, match=r"conditions\.csv line 5 \(migraine\).*G43\.999X"):
        read_curation(tmp_path)


def test_missing_column(tmp_path: Path) -> None:
    shutil.copytree(CURATION, tmp_path, dirs_exist_ok=True)
    table = tmp_path / "symptoms.csv"
    table.write_text(table.read_text(encoding="utf-8").replace(",question,", ",ask,"),
                     encoding="utf-8")
    with pytest.raises(SymcatError, match=r"missing column.*question"):
        read_curation(tmp_path)


def test_canonical_id_must_exist_in_the_anchor(tmp_path: Path) -> None:
    shutil.copytree(CURATION, tmp_path / "cur")
    table = tmp_path / "cur" / "conditions.csv"
    table.write_text(table.read_text(encoding="utf-8").replace("hernia_groin", "hernia_nowhere"),
                     encoding="utf-8")
    with pytest.raises(SymcatError, match="canonical_id 'hernia_nowhere' is not a condition"):
        import_symcat(DATA, tmp_path / "cur", tmp_path / "out", ANCHOR, None)


runner = CliRunner()


def test_cli_imports_the_fixture(tmp_path: Path) -> None:
    result = runner.invoke(app, ["kb", "import-symcat", str(DATA), "--curation", str(CURATION),
                                 "--out", str(tmp_path / "symcat"), "--anchor-pack", str(ANCHOR),
                                 "--aliases", str(tmp_path / "aliases.yaml")])
    assert result.exit_code == 0, result.output
    assert "5 conditions, 6 findings, 13 likelihoods" in result.output
    assert "vomiting" in result.output  # used by curated conditions, not curated
    check = runner.invoke(app, ["kb", "check", str(ANCHOR), str(tmp_path / "symcat")])
    assert check.exit_code == 0, check.output


def test_cli_bad_input_exits_non_zero_without_traceback(tmp_path: Path) -> None:
    shutil.copytree(CURATION, tmp_path / "cur")
    table = tmp_path / "cur" / "conditions.csv"
    table.write_text(table.read_text(encoding="utf-8").replace("J00", "J00.XYZ"), encoding="utf-8")
    cases = [
        [str(tmp_path / "nowhere"), "--curation", str(CURATION)],
        [str(DATA), "--curation", str(tmp_path / "cur")],
    ]
    for args in cases:
        result = runner.invoke(app, ["kb", "import-symcat", *args, "--out", str(tmp_path / "o"),
                                     "--anchor-pack", str(ANCHOR),
                                     "--aliases", str(tmp_path / "a.yaml")])
        assert result.exit_code != 0
        assert "Traceback" not in result.output
        assert isinstance(result.exception, SystemExit)
        assert "error:" in result.output
    assert not (tmp_path / "o").exists()  # nothing written on bad input


@pytest.mark.parametrize(("text", "expected"), [
    ("Chlamydia may refer to:", None),
    ("Open wound is encountered rarely on Symcat. We will add more.", None),
    ("Polyvinyl chloride is a plastic.", None),
    ("A kidney stone (from the Latin rēnēs) is a solid concretion formed in the kidneys from minerals. Next.",
     "A kidney stone is a solid concretion formed in the kidneys from minerals."),
])
def test_short_description(text: str, expected: str | None) -> None:
    name = "Kidney stone" if "kidney" in text else "Premature ventricular contractions"
    assert short_description(name, text) == expected
