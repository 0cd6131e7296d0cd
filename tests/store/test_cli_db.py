"""``curbside db upgrade`` and ``curbside db current``, configured by environment variables."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from curbside.cli import app
from curbside.store import Database
from tests.store.conftest import Store

runner = CliRunner()
HEAD = Database("sqlite://").head_revision()


def db(*args: str, url: str | None = None, data_dir: Path | None = None) -> tuple[int, str]:
    env = {"CURBSIDE_DATABASE_URL": url, "CURBSIDE_DATA_DIR": str(data_dir) if data_dir else None}
    result = runner.invoke(app, ["db", *args], env=env)
    assert "Traceback" not in result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_default_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "data"
    code, output = db("current", data_dir=data)
    assert (code, output.split()[0]) == (0, "none")
    assert not data.exists()  # looking does not create an empty database

    code, output = db("upgrade", data_dir=data)
    assert code == 0, output
    assert f"{HEAD} (head)" in output
    assert (data / "curbside.db").is_file()

    assert db("current", data_dir=data) == (0, f"{HEAD} (head)\n")
    assert db("upgrade", data_dir=data)[0] == 0  # again: nothing to do, no error


def test_url_on_both_backends(store: Store, tmp_path: Path) -> None:
    assert db("current", url=store.url, data_dir=tmp_path)[1].startswith("none")
    code, output = db("upgrade", url=store.url, data_dir=tmp_path)
    assert code == 0, output
    assert db("current", url=store.url, data_dir=tmp_path) == (0, f"{HEAD} (head)\n")
    assert store.open().current_revision() == HEAD
    assert not (tmp_path / "curbside.db").exists()  # the URL wins over the data dir


def test_upgrade_to_a_named_revision(tmp_path: Path) -> None:
    code, output = db("upgrade", "nope", data_dir=tmp_path)
    assert code != 0
    assert "nope" in output
    assert db("upgrade", HEAD or "", data_dir=tmp_path)[0] == 0


@pytest.mark.parametrize(("url", "message"), [
    ("nonsense", "bad database URL (CURBSIDE_DATABASE_URL)"),
    ("nosuchdb://host/db", "bad database URL (CURBSIDE_DATABASE_URL)"),
    ("postgresql+psycopg://curbside:s3cret@127.0.0.1:1/curbside", "cannot "),
    ("postgresql+psycopg://postgres@127.0.0.1:5432/no_such_database_here", "cannot "),
])
@pytest.mark.parametrize("command", ["upgrade", "current"])
def test_bad_urls_are_a_clear_error(url: str, message: str, command: str) -> None:
    code, output = db(command, url=url)
    assert code != 0
    assert output.startswith("error: ")
    assert message in output
    assert "s3cret" not in output  # never print the password
    assert len(output.strip().splitlines()) == 1


def test_sqlite_folder_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code, output = db("upgrade", data_dir=blocker / "data")
    assert code != 0
    assert "cannot create the database folder (CURBSIDE_DATA_DIR)" in output


def test_database_from_a_newer_curbside(tmp_path: Path) -> None:
    assert db("upgrade", data_dir=tmp_path)[0] == 0
    database = Database(f"sqlite:///{tmp_path / 'curbside.db'}")
    with database.transaction() as session:
        session.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    database.dispose()
    code, output = db("current", data_dir=tmp_path)
    assert code != 0
    assert "9999_future" in output and "does not know" in output
    code, output = db("upgrade", data_dir=tmp_path)
    assert code != 0
    assert output.startswith("error: cannot upgrade")


def test_db_without_a_sub_command_shows_help() -> None:
    result = runner.invoke(app, ["db"])
    assert "upgrade" in result.output and "current" in result.output
