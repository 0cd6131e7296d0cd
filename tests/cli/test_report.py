"""``curbside report``: from a ``check --json`` file or a saved check's id, to HTML, PDF or FHIR;
every bad input is a message and a non-zero exit."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from curbside.access import Actor, Role
from curbside.app import Curbside
from curbside.cli import app
from curbside.reports.fhir import validate
from curbside.settings import Settings

runner = CliRunner()


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env=env)
    assert "Traceback" not in result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def check_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    code, output = run("check", "--age", "24", "--sex", "male", "--text",
                       "cramp in my inner thigh <img src='http://127.0.0.1:9/x'>",
                       "--answers", '{"stretching_relieves": "present"}', "--json")
    assert code == 0, output
    path = tmp_path_factory.mktemp("check") / "check.json"
    path.write_text(output)
    return path


def test_check_json_holds_the_session_state(check_file: Path) -> None:
    data = json.loads(check_file.read_text())
    assert {"age", "sex", "complaint", "opening", "history"} <= set(data["session"])


def test_html_from_a_check_file(check_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    code, output = run("report", str(check_file), "--format", "html", "-o", str(out))
    assert code == 0, output
    page = out.read_text()
    assert page.startswith("<!doctype html>") and "<style>" in page
    assert "Health report" in page and "information, not a diagnosis" in page
    assert "&lt;img src=&#39;http://127.0.0.1:9/x&#39;&gt;" in page


def test_pdf_from_a_check_file(check_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.pdf"
    code, output = run("report", str(check_file), "--format", "pdf", "-o", str(out))
    assert code == 0, output
    text = subprocess.run(["pdftotext", str(out), "-"], check=True, capture_output=True,
                          text=True).stdout
    assert "information, not a diagnosis" in " ".join(text.split())


def test_fhir_from_a_check_file(check_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.fhir.json"
    code, output = run("report", str(check_file), "-f", "fhir", "-o", str(out))
    assert code == 0, output
    assert validate(json.loads(out.read_text())).type == "document"


def test_json_to_standard_output(check_file: Path) -> None:
    code, output = run("report", str(check_file), "--format", "json", "-o", "-")
    assert code == 0
    report = json.loads(output[:output.rindex("}") + 1])
    assert report["causes"][0]["id"] == "exercise_associated_muscle_cramp"


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Curbside, dict[str, str]]]:
    data_dir = tmp_path_factory.mktemp("data")
    curbside = Curbside(Settings(data_dir=data_dir, database_url=None))
    curbside.prepare_database()
    yield curbside, {"CURBSIDE_DATA_DIR": str(data_dir), "CURBSIDE_DATABASE_URL": ""}
    curbside.database.dispose()


def test_from_a_saved_check_id(database: tuple[Curbside, dict[str, str]], tmp_path: Path) -> None:
    curbside, env = database
    stored = curbside.interviews.start(70, "female", text="painful groin lump that will not go back",
                                       actor=Actor.anonymous())
    out = tmp_path / "saved.fhir.json"
    code, output = run("report", stored.id, "--format", "fhir", "-o", str(out), env=env)
    assert code == 0, output
    bundle = json.loads(out.read_text())
    composition = bundle["entry"][0]["resource"]
    assert composition["identifier"]["system"].endswith("/report-id")
    complaint = next(i for i in bundle["entry"] if i["resource"]["resourceType"] == "QuestionnaireResponse")
    assert "painful groin lump" in json.dumps(complaint)


def test_a_patients_saved_check_is_not_readable_from_the_command_line(
        database: tuple[Curbside, dict[str, str]], tmp_path: Path) -> None:
    curbside, env = database
    user = curbside.accounts.sign_up("cli-owner@example.org", "correct horse battery staple",
                                     "Owner", Actor.anonymous())
    stored = curbside.interviews.start(30, "male", text="pain in my groin", actor=Actor.anonymous())
    curbside.accounts.claim_interview(Actor(user.id, Role.PATIENT), stored.id)
    code, output = run("report", stored.id, "--format", "html", "-o", str(tmp_path / "x.html"),
                       env=env)
    assert code != 0 and "no saved check with id" in output
    assert not (tmp_path / "x.html").exists()


def test_bad_sources(tmp_path: Path, database: tuple[Curbside, dict[str, str]]) -> None:
    _, env = database
    out = str(tmp_path / "out.html")
    not_json = tmp_path / "notes.txt"
    not_json.write_text("hello")
    not_a_check = tmp_path / "other.json"
    not_a_check.write_text('{"conditions": []}')
    bad_state = tmp_path / "bad.json"
    bad_state.write_text('{"session": {"age": 30, "sex": "male", "opening": [["nope", "present"]]}}')
    cases = [
        (str(tmp_path / "missing.json"), "no such file"),
        (str(not_json), "not a JSON file"),
        (str(not_a_check), "no session state"),
        (str(bad_state), "unknown finding"),
        ("0" * 32, "no saved check with id"),
        ("not an id!", "no saved check with id"),
    ]
    for source, message in cases:
        code, output = run("report", source, "--format", "html", "-o", out, env=env)
        assert code != 0, source
        assert message in " ".join(output.split()), (source, output)
    assert not Path(out).exists()


def test_bad_format_and_unwritable_path(check_file: Path, tmp_path: Path) -> None:
    code, output = run("report", str(check_file), "--format", "docx", "-o", str(tmp_path / "x"))
    assert code == 2 and "docx" in output
    code, output = run("report", str(check_file), "--format", "html",
                       "-o", str(tmp_path / "no" / "such" / "dir" / "r.html"))
    assert code == 1 and "cannot write" in output
    code, output = run("report", str(check_file), "--format", "html", "-o", str(tmp_path))
    assert code == 1 and "cannot write" in output
