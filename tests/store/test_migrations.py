"""Alembic migrations: they build exactly the schema of tables.py, both ways, on both backends."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import inspect, text

import curbside
from curbside.store import Database
from curbside.store.tables import Base
from tests.store.conftest import Store


def schema_differences(database: Database) -> list[Any]:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True})
        return list(compare_metadata(context, Base.metadata))


def table_names(database: Database) -> set[str]:
    with database.engine.connect() as connection:
        return set(inspect(connection).get_table_names())


def test_empty_database_upgrades_to_head(empty_database: Database) -> None:
    assert table_names(empty_database) == set()
    assert empty_database.current_revision() is None

    empty_database.upgrade()

    assert empty_database.current_revision() == empty_database.head_revision()
    assert table_names(empty_database) == {"alembic_version", *Base.metadata.tables}


def test_migrated_schema_matches_the_tables_module(database: Database) -> None:
    assert schema_differences(database) == []


def test_an_empty_database_does_not_match(empty_database: Database) -> None:
    # the comparison above is not vacuous: it does see a missing table
    assert schema_differences(empty_database) != []


def test_head_to_base_to_head(database: Database) -> None:
    database.downgrade("base")
    assert database.current_revision() is None
    assert table_names(database) == {"alembic_version"}

    database.upgrade()
    assert database.current_revision() == database.head_revision()
    assert schema_differences(database) == []


def test_upgrade_is_idempotent_and_keeps_data(database: Database) -> None:
    now = "2026-01-01 00:00:00+00:00"
    with database.transaction() as session:
        session.execute(text(
            "INSERT INTO interviews (id, created_at, updated_at, state, kb_version) "
            "VALUES (:id, :now, :now, '{}', 'v1')"), {"id": "a" * 32, "now": now})
    database.upgrade()
    database.upgrade("head")
    with database.transaction() as session:
        assert session.execute(text("SELECT id FROM interviews")).scalars().all() == ["a" * 32]


def test_server_defaults_fill_columns_left_out(database: Database) -> None:
    # rows written by hand (or by a later migration) get the defaults of the migration
    with database.transaction() as session:
        session.execute(text(
            "INSERT INTO interviews (id, created_at, updated_at, state, kb_version) "
            "VALUES ('b', '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00', '{}', 'v1')"))
        row = session.execute(text("SELECT questions_asked, finished FROM interviews")).one()
    assert (row.questions_asked, bool(row.finished)) == (0, False)


def test_concurrent_upgrades_in_one_process(store: Store) -> None:
    empty_database, twin = store.open(), store.open()
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def upgrade(database: Database) -> None:
        try:
            barrier.wait()
            database.upgrade()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=upgrade, args=(db,)) for db in (empty_database, twin)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert empty_database.current_revision() == empty_database.head_revision()
    assert schema_differences(empty_database) == []


# the package without its __init__ (the engine, NumPy...): the processes start in 0.5 s, not 3 s
UPGRADE = """
import sys, time, types
from pathlib import Path
package = types.ModuleType("curbside")
package.__path__ = [sys.argv[5]]
sys.modules["curbside"] = package
from curbside.store import Database
database = Database(sys.argv[1])
barrier, me, n = Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
(barrier / me).touch()
while len(list(barrier.iterdir())) < n:  # start together, once every process has imported
    time.sleep(0.001)
database.upgrade()
"""


@pytest.mark.slow
def test_concurrent_upgrades_from_two_processes(store: Store, tmp_path: Path) -> None:
    """Processes starting at once (say, servers) must not all try to create the tables."""
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    n = 2
    processes = [subprocess.Popen([sys.executable, "-c", UPGRADE, store.url, str(barrier), str(i),
                                   str(n), str(Path(curbside.__file__).parent)],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                 for i in range(n)]
    outputs = [p.communicate(timeout=60)[0] for p in processes]
    assert [p.returncode for p in processes] == [0] * n, outputs
    database = store.open()
    assert database.current_revision() == database.head_revision()
    assert schema_differences(database) == []


def test_revision_history_is_linear_with_one_head() -> None:
    scripts = ScriptDirectory.from_config(Database("sqlite://").alembic_config())
    heads = scripts.get_heads()
    assert len(heads) == 1, f"several heads, merge them: {heads}"
    assert scripts.get_bases() == [scripts.get_base()]

    chain: list[Script] = []
    revision: Script | None = scripts.get_revision(heads[0])
    while revision is not None:
        chain.append(revision)
        assert revision.branch_labels == set()
        down = revision.down_revision
        assert down is None or isinstance(down, str), f"{revision.revision} is a merge point"
        revision = scripts.get_revision(down) if down else None

    every = list(scripts.walk_revisions())
    assert [r.revision for r in chain] == [r.revision for r in every]
    # one file per revision, named after it, numbered 0001, 0002, ... in order
    files = sorted(Path(scripts.versions).glob("[0-9]*.py"))
    assert [f.stem for f in files] == [r.revision for r in reversed(chain)]
    assert [int(f.stem[:4]) for f in files] == list(range(1, len(files) + 1))


@pytest.mark.parametrize("revision", ["nope", "0001_interviews"])
def test_downgrade_and_upgrade_to_named_revisions(database: Database, revision: str) -> None:
    if revision == "nope":
        with pytest.raises(CommandError, match="nope"):
            database.upgrade("nope")
        assert database.current_revision() == database.head_revision()
    else:
        database.downgrade("base")
        database.upgrade(revision)
        assert database.current_revision() == revision


def test_new_revision_writes_the_next_numbered_file(database: Database, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    import curbside.store.database as module

    copy = tmp_path / "migrations"
    shutil.copytree(module._MIGRATIONS, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(module, "_MIGRATIONS", copy)
    head = database.head_revision()

    path = database.new_revision("add_nothing")  # autogenerated: the schema is already right

    assert head is not None
    expected = f"{int(head[:4]) + 1:04d}_add_nothing"
    assert path == copy / "versions" / f"{expected}.py"
    source = path.read_text()
    assert f"down_revision = '{head}'" in source
    assert "op." not in source.split("def upgrade")[1]
    assert database.head_revision() == expected
    database.upgrade()
    assert database.current_revision() == expected
    database.downgrade("-1")
    assert database.current_revision() == head
    with pytest.raises(ValueError, match="lower_snake_case"):
        database.new_revision("Add Column")


def test_the_audit_log_triggers_survive_a_downgrade_and_upgrade(database: Database) -> None:
    from sqlalchemy.exc import DBAPIError

    database.downgrade("0001_interviews")
    assert "audit_log" not in table_names(database)
    database.upgrade()
    with database.transaction() as session:
        session.execute(text("INSERT INTO audit_log (at, action, resource_type, outcome) "
                             "VALUES ('2026-01-01 00:00:00+00:00', 'test.insert', 'test', 'ok')"))
    for statement in ("UPDATE audit_log SET outcome = 'changed'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), database.transaction() as session:
            session.execute(text(statement))
    with database.transaction() as session:
        assert session.execute(text("SELECT outcome FROM audit_log")).scalars().all() == ["ok"]
