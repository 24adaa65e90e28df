"""The load benchmark's small run, on both databases: a crowd of tipsters, follow-ups and
inspectors at once loses nothing (``benchmarks/load.py`` runs the full size by hand)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import load
from tests import postgres
from tests.instances import DATABASES

SMALL = load.Config(reports=40, concurrency=8, followup_every=4)


@pytest.mark.parametrize("database", DATABASES)
def test_a_crowd_at_once_loses_nothing(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if database == "postgresql" and postgres.server_url() is None:
        pytest.skip(postgres.NOT_SET)
    # Cheap costs for the suite, through the settings (production defaults unchanged).
    monkeypatch.setenv("MINHBACH_CODE_ARGON2", "1,8")
    monkeypatch.setenv("MINHBACH_PASSPHRASE_ARGON2", "1,8")
    monkeypatch.setenv("MINHBACH_POW_DIFFICULTY", "4")

    outcome = load.run_database(database, SMALL, tmp_path)

    assert len(outcome.sent) == SMALL.reports
    assert outcome.accepted == SMALL.reports, outcome.tally.statuses
    assert len(outcome.stored) == SMALL.reports
    assert outcome.undecryptable == 0
    assert outcome.told_received_but_lost == 0
    assert (outcome.duplicate_codes, outcome.duplicate_cases) == (0, 0)
    assert outcome.tally.server_errors == 0, outcome.tally.statuses
    followed, asked = outcome.followups
    assert followed == asked > 0
    assert outcome.inspector_pages > 0
    judged = [v for v in load.verdicts(outcome) if v.target != "throughput"]
    assert all(verdict.passed for verdict in judged)
