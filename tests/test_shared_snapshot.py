"""The committed snapshot of ../shared (tests/fixtures/shared) must match the original wherever
both are present, so tests run anywhere on the data the clinical team gave us."""

from __future__ import annotations

import pytest

from tests.conftest import SHARED, SNAPSHOT

SNAPSHOT_FILES = sorted(p.relative_to(SNAPSHOT) for p in SNAPSHOT.rglob("*")
                        if p.is_file() and p.name != "README.md")


def test_the_snapshot_holds_what_the_tests_read() -> None:
    for part in ("clinical/vignettes/thigh-samples.json", "clinical/vignettes/levine48.json",
                 "clinical/qa/thigh-qa-samples.json", "clinical/vocabulary/conditions.csv",
                 "clinical/vocabulary/findings.csv"):
        assert (SNAPSHOT / part).is_file(), part
    assert len(list((SNAPSHOT / "data" / "medquad").glob("*/*.xml"))) >= 10


def test_the_snapshot_matches_shared() -> None:
    if not SHARED.is_dir():
        pytest.skip("no ../shared beside this clone: the snapshot stands in for it")
    differing = [str(relative) for relative in SNAPSHOT_FILES
                 if (SHARED / relative).read_bytes() != (SNAPSHOT / relative).read_bytes()]
    assert differing == []
