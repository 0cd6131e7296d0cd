"""``curbside demo second-opinion``: the whole flow over HTTP against a temporary database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from curbside.cli import app

runner = CliRunner()

EXPECTED_STATES = ["draft", "draft", "assigned", "in_review", "answered", "answered", "answered", "closed"]


def test_demo_second_opinion_json_runs_every_step_to_a_closed_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the demo must ignore the configured database: a real one here would be touched otherwise
    monkeypatch.setenv("CURBSIDE_DATABASE_URL", f"sqlite:///{tmp_path / 'must-not-be-used.db'}")
    result = runner.invoke(app, ["demo", "second-opinion", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["final_state"] == "closed"
    steps = report["steps"]
    assert [s["state"] for s in steps if s["state"] is not None] == EXPECTED_STATES
    by_name = {s["step"]: s for s in steps}
    assert by_name["admin verifies a fictional doctor"]["verification"] == "verified"
    assert "(fictional)" in by_name["admin verifies a fictional doctor"]["doctor"]
    signed = by_name["doctor reads the attachment, reviews and signs"]
    assert signed["attachment_read"] is True and len(signed["content_hash"]) == 64
    read = by_name["patient reads the opinion and asks a follow-up"]
    assert read["signed_by"] and read["opinion_in_report"] is True
    assert by_name["doctor answers the follow-up"]["answered"] is True
    assert by_name["patient closes the case"]["mails_sent"] >= 4
    assert not (tmp_path / "must-not-be-used.db").exists()


def test_demo_second_opinion_prints_each_step_with_the_case_state() -> None:
    result = runner.invoke(app, ["demo", "second-opinion"])
    assert result.exit_code == 0, result.output
    assert "patient submits; matching assigns the doctor" in result.output
    assert "final state: closed" in result.output
