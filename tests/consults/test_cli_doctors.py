"""``curbside doctors``: add, verify, suspend, list; bad input is one line and a non-zero exit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from curbside.cli_consults import DEMO_DOCTORS
from tests.cli.test_cli import accounts_cli

ADD = ("doctors", "add", "--email", "Dr.Lee@Example.org", "--name", "Dr Lee", "--specialty", "urology",
       "--country", "de", "--languages", "de, EN", "--licence", "L-12", "--authority", "Ärztekammer Berlin")


def doctors(tmp_path: Path) -> list[dict[str, object]]:
    code, output = accounts_cli(tmp_path, "doctors", "list", "--json")
    assert code == 0, output
    found: list[dict[str, object]] = json.loads(output)
    return found


def test_add_verify_suspend_list(tmp_path: Path) -> None:
    code, output = accounts_cli(tmp_path, *ADD)
    assert code == 0, output
    assert "pending verification" in output
    [doctor] = doctors(tmp_path)
    assert (doctor["email"], doctor["specialty"], doctor["country"], doctor["region"], doctor["languages"],
            doctor["verification"], doctor["fictional"]) == (
        "dr.lee@example.org", "urology", "DE", "EU", ["de", "en"], "pending", False)

    code, output = accounts_cli(tmp_path, "doctors", "verify", "dr.lee@example.org")
    assert code == 0 and "verified" in output
    [doctor] = doctors(tmp_path)
    assert doctor["verification"] == "verified" and doctor["verified_at"] is not None

    code, output = accounts_cli(tmp_path, "doctors", "suspend", "DR.LEE@example.org")
    assert code == 0 and "suspended" in output
    assert doctors(tmp_path)[0]["verification"] == "suspended"
    code, output = accounts_cli(tmp_path, "doctors", "list")
    assert code == 0 and "1 doctor(s)" in output


@pytest.mark.parametrize(("flag", "value", "message"), [
    ("--specialty", "astrology", "not a specialty"),
    ("--country", "GB", "European Union"),
    ("--languages", "german!", "codes such as en"),
    ("--email", "not-an-email", "email address"),
])
def test_bad_input_is_refused(tmp_path: Path, flag: str, value: str, message: str) -> None:
    args = list(ADD)
    args[args.index(flag) + 1] = value
    code, output = accounts_cli(tmp_path, *args)
    assert code != 0
    assert message in " ".join(output.split())
    assert doctors(tmp_path) == []


def test_unknown_doctor_and_duplicate(tmp_path: Path) -> None:
    code, output = accounts_cli(tmp_path, "doctors", "verify", "nobody@example.org")
    assert code != 0 and "no doctor has this email" in output
    assert accounts_cli(tmp_path, *ADD)[0] == 0
    code, output = accounts_cli(tmp_path, *ADD)
    assert code != 0 and "already exists" in output


def test_demo_seed_adds_fictional_verified_doctors_in_the_us_and_the_eu(tmp_path: Path) -> None:
    code, output = accounts_cli(tmp_path, "demo", "seed")
    assert code == 0, output
    seeded = doctors(tmp_path)
    assert len(seeded) == len(DEMO_DOCTORS)
    assert all(d["fictional"] and d["verification"] == "verified" for d in seeded)
    assert {d["region"] for d in seeded} == {"US", "EU"}
    assert len({d["specialty"] for d in seeded}) == len(DEMO_DOCTORS)
    assert all("(fictional)" in str(d["name"]) for d in seeded)
