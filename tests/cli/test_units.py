"""`minhbach unit add|list`."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from casework.categories import DEFAULT_CATEGORIES
from cli import units
from store.models import Unit
from tests.cli.helpers import UNIT, Invoke, add_unit, assert_ok, assert_refused


def stored_unit(database: sessionmaker[Session], slug: str = UNIT) -> Unit:
    with database() as session:
        unit = session.scalar(select(Unit).where(Unit.slug == slug))
    assert unit is not None
    return unit


def test_unit_add_stores_defaults(invoke: Invoke, database: sessionmaker[Session]) -> None:
    output = assert_ok(invoke("unit", "add", "--slug", UNIT, "--name", "  Thanh tra tỉnh "))

    unit = stored_unit(database)
    assert unit.name == "Thanh tra tỉnh"
    assert unit.profile == "vn-denunciation-2026"
    assert unit.categories == list(DEFAULT_CATEGORIES)
    assert unit.reception_schedule == ""
    assert unit.escrow_public_key is None
    assert f"Created unit {UNIT}" in output


def test_unit_add_stores_given_profile_categories_and_schedule(
    invoke: Invoke, database: sessionmaker[Session]
) -> None:
    add_unit(
        invoke,
        UNIT,
        "--profile",
        "eu-2019-1937",
        "--category",
        "procurement",
        "--category",
        "land-2",
        "--reception-schedule",
        "Thứ Năm đầu tiên hằng tháng",
    )
    unit = stored_unit(database)
    assert unit.profile == "eu-2019-1937"
    assert unit.categories == ["procurement", "land-2"]  # in the order given
    assert unit.reception_schedule == "Thứ Năm đầu tiên hằng tháng"


def test_unit_list_shows_units_with_account_counts_and_escrow(
    invoke: Invoke, database: sessionmaker[Session]
) -> None:
    assert "No units yet" in assert_ok(invoke("unit", "list"))
    add_unit(invoke, "so-tai-chinh")
    add_unit(invoke, UNIT)

    lines = assert_ok(invoke("unit", "list")).splitlines()
    assert lines[0].split() == ["slug", "name", "profile", "categories", "users", "escrow", "key"]
    assert lines[1].split()[0] == "so-tai-chinh"  # sorted by slug
    assert lines[2].split() == [
        UNIT,
        "Thanh",
        "tra",
        "tỉnh",
        "vn-denunciation-2026",
        str(len(DEFAULT_CATEGORIES)),
        "0",
        "none",
    ]


def test_duplicate_slug_is_refused(invoke: Invoke, database: sessionmaker[Session]) -> None:
    add_unit(invoke)
    result = invoke("unit", "add", "--slug", UNIT, "--name", "Another")
    assert_refused(result, f"a unit with slug '{UNIT}' already exists")
    assert stored_unit(database).name == "Thanh tra tỉnh"


def test_duplicate_slug_caught_only_by_the_database_is_still_friendly(
    invoke: Invoke, database: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two administrators at once: the pre-check passes for both, the unique index decides."""
    add_unit(invoke)
    monkeypatch.setattr(units, "refuse_taken_slug", lambda _session, _slug: None)
    result = invoke("unit", "add", "--slug", UNIT, "--name", "Another")
    assert_refused(result, "a unit with this slug already exists")
    assert "INSERT" not in result.output


NAME = ("--name", "Thanh tra tỉnh")
SLUG = ("--slug", UNIT)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--slug", "Thanh Tra", *NAME), "Invalid value for '--slug': a unit slug is 1-32 of a-z"),
        (("--slug", "-x", *NAME), "Invalid value for '--slug'"),
        (("--slug", "a" * 33, *NAME), "Invalid value for '--slug'"),
        ((*SLUG, "--name", "   "), "Invalid value for '--name': must not be empty"),
        ((*SLUG, "--name", "x" * 201), "at most 200 characters"),
        ((*SLUG, *NAME, "--profile", "vn-2025"), "Invalid value for '--profile'"),
        ((*SLUG, *NAME, "--category", "Đất đai"), "invalid category 'Đất đai'"),
        (
            (*SLUG, *NAME, "--category", "land", "--category", "land"),
            "category 'land' is listed twice",
        ),
        ((*NAME,), "Missing option '--slug'"),
    ],
)
def test_bad_unit_input_is_refused_before_anything_is_stored(
    invoke: Invoke, database: sessionmaker[Session], args: tuple[str, ...], message: str
) -> None:
    assert_refused(invoke("unit", "add", *args), message)
    with database() as session:
        assert session.scalars(select(Unit)).all() == []
