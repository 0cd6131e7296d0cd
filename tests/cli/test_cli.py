"""The CLI's bad-input paths: a clear message and a non-zero exit, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from curbside.cli import app
from curbside.cli_consults import DEMO_DOCTORS

TINY = str(Path(__file__).parents[1] / "engine" / "fixtures" / "tiny")
runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def check(*args: str) -> tuple[int, str]:
    return run("check", "--pack", TINY, *args)


def test_check_json_runs_a_whole_interview() -> None:
    code, output = check("--age", "40", "--sex", "male", "--text", "I have a wobbly knee",
                         "--answers", '{"f2": "absent", "f3": "absent"}', "--json")
    assert code == 0
    data = json.loads(output)
    assert data["evidence"][0] == {"id": "f1", "answer": "present"}
    assert data["conditions"][0]["id"] in {"cond_a", "cond_b"}
    assert data["triage"]["level"] in {"self_care", "consultation", "consultation_24"}
    assert data["should_stop"] is True
    assert "not a diagnosis" in data["disclaimer"]


def test_red_flag_reaches_the_emergency_level() -> None:
    code, output = check("--age", "40", "--sex", "male", "--finding", "f3", "--json")
    assert code == 0
    assert json.loads(output)["triage"]["level"] == "emergency"


@pytest.mark.parametrize("age", ["-3", "121"])
def test_age_outside_range(age: str) -> None:
    code, output = check("--age", age, "--sex", "male", "--finding", "f1", "--json")
    assert code != 0
    assert "between 0 and 120" in output


def test_unknown_finding_id() -> None:
    code, output = check("--age", "40", "--sex", "male", "--finding", "nope", "--json")
    assert code != 0
    assert "unknown finding id(s): nope" in output


def test_finding_both_present_and_absent() -> None:
    code, output = check("--age", "40", "--sex", "male", "--finding", "f1", "--absent", "f1",
                         "--json")
    assert code != 0
    assert "both present and absent" in output


def test_empty_complaint() -> None:
    code, output = check("--age", "40", "--sex", "male", "--text", "   ", "--json")
    assert code != 0
    assert "empty" in output


def test_unrecognised_complaint() -> None:
    code, output = check("--age", "40", "--sex", "male", "--text", "zzz qqq", "--json")
    assert code != 0
    assert "no symptom was recognised" in output


def test_bad_answers_value() -> None:
    code, output = check("--age", "40", "--sex", "male", "--finding", "f1",
                         "--answers", '{"f2": "maybe"}', "--json")
    assert code != 0
    assert "present, absent or unknown" in output


def test_answers_with_unknown_id() -> None:
    code, output = check("--age", "40", "--sex", "male", "--finding", "f1",
                         "--answers", '{"f9": "present"}', "--json")
    assert code != 0
    assert "f9" in output


def test_missing_sex() -> None:
    code, output = check("--age", "40", "--finding", "f1", "--json")
    assert code != 0
    assert "sex is needed" in output


def test_eval_malformed_json(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    code, output = run("eval", "--pack", TINY, str(bad))
    assert code != 0
    assert "not valid JSON" in output


def test_eval_wrong_format(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "other/1", "vignettes": []}))
    code, output = run("eval", "--pack", TINY, str(bad))
    assert code != 0
    assert "not a curbside-vignettes/1 file" in output


def test_eval_missing_file(tmp_path: Path) -> None:
    code, output = run("eval", "--pack", TINY, str(tmp_path / "none.json"))
    assert code != 0
    assert "no such file" in output


def test_eval_vignette_with_bad_triage(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "curbside-vignettes/1", "vignettes": [
        {"id": "x", "age": 40, "sex": "male", "initial": ["f1"], "triage_accept": ["soon"]}]}))
    code, output = run("eval", "--pack", TINY, str(bad))
    assert code != 0
    assert "triage_accept" in output


def test_eval_json_keys(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"format": "curbside-vignettes/1", "vignettes": [
        {"id": "x", "age": 40, "sex": "male", "initial": ["f3"], "present": ["f3"],
         "diagnosis": {"name": "C", "icd10": ["K40"], "condition": "cond_c"},
         "triage_accept": ["emergency"]}]}))
    code, output = run("eval", "--pack", TINY, "--json", str(good))
    assert code == 0
    data = json.loads(output)
    assert set(data) >= {"n", "top1", "top3", "top5", "top10", "triage_exact", "triage_safe",
                         "under_triage", "over_triage", "emergency_missed", "questions_mean",
                         "cases"}
    assert data["emergency_missed"] == 0
    assert data["triage_exact"] == 1.0


def test_kb_check_reports_errors_and_exits_non_zero(tmp_path: Path) -> None:
    (tmp_path / "pack.yaml").write_text("conditions: [\n")
    code, output = run("kb", "check", str(tmp_path))
    assert code == 1
    assert "not valid YAML" in output


def test_kb_check_clean_pack() -> None:
    code, output = run("kb", "check", TINY)
    assert code == 0
    assert "0 error(s)" in output


def test_eval_ignores_extra_keys(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"format": "curbside-vignettes/1", "reference": "a paper",
                                "vignettes": [{"id": "x", "age": 40, "sex": "male",
                                               "initial": ["f3"], "note": "extra",
                                               "triage_accept": ["emergency"]}]}))
    code, output = run("eval", "--pack", TINY, "--json", str(good))
    assert code == 0
    assert json.loads(output)["n"] == 1


# --- accounts: users, audit, demo -----------------------------------------------------------------

def accounts_cli(tmp_path: Path, *args: str, stdin: str | None = None,
                 environment: str = "development") -> tuple[int, str]:
    result = runner.invoke(app, list(args), input=stdin,
                           env={"CURBSIDE_DATA_DIR": str(tmp_path), "CURBSIDE_DATABASE_URL": "",
                                "CURBSIDE_ENVIRONMENT": environment})
    assert "Traceback" not in result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_users_create_then_list(tmp_path: Path) -> None:
    code, output = accounts_cli(tmp_path, "users", "create", "--email", "Doc@Example.org", "--name",
                                "Dr Who", "--role", "doctor", "--password-stdin",
                                stdin="a long doctor passphrase\n")
    assert code == 0, output
    assert "created doctor doc@example.org" in output
    code, output = accounts_cli(tmp_path, "users", "list", "--json")
    assert code == 0
    [user] = json.loads(output)
    assert (user["email"], user["role"], user["name"]) == ("doc@example.org", "doctor", "Dr Who")
    code, output = accounts_cli(tmp_path, "users", "list")
    assert code == 0 and "doc@example.org" in output


@pytest.mark.parametrize(("args", "stdin", "message"), [
    (["--role", "wizard"], "a long enough passphrase\n", "patient, doctor or admin"),
    ([], "short\n", "at least 12 characters"),
    ([], "password1234\n", "most common"),
    ([], "", "at least 12 characters"),
    (["--email", "not-an-email"], "a long enough passphrase\n", "email address"),
])
def test_users_create_refuses_bad_input(tmp_path: Path, args: list[str], stdin: str, message: str) -> None:
    base = {"--email": "ana@example.org", "--name": "Ana"}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    flat = [part for pair in base.items() for part in pair]
    code, output = accounts_cli(tmp_path, "users", "create", *flat, "--password-stdin", stdin=stdin)
    assert code != 0
    assert message in " ".join(output.split())


def test_users_create_refuses_a_taken_email(tmp_path: Path) -> None:
    create = ("users", "create", "--email", "ana@example.org", "--name", "Ana", "--password-stdin")
    assert accounts_cli(tmp_path, *create, stdin="a long enough passphrase\n")[0] == 0
    code, output = accounts_cli(tmp_path, *create, stdin="another long passphrase\n")
    assert code != 0 and "already exists" in output


def test_users_create_without_a_terminal_asks_for_password_stdin(tmp_path: Path) -> None:
    code, output = accounts_cli(tmp_path, "users", "create", "--email", "ana@example.org", "--name", "Ana")
    assert code != 0 and "--password-stdin" in output


def test_audit_lists_the_newest_entries(tmp_path: Path) -> None:
    for n in range(3):
        accounts_cli(tmp_path, "users", "create", "--email", f"user{n}@example.org", "--name", f"U{n}",
                     "--password-stdin", stdin="a long enough passphrase\n")
    code, output = accounts_cli(tmp_path, "audit", "--limit", "2", "--json")
    assert code == 0
    entries = json.loads(output)
    assert [e["action"] for e in entries] == ["audit.read", "user.create"]  # reading is logged first
    assert entries[0]["id"] > entries[1]["id"]
    assert "@" not in output  # no emails in the audit log
    code, output = accounts_cli(tmp_path, "audit", "--limit", "0")
    assert code != 0


def test_demo_seed_is_idempotent_and_development_only(tmp_path: Path) -> None:
    seeded = 2 + len(DEMO_DOCTORS)  # the demo admin and patient, and the demo doctors
    code, output = accounts_cli(tmp_path, "demo", "seed")
    assert code == 0 and output.count("created") == seeded and "development only" in output
    code, output = accounts_cli(tmp_path, "demo", "seed")
    assert code == 0 and output.count("exists") == seeded
    code, output = accounts_cli(tmp_path, "users", "list", "--json")
    roles = sorted(u["role"] for u in json.loads(output))
    assert roles == ["admin", *["doctor"] * len(DEMO_DOCTORS), "patient"]
    code, output = accounts_cli(tmp_path / "prod", "demo", "seed", environment="production")
    assert code != 0 and "refused in production" in output
